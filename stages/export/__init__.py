"""export: render the timeline to each platform preset, in one ffmpeg run, then verify."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Literal, Optional, Union

import click
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.cli.kit import handle_errors
from pipeline.run.stage import StageContext
from pipeline.model.timeline import Timeline

X264_SPEEDS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


class ExportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    presets: list[str] = Field(min_length=1)
    dir: str = "out"
    name: Optional[str] = None  # output stem; default: the input's stem or "sequence"
    trim_to_limit: bool = False
    encoder: Literal["auto", "libx264", "h264_nvenc"] = "libx264"
    speed: Optional[Literal[X264_SPEEDS]] = None  # type: ignore[valid-type]
    # true: pick a sharp, representative frame; a number: the cover at that time (seconds)
    thumbnail: Union[bool, float] = False
    # true: burn the voiceover's words and write .srt/.vtt (an error without word timings);
    # "auto": the same when the timeline has word timings, otherwise a warning
    captions: Union[bool, Literal["auto"]] = False
    verify: bool = True
    # content credentials: off, auto (sign when REELFORGE_C2PA_KEY/CERT are set), required
    provenance: Literal["off", "auto", "required"] = "auto"

    @field_validator("presets")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from pipeline.errors import did_you_mean
        from pipeline.delivery.presets import load_presets

        known = load_presets()
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
        if not isinstance(value, bool) and value < 0:
            raise ValueError("a cover time must be zero or more seconds")
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


@click.command("export")
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("--preset", "-p", "presets", multiple=True, required=True,
              help="A preset name (see `reelforge presets list`); repeat for several outputs.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the outputs, named <stem>.<preset>.mp4.")
@click.option("--overwrite", "-y", is_flag=True, help="Replace outputs that already exist.")
@click.option("--trim-to-limit", is_flag=True,
              help="Cut the timeline at a preset's maximum duration instead of failing.")
@click.option("--encoder", type=click.Choice(["auto", "libx264", "h264_nvenc"]), default="libx264",
              show_default=True, help="auto uses NVENC when present and working, else x264.")
@click.option("--speed", type=click.Choice(X264_SPEEDS), default=None,
              help="Encoder speed instead of the preset's (e.g. ultrafast for drafts); size, rate and codecs stay.")
@click.option("--thumbnail", is_flag=True, help="Write <output>.jpg: a sharp, representative cover frame.")
@click.option("--thumbnail-at", "thumbnail_at", type=float, default=None, metavar="SECONDS",
              help="Write the cover from this time instead of choosing one.")
@click.option("--captions", is_flag=True,
              help="Burn the voiceover's words into each output's safe area; write .srt and .vtt beside it.")
@click.option("--no-verify", is_flag=True, help="Skip probing and checking the outputs after encoding.")
@click.option("--provenance", type=click.Choice(["off", "auto", "required"]), default="auto", show_default=True,
              help="Content credentials (C2PA): auto signs when REELFORGE_C2PA_KEY and REELFORGE_C2PA_CERT are "
                   "set; required fails without them.")
@click.option("--dry-run", is_flag=True, help="Show what would be written; encode nothing.")
@handle_errors
def command(input_path: str, presets: tuple[str, ...], out_dir: str, overwrite: bool, trim_to_limit: bool,
            encoder: str, speed: Optional[str], thumbnail: bool, thumbnail_at: Optional[float], captions: bool,
            no_verify: bool, provenance: str, dry_run: bool) -> None:
    """Render INPUT (a media file or .timeline.json) to one or more platform presets.

    All presets are encoded by one ffmpeg process (one decode), then each output is
    probed and checked against its preset; a failing output exits 1.

    \b
    Example:
      reelforge export vert.timeline.json --preset tiktok --preset youtube-shorts -o out/
      reelforge export promo.timeline.json -p tiktok -p instagram-feed-square \\
          --captions --thumbnail -o out/
      REELFORGE_C2PA_KEY=key.pem REELFORGE_C2PA_CERT=chain.pem \\
          reelforge export seq.timeline.json -p tiktok --provenance required -o out/
    """
    from pipeline.run.stage import validate_params
    from pipeline.adapters.inputs import load_inputs

    stage = ExportStage()
    raw = {"presets": list(presets), "dir": out_dir, "name": stem_of(input_path), "trim_to_limit": trim_to_limit,
           "encoder": encoder, "speed": speed, "thumbnail": thumbnail_at if thumbnail_at is not None else thumbnail,
           "captions": captions, "verify": not no_verify, "provenance": provenance}
    params = validate_params(stage, raw, "option")
    tl = load_inputs([input_path])
    stage.apply(tl, params, StageContext(overwrite=overwrite, dry_run=dry_run, options={"inputs": [input_path]}))
