"""Opt-in smoke tests against the real services, run by hand: each is skipped unless
REELFORGE_LIVE=1 and that provider's key is set. They spend a little money (the cheapest
5 s clip each) and check that the clip arrives and has the catalog's shape.

    REELFORGE_LIVE=1 FAL_KEY=... .venv/bin/python -m pytest -q tests/test_live.py -k fal
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_cli

LIVE = [("kling", "kling-v2-5-turbo", ("KLING_ACCESS_KEY", "KLING_SECRET_KEY")),
        ("fal", "kling-v2-5-turbo", ("FAL_KEY",)),
        ("replicate", "kling-v2-5-turbo", ("REPLICATE_API_TOKEN",)),
        ("sora", "sora-2", ("OPENAI_API_KEY", "REELFORGE_SORA_BASE_URL"))]


@pytest.mark.parametrize("provider, model, keys", LIVE)
def test_live_generation(provider: str, model: str, keys: tuple[str, ...], tmp_path: Path) -> None:
    if os.environ.get("REELFORGE_LIVE") != "1" or not all(os.environ.get(k) for k in keys):
        pytest.skip(f"live test: set REELFORGE_LIVE=1 and {', '.join(keys)} to run it")
    from pipeline.model.media import probe

    out = tmp_path / "live.mp4"
    r = run_cli("generate", "--provider", provider, "--model", model, "--prompt", "a paper kite over a beach",
                "--duration", "5" if provider != "sora" else "4", "-o", str(out), timeout=1800)
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert info.video and float(info.duration) >= 3.5
    for k in keys:
        assert os.environ[k] not in r.stderr + r.stdout
