"""The offline video provider: deterministic clips with the exact shape of the model they
stand in for. A detailed background pans slowly, a subject (a face on a disc) moves across
the frame, the prompt is shown small above the subject (Pillow with the shipped Roboto font: no system fonts),
and kling-v2-6 with sound gets a sound bed whose ticks fall on the subject's bounces, with
the dialogue its prompt quotes spoken over it by espeak-ng.

A change to how these clips look needs RENDERER_VERSIONS["local"] (base.py) raised, so cached
clips in the old look are made anew.
"""

from __future__ import annotations

import random
import re
import tempfile
from pathlib import Path
from typing import Any

from pipeline.progress import Reporter
from pipeline.timebase import fmt_fraction
from pipeline.providers import cancel
from pipeline.providers.base import VideoRequest
from pipeline.providers.models import get_model


def _background(w: int, h: int, rng: random.Random) -> Any:
    """A textured scene larger than the frame (so it can pan): gradient, shapes, grain."""
    import cv2
    import numpy as np

    bw, bh = int(w * 1.25) // 2 * 2, int(h * 1.25) // 2 * 2
    c0 = np.array([rng.randint(20, 120) for _ in range(3)], dtype=np.float32)
    c1 = np.array([rng.randint(100, 230) for _ in range(3)], dtype=np.float32)
    ys = np.linspace(0, 1, bh, dtype=np.float32)[:, None, None]
    xs = np.linspace(0, 1, bw, dtype=np.float32)[None, :, None]
    img = c0 * (1 - (0.6 * ys + 0.4 * xs)) + c1 * (0.6 * ys + 0.4 * xs)
    img = img.astype(np.uint8).copy()
    for _ in range(40):
        colour = tuple(int(rng.randint(0, 255)) for _ in range(3))
        x, y = rng.randint(0, bw), rng.randint(0, bh)
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + rng.randint(20, bw // 5), y + rng.randint(20, bh // 5)), colour, -1)
        else:
            cv2.circle(img, (x, y), rng.randint(10, min(bw, bh) // 10), colour, -1)
    img = cv2.GaussianBlur(img, (0, 0), 3)
    nrng = np.random.default_rng(rng.randint(0, 2**31))
    grain = nrng.normal(0, 10, img.shape).astype(np.float32)
    return np.clip(img.astype(np.float32) + grain, 0, 255).astype(np.uint8)


def _subject(size: int, rng: random.Random, mouth: float = 0.0) -> Any:
    """A face on a coloured disc, RGBA; `mouth` 0 is a closed smile, up to 1 wide open.
    The disc's colour comes from `rng` (drawn again with the same state, the same face)."""
    import cv2
    import numpy as np

    img = np.zeros((size, size, 4), dtype=np.uint8)
    c = size // 2
    disc = (rng.randint(150, 255), rng.randint(60, 200), rng.randint(0, 120), 255)
    cv2.circle(img, (c, c), c - 2, disc, -1, lineType=cv2.LINE_AA)
    skin = (120, 170, 225, 255)  # BGR
    cv2.ellipse(img, (c, c), (int(size * 0.28), int(size * 0.36)), 0, 0, 360, skin, -1, cv2.LINE_AA)
    eye_y, eye_dx, eye_r = int(c - size * 0.08), int(size * 0.11), max(2, size // 22)
    for dx in (-eye_dx, eye_dx):
        cv2.circle(img, (c + dx, eye_y), eye_r, (40, 30, 30, 255), -1, cv2.LINE_AA)
    lips = (60, 40, 160, 255)
    if mouth < MOUTH_CLOSED:
        cv2.ellipse(img, (c, int(c + size * 0.15)), (int(size * 0.1), int(size * 0.04)), 0, 0, 180,
                    lips, max(2, size // 40), cv2.LINE_AA)
    else:  # an open mouth: dark inside, lips around it
        axes = (int(size * 0.09), max(2, int(size * MOUTH_HEIGHT * mouth)))
        centre = (c, int(c + size * 0.16))
        cv2.ellipse(img, centre, axes, 0, 0, 360, (40, 30, 90, 255), -1, cv2.LINE_AA)
        cv2.ellipse(img, centre, axes, 0, 0, 360, lips, max(2, size // 60), cv2.LINE_AA)
    cv2.line(img, (c, eye_y + eye_r * 2), (c, int(c + size * 0.06)), (90, 120, 170, 255), max(1, size // 60))
    return img


# A stand-in that speaks moves its mouth with its line: on each frame, the level of the
# line's speech band (its formants follow the jaw) sets how far the mouth is open.
# `check` measures lip sync by this.
MOUTH_HEIGHT = 0.08  # the open mouth's half-height, as a fraction of the subject
MOUTH_CLOSED = 0.05  # an opening under this is drawn closed
MOUTH_FLOOR_DB = 24.0  # a speech band this far under the line's loudest is a closed mouth


def mouth_openings(voice: Any, sample_rate: int, fps: float, frames: int, at: float) -> list[float]:
    """How far the mouth is open (0..1) on each of `frames` video frames, for the line
    `voice` (mono samples) spoken from `at` seconds."""
    import numpy as np

    from pipeline.analysis.speech import SPEECH_HOP, band_envelope

    level = band_envelope(voice, sample_rate)
    level = np.clip((level - (level.max() - MOUTH_FLOOR_DB)) / MOUTH_FLOOR_DB, 0.0, 1.0)
    out = []
    for k in range(frames):  # frame k shows the line as it sounds over its own time
        a, b = ((k - 0.5) / fps - at) / SPEECH_HOP, ((k + 0.5) / fps - at) / SPEECH_HOP
        span = level[max(0, int(a)):max(0, int(b))]
        out.append(float(span.mean()) if span.size else 0.0)
    return out


# Where the prompt is drawn: small, inside every shipped preset's safe zone, above the
# subject, and moving across the frame with it: a reframed output follows the subject, so
# the whole label stays in its picture. A 9:16 crop is the narrowest a preset asks for,
# and the reframe's camera does not centre the subject in it: it keeps the face clear of
# its edges and otherwise moves as little as it can, so the subject's centre roams up to
# a fifth of the crop's width either side. On a clip wider than that crop the label is
# therefore at most 40 % of the crop wide (in more, shorter lines), centred a little left
# of the subject as the vertical presets' safe zones are (6 % left, 14 % right).
# It sits above the subject's highest point. A clip narrower than 16:9 loses its top and
# bottom to a wider crop that follows the subject (a square of a portrait clip, 16:9 of a
# square one), so there the label is short (two lines on a portrait clip, three on a
# square one) and rides just above the subject as it bounces. (The subject bounces in
# every shape: the sound of kling-v2-6 ticks on its bounces, an event `check` can measure.)
PROMPT_TOP = 0.14  # the largest top margin of the shipped presets, as a fraction of the height
LANDSCAPE_TEXT = 0.032  # the label's text size, as a fraction of a 9:16 crop's width
PORTRAIT_TEXT = 0.025
LABEL_WIDTH = 0.40  # the label's widest, as a fraction of a 9:16 crop narrower than the clip
PORTRAIT_LABEL_WIDTH = 0.72  # ...and of a clip no wider than that crop (it keeps the whole width)
LABEL_SHIFT = 0.04  # how far left of the subject's centre it is centred (same unit)
# The shipped presets' largest side margins, per crop shape (width / height): a 9:16 crop
# keeps 6 % free on the left and 14 % on the right; the others 5 % on each side.
SIDE_MARGINS = ((9 / 16, 0.06, 0.14), (4 / 5, 0.05, 0.05), (1.0, 0.05, 0.05))
PROMPT_MAX_LINES = 5
PORTRAIT_MAX_LINES = 2
SQUARE_MAX_LINES = 3
SUBJECT_TOP = 0.40  # the subject's highest point, as a fraction of (frame height - subject size)
BOUNCE = 0.2  # how far it bounces, as a fraction of (frame height - subject size)
TALKING_BOUNCE = 0.03  # ...and when it speaks: a talking head nods, it does not jump


def vertical_crop(w: int, h: int) -> float:
    """The width of a 9:16 crop of a w x h clip (the whole width when it is narrower)."""
    return min(w, h * 9 / 16)


def label_limits(w: int, h: int) -> tuple[float, float]:
    """Where the label's left edge may go on a w x h frame: (lowest, highest + its width).
    A crop that follows the subject stops at the frame's edge, so there the label must
    keep the crop's side margin from that edge; every narrower-than-the-frame shape counts."""
    left = right = 0.0
    for aspect, m_left, m_right in SIDE_MARGINS:
        crop = min(w, h * aspect)
        left, right = max(left, crop * m_left), max(right, crop * m_right)
    return left + 2, w - right - 2


def prompt_overlay(text: str, w: int, h: int, subject: int = 0,
                   max_lines: int = PROMPT_MAX_LINES) -> tuple[Any, int, int]:
    """The prompt as an RGBA image (Pillow, Roboto from font-roboto: any script the font
    covers, never '?'), with the (x, y) where it goes on a w x h frame when centred; y is
    below PROMPT_TOP and above a subject of `subject` px at its highest."""
    from PIL import Image, ImageDraw

    from pipeline.render.fonts import font as _font, wrap

    crop = vertical_crop(w, h)  # the width a vertical output keeps: the label is sized for it
    # a portrait clip is shown whole in a vertical output and scaled up in a square one
    size = max(12, round(crop * (PORTRAIT_TEXT if h > w else LANDSCAPE_TEXT)))
    font = _font(size)
    pad = round(size * 0.4)
    max_width = crop * (LABEL_WIDTH if crop < w else PORTRAIT_LABEL_WIDTH) - 2 * pad
    lines = [" ".join(line) for line in wrap(text.split(), font, max_width)] or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(".,;: ") + "…"
    gap, stroke = round(size * 0.25), max(1, size // 12)
    line_h = size + gap
    box_w = round(max(font.getlength(line) for line in lines)) + 2 * pad
    box_h = line_h * len(lines) - gap + 2 * pad + stroke * 2
    img = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 96))
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        x = (box_w - font.getlength(line)) / 2
        draw.text((x, pad + i * line_h), line, font=font, fill=(255, 255, 255, 255), stroke_width=stroke,
                  stroke_fill=(0, 0, 0, 255))
    above = int((h - subject) * SUBJECT_TOP) - box_h - gap if subject else 0
    return img, (w - box_w) // 2, max(int(h * PROMPT_TOP) + 1, above)


def label_image(prompt: str, w: int, h: int) -> tuple[Any, int]:
    """The label a w x h clip shows for `prompt`, and its top edge at the subject's highest."""
    # a clip narrower than 16:9 loses its top to a wider crop: the label stays short there
    lines = PORTRAIT_MAX_LINES if h > w else SQUARE_MAX_LINES if w * 9 < h * 16 else PROMPT_MAX_LINES
    img, _, y = prompt_overlay(prompt, w, h, subject=subject_size(w, h), max_lines=lines)
    return img, y


def subject_size(w: int, h: int) -> int:
    """The subject's diameter on a w x h frame (even)."""
    return int(min(w, h) * 0.28) // 2 * 2


# Where the subject goes across the frame (0 left edge, 1 right edge): it crosses it, or,
# when it speaks, stays near the middle as a talking head does (lips are read from it).
CROSSING = (0.12, 0.88)
TALKING = (0.42, 0.58)


def _across(path: tuple[float, float], duration: float) -> str:
    """How far across the frame the subject is at time t, going from path[0] to path[1]."""
    return f"({path[0]}+{path[1] - path[0]:.4f}*t/{duration})"


def subject_x(path: tuple[float, float], duration: float) -> str:
    """The subject's left edge over time (an ffmpeg overlay expression: W frame, w subject)."""
    return f"(W-w)*{_across(path, duration)}"


def subject_y(bounce: float = BOUNCE) -> str:
    """The subject's top edge over time (an overlay expression: H frame, h subject)."""
    return f"(H-h)*({SUBJECT_TOP}+{bounce}*abs(sin(PI*t)))"


def label_x(subject: int, path: tuple[float, float], duration: float, w: int, h: int) -> str:
    """The prompt label's left edge on a w x h frame: centred over the subject (`subject` px
    wide), a little to the left as the vertical presets' safe zones are, and kept inside
    label_limits (an overlay expression: W frame, w label)."""
    centre = f"(W-{subject})*{_across(path, duration)}+{subject / 2}"
    shift = vertical_crop(w, h) * LABEL_SHIFT
    lowest, highest = label_limits(w, h)
    return f"max({lowest:.1f},min({highest:.1f}-w,{centre}-{shift:.1f}-w/2))"


# Kling 2.6 with sound speaks the dialogue its prompt quotes ("..." or “...”); the
# stand-in says it with espeak-ng (offline), from DIALOGUE_AT seconds, over its sound bed.
_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”')
DIALOGUE_AT = 0.4


def spoken_line(prompt: str) -> str | None:
    """The dialogue a prompt quotes (several quotes are said one after the other)."""
    parts = [(a or b).strip() for a, b in _QUOTED.findall(prompt)]
    return " ".join(p for p in parts if p) or None


VOICE_RATE = 16000


def _voice(line: str) -> Any:
    """The line as espeak-ng says it: mono samples at VOICE_RATE."""
    from pipeline.analysis.audio import decode_audio
    from pipeline.providers.speech import synthesize

    return decode_audio(str(synthesize(line, "local").path), sample_rate=VOICE_RATE)


def _with_state(state: Any) -> random.Random:
    rng = random.Random()
    rng.setstate(state)
    return rng


def _with_dialogue(bed: Any, line: str, duration: float) -> Any:
    """The bed, lowered, with `line` spoken over it (cut at the end of the clip)."""
    import ffmpeg

    from pipeline.ffmpeg import media_path
    from pipeline.providers.speech import synthesize

    voice = ffmpeg.input(media_path(synthesize(line, "local").path)).audio
    voice = (voice.filter("aresample", 48000).filter("aformat", channel_layouts="stereo")
             .filter("adelay", delays=f"{int(DIALOGUE_AT * 1000)}", all=1))
    bed = bed.filter("volume", 0.5)
    return ffmpeg.filter([bed, voice], "amix", inputs=2, normalize=0, duration="first")


class LocalVideoProvider:
    """Renders stand-in clips with ffmpeg; needs no keys and no network."""

    name = "local"

    def generate(self, req: VideoRequest, out: Path, reporter: Reporter, options: Any = None) -> dict[str, Any]:
        import cv2
        import ffmpeg

        from pipeline.ffmpeg import graph_argv, media_path, run_ffmpeg

        spec = get_model(req.model)
        seed = req.seed if req.seed is not None else abs(hash(req.prompt)) % (2**31)
        rng = random.Random(f"{seed}:{req.prompt}")
        w, h, d = req.width, req.height, req.duration
        fps = spec.fps
        with tempfile.TemporaryDirectory(prefix="reelforge-local-") as tmp:
            bg_path, subj_path, cap_path = (Path(tmp) / n for n in ("bg.png", "subject.png", "caption.png"))
            bg = _background(w, h, rng)
            cv2.imwrite(str(bg_path), bg)
            size = subject_size(w, h)
            face = rng.getstate()  # the open-mouthed faces are drawn from the same state
            cv2.imwrite(str(subj_path), _subject(size, rng))
            cap, cap_y = label_image(req.prompt, w, h)
            cap.save(cap_path)
            r = fmt_fraction(fps)
            pan_x, pan_y = bg.shape[1] - w, bg.shape[0] - h
            rightwards = rng.random() < 0.5
            line = spoken_line(req.prompt) if req.sound and spec.sound != "always" else None
            path = TALKING if line else CROSSING
            path = path if rightwards else (path[1], path[0])
            # Background pans slowly; subject crosses the frame with a gentle bounce.
            back = (
                ffmpeg.input(media_path(bg_path), loop=1, framerate=r, t=str(d))
                .filter("crop", w, h, f"{pan_x}*t/{d}", f"{pan_y}/2+{pan_y}/2*sin(t)")
            )
            voice = _voice(line) if line else None
            if voice is None:
                subj = ffmpeg.input(media_path(subj_path), loop=1, framerate=r, t=str(d))
            else:  # one face a frame, its mouth open as far as the line is loud then
                frames = int(d * fps) + 1
                for k, opening in enumerate(mouth_openings(voice, VOICE_RATE, float(fps), frames, DIALOGUE_AT)):
                    cv2.imwrite(str(Path(tmp) / f"face-{k:05d}.png"), _subject(size, _with_state(face), opening))
                subj = ffmpeg.input(media_path(Path(tmp) / "face-%05d.png"), framerate=r, start_number=0)
            x_expr = subject_x(path, d)
            bounce = TALKING_BOUNCE if line else BOUNCE
            y_expr = subject_y(bounce)
            v = back.overlay(subj, x=x_expr, y=y_expr, format="auto", eof_action="repeat")
            capin = ffmpeg.input(media_path(cap_path), loop=1, framerate=r, t=str(d))
            if w * 9 < h * 16:
                # a wider crop of a clip narrower than 16:9 (square of a portrait clip, 16:9
                # of a square one) follows the subject up and down: the label rides just
                # above it, bouncing with it, so it stays in that crop
                above = int((h - size) * SUBJECT_TOP) - cap_y  # label top to subject top
                cap_y = f"({h}-{size})*({SUBJECT_TOP}+{bounce}*abs(sin(PI*t)))-{above}"
            v = v.overlay(capin, x=label_x(size, path, d, w, h), y=cap_y)
            v = v.filter("format", "yuv420p")
            streams = [v]
            out_args: dict[str, Any] = {"c:v": "libx264", "preset": "veryfast", "crf": 20,
                                        "pix_fmt": "yuv420p", "r": r, "t": str(d),
                                        "movflags": "+faststart"}
            if req.sound:
                f1 = rng.choice([110, 130.81, 146.83, 164.81])
                bed = f"0.08*sin(2*PI*{f1}*t)+0.06*sin(2*PI*{f1 * 1.5}*t)"
                if spec.sound != "always":
                    bed += "+0.3*sin(2*PI*880*t)*exp(-40*mod(t,1))"  # ticks on the bounces
                else:
                    # a model whose clips always carry sound (sora-2): a soft, swelling
                    # ambience, low in crest factor like the room tone such clips have
                    bed = f"(0.5+0.5*sin(2*PI*0.5*t))*({bed})"
                a = ffmpeg.input(f"aevalsrc=exprs='{bed}|{bed}':s=48000:d={d}", f="lavfi").audio
                if line:
                    a = _with_dialogue(a, line, float(d))
                streams.append(a)
                out_args.update({"c:a": "aac", "b:a": "128k", "ar": 48000})
            node = ffmpeg.output(*streams, media_path(out), **out_args)
            cancel.check()  # an interrupted run starts no new render
            run_ffmpeg(graph_argv(node, progress=True), float(d), label=f"local {req.model}", reporter=reporter)
        return {"provider": "local", "model": req.model, "seed": seed, "prompt": req.prompt,
                "duration": d, "size": [w, h], "fps": fmt_fraction(fps), "sound": req.sound}
