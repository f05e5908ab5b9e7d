"""check on the command line: one INPUT checked, a table on stderr or one JSON document
on stdout, an optional HTML report and a corrected copy (--fix), exit 1 when it fails."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.run.command import CommandRun


def run_check(input_path: str, tolerance: str, preset_name: str | None) -> tuple[dict[str, Any], str | None, Any]:
    """The check document for a media file or a .timeline.json, the media it read, the preset."""
    from stages.check.checking import check_media, check_timeline, tolerance_window
    from pipeline.delivery.presets import get_preset
    from pipeline.model.timeline import Timeline
    from pipeline.model.clips import is_timeline_path

    tolerance_window(tolerance)
    preset = get_preset(preset_name) if preset_name else None
    if is_timeline_path(input_path):
        return check_timeline(Timeline.load(input_path), tolerance, preset, where=input_path), None, preset
    return check_media(input_path, tolerance, preset), input_path, preset


def fix_file(doc: dict[str, Any], media: str | None, target: Path, reporter: Any,
             input_path: str | None = None) -> dict[str, Any]:
    """Write `target`: `media` with each failing shot's sound moved by its measured offset
    (or, for a timeline, the timeline with those clips' audio_shift set). Returns what was
    done ({path, shift_ms, shots} or {path, clips}); a StageError when nothing can be
    corrected."""
    from stages.check.fix import apply_fix

    fixed = apply_fix(doc, input_path or str(media), media, target)
    reporter.info(fixed.pop("message"))
    return fixed


def print_table(doc: dict[str, Any]) -> None:
    err = sys.stderr
    for c in doc["checks"]:
        mark = "FAIL" if not c["passed"] else "WARN" if c.get("warning") else "ok  "
        print(f"  {mark}  {c['name']:<22} {c['detail']}", file=err)
    from pipeline.delivery.provenance import Credentials

    creds = doc.get("content_credentials") or {}
    named = {"": creds} if "state" in creds else {Path(src).name + ": ": c for src, c in creds.items()}
    for name, c in named.items():
        print(f"        {'credentials':<22} {name}{Credentials.from_dict(c).summary()}", file=err)
    off = doc.get("av_offset_ms")
    print(f"{'PASSED' if doc['passed'] else 'FAILED'}: {doc['input']}  offset "
          + ("not measurable" if off is None else f"{off:+.1f} ms (confidence {doc['av_offset_confidence']:.2f})"),
          file=err, flush=True)


def check_command(run: CommandRun) -> int:
    from pipeline.model.clips import is_timeline_path

    params: Any = run.params  # the stage's CheckParams
    input_path = run.inputs[0]
    if params.fix and params.output:
        if is_timeline_path(input_path) and not params.output.endswith(".timeline.json"):
            raise InputError(f"-o {params.output}: the corrected copy of a timeline is a .timeline.json")
        if not is_timeline_path(input_path) and params.output.endswith(".timeline.json"):
            raise InputError(f"-o {params.output}: the corrected copy of a media file is a media file")
    doc, media, preset = run_check(input_path, params.tolerance, params.preset)
    if params.fix and params.output:
        doc["fixed"] = fix_file(doc, media, Path(params.output), run.ctx.reporter, input_path)
    if params.report:
        from stages.check.report import write_report

        write_report(doc, media, params.report, preset.loudness_lufs if preset else None)
        run.ctx.reporter.info(f"wrote {params.report}")
    if run.ctx.options.get("json"):
        out = {k: v for k, v in doc.items() if k not in ("sync", "sources", "shot_syncs")}
        sync = doc.get("sync")
        if sync:
            out["sync"] = {k: sync[k] for k in ("feature", "reason", "events_matched", "events_compared",
                                                "peak_corr", "cut_times")}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        sys.stdout.flush()
    else:
        print_table(doc)
    return 0 if doc["passed"] else 1
