"""Picture events for the offset check: brightness flashes, cuts and changes of motion,
measured on every frame of a tiny gray decode. Index k of each feature = something
changed at frame k."""

from __future__ import annotations

from typing import Iterable

import numpy as np

FLASH_MIN = 3.0  # mean brightness rise (of 255) that counts as a flash
CUT_MIN = 12.0  # mean absolute frame difference (of 255) next to which motion is not trusted
CUT_CHANGE = 0.35  # 1 - correlation of consecutive thumbnails that counts as a new picture
MOTION_MIN = 1.0  # change of velocity (pixels per 1/25 s at 160 px) that counts


def _spikes(x: np.ndarray, radius: int = 3) -> np.ndarray:
    """What rises above its local median: isolates events from steady levels."""
    if x.size == 0:
        return x
    pad = np.pad(x, radius, mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(pad, 2 * radius + 1)
    return np.maximum(x - np.median(win, axis=1), 0.0)


def visual_features(frames: Iterable[np.ndarray], grid: int = 4, fps: float = 25.0) -> dict[str, np.ndarray]:
    """Per-frame event strengths, index k = something changed at frame k.

    flash:  rise in mean brightness from frame k-1 to k
    cut:    spike in mean absolute frame difference (a new shot begins at k)
    motion: change of velocity at k (optical flow before vs after, per grid cell), so an
            impact or a bounce shows as a spike; sub-frame timing survives because the
            velocity change splits between neighbouring frames in proportion. The
            picture's overall motion (a pan, a drifting background) is taken out first;
            velocities are in pixels per 1/25 s, averaged over ~40 ms either side of the
            frame, so an impact looks the same at 24 and at 60 fps.
    """
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    means: list[float] = []
    diffs: list[float] = [0.0]
    changes: list[float] = [0.0]
    thumb_prev: np.ndarray | None = None
    vels: list[np.ndarray] = []
    valids: list[np.ndarray] = []
    prev: np.ndarray | None = None
    for frame in frames:
        h, w = frame.shape
        ch, cw = h // grid, w // grid
        means.append(float(cv2.mean(frame)[0]))
        # a cut changes what is seen, not only how bright: correlation of 32 px thumbnails
        # ignores brightness and contrast (flashes) and most motion
        thumb = cv2.resize(frame, (32, max(2, 32 * frame.shape[0] // frame.shape[1])),
                           interpolation=cv2.INTER_AREA).astype(np.float32)
        thumb -= thumb.mean()
        spread = float(np.sqrt((thumb * thumb).mean()))
        thumb = thumb / spread if spread > 2.0 else None  # type: ignore[assignment]
        if thumb_prev is not None and thumb is not None:
            changes.append(1.0 - float((thumb * thumb_prev).mean()))
        elif means[:-1]:
            changes.append(0.0)
        thumb_prev = thumb
        if prev is None:
            vels.append(np.zeros((grid, grid, 2), np.float32))
            valids.append(np.zeros((grid, grid), bool))
            prev = frame
            continue
        absdiff = cv2.absdiff(frame, prev)
        diffs.append(float(cv2.mean(absdiff)[0]))
        # velocity per cell: mean flow over the pixels that move (an object, not its cell)
        flow = dis.calc(prev, frame, None)
        flow -= np.median(flow.reshape(-1, 2), axis=0)  # the camera's (or the background's) own motion
        flow = flow[: ch * grid, : cw * grid]
        flow = flow.reshape(grid, ch, grid, cw, 2).transpose(0, 2, 1, 3, 4)
        changed = absdiff[: ch * grid, : cw * grid].reshape(grid, ch, grid, cw).transpose(0, 2, 1, 3)
        moving = ((np.abs(flow[..., 0]) + np.abs(flow[..., 1]) > 0.35) & (changed > 3)).astype(np.float32)
        cnt = moving.sum(axis=(2, 3))
        sums = (flow * moving[..., None]).sum(axis=(2, 3))
        vels.append(sums / np.maximum(cnt, 1)[..., None] * (160.0 / w))  # px/frame at 160 px wide
        valids.append(cnt >= max(2, ch * cw // 100))
        prev = frame
    n = len(means)
    mean = np.array(means, np.float32)
    diff = np.array(diffs[:n], np.float32)
    vel = np.array(vels, np.float32).reshape(n, grid, grid, 2)
    valid = np.array(valids, bool).reshape(n, grid, grid)
    dmean = np.zeros(n, np.float32)
    dmean[1:] = np.diff(mean)
    flash = np.maximum(dmean - FLASH_MIN, 0.0)
    # a change of picture not explained by a change of overall brightness
    cut = 100.0 * np.maximum(_spikes(np.array(changes[:n], np.float32)) - CUT_CHANGE, 0.0)
    motion = np.zeros(n, np.float32)
    base = max(1, int(round(fps / 25.0)))  # velocities over ~40 ms, whatever the frame rate
    if n > 2 * base + 1:
        v25 = vel * (fps / 25.0)  # pixels per 1/25 s: the same impact gives the same change at any rate
        ok = valid.astype(np.float32)
        ck = np.cumsum(np.concatenate([np.zeros((1,) + v25.shape[1:], np.float32), v25]), axis=0)
        cv = np.cumsum(np.concatenate([np.zeros((1,) + ok.shape[1:], np.float32), ok]), axis=0)
        # mean velocity over the `base` intervals before frame k and the `base` after it
        ks = np.arange(base, n - base)
        before = (ck[ks + 1] - ck[ks + 1 - base]) / base
        after = (ck[ks + 1 + base] - ck[ks + 1]) / base
        both = ((cv[ks + 1] - cv[ks + 1 - base]) == base) & ((cv[ks + 1 + base] - cv[ks + 1]) == base)
        dv = np.where(both, np.linalg.norm(after - before, axis=-1), 0.0)
        motion[ks] = np.maximum(dv - MOTION_MIN, 0.0).sum(axis=(1, 2))
    # flow across a flash or a cut is meaningless: no motion events next to them
    bad = np.flatnonzero((np.abs(dmean) > FLASH_MIN) | (diff > CUT_MIN * 2))
    for k in bad:
        motion[max(0, k - 2): k + 2] = 0.0
    motion = _spikes(motion, 4)
    motion[motion < MOTION_MIN * 2] = 0.0  # flow noise is not an event
    return {"flash": flash, "cut": cut, "motion": motion}
