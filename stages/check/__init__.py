"""check: is sound in step with picture, and does the file meet the platform's rules?

As a pipeline step it checks what export wrote when it comes after export, otherwise the
timeline (voiceover against cuts, music length, silent gaps, and the offset of every
source with sound). A failing check stops the run unless the step says `warn: true`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, ClassVar, Literal, Optional

import click
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.cli.kit import handle_errors
from pipeline.files import is_video_path
from pipeline.run.outputs import OUTPUT
from pipeline.run.stage import StageContext
from pipeline.model.timeline import Timeline


class CheckParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tolerance: Literal["itu", "ebu", "atsc"] = "itu"
    preset: Optional[str] = None
    warn: bool = False  # report failures but let the run go on
    report: Optional[str] = Field(default=None, json_schema_extra=OUTPUT)  # HTML page to write

    @field_validator("preset")
    @classmethod
    def _known(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        from pipeline.delivery.presets import load_presets

        if value not in load_presets():
            raise ValueError(f"unknown preset '{value}'")
        return value


def failed_summary(doc: dict[str, Any]) -> str:
    bad = [f"{c['name']}: {c['detail']}" for c in doc["checks"] if not c["passed"]]
    return "; ".join(bad)


class CheckStage:
    """Checks the exported files (after export) or the timeline (before it)."""

    name: ClassVar[str] = "check"
    Params: ClassVar[type[BaseModel]] = CheckParams
    cacheable: ClassVar[bool] = False  # it reads files and may stop the run: always run it
    dry_run_exact: ClassVar[bool] = True  # a dry run checks nothing and leaves the timeline as it is

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        from stages.check.checking import check_media, check_timeline
        from pipeline.errors import CheckFailed
        from pipeline.delivery.presets import get_preset

        assert isinstance(params, CheckParams)
        if ctx.dry_run:
            ctx.info("would check " + ("the exported files" if ctx.outputs else "the timeline"))
            return tl
        files = [o for o in ctx.outputs if o.get("preset") and is_video_path(str(o.get("path", "")))]
        docs = []
        if files:
            for out in files:
                name = params.preset or out.get("preset")
                preset = get_preset(name) if name else None
                docs.append((check_media(out["path"], params.tolerance, preset), out["path"], preset))
        else:
            preset = get_preset(params.preset) if params.preset else None
            docs.append((check_timeline(tl, params.tolerance, preset, where=tl.meta.get("name", "timeline")),
                         None, preset))
        failures = []
        for doc, media, _preset in docs:
            label = doc["input"]
            off = doc.get("av_offset_ms")
            ctx.outputs.append({"check": label, "passed": doc["passed"],
                                "offset_ms": "n/a" if off is None else off,
                                "failed": ",".join(c["name"] for c in doc["checks"] if not c["passed"]) or "-"})
            if doc["passed"]:
                ctx.info(f"check {label}: passed ({len(doc['checks'])} checks)")
            else:
                failures.append(f"{label}: {failed_summary(doc)}")
        if params.report:
            from stages.check.report import write_report

            doc, media, preset = docs[0]
            path = write_report(doc, media, ctx.resolve(params.report),
                                preset.loudness_lufs if preset else None)
            ctx.outputs.append({"path": str(path), "kind": "check report"})
            ctx.info(f"wrote {path}")
        tl = tl.copy()
        tl.meta["check"] = {"passed": not failures, "failed": failures}
        if failures:
            if params.warn:
                for f in failures:
                    ctx.warn(f"check failed: {f}")
            else:
                raise CheckFailed("check failed: " + " | ".join(failures))
        return tl


STAGE = CheckStage


def run_check(input_path: str, tolerance: str, preset_name: str | None) -> tuple[dict[str, Any], str | None, Any]:
    """The check document for a media file or a .timeline.json, the media it read, the preset."""
    from stages.check.checking import check_media, check_timeline, tolerance_window
    from pipeline.delivery.presets import get_preset
    from pipeline.model.timeline import Timeline as TL
    from pipeline.model.clips import is_timeline_path

    tolerance_window(tolerance)
    preset = get_preset(preset_name) if preset_name else None
    if is_timeline_path(input_path):
        return check_timeline(TL.load(input_path), tolerance, preset, where=input_path), None, preset
    return check_media(input_path, tolerance, preset), input_path, preset


def print_table(doc: dict[str, Any]) -> None:
    err = sys.stderr
    for c in doc["checks"]:
        click.echo(f"  {'ok  ' if c['passed'] else 'FAIL'}  {c['name']:<22} {c['detail']}", file=err)
    from pipeline.delivery.provenance import Credentials

    creds = doc.get("content_credentials") or {}
    named = {"": creds} if "state" in creds else {Path(src).name + ": ": c for src, c in creds.items()}
    for name, c in named.items():
        click.echo(f"        {'credentials':<22} {name}{Credentials.from_dict(c).summary()}", file=err)
    off = doc.get("av_offset_ms")
    click.echo(f"{'PASSED' if doc['passed'] else 'FAILED'}: {doc['input']}  offset "
               + ("not measurable" if off is None else f"{off:+.1f} ms (confidence {doc['av_offset_confidence']:.2f})"),
               file=err)


@click.command("check")
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--tolerance", type=click.Choice(["itu", "ebu", "atsc"]), default="itu", show_default=True,
              help="Sync window: itu (BT.1359 +45/-125 ms), ebu (R37 +40/-60), atsc (IS-191 +15/-45).")
@click.option("--preset", "-p", "preset_name", default=None,
              help="Also check delivery rules of this preset (resolution, fps, codec, loudness, limits).")
@click.option("--report", "report", default=None, type=click.Path(dir_okay=False),
              help="Write a self-contained HTML report to this file.")
@click.option("--fix", is_flag=True, help="Write a copy with the audio moved by the measured offset (needs -o).")
@click.option("-o", "--output", "output", default=None, type=click.Path(dir_okay=False),
              help="Output for --fix (video is stream-copied).")
@click.option("--overwrite", "-y", is_flag=True, help="Replace OUT or the report if it exists.")
@handle_errors
def command(input_path: str, as_json: bool, tolerance: str, preset_name: str | None, report: str | None,
            fix: bool, output: str | None, overwrite: bool) -> None:
    """Check INPUT (a media file or .timeline.json): sound/picture offset, streams,
    timeline, and a preset's delivery rules. Exit 0 pass, 1 fail, 2 unreadable input.

    The offset is measured from content (sound onsets against flashes, cuts and changes
    of motion). Positive means the audio is early, as in ITU-R BT.1359.

    \b
    Example:
      reelforge check final.mp4 --preset tiktok --report check.html
      reelforge check take.mp4 --json
      reelforge check take.mp4 --fix -o take.synced.mp4
    """
    from pipeline.cli.kit import check_output
    from pipeline.errors import InputError, StageError

    if fix and not output:
        raise InputError("--fix: give the corrected file with -o OUT")
    if output and not fix:
        raise InputError("-o: only used with --fix")
    if fix and input_path.endswith(".timeline.json"):
        raise InputError("--fix: needs a media file, not a timeline")
    from pathlib import Path

    if output:
        if not is_video_path(output):
            raise InputError(f"-o {output}: use .mp4, .mov, .mkv or .m4v for the corrected copy")
        check_output(output, [input_path], overwrite)
    if report:
        check_output(report, [input_path], overwrite, flag="--report")
        if output and Path(report).resolve() == Path(output).resolve():
            raise InputError(f"--report {report}: is also the -o output; choose another name")
    doc, media, preset = run_check(input_path, tolerance, preset_name)
    if fix:
        from stages.check.checking import fix_offset

        if doc["av_offset_ms"] is None:
            raise StageError(f"{input_path}: --fix: the offset is not measurable, nothing to correct")
        fix_offset(input_path, doc["av_offset_ms"], output)
        doc["fixed"] = {"path": str(output), "shift_ms": doc["av_offset_ms"]}
        shift = doc["av_offset_ms"]
        click.echo(f"wrote {output} (audio {'delayed' if shift > 0 else 'advanced'} by {abs(shift):.1f} ms)", err=True)
    if report:
        from stages.check.report import write_report

        write_report(doc, media, report, preset.loudness_lufs if preset else None)
        click.echo(f"wrote {report}", err=True)
    if as_json:
        out = {k: v for k, v in doc.items() if k not in ("sync", "sources")}
        sync = doc.get("sync")
        if sync:
            out["sync"] = {k: sync[k] for k in ("feature", "reason", "events_matched", "events_compared",
                                                "peak_corr", "cut_times")}
        click.echo(json.dumps(out, indent=2))
    else:
        print_table(doc)
    if not doc["passed"]:
        sys.exit(1)
