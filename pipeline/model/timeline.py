"""The edit being built: a canvas, a video track of clips, audio tracks by role, captions,
markers and provenance. All times are exact Fractions (seconds); JSON keeps them exact
as "n/d" strings. Stages take a Timeline and return a new one; only export renders.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.timebase import fmt_fraction, frames_in, to_fraction  # noqa: F401

from pipeline.model.checks import AUDIO_ROLES, FIT_POLICIES, MAX_SIDE  # noqa: F401 - part of this module's face

SCHEMA_VERSION = 1


@dataclass
class Canvas:
    width: int
    height: int
    fps: Fraction
    sample_rate: int = 48000
    channels: int = 2

    @property
    def aspect(self) -> Fraction:
        return Fraction(self.width, self.height)


@dataclass
class Transition:
    """How a clip passes to the next one. kind is an ffmpeg xfade name, or "cut"."""

    kind: str = "cut"
    duration: Fraction = Fraction(0)

    @property
    def is_cut(self) -> bool:
        return self.kind == "cut" or self.duration == 0


@dataclass
class CropPath:
    """A crop window over the source, one entry per source frame (t, left, top)."""

    source_size: list[int]
    window_size: list[int]
    frames: list[list[float]] = field(default_factory=list)  # [t, x, y]
    mode: str = "smart"


@dataclass
class Clip:
    """A span of a source placed on the video track."""

    source: str
    in_point: Fraction
    out_point: Fraction
    id: str = ""
    has_audio: bool = False
    src_width: int = 0
    src_height: int = 0
    src_fps: Fraction = Fraction(0)
    src_duration: Fraction = Fraction(0)
    transition: Transition = field(default_factory=Transition)  # to the next clip
    fit: str | None = None  # None: the timeline's policy
    crop: CropPath | None = None
    color: dict[str, float] = field(default_factory=dict)
    hold: Fraction = Fraction(0)  # last frame held this long after out_point
    audio_shift: Fraction = Fraction(0)  # the clip's own sound is delayed this long (negative: advanced)
    effect: dict[str, Any] | None = None
    label: str = ""
    # The clip's own sound: where it is speech ([start, end] seconds of the source; None:
    # not analysed yet), and its level on top of the original track's gain, or muted.
    speech: list[list[Fraction]] | None = None
    audio_gain_db: float = 0.0
    audio_muted: bool = False

    @property
    def duration(self) -> Fraction:
        return self.out_point - self.in_point + self.hold

    @property
    def source_duration(self) -> Fraction:
        return self.out_point - self.in_point


@dataclass
class Word:
    text: str
    start: Fraction
    end: Fraction


@dataclass
class AudioItem:
    """A span of an audio source placed at `start` on the timeline."""

    source: str
    start: Fraction
    in_point: Fraction = Fraction(0)
    out_point: Fraction = Fraction(0)
    gain_db: float = 0.0
    fade_in: Fraction = Fraction(0)
    fade_out: Fraction = Fraction(0)
    loop: bool = False
    id: str = ""
    text: str = ""
    words: list[Word] = field(default_factory=list)
    # Looping (music beds): the first pass plays in_point..out_point, every further pass
    # loop_start..out_point, each joined by a crossfade centred on the loop points;
    # `length` is how long the item plays on the timeline (0: one pass).
    loop_start: Fraction = Fraction(0)
    crossfade: Fraction = Fraction(0)
    length: Fraction = Fraction(0)

    @property
    def duration(self) -> Fraction:
        if self.loop and self.length > 0:
            return self.length
        return self.out_point - self.in_point

    @property
    def end(self) -> Fraction:
        return self.start + self.duration


DIALOGUE = "dialogue"  # a ducking key: the speech in the clips' own sound (Clip.speech)


@dataclass
class Ducking:
    """Lower this track by amount_db while any of the `under` roles is active: a track's
    role, or "dialogue" for the speech in the clips' own sound. One role as a plain
    string is the form of older files and still reads. `within` "speaking-clips" limits
    it to the time of the clips whose own sound speaks (the clips' sound under the
    narrator); "all" is the whole track."""

    under: str | list[str] = "voiceover"
    amount_db: float = 12.0
    attack: Fraction = Fraction(8, 100)
    release: Fraction = Fraction(4, 10)
    within: str = "all"

    @property
    def roles(self) -> list[str]:
        return [self.under] if isinstance(self.under, str) else list(self.under)


@dataclass
class AudioTrack:
    role: str
    items: list[AudioItem] = field(default_factory=list)
    gain_db: float = 0.0
    muted: bool = False
    duck: Ducking | None = None


@dataclass
class Caption:
    start: Fraction
    end: Fraction
    text: str


@dataclass
class Marker:
    time: Fraction
    kind: str
    label: str = ""


@dataclass
class Timeline:
    canvas: Canvas
    video: list[Clip] = field(default_factory=list)
    audio: dict[str, AudioTrack] = field(default_factory=dict)
    fit: str = "contain-blur"
    reframe: dict[str, Any] | None = None
    captions: list[Caption] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    provenance: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    # ---- derived facts -------------------------------------------------------------
    @property
    def duration(self) -> Fraction:
        """Sum of the clips minus the transition overlaps, snapped to whole frames."""
        starts = self.clip_starts()
        if not self.video:
            return Fraction(0)
        return starts[-1] + self.video[-1].duration

    def clip_starts(self) -> list[Fraction]:
        """Timeline time at which each clip begins (overlaps subtract)."""
        starts: list[Fraction] = []
        t = Fraction(0)
        for i, clip in enumerate(self.video):
            starts.append(t)
            overlap = clip.transition.duration if i < len(self.video) - 1 and not clip.transition.is_cut else 0
            t += clip.duration - overlap
        return starts

    def cut_times(self) -> list[Fraction]:
        """The midpoint of each transition (or the cut instant) on the timeline."""
        starts = self.clip_starts()
        cuts = []
        for i in range(1, len(self.video)):
            tr = self.video[i - 1].transition
            d = tr.duration if not tr.is_cut else Fraction(0)
            cuts.append(starts[i] + d / 2)
        return cuts

    @property
    def frame_count(self) -> int:
        return frames_in(self.duration, self.canvas.fps)

    def require_clips(self, what: str) -> None:
        """InputError when there is no clip yet for `what` (a stage name) to work on."""
        if not self.video:
            raise InputError(f"{what}: the timeline has no clips yet (add it after generate or stitch)")

    def track(self, role: str) -> AudioTrack:
        """The audio track for a role, created empty when missing."""
        if role not in self.audio:
            self.audio[role] = AudioTrack(role=role)
        return self.audio[role]

    def copy(self) -> "Timeline":
        return copy.deepcopy(self)

    def sources(self) -> list[str]:
        """Every media file the timeline reads (clips, then audio items), each once."""
        seen: dict[str, None] = {}
        for clip in self.video:
            seen.setdefault(clip.source)
        for trk in self.audio.values():
            for item in trk.items:
                seen.setdefault(item.source)
        return list(seen)

    # ---- validation ----------------------------------------------------------------
    def validate(self, where: str = "timeline") -> None:
        """Raise InputError naming the first inconsistency (pipeline.model.checks)."""
        from pipeline.model.checks import validate_timeline

        validate_timeline(self, where)

    # ---- serialisation -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        from pipeline.model.codec import dump

        return {"schema": "reelforge.timeline", "version": SCHEMA_VERSION, **dump(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "timeline") -> "Timeline":
        if not isinstance(data, dict) or data.get("schema") != "reelforge.timeline":
            raise InputError(f"{where}: not a reelforge timeline (missing schema)")
        version = data.get("version")
        if version != SCHEMA_VERSION:
            raise InputError(f"{where}: timeline schema version {version} is not supported (expected {SCHEMA_VERSION})")
        from pipeline.model.codec import load

        body = {k: v for k, v in data.items() if k not in ("schema", "version")}
        try:
            tl = load(cls, body)
        except RecursionError:
            raise InputError(f"{where}: invalid timeline (nested too deeply)") from None
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError, ZeroDivisionError) as exc:
            raise InputError(f"{where}: invalid timeline ({exc})") from None
        tl.validate(where)
        return tl

    def save(self, path: str | os.PathLike[str]) -> Path:
        from pipeline.files import atomic_write_text

        return atomic_write_text(Path(path), self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Timeline":
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{p}: no such file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{p}: not a readable timeline ({exc.__class__.__name__})") from None
        except RecursionError:
            raise InputError(f"{p}: not a readable timeline (nested too deeply)") from None
        return cls.from_dict(data, where=str(p))
