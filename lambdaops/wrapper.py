"""Handler redirection: instrument a function's handler without changing its code.

Set the function's handler to ``lambdaops.wrapper.handler`` and ``LAMBDAOPS_HANDLER`` to
its own handler (``app.handler``, ``pkg.module.function`` or ``dir/module.function``, as
Lambda accepts them). The runtime imports this module during init; the module imports the
original handler once and instruments it with :func:`lambdaops.instrument` (configured from
the ``LAMBDAOPS_*`` variables), so each invocation calls the instrumented handler directly.
A handler already decorated with ``@instrument`` is used as it is, never instrumented twice.

A handler that cannot be loaded fails the init with an ``ImportError`` that names it, which
the runtime reports as ``Runtime.ImportModuleError``. The exec wrapper of the layer
(``/opt/lambdaops-wrapper``) sets up this redirection by itself.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from lambdaops._decorator import instrument, is_instrumented

__all__ = ["ENV_VAR", "REDIRECT", "HandlerImportError", "handler", "load", "wrap"]

#: The variable naming the function's own handler.
ENV_VAR = "LAMBDAOPS_HANDLER"
#: The handler to configure on the function instead of its own.
REDIRECT = "lambdaops.wrapper.handler"


class HandlerImportError(ImportError):
    """``LAMBDAOPS_HANDLER`` is unset or names a handler that cannot be loaded."""


def load(spec: str) -> Callable[..., Any]:
    """Import the handler ``spec`` (``module.function``) the way the Lambda runtime does."""
    spec = spec.strip()
    module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise HandlerImportError(
            f"{ENV_VAR}={spec!r} is not a handler: expected module.function, e.g. app.handler"
        )
    if spec == REDIRECT:
        raise HandlerImportError(
            f"{ENV_VAR} names {REDIRECT} itself: set it to the function's own handler, "
            "e.g. app.handler"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise HandlerImportError(
            f"cannot import the handler {spec!r} named by {ENV_VAR}: {exc}"
        ) from exc
    except SyntaxError as exc:
        raise HandlerImportError(
            f"cannot import the handler {spec!r} named by {ENV_VAR}: syntax error in "
            f"{exc.filename}, line {exc.lineno}: {exc.msg}"
        ) from exc
    try:
        target = getattr(module, attr)
    except AttributeError:
        raise HandlerImportError(
            f"cannot load the handler {spec!r} named by {ENV_VAR}: "
            f"module {module_name!r} has no attribute {attr!r}"
        ) from None
    if not callable(target):
        raise HandlerImportError(
            f"the handler {spec!r} named by {ENV_VAR} is not callable: "
            f"it is of type {type(target).__name__}"
        )
    return target  # type: ignore[no-any-return]


def wrap(spec: str) -> Callable[..., Any]:
    """The handler ``spec``, instrumented (or as it is, if it is instrumented already)."""
    target = load(spec)
    if is_instrumented(target):
        return target
    return instrument(target)


def _from_environment() -> Callable[..., Any]:
    spec = os.environ.get(ENV_VAR, "").strip()
    if not spec:
        raise HandlerImportError(
            f"{ENV_VAR} is not set: with the handler {REDIRECT}, set {ENV_VAR} to the "
            "function's own handler, e.g. app.handler"
        )
    return wrap(spec)


#: The function's handler, instrumented: resolved once, when the runtime imports this module.
handler: Callable[..., Any] = _from_environment()
