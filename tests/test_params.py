"""lambdaops.params against moto's server over real HTTP, through a fault-injecting proxy."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from lambdaops import _redact, instrument
from lambdaops._config import resolve
from lambdaops._errors import ConfigError
from lambdaops._params import Injected, ParameterError, ParamsSignal, _cache, params, parse_spec
from lambdaops.local._moto import MotoServer
from lambdaops.testing import Capture, LambdaContext

if TYPE_CHECKING:
    from tests.params_support import FakeClock, FaultProxy

#: The moto server, fault proxy and clock fixtures.
pytest_plugins = ["tests.params_support"]

STALE = "parameter refresh failed; serving the cached value"


def stale_warnings(cap: Capture, name: str) -> list[dict[str, Any]]:
    return [r for r in cap.logs if r["message"] == STALE and r.get("parameter") == name]


# -- caching ------------------------------------------------------------------------


def test_one_call_per_name_within_max_age(params_env: FaultProxy, moto_server: MotoServer) -> None:
    moto_server.seed({"parameters": {"/app/a": "alpha", "/app/b": "beta"}})
    for _ in range(25):
        assert params.get("/app/a") == "alpha"
        assert params.get("/app/b") == "beta"
    assert params_env.count("GetParameter", "/app/a") == 1
    assert params_env.count("GetParameter", "/app/b") == 1


def test_one_refresh_after_max_age_and_force_refetches(
    params_env: FaultProxy, moto_server: MotoServer, clock: FakeClock
) -> None:
    moto_server.seed({"parameters": {"/app/a": "v1"}})
    assert params.get("/app/a", max_age=60) == "v1"
    moto_server.put_parameter("/app/a", "v2")
    clock.advance(50)
    assert params.get("/app/a", max_age=60) == "v1"  # cached, even though it changed
    assert params_env.count("GetParameter") == 1
    clock.advance(11)
    for _ in range(10):
        assert params.get("/app/a", max_age=60) == "v2"
    assert params_env.count("GetParameter") == 2
    moto_server.put_parameter("/app/a", "v3")
    assert params.get("/app/a", max_age=60, force=True) == "v3"
    assert params.get("/app/a", max_age=60) == "v3"
    assert params_env.count("GetParameter") == 3
    assert params.get("/app/a", max_age=0) == "v3"  # max_age=0: always fetch
    assert params_env.count("GetParameter") == 4


def test_default_max_age_comes_from_the_environment(
    params_env: FaultProxy,
    moto_server: MotoServer,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAMBDAOPS_PARAMS_MAX_AGE", "10")
    params.reset()
    moto_server.seed({"parameters": {"/app/a": "v1"}})
    params.get("/app/a")
    clock.advance(8.9)  # within even the most jittered age (0.9 x 10 s)
    params.get("/app/a")
    assert params_env.count("GetParameter") == 1
    clock.advance(1.2)
    params.get("/app/a")
    assert params_env.count("GetParameter") == 2


def test_expiry_is_jittered_so_refreshes_spread(
    params_env: FaultProxy, moto_server: MotoServer, clock: FakeClock
) -> None:
    names = [f"/fleet/p{i}" for i in range(40)]
    moto_server.seed({"parameters": dict.fromkeys(names, "v")})
    params.get_many(names, max_age=100)
    clock.advance(95)  # inside the jitter window (90-100 s)
    params_env.clear()
    params.get_many(names, max_age=100)
    refreshed = {n for body in params_env.calls("GetParameters") for n in body["Names"]}
    assert 0 < len(refreshed) < len(names)
    clock.advance(5)
    params_env.clear()
    params.get_many(names, max_age=100)
    again = {n for body in params_env.calls("GetParameters") for n in body["Names"]}
    assert again == set(names) - refreshed


def test_get_many_fetches_misses_ten_names_a_call(
    params_env: FaultProxy, moto_server: MotoServer
) -> None:
    names = [f"/batch/n{i:02d}" for i in range(23)]
    moto_server.seed({"parameters": {n: f"value-{n}" for n in names}})
    params.get(names[0])  # already cached: not asked for again
    got = params.get_many(names)
    assert got == {n: f"value-{n}" for n in names}
    assert list(got) == names
    sizes = [len(body["Names"]) for body in params_env.calls("GetParameters")]
    assert sizes == [10, 10, 2]
    assert params.get_many(names) == got
    assert params_env.count("GetParameters") == 3


def test_get_many_names_what_is_missing(params_env: FaultProxy, moto_server: MotoServer) -> None:
    moto_server.seed({"parameters": {"/m/a": "a"}})
    with pytest.raises(ParameterError) as info:
        params.get_many(["/m/a", "/m/nope", "/m/gone"])
    assert info.value.reason == "not_found"
    assert "'/m/nope'" in str(info.value) and "'/m/gone'" in str(info.value)
    assert params.get("/m/a") == "a"  # the name that exists was cached by the same call
    assert params_env.count("GetParameter") == 0


def test_get_by_path_returns_every_page(params_env: FaultProxy, moto_server: MotoServer) -> None:
    top = {f"/svc/p{i:02d}": f"v{i}" for i in range(23)}
    nested = {f"/svc/deep/q{i}": f"d{i}" for i in range(4)}
    moto_server.seed({"parameters": {**top, **nested, "/other/x": "no"}})
    everything = params.get_by_path("/svc")
    assert everything == {**top, **nested}
    assert params_env.count("GetParametersByPath") >= 3  # 10 a page
    assert params.get_by_path("/svc") == everything
    assert params.get_by_path("/svc", recursive=False) == top
    calls = params_env.count("GetParametersByPath")
    assert params.get("/svc/p05") == "v5"  # cached by the path read
    assert params_env.count("GetParameter") == 0
    assert params_env.count("GetParametersByPath") == calls
    assert params.get_by_path("/nothing/here") == {}


def test_the_cache_is_bounded(
    params_env: FaultProxy, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cache, "_MAX_ENTRIES", 8)
    names = [f"/tenant/t{i:02d}" for i in range(30)]
    moto_server.seed({"parameters": dict.fromkeys(names, "v")})
    for name in names:
        assert params.get(name) == "v"
        assert len(params._entries) <= 8
    assert params.get(names[-1]) == "v"  # the newest survived
    assert params_env.count("GetParameter", names[-1]) == 1
    assert params.get(names[0]) == "v"  # the oldest was dropped: fetched again
    assert params_env.count("GetParameter", names[0]) == 2


# -- values, types, transforms -------------------------------------------------------


def test_secure_strings_need_decrypt_and_are_registered(
    params_env: FaultProxy, moto_server: MotoServer
) -> None:
    moto_server.seed(
        {"parameters": {"/s/key": {"value": "sk-live-abcdef123", "type": "SecureString"}}}
    )
    params.get("/s/key")
    assert not _redact.active()  # not decrypted: nothing secret was loaded
    assert params.get("/s/key", decrypt=True) == "sk-live-abcdef123"
    assert _redact.redact("key sk-live-abcdef123") == "key ***"


def test_secrets_manager_values_and_transforms(
    params_env: FaultProxy, moto_server: MotoServer
) -> None:
    moto_server.seed(
        {
            "secrets": {
                "shop/db": {"value": {"user": "shop", "password": "correct-horse-battery"}},
                "shop/cert": {"binary": b"\x00\x01binary"},
            },
            "parameters": {
                "/cfg/flags.json": '{"beta": true}',
                "/cfg/blob.binary": base64.b64encode(b"raw bytes").decode(),
                "/cfg/plain": "text",
                "/cfg/list": ["a", "b"],
            },
        }
    )
    assert params.secret("shop/db", transform="json") == {
        "user": "shop",
        "password": "correct-horse-battery",
    }
    assert json.loads(params.secret("shop/db"))["user"] == "shop"
    assert _redact.redact("pw=correct-horse-battery") == "pw=***"
    assert params.secret("shop/cert") == b"\x00\x01binary"
    assert params.secret("shop/cert", transform="binary") == b"\x00\x01binary"
    assert params.get("/cfg/flags.json", transform="auto") == {"beta": True}
    assert params.get("/cfg/flags.json") == '{"beta": true}'
    assert params.get("/cfg/blob.binary", transform="auto") == b"raw bytes"
    assert params.get("/cfg/plain", transform="auto") == "text"
    assert params.get("/cfg/list") == "a,b"
    assert params.get_by_path("/cfg", transform="auto")["/cfg/flags.json"] == {"beta": True}
    assert params_env.count("GetSecretValue") == 2
    with pytest.raises(ValueError, match="transform"):
        params.get("/cfg/plain", transform="yaml")


def test_a_failed_transform_names_the_parameter_never_the_value(
    params_env: FaultProxy, moto_server: MotoServer
) -> None:
    moto_server.seed({"secrets": {"bad": "not-json-but-secret-xyz"}})
    with pytest.raises(ParameterError) as info:
        params.secret("bad", transform="json")
    assert info.value.reason == "transform"
    assert "'bad'" in str(info.value)
    assert "not-json" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_missing_names_raise_a_clear_error(params_env: FaultProxy, moto_server: MotoServer) -> None:
    with pytest.raises(ParameterError, match=r"parameter '/no/such' does not exist") as info:
        params.get("/no/such")
    assert info.value.name == "/no/such" and info.value.reason == "not_found"
    with pytest.raises(ParameterError, match=r"secret 'no-such' does not exist"):
        params.secret("no-such")


def test_arguments_are_checked(params_env: FaultProxy) -> None:
    with pytest.raises(ValueError, match=r"name must be a non-empty string, not ''$"):
        params.get("")
    with pytest.raises(ValueError, match=r"^max_age must be a number of seconds >= 0, not -1$"):
        params.get("/x", max_age=-1)
    with pytest.raises(ValueError, match=r"^path must be a string starting with '/', not 're"):
        params.get_by_path("relative/path")
    assert params_env.requests == []


def test_max_age_true_is_refused_cached_or_not(
    params_env: FaultProxy, moto_server: MotoServer
) -> None:
    """A bool is not seconds (``max_age=True`` is a slip for ``force=True``): every entry point
    refuses it, even when a fresh cached value could be served, and so do declared specs."""
    moto_server.seed({"parameters": {"/a": "v"}, "secrets": {"s": "sv"}})
    assert params.get("/a") == "v"
    assert params.secret("s") == "sv"
    refused = r"^max_age must be a number of seconds >= 0, not True$"
    with pytest.raises(ValueError, match=refused):
        params.get("/a", max_age=True)
    with pytest.raises(ValueError, match=refused):
        params.secret("s", max_age=True)
    with pytest.raises(ValueError, match=r"^max_age must be a number of seconds >= 0, not False$"):
        params.get_many(["/a"], max_age=False)
    with pytest.raises(ValueError, match=refused):
        params.get_by_path("/", max_age=True)
    with pytest.raises(
        ConfigError,
        match=r"^argument params\['k'\]: max_age must be a number of seconds >= 0, not True$",
    ):
        parse_spec("k", {"name": "/a", "max_age": True})
    with pytest.raises(
        ConfigError,
        match=r"^argument params\['k'\]: transform must be 'json', 'binary', 'auto' or None, "
        r"not 'yaml'$",
    ):
        parse_spec("k", {"name": "/a", "transform": "yaml"})
    assert params.get("/a", max_age=0) == "v"  # an int is seconds: 0 fetches again
    assert params.get("/a", max_age=60.5) == "v"
    assert params_env.count("GetParameter") == 2
    assert params_env.count("GetSecretValue") == 1
    assert params_env.count("GetParametersByPath") == 0


def test_the_service_error_is_read_in_one_place() -> None:
    from lambdaops._params._errors import NotFound, call_failed, describe, service_error

    class ClientError(Exception):  # botocore's shape: the parsed error body on .response
        def __init__(self, code: str, message: str = "") -> None:
            super().__init__(f"An error occurred ({code})")
            self.response = {"Error": {"Code": code, "Message": message}}

    throttled = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
    assert str(service_error(throttled)) == "ThrottlingException: Rate exceeded"
    assert str(service_error({"Error": {"Code": "AccessDenied"}})) == "AccessDenied"
    for nothing in (None, {}, {"Error": None}, {"Error": {"Message": "no code"}}, "Error"):
        assert service_error(nothing) is None
    missing = call_failed(ClientError("ParameterNotFound"), "/a")
    assert type(missing) is NotFound and str(missing) == "/a"
    assert type(call_failed(ClientError("ResourceNotFoundException"), "s")) is NotFound
    error = ClientError("ThrottlingException", "Rate exceeded")
    assert call_failed(error, "/a") is error
    assert describe(error) == "ThrottlingException: Rate exceeded"
    assert describe(OSError("connection reset")) == "OSError: connection reset"
    assert describe(ClientError("Code", "m" * 400)) == "Code: " + "m" * 294 + "…"


def test_the_retry_hook_remembers_why_the_last_attempt_failed() -> None:
    from lambdaops._params import _aws
    from lambdaops._params._values import Flight

    throttled = (None, {"Error": {"Code": "ThrottlingException", "Message": "slow down"}})
    flight = Flight()
    _aws._note_attempt(response=throttled)  # no fetch on this thread: nothing to note
    assert flight.last_error is None
    _aws._attempt.flight = flight
    try:
        _aws._note_attempt(response=throttled)
        assert flight.last_error == "ThrottlingException: slow down"
        _aws._note_attempt(response=(None, {"ResponseMetadata": {}}))  # a success says nothing
        assert flight.last_error == "ThrottlingException: slow down"
        _aws._note_attempt(caught_exception=TimeoutError("read timed out"))
        assert flight.last_error == "TimeoutError: read timed out"
    finally:
        _aws._attempt.flight = None


def test_a_plain_tuple_finds_the_entry_of_its_key() -> None:
    """The cached read looks entries up by a plain tuple, so it builds no NamedTuple."""
    from lambdaops._params._values import Key

    key = Key("ssm", "/a", True)
    assert key == ("ssm", "/a", True, False)
    assert hash(key) == hash(("ssm", "/a", True, False))
    assert {key: 1}.get(("ssm", "/a", True, False)) == 1
    assert Key("path", "/a", True, True) != ("ssm", "/a", True, True)


# -- the clients --------------------------------------------------------------------


def test_clients_are_lazy_bounded_and_honour_endpoint_variables(params_env: FaultProxy) -> None:
    assert params._aws is None
    aws = params._fetcher()
    ssm = aws.client("ssm")
    assert aws.client("ssm") is ssm
    config = ssm.meta.config
    assert config.read_timeout == 0.5 and config.connect_timeout == 0.5
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert ssm.meta.endpoint_url == params_env.url
    assert ssm.meta.region_name == "us-east-1"
    assert aws.client("secretsmanager").meta.endpoint_url == params_env.url


def test_importing_lambdaops_does_not_import_boto3() -> None:
    code = (
        "import sys, lambdaops, lambdaops._params as p;"
        "p.params.get;"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, 'eager'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


_LOADS = """
import sys, lambdaops
def loaded():
    names = ("boto3", "random")
    print(sorted(m for m in sys.modules if m.startswith("lambdaops._params") or m in names))
from lambdaops import params
loaded()
params.get("/a")
loaded()
from lambdaops._params import ParamsSignal
loaded()
"""


def test_each_part_loads_when_first_needed(
    moto_server: MotoServer, fault_proxy: FaultProxy
) -> None:
    from tests.params_support import aws_env  # a plugin here: imported once pytest has it

    moto_server.seed({"parameters": {"/a": "v"}})
    env = {**aws_env(moto_server, fault_proxy), "PATH": os.environ.get("PATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", _LOADS], env=env, capture_output=True, text=True, check=True
    )
    first = ["_params", "_params._api", "_params._cache", "_params._errors", "_params._values"]
    at_import = [f"lambdaops.{name}" for name in first]
    fetched = sorted([*at_import, "lambdaops._params._aws", "boto3", "random"])
    declared = sorted([*fetched, "lambdaops._params._inject"])
    assert out.stdout.splitlines() == [str(at_import), str(fetched), str(declared)]


def test_a_bad_setting_names_the_variable(
    params_env: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDAOPS_PARAMS_TIMEOUT", "soon")
    params.reset()
    with pytest.raises(ConfigError, match="LAMBDAOPS_PARAMS_TIMEOUT"):
        params.get("/x")


# -- failures -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["throttle", "error", "hang"])
def test_stale_value_is_served_while_the_service_fails(
    mode: str,
    params_env: FaultProxy,
    moto_server: MotoServer,
    clock: FakeClock,
    lambdaops_capture: Capture,
) -> None:
    moto_server.seed({"parameters": {"/app/flag": "flag-on-111"}})
    assert params.get("/app/flag", max_age=30) == "flag-on-111"
    moto_server.put_parameter("/app/flag", "flag-off-222")  # behind the proxy's back
    clock.advance(31)
    params_env.set_mode(mode)

    @instrument
    def handler(event: Any, context: Any) -> str:
        return str(params.get("/app/flag", max_age=30))

    timings = []
    for _ in range(5):
        started = time.monotonic()
        assert handler({}, LambdaContext(timeout_s=3.0)) == "flag-on-111"
        timings.append(time.monotonic() - started)
        clock.advance(0.05)
    assert max(timings) < 1.5  # never more than the wait budget (1 s)
    if mode == "hang":
        assert timings[0] >= 0.9  # waited for the refresh, then gave up on it
    assert sum(timings[1:]) < 0.5  # in the episode: stale at once

    (warning,) = stale_warnings(lambdaops_capture, "/app/flag")
    assert warning["level"] == "WARNING"
    assert warning["age_s"] >= 31
    assert "flag-on-111" not in json.dumps(warning)  # metadata only, never the value
    expected = {
        "throttle": "ThrottlingException",
        "error": "InternalServerError",
        "hang": "refresh still running",
    }[mode]
    assert expected in warning["error"]
    stale_counts = [line for line in lambdaops_capture.lines if '"ParameterStaleServed"' in line]
    assert len(stale_counts) == 5  # one EMF document per invocation, each counting it

    # backing off: not every call hits the failing service
    assert params_env.count("GetParameter") <= 4

    params_env.set_mode("pass")
    deadline = time.monotonic() + 5
    value = "flag-on-111"
    while value != "flag-off-222" and time.monotonic() < deadline:
        clock.advance(1)  # past the backoff
        value = handler({}, LambdaContext())
        time.sleep(0.05)
    assert value == "flag-off-222"
    assert "parameter refresh recovered" in lambdaops_capture.messages()
    # a new episode warns again
    clock.advance(31)
    params_env.set_mode("throttle")
    assert handler({}, LambdaContext()) == "flag-off-222"
    assert len(stale_warnings(lambdaops_capture, "/app/flag")) == 2


def test_nothing_cached_and_the_service_fails(
    params_env: FaultProxy, moto_server: MotoServer
) -> None:
    params_env.set_mode("throttle")
    with pytest.raises(ParameterError) as info:
        params.get("/app/new")
    assert info.value.reason == "unavailable"
    assert "parameter '/app/new' could not be loaded" in str(info.value)
    assert "ThrottlingException" in str(info.value)
    assert params_env.count("GetParameter") == 2  # bounded retries: 2 attempts

    params_env.set_mode("hang")

    @instrument
    def handler(event: Any, context: Any) -> Any:
        return params.get("/app/other")

    started = time.monotonic()
    with pytest.raises(ParameterError) as info:
        handler({}, LambdaContext(timeout_s=0.6))
    assert time.monotonic() - started < 0.6  # gave up before the function's deadline
    assert info.value.reason == "timeout"


def test_a_deleted_parameter_is_not_served_stale(
    params_env: FaultProxy, moto_server: MotoServer, clock: FakeClock
) -> None:
    moto_server.seed({"parameters": {"/app/old": "x"}})
    params.get("/app/old")
    moto_server.client("ssm").delete_parameter(Name="/app/old")
    clock.advance(301)
    with pytest.raises(ParameterError, match="does not exist"):
        params.get("/app/old")


def test_sixteen_threads_asking_for_an_expired_name_cause_one_fetch(
    params_env: FaultProxy, moto_server: MotoServer, clock: FakeClock
) -> None:
    moto_server.seed({"parameters": {"/hot/name": "v1"}})
    assert params.get("/hot/name") == "v1"
    moto_server.put_parameter("/hot/name", "v2")
    clock.advance(301)
    params_env.set_mode("pass", delay_s=0.3)  # keep the fetch in flight while all arrive
    barrier = threading.Barrier(16)
    results: list[Any] = []

    def ask() -> None:
        barrier.wait()
        results.append(params.get("/hot/name"))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == ["v2"] * 16
    assert params_env.count("GetParameter", "/hot/name") == 2  # the first load + one refresh


# -- injection ----------------------------------------------------------------------


def test_specs_are_validated_when_decorating() -> None:
    assert parse_spec("k", "/a").kind == "ssm"
    assert parse_spec("k", "secret:shop/db").kind == "secret"
    assert parse_spec("k", "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf").kind == "secret"
    assert parse_spec("k", {"path": "/cfg", "recursive": False}).recursive is False
    for bad in (
        "",
        "secret:",
        42,
        {"name": "/a", "secret": "b"},
        {"nme": "/a"},
        {"name": "/a", "transform": "yaml"},
        {"path": "cfg"},
        {"name": "/a", "max_age": -1},
    ):
        with pytest.raises(ConfigError):
            parse_spec("k", bad)


def _seed_shop(server: MotoServer) -> None:
    server.seed(
        {
            "parameters": {
                "/shop/api-key": {"value": "shop-api-key-123456", "type": "SecureString"},
                "/shop/limits.json": '{"rps": 5}',
                "/shop/cfg/a": "1",
                "/shop/cfg/b": "2",
            },
            "secrets": {"shop/db": {"value": {"password": "db-password-abcdef"}}},
        }
    )


SHOP = {
    "api_key": "/shop/api-key",
    "limits": "/shop/limits.json",
    "db": {"secret": "shop/db", "transform": "json"},
    "cfg": {"path": "/shop/cfg"},
    "missing": "/shop/not-there",
}


class _Inv:
    def __init__(self, context: Any) -> None:
        self.context = context
        self.signal_state: dict[str, Any] = {}


def test_params_signal_loads_declared_values_onto_the_context(
    params_env: FaultProxy, moto_server: MotoServer, clock: FakeClock
) -> None:
    _seed_shop(moto_server)
    signal = ParamsSignal(resolve(params=SHOP))
    for _ in range(3):
        inv = _Inv(LambdaContext())
        signal.start(inv)
        injected = inv.context.params
        assert isinstance(injected, Injected)
        assert injected.api_key == "shop-api-key-123456"  # decrypted by default
        assert injected["limits"] == {"rps": 5}  # transform "auto" by suffix
        assert injected.db["password"] == "db-password-abcdef"
        assert injected.cfg == {"/shop/cfg/a": "1", "/shop/cfg/b": "2"}
        assert set(injected) == set(SHOP)
        with pytest.raises(ParameterError, match="does not exist"):
            _ = injected.missing
        with pytest.raises(AttributeError):
            _ = injected.undeclared
        assert "shop-api-key" not in repr(injected)
    # the names were batched into one GetParameters, then served from the cache
    assert params_env.count("GetParameters") == 1
    assert params_env.count("GetSecretValue") == 1
    assert params_env.count("GetParametersByPath") == 1
    assert params_env.count("GetParameter") == 0  # the missing name backs off too
    clock.advance(1)
    signal.start(_Inv(LambdaContext()))
    assert params_env.count("GetParameter", "/shop/not-there") == 1


def test_instrument_params_injects_into_the_handler(
    params_env: FaultProxy, moto_server: MotoServer, lambdaops_capture: Capture
) -> None:
    _seed_shop(moto_server)
    declared = {k: v for k, v in SHOP.items() if k != "missing"}

    @instrument(params=declared)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"ctx": context.params.api_key, "helper": params.injected()["db"]["password"]}

    assert any(isinstance(s, ParamsSignal) for s in handler.lambdaops_lifecycle.signals)
    assert handler({}, LambdaContext()) == {
        "ctx": "shop-api-key-123456",
        "helper": "db-password-abcdef",
    }
    assert params.injected() == Injected({}, {})  # outside an invocation: nothing


@pytest.mark.parametrize("mode", ["reset", "garbage"])
def test_refused_connections_and_malformed_responses(
    mode: str,
    params_env: FaultProxy,
    moto_server: MotoServer,
    clock: FakeClock,
    lambdaops_capture: Capture,
) -> None:
    """A connection dropped without an answer, or a 200 whose body is not JSON."""
    moto_server.seed({"parameters": {"/app/mode": "cached-value-1"}})
    assert params.get("/app/mode", max_age=30) == "cached-value-1"
    clock.advance(31)
    params_env.set_mode(mode)

    @instrument
    def handler(event: Any, context: Any) -> str:
        return str(params.get(event["name"], max_age=30))

    assert handler({"name": "/app/mode"}, LambdaContext(timeout_s=3.0)) == "cached-value-1"
    assert len(stale_warnings(lambdaops_capture, "/app/mode")) == 1
    with pytest.raises(ParameterError) as info:
        handler({"name": "/app/never-cached"}, LambdaContext(timeout_s=3.0))
    assert info.value.reason == "unavailable" and "/app/never-cached" in str(info.value)
