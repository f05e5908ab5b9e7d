"""generate: make shots with a video provider and put them on the timeline."""

from __future__ import annotations

from typing import ClassVar, Optional

import click
from pydantic import BaseModel, ConfigDict, Field

from pipeline.clikit import check_output, handle_errors
from pipeline.stage import StageContext
from pipeline.timeline import Timeline


class Shot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    prompt: str
    provider: str = "local"
    model: str = "sora-2"
    duration: Optional[float] = None
    aspect: Optional[str] = None
    size: Optional[str] = None
    sound: Optional[bool] = None
    seed: Optional[int] = None
    negative_prompt: Optional[str] = None
    cfg_scale: Optional[float] = None
    mode: Optional[str] = None
    image: Optional[str] = None
    image_tail: Optional[str] = None
    continue_from: Optional[str] = None


class GenerateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shots: list[Shot] = Field(default_factory=list)


def request_for(shot: Shot, ctx: StageContext):  # noqa: ANN201
    from pipeline.providers.base import make_request

    image = str(ctx.resolve(shot.image)) if shot.image else None
    tail = str(ctx.resolve(shot.image_tail)) if shot.image_tail else None
    return make_request(
        shot.prompt, shot.model, shot.duration, shot.aspect, shot.sound, shot.size,
        seed=shot.seed, negative_prompt=shot.negative_prompt, cfg_scale=shot.cfg_scale,
        mode=shot.mode, image=image, image_tail=tail,
    )


class GenerateStage:
    """Generate each shot (cached by request) and append it to the video track."""

    name: ClassVar[str] = "generate"
    Params: ClassVar[type[BaseModel]] = GenerateParams

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        from pipeline.providers.generate import generate_clip
        from pipeline.timeline import append_clips, clip_from_media

        assert isinstance(params, GenerateParams)
        tl = tl.copy()
        clips = []
        for shot in params.shots:
            req = request_for(shot, ctx)
            path, provenance = generate_clip(req, shot.provider, ctx.reporter)
            clip = clip_from_media(path, clip_id=shot.id)
            clip.label = shot.id
            clips.append(clip)
            tl.provenance.append({"shot": shot.id, **provenance})
        return append_clips(tl, clips)


STAGE = GenerateStage


@click.command("generate")
@click.option("--provider", default="local", show_default=True, type=click.Choice(["local", "sora", "kling"]),
              help="Who renders the clip; local needs no keys or network.")
@click.option("--model", default="sora-2", show_default=True, help="sora-2, sora-2-pro, kling-v2-6, kling-v2-5-turbo, ...")
@click.option("--prompt", required=True, help="What the shot shows.")
@click.option("--duration", type=float, help="Seconds (sora: 4/8/12; kling: 5/10).")
@click.option("--aspect", help="16:9, 9:16 or 1:1 (kling only).")
@click.option("--size", help="WxH, e.g. 1792x1024 for sora-2-pro's high tier.")
@click.option("--sound/--no-sound", default=None, help="Native audio (kling-v2-6).")
@click.option("--seed", type=int, help="Make the result repeatable.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The clip to write (.mp4).")
@click.option("--overwrite", "-y", is_flag=True, help="Replace OUT if it already exists.")
@handle_errors
def command(provider: str, model: str, prompt: str, duration: float | None, aspect: str | None,
            size: str | None, sound: bool | None, seed: int | None, output: str, overwrite: bool) -> None:
    """Generate one shot with a video model.

    \b
    Example:
      reelforge generate --prompt "a lighthouse at dawn" --model kling-v2-6 \\
          --aspect 9:16 --duration 5 --sound -o lighthouse.mp4
    """
    from pipeline.providers.base import make_request
    from pipeline.providers.generate import copy_to, generate_clip
    from pipeline.progress import default_reporter

    out = check_output(output, (), overwrite)
    req = make_request(prompt, model, duration, aspect, sound, size, seed=seed)
    path, _ = generate_clip(req, provider, default_reporter())
    copy_to(path, out)
    click.echo(f"wrote {out} ({req.width}x{req.height}, {req.duration} s, {req.model})", err=True)
