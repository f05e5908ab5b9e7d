"""export: render the timeline to each platform preset, in one ffmpeg run."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Optional

import click
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.clikit import handle_errors
from pipeline.stage import StageContext
from pipeline.timeline import Timeline


class ExportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    presets: list[str] = Field(min_length=1)
    dir: str = "out"
    name: Optional[str] = None  # output stem; default: the input's stem or "sequence"

    @field_validator("presets")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from pipeline.presets import load_presets

        known = load_presets()
        for name in value:
            if name not in known:
                import difflib

                near = difflib.get_close_matches(name, list(known), n=1)
                hint = f" (did you mean '{near[0]}'?)" if near else ""
                raise ValueError(f"unknown preset '{name}'{hint}")
        return list(dict.fromkeys(value))


def output_paths(stem: str, presets: list[str], folder: Path) -> list[Path]:
    return [folder / f"{stem}.{p}.mp4" for p in presets]


class ExportStage:
    """Render once per output, all outputs in one ffmpeg process."""

    name: ClassVar[str] = "export"
    Params: ClassVar[type[BaseModel]] = ExportParams

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        from pipeline.errors import InputError
        from pipeline.presets import get_preset
        from pipeline.render import render

        assert isinstance(params, ExportParams)
        folder = ctx.resolve(params.dir)
        stem = params.name or tl.meta.get("name") or "sequence"
        presets = [get_preset(n) for n in params.presets]
        paths = output_paths(stem, params.presets, folder)
        if not ctx.overwrite:
            for p in paths:
                if p.exists():
                    raise InputError(f"{p}: already exists (use --overwrite to replace it)")
        jobs = [(preset.settings(tl.canvas.fps), path) for preset, path in zip(presets, paths)]
        if ctx.dry_run:
            for p in paths:
                ctx.info(f"would write {p}")
            return tl
        from pipeline import loudness

        jobs = list(zip(loudness.plan(tl, [s for s, _ in jobs]), paths))
        render(tl, jobs, label=f"export {stem}", reporter=ctx.reporter)
        for preset, path in zip(presets, paths):
            ctx.outputs.append({"path": str(path), "preset": preset.name})
            ctx.info(f"wrote {path}")
        return tl


STAGE = ExportStage


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
@handle_errors
def command(input_path: str, presets: tuple[str, ...], out_dir: str, overwrite: bool) -> None:
    """Render INPUT (a media file or .timeline.json) to one or more platform presets.

    \b
    Example:
      reelforge export vert.timeline.json --preset tiktok --preset youtube-shorts -o out/
    """
    from pipeline.stage import validate_params
    from pipeline.timeline import load_inputs

    stage = ExportStage()
    params = validate_params(stage, {"presets": list(presets), "dir": out_dir, "name": stem_of(input_path)}, "--preset")
    tl = load_inputs([input_path])
    stage.apply(tl, params, StageContext(overwrite=overwrite))
