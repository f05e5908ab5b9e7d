"""What matters in a picture, over time: faces (OpenCV's shipped Haar cascade), visual
saliency (spectral residual, opencv-contrib), motion, and shot boundaries.

One low-resolution grey decode of the source, streamed from ffmpeg: every frame feeds
the shot-boundary detector (cheap 32x18 differences), every few frames feed the face
detector and the saliency/motion map. Results are cached by the source's content hash.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

ANALYSIS_VERSION = 4
ANALYSIS_WIDTH = 320  # px: a face of 8% of the frame width is still 25 px for the cascade
SAMPLE_RATE = 8.0  # face/saliency samples per second
_TINY = (32, 18)


def _face_detector() -> Any:
    import cv2

    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    det = cv2.CascadeClassifier(path)
    if det.empty():  # pragma: no cover - depends on the installed wheel
        from pipeline.errors import StageError

        raise StageError(f"OpenCV's face cascade is missing ({path}); install opencv-contrib-python-headless<5")
    return det


def detect_faces(det: Any, gray: Any) -> list[list[float]]:
    """Faces in a grey frame as [x, y, w, h] fractions of the frame, largest first."""
    h, w = gray.shape
    found = det.detectMultiScale(gray, scaleFactor=1.15, minNeighbors=4, minSize=(22, 22))
    boxes = [[float(x) / w, float(y) / h, float(bw) / w, float(bh) / h] for x, y, bw, bh in found]
    return sorted(boxes, key=lambda b: -b[2] * b[3])


def salient_box(sal_model: Any, gray: Any, prev: Any | None) -> list[float]:
    """[x, y, w, h, strength, moving] (fractions) of the region that draws the eye:
    spectral-residual saliency, weighted up where the picture moves (moving = 1.0)."""
    import cv2
    import numpy as np

    small = cv2.resize(gray, (64, 36), interpolation=cv2.INTER_AREA)
    ok, sal = sal_model.computeSaliency(small)
    sal = sal.astype(np.float32) if ok else np.zeros_like(small, np.float32)
    sal = cv2.GaussianBlur(sal, (0, 0), 1.5)
    if sal.max() > 0:
        sal /= sal.max()
    weight = sal
    moving = 0.0
    if prev is not None:
        motion = cv2.absdiff(small, cv2.resize(prev, (64, 36), interpolation=cv2.INTER_AREA)).astype(np.float32)
        motion = cv2.GaussianBlur(motion, (0, 0), 2.0)
        if motion.max() > 8:
            weight = 0.5 * sal + motion / motion.max()
            moving = 1.0
    if weight.max() <= 0:
        return [0.5, 0.5, 0.0, 0.0, 0.0, 0.0]
    mask = weight >= 0.6 * weight.max()
    ys, xs = np.nonzero(mask)
    hh, ww = small.shape
    x0, x1 = xs.min() / ww, (xs.max() + 1) / ww
    y0, y1 = ys.min() / hh, (ys.max() + 1) / hh
    strength = float(weight[mask].mean() / (weight.mean() + 1e-6))
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0), strength, moving]


def find_cuts(diffs: list[float], fps: float) -> list[int]:
    """Frame indices where a new shot starts, from mean absolute differences of tiny grey
    frames (diffs[i] compares frame i with frame i-1).

    A hand-written detector (in the manner of PySceneDetect's content detector) because
    it must share the one decode the face detector uses."""
    import numpy as np

    d = np.asarray(diffs, dtype=np.float64)
    cuts: list[int] = []
    half = max(3, int(round(fps / 2)))
    min_gap = max(2, int(round(fps * 0.4)))
    for i in range(1, len(d)):
        lo, hi = max(1, i - half), min(len(d), i + half + 1)
        around = np.concatenate([d[lo:i], d[i + 1:hi]])
        base = float(np.median(around)) if len(around) else 0.0
        if d[i] > 18.0 and d[i] > 3.0 * base + 6.0 and (not cuts or i - cuts[-1] >= min_gap):
            cuts.append(i)
    return cuts


def _jump_cuts(samples: list[dict[str, Any]], diffs: list[float], cuts: list[int]) -> list[int]:
    """Cuts where only the subject jumps (same background): the face track teleports
    between two samples; the cut is the frame of largest change between them."""
    extra = []
    for a, b in zip(samples, samples[1:]):
        if not a["faces"] or not b["faces"]:
            continue
        fa, fb = a["faces"][0], b["faces"][0]
        ca, cb = fa[0] + fa[2] / 2, fb[0] + fb[2] / 2
        size = max(fa[2], fb[2])
        if abs(ca - cb) > max(0.25, 2.5 * size) and not any(a["frame"] < c <= b["frame"] for c in cuts):
            span = range(a["frame"] + 1, b["frame"] + 1)
            extra.append(max(span, key=lambda i: diffs[i]))
    return extra


def _analyse(path: str, src_size: tuple[int, int], fps: Fraction) -> dict[str, Any]:
    import cv2
    import numpy as np

    from pipeline.analysis.frames import analysis_size, read_frames

    width = min(ANALYSIS_WIDTH, src_size[0] // 2 * 2)
    aw, ah = analysis_size(src_size[0], src_size[1], width)
    det = _face_detector()
    sal_model = cv2.saliency.StaticSaliencySpectralResidual_create()
    step = max(1, int(round(float(fps) / SAMPLE_RATE)))
    diffs: list[float] = [0.0]
    samples: list[dict[str, Any]] = []
    prev_tiny = None
    prev_sample = None
    count = 0
    for i, (_, gray) in enumerate(read_frames(path, width=aw, height=ah, fps=fps, gray=True, src_size=src_size)):
        tiny = cv2.resize(gray, _TINY, interpolation=cv2.INTER_AREA).astype(np.int16)
        if prev_tiny is not None:
            diffs.append(float(np.abs(tiny - prev_tiny).mean()))
        prev_tiny = tiny
        if i % step == 0:
            samples.append({"frame": i, "faces": detect_faces(det, gray),
                            "salient": salient_box(sal_model, gray, prev_sample)})
            prev_sample = gray
        count = i + 1
    cuts = find_cuts(diffs, float(fps))
    cuts = sorted(set(cuts) | set(_jump_cuts(samples, diffs, cuts)))
    return {"version": ANALYSIS_VERSION, "frames": count, "fps": str(fps), "size": [aw, ah],
            "samples": samples, "cuts": cuts}


def analyse_source(path: str, src_size: tuple[int, int], fps: Fraction) -> dict[str, Any]:
    """Faces, saliency and shot boundaries of a whole source, cached by content hash.

    Returns {"frames": N, "samples": [{"frame": i, "faces": [[x, y, w, h]...],
    "salient": [x, y, w, h, strength]}...], "cuts": [frame index where a shot starts...]}
    with every box in fractions of the frame and frames counted at `fps` from 0.
    """
    from pipeline.analysis.cache import cached_json, file_digest

    parts = {"source": file_digest(path), "fps": str(fps), "size": list(src_size),
             "version": ANALYSIS_VERSION, "width": ANALYSIS_WIDTH, "rate": SAMPLE_RATE}
    return cached_json("saliency", parts, lambda: _analyse(path, src_size, fps))
