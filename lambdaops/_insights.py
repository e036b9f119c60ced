# ruff: noqa: E501  (each query is kept exactly as docs/outcomes.md prints it)
"""The CloudWatch Logs Insights queries over lambdaops' outcome records, in one place.

docs/outcomes.md prints them and ``lambdaops dashboard`` puts them in its log widgets:
both must say the same thing, so the text lives here and tests/test_dashboard.py checks
that the docs' query blocks are exactly these, in this order. Why each query is written
the way it is (late records, ``strcontains`` as 1/0, arithmetic instead of comparisons):
docs/outcomes.md, "CloudWatch Logs Insights queries".
"""

from __future__ import annotations

#: Availability by attempt, every attempt counted, per hour.
AVAILABILITY_BY_ATTEMPT = r"""filter lambdaops = "outcome"
| fields strcontains(outcome, "success") as ok
| stats sum(ok) / (count(*) - count(supersedes)) * 100 as availability_pct,
        count(*) - count(supersedes) as attempts by bin(1h)"""

#: Availability by request: a request that eventually succeeded counts as available.
AVAILABILITY_BY_REQUEST = r"""filter lambdaops = "outcome"
| fields strcontains(outcome, "success") as ok
| stats max(ok) as succeeded by request_id
| stats sum(succeeded) / count(*) * 100 as request_availability_pct, count(*) as requests"""

#: Availability by attempt number: is the first try worse than retries?
AVAILABILITY_BY_ATTEMPT_NUMBER = r"""filter lambdaops = "outcome"
| fields strcontains(outcome, "success") as ok
| stats sum(ok) / (count(*) - count(supersedes)) * 100 as availability_pct,
        count(*) - count(supersedes) as attempts by attempt"""

#: Availability by HTTP response: neither 5xx nor a failed invocation.
HTTP_AVAILABILITY = r"""filter lambdaops = "outcome" and trigger in ["api-gateway-rest", "api-gateway-http", "alb", "lambda-url"]
| fields strcontains(outcome, "success") * (1 - floor(coalesce(status_code, 500) / 500)) as good
| stats sum(good) / (count(*) - count(supersedes)) * 100 as response_availability_pct,
        count(*) - count(supersedes) as responses by bin(1h)"""

#: HTTP responses by status class.
HTTP_STATUS_CLASSES = r"""filter lambdaops = "outcome" and ispresent(status_code)
| fields floor(status_code / 100) * 100 as status_class
| stats count(*) as responses by status_class"""

#: Errors and timeouts per hour (a replaced timeout is not one).
ERRORS_AND_TIMEOUTS = r"""filter lambdaops = "outcome"
| fields strcontains(outcome, "error") as failed, strcontains(outcome, "timeout") as timed_out
| stats sum(failed) as errors, sum(timed_out) - count(supersedes) as timeouts by bin(1h)"""

#: Errors by exception type.
ERRORS_BY_TYPE = r"""filter lambdaops = "outcome" and outcome = "error"
| stats count(*) as errors by error_type
| sort errors desc"""

#: Timeouts, with where they were stuck.
TIMEOUTS = r"""filter lambdaops = "outcome" and (outcome = "timeout" or ispresent(supersedes))
| fields @timestamp, request_id, attempt, outcome, supersedes, stuck_in, duration_ms
| sort @timestamp desc"""

#: Handler duration p50/p95/p99 per 5 minutes, each attempt once.
DURATION_PERCENTILES = r"""filter lambdaops = "outcome" and not ispresent(supersedes)
| stats pct(duration_ms, 50) as p50, pct(duration_ms, 95) as p95, pct(duration_ms, 99) as p99 by bin(5m)"""

#: Cold-start rate per hour.
COLD_START_RATE = r"""filter lambdaops = "outcome" and not ispresent(supersedes)
| stats sum(cold_start) / count(*) * 100 as cold_start_pct, count(*) as invocations by bin(1h)"""

#: Estimated cost per one million invocations.
COST_PER_MILLION = r"""filter lambdaops = "outcome" and not ispresent(supersedes)
| stats sum(estimated_cost_usd) / count(*) * 1000000 as usd_per_million, count(*) as invocations"""

#: Batch-item availability (partial batch responses).
BATCH_ITEM_AVAILABILITY = r"""filter lambdaops = "outcome" and ispresent(items)
| stats (sum(items) - sum(items_failed)) / sum(items) * 100 as item_availability_pct"""

#: Invocations and failures as Lambda counts them, text log format.
PLATFORM_FAILURES_TEXT = r"""filter @type = "REPORT"
| parse @message /Status: (?<platform_status>\w+)/
| fields ispresent(platform_status) - strcontains(coalesce(platform_status, ""), "success") as failed
| stats count(*) as invocations, sum(failed) as platform_failures by bin(1h)"""

#: Invocations and failures as Lambda counts them, JSON log format.
PLATFORM_FAILURES_JSON = r"""filter type = "platform.report"
| fields 1 - strcontains(record.status, "success") as failed
| stats count(*) as invocations, sum(failed) as platform_failures by bin(1h)"""

#: Failures Lambda saw itself, by cause, text log format.
PLATFORM_CAUSES_TEXT = r"""filter @type = "REPORT" and @message like /Status: (error|failure|timeout)/
| parse @message /Status: (?<platform_status>\w+)/
| parse @message /Error Type: (?<platform_error>[\w.]+)/
| fields coalesce(platform_error, platform_status) as cause
| stats count(*) as failures by cause
| sort failures desc"""

#: Failures Lambda saw itself, by cause, JSON log format.
PLATFORM_CAUSES_JSON = r"""filter type = "platform.report" and record.status != "success"
| fields coalesce(record.errorType, record.status) as cause
| stats count(*) as failures by cause
| sort failures desc"""

#: Init failures, text log format.
INIT_FAILURES_TEXT = r"""filter @message like /^INIT_REPORT/ and @message like /Status: (error|failure|timeout)/
| parse @message /Phase: (?<phase>[\w-]+)/
| parse @message /Status: (?<init_status>\w+)/
| parse @message /Error Type: (?<init_error>[\w.]+)/
| fields coalesce(init_error, init_status) as cause
| stats count(*) as init_failures by phase, cause"""

#: Init failures, JSON log format.
INIT_FAILURES_JSON = r"""filter type = "platform.initReport" and record.status != "success"
| fields coalesce(record.errorType, record.status) as cause
| stats count(*) as init_failures by record.phase, cause"""

#: Availability reconciled with Lambda's platform records, text log format.
RECONCILED_AVAILABILITY_TEXT = r"""filter @type = "REPORT" or lambdaops = "outcome"
| parse @message /^REPORT RequestId: (?<report_id>\S+)/
| parse @message /Status: (?<platform_failure>error|failure|timeout)/
| fields coalesce(report_id, request_id) as rid,
         ispresent(report_id) as is_report,
         ispresent(platform_failure) as failed_by_lambda,
         strcontains(coalesce(outcome, ""), "success") as ok,
         ispresent(supersedes) as late
| stats sum(is_report) as lambda_attempts, sum(failed_by_lambda) as lambda_failures,
        count(*) - sum(is_report) - sum(late) as own_attempts, sum(ok) as own_successes by rid
| fields greatest(lambda_attempts, own_attempts) as attempts,
         least(own_successes, greatest(lambda_attempts, own_attempts) - lambda_failures) as successes
| stats sum(successes) / sum(attempts) * 100 as availability_pct, sum(attempts) as invocations,
        sum(attempts) - sum(successes) as failures"""

#: Availability reconciled with Lambda's platform records, JSON log format.
RECONCILED_AVAILABILITY_JSON = r"""filter type = "platform.report" or lambdaops = "outcome"
| fields coalesce(record.requestId, request_id) as rid,
         ispresent(record.requestId) as is_report,
         ispresent(record.status) - strcontains(coalesce(record.status, ""), "success") as failed_by_lambda,
         strcontains(coalesce(outcome, ""), "success") as ok,
         ispresent(supersedes) as late
| stats sum(is_report) as lambda_attempts, sum(failed_by_lambda) as lambda_failures,
        count(*) - sum(is_report) - sum(late) as own_attempts, sum(ok) as own_successes by rid
| fields greatest(lambda_attempts, own_attempts) as attempts,
         least(own_successes, greatest(lambda_attempts, own_attempts) - lambda_failures) as successes
| stats sum(successes) / sum(attempts) * 100 as availability_pct, sum(attempts) as invocations,
        sum(attempts) - sum(successes) as failures"""

#: Every query, in the order docs/outcomes.md prints them.
ALL: dict[str, str] = {
    "AVAILABILITY_BY_ATTEMPT": AVAILABILITY_BY_ATTEMPT,
    "AVAILABILITY_BY_REQUEST": AVAILABILITY_BY_REQUEST,
    "AVAILABILITY_BY_ATTEMPT_NUMBER": AVAILABILITY_BY_ATTEMPT_NUMBER,
    "HTTP_AVAILABILITY": HTTP_AVAILABILITY,
    "HTTP_STATUS_CLASSES": HTTP_STATUS_CLASSES,
    "ERRORS_AND_TIMEOUTS": ERRORS_AND_TIMEOUTS,
    "ERRORS_BY_TYPE": ERRORS_BY_TYPE,
    "TIMEOUTS": TIMEOUTS,
    "DURATION_PERCENTILES": DURATION_PERCENTILES,
    "COLD_START_RATE": COLD_START_RATE,
    "COST_PER_MILLION": COST_PER_MILLION,
    "BATCH_ITEM_AVAILABILITY": BATCH_ITEM_AVAILABILITY,
    "PLATFORM_FAILURES_TEXT": PLATFORM_FAILURES_TEXT,
    "PLATFORM_FAILURES_JSON": PLATFORM_FAILURES_JSON,
    "PLATFORM_CAUSES_TEXT": PLATFORM_CAUSES_TEXT,
    "PLATFORM_CAUSES_JSON": PLATFORM_CAUSES_JSON,
    "INIT_FAILURES_TEXT": INIT_FAILURES_TEXT,
    "INIT_FAILURES_JSON": INIT_FAILURES_JSON,
    "RECONCILED_AVAILABILITY_TEXT": RECONCILED_AVAILABILITY_TEXT,
    "RECONCILED_AVAILABILITY_JSON": RECONCILED_AVAILABILITY_JSON,
}
