"""check: is sound in step with picture, and does the file meet the platform's rules?

As a pipeline step it checks what export wrote when it comes after export, otherwise the
timeline (voiceover against cuts, music length, silent gaps, and the offset of every
source with sound). A failing check stops the run unless the step says `warn: true`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.files import is_video_path
from pipeline.run.command import CommandLine, CommandRun
from pipeline.run.params import Option, problem
from pipeline.run.stage import StageContext
from pipeline.model.timeline import Timeline

JSON = Option("--json", name="json", type=bool, help="Print one JSON document on stdout.")


class CheckParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tolerance: Annotated[Literal["itu", "ebu", "atsc"], Option(
        help="Sync window: itu (BT.1359 +45/-125 ms), ebu (R37 +40/-60), atsc (IS-191 +15/-45).")] = "itu"
    preset: Annotated[Optional[str], Option(short="-p", help=(
        "Also check delivery rules of this preset (resolution, fps, codec, loudness, limits)."))] = None
    warn: Annotated[bool, Option(cli=False)] = False  # report failures but let the run go on
    report: Annotated[Optional[str], Option(
        role="output", help="Write a self-contained HTML report to this file.")] = None  # HTML page to write
    fix: Annotated[bool, Option(help=(
        "Write a copy with each out-of-sync shot's sound moved by its measured offset (needs -o; "
        "a timeline gets a .timeline.json with that clip's audio_shift)."))] = False
    # the corrected copy (the command line's -o); when several exported files are checked,
    # each copy is named <stem>.<preset><suffix> after it
    output: Annotated[Optional[str], Option(cli=False, role="output", help=(
        "With fix: the corrected copy (video stream-copied, audio moved by the measured offset)."))] = Field(
        default=None)

    @field_validator("output")
    @classmethod
    def _video(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not is_video_path(value) and not value.endswith(".timeline.json"):
            raise ValueError("use .mp4, .mov, .mkv or .m4v for the corrected copy (.timeline.json for a timeline)")
        return value

    @model_validator(mode="after")
    def _fix_needs_output(self) -> "CheckParams":
        if self.fix and not self.output:
            raise problem(("fix",), "give the file for the corrected copy (output; -o OUT on the command line)")
        if self.output and not self.fix:
            raise problem(("output",), "only used with fix", self.output)
        return self

    @field_validator("preset")
    @classmethod
    def _known(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        from pipeline.delivery.presets import preset_names

        if value not in preset_names():
            raise ValueError(f"unknown preset '{value}'")
        return value


def failed_summary(doc: dict[str, Any]) -> str:
    bad = [f"{c['name']}: {c['detail']}" for c in doc["checks"] if not c["passed"]]
    return "; ".join(bad)


class CheckStage:
    """Checks the exported files (after export) or the timeline (before it)."""

    name: ClassVar[str] = "check"
    Params: ClassVar[type[BaseModel]] = CheckParams
    help: ClassVar[str] = """Check INPUT (a media file or .timeline.json): sound/picture offset, streams,
    timeline, and a preset's delivery rules. Exit 0 pass, 1 fail, 2 unreadable input.

    The offset is measured from content (sound onsets against flashes, cuts and changes
    of motion, and lips against speech when a face shows), shot by shot. Positive means
    the audio is early, as in ITU-R BT.1359."""
    examples: ClassVar[tuple[str, ...]] = (
        "reelforge check final.mp4 --preset tiktok --report check.html",
        "reelforge check take.mp4 --json",
        "reelforge check take.mp4 --fix -o take.synced.mp4",
        "reelforge check seq.timeline.json --fix -o seq.fixed.timeline.json")
    command_line: ClassVar[CommandLine] = CommandLine(
        inputs="one", output=Option("--output", short="-o", help=(
            "Output for --fix: a media copy (video stream-copied) or, for a timeline, a .timeline.json.")),
        output_field="output", output_required=False, overwrite_help="Replace OUT or the report if it exists.",
        extras=(JSON,))
    # After export it checks the files export wrote: their content is part of its cache key.
    # A failing check that stops the run is never cached, so it runs (and fails) again.
    reads_outputs: ClassVar[bool] = True
    dry_run_exact: ClassVar[bool] = True  # a dry run checks nothing and leaves the timeline as it is

    def run_command(self, run: CommandRun) -> int:
        """The command line's check: one INPUT, a table on stderr or --json on stdout,
        exit 1 when a check fails."""
        from stages.check.command import check_command

        return check_command(run)

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        from stages.check.checking import check_media, check_timeline
        from pipeline.errors import CheckFailed, InputError
        from pipeline.delivery.presets import get_preset

        assert isinstance(params, CheckParams)
        if ctx.dry_run:
            ctx.info("would check " + ("the exported files" if ctx.outputs else "the timeline"))
            return tl
        files = [o for o in ctx.outputs if o.get("preset") and is_video_path(str(o.get("path", "")))]
        docs = []
        if files:
            from stages.check.balance import balance_check, timeline_balance
            from stages.check.checking import Check

            # the mix's parts are known only before it was rendered: from the timeline
            balance = timeline_balance(tl.copy())
            for out in files:
                name = params.preset or out.get("preset")
                preset = get_preset(name) if name else None
                # the delivered file shows the timeline: its clips are its shots
                doc = check_media(out["path"], params.tolerance, preset, timeline=tl)
                if balance is not None:
                    doc["checks"].append(balance_check(balance, Check).to_dict())
                    doc["music_under_speech"] = balance
                docs.append((doc, out["path"], preset))
        else:
            preset = get_preset(params.preset) if params.preset else None
            docs.append((check_timeline(tl, params.tolerance, preset, where=tl.meta.get("name", "timeline")),
                         None, preset))
        failures = []
        for doc, media, _preset in docs:
            ctx.findings.append({"check": doc})  # the whole document, for the run record and review page
            label = doc["input"]
            off = doc.get("av_offset_ms")
            ctx.outputs.append({"check": label, "passed": doc["passed"],
                                "offset_ms": "n/a" if off is None else off,
                                "failed": ",".join(c["name"] for c in doc["checks"] if not c["passed"]) or "-"})
            for c in doc["checks"]:
                if c.get("warning"):
                    ctx.warn(f"check {label}: {c['name']}: {c['detail']}")
            if doc["passed"]:
                ctx.info(f"check {label}: passed ({len(doc['checks'])} checks)")
            else:
                failures.append(f"{label}: {failed_summary(doc)}")
        if params.fix:
            from stages.check.command import fix_file

            media_docs = [(doc, media, preset) for doc, media, preset in docs if media]
            if not media_docs:
                raise InputError("check.fix: corrects media files; put the check after export")
            for doc, media, preset in media_docs:
                target = ctx.resolve(params.output or "")
                if len(media_docs) > 1:
                    target = target.with_name(f"{target.stem}.{preset.name if preset else Path(media).stem}"
                                              f"{target.suffix}")
                fixed = fix_file(doc, media, target, ctx.reporter)
                ctx.outputs.append({"path": str(target), "kind": "sync fix", "shift_ms": fixed["shift_ms"]})
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
