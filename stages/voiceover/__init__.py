"""voiceover: recorded files or a script spoken by a speech provider, laid on the
voiceover track (lines never overlap), with word timings for captions. Where a clip
speaks, its own sound ducks under the narrator, or the narrator waits for a gap."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.run.params import Option
from pipeline.run.stage import StageContext
from pipeline.model.timeline import Timeline

class RecordedLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: Annotated[str, Option(role="input")]
    at: Optional[float] = Field(default=None, ge=0)  # past the picture: dropped or refused, by fit
    text: Optional[str] = None  # what is said, for word timings


class VoiceoverParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audio: Annotated[list[RecordedLine], Option(
        "--audio", key="file", role="input", help="A recorded voice file; repeat for several."), Option(
        "--at", key="at", help="Start (seconds) of the matching --audio; without it, files follow one another.")] = \
        Field(default_factory=list)
    script: Annotated[Optional[str], Option(
        role="input", help="Text file, one line per cue: `[shot-id] text`, `[12.5] text` or plain text.")] = None
    tts: Annotated[Literal["local", "openai", "elevenlabs"], Option(
        help="Speech provider for --script (local is offline espeak-ng).")] = "local"
    voice: Annotated[Optional[str], Option(help="Voice: espeak-ng voice (en-us, en-us+f3, de...), OpenAI voice "
                                                "(alloy...) or ElevenLabs voice id.")] = None
    model: Annotated[Optional[str], Option(
        help="Speech model for openai (gpt-4o-mini-tts) or elevenlabs (eleven_multilingual_v2).")] = None
    fit: Annotated[Literal["extend", "trim", "warn"], Option(
        help="When the voice runs past the picture: hold the last frame, cut the line, or only warn.")] = "warn"
    over_dialogue: Annotated[Literal["duck", "avoid", "mix"], Option(
        help="Where a clip speaks: lower its own sound under the narrator (duck), move a [shot] line to the "
             "shot's next gap in the dialogue (avoid), or leave both as they are (mix).")] = "duck"
    dialogue_duck_db: Annotated[float, Option(
        help="How far the clips' own sound drops while the narrator speaks (over-dialogue duck).")] = \
        Field(default=12.0, ge=0, le=60)

    @model_validator(mode="after")
    def _one_source(self) -> "VoiceoverParams":
        if bool(self.script) == bool(self.audio):
            raise ValueError("give either a script or recorded audio files (not both, not neither)")
        return self


class VoiceoverStage:
    """Place voice lines on the timeline; the track is assembled once with pydub."""

    name: ClassVar[str] = "voiceover"
    Params: ClassVar[type[BaseModel]] = VoiceoverParams
    help: ClassVar[str] = "Add a voiceover to INPUT: recorded files at given times, or a spoken script."
    examples: ClassVar[tuple[str, ...]] = (
        "reelforge voiceover seq.timeline.json --script voiceover.txt --tts local -o vo.timeline.json",
        "reelforge voiceover seq.mp4 --audio intro.wav --at 0.5 --audio outro.wav --at 6 -o vo.mp4",
        "reelforge voiceover interview.timeline.json --script vo.txt --over-dialogue avoid -o vo.timeline.json")

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        from pathlib import Path

        from stages.voiceover import voicetrack as vt
        from pipeline.analysis.audio import decode_audio
        from pipeline.errors import InputError
        from pipeline.model.timeline import Ducking
        from pipeline.providers.speech import estimate_words, synthesize
        from pipeline.timebase import to_fraction
        from pipeline.files import cache_dir, read_text_file

        assert isinstance(params, VoiceoverParams)
        tl.require_clips("voiceover")
        tl = tl.copy()
        rate = tl.canvas.sample_rate
        if params.script:
            path = ctx.resolve(params.script)
            cues = vt.parse_script(read_text_file(path, f"--script {path}"), where=str(path))
        else:
            cues = [vt.Cue(text=a.text or "", at=None if a.at is None else to_fraction(a.at),
                           audio=str(ctx.resolve(a.file)), where=f"--audio {a.file}") for a in params.audio]
        lines = []
        for cue in cues:
            if cue.audio:
                if not Path(cue.audio).is_file():
                    raise InputError(f"{cue.where}: no such file")
                y = decode_audio(cue.audio, sample_rate=rate, mono=True)
                if y.size == 0:
                    raise InputError(f"{cue.where}: the file has no audio")
                words = estimate_words(cue.text, cue.audio) if cue.text else []
                lines.append(vt.Line(cue, vt.to_segment(y, rate), words))
            else:
                speech = synthesize(cue.text, params.tts, params.voice, params.model)
                y = decode_audio(str(speech.path), sample_rate=rate, mono=True)
                seg, words = vt.trim_silence(vt.to_segment(y, rate), speech.words)
                lines.append(vt.Line(cue, seg, words))
        speaking = 0
        if params.over_dialogue != "mix":
            from pipeline.analysis.dialogue import clip_dialogue, mark_speech

            speaking = mark_speech(tl)
        dialogue = None
        if params.over_dialogue == "avoid" and speaking:
            dialogue = sorted(span for spans in clip_dialogue(tl) for span in spans)
        moved = vt.place(tl, lines, ctx.warn, dialogue)
        tl = vt.check_fit(tl, lines, params.fit, ctx.warn)
        if not any(len(ln.segment) for ln in lines):
            raise InputError("voiceover: every line falls after the end of the picture")
        track_path = vt.assemble(lines, rate, cache_dir() / "voiceover")
        tl.track("voiceover").items = vt.items_for(lines, track_path)  # replaces an earlier voiceover
        duck = params.over_dialogue == "duck" and speaking and params.dialogue_duck_db > 0
        if duck or "original" in tl.audio:
            tl.track("original").duck = (Ducking(under=["voiceover"], amount_db=params.dialogue_duck_db,
                                                 within="speaking-clips") if duck else None)
        tl.provenance.append({"voiceover": "recorded" if params.audio else params.tts,
                              "voice": params.voice or "", "lines": len(lines)})
        kept = [ln for ln in lines if len(ln.segment)]
        over = ""
        if speaking:
            over = {"duck": f", the speaking clips' own sound {params.dialogue_duck_db:g} dB down under it",
                    "avoid": f", {moved} line(s) moved clear of the clips' dialogue",
                    "mix": ""}[params.over_dialogue]
        ctx.info(f"voiceover: {len(kept)} line(s), {float(max(ln.end for ln in kept)):.2f}s{over}")
        return tl


STAGE = VoiceoverStage
