"""stitch: heterogeneous clips joined exact to the frame, transitions, stream copy,
beat snapping, colour matching, pipeline-file parameters and bad input."""

from __future__ import annotations

import hashlib
import json
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli
from tests.media import ffmpeg, frames_of, make_clip, stream_durations

# The five shapes scaled by 1/4: 1280x720@24 silent, 1280x720@30 silent (here the
# NTSC 30000/1001), 720x1280@30 with audio, 960x960@24 with audio, 1278x718@25.
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255)]
SHAPES = [
    ("320x180", "24", False, 0.0),
    ("320x180", "30000/1001", False, 0.0),
    ("180x320", "30", True, 440.0),
    ("240x240", "24", True, 880.0),
    ("318x178", "25", False, 0.0),
]
# Exact clip lengths: 2 s each, except 2 s at 30000/1001 is 60 frames = 2.002 s.
LENGTHS = [Fraction(2), Fraction(60 * 1001, 30000), Fraction(2), Fraction(2), Fraction(2)]
# AAC codes whole frames of 1024 samples: the decoded sound may run up to one frame long.
AAC_FRAME = Fraction(1024, 48000)


@pytest.fixture(scope="module")
def five(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("five")
    paths = []
    for i, ((size, fps, audio, tone), rgb) in enumerate(zip(SHAPES, COLOURS)):
        colour = "0x%02X%02X%02X" % rgb
        paths.append(make_clip(d / f"clip {i + 1}.mp4", size=size, fps=fps, duration=2.0, audio=audio,
                               tone=tone, color=colour))
    return paths


def decode_frames(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    import av

    out = {}
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="rgb24")
    return out


def decode_audio(path: Path) -> tuple[np.ndarray, int]:
    import av

    with av.open(str(path)) as c:
        rate = c.streams.audio[0].rate
        chunks = [f.to_ndarray().reshape(-1, f.samples)[0] for f in c.decode(audio=0)]
    return np.concatenate(chunks).astype(np.float64), rate


def packet_hashes(path: Path) -> dict[str, list[str]]:
    import av

    out: dict[str, list[str]] = {"video": [], "audio": []}
    with av.open(str(path)) as c:
        for pkt in c.demux():
            if pkt.size:
                out[pkt.stream.type].append(hashlib.sha256(bytes(pkt)).hexdigest())
    return out


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spec))])


def test_five_heterogeneous_clips_with_fades(five: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "seq.mp4"
    r = run_cli("stitch", *map(str, five), "--transition", "fade:0.5", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "re-encoding" in r.stderr
    fps = Fraction(24)  # the first clip's rate
    overlap = Fraction(1, 2)
    total = sum(LENGTHS) - 4 * overlap
    expected = int(total * fps + Fraction(1, 2))
    assert expected == 192
    assert frames_of(out) == expected
    vdur, adur = stream_durations(out)
    assert vdur == Fraction(expected) / fps
    assert adur is not None and abs(adur - vdur) <= AAC_FRAME  # end together

    # Each source's content in the middle of its own span.
    starts, t = [], Fraction(0)
    for length in LENGTHS:
        starts.append(t)
        t += length - overlap
    mids = [int((s + length / 2) * fps) for s, length in zip(starts, LENGTHS)]
    frames = decode_frames(out, set(mids))
    import av

    with av.open(str(out)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (320, 180)
    for i, (m, rgb) in enumerate(zip(mids, COLOURS)):
        centre = frames[m][90, 160].astype(int)
        assert np.abs(centre - np.array(rgb)).max() < 40, (i, centre, rgb)

    # The sound: silence under the silent clips, each tone under its own clip.
    samples, rate = decode_audio(out)
    for i, (s, length) in enumerate(zip(starts, LENGTHS)):
        mid = float(s + length / 2)
        win = samples[int((mid - 0.2) * rate): int((mid + 0.2) * rate)]
        rms = float(np.sqrt(np.mean(win ** 2)))
        if SHAPES[i][2]:
            assert rms > 0.05, (i, rms)
            assert abs(dominant_hz(win, rate) - SHAPES[i][3]) < 10
        else:
            assert rms < 1e-3, (i, rms)


def test_cuts_on_another_canvas_and_fit(five: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "vert.mp4"
    r = run_cli("stitch", *map(str, five), "--size", "270x480", "--fps", "30000/1001", "--fit", "contain",
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    fps = Fraction(30000, 1001)
    expected = int(sum(LENGTHS) * fps + Fraction(1, 2))
    assert frames_of(out) == expected == 300
    vdur, adur = stream_durations(out)
    assert adur is not None and abs(adur - vdur) <= AAC_FRAME
    starts = [sum(LENGTHS[:i], Fraction(0)) for i in range(5)]
    mids = [int((s + length / 2) * fps) for s, length in zip(starts, LENGTHS)]
    frames = decode_frames(out, set(mids))
    assert frames[mids[0]].shape == (480, 270, 3)
    for m, rgb in zip(mids, COLOURS):
        assert np.abs(frames[m][240, 135].astype(int) - np.array(rgb)).max() < 40
    # contain: the landscape clip 1 leaves black bars above and below; the vertical clip 3 fills.
    assert frames[mids[0]][10, 135].max() < 20
    assert np.abs(frames[mids[2]][10, 135].astype(int) - np.array(COLOURS[2])).max() < 40


def test_timeline_output_keeps_exact_times(five: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "seq.timeline.json"
    r = run_cli("stitch", *map(str, five), "-t", "dissolve:0.25", "-t", "cut", "-t", "wipeleft:0.3", "-t", "cut",
                "--trim-head", "0.1", "--trim-tail", "0.2", "-o", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    clips = data["video"]
    assert [c["transition"]["kind"] for c in clips[:-1]] == ["dissolve", "cut", "wipeleft", "cut"]
    # Transitions become whole frames at the canvas rate (24): 0.25 s = 6 frames, 0.3 s -> 7 frames.
    assert [Fraction(c["transition"]["duration"]) for c in clips[:-1]] == [Fraction(1, 4), 0, Fraction(7, 24), 0]
    assert all(Fraction(c["in_point"]) == Fraction(1, 10) for c in clips)
    assert [Fraction(c["out_point"]) for c in clips] == [x - Fraction(1, 5) for x in LENGTHS]
    assert data["canvas"]["fps"] == "24" and (data["canvas"]["width"], data["canvas"]["height"]) == (320, 180)

    # Stitching that edit with one more clip keeps its transitions; the new cut is hard.
    more = tmp_path / "more.timeline.json"
    r = run_cli("stitch", str(out), str(five[0]), "-o", str(more))
    assert r.returncode == 0, r.stderr
    kinds = [c["transition"]["kind"] for c in json.loads(more.read_text())["video"][:-1]]
    assert kinds == ["dissolve", "cut", "wipeleft", "cut", "cut"]


def test_trims_remove_the_right_frames(tmp_path: Path) -> None:
    # Each clip: 0.5 s of one colour, then 0.5 s of another, at 24 fps.
    def two_tone(name: str, first: str, second: str) -> Path:
        path = tmp_path / name
        ffmpeg("-f", "lavfi", "-i", f"color=c={first}:s=64x36:r=24:d=0.5", "-f", "lavfi",
               "-i", f"color=c={second}:s=64x36:r=24:d=0.5", "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]",
               "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path))
        return path

    a = two_tone("a.mp4", "0xFF0000", "0x0000FF")
    b = two_tone("b.mp4", "0x00FF00", "0xFFFFFF")
    out = tmp_path / "trimmed.mp4"
    r = run_cli("stitch", str(a), str(b), "--trim-head", "0.5", "--trim-tail", "0.25", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert frames_of(out) == 12  # (1 - 0.5 - 0.25) s x 24 fps x 2 clips
    frames = decode_frames(out, set(range(12)))
    for i in range(6):  # the second half of each clip, less its last 0.25 s
        assert np.abs(frames[i][18, 32].astype(int) - [0, 0, 255]).max() < 40, i
        assert np.abs(frames[6 + i][18, 32].astype(int) - [255, 255, 255]).max() < 40, i


def test_rotation_ten_bit_and_variable_rate(tmp_path: Path) -> None:
    first = make_clip(tmp_path / "first.mp4", size="160x90", fps="24", duration=1.0, color="0x00FF00")
    rotated = make_clip(tmp_path / "rotated.mp4", size="160x90", fps="30", duration=1.0, color="0xFF0000",
                        rotation=90)
    deep = make_clip(tmp_path / "deep.mp4", size="160x90", fps="25", duration=1.0, pix_fmt="yuv420p10le",
                     audio=True, color="0x0000FF")
    vfr = tmp_path / "vfr.mp4"  # 20 frames at 1/30 s, then slower
    ffmpeg("-f", "lavfi", "-i", "color=c=0xFFFFFF:s=160x90:r=30:d=1", "-vf",
           "select='lt(n,30)',setpts='if(lt(N,20),N/30,2/3+(N-20)/10)/TB'", "-fps_mode", "vfr",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(vfr))
    out = tmp_path / "mixed.mp4"
    r = run_cli("stitch", str(first), str(rotated), str(deep), str(vfr), "--fit", "contain", "-t", "fade:0.25",
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    import av

    with av.open(str(vfr)) as c:
        vfr_seconds = Fraction(c.duration, 1_000_000)
        pts = [p.pts for p in c.demux(video=0) if p.pts is not None]
    assert len({b - a for a, b in zip(pts, pts[1:])}) > 1  # really variable
    expected = int((3 + vfr_seconds - 3 * Fraction(1, 4)) * 24 + Fraction(1, 2))
    assert frames_of(out) == expected
    vdur, adur = stream_durations(out)
    assert adur is not None and abs(adur - vdur) <= AAC_FRAME
    frames = decode_frames(out, {30, 50, 80})
    # The rotated clip shows upright (portrait) inside the landscape canvas: bars at the sides.
    assert frames[30][45, 5].max() < 20 and np.abs(frames[30][45, 80].astype(int) - [255, 0, 0]).max() < 40
    assert np.abs(frames[50][45, 80].astype(int) - [0, 0, 255]).max() < 40  # 10-bit clip
    assert frames[80][45, 80].min() > 215  # the variable-rate clip, in its slow part


def test_every_transition_name_renders(tmp_path: Path) -> None:
    from pipeline.render.transitions import TRANSITION_NAMES

    red = make_clip(tmp_path / "pattern.mp4", size="64x36", fps="24", duration=0.5, pattern="testsrc2")
    blue = make_clip(tmp_path / "blue.mp4", size="64x36", fps="24", duration=0.5, color="0x0000FF", audio=True)
    names = list(TRANSITION_NAMES)
    inputs = [str(red if i % 2 == 0 else blue) for i in range(len(names) + 1)]
    out = tmp_path / "all.mp4"
    args = []
    for n in names:
        args += ["-t", n if n == "cut" else f"{n}:0.125"]
    r = run_cli("stitch", *inputs, *args, "-o", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    # 12 frames per clip, 3-frame overlaps for every name but cut.
    expected = 12 * len(inputs) - 3 * (len(names) - 1)
    assert frames_of(out) == expected
    vdur, adur = stream_durations(out)
    assert adur is not None and abs(adur - vdur) <= AAC_FRAME
    # The middle frame of each transition mixes both pictures: it differs from the last
    # frame before the transition and from the first frame after it.
    wanted, start = {}, 0
    for n in names:
        start += 12 - (0 if n == "cut" else 3)
        if n != "cut":
            wanted[start] = n
    frames = decode_frames(out, {f + d for f in wanted for d in (-1, 1, 3)})
    for f0, name in wanted.items():
        mid = frames[f0 + 1].astype(float)
        for other in (frames[f0 - 1], frames[f0 + 3]):
            changed = (np.abs(mid - other).max(axis=2) > 40).mean()  # share of pixels clearly different
            assert changed > 0.03, (name, changed)


@pytest.fixture(scope="module")
def same(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("same")
    return [make_clip(d / name, size="160x90", fps="30", duration=1.0, audio=True, tone=tone, pattern=pattern)
            for name, tone, pattern in (("it's a [clip], 1.mp4", 330.0, "testsrc2"), ("b.mp4", 550.0, "rgbtestsrc"),
                                        ("c; 100%.mp4", 660.0, "testsrc"))]


def test_stream_copy_when_nothing_changes(same: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "joined.mp4"
    r = run_cli("stitch", *map(str, same), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "by stream copy" in r.stderr and "re-encoding:" not in r.stderr
    got = packet_hashes(out)
    want = [packet_hashes(p) for p in same]
    assert got["video"] == [h for w in want for h in w["video"]]
    assert got["audio"] == [h for w in want for h in w["audio"]]
    assert frames_of(out) == 90


@pytest.mark.parametrize("extra", [["-t", "fade:0.2"], ["--trim-head", "0.1"], ["odd-size"], ["other-sps"],
                                   ["--no-stream-copy"]])
def test_no_stream_copy_otherwise(same: list[Path], tmp_path: Path, extra: list[str]) -> None:
    # three 30-frame clips: two 6-frame fades overlap, or 3 frames trimmed from each head
    frames = {"-t": 90 - 2 * 6, "--trim-head": 90 - 3 * 3}.get(extra[0], 90)
    inputs = list(map(str, same))
    if extra == ["odd-size"]:
        inputs[1] = str(make_clip(tmp_path / "wide.mp4", size="192x90", fps="30", duration=1.0, audio=True))
        extra = []
    if extra == ["other-sps"]:  # same size and rate, but other colour signalling in the SPS
        inputs[1] = str(make_clip(tmp_path / "bars.mp4", size="160x90", fps="30", duration=1.0, audio=True,
                                  pattern="smptehdbars"))
        extra = []
    out = tmp_path / "joined.mp4"
    r = run_cli("stitch", *inputs, *extra, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "stream copy" not in r.stderr
    got = packet_hashes(out)["video"]
    first = packet_hashes(Path(inputs[0]))["video"]
    assert got[: len(first)] != first
    assert frames_of(out) == frames
    vdur, adur = stream_durations(out)
    assert vdur == Fraction(frames, 30) and adur is not None and abs(adur - vdur) <= AAC_FRAME


def click_track(path: Path, period: float, offset: float, seconds: float, rate: int = 22050) -> list[float]:
    """A metronome: librosa's click (a decaying 1 kHz blip) every `period` seconds."""
    import librosa

    clicks = [float(t) for t in np.arange(offset, seconds - 0.2, period)]
    y = librosa.clicks(times=clicks, sr=rate, length=int(seconds * rate))
    y += np.random.default_rng(0).normal(0, 0.005, y.size)  # a little room noise
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(y, -1, 1) * 32767).astype("<i2").tobytes())
    return clicks


def test_snap_to_beats_lands_cuts_on_clicks(tmp_path: Path) -> None:
    clicks = click_track(tmp_path / "clicks.wav", period=0.6, offset=0.3, seconds=12.0)
    clips = [make_clip(tmp_path / f"s{i}.mp4", size="64x36", fps="25", duration=3.0) for i in range(3)]
    out = tmp_path / "snapped.timeline.json"
    r = run_cli("stitch", *map(str, clips), "--trim-tail", "0.5", "--snap-to-beats", str(tmp_path / "clicks.wav"),
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    from pipeline.model.timeline import Timeline

    tl = Timeline.load(out)
    cuts = tl.cut_times()
    # Before snapping the cuts were at 2.5 s and 5.0 s, both between clicks.
    for cut in cuts:
        nearest = min(clicks, key=lambda c: abs(c - float(cut)))
        # librosa places beats within 2 analysis hops (2 x 23 ms); the cut is on a frame (20 ms).
        assert abs(float(cut) - nearest) <= 0.065, (float(cut), nearest)
        assert cut * 25 == int(cut * 25)  # on a frame
    assert abs(float(cuts[0]) - 2.5) > 0.1  # it really moved
    assert "cut 1:" in r.stderr and "cut 2:" in r.stderr and "ms" in r.stderr
    assert any(m.kind == "beat" for m in tl.markers)
    # Never past the media: clip 1 was extended into the 0.5 s it had left at most.
    assert all(c.out_point <= c.src_duration for c in tl.video)


def test_match_color_brings_a_dull_clip_to_its_neighbour(tmp_path: Path) -> None:
    vivid = make_clip(tmp_path / "vivid.mp4", size="160x90", fps="24", duration=1.0, pattern="testsrc2")
    dull = tmp_path / "dull.mp4"
    ffmpeg("-i", str(vivid), "-vf", "eq=saturation=0.4:brightness=-0.12", "-c:v", "libx264", "-preset", "ultrafast",
           str(dull))

    def chroma_and_luma(frame: np.ndarray) -> tuple[float, float]:
        from stages.stitch.colorstats import stats

        s = stats(frame.reshape(-1, 3) / 255.0)
        return s["chroma"], s["y_mean"]

    results = {}
    for flag in ([], ["--match-color"]):
        out = tmp_path / f"m{len(flag)}.mp4"
        r = run_cli("stitch", str(vivid), str(dull), *flag, "-o", str(out))
        assert r.returncode == 0, r.stderr
        f = decode_frames(out, {12, 36})
        results[bool(flag)] = (chroma_and_luma(f[12]), chroma_and_luma(f[36]))
    (c1, y1), (c2, y2) = results[False]
    assert c2 / c1 < 0.6  # the dull clip really is dull
    (c1, y1), (c2, y2) = results[True]
    assert 0.8 < c2 / c1 < 1.2 and abs(y2 - y1) < 0.04


def test_pipeline_file_params(five: list[Path], tmp_path: Path) -> None:
    from pipeline.run.runner import run_spec
    from pipeline.run.spec import load_spec

    spec = tmp_path / "cut.yaml"
    spec.write_text(
        "name: cut\nsteps:\n  - stitch:\n"
        f"      inputs: [{json.dumps(str(five[0]))}, {json.dumps(str(five[2]))}, {json.dumps(str(five[3]))}]\n"
        "      transition: [fadeblack:0.4, cut]\n"
        "      clips: [{in: 0.25}, {}, {in: 0.5, out: 1.5}]\n"
        "      fps: 25\n",
        encoding="utf-8",
    )
    tl = run_spec(load_spec(spec)).timeline
    assert [c.transition.kind for c in tl.video] == ["fadeblack", "cut", "cut"]
    assert tl.canvas.fps == 25 and (tl.canvas.width, tl.canvas.height) == (320, 180)
    assert tl.duration == Fraction(7, 4) + 2 + 1 - Fraction(2, 5)

    by_id = tmp_path / "by-id.yaml"
    by_id.write_text(
        "name: by-id\nsteps:\n  - stitch:\n"
        f"      inputs: [{json.dumps(str(five[0]))}, {json.dumps(str(five[3]))}]\n"
        "      transition: wipeup:0.25\n"
        "      clips: {clip 4: {out: 1.25}}\n"
        "      trim_head: 0.25\n",
        encoding="utf-8",
    )
    tl = run_spec(load_spec(by_id)).timeline
    assert [(c.in_point, c.out_point) for c in tl.video] == [(Fraction(1, 4), 2), (Fraction(1, 4), Fraction(5, 4))]
    assert tl.duration == Fraction(7, 4) + 1 - Fraction(1, 4)

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsteps:\n  - stitch:\n      transition: swirl:1\n", encoding="utf-8")
    r = run_cli("run", str(bad))
    assert r.returncode == 2 and "bad.yaml:4" in r.stderr and "swirl" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_input_is_one_line_and_writes_nothing(five: list[Path], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pipeline.cli.main import cli

    out = tmp_path / "x.mp4"
    cases = [
        ["-t", "swirl"],
        ["-t", "fade:3"],  # longer than the clips
        ["-t", "fade", "-t", "cut"],  # 2 transitions for 4 cuts
        ["--trim-head", "1.5", "--trim-tail", "1"],
        ["--size", "321x180"],
        ["--snap-to-beats", str(tmp_path / "missing.wav")],
    ]
    runner = CliRunner()
    for extra in cases:  # in-process for speed; the last case below runs the real entry point
        r = runner.invoke(cli, ["stitch", *map(str, five), *extra, "-o", str(out)])
        assert r.exit_code == 2, (extra, r.stderr)
        assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("error:"), r.stderr
        assert not out.exists() and not list(tmp_path.glob(".x.partial*"))
    r = run_cli("stitch", str(five[0]), str(tmp_path / "nope.mp4"), "-o", str(out))
    assert r.returncode == 2 and "nope.mp4" in r.stderr and "Traceback" not in r.stderr
    out.write_bytes(b"keep")
    r = runner.invoke(cli, ["stitch", *map(str, five), "-o", str(out)])
    assert r.exit_code == 2 and "--overwrite" in r.stderr and out.read_bytes() == b"keep"


def test_names_that_look_like_protocols_are_joined_as_files(tmp_path: Path) -> None:
    """`file:z.mp4` is the file of that name, never z.mp4 (a 2 s decoy beside it); `x:` and
    `concat:` names are no protocols either, in the inputs or in the output name."""
    from tests.media import DECOY_SECONDS, PLAIN_FPS, PLAIN_SECONDS, protocol_named_clips

    folder = protocol_named_clips(tmp_path / "names")
    copy = run_cli("stitch", "file:z.mp4", "x:y.mp4", "-o", "concat:s|1.mp4", cwd=folder)
    assert copy.returncode == 0, copy.stderr
    assert "stream copy" in copy.stderr
    assert frames_of(folder / "concat:s|1.mp4") == 2 * PLAIN_SECONDS * PLAIN_FPS
    fade = run_cli("stitch", "file:z.mp4", "concat:a|b.mp4", "-t", "fade:0.4", "-o", "x:fade.mp4", cwd=folder)
    assert fade.returncode == 0, fade.stderr
    video, audio = stream_durations(folder / "x:fade.mp4")
    assert video == Fraction(2 * PLAIN_SECONDS) - Fraction(2, 5) > PLAIN_SECONDS + DECOY_SECONDS
    assert audio is not None and video <= audio <= video + AAC_FRAME
