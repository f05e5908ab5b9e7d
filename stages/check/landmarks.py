"""Face landmarks for the lip-sync check: OpenCV's bundled Haar cascade finds the face,
MediaPipe's face landmark model (vendored in models/, Apache-2.0, checked by SHA-256)
places 468 points on it, run by OpenCV's own TFLite importer (no mediapipe install).

The model sees a 192x192 crop around the face. The crop follows the face from frame to
frame: the next crop is the box around this frame's landmarks, grown by half, as in
MediaPipe's own face mesh graph.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import StageError

MODEL = Path(__file__).parent / "models" / "face_landmark.tflite"
MODEL_SHA256 = "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"
SIZE = 192  # the model's input side
ROI_SCALE = 1.5  # crop side = this x the landmarks' extent (MediaPipe's face mesh uses 1.5)
HAAR_SCALE = 1.6  # a Haar box is tighter than the landmarks' extent
# inner-lip pairs (upper, lower) from MediaPipe's canonical face mesh, and the eye corners
INNER_LIPS = ((13, 14), (82, 87), (312, 317), (81, 178), (311, 402))
EYE_OUTER = (33, 263)


@functools.lru_cache(maxsize=1)
def landmark_net() -> Any:
    """The landmark network, loaded once after its checksum is verified."""
    import cv2

    data = MODEL.read_bytes() if MODEL.is_file() else b""
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        raise StageError(f"{MODEL}: face landmark model is missing or damaged (SHA-256 mismatch); reinstall reelforge")
    if not hasattr(cv2.dnn, "readNetFromTFLite"):
        raise StageError(f"OpenCV {cv2.__version__} cannot read TFLite models; reinstall reelforge")
    return cv2.dnn.readNetFromTFLite(str(MODEL))


@functools.lru_cache(maxsize=1)
def face_cascade() -> Any:
    import cv2

    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise StageError(f"{path}: OpenCV's face cascade is missing")
    return cascade


def find_faces(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Face boxes (x, y, w, h) in a small gray frame, largest first."""
    side = min(gray.shape)
    found = face_cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4,
                                            minSize=(max(16, side // 10),) * 2)
    boxes = [tuple(int(v) for v in b) for b in (found if len(found) else [])]
    return sorted(boxes, key=lambda b: -b[2] * b[3])  # type: ignore[return-value]


def _crop(rgb: np.ndarray, cx: float, cy: float, side: float) -> tuple[np.ndarray, float]:
    """A SIZE x SIZE crop centred at (cx, cy) of `side` pixels (edges repeat), and its scale."""
    import cv2

    s = SIZE / side
    m = np.array([[s, 0, SIZE / 2 - s * cx], [0, s, SIZE / 2 - s * cy]], np.float32)
    return cv2.warpAffine(rgb, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), s


def landmarks(rgb: np.ndarray, cx: float, cy: float, side: float) -> tuple[np.ndarray, float]:
    """468 (x, y) points in the frame's pixels, and the model's face score (0..1)."""
    import cv2

    crop, s = _crop(rgb, cx, cy, side)
    net = landmark_net()
    net.setInput(cv2.dnn.blobFromImage(crop, 1.0 / 255.0, (SIZE, SIZE)))
    score, pts = net.forward(["conv2d_31", "conv2d_21"])
    xy = pts.reshape(468, 3)[:, :2].astype(np.float64)
    xy = (xy - SIZE / 2) / s + np.array([cx, cy])
    return xy, float(1.0 / (1.0 + np.exp(-float(score.ravel()[0]))))


def lip_opening(xy: np.ndarray) -> float:
    """Inner-lip gap over the distance between the outer eye corners (scale free)."""
    eyes = float(np.linalg.norm(xy[EYE_OUTER[0]] - xy[EYE_OUTER[1]]))
    gap = np.mean([np.linalg.norm(xy[a] - xy[b]) for a, b in INNER_LIPS])
    return float(gap / eyes) if eyes > 0 else 0.0


def next_roi(xy: np.ndarray) -> tuple[float, float, float]:
    """The crop for the next frame: the landmarks' box grown by ROI_SCALE, squared."""
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    c = (lo + hi) / 2
    return float(c[0]), float(c[1]), float(max(hi - lo) * ROI_SCALE)


class MouthTracker:
    """Lip opening frame by frame, starting from a Haar face box (in the frames' pixels)."""

    def __init__(self, box: tuple[float, float, float, float]) -> None:
        x, y, w, h = box
        self.start = (x + w / 2, y + h / 2 + 0.05 * h, max(w, h) * HAAR_SCALE)
        self.roi = self.start
        self.lost = 0

    def step(self, rgb: np.ndarray) -> tuple[float | None, np.ndarray | None]:
        """The lip opening of this frame (None when no face), and its landmarks."""
        xy, score = landmarks(rgb, *self.roi)
        if score < 0.5:
            self.lost += 1
            self.roi = self.start  # look where the face was found first
            return None, None
        cx, cy, side = next_roi(xy)
        if abs(side - self.roi[2]) < 0.5 * self.roi[2]:
            self.roi = (cx, cy, side)
        return lip_opening(xy), xy
