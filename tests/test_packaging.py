"""An installed wheel (not the editable checkout) finds its connectors, prompts and weights."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

PROBE = """
import json, sys
from importlib import resources
import repbot, repbot.connectors.demo as demo
from repbot.connector import connector_class, registry
from repbot.respond.templates import check_templates
from repbot.respond import ResponderConfig
from repbot.brand import BrandConfig
print(json.dumps({
    "repbot": repbot.__file__,
    "demo": demo.__file__,
    "sample": len(demo.load_sample()),
    "types": sorted(registry()),
    "file": connector_class("file").__module__,
    "templates": sorted(
        p.name for p in resources.files("repbot.prompts").joinpath("replies").iterdir()
    ),
    "template_problems": check_templates(ResponderConfig(), BrandConfig()),
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("repbot-*.whl")
    return built


def test_wheel_contains_connectors_prompts_and_weights(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "repbot/connectors/demo.py" in names
    assert "repbot/connectors/data/demo_mentions.jsonl" in names
    assert any(n.startswith("repbot/prompts/replies/") and n.endswith(".j2") for n in names)
    assert any(n.startswith("repbot/prompts/knowledge/") for n in names)
    assert any(n.startswith("repbot/classify/weights/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[repbot.connectors]" in text and "demo = repbot.connectors.demo:DemoConnector" in text


def test_installed_wheel_finds_connectors_and_prompts(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    found = json.loads(probe.stdout.strip().splitlines()[-1])
    assert found["repbot"].startswith(str(site)) and found["demo"].startswith(str(site))
    assert found["sample"] >= 30
    assert {"demo", "file", "x", "reddit"} <= set(found["types"])
    assert found["file"] == "repbot.connectors.file"
    assert "complaint.j2" in found["templates"]
    assert found["template_problems"] == []
