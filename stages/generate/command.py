"""generate on the command line: one shot, priced before it is submitted, written to -o."""

from __future__ import annotations

from pipeline.delivery.master import VIDEO_SUFFIXES
from pipeline.errors import InputError
from pipeline.run.command import CommandRun


def generate_one(run: CommandRun) -> None:
    from pipeline.providers.cost import estimate, fmt_usd
    from pipeline.providers.generate import copy_to, generate_clip
    from stages.generate import GenerateParams, request_for

    params = run.params
    assert isinstance(params, GenerateParams) and run.output is not None
    out, ctx = run.output, run.ctx
    if out.suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(f"-o {out}: unsupported output type '{out.suffix or '(none)'}'; the clip is a video (.mp4)")
    if not ctx.dry_run:
        from pipeline.files import check_writable

        check_writable(out)  # before a paid job is submitted
    shot = params.shots[0]
    req = request_for(shot, ctx, name_shot=False)
    est = estimate(shot.provider, req)
    if shot.provider != "local":
        ctx.reporter.info(f"{shot.provider} {req.model} {req.duration} s {req.width}x{req.height}: "
                          f"about {fmt_usd(est.usd)}, ~{est.seconds:.0f} s")
    budget = ctx.options.get("budget")
    if budget is not None and est.usd > budget:
        raise InputError(f"--budget {budget:.2f}: this shot would cost about {fmt_usd(est.usd)}; nothing was submitted")
    if ctx.dry_run:
        return
    path, _ = generate_clip(req, shot.provider, ctx.reporter, poll_interval=params.poll_interval)
    copy_to(path, out)
    ctx.reporter.info(f"wrote {out} ({req.width}x{req.height}, {req.duration} s, {req.model})")
