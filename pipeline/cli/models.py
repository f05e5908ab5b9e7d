"""`reelforge models` (the model catalog) and `reelforge jobs` (recorded remote jobs)."""

from __future__ import annotations

import json
import time

import click

from pipeline.cli.kit import handle_errors


@click.group()
def models() -> None:
    """List and show the video models: what each makes, who offers it, what it costs.

    \b
    Example:
      reelforge models list
      reelforge models show kling-v3 --json
    """


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@handle_errors
def models_list(as_json: bool) -> None:
    """List every model of the catalog (shipped, and yours from REELFORGE_MODELS).

    \b
    Example:
      reelforge models list --json
    """
    from pipeline.providers.models import catalog, describe

    items = catalog()
    if as_json:
        click.echo(json.dumps([describe(m) for m in items.values()], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "title", "seconds", "aspects", "modes", "sound", "providers")
    for m in items.values():
        secs = ", ".join(str(d) for d in m.durations)
        if len(m.durations) > 4:
            secs = f"{m.durations[0]}-{m.durations[-1]}"
        table.add_row(m.name, m.title, secs, " ".join(m.aspects), " ".join(m.modes) or "-", m.sound,
                      " ".join(["local", *m.routes]))
    Console(width=160).print(table)


@models.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@handle_errors
def models_show(name: str, as_json: bool) -> None:
    """Show everything the catalog says about model NAME.

    \b
    Example:
      reelforge models show kling-v2-6
    """
    from pipeline.providers.models import describe, get_model

    data = describe(get_model(name))
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for k, v in data.items():
        click.echo(f"{k:14} {json.dumps(v) if isinstance(v, (dict, list)) else v}")


@click.group()
def jobs() -> None:
    """The remote jobs reelforge submitted (paid for), and cancelling one.

    Ctrl-C never cancels a paid job: it stays recorded and the next run resumes it.

    \b
    Example:
      reelforge jobs list
      reelforge jobs cancel 5f3c2a1e
    """


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--all", "show_all", is_flag=True, help="Include finished and failed jobs.")
@handle_errors
def jobs_list(as_json: bool, show_all: bool) -> None:
    """List recorded jobs: provider, model, state, cost and age.

    \b
    Example:
      reelforge jobs list --all
    """
    from pipeline.providers.jobs import all_jobs

    rows = [r for r in all_jobs() if show_all or r.status in ("pending", "submitted")]
    data = [{"id": r.job_id, "provider": r.provider, "model": r.extra.get("model", ""), "state": r.status,
             "usd": r.extra.get("usd"), "age_s": round(time.time() - r.submitted_at), "request": r.request}
            for r in rows]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    if not data:
        click.echo("no jobs" if show_all else "no open jobs (--all shows finished ones)", err=True)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "provider", "model", "state", "cost", "age")
    for d in data:
        age = d["age_s"]
        table.add_row(str(d["id"]), d["provider"], d["model"], d["state"],
                      "-" if d["usd"] is None else f"${d['usd']:.2f}",
                      f"{age // 3600} h" if age >= 3600 else f"{age // 60} min")
    Console(width=160).print(table)


@jobs.command("cancel")
@click.argument("job_id")
@handle_errors
def jobs_cancel(job_id: str) -> None:
    """Cancel recorded job JOB_ID where its provider can (fal, replicate).

    \b
    Example:
      reelforge jobs cancel 5f3c2a1e
    """
    from pipeline.providers.registry import cancel_job

    state = cancel_job(job_id)
    click.echo(f"{job_id}: {state}", err=True)
