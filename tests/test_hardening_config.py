"""Broken config gets a clear error, fast, and ``check`` passes only what ``run`` accepts.

The rule test walks tests/configs/broken through ``repbot check`` and through ``repbot run``
(the real CLI path, with the daemon's initialise step standing in for the endless run) and
requires both to refuse, ``run`` in words ``check`` already said.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, SecretStr

import repbot.app
import repbot.cli
import repbot.daemon
import repbot.logs
import repbot.server
from repbot.cli import main
from repbot.config import MAX_PROBLEMS, Config, load_config, parse_config
from repbot.connector import connector_class, registry
from repbot.errors import ConfigError
from repbot.respond import Responder
from repbot.respond.personalize import default_topics
from repbot.respond.templates import packaged_prompts
from repbot.secrets import BLANK_SECRET, redact
from repbot.testing.fakes import KeywordClassifier

CONFIGS = Path(__file__).parent / "configs"
ROOT = Path(__file__).parent.parent
BROKEN = sorted((CONFIGS / "broken").glob("*.yaml"))
VALID = [*sorted((CONFIGS / "valid").glob("*.yaml")), ROOT / "config.example.yaml"]
HANG_GUARD = 120  # seconds; only to turn a hang into a failure, never a performance bound


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TEST_WEB_TOKEN", "web-token-123")
    monkeypatch.setenv("TEST_SLACK_BOT_TOKEN", "xoxb-test-token-value")
    monkeypatch.delenv("REPBOT_TEST_SURELY_UNSET_VAR", raising=False)
    hup = signal.getsignal(signal.SIGHUP)
    yield
    signal.signal(signal.SIGHUP, hup)


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    return code, [line for line in captured.err.splitlines() if line.strip()]


@pytest.fixture
def run_until_initialised(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make ``repbot run`` stop after the daemon's initialise step (on a free port)."""
    started: list[str] = []

    async def initialise_then_stop(daemon: Any, executor: Any = None) -> int:
        daemon._classifier = KeywordClassifier()
        daemon.server.port = 0
        try:
            await daemon.initialise()
        finally:
            await daemon.stop()
        started.append(str(daemon.config.path))
        return 0

    real_bind = repbot.server.Server.bind

    def bind_any_free_port(server: repbot.server.Server) -> None:
        server.port = 0  # never the config's own port: 8080 may be taken on the test machine
        real_bind(server)

    monkeypatch.setattr(repbot.cli, "_run_daemon", initialise_then_stop)
    monkeypatch.setattr(repbot.server.Server, "bind", bind_any_free_port)
    monkeypatch.setattr(repbot.app, "load_embedder", lambda model: None)
    monkeypatch.setattr(repbot.logs, "setup_logging", lambda config: None)
    return started


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.name)
def test_check_refuses_first_what_run_refuses_in_the_same_words(
    path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    run_until_initialised: list[str],
) -> None:
    target = tmp_path / path.name
    target.write_bytes(path.read_bytes())
    check_code, check_said = _cli(["check", "-c", str(target)], capsys)
    run_code, run_said = _cli(["run", "-c", str(target)], capsys)
    assert check_code == 2 and run_code == 2, (check_said, run_said)
    assert run_said and set(run_said) <= set(check_said)
    assert not run_until_initialised
    assert not any("Traceback" in line for line in check_said + run_said)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_what_check_passes_run_accepts(
    path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    run_until_initialised: list[str],
) -> None:
    target = tmp_path / path.name
    shutil.copy(path, target)
    assert _cli(["check", "-c", str(target)], capsys)[0] == 0
    assert _cli(["run", "-c", str(target)], capsys)[0] == 0
    assert run_until_initialised == [str(target.resolve())]


def test_empty_console_token_from_the_environment_fails_check_and_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    run_until_initialised: list[str],
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "server: {host: 0.0.0.0}\napproval:\n  web:\n    token: ${REPBOT_WEB_TOKEN}\n"
        "sources: [{name: d, type: demo}]\n"
    )
    for value in ("", "   ", "\t\n"):
        monkeypatch.setenv("REPBOT_WEB_TOKEN", value)
        code, said = _cli(["check", "-c", str(path)], capsys)
        assert code == 2
        assert f"  - approval.web.token (line 4): {BLANK_SECRET}" in said
        assert _cli(["run", "-c", str(path)], capsys) == (code, said)
    assert not run_until_initialised


def _types(annotation: Any) -> set[Any]:
    """``annotation`` and every type inside it (unions, Annotated, containers)."""
    found = {annotation}
    for arg in typing.get_args(annotation):
        found |= _types(arg)
    return found


def _secret_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, field in model.model_fields.items():
        args = _types(field.annotation)
        if SecretStr in args:
            found.append((*prefix, name))
        for arg in args:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                found += _secret_paths(arg, (*prefix, name))
    return found


def _nested(path: tuple[str, ...], value: str) -> dict[str, Any]:
    data: dict[str, Any] = {path[-1]: value}
    for part in reversed(path[:-1]):
        data = {part: data}
    return data


SECRET_PATHS = _secret_paths(Config)


def test_the_config_has_the_secrets_we_expect() -> None:
    assert {
        ("approval", "slack", "bot_token"),
        ("approval", "web", "token"),
        ("responder", "llm", "api_key"),
        ("alerts", "webhook_url"),
    } <= set(SECRET_PATHS)


@pytest.mark.parametrize("path", SECRET_PATHS, ids=".".join)
@pytest.mark.parametrize("blank", ["", "  ", "\n"])
def test_every_blank_secret_is_a_config_error(path: tuple[str, ...], blank: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_dump(_nested(path, blank)))
    assert any(p.startswith(".".join(path)) and BLANK_SECRET in p for p in info.value.problems)


def test_an_unset_optional_secret_is_allowed() -> None:
    config = parse_config("approval:\n  web:\n    token: null\n")
    assert config.approval.web.token is None


def _connector_secrets() -> list[tuple[str, str]]:
    found = []
    for type_name in sorted(registry()):
        model = connector_class(type_name).Config
        for name, field in model.model_fields.items():
            if SecretStr in _types(field.annotation):
                found.append((type_name, name))
    return found


def test_connectors_have_secrets() -> None:
    assert {("webhook", "secret"), ("x", "bearer_token"), ("reddit", "client_secret")} <= set(
        _connector_secrets()
    )


@pytest.mark.parametrize(("type_name", "field"), _connector_secrets())
def test_every_blank_connector_secret_is_a_config_error(type_name: str, field: str) -> None:
    text = f"sources:\n  - name: s\n    type: {type_name}\n    {field}: '  '\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert f"sources[0].{field} (line 4): {BLANK_SECRET}" in info.value.problems


ATTACKS: dict[str, bytes] = {
    "bomb.yaml": (CONFIGS / "broken" / "alias_bomb.yaml").read_bytes(),
    "deep_flow.yaml": b"a: " + b"[" * 10_000 + b"]" * 10_000 + b"\n",
    "deep_block.yaml": "".join("  " * i + f"k{i}:\n" for i in range(3000)).encode(),
    "deep_aliases.yaml": (
        "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 200))
    ).encode(),
    "long_line.yaml": b"brand:\n  name: " + b"x" * 1_000_000 + b"\n",
    "long_key.yaml": b"brand:\n  " + b"k" * 400_000 + b": 1\n",
    "huge_int.yaml": b"server:\n  port: " + b"9" * 100_000 + b"\n",
    "bad_tag.yaml": b"brand: !python/object:os.system echo\n",
    "two_documents.yaml": b"brand: {}\n---\nbrand: {}\n",
    "many_keys.yaml": b"".join(b"k%d: 1\n" % i for i in range(5000)),
}


def test_hostile_files_exit_2_without_traceback_in_a_fresh_process(tmp_path: Path) -> None:
    """Each file through the real console script, with a generous hang guard."""
    for name, content in ATTACKS.items():
        path = tmp_path / name
        path.write_bytes(content)
        done = subprocess.run(
            [sys.executable, "-m", "repbot.cli", "check", "-c", str(path)],
            capture_output=True,
            text=True,
            timeout=HANG_GUARD,
        )
        assert done.returncode == 2, (name, done.stderr[-2000:])
        assert "Traceback" not in done.stderr, name
        assert "config error" in done.stderr, name
        assert len(done.stderr) < 20_000, name


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_hostile_files_give_short_clear_problems(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(ATTACKS[name])
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = info.value.problems
    assert 1 <= len(problems) <= MAX_PROBLEMS + 1
    assert all(len(p) < 500 for p in problems)


def test_a_long_line_under_the_size_bound_is_accepted() -> None:
    config = parse_config("brand:\n  name: " + "x" * 400_000 + "\n")
    assert len(config.brand.name) == 400_000


def test_aliases_within_the_bound_are_expanded() -> None:
    config = parse_config(
        "sources:\n  - &base {name: a, type: demo, interval: 30}\n"
        "  - {<<: *base, name: b}\n  - {<<: *base, name: c, interval: 10}\n"
    )
    assert [(s.name, s.interval) for s in config.sources] == [("a", 30), ("b", 30), ("c", 10)]


def test_problems_are_capped_with_a_count_of_the_rest() -> None:
    text = "brand:\n" + "".join(f"  unknown{i}: 1\n" for i in range(200))
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert len(info.value.problems) == MAX_PROBLEMS + 1
    assert info.value.problems[-1] == f"... and {200 - MAX_PROBLEMS} more problems"


def test_duplicate_keys_inside_a_list_item_and_with_merge_keys() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("sources:\n  - name: a\n    type: demo\n    name: b\n")
    assert info.value.problems == ["sources[0].name (line 4): duplicate key (first at line 2)"]
    merged = parse_config(
        "sources:\n  - &d {name: a, type: demo}\n  - <<: *d\n    name: b\n"
    )  # a key overriding a merged one is not a duplicate
    assert [s.name for s in merged.sources] == ["a", "b"]


def test_unknown_knowledge_topic_fails_check_and_the_responder_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(packaged_prompts(), prompts)
    (prompts / "knowledge" / "refunds.md").write_text(
        "---\nid: refund-times\ntitle: Refund times\ntopics: [refunds]\n"
        "reply: Refunds take 5 days.\n---\nbody\n"
    )
    path = tmp_path / "sub" / "c.yaml"
    path.parent.mkdir()
    path.write_text("responder:\n  prompts_dir: ../prompts\nsources: [{name: d, type: demo}]\n")
    code, said = _cli(["check", "-c", str(path)], capsys)
    assert code == 2
    assert any("unknown topic 'refunds'" in line for line in said)
    config = load_config(path)
    with pytest.raises(ConfigError) as info:
        Responder(config.responder, config.brand)
    assert info.value.problems == [
        "knowledge/refunds.md: unknown topic 'refunds' "
        f"(known: {', '.join(sorted(t.name for t in default_topics()))})"
    ]
    assert f"  - {info.value.problems[0]}" in said


def test_relative_paths_are_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    shutil.copytree(packaged_prompts(), tmp_path / "conf" / "my-prompts")
    path = tmp_path / "conf" / "c.yaml"
    path.write_text(
        "responder: {prompts_dir: my-prompts}\nlogging: {file: logs/repbot.log}\n"
        "classifier: {weights: ./w}\n"
    )
    monkeypatch.chdir(tmp_path)
    config = load_config(path)
    assert config.responder.prompts_dir == tmp_path / "conf" / "my-prompts"
    assert config.logging.file == tmp_path / "conf" / "logs" / "repbot.log"
    assert config.classifier.weights == str(tmp_path / "conf" / "w")
    assert Responder(config.responder, config.brand).root == tmp_path / "conf" / "my-prompts"


def test_missing_adapter_weights_fail_check_and_run_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_until_initialised: list[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("classifier: {weights: ./nowhere}\nsources: [{name: d, type: demo}]\n")
    check = _cli(["check", "-c", str(path)], capsys)
    run = _cli(["run", "-c", str(path)], capsys)
    assert check[0] == run[0] == 2
    assert f"  - classifier.weights: no adapter weights at {tmp_path / 'nowhere'}" in run[1]
    assert set(run[1]) <= set(check[1])


def test_url_passwords_are_redacted() -> None:
    parse_config("responder:\n  llm:\n    base_url: https://bob:hunter2-pass@llm.local/v1\n")
    assert "hunter2-pass" not in redact("connect https://bob:hunter2-pass@llm.local/v1 failed")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("sources: [{name: a, type: demo, interval: .inf}]", "sources[0].interval"),
        ("sources: [{name: a, type: demo, interval: .nan}]", "sources[0].interval"),
        ("pipeline: {tick: .inf}", "pipeline.tick"),
        ("pipeline: {post_retry_base: .nan}", "pipeline.post_retry_base"),
        ("responder: {llm: {timeout: .inf}}", "responder.llm.timeout"),
        ("urgency: {negativity: .nan}", "urgency.negativity"),
        ("sources: [{name: w, type: webhook, secret: s3cret-value, max_age: .inf}]", "sources[0]"),
    ],
)
def test_nan_and_infinity_are_config_errors(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert any(p.startswith(where) and "finite" in p for p in info.value.problems)
