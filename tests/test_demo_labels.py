"""The demo's offline shots show their prompt as a small label. After the demo reframes them
into a vertical and a square output, every label must be whole, inside the platform's safe
zone and clear of the burned voiceover captions. Measured on the rendered files: the
label's glyphs are searched for in every sampled frame. And the check after export
measures each shot of each delivered file: the hiker's line in the jacket shot by its lips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from pipeline.analysis.frames import read_frames
from pipeline.delivery.captions import caption_strip
from pipeline.delivery.presets import get_preset
from pipeline.providers.local import label_image
from pipeline.run.runner import run_file_results
from stages.check.shots import rendered_shots
from tests.media import copy_samples, write_preset

# Two outputs the size of a phone's view, with the margins of the shipped presets the demo
# exports to (tiktok's are the widest of the vertical ones).
OUTPUTS = {"labels-vertical": ("tiktok", 540, 960), "labels-square": ("instagram-feed-square", 1080, 1080)}
SAMPLE_FPS = 4


@pytest.fixture(scope="module")
def demo_outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, tuple[Path, Any]], dict[str, str]]:
    root = tmp_path_factory.mktemp("labels")
    project = root / "samples"
    copy_samples(project)
    spec = yaml.safe_load((project / "promo.yaml").read_text())
    # the demo's shots, joins, narration, reframing and check of what was delivered; its
    # grade and music change no label and are left out to keep the test short
    kept = [s for s in spec["steps"] if next(iter(s)) in ("stitch", "voiceover", "reframe", "export", "check")]
    for step in kept:
        if "export" in step:
            step["export"].update(presets=list(OUTPUTS), thumbnail=False, provenance="off")
    spec["steps"] = kept
    (project / "promo.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    folder = root / "presets"
    for name, (like, w, h) in OUTPUTS.items():
        p = get_preset(like)
        write_preset(folder, name, aspect=p.aspect, width=w, height=h, crf=16,
                     safe_top=p.safe_top, safe_bottom=p.safe_bottom, safe_left=p.safe_left,
                     safe_right=p.safe_right)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REELFORGE_PRESETS", str(folder))
        result = run_file_results(project / "promo.yaml", quiet=True, live=False, summary=False)[0]
        presets = {name: get_preset(name) for name in OUTPUTS}
    files = {o["preset"]: (Path(o["path"]), presets[o["preset"]]) for o in result.outputs
             if str(o.get("path", "")).endswith(".mp4")}
    prompts = {s["id"]: s["prompt"] for s in spec["shots"]}
    return result, files, prompts


def _glyphs(prompt: str, src_w: int, src_h: int, scale: float) -> np.ndarray:
    """The label's white glyph cores as they appear at `scale` in an output (a 0/1 mask)."""
    import cv2

    img, _ = label_image(prompt, src_w, src_h)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    white = (np.asarray(img)[:, :, 0] > 240).astype(np.float32)
    return (cv2.resize(white, size, interpolation=cv2.INTER_AREA) > 0.5).astype(np.uint8)


def _find(frame: np.ndarray, glyphs: np.ndarray) -> tuple[float, int, int]:
    """(agreement, x, y) of the best match of `glyphs` among the frame's white pixels. The
    agreement is the smaller of the share of the label's glyph pixels found there and the
    share of the white pixels there that its glyphs explain (one pixel of slack either
    way): near 1 for the label itself, low for other text."""
    import cv2

    white = (frame.min(axis=2) > 190).astype(np.uint8)
    gh, gw = glyphs.shape
    if white.shape[0] < gh or white.shape[1] < gw or not glyphs.any():
        return 0.0, 0, 0
    soft = (lambda m: cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1))
    hits = cv2.matchTemplate(soft(white), soft(glyphs), cv2.TM_CCORR_NORMED)
    _, _, _, (x, y) = cv2.minMaxLoc(hits)
    seen = white[y:y + gh, x:x + gw]
    grow = (lambda m: cv2.dilate(m, np.ones((3, 3), np.uint8)))
    found = (glyphs & grow(seen)).sum() / glyphs.sum()
    explained = (seen & grow(glyphs)).sum() / max(1, seen.sum())
    return float(min(found, explained)), x, y


@pytest.mark.parametrize("preset", list(OUTPUTS))
def test_every_label_is_whole_in_the_safe_zone_and_clear_of_captions(
        demo_outputs: tuple[Any, dict[str, tuple[Path, Any]], dict[str, str]], preset: str) -> None:
    result, files, prompts = demo_outputs
    tl = result.timeline
    path, spec = files[preset]
    w, h = spec.width, spec.height
    sx, sy, sw, sh = spec.safe_box()
    cap_y, _, cap_h = caption_strip(spec)
    clips = {c.id: c for c in tl.video}
    spans = rendered_shots(tl)  # where each clip is seen alone, no transition touching it
    checked = {c.id: 0 for c in tl.video}
    for t, frame in read_frames(str(path), width=w, fps=SAMPLE_FPS):
        shown = [clips[c] for a, b, c in spans if a + 0.1 <= t <= b - 0.1]
        if not shown:
            continue
        clip = shown[0]
        # the output shows a crop of the source, the full side it keeps scaled to the output
        crop_w = min(clip.src_width, clip.src_height * w / h)
        glyphs = _glyphs(prompts[clip.id], clip.src_width, clip.src_height, w / crop_w)
        found, x, y = _find(frame, glyphs)
        where = f"{preset} at {t:.2f} s ({clip.id}): label at x={x} y={y} {glyphs.shape[1]}x{glyphs.shape[0]}"
        assert found > 0.85, f"{where}: its glyphs agree {found:.0%} with the picture"
        gw, gh = glyphs.shape[1], glyphs.shape[0]
        assert sx <= x and x + gw <= sx + sw and sy <= y and y + gh <= sy + sh, \
            f"{where}: outside the safe zone {sx},{sy} {sw}x{sh}"
        assert y + gh <= cap_y or y >= cap_y + cap_h, f"{where}: on the captions' band at y={cap_y}"
        checked[clip.id] += 1
    assert all(n >= 3 for n in checked.values()), checked  # every shot was seen, whole, several times


def test_the_check_after_export_reads_the_speaking_shot_by_its_lips(
        demo_outputs: tuple[Any, dict[str, tuple[Path, Any]], dict[str, str]]) -> None:
    result, files, prompts = demo_outputs
    docs = {Path(f["check"]["input"]): f["check"] for f in result.findings if "check" in f}
    assert set(docs) == {path for path, _ in files.values()}
    for path, doc in docs.items():
        shots = {s["clip"]: s for s in doc["shots"]}
        assert list(shots) == list(prompts), (path, list(shots))  # a shot per clip, fades or not
        jacket = shots["jacket"]
        assert jacket["feature"] == "lips" and jacket["offset_ms"] is not None, (path, jacket["reason"])
        assert abs(jacket["offset_ms"]) <= 45 and jacket["confidence"] >= 0.97, (path, jacket)
        assert doc["av_offset_ms"] == jacket["offset_ms"]  # the file's figure is its measured shot's
        # faces that do not speak are not given an offset
        assert all(shots[c]["offset_ms"] is None for c in ("opener", "summit", "logo")), path
