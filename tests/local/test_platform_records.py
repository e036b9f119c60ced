"""The platform record writers and the telemetry frame decoder, on fixed inputs.

Expected values follow the shapes of AWS's Telemetry API schema reference
(https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html) and of the log
format page (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html);
docs/local.md lists the other sources.
"""

from __future__ import annotations

import json

import pytest

from lambdaops.local import _platform
from lambdaops.local._platform import PlatformLog, ReportMetrics
from lambdaops.local._telemetry import SYNC_TYPE, decode_frames, encode_frame

WHEN = 1716222585.0064  # 2024-05-20T16:29:45.006Z
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def log(fmt: str) -> PlatformLog:
    return PlatformLog(
        fmt,
        function_name="orders",
        runtime_version="python:3.11.v39",
        runtime_version_arn="arn:aws:lambda:us-east-1::runtime:abc",
    )


def test_iso_time_and_billing() -> None:
    assert _platform.iso_time(WHEN) == "2024-05-20T16:29:45.006Z"
    assert [_platform.billed_ms(d) for d in (0.2, 1.0, 693.92)] == [1, 1, 694]
    assert _platform.status_for(None) == "success"
    assert _platform.status_for("Runtime.ExitError") == "error"
    assert _platform.status_for("Sandbox.Failure") == "failure"
    assert _platform.status_for(None, timed_out=True) == "timeout"
    assert [_platform.aws_log_format(f) for f in ("text", "json")] == ["Text", "JSON"]
    with pytest.raises(ValueError, match=r"^log format must be one of text, json, not 'xml'$"):
        _platform.aws_log_format("xml")


def test_text_records() -> None:
    text = log("text")
    assert text.init_start("init", WHEN) == [
        "INIT_START Runtime Version: python:3.11.v39\tRuntime Version ARN: "
        "arn:aws:lambda:us-east-1::runtime:abc"
    ]
    assert text.init_start("invoke", WHEN) == []
    assert text.init_done("init", "success", None, 12.5, WHEN) == []
    assert text.init_done("invoke", "error", "Runtime.ImportModuleError", 374.974, WHEN) == [
        "INIT_REPORT Init Duration: 374.97 ms\tPhase: invoke\tStatus: error"
        "\tError Type: Runtime.ImportModuleError"
    ]
    assert text.init_done("init", "timeout", None, 10002.111, WHEN) == [
        "INIT_REPORT Init Duration: 10002.11 ms\tPhase: init\tStatus: timeout"
    ]
    assert text.start("r-1", TRACE, WHEN) == ["START RequestId: r-1 Version: $LATEST"]
    metrics = ReportMetrics(812.404, 813, 256, 256, 551.73)
    records, report = text.end("r-1", "error", "Runtime.OutOfMemory", metrics, None, WHEN)
    assert records == [
        "END RequestId: r-1",
        "REPORT RequestId: r-1\tDuration: 812.40 ms\tBilled Duration: 813 ms\tMemory Size: 256 MB"
        "\tMax Memory Used: 256 MB\tInit Duration: 551.73 ms\tStatus: error"
        "\tError Type: Runtime.OutOfMemory",
    ]
    assert report == records[1]
    warm = ReportMetrics(3000.4, 3000, 128, 20, None)
    assert text.end("r-2", "timeout", None, warm, None, WHEN)[1] == (
        "REPORT RequestId: r-2\tDuration: 3000.40 ms\tBilled Duration: 3000 ms"
        "\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tStatus: timeout"
    )
    assert text.end("r-3", "success", None, warm, None, WHEN)[1].endswith("Max Memory Used: 20 MB")
    assert text.fault("RequestId: r-1 Error: x\nRuntime.ExitError") == [
        "RequestId: r-1 Error: x\nRuntime.ExitError"
    ]
    assert _platform.timeout_message("r-2", 3, WHEN) == (
        "2024-05-20T16:29:45.006Z r-2 Task timed out after 3.00 seconds"
    )
    assert _platform.init_fault_message("ValueError") == (
        "Unknown application error occurred\nValueError"
    )


def test_json_records() -> None:
    js = log("json")
    (start,) = js.init_start("invoke", WHEN)
    assert start == (
        '{"time":"2024-05-20T16:29:45.006Z","type":"platform.initStart","record":'
        '{"initializationType":"on-demand","phase":"invoke","runtimeVersion":"python:3.11.v39",'
        '"runtimeVersionArn":"arn:aws:lambda:us-east-1::runtime:abc","functionName":"orders",'
        '"functionVersion":"$LATEST"}}'
    )
    done, report = (
        json.loads(r) for r in js.init_done("init", "error", "ValueError", 56.2581, WHEN)
    )
    assert done["record"] == {
        "initializationType": "on-demand",
        "phase": "init",
        "status": "error",
        "errorType": "ValueError",
    }
    assert (report["type"], report["record"]["metrics"]) == (
        "platform.initReport",
        {"durationMs": 56.258},
    )
    assert [json.loads(r)["record"] for r in js.start("r-1", TRACE, WHEN)] == [
        {
            "requestId": "r-1",
            "version": "$LATEST",
            "tracing": {"type": "X-Amzn-Trace-Id", "value": TRACE},
        }
    ]
    assert js.fault("anything") == []
    metrics = ReportMetrics(693.9201, 694, 128, 84, 397.68)
    records, line = js.end("r-1", "error", "Runtime.ExitError", metrics, None, WHEN)
    assert line == records[1]
    assert [json.loads(r) for r in records] == [
        {
            "time": "2024-05-20T16:29:45.006Z",
            "type": "platform.runtimeDone",
            "record": {
                "requestId": "r-1",
                "status": "error",
                "errorType": "Runtime.ExitError",
                "metrics": {"durationMs": 693.92, "producedBytes": 0},
            },
        },
        {
            "time": "2024-05-20T16:29:45.006Z",
            "type": "platform.report",
            "record": {
                "requestId": "r-1",
                "status": "error",
                "errorType": "Runtime.ExitError",
                "metrics": {
                    "durationMs": 693.92,
                    "billedDurationMs": 694,
                    "memorySizeMB": 128,
                    "maxMemoryUsedMB": 84,
                    "initDurationMs": 397.68,
                },
            },
        },
    ]
    # A timeout has a status and no errorType.
    timed = json.loads(js.end("r-2", "timeout", None, metrics, None, WHEN)[1])["record"]
    assert (timed["status"], "errorType" in timed) == ("timeout", False)


def test_frames_decode_whole_and_keep_the_rest() -> None:
    error = b"[ERROR] ValueError: boom\nTraceback (most recent call last):\n"
    one = encode_frame(0xA55A0017, 1_716_222_585_006_400, error)
    two = encode_frame(0xA55A000E, 7, b'{"level":"INFO","message":"h\xc3\xa9"}\n')
    sync = encode_frame(SYNC_TYPE, 0, b"")
    frames, rest = decode_frames(one + two + sync + two[:20])
    assert [(f.frame_type, f.timestamp_us) for f in frames] == [
        (0xA55A0017, 1_716_222_585_006_400),
        (0xA55A000E, 7),
        (SYNC_TYPE, 0),
    ]
    assert frames[0].text == "[ERROR] ValueError: boom\nTraceback (most recent call last):"
    assert frames[1].text == '{"level":"INFO","message":"hé"}'
    assert rest == two[:20]
    assert decode_frames(rest + two[20:]) == ([frames[1]], b"")
    assert decode_frames(b"\xa5\x5a") == ([], b"\xa5\x5a")
    assert len(one) == 16 + len(error)
