from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Each test session has its own REELFORGE_CACHE; numba's compiled functions (librosa's beat
# tracking) would be compiled anew in each one, for tens of seconds. They live where a
# user's run keeps them instead.
if "NUMBA_CACHE_DIR" not in os.environ:
    import platformdirs

    os.environ["NUMBA_CACHE_DIR"] = str(Path(platformdirs.user_cache_dir("reelforge")) / "numba")


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Each test session gets its own cache and user-preset folder, from its start, so that
    module-wide fixtures (a demo run made once for a whole file) never read or fill the
    user's own cache. A test that changes them with monkeypatch gets them back after."""
    base = tmp_path_factory.getbasetemp()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REELFORGE_CACHE", str(base / "cache"))
        mp.setenv("REELFORGE_PRESETS", str(base / "no-user-presets"))
        yield


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess (exit codes, stdout/stderr as users see)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=timeout)


@pytest.fixture
def cli():  # noqa: ANN201
    return run_cli
