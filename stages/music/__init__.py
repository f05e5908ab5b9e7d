"""music: a music bed under the picture (looped on a beat or trimmed, faded), ducked
under the voiceover and under the speech in the clips' own sound, with that sound kept at
a chosen level (for all clips, or clip by clip) or muted."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.run.params import Option
from pipeline.run.stage import StageContext
from pipeline.model.timeline import Timeline

MAX_SECONDS = 3600  # fades and start: an hour is past any edit this is for


class MusicParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track: Annotated[str, Option(help="The music file.", role="input")]
    gain_db: Annotated[float, Option(help="Level of the music.")] = Field(default=-6.0, ge=-60, le=20)
    duck_db: Annotated[float, Option(help="How far the music drops while the voice speaks (0: no ducking).")] = \
        Field(default=12.0, ge=0, le=60)
    fade_in: Annotated[float, Option(help="Fade-in seconds.")] = Field(default=0.5, ge=0, le=MAX_SECONDS)
    fade_out: Annotated[float, Option(help="Fade-out seconds at the end.")] = Field(default=1.5, ge=0, le=MAX_SECONDS)
    loop: Annotated[bool, Option(help="Loop a track shorter than the picture (crossfaded on a beat).")] = True
    start: Annotated[float, Option(help="Where the music starts (seconds).")] = Field(default=0.0, ge=0, le=MAX_SECONDS)
    duck_under: Annotated[list[Literal["voiceover", "dialogue"]], Option(
        "--duck-under", help="What the music ducks under: the voiceover, the speech in the clips' own sound "
                             "(dialogue), or both (repeat the option).")] = \
        Field(default_factory=lambda: ["voiceover", "dialogue"])
    original_audio_db: Annotated[Optional[Union[float, Literal["mute"]]], Option(
        metavar="G|mute", help="Level of the clips' own sound in dB, or 'mute'. Default: unchanged.")] = None
    clip_audio_db: Annotated[dict[str, Union[float, Literal["mute"]]], Option(
        "--clip-audio-db", metavar="CLIP=G|mute", help=(
            "Level of one clip's own sound (by clip id or label), in place of --original-audio-db for it; "
            "repeat for several."))] = Field(default_factory=dict)

    @field_validator("original_audio_db", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        return None if value is None else level_db(value)

    @field_validator("clip_audio_db", mode="before")
    @classmethod
    def _levels(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # pydantic says what it expected
        return {str(k): level_db(v, f"clip '{k}': ") for k, v in value.items()}


def level_db(value: Any, what: str = "") -> Union[float, str]:
    """A level in dB (-60..60) or 'mute'."""
    if value == "mute":
        return value
    try:
        level = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}give a level in dB (e.g. -18) or 'mute'") from None
    if not -60 <= level <= 60:
        raise ValueError(f"{what}must be between -60 and 60 dB (or 'mute')")
    return level


class MusicStage:
    """Put one music bed on the music track (replacing any there)."""

    name: ClassVar[str] = "music"
    Params: ClassVar[type[BaseModel]] = MusicParams
    dry_run_exact: ClassVar[bool] = True  # apply() only edits the timeline: a dry run runs it
    help: ClassVar[str] = "Lay a music bed under INPUT, ducked under the voiceover and the clips' dialogue."
    examples: ClassVar[tuple[str, ...]] = (
        "reelforge music vo.timeline.json --track bed.m4a --gain-db -8 --original-audio-db mute \\\n"
        "    -o scored.timeline.json",
        "reelforge music talk.timeline.json --track bed.m4a --original-audio-db -6 --clip-audio-db intro=mute \\\n"
        "    -o scored.mp4",)

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        from pipeline.errors import InputError
        from pipeline.model.media import probe_audio_source
        from stages.music.bed import bed_item
        from pipeline.timebase import to_fraction
        from pipeline.model.timeline import DIALOGUE, Ducking

        assert isinstance(params, MusicParams)
        tl.require_clips("music")
        path = ctx.resolve(params.track)
        info = probe_audio_source(path, "--track")
        start = to_fraction(params.start)
        need = tl.duration - start
        if need <= 0:
            raise InputError(f"--start {params.start}: the picture is only {float(tl.duration):.2f}s long")
        tl = tl.copy()
        item = bed_item(str(path), float(info.duration), need, start, params.loop,
                        to_fraction(params.fade_in), to_fraction(params.fade_out), params.gain_db)
        trk = tl.track("music")
        trk.items = [item]
        under = list(dict.fromkeys(params.duck_under))
        trk.duck = Ducking(under=under, amount_db=params.duck_db) if params.duck_db > 0 and under else None
        if params.original_audio_db == "mute":
            tl.track("original").muted = True
        elif params.original_audio_db is not None:
            orig = tl.track("original")
            orig.muted, orig.gain_db = False, float(params.original_audio_db)
        if params.clip_audio_db:
            set_clip_levels(tl, params.clip_audio_db)
        speaking = 0
        if trk.duck is not None and DIALOGUE in under:
            from pipeline.analysis.dialogue import mark_speech

            speaking = mark_speech(tl)
        how = (f"looped {float(item.out_point - item.loop_start):.2f}s on beats" if item.loop
               else f"{float(item.duration):.2f}s")
        ducks = ("no ducking" if trk.duck is None else f"ducking {params.duck_db:g} dB under " + " and ".join(
            f"the dialogue of {speaking} clip(s)" if r == DIALOGUE else f"the {r}" for r in under
            if r != DIALOGUE or speaking))
        ctx.info(f"music: {path.name}, {how}, {ducks}")
        tl.provenance.append({"music": path.name, "loop": item.loop})
        return tl


def set_clip_levels(tl: Timeline, levels: dict[str, Union[float, str]]) -> None:
    """Each clip's own level: its entry in `levels` (by id or label), else the original
    track's level. The track itself is then left at 0 dB and unmuted, each clip carrying
    its level, so one clip can be heard while the others are muted."""
    from pipeline.errors import InputError

    names = {n for clip in tl.video for n in (clip.id, clip.label) if n}
    for key in levels:
        if key not in names:
            known = ", ".join(dict.fromkeys(c.id or c.label for c in tl.video if c.id or c.label)) or "none"
            raise InputError(f"music.clip_audio_db: no clip '{key}' in the timeline (clips: {known})")
    orig = tl.track("original")
    default: Union[float, str] = "mute" if orig.muted else orig.gain_db
    for clip in tl.video:
        level = levels.get(clip.id, levels.get(clip.label, default)) if (clip.id or clip.label) else default
        clip.audio_muted = level == "mute"
        clip.audio_gain_db = 0.0 if level == "mute" else float(level)
    orig.muted, orig.gain_db = False, 0.0


STAGE = MusicStage
