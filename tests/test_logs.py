from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest

from lambdaops import DropEvent, instrument, log
from lambdaops.testing import Capture, LambdaContext
from tests.render_support import count_encodings

CONTRACT = ("timestamp", "level", "message", "service", "request_id", "function_name", "cold_start")
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def api_event(correlation: str | None = None) -> dict[str, Any]:
    headers = {"X-Correlation-Id": correlation} if correlation else {}
    return {
        "resource": "/orders",
        "path": "/orders",
        "httpMethod": "POST",
        "headers": headers,
        "requestContext": {"requestId": "api-req-1", "httpMethod": "POST", "stage": "prod"},
        "body": "{}",
    }


def test_contract_keys_inside_a_handler(
    lambdaops_capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)

    @instrument(service="orders")
    def handler(event: Any, context: Any) -> str:
        log.info("placed", order_id=7)
        return "ok"

    ctx = LambdaContext(function_name="orders-fn")
    assert handler(api_event(), ctx) == "ok"
    assert handler(api_event("corr-9"), LambdaContext(function_name="orders-fn")) == "ok"
    first, second = lambdaops_capture.logs
    for rec in (first, second):
        for key in CONTRACT:
            assert key in rec
        assert rec["service"] == "orders"
        assert rec["function_name"] == "orders-fn"
        assert rec["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
        assert rec["order_id"] == 7
        assert rec["level"] == "INFO"
    assert first["request_id"] == ctx.aws_request_id
    assert first["cold_start"] is True and second["cold_start"] is False
    assert first["correlation_id"] == "api-req-1"
    assert second["correlation_id"] == "corr-9"
    assert list(first)[:3] == ["timestamp", "level", "message"]


def test_outside_a_handler_there_are_no_invocation_fields(lambdaops_capture: Capture) -> None:
    log.warning("at import", phase="init")
    (rec,) = lambdaops_capture.logs
    assert rec["message"] == "at import" and rec["phase"] == "init"
    assert "request_id" not in rec and rec["service"] == "service_undefined"


def test_level_filters_and_debug_buffer_flushes_on_error(lambdaops_capture: Capture) -> None:
    @instrument(log_level="INFO")
    def handler(event: Any, context: Any) -> None:
        log.debug("step one", i=1)
        log.debug("step two", i=2)
        log.info("working")
        if event["fail"]:
            log.error("it broke")
            log.debug("after the error")

    handler({"fail": False}, LambdaContext())
    assert lambdaops_capture.messages() == ["working"]
    lambdaops_capture.clear()
    handler({"fail": True}, LambdaContext())
    logs = lambdaops_capture.logs
    assert [r["message"] for r in logs] == [
        "working",
        "step one",
        "step two",
        "it broke",
        "after the error",
    ]
    assert [r.get("buffered", False) for r in logs] == [False, True, True, False, False]


def test_debug_buffer_flushes_when_the_handler_raises(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        log.debug("about to fail")
        raise RuntimeError("nope")

    with pytest.raises(RuntimeError, match="nope"):
        handler({}, LambdaContext())
    (rec,) = lambdaops_capture.logs
    assert rec["message"] == "about to fail" and rec["buffered"] is True


def test_buffer_evictions_are_reported_in_one_line(lambdaops_capture: Capture) -> None:
    @instrument(debug_buffer=3)
    def handler(event: Any, context: Any) -> None:
        for i in range(10):
            log.debug("d", i=i)
        log.error("fail")

    handler({}, LambdaContext())
    logs = lambdaops_capture.logs
    assert logs[0]["buffered_evicted"] == 7
    assert [r.get("i") for r in logs[1:4]] == [7, 8, 9]
    assert logs[-1]["message"] == "fail"


def test_nothing_leaks_into_the_next_invocation(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        log.debug("from", n=event["n"])
        if event["n"] == 2:
            log.error("fail")

    handler({"n": 1}, LambdaContext())
    handler({"n": 2}, LambdaContext())
    assert [r.get("n") for r in lambdaops_capture.logs] == [2, None]


def test_debug_level_writes_debug_lines_always(lambdaops_capture: Capture) -> None:
    @instrument(log_level="DEBUG")
    def handler(event: Any, context: Any) -> None:
        log.debug("visible")

    handler({}, LambdaContext())
    assert lambdaops_capture.messages("DEBUG") == ["visible"]


def test_debug_sampling_rate_one_and_zero(lambdaops_capture: Capture) -> None:
    @instrument(debug_sample_rate=1.0, debug_buffer=0)
    def sampled(event: Any, context: Any) -> None:
        log.debug("sampled")

    @instrument(debug_sample_rate=0.0, debug_buffer=0)
    def unsampled(event: Any, context: Any) -> None:
        log.debug("unsampled")

    for _ in range(5):
        sampled({}, LambdaContext())
        unsampled({}, LambdaContext())
    logs = lambdaops_capture.logs
    assert [r["message"] for r in logs] == ["sampled"] * 5
    assert all(r["debug_sampled"] is True for r in logs)


def test_debug_sampling_fraction(lambdaops_capture: Capture) -> None:
    import random

    random.seed(1234)

    @instrument(debug_sample_rate=0.3, debug_buffer=0)
    def handler(event: Any, context: Any) -> None:
        log.debug("d")

    for _ in range(2000):
        handler({}, LambdaContext())
    share = len(lambdaops_capture.logs) / 2000
    assert 0.25 < share < 0.35


def test_stdlib_records_use_the_same_format(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        logging.getLogger("botocore.demo").warning("retry %d", 3, extra={"svc": "ssm"})
        try:
            raise ValueError("bad")
        except ValueError:
            logging.getLogger("app").exception("failed")

    ctx = LambdaContext()
    handler({}, ctx)
    warn, err = lambdaops_capture.logs
    assert warn["message"] == "retry 3" and warn["logger"] == "botocore.demo"
    assert warn["svc"] == "ssm" and warn["request_id"] == ctx.aws_request_id
    assert err["level"] == "ERROR" and err["exception"]["type"] == "ValueError"


def test_stdlib_handler_replaces_the_runtime_handler() -> None:
    from lambdaops import _stdlib

    class LambdaLoggerHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise AssertionError("runtime handler should be gone")

    root = logging.getLogger()
    runtime_handler = LambdaLoggerHandler()
    root.addHandler(runtime_handler)
    try:
        _stdlib.install()
        assert runtime_handler not in root.handlers
        assert any(isinstance(h, _stdlib.LogHandler) for h in root.handlers)
    finally:
        root.removeHandler(runtime_handler)


def test_exception_renders_structured(lambdaops_capture: Capture) -> None:
    try:
        {}["missing"]
    except KeyError:
        log.exception("lookup failed")
    (rec,) = lambdaops_capture.logs
    assert rec["level"] == "ERROR"
    assert rec["exception"]["type"] == "KeyError"
    assert rec["exception"]["stack"][0]["function"] == "test_exception_renders_structured"


def test_bind_unbind_new(lambdaops_capture: Capture) -> None:
    bound = log.bind(tenant="acme", region="eu")
    bound.info("one")
    bound.unbind("region").info("two")
    bound.new(only="this").info("three")
    bound.try_unbind("nope").info("four")
    with pytest.raises(KeyError, match=r"^'nope'$"):
        bound.unbind("nope")
    one, two, three, four = lambdaops_capture.logs
    assert (one["tenant"], one["region"]) == ("acme", "eu")
    assert "region" not in two and two["tenant"] == "acme"
    assert three["only"] == "this" and "tenant" not in three
    assert four["region"] == "eu"
    assert log.fields == {}


def test_processors_follow_structlogs_protocol(lambdaops_capture: Capture) -> None:
    import structlog

    def drop_health(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        if event["message"] == "health":
            raise DropEvent
        return event

    def drop_noise(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        if event["message"] == "noise":
            raise structlog.DropEvent
        event["method"] = method
        return event

    @instrument(processors=[drop_health, drop_noise, structlog.processors.add_log_level])
    def handler(event: Any, context: Any) -> None:
        log.info("health")
        log.info("noise")
        log.warning("kept")

    handler({}, LambdaContext())
    (rec,) = lambdaops_capture.logs
    assert rec["message"] == "kept" and rec["method"] == "warning"
    assert rec["level"] == "warning"  # structlog's own processor ran on our event dict


def test_same_fields_as_structlogs_json_renderer(lambdaops_capture: Capture) -> None:
    """structlog is the reference: its JSONRenderer over our event dict parses equal."""
    import structlog

    captured: list[dict[str, Any]] = []

    def keep(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        captured.append(dict(event))
        return event

    @instrument(processors=[keep])
    def handler(event: Any, context: Any) -> None:
        log.info("order", items=[1, 2], total=3.5, nested={"a": None})

    handler({}, LambdaContext())
    reference = structlog.processors.JSONRenderer()(None, "info", captured[0])
    assert json.loads(reference) == lambdaops_capture.logs[0]


def test_threads_keep_the_invocation_fields(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        threads = [threading.Thread(target=lambda i=i: log.info("worker", i=i)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    ctx = LambdaContext()
    handler({}, ctx)
    logs = lambdaops_capture.logs
    assert len(logs) == 8
    assert {r["request_id"] for r in logs} == {ctx.aws_request_id}
    assert sorted(r["i"] for r in logs) == list(range(8))


def test_unserialisable_and_huge_fields_never_break(lambdaops_capture: Capture) -> None:
    @instrument(max_line_bytes=4096)
    def handler(event: Any, context: Any) -> str:
        log.info("odd", obj=object(), big="y" * 100_000)
        return "done"

    assert handler({}, LambdaContext()) == "done"
    line = lambdaops_capture.lines[0]
    assert len(line) <= 4096
    assert "truncated" in json.loads(line)["big"]


def test_a_huge_field_is_encoded_whole_once_and_cut_to_the_line(
    lambdaops_capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proportional, counted: the logger's own encoding shows the fields too long, and the
    line is written from a copy cut to the limit, without encoding the value again. A
    string longer than any line (1 MiB) is not even copied into a line first."""

    encoded = count_encodings(monkeypatch)
    records = [{"id": i, "name": f"n{i:05d}"} for i in range(100_000)]

    @instrument(service="svc", max_line_bytes=4096)
    def handler(event: Any, context: Any) -> str:
        log.info("records", body=records)
        log.info("text", body="x" * 2_000_000)
        return "ok"

    assert handler({}, LambdaContext()) == "ok"
    # One encoding larger than a line: the logger's own, of its fields.
    whole = len(json.dumps({"body": records}, separators=(",", ":")))
    assert [size for size in encoded if size > 4096] == [whole]
    by_message = {json.loads(line).get("message"): line for line in lambdaops_capture.lines}
    for message in ("records", "text"):
        assert json.loads(by_message[message])["service"] == "svc"  # the fields before it, whole
    # Exact lengths: a request id is 36 characters, a timestamp 24, whatever their values.
    assert len(by_message["records"]) == 4088  # record 147 and its comma (27 more) do not fit
    assert json.loads(by_message["records"])["body"] == [*records[:147], "…[99853 more items]"]
    assert len(by_message["text"]) == 4096
    assert json.loads(by_message["text"])["body"] == "x" * 3865 + "…[truncated 1996135 chars]"


def test_fields_longer_than_any_line_are_never_copied_into_one() -> None:
    from lambdaops import _render
    from lambdaops._config import resolve
    from lambdaops._errors import ConfigError

    resolve(max_line_bytes=_render._NO_LINE)
    with pytest.raises(ConfigError):
        resolve(max_line_bytes=_render._NO_LINE + 1)
    assert _render.encode_members({"s": "x" * (_render._NO_LINE - 7)}) is not None
    with pytest.raises(ValueError, match=r"^longer than any line$"):
        _render.encode_members({"s": "x" * (_render._NO_LINE - 6)})


def test_broken_stdout_never_breaks_the_handler(capsys: pytest.CaptureFixture[str]) -> None:
    from lambdaops import _output

    def broken(text: str) -> None:
        raise BrokenPipeError("stdout is gone")

    previous = _output.set_sink(broken)
    try:

        @instrument
        def handler(event: Any, context: Any) -> str:
            log.info("one")
            log.info("two")
            return "fine"

        assert handler({}, LambdaContext()) == "fine"
    finally:
        _output.set_sink(previous)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "BrokenPipeError" in err[0]


def test_structlog_users_get_the_invocation_fields(capsys: pytest.CaptureFixture[str]) -> None:
    import structlog

    from lambdaops.structlog_processors import add_invocation_fields

    structlog.configure(
        processors=[add_invocation_fields, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    try:

        @instrument(service="sl")
        def handler(event: Any, context: Any) -> None:
            structlog.get_logger().info("via structlog", request_id_override=False)

        ctx = LambdaContext()
        handler({"correlation_id": "c-9"}, ctx)
    finally:
        structlog.reset_defaults()
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if "structlog" in line
    ]
    (rec,) = lines
    assert rec["request_id"] == ctx.aws_request_id and rec["service"] == "sl"
    assert rec["cold_start"] is True and rec["correlation_id"] == "c-9"


# -- mutation testing (issue 14, docs/mutation.md): exact lines from each path -------------

REQUEST = "5f1c2a8e-0000-4000-8000-000000000001"
ROOT = "1-5759e988-bd862e3fe1be46a994272793"
NOW = "2026-01-01T00:00:00.000Z"


def _line(level: str = "INFO", message: str = "m", **members: Any) -> str:
    head = {"timestamp": NOW, "level": level, "message": message}
    return json.dumps({**head, **members}, separators=(",", ":"))


# The invocation's own fields in the order each path writes them: the fast path's shared
# fragment, and the dict an event is built from (processors, fields that need the slow path).
FAST = {
    "service": "svc",
    "function_name": "fn",
    "cold_start": True,
    "request_id": REQUEST,
    "xray_trace_id": ROOT,
    "correlation_id": "corr-1",
}
SLOW = {
    "service": "svc",
    "request_id": REQUEST,
    "function_name": "fn",
    "cold_start": True,
    "xray_trace_id": ROOT,
    "correlation_id": "corr-1",
}


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed timestamp and an X-Ray trace header, so that whole lines can be compared."""
    from lambdaops import _logger

    monkeypatch.setattr(_logger, "iso_timestamp", lambda: NOW)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0")


def _invoke(body: Any, **options: Any) -> None:
    @instrument(service="svc", outcome=False, **options)
    def handler(event: Any, context: Any) -> None:
        body()

    handler(api_event("corr-1"), LambdaContext(function_name="fn", aws_request_id=REQUEST))


def _log_lines(capture: Capture) -> list[str]:
    return [line for line in capture.lines if '"_aws"' not in line]  # not the EMF documents


def test_the_fast_path_writes_the_exact_line(lambdaops_capture: Capture, traced: None) -> None:
    def body() -> None:
        log.info("m")
        log.info("m", a=1, s="x", f=1.5, n=None, b=True)
        log.bind(b=2).info("m", a=1)
        log.bind(a=1).info("m", a=2)
        log.info("m", items=[1, 2], d={"k": "v"})  # not plain: the C encoder's members
        log.info(42)
        log.info(ValueError("boom"))
        log.debug("hidden", i=1)
        log.warning("m")
        log.warn("m")
        log.critical("m")  # writes the held debug line first, on the dict path
        log.error("m")

    _invoke(body)
    assert _log_lines(lambdaops_capture) == [
        _line(**FAST),
        _line(**FAST, a=1, s="x", f=1.5, n=None, b=True),
        _line(**FAST, b=2, a=1),
        _line(**FAST, a=2),
        _line(**FAST, items=[1, 2], d={"k": "v"}),
        _line(message="42", **FAST),
        _line(message="boom", **FAST),
        _line("WARNING", **FAST),
        _line("WARNING", **FAST),
        _line("DEBUG", "hidden", **SLOW, i=1, buffered=True),
        _line("CRITICAL", **FAST),
        _line("ERROR", **FAST),
    ]


def test_a_field_named_as_a_contract_key_takes_the_dict_path_and_wins(
    lambdaops_capture: Capture, traced: None
) -> None:
    from lambdaops import _logger

    keys = sorted(_logger._OWN_KEYS)
    optional = ["xray_trace_id", "correlation_id", "debug_sampled", "lambdaops"]
    assert keys == sorted([*CONTRACT, *optional])

    def body() -> None:
        for key in keys:
            log.info("m", **{key: "u"})

    _invoke(body, debug_sample_rate=1.0, debug_buffer=0)
    expected = []
    for key in keys:
        line = {"timestamp": NOW, "level": "INFO", "message": "m", **SLOW, "debug_sampled": True}
        if key == "lambdaops":
            line["user_lambdaops"] = "u"  # nothing passes for lambdaops' own records
        else:
            line[key] = "u"
        expected.append(json.dumps(line, separators=(",", ":")))
    assert _log_lines(lambdaops_capture) == expected


def test_the_dict_path_writes_the_exact_line(
    lambdaops_capture: Capture, traced: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from lambdaops._render import exception_fields

    handled = KeyError("handled")
    other = ValueError("other")

    def body() -> None:
        log.info("m", n=float("nan"))  # the C encoder refuses it: the slow path cuts
        log.info("m", exc_info=False)
        log.info("m", exc_info=None, a=1)
        log.bind(b=2).info("m", exc_info=False, a=1)
        try:
            raise handled
        except KeyError:
            log.error("m", exc_info=True)
            log.error("m", exc_info=other)
            log.error("m", exc_info=(ValueError, other, None))
            log.error("m", exc_info=(None, None, None))  # names no exception: none written
            log.error("m", exc_info=(ValueError, "not one", None))  # nor does this
            log.error("m", exc_info=(1, 2))  # not an exc_info tuple: the one being handled
            log.exception("m")
            log.exception("m", exc_info=other)
        log.exception("m")  # nothing is being handled
        log.info(ValueError("boom"), exc_info=False)
        log.info(42, exc_info=False)

    _invoke(body)
    mine, theirs = exception_fields(handled), exception_fields(other)
    assert _log_lines(lambdaops_capture) == [
        _line(**SLOW, n="nan"),
        _line(**SLOW),
        _line(**SLOW, a=1),
        _line(**SLOW, b=2, a=1),
        _line("ERROR", **SLOW, exception=mine),
        _line("ERROR", **SLOW, exception=theirs),
        _line("ERROR", **SLOW, exception=theirs),
        _line("ERROR", **SLOW),
        _line("ERROR", **SLOW),
        _line("ERROR", **SLOW, exception=mine),
        _line("ERROR", **SLOW, exception=mine),
        _line("ERROR", **SLOW, exception=theirs),
        _line("ERROR", **SLOW),
        _line(message="boom", **SLOW),
        _line(message="42", **SLOW),
    ]
    assert capsys.readouterr().err == ""


def test_a_line_of_exactly_the_limit_is_written_whole_by_the_fast_path(
    lambdaops_capture: Capture, traced: None
) -> None:
    fits = _line(**FAST, s="")
    pad = 1024 - len(fits)  # max_line_bytes counts the line without its newline

    def body() -> None:
        log.info("m", s="x" * pad)
        log.info("m", s="y" * (pad + 1))

    _invoke(body, max_line_bytes=1024)
    first, second = _log_lines(lambdaops_capture)
    assert first == _line(**FAST, s="x" * pad)
    assert len(first) == 1024
    # One character more: the dict path cuts the field (within a character of the limit).
    assert second == _line(**SLOW, s="y" * (pad - 27) + "…[truncated 28 chars]")
    assert len(second) == 1023


def test_processors_get_each_levels_method_name(lambdaops_capture: Capture) -> None:
    methods: list[tuple[object, str, str]] = []

    def keep(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        methods.append((logger, method, event["level"]))
        return event

    def body() -> None:
        log.debug("m")
        log.info("m")
        log.warning("m")
        log.error("m")
        log.critical("m")
        log.exception("m")

    _invoke(body, processors=[keep], log_level="DEBUG")
    assert methods == [
        (log, "debug", "DEBUG"),
        (log, "info", "INFO"),
        (log, "warning", "WARNING"),
        (log, "error", "ERROR"),
        (log, "critical", "CRITICAL"),
        (log, "error", "ERROR"),
    ]


def test_a_failing_processor_is_reported_once_as_an_internal_error(
    lambdaops_capture: Capture, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        raise LookupError("no such thing")

    def body() -> None:
        log.info("one")
        log.info("two")

    _invoke(body, processors=[broken])
    assert lambdaops_capture.logs == []
    assert capsys.readouterr().err == (
        '{"level":"WARNING","message":"lambdaops internal error contained",'
        '"where":"log","error":"LookupError: no such thing"}\n'
    )


def test_is_enabled_for_compares_with_the_current_level() -> None:
    assert log.is_enabled_for(20) is True  # outside a handler: INFO
    assert log.is_enabled_for(19) is False
    seen: list[bool] = []

    def body() -> None:
        seen.extend([log.is_enabled_for(30), log.is_enabled_for(29)])

    _invoke(body, log_level="WARNING")
    assert seen == [True, False]


def test_bound_fields_are_copies() -> None:
    bound = log.bind(a=1)
    fields = bound.fields
    fields["b"] = 2
    assert bound.fields == {"a": 1}
    assert bound.bind(b=2).fields == {"a": 1, "b": 2}
    assert bound.new(c=3).fields == {"c": 3}
    assert bound.bind(b=2).unbind("a").fields == {"b": 2}
    assert bound.bind(b=2).try_unbind("a", "z").fields == {"b": 2}


def test_debug_sampling_draws_below_the_rate() -> None:
    from types import SimpleNamespace

    from lambdaops._config import resolve
    from lambdaops._logger import LogSignal

    assert LogSignal(resolve(debug_sample_rate=0.0)).start is None
    signal = LogSignal(resolve(debug_sample_rate=0.25, capture_stdlib=False))
    assert signal.start == signal._sample
    draws = iter([0.25, 0.2499])
    signal._random = lambda: next(draws)
    state = {"level": 20, "buffer_max": 5, "debug_sampled": False, "fields": {}, "fragment": ""}
    inv: Any = SimpleNamespace(**state)
    signal._sample(inv)  # 0.25 is not below the rate: untouched
    assert vars(inv) == state
    signal._sample(inv)
    assert vars(inv) == {
        "level": 10,
        "buffer_max": 0,
        "debug_sampled": True,
        "fields": None,
        "fragment": None,
    }


@pytest.mark.parametrize(
    ("outcome", "buffer_max", "level"),
    [("success", 5, 20), ("error", 5, 10), ("timeout", 5, 10), ("error", 0, 20)],
)
def test_finishing_writes_the_buffer_only_for_a_failed_invocation(
    outcome: str, buffer_max: int, level: int
) -> None:
    from types import SimpleNamespace

    from lambdaops._config import resolve
    from lambdaops._logger import LogSignal

    signal = LogSignal(resolve(capture_stdlib=False))
    inv: Any = SimpleNamespace(
        outcome=outcome, buffer_max=buffer_max, buffer=None, evicted=0, level=20
    )
    signal.finish(inv)
    # fail() lowers the level to DEBUG for the rest of the invocation
    assert vars(inv) == {
        "outcome": outcome,
        "buffer_max": 0,
        "buffer": None,
        "evicted": 0,
        "level": level,
    }


def test_a_str_subclass_message_is_its_text_on_both_paths(lambdaops_capture: Capture) -> None:
    """Bug found by mutation testing: the fast path wrote a StrEnum member as its repr."""
    import enum

    class Color(str, enum.Enum):
        RED = "red"

    @instrument
    def handler(event: Any, context: Any) -> None:
        log.info(Color.RED)  # the fast path
        log.info(Color.RED, n=float("nan"))  # the dict path (NaN takes it)

    handler({}, LambdaContext())
    assert lambdaops_capture.messages()[:2] == ["red", "red"]
