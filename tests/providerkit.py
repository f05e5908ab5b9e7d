"""Shared set-up for the tests of the remote video providers (generate, sora, kling):
the clip the fake servers hand out, a cache and short HTTP backoff of each test's own,
the fake servers wired in through the environment, and small helpers.

A test module imports the fixtures it uses by name; `provider_env` is autouse, so
importing it gives every test of that module its own cache."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.fake_kling import FakeKling
from tests.fake_sora import FakeSora
from tests.media import make_clip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clip the fake servers deliver as a finished video (320x180, 1 s)."""
    return make_clip(tmp_path_factory.mktemp("served") / "served.mp4", size="320x180", duration=1.0)


@pytest.fixture(autouse=True)
def provider_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache of the test's own and a short HTTP backoff."""
    monkeypatch.setenv("REELFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("REELFORGE_HTTP_BACKOFF", "0.05")


@pytest.fixture
def sora(served: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSora]:
    """A running fake Videos API with REELFORGE_SORA_BASE_URL/OPENAI_API_KEY pointing at it."""
    server = FakeSora(served).start()
    monkeypatch.setenv("REELFORGE_SORA_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", server.key)
    monkeypatch.setenv("REELFORGE_POLL_INTERVAL", "0.02")
    yield server
    server.stop()


@pytest.fixture
def kling(served: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKling]:
    """A running fake Kling API with KLING_API_BASE and both keys pointing at it."""
    server = FakeKling(served).start()
    monkeypatch.setenv("KLING_API_BASE", server.url)
    monkeypatch.setenv("KLING_ACCESS_KEY", server.access)
    monkeypatch.setenv("KLING_SECRET_KEY", server.secret)
    monkeypatch.setenv("REELFORGE_POLL_INTERVAL", "0.02")
    yield server
    server.stop()


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def invoke(*args: str) -> Any:
    """The CLI in this process (faster than a subprocess; same exit codes and messages)."""
    from click.testing import CliRunner

    from pipeline.cli.main import cli

    return CliRunner().invoke(cli, list(args))
