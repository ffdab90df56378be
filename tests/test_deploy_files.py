"""The Dockerfile and the systemd unit, checked by parsing them (Docker is not needed)."""

from __future__ import annotations

import configparser
import json
import shlex
from pathlib import Path

from repbot.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined, out = "", []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        joined += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            word, _, rest = joined.partition(" ")
            out.append((word.upper(), rest.strip()))
            joined = ""
    return out


def test_dockerfile_runs_the_demo_as_a_non_root_user_with_a_volume_and_health_check() -> None:
    steps = _instructions(ROOT / "Dockerfile")
    kinds = [k for k, _ in steps]
    assert kinds[0] == "FROM"
    args = {k: v for k, v in steps}  # the last of each kind
    assert args["USER"] not in ("root", "0")
    assert kinds.index("USER") > max(i for i, k in enumerate(kinds) if k == "RUN")
    assert json.loads(args["VOLUME"]) == ["/var/lib/repbot"]
    assert "/healthz" in args["HEALTHCHECK"] and args["HEALTHCHECK"].split()[0].startswith("--")
    torch = [v for k, v in steps if k == "RUN" and "torch" in v]
    assert torch and all("download.pytorch.org/whl/cpu" in v for v in torch)
    config_copy = [v for k, v in steps if k == "COPY" and v.endswith("/etc/repbot/repbot.yaml")]
    [source] = [shlex.split(v)[0] for v in config_copy]
    config = load_config(ROOT / source)  # the container's config is valid
    assert (
        args["EXPOSE"] == str(config.server.port)
        and f":{config.server.port}/healthz" in args["HEALTHCHECK"]
    )
    assert str(config.store.path).startswith("/var/lib/repbot/")
    command = json.loads(args["ENTRYPOINT"]) + json.loads(args["CMD"])
    assert command == ["repbot", "run", "-c", "/etc/repbot/repbot.yaml"]
    assert any(s.name == "demo" for s in config.sources)


def test_dockerignore_keeps_the_venv_the_store_and_git_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "*.db", "var"} <= ignored


def test_systemd_unit_reloads_with_sighup_restarts_on_failure_and_runs_unprivileged() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "deploy" / "repbot.service")
    service = unit["Service"]
    assert service["Type"] in ("simple", "notify")
    assert shlex.split(service["ExecStart"])[1:3] == ["run", "-c"]
    assert shlex.split(service["ExecReload"])[-2:] == ["-HUP", "$MAINPID"]
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("root", "0") and service["StateDirectory"] == "repbot"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
