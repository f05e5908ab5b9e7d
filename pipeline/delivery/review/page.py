"""The review page of a run: one HTML file beside the outputs, built from the run record
(pipeline.run.record) alone.

Outputs: a grid of variant x preset, each cell a player with its cover, the preset's safe
zones as an overlay that can be switched off, the measured facts and a download link.
Shots: what was asked of which model, what it cost and how long it took, a filmstrip.
Check: each verdict with its sync curves, loudness over time and frames at the cuts.
Run: each step's state and time, the spend against the budget.

The page links the media by relative paths and inlines everything else (style, script,
charts, frames): it fetches nothing from the network and works from a file or a server.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.delivery.charts import envelopes_svg, frame_uris, loudness_curve, loudness_svg, strip_uris

FILMSTRIP_FRAMES = 5


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _by_content(kind: str, path: str | Path, params: dict[str, Any], compute: Any) -> Any:
    """compute(), cached by the file's content and `params`: a page built again (a re-run
    served from cache, `reelforge review`) decodes nothing."""
    from pipeline.analysis.cache import cached_json
    from pipeline.files import file_digest

    return cached_json(f"review-{kind}", {"file": file_digest(path), **params, "v": 1}, compute)


def _asset(name: str) -> str:
    return resources.files("pipeline.delivery.review").joinpath(name).read_text(encoding="utf-8")


def _num(value: Any, fmt: str, unit: str = "") -> str:
    return "-" if value is None else f"{format(value, fmt)}{unit}"


def _usd(value: Any) -> str:
    return "price unknown" if value is None else f"${value:,.2f}"


def _pct(x: float) -> str:
    return f"{x * 100:.4f}%"


# ---- outputs -------------------------------------------------------------------------
def _facts_row(out: dict[str, Any]) -> str:
    f = out.get("facts") or {}
    t = out.get("targets") or {}
    lufs = _num(f.get("integrated_lufs"), ".1f", " LUFS")
    if t.get("loudness_lufs") is not None:
        lufs += f" <small>(target {t['loudness_lufs']:g})</small>"
    peak = _num(f.get("true_peak_dbtp"), ".1f", " dBTP")
    if t.get("true_peak_dbtp") is not None:
        peak += f" <small>(max {t['true_peak_dbtp']:g})</small>"
    cells = [("size", f"{f.get('width', '-')}x{f.get('height', '-')}"), ("fps", _num(f.get("fps"), "g")),
             ("frames", _e(f.get("frames", "-"))), ("duration", _num(f.get("duration_s"), ".2f", " s")),
             ("loudness", lufs), ("true peak", peak), ("file size", _num((f.get("size_bytes") or 0) / 1e6, ".2f", " MB"))]
    return "".join(f'<div class="fact"><span>{k}</span><b>{v}</b></div>' for k, v in cells)


def _cell(out: dict[str, Any]) -> str:
    w, h = out["preset_size"]
    s = out["safe"]
    poster = f' poster="{_e(out["cover"])}"' if out.get("cover") else ""
    verified = out.get("verified") or "not verified"
    badge = "ok" if verified.startswith("ok") else "bad" if verified == "failed" else "none"
    safe = (f'<div class="safe" data-top="{s["top"]}" data-bottom="{s["bottom"]}" data-left="{s["left"]}" '
            f'data-right="{s["right"]}" style="top:{_pct(s["top"])};bottom:{_pct(s["bottom"])};'
            f'left:{_pct(s["left"])};right:{_pct(s["right"])}" title="safe zone of {_e(out["preset"])}"></div>')
    return (f'<article class="cell" data-preset="{_e(out["preset"])}" style="--ar:{w / h:.6f}">'
            f'<div class="frame" style="aspect-ratio:{w}/{h}">'
            f'<video src="{_e(out["file"])}"{poster} controls muted playsinline preload="metadata"></video>'
            f"{safe}</div>"
            f'<div class="cell-head"><h4>{_e(out["preset"])}</h4><span class="badge {badge}">{_e(verified)}</span></div>'
            f'<div class="facts">{_facts_row(out)}</div>'
            f'<a class="download" href="{_e(out["file"])}" download>Download {_e(Path(out["file"]).name)}</a>'
            "</article>")


def outputs_section(record: dict[str, Any]) -> str:
    rows = []
    for v in record["variants"]:
        cells = [_cell(o) for o in v["outputs"] if o.get("preset")]
        extra = [o for o in v["outputs"] if not o.get("preset")]
        links = "".join(f'<li><a href="{_e(o["file"])}">{_e(Path(o["file"]).name)}</a> ({_e(o["kind"])})</li>'
                        for o in extra)
        rows.append(f'<div class="variant"><h3>{_e(v["name"])}</h3>'
                    f'<div class="grid">{"".join(cells) or "<p>No video outputs.</p>"}</div>'
                    + (f'<ul class="files">{links}</ul>' if links else "") + "</div>")
    toggle = ('<label class="toggle"><input type="checkbox" id="safe-toggle" checked> '
              "Show the platforms' safe zones</label>")
    return f'<section id="outputs"><h2>Outputs</h2>{toggle}{"".join(rows)}</section>'


# ---- shots ---------------------------------------------------------------------------
def _filmstrip(shot: dict[str, Any]) -> str:
    src = shot.get("source")
    if not src or not Path(src).is_file():
        return '<span class="muted">clip not in the cache</span>'
    duration = float(shot.get("duration_s") or 0)
    frames = _by_content("strip", src, {"n": FILMSTRIP_FRAMES, "d": duration},
                         lambda: strip_uris(src, FILMSTRIP_FRAMES, duration))
    return '<div class="strip">' + "".join(f'<img alt="{t:.1f} s" src="{u}">' for t, u in frames) + "</div>"


def shots_section(record: dict[str, Any]) -> str:
    parts = []
    for v in record["variants"]:
        if not v["shots"]:
            continue
        rows = []
        for s in v["shots"]:
            cost = _usd(s.get("usd")) + (f' <small>(list {_usd(s.get("list_usd"))})</small>'
                                          if s.get("cache") == "hit" else "")
            lineage = f'continues {_e(s["continue_from"])}' if s.get("continue_from") else "-"
            rows.append(
                f'<tr data-shot="{_e(s["id"])}"><td><b>{_e(s["id"])}</b>{_filmstrip(s)}</td>'
                f'<td class="prompt">{_e(s["prompt"])}</td><td>{_e(s["model"])}</td><td>{_e(s["provider"])}</td>'
                f'<td>{_e(s.get("seed", "-"))}</td><td>{_num(s.get("duration_s"), ".2f", " s")}</td><td>{cost}</td>'
                f'<td>{_num(s.get("generation_s"), ".1f", " s")}</td>'
                f'<td><span class="badge {"none" if s["cache"] == "hit" else "ok"}">'
                f'{"cache hit" if s["cache"] == "hit" else "fresh"}</span></td><td>{lineage}</td></tr>')
        parts.append(f'<h3>{_e(v["name"])}</h3><div class="scroll"><table class="shots"><thead><tr>'
                     "<th>shot</th><th>prompt</th><th>model</th><th>provider</th><th>seed</th><th>duration</th>"
                     "<th>cost</th><th>generation</th><th>cache</th><th>lineage</th></tr></thead>"
                     f'<tbody>{"".join(rows)}</tbody></table></div>')
    return f'<section id="shots"><h2>Shots</h2>{"".join(parts) or "<p>No generated shots.</p>"}</section>'


# ---- check ---------------------------------------------------------------------------
def _sheet_times(cuts: list[float], duration: float) -> list[float]:
    """The first frame, then the last and first frames around each cut."""
    if not cuts:
        return [duration * (i + 0.5) / 4 for i in range(4)]
    times = [0.0]
    for c in cuts:
        times += [max(0.0, c - 0.05), c + 0.02]
    return times[:13]


def _check_doc(doc: dict[str, Any], folder: Path, cuts: list[float], targets: dict[str, Any],
               open_: bool = True) -> str:
    media = folder / doc["input"]
    is_file = doc.get("kind") == "media" and media.is_file()
    name = media.name if is_file else doc["input"]
    rows = "".join(f'<tr class="{"ok" if c["passed"] else "bad"}"><td>{"pass" if c["passed"] else "FAIL"}</td>'
                   f'<td>{_e(c["name"])}</td><td>{_e(c["detail"])}</td></tr>' for c in doc["checks"])
    facts = (f'<p class="facts-line">integrated {_num(doc.get("integrated_lufs"), ".1f", " LUFS")} · true peak '
             f'{_num(doc.get("true_peak_dbtp"), ".1f", " dBTP")} · duration {_num(doc.get("duration_s"), ".2f", " s")}'
             f' · tolerance {_e(doc.get("tolerance"))}</p>')
    body = [facts, f'<div class="scroll"><table class="verdicts"><tbody>{rows}</tbody></table></div>']
    shots, syncs = doc.get("shots") or [], doc.get("shot_syncs") or []
    for shot, sync in zip(shots, syncs):
        off = shot.get("offset_ms")
        body.append(f'<h5>Sound and picture, shot {shot["index"]} ({shot["start_s"]:.2f}-{shot["end_s"]:.2f} s): '
                    f'{"not measurable" if off is None else f"{off:+.1f} ms"}</h5>'
                    f'<div class="chart">{envelopes_svg(sync)}</div>')
    if is_file:
        preset = doc.get("preset")
        target = targets.get(preset) if preset else None
        curve = _by_content("loudness", media, {}, lambda: loudness_curve(str(media)))
        body.append(f'<h5>Loudness over time</h5><div class="chart">{loudness_svg(curve, target)}</div>')
        times = _sheet_times(cuts, float(doc.get("duration_s") or 0))
        frames = _by_content("frames", media, {"t": times}, lambda: frame_uris(str(media), times, width=160))
        title = "Frames at the cuts" if cuts else "Frames through the output (no cuts)"
        body.append(f"<h5>{title}</h5><div class=\"sheet\">" + "".join(
            f'<figure><img alt="frame at {t:.2f} s" src="{u}"><figcaption>{t:.2f} s</figcaption></figure>'
            for t, u in frames) + "</div>")
    verdict = "pass" if doc["passed"] else "fail"
    return (f'<details class="check"{" open" if open_ else ""}><summary><span class="badge {"ok" if doc["passed"] else "bad"}">{verdict}'
            f'</span> {_e(name)}</summary>{"".join(body)}</details>')


def check_section(record: dict[str, Any], folder: Path) -> str:
    parts = []
    for v in record["variants"]:
        targets = {o["preset"]: (o.get("targets") or {}).get("loudness_lufs") for o in v["outputs"] if o.get("preset")}
        # the first document and every failed one open; the others a click away
        docs = [_check_doc(d, folder, v.get("cuts_s") or [], targets, open_=i == 0 or not d["passed"])
                for i, d in enumerate(v["checks"])]
        if docs:
            parts.append(f'<h3>{_e(v["name"])}</h3>{"".join(docs)}')
    return f'<section id="check"><h2>Check</h2>{"".join(parts) or "<p>The run has no check step.</p>"}</section>'


# ---- run -----------------------------------------------------------------------------
def run_section(record: dict[str, Any]) -> str:
    parts = []
    for v in record["variants"]:
        rows = "".join(f'<tr><td>{i}</td><td>{_e(s["label"])}</td><td><span class="state {_e(s["state"])}">'
                       f'{_e(s["state"])}</span></td><td>{_num(s.get("seconds"), ".1f", " s")}</td></tr>'
                       for i, s in enumerate(v["steps"], 1))
        failed = f'<p class="failed">Stopped: {_e(v["error"])}</p>' if v.get("error") else ""
        parts.append(f'<h3>{_e(v["name"])} <small>{v["seconds"]:.1f} s</small></h3>{failed}<div class="scroll">'
                     f'<table class="steps"><thead><tr><th>#</th><th>step</th><th>state</th><th>time</th></tr></thead>'
                     f"<tbody>{rows}</tbody></table></div>")
    budget = record.get("budget_usd")
    spend = record.get("spend_usd") or 0.0
    if budget is None:
        money = f"Spent {_usd(spend)} on generation (no budget set)."
    else:
        money = f"Spent {_usd(spend)} of a {_usd(budget)} budget ({spend / budget * 100 if budget else 0:.0f}%)."
    return f'<section id="run"><h2>Run</h2><p class="spend">{money}</p>{"".join(parts)}</section>'


def _summary(record: dict[str, Any]) -> str:
    outs = [o for v in record["variants"] for o in v["outputs"] if o.get("preset")]
    ok = sum(1 for o in outs if (o.get("verified") or "").startswith("ok"))
    docs = [d for v in record["variants"] for d in v["checks"]]
    passed = sum(1 for d in docs if d["passed"])
    stopped = [v for v in record["variants"] if v.get("error")]
    items = [f"{len(outs)} outputs, {ok} verified", f"{passed} of {len(docs)} checks passed" if docs else "no check",
             f"spent {_usd(record.get('spend_usd') or 0.0)}"]
    if stopped:
        items.insert(0, f"stopped at {stopped[0]['error'].split(':')[0]} (see Run)")
    return " · ".join(_e(i) for i in items)


def render_page(record: dict[str, Any], folder: Path) -> str:
    """The review page's HTML for a run record whose outputs are in `folder`."""
    title = f"{record['name']}: review"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_asset("review.css")}</style></head>
<body>
<header><h1>{_e(record["name"])}</h1>
<p class="sub">{_e(Path(record["pipeline"]).name)} · run {_e(record["started_at"])} · {_summary(record)}</p>
<nav><a href="#outputs">Outputs</a><a href="#shots">Shots</a><a href="#check">Check</a><a href="#run">Run</a></nav>
</header>
<main>
{outputs_section(record)}
{shots_section(record)}
{check_section(record, folder)}
{run_section(record)}
</main>
<script>{_asset("review.js")}</script>
</body></html>
"""
