"""A cache folder reelforge cannot use (REELFORGE_CACHE is a file, lies below a file, or the
disk is full) is bad input naming that folder: exit 2, one line, nothing left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import run_cli
from tests.media import make_clip


@pytest.mark.parametrize("where", ["file", "below-file"])
def test_cache_that_is_not_a_folder_is_bad_input_naming_it(tmp_path: Path, where: str) -> None:
    clip = make_clip(tmp_path / "clip.mp4", duration=1.0, audio=True)
    blocker = tmp_path / "cache-file"
    blocker.write_text("not a folder")
    cache = blocker if where == "file" else blocker / "reelforge"
    target = tmp_path / "vertical.mp4"
    for args in (["check", str(clip)],
                 ["reframe", str(clip), "--aspect", "9:16", "--mode", "smart", "-o", str(target)]):
        r = run_cli(*args, env={"REELFORGE_CACHE": str(cache)})
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and str(cache) in lines[0] and "internal error" not in lines[0], r.stderr
    assert blocker.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache-file", "clip.mp4"]


def test_full_cache_is_bad_input_and_leaves_no_temporary_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.cli.main import cli

    clip = make_clip(tmp_path / "clip.mp4", duration=1.0, audio=True)
    cache = tmp_path / "cache"
    monkeypatch.setenv("REELFORGE_CACHE", str(cache))
    real_replace = os.replace

    def disk_full(src: str, dst: str) -> None:
        # The last step of every cache write: a full disk fails the write before it.
        if str(cache) in os.fspath(dst):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", disk_full)
    result = CliRunner().invoke(cli, ["check", str(clip)])
    assert result.exit_code == 2, result.output
    err = result.stderr if hasattr(result, "stderr") else result.output
    assert str(cache) in err and "No space left" in err and "internal error" not in err
    left = [p for p in cache.rglob("*") if p.is_file()]
    assert left == [], left


def test_a_remembered_digest_is_never_trusted_for_an_edited_file(tmp_path: Path) -> None:
    """Digests of large files are remembered in the cache across runs; an edit that keeps
    the size and puts the modification time back is still read anew."""
    import hashlib

    from pipeline import files

    big = tmp_path / "source.bin"
    big.write_bytes(b"a" * (2 << 20))
    first = files.file_digest(big)
    assert first == hashlib.sha256(big.read_bytes()).hexdigest()
    assert list((Path(os.environ["REELFORGE_CACHE"]) / "digests").glob("*.json"))
    files._DIGESTS.clear()  # a new process
    assert files.file_digest(big) == first
    st = big.stat()
    with open(big, "r+b") as fh:
        fh.write(b"b")  # same size
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old modification time
    files._DIGESTS.clear()
    assert files.file_digest(big) == hashlib.sha256(big.read_bytes()).hexdigest() != first
