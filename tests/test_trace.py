"""``trace``: subsegments in-process, sent over real UDP to the local daemon stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdaops import _redact, _trace, instrument, trace
from lambdaops.local._xray_daemon import XRayDaemon, document_problems, flatten, parse_datagram
from lambdaops.testing import LambdaContext

REPO = Path(__file__).resolve().parents[1]


def new_header(sampled: int = 1) -> tuple[str, str, str]:
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    parent = secrets.token_hex(8)
    return f"Root={root};Parent={parent};Sampled={sampled}", root, parent


class Lambda:
    """Runs handlers as Lambda would in this process: a trace header per invocation."""

    def __init__(self, daemon: XRayDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
        self.daemon = daemon
        self.monkeypatch = monkeypatch

    def invoke(
        self, handler: Callable[..., Any], event: Any = None, sampled: int = 1
    ) -> tuple[Any, str, str]:
        """(result, root, parent); the handler's exception is returned, not raised."""
        header, root, parent = new_header(sampled)
        self.monkeypatch.setenv("_X_AMZN_TRACE_ID", header)
        try:
            result = handler(event if event is not None else {}, LambdaContext())
        except Exception as exc:
            result = exc
        return result, root, parent

    def all_entities(self, root: str) -> list[dict[str, Any]]:
        """Every valid entity of the trace, once its handler subsegment arrived."""
        self.daemon.wait_for(
            lambda docs: any(
                e["name"].startswith("## handler")
                for e in flatten([d for d in docs if d.get("trace_id") == root])
            )
        )
        docs = self.daemon.segments_for(root)
        for doc in docs:
            assert document_problems(doc) == [], doc
        return flatten(docs)

    def entities(self, root: str) -> dict[str, dict[str, Any]]:
        """The trace's entities by name (each name once)."""
        out: dict[str, dict[str, Any]] = {}
        for entity in self.all_entities(root):
            assert entity["name"] not in out, f"duplicate {entity['name']}"
            out[entity["name"]] = entity
        return out

    def nothing_sent_for(self, *roots: str) -> bool:
        """True once a later sampled invocation's tree arrived without any of ``roots``."""

        @instrument(service="sentinel")
        def sentinel(event: Any, context: Any) -> None:
            return None

        _, root, _ = self.invoke(sentinel)
        self.entities(root)  # datagrams on loopback arrive in order
        return all(self.daemon.segments_for(r) == [] for r in roots)


@pytest.fixture
def daemon() -> Iterator[XRayDaemon]:
    with XRayDaemon() as d:
        yield d


@pytest.fixture
def lam(daemon: XRayDaemon, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Lambda]:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", daemon.address)
    monkeypatch.setenv("_HANDLER", "app.handler")
    for name in ("LAMBDAOPS_TRACE", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"):
        monkeypatch.delenv(name, raising=False)
    _trace.reset()
    yield Lambda(daemon, monkeypatch)
    _trace.reset()
    _redact.clear()


def warnings(text: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in text.splitlines()
        if "lambdaops internal error contained" in line
    ]


# -- the trace header ----------------------------------------------------------------------
LAMBDA_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def test_the_trace_header_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from lambdaops._traceheader import trace_header

    monkeypatch.setenv("_X_AMZN_TRACE_ID", LAMBDA_HEADER)
    assert trace_header() == LAMBDA_HEADER
    monkeypatch.delenv("_X_AMZN_TRACE_ID")
    assert trace_header() is None


def test_the_trace_header_parsers_agree_on_every_shape() -> None:
    from lambdaops._traceheader import parse_trace_header, sampled_ids, trace_root

    root, parent = "1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8"
    assert parse_trace_header(LAMBDA_HEADER) == {"Root": root, "Parent": parent, "Sampled": "1"}
    assert parse_trace_header("Root=r;junk; Sampled = 1 ;Parent=p=q") == {
        "Root": "r",
        "Sampled": "1",
        "Parent": "p=q",
    }
    assert parse_trace_header(None) == parse_trace_header("") == {}
    assert trace_root(LAMBDA_HEADER) == root
    assert trace_root("Root=r") == "r"
    assert trace_root("Parent=p; Root = r ;Sampled=1") == "r"
    assert trace_root("Parent=p") is None
    assert sampled_ids(LAMBDA_HEADER) == (root, parent)
    assert sampled_ids("Sampled=1;Parent=p;Root=r;Lineage=a:1") == ("r", "p")  # the slow path
    assert sampled_ids(" Root=r; Parent=p; Sampled=1") == ("r", "p")
    assert sampled_ids(LAMBDA_HEADER.replace("Sampled=1", "Sampled=0")) is None
    assert sampled_ids("Root=r;Parent=;Sampled=1") is None
    assert sampled_ids("Root=r;Sampled=1") is None


# -- import cost and the unsampled path ---------------------------------------------------
def test_import_and_unsampled_invocations_never_load_the_sdk(tmp_path: Path) -> None:
    code = """
import os, sys
os.environ["LAMBDA_TASK_ROOT"] = sys.argv[1]
from lambdaops import instrument, trace
from lambdaops.testing import LambdaContext
assert "aws_xray_sdk" not in sys.modules, "imported by import lambdaops"

@trace.capture
def work(x):
    with trace.subsegment("block") as sub:
        sub.annotate("x", x)
    trace.annotate("y", 1)
    return x + 1

@instrument(service="s")
def handler(event, context):
    return work(1)

for header in ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0", None):
    if header:
        os.environ["_X_AMZN_TRACE_ID"] = header
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    assert handler({}, LambdaContext()) == 2
assert work(2) == 3
assert "aws_xray_sdk" not in sys.modules, "imported by an unsampled invocation"
print("ok")
"""
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok")


@pytest.mark.parametrize("case", ["unsampled", "trace=False", "outside lambda", "no header"])
def test_nothing_is_sent_unless_sampled_in_lambda(
    lam: Lambda, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    calls = []

    @trace.capture
    def work(x: int) -> int:
        calls.append(x)
        with trace.subsegment("block") as sub:
            sub.annotate("x", x)
            assert sub.sampled is False
        return x * 2

    if case == "outside lambda":
        monkeypatch.delenv("LAMBDA_TASK_ROOT")

    @instrument(service="svc", trace=case != "trace=False")
    def handler(event: Any, context: Any) -> int:
        assert trace.sampled is False
        return work(21)

    if case == "no header":
        monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
        result, roots = handler({}, LambdaContext()), ()
    else:
        result, root, _ = lam.invoke(handler, sampled=0 if case == "unsampled" else 1)
        roots = (root,)
    assert result == 42
    assert calls == [21]
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    assert lam.nothing_sent_for(*roots)
    assert len(lam.daemon.snapshot()) == 1  # the sentinel's tree, nothing else
    assert lam.daemon.malformed == 0


def test_unsampled_wrappers_are_plain_calls() -> None:
    @trace.capture
    def work(x: int) -> int:
        return x + 1

    assert work(1) == 2
    assert trace.subsegment("x") is trace.subsegment("y")  # one shared no-op scope
    with trace.subsegment("x") as sub:
        assert sub is trace.current_subsegment()
        sub.annotate("k", "v")
        sub.metadata("k", {"v": 1})
    assert sub.id is None and sub.trace_id is None and not sub.sampled
    trace.annotate("k", 1)
    trace.metadata("k", 1)


# -- a sampled invocation -------------------------------------------------------------------
def test_sampled_invocation_tree(lam: Lambda) -> None:
    @trace.capture
    def fetch(key: str) -> dict[str, str]:
        with trace.subsegment("parse") as sub:
            sub.annotate("key", key)
            sub.metadata("raw", {"k": key})
        trace.annotate("fetched", True)
        return {"key": key}

    @trace.capture(name="custom name", capture_response=False)
    def quiet() -> str:
        return "not recorded"

    @instrument(service="orders")
    def handler(event: Any, context: Any) -> dict[str, Any]:
        assert trace.sampled is True
        quiet()
        return {"got": fetch("a")}

    result, root, parent = lam.invoke(handler)
    assert result == {"got": {"key": "a"}}
    named = lam.entities(root)
    assert set(named) == {"## handler", "## fetch", "parse", "custom name"}
    handler_sub = named["## handler"]
    assert handler_sub["parent_id"] == parent
    assert handler_sub["trace_id"] == root
    assert handler_sub["annotations"] == {"ColdStart": True, "Service": "orders"}
    assert handler_sub["metadata"] == {"orders": {"handler response": {"got": {"key": "a"}}}}
    assert handler_sub["namespace"] == "local"
    fetch_sub = named["## fetch"]
    assert fetch_sub["parent_id"] == handler_sub["id"]
    assert fetch_sub["annotations"] == {"fetched": True}
    assert fetch_sub["metadata"] == {"orders": {"fetch response": {"key": "a"}}}
    assert named["parse"]["parent_id"] == fetch_sub["id"]
    assert named["parse"]["annotations"] == {"key": "a"}
    assert named["parse"]["metadata"] == {"orders": {"raw": {"k": "a"}}}
    assert named["custom name"]["parent_id"] == handler_sub["id"]
    assert "metadata" not in named["custom name"]
    for entity in named.values():
        assert entity["trace_id"] == root and entity["type"] == "subsegment"
        assert entity["start_time"] <= entity["end_time"]

    # The next invocation is warm, and its tree hangs off its own header.
    _, root2, parent2 = lam.invoke(handler)
    named2 = lam.entities(root2)
    assert named2["## handler"]["annotations"]["ColdStart"] is False
    assert named2["## handler"]["parent_id"] == parent2
    assert {e["id"] for e in named2.values()}.isdisjoint(e["id"] for e in named.values())


def test_exceptions_mark_subsegments(lam: Lambda) -> None:
    @trace.capture
    def explode() -> None:
        raise KeyError("missing")

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> None:
        with trace.subsegment("handled") as sub:
            try:
                explode()
            except KeyError:
                sub.annotate("recovered", True)
        raise ValueError("boom")

    result, root, _ = lam.invoke(handler)
    assert isinstance(result, ValueError)
    named = lam.entities(root)
    handler_sub = named["## handler"]
    assert handler_sub["fault"] is True
    [exc] = handler_sub["cause"]["exceptions"]
    assert (exc["type"], exc["message"]) == ("ValueError", "boom")
    assert exc["stack"] and exc["stack"][-1]["label"] == "handler"
    assert handler_sub["metadata"]["svc"]["handler error"]["type"] == "ValueError"
    inner = named["## explode"]
    assert inner["fault"] is True
    assert inner["cause"]["exceptions"][0]["type"] == "KeyError"
    assert inner["metadata"]["svc"]["explode error"]["message"] == "'missing'"
    assert "fault" not in named["handled"]  # the exception was handled inside it


def test_capture_flags_off_keep_the_fault_but_not_the_metadata(lam: Lambda) -> None:
    @instrument(service="svc", trace_capture_response=False, trace_capture_error=False)
    def handler(event: Any, context: Any) -> str:
        if event.get("fail"):
            raise RuntimeError("secret detail")
        return "secret response"

    _, ok_root, _ = lam.invoke(handler)
    _, err_root, _ = lam.invoke(handler, {"fail": True})
    assert "metadata" not in lam.entities(ok_root)["## handler"]
    failed = lam.entities(err_root)["## handler"]
    assert "metadata" not in failed
    assert failed["fault"] is True and failed["cause"]["exceptions"][0]["type"] == "RuntimeError"


def test_one_tree_with_users_own_xray_recorder_calls(lam: Lambda) -> None:
    @instrument(service="svc")
    def handler(event: Any, context: Any) -> None:
        from aws_xray_sdk.core import xray_recorder

        with xray_recorder.in_subsegment("theirs") as theirs:
            theirs.put_annotation("by", "user")
            with trace.subsegment("ours inside theirs"):
                xray_recorder.put_annotation("via_recorder", 1)

                @xray_recorder.capture("their capture")
                def inner() -> None:
                    trace.annotate("deepest", True)

                inner()

    _, root, _ = lam.invoke(handler)
    named = lam.entities(root)
    assert named["theirs"]["parent_id"] == named["## handler"]["id"]
    assert named["theirs"]["annotations"] == {"by": "user"}
    assert named["ours inside theirs"]["parent_id"] == named["theirs"]["id"]
    assert named["ours inside theirs"]["annotations"] == {"via_recorder": 1}
    assert named["their capture"]["parent_id"] == named["ours inside theirs"]["id"]
    assert named["their capture"]["annotations"] == {"deepest": True}


def test_threads_nest_under_the_handler(lam: Lambda) -> None:
    @trace.capture
    def in_thread(n: int) -> int:
        return n

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> None:
        with trace.subsegment("main"):
            threads = [threading.Thread(target=in_thread, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    _, root, _ = lam.invoke(handler)
    entities = lam.all_entities(root)
    handler_id = next(e["id"] for e in entities if e["name"] == "## handler")
    threaded = [e for e in entities if e["name"] == "## in_thread"]
    assert len(threaded) == 2
    # A thread does not inherit the caller's context: it nests under the handler.
    assert {e["parent_id"] for e in threaded} == {handler_id}


def test_leaked_subsegment_does_not_lose_the_tree(lam: Lambda) -> None:
    @instrument(service="svc")
    def leaky(event: Any, context: Any) -> None:
        from aws_xray_sdk.core import xray_recorder

        xray_recorder.begin_subsegment("never ended")

    @instrument(service="svc")
    def clean(event: Any, context: Any) -> None:
        with trace.subsegment("fresh"):
            pass

    _, root, _ = lam.invoke(leaky)
    named = lam.entities(root)
    assert named["never ended"]["in_progress"] is True
    assert named["never ended"]["parent_id"] == named["## handler"]["id"]
    assert "in_progress" not in named["## handler"] or not named["## handler"]["in_progress"]
    _, root2, parent2 = lam.invoke(clean)
    named2 = lam.entities(root2)
    assert named2["## handler"]["parent_id"] == parent2
    assert named2["fresh"]["parent_id"] == named2["## handler"]["id"]


def test_an_invocation_ended_by_the_watchdog_is_sent_as_a_fault(lam: Lambda) -> None:
    """The watchdog ends the invocation from its thread while the handler still runs."""
    from lambdaops._scope import current_invocation

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> str:
        inv = current_invocation()
        assert inv is not None
        with trace.subsegment("stuck"):
            watchdog = threading.Thread(
                target=inv.lifecycle.end, args=(inv, None, None), kwargs={"outcome": "timeout"}
            )
            watchdog.start()
            watchdog.join()
        from aws_xray_sdk.core import xray_recorder

        with xray_recorder.in_subsegment("after the end"):  # must not raise
            trace.annotate("late", True)
        return "late"

    result, root, parent = lam.invoke(handler)
    assert result == "late"
    named = lam.entities(root)
    assert named["## handler"]["fault"] is True
    assert named["## handler"]["parent_id"] == parent
    assert "metadata" not in named["## handler"]  # no response: there was none yet
    assert named["stuck"]["in_progress"] is True
    assert named["stuck"]["parent_id"] == named["## handler"]["id"]


# -- kinds of callables ---------------------------------------------------------------------
def test_async_functions_and_gathered_tasks(lam: Lambda) -> None:
    @trace.capture
    async def fetch(n: int) -> int:
        async with trace.subsegment(f"io {n}") as sub:
            sub.annotate("n", n)
            await asyncio.sleep(0.01 * (2 - n))  # interleave the two tasks
        return n

    @instrument(service="svc")
    async def handler(event: Any, context: Any) -> list[int]:
        return list(await asyncio.gather(fetch(0), fetch(1)))

    assert inspect.iscoroutinefunction(fetch)
    header, root, _ = new_header(1)
    lam.monkeypatch.setenv("_X_AMZN_TRACE_ID", header)
    assert asyncio.run(handler({}, LambdaContext())) == [0, 1]
    entities = lam.all_entities(root)
    handler_id = next(e["id"] for e in entities if e["name"] == "## handler")
    fetches = [e for e in entities if e["name"] == "## fetch"]
    assert len(fetches) == 2 and {f["parent_id"] for f in fetches} == {handler_id}
    for n in (0, 1):
        [io] = [e for e in entities if e["name"] == f"io {n}"]
        [owner] = [f for f in fetches if f["id"] == io["parent_id"]]
        assert owner["metadata"]["svc"]["fetch response"] == n  # each under its own task


def test_generators_span_the_iteration_but_not_the_consumer(lam: Lambda) -> None:
    @trace.capture
    def produce(n: int) -> Iterator[int]:
        for i in range(n):
            with trace.subsegment(f"make {i}"):
                pass
            received = yield i
            if received is not None:
                yield received * 10

    @trace.capture
    def abandoned() -> Iterator[int]:
        yield 1
        yield 2

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> list[int]:
        out = []
        gen = produce(2)
        for item in gen:
            with trace.subsegment(f"consume {item}"):
                out.append(item)
        sender = produce(1)
        assert next(sender) == 0
        assert sender.send(4) == 40
        for item in abandoned():
            out.append(item)
            break
        return out

    assert inspect.isgeneratorfunction(produce)
    result, root, _ = lam.invoke(handler)
    assert result == [0, 1, 1]
    entities = lam.all_entities(root)
    handler_id = next(e["id"] for e in entities if e["name"] == "## handler")
    produced = [e for e in entities if e["name"] == "## produce"]
    assert len(produced) == 2 and {p["parent_id"] for p in produced} == {handler_id}
    first = min(produced, key=lambda e: e["start_time"])
    for i in (0, 1):
        makes = [e for e in entities if e["name"] == f"make {i}" and e["parent_id"] == first["id"]]
        assert len(makes) == 1
        [consume] = [e for e in entities if e["name"] == f"consume {i}"]
        assert consume["parent_id"] == handler_id  # the consumer's work is not the generator's
    [gone] = [e for e in entities if e["name"] == "## abandoned"]
    assert gone["parent_id"] == handler_id and "end_time" in gone and "fault" not in gone


def test_async_generators(lam: Lambda) -> None:
    @trace.capture
    async def ticks(n: int) -> AsyncIterator[int]:
        for i in range(n):
            async with trace.subsegment(f"tick {i}"):
                await asyncio.sleep(0)
            yield i

    @instrument(service="svc")
    async def handler(event: Any, context: Any) -> list[int]:
        return [i async for i in ticks(2)]

    assert inspect.isasyncgenfunction(ticks)
    header, root, _ = new_header(1)
    lam.monkeypatch.setenv("_X_AMZN_TRACE_ID", header)
    assert asyncio.run(handler({}, LambdaContext())) == [0, 1]
    named = lam.entities(root)
    assert named["## ticks"]["parent_id"] == named["## handler"]["id"]
    assert named["tick 0"]["parent_id"] == named["## ticks"]["id"]
    assert named["tick 1"]["parent_id"] == named["## ticks"]["id"]


def test_methods_and_introspection(lam: Lambda) -> None:
    class Repo:
        prefix = "p"

        @trace.capture
        def get(self, key: str, *, default: str = "") -> str:
            """Fetch one."""
            return f"{self.prefix}:{key}{default}"

        @classmethod
        @trace.capture
        def make(cls) -> Repo:
            return cls()

        @trace.capture
        @staticmethod
        def pure(x: int) -> int:
            return x + 1

    assert Repo.get.__name__ == "get" and Repo.get.__doc__ == "Fetch one."
    assert str(inspect.signature(Repo.get)) == "(self, key: 'str', *, default: 'str' = '') -> 'str'"

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> list[Any]:
        repo = Repo.make()
        return [repo.get("k", default="!"), Repo.pure(1), repo.pure(2)]

    result, root, _ = lam.invoke(handler)
    assert result == ["p:k!", 2, 3]
    names = {e["name"] for e in lam.all_entities(root)}
    assert {"## Repo.get", "## Repo.make", "## Repo.pure"} <= names


def test_annotation_keys_and_values_are_made_valid(lam: Lambda) -> None:
    @instrument(service="svc")
    def handler(event: Any, context: Any) -> None:
        trace.annotate("order-id", "o-1")
        trace.annotate("count", 3)
        trace.annotate("obj", {"a": 1})
        trace.annotate("none", None)  # type: ignore[arg-type]

    _, root, _ = lam.invoke(handler)
    annotations = lam.entities(root)["## handler"]["annotations"]
    assert annotations["order_id"] == "o-1"
    assert annotations["count"] == 3
    assert annotations["obj"] == "{'a': 1}"
    assert "none" not in annotations


def test_annotations_over_x_rays_limits_are_cut_with_one_warning(
    lam: Lambda, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16: the schema takes keys of 1-500 characters and strings of at most 1,000."""

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> None:
        trace.annotate("k" * 600, "v")
        trace.annotate("long", "x" * 1500)
        trace.annotate("long", "y" * 1200)  # the same key again: no second warning
        trace.annotate("", "dropped")
        trace.annotate("?!", "kept as __")
        with trace.subsegment("inner") as sub:
            sub.entity.put_annotation("twin", "z" * 1001)  # through the SDK's own API

    _, root, _ = lam.invoke(handler)
    entities = lam.entities(root)
    assert entities["## handler"]["annotations"] == {
        "ColdStart": True,
        "Service": "svc",
        "k" * 500: "v",
        "long": "y" * 1000,
        "__": "kept as __",
    }
    assert entities["inner"]["annotations"] == {"twin": "z" * 1000}
    warned = [
        json.loads(line)["message"]
        for line in capsys.readouterr().out.splitlines()
        if '"level":"WARNING"' in line
    ]
    assert warned == [
        f"annotation key {'k' * 40!r}… is longer than 500 characters; shortened",
        "annotation 'long': value longer than 1000 characters; shortened",
        "annotation key '': empty; dropped",
        "annotation 'twin': value longer than 1000 characters; shortened",
    ]


# -- our lightweight subsegments and the SDK ----------------------------------------------
def test_a_patched_boto3_call_nests_under_a_captured_function(lam: Lambda) -> None:
    import boto3
    from botocore.stub import Stubber

    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(s3)

    @trace.capture
    def list_buckets() -> list[str]:
        return [b["Name"] for b in s3.list_buckets()["Buckets"]]

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> list[str]:
        stubber.add_response("list_buckets", {"Buckets": [{"Name": "b1"}]})
        with stubber:
            return list_buckets()

    result, root, _ = lam.invoke(handler)
    assert result == ["b1"]
    named = lam.entities(root)
    assert set(named) == {"## handler", "## list_buckets", "s3"}
    s3_sub = named["s3"]
    assert s3_sub["parent_id"] == named["## list_buckets"]["id"]
    assert s3_sub["namespace"] == "aws"
    assert s3_sub["aws"]["operation"] == "ListBuckets"
    assert named["## list_buckets"]["parent_id"] == named["## handler"]["id"]
    # The function's subsegment is still ours in full: its response metadata, no duplicates.
    assert named["## list_buckets"]["metadata"] == {"svc": {"list_buckets response": ["b1"]}}
    assert len(lam.daemon.segments_for(root)) == 1  # one datagram for the whole tree


def test_the_sdk_sees_our_subsegments_as_its_own(lam: Lambda) -> None:
    from aws_xray_sdk.core import xray_recorder

    seen: dict[str, Any] = {}

    @trace.capture
    def work() -> None:
        ours = trace.current_subsegment()
        theirs = xray_recorder.current_subsegment()
        seen["ids"] = (ours.id, theirs.id, ours.entity.id)
        assert ours.entity is theirs  # one SDK object per subsegment
        assert theirs.trace_id == ours.trace_id
        theirs.put_annotation("via_sdk", "yes")
        ours.annotate("via_us", 1)
        theirs.put_http_meta("status", 503)  # the SDK's own API: flags a fault
        with xray_recorder.in_subsegment("sdk child") as child:
            child.put_metadata("k", "v", "ns")
            with trace.subsegment("ours under theirs"):
                pass

        def in_thread() -> None:
            xray_recorder.set_trace_entity(theirs)
            with trace.subsegment("thread work"):
                pass

        thread = threading.Thread(target=in_thread)
        thread.start()
        thread.join()

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> None:
        work()

    _, root, _ = lam.invoke(handler)
    named = lam.entities(root)
    work_sub = named["## work"]
    assert seen["ids"] == (work_sub["id"],) * 3
    assert work_sub["annotations"] == {"via_sdk": "yes", "via_us": 1}
    assert work_sub["fault"] is True and work_sub["http"]["response"]["status"] == 503
    assert work_sub["parent_id"] == named["## handler"]["id"]
    assert named["sdk child"]["parent_id"] == work_sub["id"]
    assert named["sdk child"]["metadata"] == {"ns": {"k": "v"}}
    assert named["ours under theirs"]["parent_id"] == named["sdk child"]["id"]
    assert named["thread work"]["parent_id"] == work_sub["id"]
    assert len(lam.daemon.segments_for(root)) == 1


def test_an_emitter_the_user_installed_gets_sdk_entities(lam: Lambda) -> None:
    from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter

    from lambdaops import _xray

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> int:
        with trace.subsegment("inner"):
            return 1

    lam.invoke(handler)  # loads and configures the SDK half
    sent: list[Any] = []

    class Mine(UDPEmitter):  # type: ignore[misc]
        def send_entity(self, entity: Any) -> None:
            sent.append(json.loads(entity.serialize()))

    _xray.recorder.emitter = Mine()
    try:
        _, root, parent = lam.invoke(handler)
    finally:
        _xray.recorder.emitter = _xray.emitter
    [doc] = sent
    assert document_problems(doc) == []
    assert (doc["name"], doc["trace_id"], doc["parent_id"]) == ("## handler", root, parent)
    assert [c["name"] for c in doc["subsegments"]] == ["inner"]


def test_written_documents_are_the_documents(lam: Lambda) -> None:
    """What :func:`write_span` writes is :func:`span_doc` (and valid), whatever the tree holds."""
    import datetime

    from lambdaops._xray import _emitter, _span, _writer

    spans: list[Any] = []

    @trace.capture
    def fails() -> None:
        raise KeyError("k")

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> Any:
        spans.append(_trace._backend.context.invocation.span)
        trace.annotate("Service", "overridden")
        with trace.subsegment("naïve ✓ name (with) *stars*") as sub:
            sub.metadata("when", datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc))
            sub.metadata("set", {3})
            sub.metadata("s", "x" * 300)
        with contextlib.suppress(KeyError):
            fails()
        trace.subsegment("left open").__enter__()
        return {"nested": [1, 2.5, None, True, "é"]}

    _, root, _ = lam.invoke(handler)
    named = lam.entities(root)
    assert "naïve ✓ name with stars" in named
    assert named["left open"]["in_progress"] is True
    assert named["## fails"]["cause"]["exceptions"][0]["type"] == "KeyError"
    [span] = spans
    written = json.loads(_writer.write_span(span))
    assert document_problems(written) == []
    expected = json.loads(_writer._encode(_span.span_doc(span)))
    assert _rounded(written) == _rounded(expected)
    # A NaN in metadata is named where metadata is capped, so it is written directly;
    # in an annotation it cannot be, and the document path names it and still sends.
    span.metadata["svc"]["nan"] = float("nan")
    assert json.loads(_writer.write_span(span))["metadata"]["svc"]["nan"] == "nan"
    span.annotations["nan"] = float("nan")
    with pytest.raises(ValueError, match=r"^Out of range float values are not JSON compliant"):
        _writer.write_span(span)
    _emitter.emitter.send_span(span)
    lam.daemon.wait_for(lambda docs: any('"nan": "nan"' in json.dumps(d) for d in docs))
    assert lam.daemon.malformed == 0


def _rounded(doc: Any) -> Any:
    """Times to the microsecond (written from integers, computed as floats)."""
    if isinstance(doc, dict):
        return {
            k: round(v, 6) if k in ("start_time", "end_time") else _rounded(v)
            for k, v in doc.items()
        }
    if isinstance(doc, list):
        return [_rounded(v) for v in doc]
    return doc


def test_many_subsegments_leave_in_batches(lam: Lambda) -> None:
    from lambdaops import _xray

    @trace.capture
    def step(i: int) -> int:
        with trace.subsegment(f"inner {i}"):
            return i

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> int:
        with trace.subsegment("outer"):
            return sum(step(i) for i in range(3 * _xray.BATCH))

    _, root, _ = lam.invoke(handler)
    entities = lam.all_entities(root)
    assert len(entities) == 2 + 6 * _xray.BATCH  # handler, outer, each step and its inner
    assert len({e["id"] for e in entities}) == len(entities)  # each sent once
    by_id = {e["id"]: e for e in entities}
    outer = next(e for e in entities if e["name"] == "outer")
    for entity in entities:
        if entity["name"] == "## step":
            assert entity["parent_id"] == outer["id"]
        elif entity["name"].startswith("inner"):
            assert by_id[entity["parent_id"]]["name"] == "## step"
    # Past BATCH, finished subtrees leave early (one document each, as the protocol has it),
    # so the tree held in memory stays small; the rest leaves with the handler's.
    docs = lam.daemon.segments_for(root)
    assert len(docs) > 1
    early = [d for d in docs if d["name"] != "## handler"]
    assert early and all(d["name"].startswith(("## step", "inner")) for d in early)
    assert "outer" not in {d["name"] for d in docs}  # open until the end: sent with the handler


def test_subsegment_names_are_made_valid(lam: Lambda) -> None:
    @instrument(service="svc")
    def handler(event: Any, context: Any) -> None:
        with trace.subsegment("what? (this) <is> ok!"):
            pass
        with trace.subsegment("n" * 300):
            pass

    _, root, _ = lam.invoke(handler)
    names = set(lam.entities(root))
    assert "what this is ok" in names
    assert "n" * 200 in names


# -- what is sent ---------------------------------------------------------------------------
def test_registered_secrets_never_reach_the_daemon(lam: Lambda) -> None:
    _redact.register("hunter2-password")

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> dict[str, str]:
        trace.annotate("leak", "pw=hunter2-password")
        return {"password": "hunter2-password"}

    _, root, _ = lam.invoke(handler)
    handler_sub = lam.entities(root)["## handler"]
    assert "hunter2-password" not in json.dumps(lam.daemon.snapshot())
    assert handler_sub["metadata"]["svc"]["handler response"]["password"] == "***"
    assert handler_sub["annotations"]["leak"] == "pw=***"


def test_large_trees_are_split_and_oversized_metadata_cut(lam: Lambda) -> None:
    from lambdaops._xray._span import MAX_METADATA
    from lambdaops._xray._writer import MAX_DOCUMENT

    assert MAX_METADATA == 8192
    blob = "x" * 3000

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> Any:
        for i in range(40):  # ~120 KB of metadata in one tree: more than a datagram
            with trace.subsegment(f"step {i}") as sub:
                sub.metadata("blob", blob)
        if event.get("crowded"):  # each value under the cap, together over a document
            with trace.subsegment("crowded") as sub:
                for i in range(10):
                    sub.metadata(f"z{i}", "z" * 7000)
        if event.get("many"):  # many short members: whole while they fit, the rest counted
            return {f"key {i}": "v" * 30 for i in range(3000)}
        return "y" * 70_000  # one long string: cut to the cap

    result, root, _ = lam.invoke(handler)
    assert len(result) == 70_000
    named = lam.entities(root)
    assert len(named) == 41
    assert all(named[f"step {i}"]["metadata"]["svc"]["blob"] == blob for i in range(40))
    assert all(named[f"step {i}"]["parent_id"] == named["## handler"]["id"] for i in range(40))
    # 8,192 characters of JSON: the quotes, 8,161 y's and the marker (its count's five digits).
    response = named["## handler"]["metadata"]["svc"]["handler response"]
    assert response == "y" * 8161 + "…[truncated 61839 chars]"
    assert len(json.dumps(response)) == MAX_METADATA
    assert len(lam.daemon.segments_for(root)) > 1  # the tree was split across datagrams

    result, root, _ = lam.invoke(handler, {"many": True})
    assert len(result) == 3000
    # key 0 to key 191 whole, then the count: 8,175 characters (key 192 would leave no room for it)
    expected = {f"key {i}": "v" * 30 for i in range(192)} | {"…": "[2808 more keys]"}
    assert lam.entities(root)["## handler"]["metadata"] == {"svc": {"handler response": expected}}

    _, root, _ = lam.invoke(handler, {"crowded": True})
    crowded = lam.entities(root)["crowded"]
    values = crowded["metadata"]["svc"]
    assert list(values) == [f"z{i}" for i in range(10)]  # every value, each cut to its share
    assert all(re.fullmatch(r"z+…\[truncated \d+ chars\]", v) for v in values.values())
    assert len(json.dumps(crowded, separators=(",", ":"), ensure_ascii=True)) <= MAX_DOCUMENT
    assert lam.daemon.malformed == 0


def test_a_large_response_costs_what_the_cap_does(lam: Lambda) -> None:
    """Capturing a 100,000-record response reads the records the cap holds and no more."""

    class Records(list[Any]):
        """A list that counts the items read from it."""

        read = 0

        def __iter__(self) -> Iterator[Any]:
            for item in super().__iter__():
                Records.read += 1
                yield item

    records = Records({"id": i, "name": f"customer-{i:06d}"} for i in range(100_000))

    @trace.capture
    def load() -> Records:
        return records

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"count": len(load()), "records": records}

    Records.read = 0
    result, root, _ = lam.invoke(handler)
    assert result["count"] == 100_000
    named = lam.entities(root)
    # Records of 33, 34 and 35 characters (ids of 1, 2, 3 digits): ids 0 to 228 with commas
    # and brackets are 8,135, the count 27 more; id 229 would not leave room for it.
    captured = named["## load"]["metadata"]["svc"]["load response"]
    assert captured == [{"id": i, "name": f"customer-{i:06d}"} for i in range(229)] + [
        "…[99771 more items]"
    ]
    assert len(json.dumps(captured, separators=(",", ":"))) == 8162
    response = named["## handler"]["metadata"]["svc"]["handler response"]
    assert response == {"count": 100_000, "records": captured}
    # Read: 230 for load's result (229 kept, 1 that did not fit); 348 for the handler's, whose
    # two members first try a fair share each (118 records read) before "records" takes the
    # rest (230). Never the 100,000.
    assert Records.read == 230 + 118 + 230


def test_bad_daemon_address_warns_once_and_never_fails(
    lam: Lambda, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "no port here")

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> int:
        with trace.subsegment("work"):
            return 7

    assert [lam.invoke(handler)[0] for _ in range(3)] == [7, 7, 7]
    found = warnings(capsys.readouterr().err)
    assert len(found) == 1 and found[0]["where"] == "trace.emit"
    assert lam.daemon.snapshot() == []


def test_send_failures_warn_once_and_never_fail(
    lam: Lambda, capsys: pytest.CaptureFixture[str]
) -> None:
    from lambdaops import _xray

    class Broken:
        def sendto(self, data: bytes, address: Any) -> int:
            raise OSError("network is down")

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> int:
        return 7

    lam.invoke(handler)  # loads and configures the SDK half
    real = _xray.emitter._socket
    _xray.emitter._socket = Broken()  # type: ignore[assignment]
    try:
        assert [lam.invoke(handler)[0] for _ in range(3)] == [7, 7, 7]
    finally:
        _xray.emitter._socket = real
    found = warnings(capsys.readouterr().err)
    assert len(found) == 1 and "network is down" in found[0]["error"]


# -- the daemon stand-in ----------------------------------------------------------------------
def test_daemon_parses_the_protocol_strictly() -> None:
    good = {
        "id": "a" * 16,
        "name": "n",
        "trace_id": "1-5759e988-" + "b" * 24,
        "start_time": 1.0,
        "end_time": 2.0,
        "type": "subsegment",
        "parent_id": "c" * 16,
    }
    with XRayDaemon() as daemon:
        daemon.feed(b'{"format":"json","version":1}\n' + json.dumps(good).encode())
        daemon.feed(b'{"format": "json", "version": 1}\n' + json.dumps(good).encode())
        for bad in (
            json.dumps(good).encode(),  # no header
            b'{"format":"json","version":2}\n{}',  # wrong version
            b'{"format":"json","version":1}\n{not json',
            b'{"format":"json","version":1}\n[1, 2]',
            b"\xff\xfe",
        ):
            daemon.feed(bad)
        assert daemon.malformed == 5 and len(daemon.documents) == 2
        with pytest.raises(TimeoutError, match="2 documents"):
            daemon.wait_for(3, timeout=0.05)
        assert daemon.wait_for(2, timeout=0.05) == [good, good]
        assert daemon.segments_for(good["trace_id"]) == [good, good]
        assert daemon.segments_for("1-00000000-" + "0" * 24) == []
    with pytest.raises(ValueError, match="header"):
        parse_datagram(b'{"format":"xml","version":1}\n{}')


def test_daemon_receives_over_udp() -> None:
    import socket

    with XRayDaemon() as daemon:
        host, port = daemon.address.split(":")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b'{"format":"json","version":1}\n{"name":"x"}', (host, int(port)))
            sock.sendto(b"garbage", (host, int(port)))
        daemon.wait_for(lambda docs: len(docs) == 1 and daemon.malformed == 1)
        assert daemon.documents == [{"name": "x"}]
    with pytest.raises(RuntimeError):
        _ = daemon.address


def test_document_problems_catch_invalid_documents() -> None:
    valid = {
        "id": "0123456789abcdef",
        "name": "n",
        "start_time": 1.0,
        "end_time": 2.0,
        "type": "subsegment",
        "parent_id": "fedcba9876543210",
        "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
    }
    assert document_problems(valid) == []
    assert document_problems({**valid, "end_time": None, "in_progress": True}) == []
    assert document_problems({**valid, "id": "xyz"}) == ["bad id 'xyz'"]
    assert document_problems({**valid, "end_time": 0.5}) == ["bad end_time 0.5"]
    assert document_problems({**valid, "parent_id": None}) == ["bad parent_id None"]
    assert document_problems({**valid, "trace_id": "1-abc"}) == ["bad trace_id '1-abc'"]
    nested = {**valid, "subsegments": [{**valid, "name": ""}]}
    assert document_problems(nested) == ["n/bad name ''"]


def test_waterfall_draws_the_tree_with_offsets() -> None:
    trace_id = "1-5759e988-bd862e3fe1be46a994272793"
    root = {
        "id": "a" * 16,
        "name": "## handler",
        "trace_id": trace_id,
        "parent_id": "f" * 16,
        "start_time": 100.0,
        "end_time": 100.1,
        "type": "subsegment",
        "subsegments": [
            {
                "id": "b" * 16,
                "name": "s3",
                "start_time": 100.02,
                "end_time": 100.05,
                "aws": {"operation": "GetObject"},
                "fault": True,
                "cause": {"exceptions": [{"type": "Boom"}]},
            }
        ],
    }
    late = {
        "id": "c" * 16,
        "name": "slow",
        "trace_id": trace_id,
        "parent_id": "a" * 16,
        "start_time": 100.06,
        "in_progress": True,
        "type": "subsegment",
    }
    with XRayDaemon() as daemon:
        for doc in (root, late):
            daemon.feed(b'{"format":"json","version":1}\n' + json.dumps(doc).encode())
        picture = daemon.waterfall(trace_id, width=10)
    lines = picture.splitlines()
    assert lines[0] == f"trace {trace_id}: 3 subsegments, 100.0 ms"
    assert lines[2].startswith("## handler ") and "0.0" in lines[2] and "100.0" in lines[2]
    assert lines[2].endswith("|██████████|")
    assert lines[3].startswith("  s3 GetObject ") and lines[3].endswith("fault, Boom")
    assert "20.0" in lines[3] and "30.0" in lines[3]
    assert lines[4].startswith("  slow ") and lines[4].endswith("in progress")
    assert daemon.waterfall("1-00000000-" + "0" * 24).endswith("no documents")
