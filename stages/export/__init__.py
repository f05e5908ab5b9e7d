"""export: render the timeline to each platform preset, in one ffmpeg run, then verify."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.run.command import DRY_RUN, CommandLine, CommandRun
from pipeline.run.params import Option
from pipeline.run.stage import StageContext
from pipeline.model.timeline import Timeline

X264_SPEEDS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


class ExportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    presets: Annotated[list[str], Option("--preset", short="-p", help=(
        "A preset name (see `reelforge presets list`); repeat for several outputs."))] = Field(min_length=1)
    dir: Annotated[str, Option(cli=False)] = "out"  # the command line's -o
    name: Annotated[Optional[str], Option(cli=False)] = None  # output stem; default: the input's stem or "sequence"
    trim_to_limit: Annotated[bool, Option(
        help="Cut the timeline at a preset's maximum duration instead of failing.")] = False
    encoder: Annotated[Literal["auto", "libx264", "h264_nvenc", "h264_qsv", "h264_vaapi"], Option(
        help="auto uses a hardware encoder (NVENC, Quick Sync, VA-API) when present and working, else x264.")
    ] = "libx264"
    speed: Annotated[Optional[Literal[X264_SPEEDS]], Option(  # type: ignore[valid-type]
        help="Encoder speed instead of the preset's (e.g. ultrafast for drafts); size, rate and codecs stay.")] = None
    # true: pick a sharp, representative frame; a number: the cover at that time (seconds)
    thumbnail: Annotated[Union[bool, float], Option(
        "--thumbnail", value=True, help="Write <output>.jpg: a sharp, representative cover frame."), Option(
        "--thumbnail-at", type=float, metavar="SECONDS", help="Write the cover from this time instead of choosing one.")
    ] = False
    # true: burn the voiceover's words and write .srt/.vtt (an error without word timings);
    # "auto": the same when the timeline has word timings, otherwise a warning
    captions: Annotated[Union[bool, Literal["auto"]], Option(
        value=True, help="Burn the voiceover's words into each output's safe area; write .srt and .vtt beside it.")
    ] = False
    verify: Annotated[bool, Option("--no-verify", help="Skip probing and checking the outputs after encoding.")] = True
    # content credentials: off, auto (sign when REELFORGE_C2PA_KEY/CERT are set), required
    provenance: Annotated[Literal["off", "auto", "required"], Option(help=(
        "Content credentials (C2PA): auto signs when REELFORGE_C2PA_KEY and REELFORGE_C2PA_CERT are set; "
        "required fails without them."))] = "auto"

    @field_validator("presets")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from pipeline.errors import did_you_mean
        from pipeline.delivery.presets import preset_names

        known = preset_names()  # a broken preset is named here and fails with its reason when used
        for name in value:
            if name not in known:
                raise ValueError(f"unknown preset '{name}'{did_you_mean(name, known)}")
        return list(dict.fromkeys(value))

    @field_validator("name")
    @classmethod
    def _file_name(cls, value: Optional[str]) -> Optional[str]:
        from pipeline.errors import InputError
        from pipeline.files import check_file_name

        if value is not None:
            try:
                check_file_name(value, "name")
            except InputError as exc:
                raise ValueError(str(exc).removeprefix("name ")) from None
        return value

    @field_validator("provenance")
    @classmethod
    def _credentials(cls, value: str) -> str:
        from pipeline.delivery.signing import check_mode
        from pipeline.errors import InputError

        try:
            return check_mode(value)  # `required` without credentials fails before any work
        except InputError as exc:
            raise ValueError(str(exc).split(": ", 1)[1] if str(exc).startswith("--provenance") else str(exc)) from None

    @field_validator("thumbnail")
    @classmethod
    def _time(cls, value: Union[bool, float]) -> Union[bool, float]:
        if not isinstance(value, bool) and not 0 <= value <= 86400:
            raise ValueError("a cover time must be zero or more seconds (and within the edit)")
        return value


def output_paths(stem: str, presets: list[str], folder: Path) -> list[Path]:
    return [folder / f"{stem}.{p}.mp4" for p in presets]


class ExportStage:
    """Render every preset in one ffmpeg process, then probe and check each output."""

    name: ClassVar[str] = "export"
    Params: ClassVar[type[BaseModel]] = ExportParams
    dry_run_exact: ClassVar[bool] = True  # a dry run plans every output and encodes nothing

    def writes(self, params: BaseModel, ctx: StageContext, name: str) -> list[Path]:
        """Every file the step writes: a video per preset, and its cover and captions."""
        assert isinstance(params, ExportParams)
        folder = Path(os.path.normpath(ctx.resolve(params.dir)))
        found = []
        for video in output_paths(params.name or name or "sequence", params.presets, folder):
            found.append(video)
            if params.thumbnail is not False:
                found.append(video.with_suffix(".jpg"))
            if params.captions is not False:
                found += [video.with_suffix(".srt"), video.with_suffix(".vtt")]
        return found
    help: ClassVar[str] = """Render INPUT (a media file or .timeline.json) to one or more platform presets.

    All presets are encoded by one ffmpeg process (one decode), then each output is
    probed and checked against its preset; a failing output exits 1."""
    examples: ClassVar[tuple[str, ...]] = (
        "reelforge export vert.timeline.json --preset tiktok --preset youtube-shorts -o out/",
        "reelforge export promo.timeline.json -p tiktok -p instagram-feed-square \\\n"
        "    --captions --thumbnail -o out/",
        "REELFORGE_C2PA_KEY=key.pem REELFORGE_C2PA_CERT=chain.pem \\\n"
        "    reelforge export seq.timeline.json -p tiktok --provenance required -o out/")
    command_line: ClassVar[CommandLine] = CommandLine(
        inputs="one", output=Option("--output", short="-o", help="Folder for the outputs, named <stem>.<preset>.mp4."),
        output_field="dir", output_folder=True, overwrite_help="Replace outputs that already exist.", extras=(DRY_RUN,))

    def cli_params(self, raw: dict[str, Any], run: CommandRun) -> dict[str, Any]:
        """The outputs are named after the input."""
        return {**raw, "name": stem_of(run.inputs[0])}

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        from fractions import Fraction

        from stages.export.exporting import ExportOptions, export_timeline

        assert isinstance(params, ExportParams)
        thumb = params.thumbnail
        opts = ExportOptions(
            presets=params.presets,
            folder=Path(os.path.normpath(ctx.resolve(params.dir))),
            stem=params.name or tl.meta.get("name") or "sequence",
            overwrite=ctx.overwrite,
            dry_run=ctx.dry_run,
            trim_to_limit=params.trim_to_limit,
            encoder=params.encoder,
            x264_preset=params.speed,
            thumbnail=thumb is True,
            thumbnail_at=None if isinstance(thumb, bool) else Fraction(str(thumb)),
            captions=params.captions is True or (params.captions == "auto" and _has_words(tl, ctx)),
            verify=params.verify,
            provenance=params.provenance,
        )
        outputs = export_timeline(tl, opts, ctx.reporter, inputs=ctx.options.get("inputs", []))
        if not ctx.dry_run:
            for out in outputs:
                ctx.outputs.extend(out.entries())
                ctx.info(f"wrote {out.path}")
        return tl

    def cache_salt(self, params: BaseModel | None) -> str | None:
        """Outputs signed by another certificate (or unsigned) are another result: the
        certificate's digest, never the key, goes into the step cache key."""
        if not isinstance(params, ExportParams) or params.provenance == "off":
            return None
        from pipeline.delivery.signing import KEY_ENV, certificate_digest

        return certificate_digest() if os.environ.get(KEY_ENV) else None


STAGE = ExportStage


def _has_words(tl: Timeline, ctx: StageContext) -> bool:
    from pipeline.delivery.captions import timeline_words

    if timeline_words(tl):
        return True
    ctx.warn("export: captions: auto: the timeline has no voiceover word timings; no captions written")
    return False


def stem_of(path: str) -> str:
    name = Path(path).name
    return name[: -len(".timeline.json")] if name.endswith(".timeline.json") else Path(path).stem
