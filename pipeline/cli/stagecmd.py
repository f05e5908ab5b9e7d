"""Every stage's click command, generated from its Params and its CommandLine.

    reelforge NAME INPUT... [one option per Params field] -o OUT [--overwrite]

The body is the same for every stage unless it defines `run_command`: check the outputs
(never an input, never a user's file without --overwrite), validate the options with the
one validator (errors name the option typed), load the inputs, apply the stage, then
write OUT.timeline.json or render OUT (the stage's own `render` when it has one).
A plugin whose module still defines a click `command` keeps that command.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Iterable

import click

from pipeline.cli.kit import check_output, handle_errors
from pipeline.cli.options import Spec, collect, extra_option, option_for, specs_for
from pipeline.errors import InputError
from pipeline.run.command import CommandLine, CommandRun, command_line
from pipeline.run.params import ParamsError, validate
from pipeline.run.stage import StageContext


def help_text(stage: type) -> str:
    """The command's help: the stage's `help` (else its docstring), then its examples."""
    text = getattr(stage, "help", None) or (stage.__doc__ or f"The {stage.name} stage.")
    lines = [ln.rstrip() for ln in str(text).strip("\n").splitlines()]
    indent = min((len(ln) - len(ln.lstrip()) for ln in lines[1:] if ln.strip()), default=0)
    body = "\n".join([lines[0].strip(), *(ln[indent:] for ln in lines[1:])]).strip()
    examples = list(getattr(stage, "examples", ()) or [_example(stage)])
    shown = "\n".join("  " + ln for ex in examples for ln in str(ex).splitlines())
    return f"{body}\n\n\b\nExample:\n{shown}"


def _example(stage: type) -> str:
    """An example for a stage that gives none: its required options, with metavars."""
    cl = command_line(stage)
    parts = [f"reelforge {stage.name}"]
    parts += {"many": ["clip.mp4"], "one": ["clip.mp4"], "none": []}[cl.inputs]
    for spec in specs_for(stage.Params):
        if spec.param.required:
            parts += [spec.flag, spec.param.metavar or "VALUE"]
    if cl.output is not None:
        parts += [cl.output.short or cl.output.flag or "-o", "out/" if cl.output_folder else "out.timeline.json"]
    return " ".join(parts)


def build_command(stage: type) -> click.Command:
    """The click command of a stage class."""
    cl = command_line(stage)
    specs = specs_for(stage.Params)
    params: list[click.Parameter] = []
    if cl.inputs == "many":
        params.append(click.Argument(["inputs"], nargs=-1, required=True, type=click.Path(dir_okay=False)))
    elif cl.inputs == "one":
        params.append(click.Argument(["input_path"], metavar="INPUT", type=click.Path(dir_okay=False)))
    params += [s.param for s in specs]
    if cl.output is not None:
        o = cl.output
        decls = [d for d in (o.short, o.flag) if d] + ["output"]
        kind = click.Path(file_okay=False) if cl.output_folder else click.Path(dir_okay=False)
        params.append(click.Option(decls, required=cl.output_required, type=kind, help=o.help, metavar=o.metavar))
        params.append(click.Option(["--overwrite", "-y"], is_flag=True, help=cl.overwrite_help))
    params += [extra_option(m) for m in cl.extras]

    @handle_errors
    def callback(**values: Any) -> None:
        from click.core import ParameterSource

        ctx = click.get_current_context()
        typed = {name for name in values if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)}
        run_stage(stage, cl, specs, {k: v for k, v in values.items() if k in typed or k in ("inputs", "input_path")})

    callback.__name__ = stage.name.replace("-", "_")
    return click.Command(stage.name, params=params, callback=callback, help=help_text(stage))


def run_stage(stage_cls: type, cl: CommandLine, specs: list[Spec], values: dict[str, Any]) -> None:
    stage = stage_cls()
    inputs = list(values.get("inputs") or ([values["input_path"]] if values.get("input_path") else []))
    output = values.get("output")
    overwrite = bool(values.get("overwrite"))
    options = {m.name: values.get(m.name) for m in cl.extras if m.name != "dry_run"}
    ctx = StageContext(overwrite=overwrite, dry_run=bool(values.get("dry_run")),
                       options={**{k: v for k, v in options.items() if v is not None}, "inputs": inputs})
    got = collect(specs, values)
    run = CommandRun(stage, inputs, Path(output) if output else None, ctx,
                     reads=[v for _, v in got.reads], flags={str(p[0]): s.flag for p, s in got.suppliers.items()})
    if output is not None and cl.output_field is not None:
        got.raw[cl.output_field] = output
        run.flags[cl.output_field] = _output_flag(cl)
    _check_files(cl, got, run)
    raw = stage.cli_params(got.raw, run) if hasattr(stage, "cli_params") else got.raw
    try:
        run.params = validate(stage.name, stage.Params, raw)
    except ParamsError as exc:
        raise InputError(cli_message(exc, got.suppliers, cl)) from None
    if hasattr(stage, "run_command"):
        code = stage.run_command(run)
        if code:
            sys.exit(code)
        return
    from pipeline.adapters.inputs import load_inputs
    from pipeline.model.clips import empty_timeline

    tl = load_inputs(inputs) if inputs else empty_timeline()
    tl = stage.apply(tl, run.params, ctx)
    if run.output is not None and cl.output_field is None:
        emit(tl, run.output, stage, run.params, ctx)


def _output_flag(cl: CommandLine) -> str:
    o = cl.output
    return (o.short or o.flag or "-o") if o is not None else "-o"


def _check_files(cl: CommandLine, got: Any, run: CommandRun) -> None:
    """Before any work: every output is new (or ours, or --overwrite), none is an input
    or another output; every file the options name as an input exists."""
    from pipeline.model.clips import is_timeline_path

    reads = [*run.inputs, *run.reads]
    taken: dict[str, str] = {}
    outs: list[tuple[str, str]] = []
    if run.output is not None and not cl.output_folder:
        outs.append((_output_flag(cl), str(run.output)))
    outs += [(s.flag, v) for s, v in got.writes if not (cl.output_field and s.path == (cl.output_field,))]
    for flag, value in outs:
        resolved = str(check_output(value, reads, run.ctx.overwrite, flag=flag).resolve())
        if resolved in taken:
            raise InputError(f"{flag} {value}: is also the {taken[resolved]} output; choose another name")
        taken[resolved] = flag
    if (run.output is not None and cl.output_field is None and not is_timeline_path(run.output)
            and not hasattr(run.stage, "run_command")):  # a stage with its own body checks its own
        from pipeline.delivery.master import check_video_output

        check_video_output(run.output, _output_flag(cl))
    for spec, value in got.reads:
        p = Path(value)
        if not p.is_file():
            raise InputError(f"{spec.flag} {value}: " + ("is a folder, not a file" if p.is_dir() else "no such file"))


def cli_message(exc: ParamsError, suppliers: dict[tuple[Any, ...], Spec], cl: CommandLine) -> str:
    """A validation error as the command line shows it: `--option VALUE: message`."""
    spec = option_for(exc.loc, suppliers)
    if spec is not None:
        return exc.at_option(spec.flag)
    if cl.output_field is not None and exc.loc[:1] == (cl.output_field,):
        return exc.at_option(_output_flag(cl))
    return str(exc)


def emit(tl: Any, out: Path, stage: Any, params: Any, ctx: StageContext) -> Path:
    """Write the timeline (.timeline.json) or render it (any other extension; the
    stage's own `render` when it has one)."""
    from pipeline.cli.kit import refuse_source_as_output
    from pipeline.delivery.master import render_master
    from pipeline.model.clips import is_timeline_path

    refuse_source_as_output(tl, out)
    if is_timeline_path(out):
        tl.validate(str(out))
        tl.save(out)
        click.echo(f"wrote {out}", err=True)
        return out
    if hasattr(stage, "render"):
        stage.render(tl, params, out, ctx)
        return out
    render_master(tl, out, label=stage.name)
    click.echo(f"wrote {out}", err=True)
    return out


# ---- finding the commands --------------------------------------------------------------
def _module_command(cls: type) -> click.Command | None:
    """An old-style plugin's module-level click `command`, if its module defines one."""
    try:
        mod = importlib.import_module(cls.__module__)
    except ImportError:
        return None
    cmd = getattr(mod, "command", None)
    return cmd if isinstance(cmd, click.Command) else None


def command_for(cls: type) -> click.Command:
    return _module_command(cls) or build_command(cls)


def builtin_command(name: str) -> click.Command | None:
    """The command of the built-in stage package named after `name` (imports only it)."""
    module_name = name.replace("-", "_")
    if not module_name.isidentifier() or module_name.startswith("_"):
        return None
    from pipeline.run.stage import BUILTIN_PACKAGE

    try:
        mod = importlib.import_module(f"{BUILTIN_PACKAGE}.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{BUILTIN_PACKAGE}.{module_name}":
            return None
        raise
    cls = getattr(mod, "STAGE", None)
    return command_for(cls) if cls is not None and cls.name == name else None


def stage_commands() -> Iterable[click.Command]:
    """A command for every registered stage, plugins included."""
    from pipeline.run.stage import registry

    for cls in registry().values():
        yield command_for(cls)
