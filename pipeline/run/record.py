"""The run record: what one `reelforge run` made, as one JSON file beside its outputs.

`<out>/<name>.run.json` holds, for every variant: each step's state and time, each
shot's prompt, model, provider, seed, cost and lineage, each output with its preset's
safe zones and the facts measured on the file (size, rate, frames, duration, loudness,
true peak), and the check documents. The review page (pipeline.delivery.review) is
built from it alone, so `reelforge review DIR` rebuilds the page without running again.
Paths are stored relative to the record's folder: the folder can be moved or served.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from pipeline.errors import InputError
from pipeline.files import atomic_write_text, check_output_path, is_video_path

if TYPE_CHECKING:
    from pipeline.run.runner import RunResult
    from pipeline.run.spec import PipelineSpec

SCHEMA = "reelforge.run/1"
RECORD_SUFFIX = ".run.json"
PAGE_SUFFIX = ".review.html"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def base_name(spec: PipelineSpec) -> str:
    """The pipeline's own name (a variant's outputs carry a suffix; the record does not)."""
    raw = spec.raw.get("name") if isinstance(spec.raw, dict) else None
    name = str(raw) if raw and "${" not in str(raw) else spec.path.stem
    return name if "/" not in name and name not in (".", "..") else spec.path.stem


def output_folder(results: Sequence[RunResult]) -> Path | None:
    """Where the run's outputs are: the folder of its first video (else of any file)."""
    files = [Path(o["path"]) for r in results for o in r.outputs if o.get("path")]
    videos = [p for p in files if is_video_path(p)]
    chosen = videos or files
    return chosen[0].parent if chosen else None


def _rel(path: str | Path, folder: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), folder.resolve())).as_posix()


def _measured(path: Path, checks: list[dict[str, Any]], exported: dict[str, Any] | None = None) -> dict[str, Any]:
    """The facts of one rendered file: probed, and its loudness as the check step measured
    it, else as export's verification did (measured here when neither looked at it)."""
    from pipeline.model.media import probe

    info = probe(path)
    facts: dict[str, Any] = {"size_bytes": info.size_bytes, "duration_s": round(float(info.duration), 4)}
    if info.video:
        v = info.v
        w, h = v.display_size
        facts.update({"width": w, "height": h, "fps": round(float(v.fps), 3), "frames": v.frames,
                      "video_codec": v.codec})
    if info.audio:
        a = info.audio[0]
        facts.update({"audio_codec": a.codec, "sample_rate": a.sample_rate, "channels": a.channels})
        doc = next((d for d in checks if d.get("kind") == "media" and Path(d["input"]) == path), None)
        if doc is not None and doc.get("integrated_lufs") is not None:
            facts.update({"integrated_lufs": doc["integrated_lufs"], "true_peak_dbtp": doc["true_peak_dbtp"],
                          "loudness_by": "check"})
        elif exported and exported.get("integrated_lufs") is not None:
            facts.update({"integrated_lufs": exported["integrated_lufs"],
                          "true_peak_dbtp": exported.get("true_peak_dbtp"), "loudness_by": "export"})
        else:
            from pipeline.analysis.cache import cached_json
            from pipeline.analysis.loudness import measure_file
            from pipeline.files import file_digest

            def measure() -> list[float | None]:
                loud = measure_file(str(path))
                return [loud.integrated_lufs, loud.true_peak_dbtp]

            lufs, peak = cached_json("run-loudness", {"file": file_digest(path), "v": 1}, measure)
            facts.update({"integrated_lufs": lufs, "true_peak_dbtp": peak, "loudness_by": "run record"})
    return facts


def _outputs(result: RunResult, folder: Path, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per rendered video, with its cover and caption files."""
    from pipeline.delivery.presets import get_preset

    entries = [o for o in result.outputs if o.get("path")]
    found = []
    for o in entries:
        path = Path(o["path"])
        if not is_video_path(path) or not o.get("preset") or not path.is_file():
            continue
        preset = get_preset(o["preset"])
        side = [e for e in entries if e is not o and e.get("preset") == o["preset"]
                and Path(e["path"]).stem == path.stem]
        cover = next((e["path"] for e in side if e.get("kind") == "cover"), None)
        found.append({
            "file": _rel(path, folder),
            "preset": preset.name,
            "platform": preset.platform,
            "preset_size": [preset.width, preset.height],
            "safe": {"top": preset.safe_top, "bottom": preset.safe_bottom, "left": preset.safe_left,
                     "right": preset.safe_right},
            "targets": {"loudness_lufs": preset.loudness_lufs, "true_peak_dbtp": preset.true_peak_dbtp},
            "verified": o.get("verified", ""),
            "cached": bool(o.get("cached")),
            "cover": _rel(cover, folder) if cover else None,
            "captions": [_rel(e["path"], folder) for e in side if e.get("kind") == "captions"],
            "facts": _measured(path, checks, o),
        })
    others = [{"file": _rel(o["path"], folder), "kind": o.get("kind", "file")} for o in entries
              if not is_video_path(o["path"]) and not o.get("preset")]
    return found + others


def _shots(result: RunResult, started_at: str) -> list[dict[str, Any]]:
    """Every generated shot on the final timeline, from its provenance."""
    tl = result.timeline
    durations = {c.id: float(c.source_duration) for c in tl.video if c.id}
    shots = []
    for p in tl.provenance:
        if "shot" not in p:
            continue
        made = p.get("generated_at")
        # a shot made during this run is fresh; one made before came from the clip cache
        fresh = bool(made) and made >= started_at
        shots.append({
            "id": p["shot"], "prompt": p.get("prompt", ""), "model": p.get("model"), "provider": p.get("provider"),
            "seed": p.get("seed"), "duration_s": durations.get(p["shot"], p.get("duration")),
            "list_usd": p.get("usd"), "usd": p.get("usd") if fresh else 0.0,
            "generation_s": p.get("generation_s"), "generated_at": made, "cache": "fresh" if fresh else "hit",
            "continue_from": p.get("continue_from"), "source": p.get("source"),
        })
    return shots


def build_record(spec_path: Path, specs: Sequence[PipelineSpec], results: Sequence[RunResult],
                 folder: Path, started_at: str, budget: float | None = None) -> dict[str, Any]:
    """The run record for a finished run (every variant)."""
    variants = []
    for spec, result in zip(specs, results):
        checks = [f["check"] for f in result.findings if "check" in f]
        shots = _shots(result, started_at)
        outputs = _outputs(result, folder, checks)
        checks = [{**d, "input": _rel(d["input"], folder)} if d.get("kind") == "media" else d for d in checks]
        variants.append({
            "name": result.name, "variant": result.variant, "seconds": round(result.seconds, 3),
            "steps": result.steps, "shots": shots, "outputs": outputs, "checks": checks, "cuts_s": [round(float(c), 4) for c in result.timeline.cut_times()],
            "duration_s": round(float(result.timeline.duration), 4),
            "spend_usd": round(sum(s["usd"] or 0.0 for s in shots), 4),
            **({"error": result.error} if result.error else {}),
        })
    return {"schema": SCHEMA, "name": base_name(specs[0]), "pipeline": str(Path(spec_path).resolve()),
            "started_at": started_at, "finished_at": utc_now(), "budget_usd": budget,
            "spend_usd": round(sum(v["spend_usd"] for v in variants), 4), "variants": variants}


def write_run(spec_path: Path, specs: Sequence[PipelineSpec], results: Sequence[RunResult], started_at: str,
              budget: float | None = None, overwrite: bool = False) -> Path | None:
    """Write the run record and its review page beside the outputs; the page's path
    (None when the run wrote no file to review)."""
    folder = output_folder(results)
    if folder is None:
        return None
    record = build_record(spec_path, specs, results, folder, started_at, budget)
    return write_record_and_page(record, folder, overwrite)


def write_run_or_warn(spec_path: Path, specs: Sequence[PipelineSpec], results: Sequence[RunResult],
                      started_at: str, budget: float | None = None, overwrite: bool = False) -> Path | None:
    """write_run for a run that failed, or a batch: a problem writing the page is a
    warning, never in place of the step's own error or the rows' own results."""
    from pipeline.progress import default_reporter

    try:
        return write_run(spec_path, specs, results, started_at, budget, overwrite)
    except Exception as exc:  # noqa: BLE001 - what the run itself reports comes first
        default_reporter().warn(f"review page not written: {exc}")
        return None


def write_record_and_page(record: dict[str, Any], folder: Path, overwrite: bool = False,
                          page_only: bool = False) -> Path:
    """Write `<name>.run.json` (unless page_only) and `<name>.review.html` in `folder`."""
    from pipeline.delivery.review.page import render_page

    from pipeline.files import check_file_name

    name = check_file_name(str(record.get("name") or "run"), "run record name")
    rec_path, page = folder / f"{name}{RECORD_SUFFIX}", folder / f"{name}{PAGE_SUFFIX}"
    for p in (page,) if page_only else (rec_path, page):
        check_output_path(p, overwrite=overwrite, label="review")
    html = render_page(record, folder)  # before anything is written: a failure leaves no half
    if not page_only:
        atomic_write_text(rec_path, json.dumps(record, indent=1, ensure_ascii=False, default=str) + "\n")
    atomic_write_text(page, html)
    return page


def find_record(target: str | Path) -> tuple[dict[str, Any], Path]:
    """The run record in folder `target` (or the record file itself) and its folder."""
    p = Path(target)
    if p.is_dir():
        found = sorted(p.glob(f"*{RECORD_SUFFIX}"))
        if not found:
            raise InputError(f"{p}: no run record (*{RECORD_SUFFIX}) in this folder; `reelforge run` writes one "
                             "beside its outputs")
        if len(found) > 1:
            names = ", ".join(f.name for f in found)
            raise InputError(f"{p}: several run records ({names}); name one")
        p = found[0]
    elif not p.is_file():
        raise InputError(f"{p}: no such file or folder")
    try:
        record = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{p}: not a readable run record ({exc.__class__.__name__})") from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise InputError(f"{p}: not a run record of this version (schema {SCHEMA})")
    return record, p.parent


def planned_page(specs: Sequence[PipelineSpec]) -> list[Path]:
    """The record and page a run of `specs` will write (from the files its steps plan)."""
    from pipeline.run.outputs import planned_outputs

    files = [p.path for spec in specs for p in planned_outputs(spec)]
    videos = [p for p in files if is_video_path(p)]
    chosen = videos or files
    if not chosen:
        return []
    name = base_name(specs[0])
    return [chosen[0].parent / f"{name}{RECORD_SUFFIX}", chosen[0].parent / f"{name}{PAGE_SUFFIX}"]


def check_review_paths(specs: Sequence[PipelineSpec], overwrite: bool) -> None:
    """Before any step runs: the record and page will not replace a user's file."""
    for p in planned_page(specs):
        check_output_path(p, overwrite=overwrite, label="review")
