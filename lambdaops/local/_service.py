"""The shape the local stand-ins share: ``start()``, ``stop()`` and ``with`` blocks."""

from __future__ import annotations

from typing import TypeVar

S = TypeVar("S", bound="Service")


class Service:
    """A local stand-in for a piece of Lambda or AWS: started, used, stopped."""

    def start(self: S) -> S:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
