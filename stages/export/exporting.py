"""Export: a timeline to every requested preset in one ffmpeg process, then verified.

Order of work: limits are checked (nothing is encoded when the timeline is too long);
each preset gets its timeline (trimmed with --trim-to-limit, reframed when its aspect
differs); pipeline.loudness.plan decides the audio gain; size caps set the video rate
(two-pass where needed); captions become timed overlay images; one ffmpeg run encodes
everything; then every output is probed and checked, and covers and sidecars written.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

from pipeline.errors import CheckFailed, InputError
from pipeline.files import check_output_path
from pipeline.delivery.presets import Preset, get_preset
from pipeline.progress import Reporter, default_reporter
from pipeline.render.settings import OutputSettings
from pipeline.model.timeline import Timeline


@dataclass
class ExportOptions:
    presets: list[str]
    folder: Path
    stem: str
    overwrite: bool = False
    dry_run: bool = False
    trim_to_limit: bool = False
    encoder: str = "libx264"
    x264_preset: str | None = None  # speed override; the preset's shape is kept
    thumbnail: bool = False
    thumbnail_at: Fraction | None = None
    captions: bool = False
    burn_captions: bool = True
    verify: bool = True
    provenance: str = "auto"  # content credentials: off, auto or required


@dataclass
class Output:
    preset: Preset
    path: Path
    tl: Timeline
    settings: OutputSettings
    loudness_planned: bool = False
    cues: list[Any] = field(default_factory=list)
    thumbnail: Path | None = None
    sidecars: list[Path] = field(default_factory=list)

    verified: str = ""  # "ok", "ok with warnings", or "" when not verified
    measured: dict[str, Any] = field(default_factory=dict)  # verification's loudness figures
    seal: Any = None  # signs the file before its rename; .plan is the manifest it writes

    def entries(self) -> list[dict[str, Any]]:
        """StageContext.outputs entries: the video, then its cover and caption files."""
        video: dict[str, Any] = {"path": str(self.path), "preset": self.preset.name}
        if self.verified:
            video["verified"] = self.verified
        video.update({k: round(v, 2) for k, v in self.measured.items() if v is not None})
        found = [video]
        if self.thumbnail:
            found.append({"path": str(self.thumbnail), "preset": self.preset.name, "kind": "cover"})
        found += [{"path": str(p), "preset": self.preset.name, "kind": "captions"} for p in self.sidecars]
        return found


def reframe_mode(tl: Timeline) -> str:
    """The timeline's reframe mode: what the reframe stage set (smart), else contain-blur."""
    if tl.reframe:
        return str(tl.reframe.get("mode") or "smart")
    return "contain-blur"


def same_aspect(tl: Timeline, preset: Preset) -> bool:
    return abs(tl.canvas.aspect - preset.aspect_ratio) <= preset.aspect_ratio / 100


def plan_outputs(tl: Timeline, opts: ExportOptions, reporter: Reporter) -> list[Output]:
    """Every output's timeline and settings, decided before anything is encoded."""
    from pipeline.delivery import loudness
    from pipeline.delivery.encoders import choose_encoder, with_encoder
    from pipeline.delivery.limits import cap_size, check_durations, trim_timeline
    from pipeline.run.stage import get_stage

    reframer = get_stage("reframe")  # export reaches reframing only through the registry

    tl.validate()
    tl.require_clips("export")
    presets = [get_preset(n) for n in dict.fromkeys(opts.presets)]
    limits = check_durations(tl, presets, opts.trim_to_limit)
    encoder = choose_encoder(opts.encoder, reporter)
    trimmed: dict[Fraction, Timeline] = {}
    reframed: dict[tuple[int, int, int], Timeline] = {}
    outputs: list[Output] = []
    for preset in presets:
        base = tl
        if preset.name in limits:
            limit = limits[preset.name]
            if limit not in trimmed:
                trimmed[limit] = trim_timeline(tl, limit)
                reporter.warn(f"{preset.name}: trimmed to {float(trimmed[limit].duration):.2f} s (--trim-to-limit)")
            base = trimmed[limit]
        if not same_aspect(base, preset):
            key = (id(base), preset.width, preset.height)
            if key not in reframed:
                reframed[key] = reframer.recompose(base, preset.width, preset.height, reframe_mode(base), reporter)
            base = reframed[key]
        settings = with_encoder(preset.settings(tl.canvas.fps), encoder)
        if opts.x264_preset:
            settings = dataclasses.replace(settings, x264_preset=opts.x264_preset)
        outputs.append(Output(preset, opts.folder / f"{opts.stem}.{preset.name}.mp4", base, settings))
    # The loudness plan, once per distinct mix (reframed copies sound the same), before
    # anything renders.
    by_tl: dict[str, list[Output]] = {}
    for out in outputs:
        by_tl.setdefault(loudness.sound_key(out.tl), []).append(out)
    for members in by_tl.values():
        planned = loudness.plan(members[0].tl, [m.settings for m in members], [m.path.name for m in members])
        for out, s in zip(members, planned):
            out.loudness_planned = s != out.settings
            out.settings = s
    for out in outputs:
        out.settings = cap_size(out.settings, out.preset, out.tl.duration)
    if opts.thumbnail_at is not None:
        for out in outputs:
            if opts.thumbnail_at >= out.tl.duration:
                raise InputError(f"--thumbnail-at {float(opts.thumbnail_at):g}: past the end of the "
                                 f"{out.preset.name} output ({float(out.tl.duration):.2f} s)")
    if opts.captions:
        from pipeline.delivery.captions import make_cues, timeline_words

        for out in outputs:
            words = timeline_words(out.tl)
            if not words:
                raise InputError("--captions: the timeline has no voiceover word timings (and no captions)")
            out.cues = make_cues(words, out.preset)
    return outputs


def failed_path(path: Path) -> Path:
    """Where an output that failed verification is kept: beside its target, never at it."""
    return path.with_name(f"{path.stem}.failed{path.suffix}")


def target_paths(out: Output, opts: ExportOptions) -> list[Path]:
    paths = [out.path]
    if opts.verify:
        paths.append(failed_path(out.path))
    if opts.thumbnail or opts.thumbnail_at is not None:
        paths.append(out.path.with_suffix(".jpg"))
    if opts.captions:
        paths += [out.path.with_suffix(".srt"), out.path.with_suffix(".vtt")]
    return paths


def export_timeline(tl: Timeline, opts: ExportOptions, reporter: Reporter | None = None,
                    inputs: Sequence[str] = ()) -> list[Output]:
    """Render, verify and finish every output. Raises CheckFailed when one fails verification."""
    from pipeline.render.graph import OutputJob
    from pipeline.render.multi import render_jobs

    from pipeline.delivery.signing import signing_key

    reporter = reporter or default_reporter()
    key = signing_key(opts.provenance)  # before any work: `required` without credentials is bad input
    outputs = plan_outputs(tl, opts, reporter)
    sources = {Path(p).resolve() for p in inputs} | {Path(src).resolve() for src in tl.sources()}
    for out in outputs:
        for p in target_paths(out, opts):
            check_output_path(p, sources, opts.overwrite, label="export")
    _plan_credentials(outputs, opts, key, reporter)
    if opts.dry_run:
        for out in outputs:
            s = out.settings
            how = f"{s.video_codec} {'2-pass ' + s.video_bitrate if s.pass_num else 'crf ' + str(s.crf)}"
            reporter.info(f"would write {out.path} ({out.settings.width}x{out.settings.height} "
                          f"{float(out.settings.fps):g} fps, {how}, {float(out.tl.duration):.2f} s)")
        return outputs
    with tempfile.TemporaryDirectory(prefix="reelforge-export-") as tmp:
        jobs = []
        for i, out in enumerate(outputs):
            job = OutputJob(out.tl, out.settings, out.path, seal=out.seal)
            if opts.captions and opts.burn_captions:
                from pipeline.delivery.captions import build_overlay, caption_strip

                overlay = build_overlay(out.cues, out.preset, Path(tmp) / f"captions{i}", out.tl.duration)
                job = dataclasses.replace(job, overlay=overlay, overlay_xy=(0, caption_strip(out.preset)[0]))
            jobs.append(job)
        names = ", ".join(o.preset.name for o in outputs)
        render_jobs(jobs, label=f"export {opts.stem} [{names}]", reporter=reporter)
    finish(outputs, opts, reporter)
    if key is None and opts.provenance == "auto" and not _UNSIGNED_SAID:
        _UNSIGNED_SAID.append(True)  # once per process, once the outputs exist
        reporter.warn("export: outputs are unsigned: no content credentials without REELFORGE_C2PA_KEY and "
                      "REELFORGE_C2PA_CERT (see docs/provenance.md; --provenance off silences this)")
    return outputs


_UNSIGNED_SAID: list[bool] = []


def _plan_credentials(outputs: list[Output], opts: ExportOptions, key: Any, reporter: Reporter) -> None:
    """Each output's signing step and the manifest it writes (none without a key)."""
    from pipeline.delivery.manifest import sealer

    if key is None:
        return
    notes = ["captions burned in"] if opts.captions and opts.burn_captions else []
    for out in outputs:
        out.seal = sealer(out.tl, key, out.path.name, out.settings.width, out.settings.height, notes=notes)
    if opts.dry_run:
        reporter.info(f"would sign content credentials as {key.subject}")


def finish(outputs: list[Output], opts: ExportOptions, reporter: Reporter) -> None:
    """Sidecars, covers and verification for rendered outputs."""
    from pipeline.delivery.verify import report_table, verify_output

    if opts.captions:
        from pipeline.delivery.captions import write_sidecars

        for out in outputs:
            srt, vtt = out.path.with_suffix(".srt"), out.path.with_suffix(".vtt")
            write_sidecars(out.cues, srt, vtt)
            out.sidecars = [srt, vtt]
    if opts.thumbnail or opts.thumbnail_at is not None:
        from pipeline.delivery.covers import pick_time, write_thumbnail

        t = opts.thumbnail_at
        if t is None:
            # Analyse the shortest output (a time in it exists in every output), smallest first.
            probe_out = min(outputs, key=lambda o: (o.tl.duration, o.settings.width * o.settings.height))
            avoid = [(c.start, c.end) for c in probe_out.cues]
            t = pick_time(probe_out.path, probe_out.tl.duration, avoid)
        for out in outputs:
            out.thumbnail = write_thumbnail(out.path, t, out.path.with_suffix(".jpg"))
        reporter.info(f"covers at {float(t):.2f} s")
    if not opts.verify:
        return
    reports = [verify_output(out.path, out.preset.name, out.settings, out.tl.duration,
                             out.preset.max_size_mb, out.preset.max_duration,
                             out.preset.loudness_tolerance_lu, out.loudness_planned) for out in outputs]
    for out, report in zip(outputs, reports):
        if out.seal is not None:
            from pipeline.delivery.manifest import check_manifest
            from pipeline.delivery.verify import Check

            ok, expected, actual = check_manifest(out.path, out.seal.plan)
            report.checks.append(Check("credentials", expected, actual, "pass" if ok else "fail"))
    reporter.table(*report_table(reports))
    for out, report in zip(outputs, reports):
        warned = any(c.status == "warn" for c in report.checks)
        out.verified = ("ok with warnings" if warned else "ok") if report.ok else "failed"
        out.measured = report.measured
    failed = [r for r in reports if not r.ok]
    if failed:
        import os

        from pipeline.files import record_written

        for out, report in zip(outputs, reports):
            if not report.ok:
                kept = failed_path(out.path)
                os.replace(out.path, kept)
                record_written(kept)
                report.path = kept
                out.path = kept
                reporter.warn(f"{report.preset}: failed verification; kept as {kept}, nothing at the target path")
        detail = "; ".join(f"{r.preset}: " + ", ".join(f"{c.name} {c.actual} (want {c.expected})"
                                                      for c in r.checks if c.status == "fail") for r in failed)
        raise CheckFailed(f"verification failed for {len(failed)} of {len(reports)} outputs: {detail}")
