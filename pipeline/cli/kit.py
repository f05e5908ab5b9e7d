"""Shared pieces for click commands: error handling, input loading, output writing.

Stage modules build their commands from these, so every command behaves the same:
inputs may be media files or .timeline.json; an output ending in .timeline.json writes
the timeline, any other extension renders it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO, TypeVar

import click

from pipeline.errors import InputError, ReelforgeError
from pipeline.delivery.master import refuse_source_as_output  # noqa: F401 - also this module's face
from pipeline.files import written_by_us
from pipeline.model.timeline import Timeline
from pipeline.model.clips import is_timeline_path

F = TypeVar("F", bound=Callable[..., Any])


def debug_enabled() -> bool:
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.obj and isinstance(ctx.obj, dict) and ctx.obj.get("debug"):
            return True
        ctx = ctx.parent
    return False


# ffmpeg's closing lines that say only that something went wrong, not what.
_GENERIC_FFMPEG = ("Task finished with error", "Terminating thread", "Nothing was written", "Error opening output file",
                   "Error opening output files", "Conversion failed", "Error reinitializing filters",
                   "Could not open encoder before EOF", "Error while filtering", "Error sending frames")


def one_line(exc: ReelforgeError) -> str:
    """The error as one line: for a RenderError its message and the most telling line of
    ffmpeg's output (the whole tail is shown with --debug)."""
    import re

    from pipeline.errors import RenderError

    message = " ".join(str(exc.args[0] if exc.args else exc).split())
    if isinstance(exc, RenderError) and exc.stderr_tail:
        lines = [re.sub(r"^(\[[^\]]*\] ?)+", "", ln).strip() for ln in exc.stderr_tail.splitlines()]
        telling = [ln for ln in lines if ln and not any(g in ln for g in _GENERIC_FFMPEG)]
        if telling:
            message += f": {telling[0]}"
    return message


def refuse_non_finite(values: dict[str, Any]) -> None:
    """click's float type takes 'inf' and 'nan'; no reelforge option means either. An
    InputError names the option (every command's parameters pass through here)."""
    import math

    ctx = click.get_current_context(silent=True)
    params = {p.name: p for p in ctx.command.params} if ctx is not None else {}
    for name, value in values.items():
        for v in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(v, float) and not math.isfinite(v):
                param = params.get(name)
                label = max(param.opts, key=len) if isinstance(param, click.Option) else (
                    param.human_readable_name if param is not None else name)
                raise InputError(f"{label} {v}: must be a finite number")


def handle_errors(fn: F) -> F:
    """Turn ReelforgeError into one line on stderr and its exit code; no traceback
    unless --debug."""

    from pipeline.providers.redaction import redact

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            refuse_non_finite(kwargs)
            return fn(*args, **kwargs)
        except ReelforgeError as exc:
            if debug_enabled():
                traceback.print_exc()
                click.echo(f"error: {exc}", err=True)
            else:
                click.echo(f"error: {redact(one_line(exc))}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except Exception as exc:  # noqa: BLE001 - last line of defence: one clear line
            from pipeline.files import cache_error, in_cache

            if isinstance(exc, OSError) and in_cache(exc):  # a cache folder that is full or read-only
                if debug_enabled():
                    traceback.print_exc()
                click.echo(f"error: {cache_error(exc)}", err=True)
                sys.exit(2)
            if debug_enabled():
                traceback.print_exc()
            text = " ".join(str(exc).split())
            click.echo(f"error: internal error: {exc.__class__.__name__}: {redact(text)} "
                       "(run with --debug for details)", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def option_at_fault(loc: Iterable[Any], value: Any) -> str | None:
    """'--gain-db 1000' for a parameter error at `loc` (pydantic's location) in the
    running click command, so errors name the option the user typed; None outside one."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    params = {p.name: p for p in ctx.command.params if isinstance(p, click.Option)}
    found = None
    for part in reversed([p for p in loc if isinstance(p, str)]):
        if part in params:
            found = params[part]
            break
    if found is None:
        return None
    if getattr(found, "is_flag", False) and not isinstance(value, bool):
        # A flag and a valued option feeding one parameter (--thumbnail / --thumbnail-at):
        # the valued one is at fault.
        found = next((p for p in params.values() if not getattr(p, "is_flag", False)
                      and ctx.params.get(p.name) is not None and ctx.params.get(p.name) == value), found)
    name = max(found.opts, key=len)
    if isinstance(value, float):
        return f"{name} {value:g}"
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return f"{name} {value}"
    return name


@contextlib.contextmanager
def json_stdout(enabled: bool = True) -> Iterator[TextIO]:
    """For --json: while the work runs, whatever would reach stdout (a user's effect
    function printing, a library, a child process) goes to stderr instead; yields the real
    stdout, where the command writes its one JSON document."""
    if not enabled:
        yield sys.stdout
        return
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # captured in-process (click's CliRunner)
        fd = -1
    if fd != 1:
        real = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):
            yield real
        return
    saved = os.dup(1)
    os.dup2(2, 1)
    real = os.fdopen(os.dup(saved), "w", encoding="utf-8")
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield real
    finally:
        real.flush()
        real.close()
        os.dup2(saved, 1)
        os.close(saved)


def output_option(help_text: str = "Output: .timeline.json writes the edit, .mp4 (or .mov, .mkv) renders it.") -> Callable[[F], F]:
    def deco(fn: F) -> F:
        fn = click.option("--overwrite", "-y", is_flag=True, help="Replace OUT if it already exists.")(fn)
        fn = click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help=help_text)(fn)
        return fn

    return deco


def inputs_argument(fn: F) -> F:
    return click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))(fn)


def check_output(output: str | Path, inputs: Iterable[str | Path] = (), overwrite: bool = False,
                 flag: str = "-o") -> Path:
    """Refuse to write over an input, or over an existing file without --overwrite;
    errors name the option `flag` that gave the output."""
    out = Path(output)
    resolved = out.resolve()
    for i in inputs:
        if Path(i).resolve() == resolved:
            raise InputError(f"{flag} {out}: is also an input; choose another output name")
    if out.exists() and out.is_dir():
        raise InputError(f"{flag} {out}: is a folder; give a file name")
    if out.exists() and not overwrite and not written_by_us(out):
        raise InputError(f"{flag} {out}: already exists (use --overwrite to replace it)")
    return out


def emit(tl: Timeline, output: str | Path, label: str = "render") -> Path:
    """Write the timeline (.timeline.json) or render it (any other extension)."""
    from pipeline.delivery.master import render_master

    out = Path(output)
    refuse_source_as_output(tl, out)
    if is_timeline_path(out):
        tl.validate(str(out))
        tl.save(out)
    else:
        render_master(tl, out, label=label)
    click.echo(f"wrote {out}", err=True)
    return out


def run_stage_command(
    stage_name: str,
    inputs: Iterable[str],
    raw_params: dict[str, Any],
    output: str,
    overwrite: bool,
    base: Timeline | None = None,
    reads: Iterable[str] = (),
) -> Timeline:
    """Load inputs, validate parameters, apply one stage, emit the result. `reads` are
    other files the command reads (a voice file, a script): never an output either.
    Hand-written plugin commands call this; generated ones do the same in stagecmd."""
    from pipeline.adapters.inputs import load_inputs
    from pipeline.run.params import ParamsError, validate
    from pipeline.run.stage import StageContext, get_stage

    inputs = list(inputs)
    out = check_output(output, [*inputs, *reads], overwrite)
    stage = get_stage(stage_name)
    try:
        params = validate(stage.name, stage.Params, {k: v for k, v in raw_params.items() if v is not None})
    except ParamsError as exc:
        named = option_at_fault(exc.loc, exc.value)
        raise InputError(exc.at_option(named.split(" ")[0]) if named else str(exc)) from None
    tl = base if base is not None else load_inputs(inputs)
    ctx = StageContext()
    tl = stage.apply(tl, params, ctx)
    emit(tl, out, label=stage_name)
    return tl
