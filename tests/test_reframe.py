"""reframe: smart windows keep a moving face in view, jump only at cuts, never shake, and
the render is exactly the recorded windows."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli
from tests.reframe_media import inside_fraction, make_face_clip

W, H, FPS = 640, 360, 30

# Smoothness inside a shot, on the integer window positions (px, per frame at 30 fps):
#  - acceleration |x[i+1] - 2 x[i] + x[i-1]| <= 3 px/frame^2 (the planner's bound is
#    1.2 * 640 / 900 = 0.85; rounding to whole pixels adds at most 2);
#  - jitter: RMS of x minus its 5-frame moving average <= 0.6 px.
# A window that jumps to each raw face detection fails both (checked below).
MAX_ACCEL_PX = 3.0
MAX_JITTER_RMS = 0.6


def _sweep(t: float) -> tuple[float, float]:
    """Left to right across the frame with an easing, bobbing up and down a little."""
    u = 0.5 - 0.5 * math.cos(math.pi * min(t / 3.0, 1.0))
    return 0.16 + 0.68 * u, 0.5 + 0.06 * math.sin(2 * t)


def _jump(t: float) -> tuple[float, float]:
    """Left third, drifting; a hard cut at 1.5 s; then right third, drifting back."""
    return (0.2 + 0.04 * t, 0.45) if t < 1.5 else (0.8 - 0.04 * (t - 1.5), 0.55)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list]]:
    d = tmp_path_factory.mktemp("reframe media")
    out = {}
    for name, fn, cut in (("sweep", _sweep, None), ("jump", _jump, 1.5)):
        path = d / f"{name} [face].mp4"
        out[name] = (path, make_face_clip(path, fn, size=(W, H), fps=FPS, duration=3.0, cut_at=cut))
    return out


def _reframe(path: Path, aspect: str = "9:16", mode: str = "smart", **extra: object):
    from pipeline.run.stage import StageContext, get_stage, validate_params
    from pipeline.adapters.inputs import load_inputs
    from pipeline.progress import Reporter

    stage = get_stage("reframe")
    params = validate_params(stage, {"aspect": aspect, "mode": mode, **extra}, "test")
    return stage.apply(load_inputs([str(path)]), params, StageContext(reporter=Reporter(quiet=True)))


def _kept(boxes: list, frames: list, window: list) -> float:
    """Share of frames whose face box is >= 95% inside the window."""
    ok = [inside_fraction(b, (f[1], f[2], window[0], window[1])) >= 0.95 for b, f in zip(boxes, frames)]
    return sum(ok) / len(ok)


def _shots(xs: np.ndarray, cut_frames: list[int]) -> list[np.ndarray]:
    edges = [0, *cut_frames, len(xs)]
    return [xs[a:b] for a, b in zip(edges, edges[1:])]


def _smoothness(x: np.ndarray) -> tuple[float, float]:
    accel = float(np.abs(np.diff(x, 2)).max()) if len(x) > 2 else 0.0
    pad = np.pad(x.astype(float), 2, mode="edge")
    avg = np.convolve(pad, np.ones(5) / 5, mode="valid")
    return accel, float(np.sqrt(np.mean((x - avg) ** 2)))


def test_face_detector_finds_the_test_face(clips: dict) -> None:
    from stages.reframe.saliency import analyse_source

    path, boxes = clips["sweep"]
    analysis = analyse_source(str(path), (W, H), Fraction(FPS))
    found = [s for s in analysis["samples"] if s["faces"]]
    assert len(found) >= 0.9 * len(analysis["samples"])
    for s in found:  # and where it is: the detection overlaps the true face
        x, y, w, h = (v * k for v, k in zip(s["faces"][0], (W, H, W, H)))
        assert inside_fraction(boxes[s["frame"]], (x, y, w, h)) > 0.8
    assert analysis["cuts"] == []


def test_smart_keeps_the_moving_face_and_centre_does_not(clips: dict) -> None:
    path, boxes = clips["sweep"]
    tl = _reframe(path)
    assert (tl.canvas.width, tl.canvas.height) == (202, 360)
    assert tl.reframe["mode"] == "smart" and tl.reframe["aspect"] == "9:16"
    crop = tl.video[0].crop
    assert crop.window_size == [202, 360] and len(crop.frames) == 90
    assert _kept(boxes, crop.frames, crop.window_size) >= 0.97
    centre = _reframe(path, mode="center").video[0].crop
    assert {f[1] for f in centre.frames} == {219}
    assert _kept(boxes, centre.frames, centre.window_size) < 0.25
    xs = np.array([f[1] for f in crop.frames])
    accel, jitter = _smoothness(xs)
    assert accel <= MAX_ACCEL_PX and jitter <= MAX_JITTER_RMS
    assert np.abs(np.diff(xs)).max() <= 0.6 * W / FPS + 1  # speed bound: 0.6 frame widths/s
    # the measures tell a shaky camera: centre the window on each raw detection, held
    # until the next one
    from stages.reframe.saliency import analyse_source

    samples = analyse_source(str(path), (W, H), Fraction(FPS))["samples"]
    raw, k = [], 0
    for i in range(90):
        while k + 1 < len(samples) and samples[k + 1]["frame"] <= i:
            k += 1
        f = samples[k]["faces"][0]
        raw.append(round((f[0] + f[2] / 2) * W - 101))
    accel, jitter = _smoothness(np.array(raw))
    assert accel > MAX_ACCEL_PX and jitter > MAX_JITTER_RMS


def test_hard_cut_jumps_once_and_holds_steady_inside_shots(clips: dict) -> None:
    path, boxes = clips["jump"]
    crop = _reframe(path).video[0].crop
    assert _kept(boxes, crop.frames, crop.window_size) >= 0.97
    xs = np.array([f[1] for f in crop.frames])
    jumps = [i + 1 for i, d in enumerate(np.abs(np.diff(xs))) if d > 20]
    assert jumps == [45]  # the cut at 1.5 s, to the frame
    for shot in _shots(xs, jumps):
        accel, jitter = _smoothness(shot)
        assert accel <= MAX_ACCEL_PX and jitter <= MAX_JITTER_RMS
        # the face drifts only 0.04 W/s, inside the comfortable zone: the camera holds
        assert shot.max() - shot.min() <= 2


def test_render_is_exactly_the_path_windows(clips: dict, tmp_path: Path) -> None:
    from pipeline.analysis.frames import read_frames

    path, _ = clips["jump"]
    out, doc_path = tmp_path / "vert out.mp4", tmp_path / "path.json"
    res = run_cli("reframe", str(path), "--aspect", "9:16", "--path-out", str(doc_path), "-o", str(out))
    assert res.returncode == 0, res.stderr
    doc = json.loads(doc_path.read_text())
    assert doc["source_size"] == [W, H] and doc["window_size"] == [202, 360]
    assert len(doc["frames"]) == 90 and set(doc["frames"][0]) == {"t", "x", "y"}
    assert doc["frames"][45]["t"] == pytest.approx(1.5)
    src = [f for _, f in read_frames(str(path), width=W, height=H, fps=FPS)]
    got = [f for _, f in read_frames(str(out), width=202, height=360, fps=FPS)]
    assert len(got) == len(src) == 90
    errs, shifted = [], []
    for frame, entry, rendered in zip(src, doc["frames"], got):
        x, y = entry["x"], entry["y"]
        window = frame[y:y + 360, x:x + 202].astype(np.int16)
        errs.append(np.abs(window - rendered).mean())
        xo = x + 3 if x + 3 + 202 <= W else x - 3
        shifted.append(np.abs(frame[y:y + 360, xo:xo + 202].astype(np.int16) - rendered).mean())
    assert max(errs) < 3.0, max(errs)  # encoding noise only
    assert min(shifted) > 2 * max(errs)  # a window 3 px off is clearly told apart


def test_two_people_far_apart_fall_back_to_blur_pad(tmp_path: Path) -> None:
    from tests.reframe_media import background, draw_face
    from pipeline.ffmpeg import ffmpeg_exe
    import subprocess

    path = tmp_path / "two.mp4"
    frame = background(W, H, seed=3)
    draw_face(frame, 0.15 * W, 0.5 * H, 90)
    draw_face(frame, 0.85 * W, 0.5 * H, 90)
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}",
                    "-r", "30", "-i", "pipe:0", "-frames:v", "45", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(path)], input=frame.tobytes() * 45, check=True)
    tl = _reframe(path)
    assert [(c.crop, c.fit) for c in tl.video] == [(None, "contain-blur")]
    assert tl.reframe["padded"] == [tl.video[0].id]


def test_other_aspects_reuse_the_analysis_and_modes(clips: dict) -> None:
    from stages.reframe.reframing import reframe_timeline
    from pipeline.files import cache_dir

    path, boxes = clips["sweep"]
    vert = _reframe(path)
    square = reframe_timeline(vert, 360, 360)  # as export does: the recorded mode
    crop = square.video[0].crop
    assert crop.window_size == [360, 360] and square.reframe["mode"] == "smart"
    assert square.reframe["aspect"] == "1:1"
    assert _kept(boxes, crop.frames, crop.window_size) >= 0.97
    assert len(list((cache_dir() / "analysis" / "saliency").glob("*.json"))) >= 1
    for mode, fit, size in (("blur-pad", "contain-blur", (360, 640)), ("letterbox", "contain", (360, 640))):
        tl = _reframe(path, mode=mode)
        assert (tl.canvas.width, tl.canvas.height) == size
        assert tl.video[0].fit == fit and tl.video[0].crop is None
    wide = _reframe(path, aspect="16:9")  # already that shape: nothing to crop
    assert wide.video[0].crop is None and (wide.canvas.width, wide.canvas.height) == (640, 360)


def test_manual_keyframes_override_and_yaml_aspect(clips: dict, tmp_path: Path) -> None:
    from pipeline.run.spec import load_spec

    path, _ = clips["sweep"]
    clip_id = path.stem
    tl = _reframe(path, keyframes={clip_id: [{"t": 0, "x": 0.2}, {"t": 2, "x": 0.8}]})
    frames = tl.video[0].crop.frames
    assert frames[0][1] == round(0.2 * W - 101) and frames[60][1] == round(0.8 * W - 101)
    assert frames[89][1] == frames[60][1]  # held after the last key
    assert tl.reframe["keyframes"][clip_id][1] == {"t": 2.0, "x": 0.8}
    spec = tmp_path / "p.yaml"
    spec.write_text("steps:\n  - reframe:\n      aspect: 9:16\n      keyframes:\n        a: [{t: 0, x: 0.5}]\n")
    assert load_spec(spec).steps[0].model.aspect == "9:16"
    with pytest.raises(Exception, match="no clip with id 'nope'"):
        _reframe(path, keyframes={"nope": [{"t": 0, "x": 0.5}]})


def test_preview_and_cli_errors(clips: dict, tmp_path: Path) -> None:
    from pipeline.model.media import probe

    path, _ = clips["sweep"]
    out, prev = tmp_path / "o.timeline.json", tmp_path / "prev.mp4"
    res = run_cli("reframe", str(path), "--aspect", "1:1", "--preview", str(prev), "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert probe(str(prev)).v.display_size == (W, H) and out.exists()
    bad = run_cli("reframe", str(path), "--aspect", "3:2", "-o", str(tmp_path / "x.mp4"))
    assert bad.returncode == 2 and "--aspect" in bad.stderr
    out.write_text(out.read_text() + " ")  # the user changed it: it is theirs now
    again = run_cli("reframe", str(path), "--aspect", "1:1", "-o", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
    res = run_cli("reframe", str(path), "--aspect", "1:1", "--preview", str(tmp_path / "p.txt"), "-o", str(tmp_path / "y.timeline.json"))
    assert res.returncode == 2 and "--preview" in res.stderr and not (tmp_path / "y.timeline.json").exists()


def test_crop_expression_reproduces_long_paths_exactly() -> None:
    from pipeline.render.crop import evaluate, fit_linear_pieces, linear_expression

    rng = np.random.default_rng(5)
    t = np.arange(900) / 30.0
    smooth = np.cumsum(np.cumsum(rng.normal(0, 0.05, 900)))  # a wandering pan
    xs = np.round(smooth - smooth.min()).astype(int)
    xs[450:] += 200  # and a cut
    knots = fit_linear_pieces(list(t), list(xs))
    assert len(knots) < len(xs) / 3
    assert all(round(evaluate(knots, ti)) == xi for ti, xi in zip(t, xs))
    expr = linear_expression(knots)
    assert "if(" not in expr and len(expr) < 60 * len(knots)


def test_without_a_face_the_window_follows_what_moves(tmp_path: Path) -> None:
    """No face: a ball rolls right across a background whose bright sign stands still
    on the far right; the window follows the ball (saliency weighted by motion)."""
    import subprocess

    import cv2

    from pipeline.ffmpeg import ffmpeg_exe
    from tests.reframe_media import background

    path = tmp_path / "ball.mp4"
    bg = background(W, H, seed=4, sign_at=(0.85, 0.3))
    proc = subprocess.Popen([ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
                             f"{W}x{H}", "-r", "30", "-i", "pipe:0", "-c:v", "libx264", "-preset", "ultrafast",
                             "-crf", "16", "-pix_fmt", "yuv420p", str(path)], stdin=subprocess.PIPE)
    boxes = []
    for i in range(90):
        frame, cx, cy = bg.copy(), int(W * (0.15 + 0.5 * i / 90)), int(H * 0.6)
        cv2.circle(frame, (cx, cy), 28, (250, 220, 40), -1, cv2.LINE_AA)
        boxes.append((cx - 28, cy - 28, 56, 56))
        proc.stdin.write(frame.tobytes())
    proc.stdin.close()
    assert proc.wait() == 0
    crop = _reframe(path).video[0].crop
    assert _kept(boxes, crop.frames, crop.window_size) >= 0.9
    accel, jitter = _smoothness(np.array([f[1] for f in crop.frames]))
    assert accel <= MAX_ACCEL_PX and jitter <= MAX_JITTER_RMS


def test_trimmed_clips_in_a_sequence_render_their_windows(clips: dict, tmp_path: Path) -> None:
    """Two clips, the first trimmed to 1.0-2.5 s (across its cut): each output frame is
    its clip's source frame cropped at the recorded window."""
    from pipeline.analysis.frames import read_frames
    from pipeline.delivery.master import master_settings as default_settings
    from pipeline.progress import Reporter
    from pipeline.render import render
    from stages.reframe.reframing import reframe_timeline
    from pipeline.adapters.inputs import load_inputs

    jump, sweep = str(clips["jump"][0]), str(clips["sweep"][0])
    tl = load_inputs([jump, sweep])
    tl.video[0].in_point, tl.video[0].out_point = Fraction(1), Fraction(5, 2)
    tl.reframe = {"mode": "smart"}
    out = reframe_timeline(tl, 202, 360, reporter=Reporter(quiet=True))
    target = tmp_path / "seq.mp4"
    render(out, [(default_settings(out), target)], reporter=Reporter(quiet=True))
    got = [f for _, f in read_frames(str(target), width=202, height=360, fps=FPS)]
    src = ([f for _, f in read_frames(jump, width=W, height=H, fps=FPS)][30:75]
           + [f for _, f in read_frames(sweep, width=W, height=H, fps=FPS)])
    path = out.video[0].crop.frames + out.video[1].crop.frames
    assert len(got) == len(src) == len(path) == 135
    assert path[15][1] - path[14][1] > 200  # the cut, 0.5 s into the trimmed clip
    errs = [np.abs(s[y:y + 360, x:x + 202].astype(np.int16) - g).mean() for s, (_, x, y), g in zip(src, path, got)]
    assert max(errs) < 3.0


def test_long_crop_paths_render_in_ffmpeg_at_every_recorded_position() -> None:
    """A path of hundreds of knots (a long, busy shot): ffmpeg's crop must accept the
    expression and put the window at the stored position on every frame. The source's
    brightness is its column number, so each output frame's first pixel is its x."""
    import subprocess

    import ffmpeg

    from pipeline.render.crop import fit_linear_pieces, linear_expression
    from pipeline.ffmpeg import ffmpeg_exe

    rng = np.random.default_rng(11)
    n, fps = 240, 30
    xs = [int(v) for v in rng.integers(0, 240, n)]
    ts = [i / fps for i in range(n)]
    knots = fit_linear_pieces(ts, xs)
    assert len(knots) > 150
    src = ffmpeg.input(f"nullsrc=s=256x2:r={fps}:d={n / fps}", f="lavfi").video
    v = (src.filter("format", "gray").filter("geq", lum="X")
         .filter("crop", 16, 2, linear_expression(knots), 0, exact=1))
    argv = ffmpeg.output(v, "pipe:", f="rawvideo", pix_fmt="gray").global_args("-v", "error").compile(cmd=ffmpeg_exe())
    res = subprocess.run(argv, capture_output=True)
    assert res.returncode == 0, res.stderr.decode()[-500:]
    frames = np.frombuffer(res.stdout, np.uint8).reshape(-1, 2, 16)
    assert len(frames) == n
    assert [int(f[0, 0]) for f in frames] == xs
