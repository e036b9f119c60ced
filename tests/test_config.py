from __future__ import annotations

import pytest

from lambdaops import ConfigError, instrument
from lambdaops._config import resolve


def test_defaults() -> None:
    cfg = resolve(environ={})
    assert cfg.service == "service_undefined"
    assert cfg.namespace == "service_undefined"
    assert cfg.log_level_name == "INFO"
    assert cfg.debug_sample_rate == 0.0
    assert cfg.max_line_bytes == 256 * 1024


def test_function_name_is_the_default_service() -> None:
    assert resolve(environ={"AWS_LAMBDA_FUNCTION_NAME": "orders"}).service == "orders"


def test_precedence_argument_then_lambdaops_then_powertools() -> None:
    env = {
        "LAMBDAOPS_SERVICE": "from-lambdaops",
        "POWERTOOLS_SERVICE_NAME": "from-powertools",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_NAMESPACE": "pt-ns",
    }
    assert resolve(service="arg", environ=env).service == "arg"
    cfg = resolve(environ=env)
    assert cfg.service == "from-lambdaops"
    assert cfg.namespace == "pt-ns"
    assert cfg.log_level_name == "ERROR"
    del env["LAMBDAOPS_SERVICE"]
    assert resolve(environ=env).service == "from-powertools"


def test_lambda_advanced_logging_level_is_honoured() -> None:
    assert resolve(environ={"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}).log_level_name == "DEBUG"
    assert resolve(environ={"AWS_LAMBDA_LOG_LEVEL": "TRACE"}).log_level_name == "DEBUG"
    # our own variable wins over the runtime's
    env = {"AWS_LAMBDA_LOG_LEVEL": "DEBUG", "LAMBDAOPS_LOG_LEVEL": "warning"}
    assert resolve(environ=env).log_level_name == "WARNING"


@pytest.mark.parametrize(
    ("kwargs", "env", "culprit"),
    [
        ({"log_level": "LOUD"}, {}, "argument log_level='LOUD'"),
        ({}, {"LAMBDAOPS_LOG_LEVEL": "verbose"}, "LAMBDAOPS_LOG_LEVEL='verbose'"),
        ({"debug_sample_rate": 1.5}, {}, "argument debug_sample_rate=1.5"),
        ({}, {"LAMBDAOPS_DEBUG_SAMPLE_RATE": "often"}, "LAMBDAOPS_DEBUG_SAMPLE_RATE='often'"),
        ({"max_line_bytes": 10}, {}, "argument max_line_bytes=10"),
        ({"capture_stdlib": "maybe"}, {}, "argument capture_stdlib='maybe'"),
    ],
)
def test_bad_values_name_the_culprit(kwargs: dict, env: dict, culprit: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(environ=env, **kwargs)
    assert culprit in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_config_fails_at_decoration_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDAOPS_DEBUG_SAMPLE_RATE", "-0.1")
    with pytest.raises(ConfigError, match="LAMBDAOPS_DEBUG_SAMPLE_RATE"):

        @instrument
        def handler(event: object, context: object) -> None:
            return None


def test_unknown_option_is_named() -> None:
    with pytest.raises(TypeError, match="servce"):
        instrument(servce="x")
