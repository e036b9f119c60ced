"""Under the real awslambdaric, a handler that logs errors and returns is a success in the report.

With ``LAMBDAOPS_CAPTURE_STDLIB=0`` awslambdaric's own logging handler formats
``logger.exception``: in the JSON format its line has ``errorType``, ``stackTrace`` and
``requestId`` like the runtime's error object; in the text format the user's ``[ERROR] …``
lines look like the runtime's ``[ERROR] Type: message``. Lambda counts every invocation a
success, so must the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdaops import report
from lambdaops.local._runner import LocalRunner

pytestmark = pytest.mark.e2e

HANDLERS = Path(__file__).resolve().parent / "handlers"


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("handler", ["recorded", "unrecorded"])
def test_logged_errors_of_a_successful_handler_are_no_failures(
    tmp_path: Path, log_format: str, handler: str
) -> None:
    path = tmp_path / f"{handler}.{log_format}.log"
    with (
        path.open("w", encoding="utf-8") as log,
        LocalRunner(
            f"user_errors_app.{handler}",
            HANDLERS,
            function_name="payments",
            env={"LAMBDAOPS_CAPTURE_STDLIB": "0"},
            log=log,
            log_format=log_format,
        ) as runner,
    ):
        statuses = [runner.invoke({}).result.status for _ in range(2)]
    assert statuses == ["success", "success"]  # Lambda's count
    lines = path.read_text(encoding="utf-8").splitlines()
    if log_format == "json":  # the line the report must not take for the runtime's error
        logged = [json.loads(x) for x in lines if '"logger": "app.payments"' in x]
        assert len(logged) == 2 and logged[0]["errorType"] == "PaymentDeclined"
        assert logged[0]["requestId"] and logged[0]["stackTrace"]
    else:
        assert sum(x.startswith("[ERROR] PaymentDeclined: card 4242") for x in lines) == 2
    d = report.build(lines).as_dict()
    assert (d["invocations"], d["successes"], d["errors"], d["availability"]) == (2, 2, 0, 1.0)
    assert d["platform_only"] == (2 if handler == "unrecorded" else 0)
