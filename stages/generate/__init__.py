"""generate: make shots with a video provider and put them on the timeline."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Optional

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import InputError
from pipeline.run.command import CommandLine, CommandRun
from pipeline.run.params import Option
from pipeline.run.stage import StageContext
from pipeline.model.timeline import Timeline

MAX_SHOT_SECONDS = 60  # the longest clip any catalogued model makes is far shorter


class Shot(BaseModel):
    """One shot to generate. On the command line its fields are generate's options."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Option(cli=False)]  # the command line names the shot after -o
    # None: the first provider (in REELFORGE_PROVIDERS order) with credentials that offers
    # the model; local when none has them.
    provider: Annotated[Optional[str], Option(choices=("local", "kling", "fal", "replicate", "sora"), help=(
        "Who renders the clip: kling, fal, replicate, sora (a Videos API service) or local (no keys, "
        "no network). Default: local on the command line; in a pipeline file, the first provider "
        "whose keys are set that offers the model, else local."))] = None
    model: Annotated[str, Option(show_default=False, help=(
        "A model of the catalog (`reelforge models list`): kling-v2-6 (default for kling, fal, replicate), "
        "kling-v3, kling-v2-5-turbo, veo-3.1, sora-2 (default otherwise), ..."))] = "sora-2"
    prompt: Annotated[str, Option(help="What the shot shows.")]
    duration: Annotated[Optional[float], Option(help="Seconds (sora: 4/8/12; kling: 5/10; kling-v3: 3-15).")] = Field(
        default=None, gt=0, le=MAX_SHOT_SECONDS)
    aspect: Annotated[Optional[str], Option(help="16:9, 9:16 or 1:1 (kling only).")] = None
    size: Annotated[Optional[str], Option(help="WxH, e.g. 1792x1024 for sora-2-pro's high tier.")] = None
    negative_prompt: Annotated[Optional[str], Option(help="What the shot must not show (kling).")] = None
    cfg_scale: Annotated[Optional[float], Option(help="Prompt adherence 0-1 (kling-v1.x only).")] = None
    image: Annotated[Optional[str], Option(role="input", help="First-frame image (PNG/JPEG).")] = None
    image_tail: Annotated[Optional[str], Option(role="input", help="Last-frame image (kling, with --image).")] = None
    sound: Annotated[Optional[bool], Option(help="Native audio (kling-v2-6 in pro mode, kling-v3, veo-3.1).")] = None
    mode: Annotated[Optional[str], Option(help="Quality: kling std 720p or pro 1080p; veo-3.1 720p or 1080p.")] = None
    remix_of: Annotated[Optional[str], Option(
        "--remix", metavar="VIDEO_ID", help="Remix a finished sora video with --prompt.")] = None
    seed: Annotated[Optional[int], Option(help="Make the result repeatable (local provider).")] = None
    camera_control: Annotated[Optional[dict[str, Any]], Option(cli=False)] = None
    continue_from: Annotated[Optional[str], Option(cli=False)] = None


class GenerateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shots: Annotated[list[Shot], Option(key="*")] = Field(default_factory=list)  # the command line: one shot
    concurrency: Annotated[Optional[dict[str, int]], Option(cli=False)] = None  # per provider, e.g. {kling: 2}
    poll_interval: Annotated[Optional[float], Option(minimum=0, help="Seconds between status checks (default 10).")] = Field(
        default=None, gt=0, le=3600)


def provider_of(shot: Shot) -> str:
    """The provider that renders the shot (named, or chosen by credentials and order)."""
    from pipeline.providers.routing import choose_provider

    try:
        return choose_provider(shot.model, shot.provider)
    except InputError as exc:
        raise InputError(f"shot {shot.id}: {exc}") from None


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
            provider=provider_of(shot), warn=lambda m: ctx.warn(f"shot {shot.id}: {m}" if name_shot else m),
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


def plan(shots: list[Shot], ctx: StageContext, limits: dict[str, int]
         ) -> tuple[list[dict[str, Any]], float | None, float]:
    """Validate every shot and price it: (rows, total USD still to pay or None when a price
    is unknown, expected seconds). Cached clips and already-submitted jobs cost nothing more."""
    from pipeline.providers.cost import estimate, expected_wall_time
    from pipeline.providers.generate import cached_clip, last_frame
    from pipeline.providers.jobs import load_job

    known: dict[str, Any] = {}
    rows, jobs = [], []
    total: float | None = 0.0
    for shot in shots:
        provider = provider_of(shot)
        image = None
        if shot.continue_from and shot.continue_from in known:
            image = str(last_frame(known[shot.continue_from]))
        req = request_for(shot, ctx, image)
        est = estimate(provider, req)
        state = "new"
        exact = shot.continue_from is None or image is not None
        clip = cached_clip(req, provider) if exact else None
        if clip is not None:
            known[shot.id] = clip
            state = "cached"
        elif exact and load_job(provider, req.digest(provider)) is not None:
            state = "submitted"
        usd = est.usd if state == "new" else 0.0
        total = None if total is None or usd is None else total + usd
        if state != "cached":
            jobs.append((provider, est.seconds))
        rows.append({"shot": shot.id, "provider": provider, "request": req, "usd": usd,
                     "list_usd": est.usd, "seconds": est.seconds, "state": state, "as_of": est.as_of})
    return rows, total, expected_wall_time(jobs, limits)


def _fmt_time(secs: float) -> str:
    return f"{secs:.0f} s" if secs < 90 else f"{secs / 60:.0f} min"


def show_plan(rows: list[dict[str, Any]], total: float | None, wall: float, ctx: StageContext) -> None:
    from pipeline.providers.cost import fmt_usd

    for r in rows:
        q = r["request"]
        extra = f" {q.mode}" if q.mode else ""
        extra += " +sound" if q.sound else ""
        price = {"cached": "cached", "submitted": "resume"}.get(r["state"], fmt_usd(r["usd"]))
        ctx.info(f"  shot {r['shot']}: {r['provider']} {q.model}{extra} {q.duration} s {q.width}x{q.height}"
                 f"  {price}  ~{_fmt_time(r['seconds'])}  {q.prompt[:50]}")
    dates = sorted({r["as_of"] for r in rows if r.get("as_of")})
    ctx.info(f"  estimated cost {fmt_usd(total)} (list prices of {', '.join(dates) or 'the catalog'}); "
             f"expected time ~{_fmt_time(wall)}")


def check_budget(budget: float | None, total: float | None, rows: list[dict[str, Any]]) -> None:
    """InputError when the run would cost more than the budget, or its cost is unknown."""
    from pipeline.providers.cost import fmt_usd

    if budget is None:
        return
    unknown = [r["shot"] for r in rows if r["usd"] is None]
    if unknown:
        raise InputError(f"--budget {float(budget):.2f}: no price is known for shot {', '.join(unknown)} "
                         "(set one in a REELFORGE_PRICES file); nothing was submitted")
    if total is not None and total > float(budget):
        raise InputError(f"--budget {float(budget):.2f}: this run would cost about {fmt_usd(total)} "
                         f"({sum(1 for r in rows if r['usd'])} shots to pay for); nothing was submitted")


class GenerateStage:
    """Generate each shot (cached by request; concurrent up to each provider's limit;
    `continue_from` starts a shot on another's last frame) and append it to the video
    track. In a dry run it prints the shots, the estimated cost and time; with a budget
    (ctx.options["budget"], USD) it refuses to start a run that would exceed it."""

    name: ClassVar[str] = "generate"
    Params: ClassVar[type[BaseModel]] = GenerateParams
    help: ClassVar[str] = """Generate one shot with a video model through Kling's API, fal, Replicate, a
    Videos API service (sora), or the offline local stand-in.

    Keys come from the environment: KLING_ACCESS_KEY and KLING_SECRET_KEY (KLING_API_BASE),
    FAL_KEY (FAL_QUEUE_URL), REPLICATE_API_TOKEN (REPLICATE_BASE_URL), or OPENAI_API_KEY with
    REELFORGE_SORA_BASE_URL. An interrupted run started again resumes the same remote job
    instead of paying twice."""
    examples: ClassVar[tuple[str, ...]] = (
        'reelforge generate --prompt "a lighthouse at dawn" --provider kling --model kling-v2-6 \\\n'
        "    --aspect 9:16 --duration 5 --sound -o lighthouse.mp4",)
    command_line: ClassVar[CommandLine] = CommandLine(
        inputs="none", output=Option("--output", short="-o", help="The clip to write (.mp4)."),
        extras=(Option("--budget", name="budget", type=float, minimum=0, metavar="USD",
                       help="Refuse to submit if the shot would cost more."),
                Option("--dry-run", name="dry_run", type=bool, help="Validate and show the cost; submit nothing.")))

    def cli_params(self, raw: dict[str, Any], run: CommandRun) -> dict[str, Any]:
        """The command line's one shot is named after its output; its model defaults
        by provider."""
        shot = dict((raw.get("shots") or [{}])[0])
        shot["id"] = run.output.stem if run.output is not None and run.output.stem else "shot"
        if "model" not in shot:
            shot["model"] = "kling-v2-6" if shot.get("provider") in ("kling", "fal", "replicate") else "sora-2"
        if not shot.get("provider"):
            shot["provider"] = "local"  # one shot from the command line is never sent anywhere unasked
        return {**raw, "shots": [shot]}

    def run_command(self, run: CommandRun) -> None:
        generate_one(run)

    def quote(self, params: BaseModel, ctx: StageContext) -> list[tuple[str, float | None]]:
        """(request, USD still to pay or None when unknown) per shot: a batch sums these over
        its rows, each request once, against its budget before anything is submitted."""
        from pipeline.providers.generate import provider_limits

        assert isinstance(params, GenerateParams)
        check_shots(params.shots)
        rows, _, _ = plan(params.shots, ctx, provider_limits(params.concurrency))
        return [(f"{r['provider']}-{r['request'].digest(r['provider'])}", r["usd"]) for r in rows]

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        from pipeline.providers.generate import ShotJob, generate_shots, last_frame, provider_limits
        from pipeline.model.clips import append_clips, clip_from_media

        assert isinstance(params, GenerateParams)
        shots = params.shots
        check_shots(shots)
        limits = provider_limits(params.concurrency)
        rows, total, wall = plan(shots, ctx, limits)
        budget = ctx.options.get("budget")
        if ctx.dry_run or total is None or total > 0:
            show_plan(rows, total, wall, ctx)
        check_budget(budget, total, rows)
        if ctx.dry_run:
            return tl
        by_id = {s.id: s for s in shots}

        def maker(shot: Shot):  # noqa: ANN202
            def make(clips: dict[str, Any]):  # noqa: ANN202
                image = str(last_frame(clips[shot.continue_from])) if shot.continue_from else None
                return request_for(shot, ctx, image)
            return make

        jobs = [ShotJob(s.id, provider_of(s), maker(by_id[s.id]), s.continue_from) for s in shots]
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
                                  "continue_from": shot.continue_from, "credentials": credentials_note(path)})
        return append_clips(tl, clips)


STAGE = GenerateStage


def credentials_note(clip: Any) -> dict[str, Any]:
    """What the delivered clip's own content credentials say (Sora signs its outputs)."""
    from pipeline.delivery.provenance import read_credentials

    creds = read_credentials(clip)
    return {"state": creds.state, "claim_generator": creds.claim_generator, "signer": creds.signer,
            "ai_generated": creds.ai_generated}


def generate_one(run: CommandRun) -> None:
    """generate on the command line: one shot, priced before it is submitted, written to -o."""
    from pipeline.files import is_video_path
    from pipeline.providers.cost import estimate, fmt_usd
    from pipeline.providers.generate import copy_to, generate_clip

    params = run.params
    assert isinstance(params, GenerateParams) and run.output is not None
    out, ctx = run.output, run.ctx
    if not is_video_path(out):
        raise InputError(f"-o {out}: unsupported output type '{out.suffix or '(none)'}'; the clip is a video (.mp4)")
    if not ctx.dry_run:
        from pipeline.files import check_writable

        check_writable(out)  # before a paid job is submitted
    shot = params.shots[0]
    req = request_for(shot, ctx, name_shot=False)
    provider = provider_of(shot)
    est = estimate(provider, req)
    if provider != "local":
        ctx.reporter.info(f"{provider} {req.model} {req.duration} s {req.width}x{req.height}: "
                          f"{'price unknown' if est.usd is None else 'about ' + fmt_usd(est.usd)}, "
                          f"~{est.seconds:.0f} s")
    budget = ctx.options.get("budget")
    if budget is not None and (est.usd is None or est.usd > budget):
        cost = "an unknown amount" if est.usd is None else "about " + fmt_usd(est.usd)
        raise InputError(f"--budget {budget:.2f}: this shot would cost {cost}; nothing was submitted")
    if ctx.dry_run:
        return
    path, _ = generate_clip(req, provider, ctx.reporter, poll_interval=params.poll_interval)
    copy_to(path, out)
    ctx.reporter.info(f"wrote {out} ({req.width}x{req.height}, {req.duration} s, {req.model})")
