"""Package layout: repbot/ plus the top-level connectors/ and prompts/ folders.

connectors/ is installed as ``repbot.connectors`` and prompts/ as ``repbot.prompts``
(see docs/ARCHITECTURE.md); everything else lives in pyproject.toml.
"""

from setuptools import find_packages, setup

core = ["repbot", *(f"repbot.{p}" for p in find_packages("repbot"))]
connectors = ["repbot.connectors", *(f"repbot.connectors.{p}" for p in find_packages("connectors"))]

setup(
    packages=[*core, *connectors, "repbot.prompts"],
    package_dir={
        "repbot": "repbot",
        "repbot.connectors": "connectors",
        "repbot.prompts": "prompts",
    },
)
