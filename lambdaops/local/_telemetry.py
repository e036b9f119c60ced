"""The runtime's telemetry log channel: the fd Lambda passes in ``_LAMBDA_TELEMETRY_LOG_FD``.

On Lambda, awslambdaric writes its own log records (the ``[ERROR]`` record of an unhandled
exception, everything sent through the ``logging`` module) to that fd rather than stdout, as
frames, so a multi-line record stays one CloudWatch event. Each frame, big-endian:

    +--------------------+------------------+----------------------+-------------------+
    | type (4 bytes)     | length (4 bytes) | timestamp (8 bytes,  | payload (length   |
    | 0xA55A00xx         |                  | µs since the epoch)  | bytes, UTF-8)     |
    +--------------------+------------------+----------------------+-------------------+

(awslambdaric/bootstrap.py ``FramedTelemetryLogSink``; the type's low byte says the format —
0x...03/0B/0F/13/17/1B text, 0x...02/0A/0E/12/16/1A JSON — and the level.)
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from lambdaops.local._streams import OnEvent, PipeReader

__all__ = ["ENV_VAR", "Frame", "FrameReader", "decode_frames", "encode_frame"]

ENV_VAR = "_LAMBDA_TELEMETRY_LOG_FD"

_HEADER = struct.Struct(">IIQ")
# Our own sync frames (never written by a runtime: awslambdaric's types are 0xA55A00xx).
SYNC_TYPE = 0x4C4F5359


class Frame(NamedTuple):
    """One decoded frame: one log event."""

    frame_type: int
    timestamp_us: int
    payload: bytes

    @property
    def text(self) -> str:
        """The event's text: the payload less the one newline the runtime ends it with."""
        text = self.payload.decode("utf-8", "replace")
        return text[:-1] if text.endswith("\n") else text


def encode_frame(frame_type: int, timestamp_us: int, payload: bytes) -> bytes:
    """A frame as awslambdaric writes it (used for sync marks and in tests)."""
    return _HEADER.pack(frame_type, len(payload), timestamp_us) + payload


def decode_frames(buf: bytes) -> tuple[list[Frame], bytes]:
    """The whole frames at the start of ``buf``, and the bytes of an incomplete one after them."""
    frames: list[Frame] = []
    offset = 0
    while len(buf) - offset >= _HEADER.size:
        frame_type, length, timestamp = _HEADER.unpack_from(buf, offset)
        end = offset + _HEADER.size + length
        if end > len(buf):
            break
        frames.append(Frame(frame_type, timestamp, buf[offset + _HEADER.size : end]))
        offset = end
    return frames, buf[offset:]


class FrameReader(PipeReader):
    """Reads the telemetry pipe: one event per frame, stamped with the frame's own time."""

    sync_mark = encode_frame(SYNC_TYPE, 0, b"")

    def __init__(self, name: str, on_event: OnEvent) -> None:
        super().__init__(name, on_event)
        self._pending = b""

    def _feed(self, data: bytes) -> None:
        frames, self._pending = decode_frames(self._pending + data)
        for frame in frames:
            if frame.frame_type == SYNC_TYPE:
                self._mark_seen()
            else:
                self._emit(frame.text, frame.timestamp_us / 1e6)

    def _flush(self) -> None:
        if len(self._pending) > _HEADER.size:  # a runtime killed mid-write: keep what there is
            self._emit(self._pending[_HEADER.size :].decode("utf-8", "replace"))
            self._pending = b""
