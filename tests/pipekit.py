"""Helpers for the pipeline-file tests: tiny media, a tiny export preset, test stages."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import ClassVar, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from pipeline.run.stage import StageContext, registry
from pipeline.model.timeline import AudioItem, Marker, Timeline
from tests.media import make_clip, write_preset

def tiny_preset(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """User presets `tiny` (crf 35) and `tiny2` (crf 40), 64k audio at -16 LUFS."""
    for name, crf in (("tiny", 35), ("tiny2", 40)):
        write_preset(folder, name, description="test preset: 320x180 ultrafast", crf=crf,
                     audio_bitrate="64k", loudness_lufs=-16.0)
    monkeypatch.setenv("REELFORGE_PRESETS", str(folder))


def clips(folder: Path, n: int = 2, duration: float = 1.0) -> list[Path]:
    tones = [440, 660, 880, 550]
    return [make_clip(folder / f"clip{i + 1}.mp4", duration=duration, audio=True, tone=tones[i % 4])
            for i in range(n)]


class TrimParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = 1.0
    transition: Literal["cut", "fade", "wipeleft"] = "cut"


class TrimStage:
    """Test stage: cut the last clip to `seconds`."""

    name: ClassVar[str] = "trimlast"
    Params: ClassVar[type[BaseModel]] = TrimParams
    calls: ClassVar[int] = 0

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        assert isinstance(params, TrimParams)
        type(self).calls += 1
        tl = tl.copy()
        last = tl.video[-1]
        last.out_point = last.in_point + Fraction(params.seconds).limit_denominator(1000)
        return tl


class BedParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track: str
    gain_db: float = -12.0


class BedStage:
    """Test stage: lay an audio file under the whole timeline as music (a stand-in for music)."""

    name: ClassVar[str] = "bed"
    Params: ClassVar[type[BaseModel]] = BedParams
    calls: ClassVar[int] = 0

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        assert isinstance(params, BedParams)
        type(self).calls += 1
        tl = tl.copy()
        src = str(ctx.resolve(params.track))
        tl.track("music").items.append(AudioItem(src, start=Fraction(0), out_point=Fraction(1, 2),
                                                 gain_db=params.gain_db))
        tl.markers.append(Marker(Fraction(1, 2), "cue", "bed"))
        return tl


@pytest.fixture
def test_stages():  # noqa: ANN201
    """Register the test stages for the duration of a test."""
    reg = registry()
    TrimStage.calls = BedStage.calls = 0
    reg["trimlast"] = TrimStage
    reg["bed"] = BedStage
    yield reg
    reg.pop("trimlast", None)
    reg.pop("bed", None)
