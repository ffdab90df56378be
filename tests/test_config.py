"""Config loading: every broken file in tests/configs/broken reports exactly these problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from repbot.cli import main
from repbot.config import load_config, parse_config
from repbot.errors import ConfigError
from repbot.secrets import redact

CONFIGS = Path(__file__).parent / "configs"
ROOT = Path(__file__).parent.parent

BLANK = "empty secret: set a value or remove the key (an environment variable set to '' is empty)"
PLATFORMS = (
    "app_store, bluesky, demo, file, google_business, google_play, hackernews, mastodon,"
    " reddit, rss, trustpilot, webhook, x, yelp"
)
EXPECTED: dict[str, list[str]] = {
    "unknown_top_key.yaml": ["servr (line 4): unknown key (did you mean 'server'?)"],
    "wrong_type.yaml": [
        "server.port (line 3): Input should be a valid integer, "
        "unable to parse string as an integer"
    ],
    "bad_interval.yaml": [
        "sources[0].interval (line 4): not a duration: '5 parsecs' "
        "(use seconds or e.g. '30s', '5m', '2h')"
    ],
    "missing_env.yaml": [
        "approval.slack.bot_token (line 3): "
        "environment variable REPBOT_TEST_SURELY_UNSET_VAR is not set"
    ],
    "malformed_yaml.yaml": ["invalid YAML (line 4, column 4): did not find expected '-' indicator"],
    "unknown_source_type.yaml": [
        "sources[0].type (line 3): unknown source type 'reddt' (did you mean 'reddit'?)"
    ],
    "file_without_path.yaml": ["sources[0].path (line 2): required key is missing"],
    "unknown_source_option.yaml": [
        "sources[0].per_pol (line 4): unknown key (did you mean 'per_poll'?)"
    ],
    "duplicate_sources.yaml": ["sources[1].name (line 4): duplicate source name 'demo'"],
    "many_problems.yaml": [
        "brand.nmae (line 2): unknown key (did you mean 'name'?)",
        "sources[0].interval (line 6): must be greater than zero",
        "logging.level (line 8): Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
        "server.port (line 10): Input should be less than or equal to 65535",
    ],
    "not_a_mapping.yaml": ["the top level must be a mapping of keys (brand:, sources:, ...)"],
    "empty_console_token.yaml": [f"approval.web.token (line 6): {BLANK}"],
    "blank_source_secret.yaml": [f"sources[0].secret (line 4): {BLANK}"],
    "public_console_without_token.yaml": [
        "approval.web.token (line 4): required because approval.web.break_glass is true;"
        " set a token"
    ],
    "alias_bomb.yaml": [
        "invalid YAML (line 7, column 4): more than 100,000 values once aliases are expanded"
        " (an alias bomb?); aliases may repeat at most 100,000 values in all"
    ],
    "recursive_alias.yaml": ["invalid YAML (line 2, column 12): an alias refers to itself"],
    "duplicate_keys.yaml": [
        "server.port (line 4): duplicate key (first at line 2)",
        "sources[0].interval (line 9): duplicate key (first at line 8)",
    ],
    "latin1.yaml": [
        "not UTF-8 (line 2, column 12): byte 0xe9 is not valid UTF-8 (Latin-1 or Windows-1252?);"
        " save the file as UTF-8"
    ],
    "utf16.yaml": ["the file is UTF-16-encoded; save it as UTF-8"],
    "utf16_without_bom.yaml": [
        "the file holds NUL bytes (UTF-16 or UTF-32 without a BOM?); save it as UTF-8"
    ],
    "deep_nesting.yaml": ["invalid YAML (line 1, column 1009): exceeded maximum nesting depth"],
    "deep_mappings.yaml": ["invalid YAML (line 65, column 129): nested deeper than 64 levels"],
    "bad_timezone.yaml": [
        "brand.timezone (line 2): unknown time zone 'Europe/Pariss' (use an IANA name such as"
        " 'Europe/Paris' or 'UTC')",
        "approval.timezone (line 4): unknown time zone 'Mars/Olympus_Mons' (use an IANA name"
        " such as 'Europe/Paris' or 'UTC')",
    ],
    "slack_http_without_signing_secret.yaml": [
        "approval.slack.signing_secret (line 2): required in http mode"
    ],
    "slack_socket_without_app_token.yaml": [
        "approval.slack.app_token (line 2): required in socket mode (xapp- token)",
        "approval.slack.channel (line 4): required (channel id, C...)",
    ],
    "slack_http_without_server.yaml": [
        "approval.slack.mode (line 5): needs the HTTP server, but server.enabled is false",
        "sources[0].type (line 11): needs the HTTP server, but server.enabled is false",
    ],
    "unknown_intents.yaml": [
        "responder.reply_intents (line 2): unknown intent 'complaints' (did you mean"
        " 'complaint'?); known: complaint, question, praise, press, legal, security, other",
        "responder.min_urgency (line 3): unknown intent 'questoin' (did you mean 'question'?);"
        " known: complaint, question, praise, press, legal, security, other",
    ],
    "unknown_platform.yaml": [
        f"brand.handles (line 2): unknown platform 'twiter'; known: {PLATFORMS}",
        "sources[0].platform (line 8): unknown platform 'trustpilto' (did you mean"
        f" 'trustpilot'?); known: {PLATFORMS}",
        "responder.limits (line 10): x: a reply limit must be at least 1, not 0",
    ],
    "bad_alert_webhook.yaml": [
        "alerts.webhook_url (line 2): must be an http:// or https:// URL"
        " (value not shown: a secret)"
    ],
}


def test_every_broken_config_has_expectations() -> None:
    assert sorted(p.name for p in (CONFIGS / "broken").glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_config_reports_every_problem_with_key_and_line(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(CONFIGS / "broken" / name)
    assert info.value.problems == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_check_exits_2_on_broken_config_and_writes_nothing(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / name
    target.write_bytes((CONFIGS / "broken" / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(["check", "-c", str(target)]) == 2
    stderr = capsys.readouterr().err
    for problem in EXPECTED[name]:
        assert problem.split(" (line")[0] in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("path", sorted((CONFIGS / "valid").glob("*.yaml")), ids=lambda p: p.name)
def test_valid_configs_load(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_WEB_TOKEN", "web-token-123")
    monkeypatch.setenv("TEST_SLACK_BOT_TOKEN", "xoxb-test-token-value")
    config = load_config(path)
    assert config.sources


def test_example_config_is_valid_and_check_passes(capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(ROOT / "config.example.yaml")
    assert [s.type for s in config.sources] == ["demo"]
    assert main(["check", "-c", str(ROOT / "config.example.yaml")]) == 0
    assert "web console" in capsys.readouterr().out


def test_durations_and_defaults() -> None:
    config = parse_config(
        "sources:\n  - {name: a, type: demo, interval: 1m30s}\n"
        "  - {name: b, type: demo, interval: 45}\n"
    )
    assert [s.interval for s in config.sources] == [90.0, 45.0]
    assert config.server.port == 8080


def test_env_interpolation_with_default_and_secret_redaction(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("TEST_SLACK_BOT_TOKEN", "plain-secret-value-42")
    monkeypatch.setenv("TEST_WEB_TOKEN", "web-token-123")
    config = load_config(CONFIGS / "valid" / "env_secrets.yaml")
    slack = config.approval.slack
    assert slack is not None and slack.bot_token is not None
    assert slack.bot_token.get_secret_value() == "plain-secret-value-42"
    assert slack.signing_secret is not None
    assert slack.signing_secret.get_secret_value() == "default-signing-secret"
    assert "plain-secret-value-42" not in redact("token is plain-secret-value-42")
    assert "plain-secret-value-42" not in repr(config)
    assert main(["check", "-c", str(CONFIGS / "valid" / "env_secrets.yaml")]) == 0
    assert "plain-secret-value-42" not in capsys.readouterr().out


def test_wrong_secret_type_does_not_echo_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_PORT_SECRET", "not-a-port-s3cr3t")
    with pytest.raises(ConfigError) as info:
        parse_config("server:\n  port: ${TEST_PORT_SECRET}\n")
    assert "not-a-port-s3cr3t" not in str(info.value)


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    assert main(["check", "-c", str(tmp_path / "nope.yaml")]) == 2


def test_run_refuses_public_host_without_console_token(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "server:\n  host: 0.0.0.0\napproval: {web: {break_glass: true}}\n"
        "sources:\n  - {name: d, type: demo}\n"
    )
    assert main(["check", "-c", str(path)]) == 2


def test_every_commented_example_source_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Uncommenting any example source in config.example.yaml gives a valid config."""
    text = (ROOT / "config.example.yaml").read_text()
    block: list[str] = []
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("  # - name:"):
            if block:
                blocks.append(block)
            block = [line]
        elif block and line.startswith("  #   "):
            block.append(line)
        elif block:
            blocks.append(block)
            block = []
    assert len(blocks) >= 4
    for name in (
        "X_BEARER_TOKEN",
        "X_CONSUMER_KEY",
        "X_CONSUMER_SECRET",
        "X_ACCESS_TOKEN",
        "X_ACCESS_TOKEN_SECRET",
        "REDDIT_CLIENT_ID",
        "REDDIT_CLIENT_SECRET",
        "REDDIT_PASSWORD",
        "FEEDBACK_WEBHOOK_SECRET",
        "GOOGLE_BUSINESS_CLIENT_SECRET",
        "GOOGLE_BUSINESS_REFRESH_TOKEN",
        "TRUSTPILOT_API_KEY",
        "TRUSTPILOT_API_SECRET",
        "TRUSTPILOT_PASSWORD",
        "YELP_API_KEY",
        "MASTODON_ACCESS_TOKEN",
        "BLUESKY_APP_PASSWORD",
    ):
        monkeypatch.setenv(name, f"test-{name.lower()}")
    for lines in blocks:
        source = "\n".join(line.replace("  # ", "  ", 1) for line in lines)
        config = parse_config(f"sources:\n{source}\n")
        assert len(config.sources) == 1
