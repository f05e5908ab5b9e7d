"""The reelforge command line. Thin: parse, build steps, call the engine, print."""

from __future__ import annotations

import json
import os
import sys

import click

from pipeline.cli.kit import handle_errors


# `reelforge stitch` with no arguments shows the help (click >= 8.2); keep that as it is.
_NoArgsIsHelp = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _OneLineUsageError(click.UsageError):
    """A usage error shown as one line on stderr (the contract for every error), with a
    pointer to the command's --help instead of click's multi-line usage block."""

    def __init__(self, original: click.UsageError) -> None:
        super().__init__(original.message, original.ctx)
        self.original = original
        self.exit_code = original.exit_code

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        message = " ".join(self.original.format_message().split())
        where = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        click.echo(f"error: {message}{where}", err=True)


class _Main(click.Group):
    """Adds stage commands (from the stages package and plugins) on first use; usage
    errors of every command are reported as one line."""

    _loaded = False

    def make_context(self, *args, **kwargs) -> click.Context:  # noqa: ANN002, ANN003
        try:
            return super().make_context(*args, **kwargs)
        except (_OneLineUsageError, _NoArgsIsHelp):
            raise
        except click.UsageError as exc:
            raise _OneLineUsageError(exc) from None

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except (_OneLineUsageError, _NoArgsIsHelp):
            raise
        except click.UsageError as exc:
            raise _OneLineUsageError(exc) from None

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            from pipeline.cli.stagecmd import stage_commands

            for cmd in stage_commands():
                if cmd.name not in self.commands:
                    self.add_command(cmd)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and not self._loaded:
            # Fast path: a built-in stage's module is named after its command; import only it.
            from pipeline.cli.stagecmd import builtin_command

            cmd = builtin_command(name)
            if cmd is not None:
                self.add_command(cmd)
        if name not in self.commands:
            self._load()
        return self.commands.get(name)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="reelforge", version=None, prog_name="reelforge",
                      message="%(prog)s, version %(version)s")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """reelforge: post-production for AI-generated video.

    Generate shots, stitch them, reframe for every screen, add voiceover and music,
    check sync and loudness, and export to each platform's format.

    \b
    Example:
      reelforge generate --prompt "a red kite over the sea" -o kite.mp4
      reelforge export kite.mp4 --preset tiktok --preset youtube-shorts -o out/
      reelforge run samples/promo.yaml
    """
    ctx.obj = {"debug": debug, "quiet": quiet}
    from pipeline.cli.display import install

    install(quiet=quiet)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@handle_errors
def probe(file: str, as_json: bool) -> None:
    """Show container, duration and every stream of FILE.

    \b
    Example:
      reelforge probe clip.mp4 --json
    """
    from pipeline.model.media import probe as probe_media

    from pipeline.delivery.provenance import read_credentials

    info = probe_media(file)
    creds = read_credentials(file)
    if as_json:
        click.echo(json.dumps({**info.to_dict(), "content_credentials": creds.to_dict()}, indent=2))
        return
    click.echo(f"{file}")
    click.echo(f"  container  {info.container}")
    click.echo(f"  duration   {float(info.duration):.3f} s")
    click.echo(f"  size       {info.size_bytes} bytes, {info.bit_rate // 1000} kb/s")
    for v in info.video:
        vfr = " (variable)" if v.variable_fps else ""
        w, h = v.display_size
        click.echo(
            f"  video #{v.index}   {v.codec} {v.width}x{v.height} (shown {w}x{h}, {str(v.display_aspect).replace('/', ':')})"
            f" {float(v.fps):.3f} fps = {v.fps}{vfr}, {v.pix_fmt}, rotation {v.rotation}, {v.color_space}"
        )
    for a in info.audio:
        click.echo(f"  audio #{a.index}   {a.codec} {a.sample_rate} Hz, {a.channels} ch ({a.layout})")
    click.echo(f"  credentials {creds.summary()}")


@cli.command()
@handle_errors
def doctor() -> None:
    """Check the set-up: ffmpeg, the encoders and filters reelforge needs, credentials.

    \b
    Example:
      reelforge doctor
    """
    from pipeline.cli.doctor import run_doctor

    sys.exit(run_doctor())


@cli.group()
def presets() -> None:
    """List and show export presets (built-in, and yours from REELFORGE_PRESETS).

    \b
    Example:
      reelforge presets list
      reelforge presets show tiktok --json
    """


@presets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@handle_errors
def presets_list(as_json: bool) -> None:
    """List every preset.

    \b
    Example:
      reelforge presets list --json
    """
    from pipeline.delivery.presets import load_library

    library = load_library()
    items = library.presets
    for reason in library.broken.values():
        click.echo(f"warning: {reason}", err=True)
    if as_json:
        broken = [{"name": n, "broken": why} for n, why in library.broken.items()]
        click.echo(json.dumps([p.to_dict() for p in items.values()] + broken, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "platform", "size", "aspect", "max fps", "max s", "loudness", "description")
    for p in items.values():
        table.add_row(
            p.name, p.platform, f"{p.width}x{p.height}", p.aspect, f"{float(p.max_fps):g}",
            f"{p.max_duration:g}" if p.max_duration else "-",
            f"{p.loudness_lufs:g} LUFS" if p.loudness_lufs is not None else "-", p.description,
        )
    for name, why in library.broken.items():
        table.add_row(name, "BROKEN", "-", "-", "-", "-", "-", why)
    Console(width=160).print(table)


@presets.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@handle_errors
def presets_show(name: str, as_json: bool) -> None:
    """Show every setting of preset NAME.

    \b
    Example:
      reelforge presets show youtube-shorts
    """
    from pipeline.delivery.presets import get_preset

    p = get_preset(name, where="preset")
    data = p.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for k, v in data.items():
        click.echo(f"{k:16} {v}")


from pipeline.cli.models import jobs, models  # noqa: E402 - the catalog and job commands

cli.add_command(models)
cli.add_command(jobs)

from pipeline.cli.review import demo, review  # noqa: E402 - the review page and the shipped demo

cli.add_command(review)
cli.add_command(demo)


@cli.command()
@click.argument("pipeline_file", metavar="PIPELINE.yaml", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate and show the plan; generate and render nothing.")
@click.option("--force", "force", multiple=True, metavar="STEP",
              help="Re-run STEP (its name, id or number; 'all' for every step) even if cached. Repeatable.")
@click.option("--variant", "variants", multiple=True, metavar="NAME",
              help="Run only this variant (default: every variant the file defines). Repeatable.")
@click.option("--var", "assignments", multiple=True, metavar="NAME=VALUE", help="Set a variable (overrides vars:).")
@click.option("--no-cache", is_flag=True, help="Run every step; neither read nor write the step cache.")
@click.option("--json", "as_json", is_flag=True, help="Print the outputs as one JSON document on stdout.")
@click.option("--budget", type=click.FloatRange(min=0), metavar="USD",
              help="Refuse to start if generating the shots would cost more.")
@click.option("--overwrite", "-y", is_flag=True,
              help="Replace files at the outputs that reelforge did not write (or that were edited since).")
@click.option("--matrix", type=click.Path(dir_okay=False), metavar="CSV",
              help="A batch: one run per row; the header names variables, each row sets their values.")
@click.option("--executor", type=click.Choice(["local", "ray"]),
              help="Where a batch runs: local (a process pool, the default) or ray (a Ray cluster).")
@click.option("--address", metavar="ADDR", help="The Ray cluster: auto, HOST:PORT or ray://HOST:PORT "
              "(default: RAY_ADDRESS, else a cluster started on this machine).")
@click.option("--shared-fs", is_flag=True, help="Every Ray node sees the files at the same paths: "
              "use them in place instead of sending them through the object store.")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Rows at once with the local executor (default: one per CPU).")
@handle_errors
def run(pipeline_file: str, dry_run: bool, force: tuple[str, ...], variants: tuple[str, ...],
        assignments: tuple[str, ...], no_cache: bool, as_json: bool, budget: float | None,
        overwrite: bool, matrix: str | None, executor: str | None, address: str | None, shared_fs: bool,
        workers: int | None) -> None:
    """Run a pipeline file: generate its shots, apply its steps, write its outputs.

    Every step's result is cached by the hash of its inputs: a second run re-does only
    the steps whose parameters, media or upstream results changed.

    \b
    Example:
      reelforge run samples/promo.yaml
      reelforge run promo.yaml --variant calm --var music=bed.wav --force export
      reelforge run promo.yaml --dry-run --budget 5
      reelforge run promo.yaml --matrix variants.csv --executor ray --address auto
    """
    from pipeline.run.runner import run_file_results

    from pipeline.cli.options import name_values

    variables = name_values("--var", assignments)
    from pipeline.cli.kit import json_stdout

    from pipeline.errors import ReelforgeError

    from pipeline.cli.batchview import is_batch, run_batch_command

    if is_batch(pipeline_file, matrix, executor, address, shared_fs, workers):
        with json_stdout(as_json) as stdout:
            run_batch_command(pipeline_file, matrix, executor, address, shared_fs, workers, as_json, stdout,
                              variants=variants, variables=variables, force=force, use_cache=not no_cache,
                              budget=budget, overwrite=overwrite, dry_run=dry_run)
        return
    with json_stdout(as_json) as stdout:
        try:
            results = run_file_results(pipeline_file, dry_run=dry_run, force=force, variants=variants,
                                       variables=variables, use_cache=not no_cache, budget=budget,
                                       overwrite=overwrite)
        except ReelforgeError as exc:
            if as_json:  # still one JSON document on stdout; the error line goes to stderr as always
                from pipeline.cli.kit import one_line

                click.echo(json.dumps({"error": one_line(exc), "exit_code": exc.exit_code}, indent=2), file=stdout)
            raise
        if as_json:
            click.echo(json.dumps([r.summary() for r in results], indent=2, default=str), file=stdout)


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the schema to this file instead of stdout.")
@click.option("--overwrite", "-y", is_flag=True, help="Replace OUT if it already exists.")
@handle_errors
def schema(output: str | None, overwrite: bool) -> None:
    """Print the JSON Schema of pipeline files (for editor completion and checking).

    Built from every registered stage's parameters, plugins included.

    \b
    Example:
      reelforge schema -o reelforge.schema.json
      # VS Code (YAML extension): # yaml-language-server: $schema=reelforge.schema.json
    """
    from pipeline.run.schema import pipeline_schema

    if output:
        from pipeline.cli.kit import check_output

        check_output(output, overwrite=overwrite)
    text = json.dumps(pipeline_schema(), indent=2)
    if output:
        from pathlib import Path

        from pipeline.files import atomic_write_text

        atomic_write_text(Path(output), text + "\n")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)


@cli.command("export-edit")
@click.argument("timeline", metavar="TIMELINE", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The edit to write: .otio (OpenTimelineIO).")
@click.option("--overwrite", "-y", is_flag=True, help="Replace OUT if it already exists.")
@handle_errors
def export_edit(timeline: str, output: str, overwrite: bool) -> None:
    """Write TIMELINE (.timeline.json, .otio or media) as an OpenTimelineIO edit.

    Clips with their trims, transitions, audio tracks and markers, at exact frame times
    of the canvas rate, so an editor can finish the cut in DaVinci Resolve or Premiere.

    \b
    Example:
      reelforge export-edit seq.timeline.json -o seq.otio
    """
    from pipeline.cli.kit import check_output
    from pipeline.adapters.otio import write_otio
    from pipeline.adapters.inputs import load_inputs

    out = check_output(output, [timeline], overwrite)
    if out.suffix.lower() != ".otio":
        from pipeline.errors import InputError

        raise InputError(f"-o {out}: the edit is written as .otio")
    # An interchange file may name media that is offline: editors relink it.
    write_otio(load_inputs([timeline], require_media=False), out)
    click.echo(f"wrote {out}", err=True)


def _stop_on_sigterm() -> None:
    """SIGTERM (a CI timeout, `kill`, a container stopping) unwinds like Ctrl-C: ffmpeg is
    stopped and partial files are removed, instead of the process vanishing mid-write."""
    import signal

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, on_term)


def main() -> None:
    """Console entry point."""
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    _stop_on_sigterm()
    cli(prog_name="reelforge")


if __name__ == "__main__":  # pragma: no cover
    main()
