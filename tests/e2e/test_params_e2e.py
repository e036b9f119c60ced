"""Parameters under the real runtime: awslambdaric, moto's server, a fault-injecting proxy.

The function process reaches moto only through :class:`FaultProxy`, which counts every
request by action and can make the service throttle, fail with 500 or hang.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any

import pytest

from lambdaops.local._moto import MotoServer
from lambdaops.local._xray_daemon import XRayDaemon
from tests.e2e.conftest import json_lines

if TYPE_CHECKING:
    from tests.params_support import FaultProxy

#: The moto server, fault proxy and clock fixtures.
pytest_plugins = ["tests.params_support"]

pytestmark = pytest.mark.e2e

STALE = "parameter refresh failed; serving the cached value"


def all_output(env: Any, since: int = 0) -> str:
    """Every byte the runtime process wrote, stdout and stderr alike."""
    return "\n".join(text for _, _, text in env.lines[since:])


def test_values_are_cached_across_warm_invocations(
    make_env: Any, moto_server: MotoServer, fault_proxy: FaultProxy, function_env: dict[str, str]
) -> None:
    many = [f"/e2e/many/m{i:02d}" for i in range(12)]
    tree = {f"/e2e/tree/t{i:02d}": f"t{i}" for i in range(12)}
    moto_server.seed(
        {
            "parameters": {
                "/e2e/a": "a",
                "/e2e/b": "b",
                "/e2e/flag": "on",
                **dict.fromkeys(many, "m"),
                **tree,
            },
            "secrets": {"e2e/db": {"value": {"user": "shop", "password": "pw-e2e-123456"}}},
        }
    )
    env = make_env(
        "params_app.cached",
        env={**function_env, "LAMBDAOPS_PARAMS_MAX_AGE": "3"},
    )
    event = {"names": ["/e2e/a", "/e2e/b"], "many": many, "path": "/e2e/tree"}
    started = time.monotonic()
    for _ in range(6):
        result = env.invoke(event)
        assert result.status == "success", result.error
        body = result.json()
        assert body["get"] == {"/e2e/a": "a", "/e2e/b": "b"}
        assert body["many"] == dict.fromkeys(many, "m")
        assert body["path"] == tree
        assert body["injected"] == {"flag": "on", "db_user": "shop"}
    assert time.monotonic() - started < 2.5, "too slow to stay inside max_age"
    assert fault_proxy.count("GetParameter", "/e2e/a") == 1
    assert fault_proxy.count("GetParameter", "/e2e/b") == 1
    assert [len(b["Names"]) for b in fault_proxy.calls("GetParameters")] == [10, 2]
    assert fault_proxy.count("GetParametersByPath") == 2  # one read, two pages
    assert fault_proxy.count("GetSecretValue") <= 1

    time.sleep(3.1)  # past max_age: one refresh per name, whatever the invocations
    for _ in range(3):
        assert env.invoke(event).status == "success"
    assert fault_proxy.count("GetParameter", "/e2e/a") == 2
    assert fault_proxy.count("GetParameter", "/e2e/b") == 2
    assert fault_proxy.count("GetParameters") == 4
    assert fault_proxy.count("GetParametersByPath") == 4


def test_stale_values_are_served_through_faults_and_recover(
    make_env: Any, moto_server: MotoServer, fault_proxy: FaultProxy, function_env: dict[str, str]
) -> None:
    name = "/e2e/stale"
    moto_server.seed({"parameters": {name: "v0"}})
    env = make_env(
        "params_app.stale",
        env={**function_env, "LAMBDAOPS_PARAMS_MAX_AGE": "1"},
        timeout_s=3.0,
    )
    assert env.invoke({"name": name}).json() == "v0"
    current = "v0"
    for episode, mode in enumerate(("throttle", "error", "hang"), start=1):
        fresh = f"v{episode}"
        moto_server.put_parameter(name, fresh)  # straight to moto: only a refresh can see it
        time.sleep(1.05)  # the cached value expires
        fault_proxy.set_mode(mode)
        start = len(env.lines)
        for _ in range(3):
            result = env.invoke({"name": name})
            assert result.status == "success", (mode, result.status, result.error)
            assert result.json() == current, mode
            assert result.duration_ms < 1500, (mode, result.duration_ms)
        records = json_lines(env.lines_since(start))
        warnings = [r for r in records if r.get("message") == STALE]
        assert len(warnings) == 1, (mode, warnings)
        assert warnings[0]["parameter"] == name and warnings[0]["level"] == "WARNING"
        assert current not in json.dumps(warnings[0]["error"])
        assert sum("ParameterStaleServed" in r for r in records) == 3, mode

        fault_proxy.set_mode("pass")
        deadline = time.monotonic() + 6
        value = current
        while value != fresh and time.monotonic() < deadline:
            time.sleep(0.1)
            result = env.invoke({"name": name})
            assert result.status == "success", result.error
            value = result.json()
        assert value == fresh, f"no recovery after {mode}"
        current = fresh
    assert env.cold is False  # one process served the whole story


def _seed_canary(server: MotoServer) -> tuple[str, str]:
    secret = "cnry-" + secrets.token_hex(16)
    secure = "sec-" + secrets.token_hex(16)
    server.seed(
        {
            "secrets": {"e2e/canary": secret},
            "parameters": {"/e2e/secure": {"value": secure, "type": "SecureString"}},
        }
    )
    return secret, secure


def _invoke_canary(env: Any, **kwargs: Any) -> Any:
    result = env.invoke({"secret_id": "e2e/canary", "parameter": "/e2e/secure"}, **kwargs)
    assert result.status == "error", result.status
    assert result.error is not None and result.error["errorType"] == "RuntimeError"
    return result


def test_secret_canary_appears_in_no_byte_of_output(
    make_env: Any, moto_server: MotoServer, fault_proxy: FaultProxy, function_env: dict[str, str]
) -> None:
    secret, secure = _seed_canary(moto_server)
    env = make_env("params_app.canary", env=function_env)
    for _ in range(2):  # cold and warm
        _invoke_canary(env)
    text = all_output(env)
    assert secret not in text and secure not in text
    for fragment in (secret[:16], secret[-16:], secure[:16], secure[-16:]):
        assert fragment not in text
    # ... and every leak path did run, masked (so this test can fail)
    stdout = [t for _, stream, t in env.lines if stream == "stdout"]
    stderr = [t for _, stream, t in env.lines if stream == "stderr"]
    records = json_lines(stdout)
    messages = [r.get("message") for r in records]
    assert "the secret is" in messages and "inline *** and ***" in messages
    assert any(r.get("logger") == "canary" and r.get("message") == "stdlib ***" for r in records)
    assert "printed *** ***" in stdout
    assert "stderr ***" in stderr
    # awslambdaric's [ERROR] record comes through the telemetry fd, as on Lambda.
    telemetry = [t for _, stream, t in env.lines if stream == "telemetry"]
    assert any(line.startswith("[ERROR] RuntimeError: failed with *** / ***") for line in telemetry)
    emf = [r for r in records if "CanaryRuns" in r]
    assert emf and all(r["leak"] == "***" for r in emf)


def test_secret_canary_error_payload_is_scrubbed(
    make_env: Any, moto_server: MotoServer, fault_proxy: FaultProxy, function_env: dict[str, str]
) -> None:
    secret, secure = _seed_canary(moto_server)
    env = make_env("params_app.canary", env=function_env)
    result = _invoke_canary(env)
    assert result.error is not None
    body = json.dumps(result.error)
    assert secret not in body and secure not in body
    assert result.error["errorMessage"] == "failed with *** / ***"


def test_secret_canary_trace_metadata(
    make_env: Any, moto_server: MotoServer, fault_proxy: FaultProxy, function_env: dict[str, str]
) -> None:
    secret, _ = _seed_canary(moto_server)
    with XRayDaemon() as daemon:
        env = make_env(
            "params_app.canary",
            env={**function_env, "AWS_XRAY_DAEMON_ADDRESS": daemon.address},
        )
        root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        _invoke_canary(env, trace_header=f"Root={root};Parent={secrets.token_hex(8)};Sampled=1")
        docs = daemon.wait_for(lambda ds: "canary-leak" in json.dumps(ds), timeout=10)
        sent = json.dumps(docs, ensure_ascii=False) + repr(daemon.malformed_datagrams)
    assert "canary-leak" in sent and "***" in sent
    assert secret not in sent
    assert secret not in all_output(env)
