"""generate: make shots with a video provider and put them on the timeline."""

from __future__ import annotations

from typing import Any, ClassVar, Optional

import click
from pydantic import BaseModel, ConfigDict, Field

from pipeline.cli.kit import check_output, handle_errors
from pipeline.errors import InputError
from pipeline.files import is_video_path
from pipeline.run.stage import StageContext
from pipeline.model.timeline import Timeline


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
    camera_control: Optional[dict[str, Any]] = None
    remix_of: Optional[str] = None
    continue_from: Optional[str] = None


class GenerateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shots: list[Shot] = Field(default_factory=list)
    concurrency: Optional[dict[str, int]] = None  # per provider, e.g. {kling: 2}
    poll_interval: Optional[float] = None


def request_for(shot: Shot, ctx: StageContext, image: str | None = None, name_shot: bool = True):  # noqa: ANN201
    """The validated request for a shot; `image` is a continued shot's first frame."""
    from pipeline.providers.base import make_request

    try:
        for flag, given in (("--image", shot.image), ("--image-tail", shot.image_tail)):
            if given and not ctx.resolve(given).is_file():
                raise InputError(f"{flag} {given}: no such file")
        if image is None and shot.image:
            image = str(ctx.resolve(shot.image))
        tail = str(ctx.resolve(shot.image_tail)) if shot.image_tail else None
        return make_request(
            shot.prompt, shot.model, shot.duration, shot.aspect, shot.sound, shot.size,
            provider=shot.provider, warn=lambda m: ctx.warn(f"shot {shot.id}: {m}" if name_shot else m),
            seed=shot.seed, negative_prompt=shot.negative_prompt, cfg_scale=shot.cfg_scale,
            mode=shot.mode, image=image, image_tail=tail, camera_control=shot.camera_control,
            remix_of=shot.remix_of,
        )
    except InputError as exc:
        if not name_shot:
            raise
        raise InputError(f"shot {shot.id}: {exc}") from None


def check_shots(shots: list[Shot]) -> None:
    """Unique ids; continue_from names an earlier shot; no first frame given twice."""
    seen: set[str] = set()
    for shot in shots:
        if shot.id in seen:
            raise InputError(f"shot {shot.id}: id used twice")
        if shot.continue_from is not None:
            if shot.continue_from not in seen:
                raise InputError(f"shot {shot.id}: continue_from '{shot.continue_from}' is not an earlier shot")
            if shot.image:
                raise InputError(f"shot {shot.id}: give either image or continue_from, not both")
        seen.add(shot.id)


def plan(shots: list[Shot], ctx: StageContext, limits: dict[str, int]) -> tuple[list[dict[str, Any]], float, float]:
    """Validate every shot and price it: (rows, total USD still to pay, expected seconds).
    Cached clips and already-submitted jobs cost nothing more."""
    from pipeline.providers.cost import estimate, expected_wall_time
    from pipeline.providers.generate import cached_clip, last_frame
    from pipeline.providers.jobs import load_job

    known: dict[str, Any] = {}
    rows, jobs, total = [], [], 0.0
    for shot in shots:
        image = None
        if shot.continue_from and shot.continue_from in known:
            image = str(last_frame(known[shot.continue_from]))
        req = request_for(shot, ctx, image)
        est = estimate(shot.provider, req)
        state = "new"
        exact = shot.continue_from is None or image is not None
        clip = cached_clip(req, shot.provider) if exact else None
        if clip is not None:
            known[shot.id] = clip
            state = "cached"
        elif exact and load_job(shot.provider, req.digest(shot.provider)) is not None:
            state = "submitted"
        usd = est.usd if state == "new" else 0.0
        total += usd
        if state != "cached":
            jobs.append((shot.provider, est.seconds))
        rows.append({"shot": shot.id, "provider": shot.provider, "request": req, "usd": usd,
                     "list_usd": est.usd, "seconds": est.seconds, "state": state})
    return rows, total, expected_wall_time(jobs, limits)


def _fmt_time(secs: float) -> str:
    return f"{secs:.0f} s" if secs < 90 else f"{secs / 60:.0f} min"


def show_plan(rows: list[dict[str, Any]], total: float, wall: float, ctx: StageContext) -> None:
    from pipeline.providers.cost import PRICES_AS_OF, fmt_usd

    for r in rows:
        q = r["request"]
        extra = f" {q.mode}" if q.mode else ""
        extra += " +sound" if q.sound else ""
        price = {"cached": "cached", "submitted": "resume"}.get(r["state"], fmt_usd(r["usd"]))
        ctx.info(f"  shot {r['shot']}: {r['provider']} {q.model}{extra} {q.duration} s {q.width}x{q.height}"
                 f"  {price}  ~{_fmt_time(r['seconds'])}  {q.prompt[:50]}")
    ctx.info(f"  estimated cost {fmt_usd(total)} (list prices of {PRICES_AS_OF}); "
             f"expected time ~{_fmt_time(wall)}")


class GenerateStage:
    """Generate each shot (cached by request; concurrent up to each provider's limit;
    `continue_from` starts a shot on another's last frame) and append it to the video
    track. In a dry run it prints the shots, the estimated cost and time; with a budget
    (ctx.options["budget"], USD) it refuses to start a run that would exceed it."""

    name: ClassVar[str] = "generate"
    Params: ClassVar[type[BaseModel]] = GenerateParams

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        from pipeline.providers.cost import fmt_usd
        from pipeline.providers.generate import ShotJob, generate_shots, last_frame, provider_limits
        from pipeline.model.clips import append_clips, clip_from_media

        assert isinstance(params, GenerateParams)
        shots = params.shots
        check_shots(shots)
        limits = provider_limits(params.concurrency)
        rows, total, wall = plan(shots, ctx, limits)
        budget = ctx.options.get("budget")
        if ctx.dry_run or total > 0:
            show_plan(rows, total, wall, ctx)
        if budget is not None and total > float(budget):
            raise InputError(f"--budget {float(budget):.2f}: this run would cost about {fmt_usd(total)} "
                             f"({sum(1 for r in rows if r['usd'] > 0)} shots to pay for); nothing was submitted")
        if ctx.dry_run:
            return tl
        by_id = {s.id: s for s in shots}

        def maker(shot: Shot):  # noqa: ANN202
            def make(clips: dict[str, Any]):  # noqa: ANN202
                image = str(last_frame(clips[shot.continue_from])) if shot.continue_from else None
                return request_for(shot, ctx, image)
            return make

        jobs = [ShotJob(s.id, s.provider, maker(by_id[s.id]), s.continue_from) for s in shots]
        poll = params.poll_interval if params.poll_interval is not None else ctx.options.get("poll_interval")
        results = generate_shots(jobs, ctx.reporter, params.concurrency, poll)
        tl = tl.copy()
        clips = []
        for shot in shots:
            path, provenance = results[shot.id]
            clip = clip_from_media(path, clip_id=shot.id)
            clip.label = shot.id
            clips.append(clip)
            tl.provenance.append({"shot": shot.id, **provenance, "source": str(path),
                                  "credentials": credentials_note(path)})
        return append_clips(tl, clips)


STAGE = GenerateStage


def credentials_note(clip: Any) -> dict[str, Any]:
    """What the delivered clip's own content credentials say (Sora signs its outputs)."""
    from pipeline.delivery.provenance import read_credentials

    creds = read_credentials(clip)
    return {"state": creds.state, "claim_generator": creds.claim_generator, "signer": creds.signer,
            "ai_generated": creds.ai_generated}


@click.command("generate")
@click.option("--provider", default="local", show_default=True, type=click.Choice(["local", "sora", "kling"]),
              help="Who renders the clip; local needs no keys or network.")
@click.option("--model", default=None, help="sora-2 (default for local/sora), sora-2-pro, kling-v2-6 "
              "(default for kling), kling-v2-5-turbo, kling-v2-1, kling-v1-6, ...")
@click.option("--prompt", required=True, help="What the shot shows.")
@click.option("--duration", type=float, help="Seconds (sora: 4/8/12; kling: 5/10).")
@click.option("--aspect", help="16:9, 9:16 or 1:1 (kling only).")
@click.option("--size", help="WxH, e.g. 1792x1024 for sora-2-pro's high tier.")
@click.option("--negative-prompt", help="What the shot must not show (kling).")
@click.option("--cfg-scale", type=float, help="Prompt adherence 0-1 (kling-v1.x only).")
@click.option("--image", type=click.Path(dir_okay=False), help="First-frame image (PNG/JPEG).")
@click.option("--image-tail", type=click.Path(dir_okay=False), help="Last-frame image (kling, with --image).")
@click.option("--sound/--no-sound", default=None, help="Native audio (kling-v2-6, pro mode).")
@click.option("--mode", type=click.Choice(["std", "pro"]), help="Kling quality: std 720p, pro 1080p.")
@click.option("--remix", "remix_of", metavar="VIDEO_ID", help="Remix a finished sora video with --prompt.")
@click.option("--seed", type=int, help="Make the result repeatable (local provider).")
@click.option("--poll-interval", type=click.FloatRange(min=0, min_open=True),
              help="Seconds between status checks (default 10).")
@click.option("--budget", type=click.FloatRange(min=0), metavar="USD", help="Refuse to submit if the shot would cost more.")
@click.option("--dry-run", is_flag=True, help="Validate and show the cost; submit nothing.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The clip to write (.mp4).")
@click.option("--overwrite", "-y", is_flag=True, help="Replace OUT if it already exists.")
@handle_errors
def command(provider: str, model: str | None, prompt: str, duration: float | None, aspect: str | None,
            size: str | None, negative_prompt: str | None, cfg_scale: float | None, image: str | None,
            image_tail: str | None, sound: bool | None, mode: str | None, remix_of: str | None,
            seed: int | None, poll_interval: float | None, budget: float | None, dry_run: bool,
            output: str, overwrite: bool) -> None:
    """Generate one shot with a video model (local, OpenAI-compatible Sora, or Kling).

    Keys come from the environment: OPENAI_API_KEY (and OPENAI_BASE_URL), or
    KLING_ACCESS_KEY and KLING_SECRET_KEY (and KLING_API_BASE). An interrupted run
    started again resumes the same remote job instead of paying twice.

    \b
    Example:
      reelforge generate --prompt "a lighthouse at dawn" --provider kling --model kling-v2-6 \\
          --aspect 9:16 --duration 5 --sound -o lighthouse.mp4
    """
    from pipeline.progress import default_reporter
    from pipeline.providers.cost import estimate, fmt_usd
    from pipeline.providers.generate import copy_to, generate_clip

    reporter = default_reporter()
    out = check_output(output, [p for p in (image, image_tail) if p], overwrite)
    if not is_video_path(out):
        raise InputError(f"-o {out}: unsupported output type '{out.suffix or '(none)'}'; the clip is a video (.mp4)")
    if not dry_run:
        from pipeline.files import check_writable

        check_writable(out)  # before a paid job is submitted
    if model is None:
        model = "kling-v2-6" if provider == "kling" else "sora-2"
    shot = Shot(id=out.stem or "shot", prompt=prompt, provider=provider, model=model, duration=duration,
                aspect=aspect, size=size, sound=sound, seed=seed, negative_prompt=negative_prompt,
                cfg_scale=cfg_scale, mode=mode, image=image, image_tail=image_tail, remix_of=remix_of)
    ctx = StageContext(reporter=reporter)
    req = request_for(shot, ctx, name_shot=False)
    est = estimate(provider, req)
    if provider != "local":
        reporter.info(f"{provider} {req.model} {req.duration} s {req.width}x{req.height}: "
                      f"about {fmt_usd(est.usd)}, ~{est.seconds:.0f} s")
    if budget is not None and est.usd > budget:
        raise InputError(f"--budget {budget:.2f}: this shot would cost about {fmt_usd(est.usd)}; nothing was submitted")
    if dry_run:
        return
    path, _ = generate_clip(req, provider, reporter, poll_interval=poll_interval)
    copy_to(path, out)
    click.echo(f"wrote {out} ({req.width}x{req.height}, {req.duration} s, {req.model})", err=True)
