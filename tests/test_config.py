from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType

import pytest

from lambdaops import ConfigError, _config, instrument
from lambdaops._config import OPTIONS, Config, resolve


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


# -- the option table: one place for every option ------------------------------------------

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_rows() -> dict[str, list[str]]:
    """The README's configuration table: first cell -> the cells."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Configuration") :]
    section = section[: section.index("\n## ", 1)]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows[0] == "| option | environment | Powertools fallback | default |"
    cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows[1:]]
    return {c[0].strip("`"): c for c in cells}


def _names(cell: str) -> list[str]:
    return re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)


def test_options_are_configs_fields_with_its_defaults() -> None:
    assert tuple(o.name for o in OPTIONS) == Config._fields == _config.NAMES
    assert len(OPTIONS) == 20
    for option in OPTIONS:
        if option.name in Config._field_defaults and not callable(option.default):
            assert Config._field_defaults[option.name] == option.default, option.name


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.name)
def test_readme_row_matches_the_option(option: _config.Option) -> None:
    cells = _readme_rows()[option.name]
    lambdaops_env = [e for e in option.env if not e.startswith("POWERTOOLS_")]
    powertools_env = [e for e in option.env if e.startswith("POWERTOOLS_")]
    assert _names(cells[1]) == lambdaops_env
    assert _names(cells[2]) == powertools_env
    assert ("(inverted)" in cells[2]) == bool(option.negated)
    assert cells[3].startswith(option.shown), cells[3]
    assert option.env == (*lambdaops_env, *powertools_env)  # Powertools' names come last


def test_readme_has_a_row_for_each_option_and_nothing_else() -> None:
    rows = _readme_rows()
    assert set(rows) == {*_config.NAMES, "—"}
    # the one variable without an option is read by the parameter cache itself
    assert _names(rows["—"][1]) == ["LAMBDAOPS_PARAMS_MAX_AGE"]
    assert rows["—"][3] == "`300` seconds"


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    if value == _config.LEVELS["INFO"] and not isinstance(value, float):
        return "`INFO`"
    if isinstance(value, MappingProxyType):
        return f"`{dict(value)}`"
    return f"`{value}`"


@pytest.mark.parametrize(
    "option", [o for o in OPTIONS if o.default is not None and not callable(o.default)], ids=str
)
def test_the_shown_default_is_the_default(option: _config.Option) -> None:
    assert option.shown == _shown(option.default)
    assert getattr(resolve(environ={}), option.name) == option.default


def test_derived_defaults() -> None:
    cfg = resolve(environ={"AWS_LAMBDA_FUNCTION_NAME": "orders"})
    assert (cfg.service, cfg.namespace) == ("orders", "orders")
    assert cfg.default_dimensions == (("service", "orders"),)
    assert cfg.timeout_margin_ms is None
    assert resolve(service="gizmos", environ={}).default_dimensions == (("service", "gizmos"),)
    assert resolve(environ={"LAMBDAOPS_DEFAULT_DIMENSIONS": ""}).default_dimensions == ()


#: One value per environment variable of every option, and what it must resolve to.
ENVIRONMENT = [
    ("LAMBDAOPS_SERVICE", "orders", "service", "orders"),
    ("POWERTOOLS_SERVICE_NAME", "pt-orders", "service", "pt-orders"),
    ("LAMBDAOPS_NAMESPACE", "Shop", "namespace", "Shop"),
    ("POWERTOOLS_METRICS_NAMESPACE", "PtShop", "namespace", "PtShop"),
    ("LAMBDAOPS_LOG_LEVEL", "warning", "log_level", 30),
    ("AWS_LAMBDA_LOG_LEVEL", "ERROR", "log_level", 40),
    ("POWERTOOLS_LOG_LEVEL", "DEBUG", "log_level", 10),
    ("LAMBDAOPS_DEBUG_SAMPLE_RATE", "0.25", "debug_sample_rate", 0.25),
    ("POWERTOOLS_LOGGER_SAMPLE_RATE", "0.5", "debug_sample_rate", 0.5),
    ("LAMBDAOPS_DEBUG_BUFFER", "17", "debug_buffer", 17),
    ("LAMBDAOPS_MAX_LINE_BYTES", "4096", "max_line_bytes", 4096),
    ("LAMBDAOPS_CAPTURE_STDLIB", "off", "capture_stdlib", False),
    (
        "LAMBDAOPS_DEFAULT_DIMENSIONS",
        "tenant=acme, stage = prod",
        "default_dimensions",
        (("tenant", "acme"), ("stage", "prod")),
    ),
    ("LAMBDAOPS_OUTCOME", "false", "outcome", False),
    ("LAMBDAOPS_TIMEOUT_MARGIN_MS", "250", "timeout_margin_ms", 250),
    ("LAMBDAOPS_TIMEOUT_STACK", "true", "timeout_stack", True),
    ("LAMBDAOPS_ARCHITECTURE", "aarch64", "architecture", "arm64"),
    ("LAMBDAOPS_TRACE", "no", "trace", False),
    ("POWERTOOLS_TRACE_DISABLED", "true", "trace", False),
    ("LAMBDAOPS_TRACE_CAPTURE_RESPONSE", "0", "trace_capture_response", False),
    ("POWERTOOLS_TRACER_CAPTURE_RESPONSE", "false", "trace_capture_response", False),
    ("LAMBDAOPS_TRACE_CAPTURE_ERROR", "0", "trace_capture_error", False),
    ("POWERTOOLS_TRACER_CAPTURE_ERROR", "false", "trace_capture_error", False),
    ("LAMBDAOPS_TRACE_PATCH", "false", "trace_patch", False),
    ("LAMBDAOPS_TRACE_BACKEND", "auto", "trace_backend", "auto"),
    ("LAMBDAOPS_TRACE_PARENT", "w3c", "trace_parent", "w3c"),
]


def test_every_environment_variable_is_tested() -> None:
    assert [e[0] for e in ENVIRONMENT] == [env for o in OPTIONS for env in o.env]


@pytest.mark.parametrize(("variable", "raw", "field", "expected"), ENVIRONMENT, ids=str)
def test_each_environment_variable_through_the_decorator(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(variable, raw)

    @instrument
    def handler(event: object, context: object) -> None:
        return None

    config = handler.lambdaops_lifecycle.config  # type: ignore[attr-defined]
    assert getattr(config, field) == expected
    assert getattr(resolve(environ={}), field) != expected  # not the default by chance


def test_powertools_trace_disabled_false_keeps_tracing_on() -> None:
    assert resolve(environ={"POWERTOOLS_TRACE_DISABLED": "false"}).trace is True
    with pytest.raises(ConfigError, match="POWERTOOLS_TRACE_DISABLED='sometimes'"):
        resolve(environ={"POWERTOOLS_TRACE_DISABLED": "sometimes"})


def test_lambdaops_variable_wins_over_lambda_and_powertools() -> None:
    for option in OPTIONS:
        if len(option.env) < 2:
            continue
        first, *rest = [e for e in ENVIRONMENT if e[2] == option.name]
        env = {e[0]: e[1] for e in rest} | {first[0]: first[1]}
        assert getattr(resolve(environ=env), option.name) == first[3], option.name


def test_the_docstring_lists_every_option() -> None:
    doc = instrument.__doc__ or ""
    assert re.findall(r"^    ``(\w+)``", doc, re.M) == list(_config.NAMES)
    assert "POWERTOOLS_TRACE_DISABLED (inverted)" in doc


def test_environ_is_not_an_option() -> None:
    with pytest.raises(TypeError, match=r"unknown option\(s\) environ; known options: service,"):
        instrument(environ={})


# -- exact behaviour of each parser (mutation testing, docs/mutation.md) -------------------


def test_a_level_is_a_name_or_exactly_one_of_the_level_numbers() -> None:
    assert _config.parse_level(20, "src") == 20
    assert _config.parse_level(" warn ", "src") == 30
    assert _config.parse_level("fatal", "src") == 50
    for value in (15, 20.0, True):  # not a level number, a float, a bool
        with pytest.raises(ConfigError) as info:
            _config.parse_level(value, "argument log_level")
        assert str(info.value) == (
            f"argument log_level={value!r} is not a log level; "
            "use one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
        )


def test_an_empty_variable_is_unset_and_the_next_one_decides() -> None:
    env = {"LAMBDAOPS_LOG_LEVEL": "", "POWERTOOLS_LOG_LEVEL": "ERROR"}
    assert resolve(environ=env).log_level == 40
    assert resolve(environ={"LAMBDAOPS_SERVICE": ""}).service == "service_undefined"
    # an empty name passed as an argument is unset too
    assert resolve(service="", environ={}).service == "service_undefined"


@pytest.mark.parametrize(
    ("field", "low", "high"), [("debug_buffer", 0, 100_000), ("max_line_bytes", 1024, 1024**2)]
)
def test_whole_numbers_take_both_bounds_and_nothing_past_them(
    field: str, low: int, high: int
) -> None:
    variable = f"LAMBDAOPS_{field.upper()}"
    for value in (low, high):
        assert getattr(resolve(environ={variable: str(value)}), field) == value
    for value in (low - 1, high + 1):
        with pytest.raises(ConfigError) as info:
            resolve(environ={variable: str(value)})
        assert str(info.value) == (
            f"environment variable {variable}='{value}' must be between {low} and {high}"
        )


def test_bounded_parses_with_its_own_bounds_and_names_the_source() -> None:
    parse = _config.bounded(3, 7)
    assert (parse("3", "src"), parse(7, "src")) == (3, 7)
    with pytest.raises(ConfigError) as info:
        parse("8", "the source")
    assert str(info.value) == "the source='8' must be between 3 and 7"
    with pytest.raises(ConfigError) as info:
        parse("2", "the source")
    assert str(info.value) == "the source='2' must be between 3 and 7"


def test_an_option_keeps_what_it_was_given() -> None:
    def parse(value: object, source: str) -> object:
        return value

    option = _config.Option("name", ("A", "B"), parse, 5, "`5`", "the doc")
    assert (option.name, option.env, option.parse, option.default) == ("name", ("A", "B"), parse, 5)
    assert (option.shown, option.doc, option.negated, option.empty_is_set) == (
        "`5`",
        "the doc",
        "",
        False,
    )
    option = _config.Option("n", (), parse, None, "", "", negated="B", empty_is_set=True)
    assert (option.negated, option.empty_is_set) == ("B", True)
    assert repr(option) == "Option('n')"


def test_resolve_refuses_unknown_options_by_name() -> None:
    with pytest.raises(TypeError) as info:
        resolve(servce="x", trase=False, environ={})
    assert str(info.value) == "resolve() got unknown option(s) servce, trase"


def test_dimensions_are_name_value_pairs_split_at_the_first_equals_sign() -> None:
    env = {"LAMBDAOPS_DEFAULT_DIMENSIONS": "query=a=b, ,tenant=acme,"}
    assert resolve(environ=env).default_dimensions == (("query", "a=b"), ("tenant", "acme"))
    for item in ("tenant=", "=acme", "tenant", " = "):
        env = {"LAMBDAOPS_DEFAULT_DIMENSIONS": f"stage=prod,{item}"}
        with pytest.raises(ConfigError) as info:
            resolve(environ=env)
        assert str(info.value) == (
            f"environment variable LAMBDAOPS_DEFAULT_DIMENSIONS='stage=prod,{item}': "
            f"expected name=value pairs, got {item.strip()!r}"
        )


def test_dimensions_as_an_argument_are_a_mapping_never_text() -> None:
    assert resolve(default_dimensions={"tier": 1}, environ={}).default_dimensions == (
        ("tier", "1"),
    )
    with pytest.raises(ConfigError) as info:
        resolve(default_dimensions="tenant=acme", environ={})
    assert str(info.value) == "argument default_dimensions='tenant=acme' must be a mapping"


@pytest.mark.parametrize(
    ("machine", "expected"),
    [("AARCH64", "arm64"), ("arm64", "arm64"), ("AMD64", "x86_64"), ("riscv64", "x86_64")],
)
def test_the_default_architecture_is_the_machines_else_x86_64(
    monkeypatch: pytest.MonkeyPatch, machine: str, expected: str
) -> None:
    import platform

    monkeypatch.setattr(platform, "machine", lambda: machine)
    assert resolve(environ={}).architecture == expected
