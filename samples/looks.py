"""Frame effects for the demo's `effect` step (run through moviepy on one clip)."""

import numpy as np


def warm(frame: np.ndarray, strength: float = 0.2) -> np.ndarray:
    """A warmer grade: lift red, lower blue. frame: H x W x 3 uint8 RGB."""
    out = frame.astype(np.float32)
    out[..., 0] *= 1 + strength
    out[..., 2] *= 1 - strength / 2
    return np.clip(out, 0, 255).astype(np.uint8)
