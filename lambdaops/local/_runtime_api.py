"""A local Lambda Runtime API (2018-06-01) serving one execution environment.

Runtimes such as awslambdaric talk to Lambda only through this small HTTP API, so serving
it on loopback lets the real runtime and handler code run unmodified on a laptop or in CI.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import deque
from typing import Any

from lambdaops.local._invocation import (
    Invocation,
    InvocationResult,
    parse_error,
    platform_error,
    text_or_none,
)
from lambdaops.local._runtime_http import (
    ERROR_TYPE_HEADER,
    Delivery,
    Server,
    api_error,
    peer_closed,
)
from lambdaops.local._service import Service

__all__ = ["ERROR_TYPE_HEADER", "MAX_RESPONSE_BYTES", "InvocationResult", "RuntimeAPI"]

# Lambda's limit on a buffered response: 6 MiB + 100 bytes. A bigger POST /response is refused
# with 413 RequestEntityTooLarge, and the caller gets Function.ResponseSizeTooLarge. Source:
# aws/aws-lambda-runtime-interface-emulator lambda/interop/model.go (MaxPayloadSize,
# ErrorResponseTooLarge) and lambda/rapi/rendering (RenderRequestEntityTooLarge).
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
# How many finished request ids are remembered, to answer late posts with 410 rather than 400.
_FINISHED_MEMORY = 1024
# How often a parked GET /next checks whether the runtime hung up (e.g. it was killed).
_PEER_CHECK_S = 0.25


class RuntimeAPI(Service):
    """Lambda Runtime API 2018-06-01 for ONE execution environment, HTTP/1.1 on loopback.

    HTTP/1.1 matters: awslambdaric's libcurl client keeps the connection alive and crashes
    on HTTP/1.0 replies. Events are handed out in order by a long-polling GET /next.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:local",
    ) -> None:
        self.function_arn = function_arn
        self._bind = (host, port)
        self._cond = threading.Condition()
        self._queue: deque[Invocation] = deque()
        self._inflight: dict[str, Invocation] = {}
        self._finished: dict[str, None] = {}  # insertion-ordered set of finished ids
        self._init_error: dict[str, Any] | None = None
        self._init_error_type: str | None = None
        self._init_error_at: float | None = None
        self._first_next_at: float | None = None
        self._parked = 0  # GET /next requests currently waiting for an event
        self._aborted: tuple[str, str, str] | None = None  # (status, error type, message)
        self._closed = False
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``host:port`` for the runtime's AWS_LAMBDA_RUNTIME_API variable."""
        if self._server is None:
            raise RuntimeError("RuntimeAPI is not started")
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> RuntimeAPI:
        """Bind and serve on a daemon thread, so a forgotten stop() never blocks exit."""
        if self._server is not None:
            return self
        if self._closed:
            raise RuntimeError("a stopped RuntimeAPI cannot be restarted; make a new one")
        server = Server(self._bind, self)
        self._server = server
        self._thread = server.serve_in_thread(f"lambdaops-runtime-api-{self.address}", 0.05)
        return self

    def stop(self) -> None:
        """Stop serving and release every waiter, so no thread outlives the environment."""
        with self._cond:
            if self._aborted is None:
                self._abort_locked("crashed", "Runtime.ExitError", "Runtime API stopped")
            self._closed = True
            self._cond.notify_all()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- state -----------------------------------------------------------------------------

    @property
    def init_error(self) -> dict[str, Any] | None:
        """The body the runtime posted to /init/error, if its init failed."""
        with self._cond:
            return self._init_error

    @property
    def init_error_type(self) -> str | None:
        """The error type of the init failure (header, else the body's errorType)."""
        with self._cond:
            return self._init_error_type

    @property
    def init_error_at(self) -> float | None:
        """time.time() when /init/error arrived, to report how long a failed init took."""
        with self._cond:
            return self._init_error_at

    @property
    def first_next_at(self) -> float | None:
        """time.time() of the first GET /next: the end of init, for Init Duration."""
        with self._cond:
            return self._first_next_at

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait for init to end: True after the first GET /next or an /init/error post."""
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    self._first_next_at is not None
                    or self._init_error is not None
                    or self._aborted is not None
                ),
                timeout_s,
            )
            return self._first_next_at is not None or self._init_error is not None

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until the runtime is parked in GET /next with nothing in flight.

        A runtime polls /next only after finishing its previous event, so this is the
        point where everything it did for that event (including its output) is done.
        """
        with self._cond:
            self._cond.wait_for(
                lambda: self._idle_locked() or self._aborted is not None or self._closed,
                timeout_s,
            )
            return self._idle_locked()

    def abort(self, status: str, error_type: str, message: str) -> None:
        """Fail queued and in-flight events at once, e.g. because the runtime process died.

        Later invoke() calls fail the same way immediately instead of waiting for a deadline.
        """
        with self._cond:
            self._abort_locked(status, error_type, message)

    # -- invoking --------------------------------------------------------------------------

    def invoke(
        self,
        event: Any,
        *,
        timeout_s: float,
        request_id: str | None = None,
        trace_header: str | None = None,
        client_context: dict[str, Any] | None = None,
    ) -> InvocationResult:
        """Queue one event and block until the runtime answers or the deadline passes.

        The deadline counts from delivery (as in Lambda, where init is not billed), or from
        queueing if no runtime ever picks the event up. ``bytes`` events are sent verbatim.
        """
        if self._server is None:
            raise RuntimeError("RuntimeAPI is not started")
        if trace_header is not None and ("\r" in trace_header or "\n" in trace_header):
            raise ValueError("trace_header must be a single header line")
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        inv = Invocation(
            request_id=request_id or str(uuid.uuid4()),
            body=body,
            timeout_s=timeout_s,
            queued_at=time.time(),
            trace_header=trace_header,
            client_context=json.dumps(client_context) if client_context is not None else None,
        )
        with self._cond:
            if self._aborted is not None:
                status, error_type, message = self._aborted
                self._finish_locked(
                    inv,
                    status,
                    error=platform_error(inv, error_type, message),
                    error_type=error_type,
                )
            elif self._init_error is not None:
                self._finish_locked(
                    inv, "init_error", error=self._init_error, error_type=self._init_error_type
                )
            else:
                self._queue.append(inv)
                self._cond.notify_all()
            while inv.result is None:
                start = inv.delivered_at if inv.delivered_at is not None else inv.queued_at
                remaining = start + timeout_s - time.time()
                if remaining <= 0:
                    message = f"Task timed out after {timeout_s:.2f} seconds"
                    self._finish_locked(
                        inv,
                        "timeout",
                        error=platform_error(inv, "Sandbox.Timedout", message),
                        error_type="Sandbox.Timedout",
                    )
                    break
                self._cond.wait(remaining)
            result = inv.result
            assert result is not None  # the loop only ends once a result is set
            return result

    # -- internals (called with self._cond held unless noted) ---------------------------------

    def _idle_locked(self) -> bool:
        return self._parked > 0 and not self._inflight and not self._queue

    def _abort_locked(self, status: str, error_type: str, message: str) -> None:
        self._aborted = (status, error_type, message)
        for inv in [*self._queue, *self._inflight.values()]:
            self._finish_locked(
                inv, status, error=platform_error(inv, error_type, message), error_type=error_type
            )
        self._cond.notify_all()

    def _finish_locked(
        self,
        inv: Invocation,
        status: str,
        *,
        payload: bytes | None = None,
        error: dict[str, Any] | None = None,
        error_type: str | None = None,
        xray_cause: str | None = None,
    ) -> None:
        now = time.time()
        delivered = inv.delivered_at if inv.delivered_at is not None else inv.queued_at
        inv.result = InvocationResult(
            request_id=inv.request_id,
            status=status,
            payload=payload,
            error=error,
            error_type=error_type,
            delivered_at=delivered,
            finished_at=now,
            deadline_ms=inv.deadline_ms or int((delivered + inv.timeout_s) * 1000),
            xray_error_cause=xray_cause,
        )
        if inv in self._queue:
            self._queue.remove(inv)
        self._inflight.pop(inv.request_id, None)
        self._finished[inv.request_id] = None
        while len(self._finished) > _FINISHED_MEMORY:
            del self._finished[next(iter(self._finished))]
        self._cond.notify_all()

    def next_event(self, connection: socket.socket) -> Invocation | None:
        """Long-poll for the next event; None if stopping or the runtime hung up."""
        with self._cond:
            if self._first_next_at is None:
                self._first_next_at = time.time()
            self._parked += 1
            self._cond.notify_all()
            try:
                while not self._queue:
                    if self._closed or self._aborted is not None:
                        return None
                    if not self._cond.wait(_PEER_CHECK_S) and peer_closed(connection):
                        return None
                inv = self._queue.popleft()
            finally:
                self._parked -= 1
            inv.delivered_at = time.time()
            inv.deadline_ms = int((inv.delivered_at + inv.timeout_s) * 1000)
            self._inflight[inv.request_id] = inv
            return inv

    def redeliver(self, delivery: Delivery) -> None:
        """Put back an event whose delivery failed, so a reconnecting runtime still gets it."""
        with self._cond:
            inv = self._inflight.get(delivery.request_id)
            if inv is not None and inv.result is None:
                del self._inflight[inv.request_id]
                inv.delivered_at = None
                inv.deadline_ms = 0
                self._queue.appendleft(inv)
                self._cond.notify_all()

    def post_result(
        self,
        request_id: str,
        kind: str,
        body: bytes,
        error_type: str | None,
        xray_cause: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        with self._cond:
            inv = self._inflight.get(request_id)
            if inv is None:
                if request_id in self._finished:
                    return 410, api_error("InvocationGone", f"{request_id} already finished")
                return 400, api_error("InvalidRequestID", f"unknown request id {request_id}")
            if kind == "response" and len(body) > MAX_RESPONSE_BYTES:
                # The caller gets Function.ResponseSizeTooLarge; the runtime gets 413.
                message = (
                    f"Response payload size ({len(body)} bytes) exceeded maximum allowed "
                    f"payload size ({MAX_RESPONSE_BYTES} bytes)."
                )
                too_large = "Function.ResponseSizeTooLarge"
                self._finish_locked(
                    inv, "error", error=api_error(too_large, message), error_type=too_large
                )
                return 413, api_error(
                    "RequestEntityTooLarge",
                    f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                )
            if kind == "response":
                self._finish_locked(inv, "success", payload=body)
            else:
                error = parse_error(body, error_type)
                self._finish_locked(
                    inv,
                    "error",
                    error=error,
                    error_type=error_type or text_or_none(error.get("errorType")),
                    xray_cause=xray_cause,
                )
            return 202, {"status": "OK"}

    def post_init_error(self, body: bytes, error_type: str | None) -> tuple[int, dict[str, Any]]:
        with self._cond:
            if self._init_error is not None or self._first_next_at is not None:
                return 403, api_error("InvalidStateTransition", "init already finished")
            error = parse_error(body, error_type)
            self._init_error = error
            self._init_error_type = error_type or text_or_none(error.get("errorType"))
            self._init_error_at = time.time()
            for inv in list(self._queue):
                self._finish_locked(
                    inv, "init_error", error=error, error_type=self._init_error_type
                )
            self._cond.notify_all()
            return 202, {"status": "OK"}
