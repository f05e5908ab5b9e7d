"""Outputs whose streams can be identical are encoded once and remuxed per output."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import run_cli
from tests.ffmpeglog import commands, logged_ffmpeg, video_encoders
from tests.media import make_clip, write_preset


def packets(path: Path) -> tuple[str, list[int]]:
    """(digest of the video stream's packets, indices of its key frames)."""
    import av

    h = hashlib.sha256()
    keys = []
    with av.open(str(path)) as box:
        for i, pkt in enumerate(p for p in box.demux(box.streams.video[0]) if p.size):
            h.update(bytes(pkt))
            if pkt.is_keyframe:
                keys.append(i)
    return h.hexdigest(), keys


def test_three_presets_of_one_stream_are_one_encode(tmp_path: Path) -> None:
    folder = tmp_path / "user-presets"
    # Three vertical presets that differ only in rate control and keyframe interval, and a
    # fourth of another size.
    write_preset(folder, "va", aspect="9:16", width=180, height=320, crf=30, gop_seconds=2.0, audio_bitrate="64k")
    write_preset(folder, "vb", aspect="9:16", width=180, height=320, crf=34, gop_seconds=0.5, audio_bitrate="64k",
                 maxrate="2M", bufsize="4M")
    write_preset(folder, "vc", aspect="9:16", width=180, height=320, crf=32, gop_seconds=1.0, audio_bitrate="64k",
                 maxrate="1M", bufsize="3M")
    write_preset(folder, "vsmall", aspect="9:16", width=90, height=160, crf=30, audio_bitrate="64k")
    src = make_clip(tmp_path / "take one.mp4", size="180x320", duration=2.0, audio=True)
    log = tmp_path / "ffmpeg.log"
    env = {"REELFORGE_FFMPEG": str(logged_ffmpeg(tmp_path, log)), "REELFORGE_PRESETS": str(folder)}
    out = tmp_path / "out"
    r = run_cli("export", str(src), "-p", "va", "-p", "vb", "-p", "vc", "-p", "vsmall", "-o", str(out), env=env)
    assert r.returncode == 0, r.stderr  # each output verified against its own preset
    # one x264 for the three alike, one for the small one; three stream copies
    assert video_encoders(log) == ["libx264", "libx264"], video_encoders(log)
    copies = [argv for argv in commands(log) if "-c" in argv and argv[argv.index("-c") + 1] == "copy"]
    assert len(copies) == 3, copies
    streams = {p: packets(out / f"take one.{p}.mp4") for p in ("va", "vb", "vc")}
    digests = {d for d, _ in streams.values()}
    assert len(digests) == 1  # the very same video stream in each file
    # the strictest keyframe interval of the three: every 0.5 s (15 frames at 30 fps)
    _, keys = streams["va"]
    assert keys[0] == 0 and max(b - a for a, b in zip(keys, keys[1:] + [60])) <= 15, keys
    small, _ = packets(out / "take one.vsmall.mp4")
    assert small not in digests
    assert sorted(p.name for p in out.iterdir()) == sorted(f"take one.{p}.mp4" for p in ("va", "vb", "vc", "vsmall"))
