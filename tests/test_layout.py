"""The runtime core (repbot/) names no platform: platforms live in connectors/ packages.

No module under repbot/ imports a connector, no file there holds a platform's API host, and the
core's code (docstrings aside) has no platform name or web host in its strings. Each entry in a
``PENDING`` table is a known exception being moved out; the test fails once one is clean, so
the table only shrinks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import repbot

CORE = Path(repbot.__file__).resolve().parent
ROOT = CORE.parent
API_HOSTS = (
    "api.twitter.com",
    "api.x.com",
    "oauth.reddit.com",
    "www.reddit.com",
    "slack.com/api",
)
# Counting rules the core implements by name ("weighted" is twitter-text's rule, used by X).
REGISTRY = {"respond/limits.py"}
# Generic fixtures may use a platform name as sample data; simulators live in connectors/.
FIXTURES = "testing/"
PENDING_IMPORTS: dict[str, str] = {}
PENDING_NAMES: dict[str, str] = {}
PLATFORM_STRING = re.compile(r"^(x|reddit|twitter)$|\b(x|reddit|twitter)\.com\b", re.I)


def _modules() -> dict[str, ast.Module]:
    return {
        path.relative_to(CORE).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(CORE.rglob("*.py"))
    }


def _imports(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _code_strings(tree: ast.Module) -> list[str]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]


def test_no_core_module_imports_a_connector() -> None:
    offenders = {
        name
        for name, tree in _modules().items()
        for module in _imports(tree)
        if module == "connectors" or module.startswith(("connectors.", "repbot.connectors"))
    }
    assert offenders == set(PENDING_IMPORTS)


def test_no_core_file_holds_a_platform_api_host() -> None:
    offenders = [
        f"{path.relative_to(CORE)}: {host}"
        for path in sorted(CORE.rglob("*"))
        if path.is_file() and path.suffix in {".py", ".html", ".js", ".css", ".yaml", ".json"}
        for host in API_HOSTS
        if host in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert offenders == []


def test_core_code_names_no_platform() -> None:
    offenders = {
        name
        for name, tree in _modules().items()
        if name not in REGISTRY and not name.startswith(FIXTURES)
        if any(PLATFORM_STRING.search(text) for text in _code_strings(tree))
    }
    assert offenders == set(PENDING_NAMES)


def test_platform_simulators_live_next_to_their_connectors() -> None:
    assert not (CORE / "testing" / "simulators").exists()
    assert not (CORE / "approval" / "slack_fake.py").exists()
    for name in ("x", "reddit"):
        package = ROOT / "connectors" / name
        assert {"__init__.py", "config.py", "client.py", "mapping.py", "simulator.py"} <= {
            p.name for p in package.iterdir()
        }


def test_the_checks_see_a_violation() -> None:
    tree = ast.parse('from repbot.connectors.x import XConnector\nURL = "https://x.com/a"\n')
    assert "repbot.connectors.x" in _imports(tree)
    assert any(PLATFORM_STRING.search(text) for text in _code_strings(tree))
