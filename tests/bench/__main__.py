"""`make bench`: time reelforge's main jobs against hand-written ffmpeg commands doing the
same work, and write the table to docs/benchmarks.md.

Every module tests/bench/bench_*.py offers `run(workdir: Path) -> list[dict]`, each row
{"job", "reelforge_s", "reference_s", "goal", "note"} (reference_s may be None), or, with
peak memory, {"job", "reelforge": Measured, "reference": Measured | None, "ratio",
"goal", "note"} (tests/bench/measure.py: time, and the peak memory of ffmpeg and of
reelforge's own process).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    import tests.bench as pkg

    only = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="reelforge-bench-") as tmp:
        os.environ["REELFORGE_CACHE"] = str(Path(tmp) / "cache")
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
            if not info.name.startswith("bench_") or (only and info.name not in only):
                continue
            mod = importlib.import_module(f"tests.bench.{info.name}")
            work = Path(tmp) / info.name
            work.mkdir()
            print(f"== {info.name}", flush=True)
            try:
                measured = mod.run(work)
            except Exception as exc:  # one broken bench does not lose the others' figures
                print(f"   failed: {exc.__class__.__name__}: {str(exc)[-500:]}", flush=True)
                continue
            done = []
            for row in measured:
                row = flat(row)
                done.append({**row, "module": info.name, "measured": time.strftime("%Y-%m-%d %H:%M")})
                print(f"   {row['job']}: {row['reelforge_s']:.2f}s"
                      + (f" vs {row['reference_s']:.2f}s" if row.get("reference_s") else "")
                      + (f", ffmpeg {mb(row.get('reelforge_mb'), 'ffmpeg')} vs {mb(row.get('reference_mb'), 'ffmpeg')}"
                         if row.get("reelforge_mb") else ""), flush=True)
            # written after each module: an interrupted bench run keeps what it measured
            write_table(merge_with_previous(done, {info.name}))
    return 0


def flat(row: dict) -> dict:
    """A row with Measured values as plain numbers: seconds and peak MB by process kind."""
    out = dict(row)
    for side in ("reelforge", "reference"):
        m = out.pop(side, None)
        if m is not None:
            out[f"{side}_s"] = m.seconds
            out[f"{side}_cpu_s"] = round(m.cpu_seconds, 2)
            out[f"{side}_mb"] = {k: round(v, 1) for k, v in m.peak_mb.items()}
    out.setdefault("reference_s", None)
    return out


def mb(peaks: dict | None, kind: str) -> str:
    value = (peaks or {}).get(kind)
    return f"{value:.0f}" if value else "-"


def merge_with_previous(rows: list[dict], ran: set[str]) -> list[dict]:
    """Keep the recorded rows of benchmarks not run this time (`make bench ONLY=...`)."""
    import json

    store = ROOT / "docs" / "benchmarks.json"
    previous = json.loads(store.read_text()) if store.exists() else []
    kept = [r for r in previous if r.get("module") not in ran]
    merged = sorted(kept + rows, key=lambda r: r.get("module", ""))
    store.parent.mkdir(exist_ok=True)
    store.write_text(json.dumps(merged, indent=2) + "\n")
    return merged


def write_table(rows: list[dict]) -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.machine()}.",
        "Reference: a hand-written ffmpeg command doing the same work with the same encoder settings.",
        f"Load average when written: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. On a shared, loaded machine",
        "wall times are noisy: ratios are taken within alternating pairs (median reported), and CPU",
        "time (user + system of every process a command ran), which other load disturbs far less,",
        "is given in the note where it matters.",
        "Peak memory (MB): the largest ffmpeg process and reelforge's own Python process, each its",
        "kernel-kept high-water mark (VmHWM); '-' where the row was measured without it.",
        "",
        "| job | reelforge (s) | reference (s) | ratio | ffmpeg peak (MB) | reference peak (MB) | reelforge peak (MB) "
        "| goal | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        ref = r.get("reference_s")
        ratio = r.get("ratio") or (r["reelforge_s"] / ref if ref else None)
        if r.get("measured"):
            r = {**r, "note": f"{r.get('note', '')} ({r['measured']})".strip()}
        cells = [r["job"], f"{r['reelforge_s']:.2f}", f"{ref:.2f}" if ref else "-",
                 f"{ratio:.2f}x" if ratio else "-", mb(r.get("reelforge_mb"), "ffmpeg"),
                 mb(r.get("reference_mb"), "ffmpeg"), mb(r.get("reelforge_mb"), "reelforge"),
                 r.get("goal", ""), r.get("note", "")]
        lines.append("| " + " | ".join(cells) + " |")
    out = ROOT / "docs" / "benchmarks.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


def timed(fn, *args, **kwargs) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
