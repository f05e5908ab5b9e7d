"""The wheel carries the demo and the review page's style and script: `reelforge demo` and
`reelforge review` work from an installed wheel, with the source tree out of reach."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "pipeline", "stages", "presets", "samples")


def _build_wheel(tmp: Path) -> Path:
    """The wheel of a copy of the sources (the build backend comes from the dev extras)."""
    src = tmp / "src"
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif path.exists():
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp / "dist"), str(src)], check=True, capture_output=True, timeout=600)
    (wheel,) = (tmp / "dist").glob("reelforge-*.whl")
    return wheel


def _venv_with(wheel: Path, tmp: Path) -> Path:
    """A fresh venv with only the wheel installed; the dependencies are reached through a
    .pth naming this environment's site-packages (whose own .pth files, the editable
    install among them, are not read from there)."""
    env = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=600)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env


def test_demo_and_review_from_an_installed_wheel(tmp_path: Path) -> None:
    env = _venv_with(_build_wheel(tmp_path), tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    where = subprocess.run([str(env / "bin" / "python"), "-c", "import pipeline, samples; print(pipeline.__file__)"],
                           capture_output=True, text=True, cwd=work)
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(str(env)) and str(ROOT) not in where.stdout  # the wheel's code
    assets = subprocess.run([str(env / "bin" / "python"), "-c", "from pipeline.delivery.review.page import _asset; "
                             "print(_asset('review.css') == open(%r).read())" % str(ROOT / "pipeline/delivery/review/review.css")],
                            capture_output=True, text=True, cwd=work)
    assert assets.stdout.strip() == "True", assets.stderr  # the page's style ships in the wheel

    proc = subprocess.run([str(env / "bin" / "reelforge"), "demo", "trail demo", "--dry-run"], capture_output=True,
                          text=True, cwd=work, timeout=300)
    assert proc.returncode == 0, proc.stderr
    demo = work / "trail demo"
    for name in ("promo.yaml", "voiceover.txt", "looks.py", "music/bed.m4a"):
        assert (demo / name).read_bytes() == (ROOT / "samples" / name).read_bytes(), name
    assert "shot opener: local sora-2" in proc.stderr and "tiktok" in proc.stderr  # the plan of the real demo
    assert not (demo / "out").exists()  # a dry run renders nothing

    # a second time: the files are the demo's own, nothing is refused
    again = subprocess.run([str(env / "bin" / "reelforge"), "demo", "trail demo", "--dry-run"], capture_output=True,
                           text=True, cwd=work, timeout=300)
    assert again.returncode == 0, again.stderr
    # a file of the user's in the way is never replaced
    (demo / "voiceover.txt").write_text("my own script\n")
    refused = subprocess.run([str(env / "bin" / "reelforge"), "demo", "trail demo", "--dry-run"], capture_output=True,
                             text=True, cwd=work, timeout=300)
    assert refused.returncode == 2 and "voiceover.txt" in refused.stderr and "already exists" in refused.stderr
    assert (demo / "voiceover.txt").read_text() == "my own script\n"
