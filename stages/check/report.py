"""One self-contained HTML page for a check: the verdict table, the sound and picture
event envelopes with the best lag marked, loudness over time, and a contact sheet of
frames at the cuts. Charts are inline SVG, frames inline base64 JPEG: no external files.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from pipeline.delivery.charts import contact_sheet, envelopes_svg, loudness_curve, loudness_svg

__all__ = ["contact_sheet", "envelopes_svg", "loudness_curve", "loudness_svg", "render_report", "write_report"]

def sheet_times(doc: dict[str, Any], duration: float) -> list[float]:
    """The opening frame, then the last and first frames around each cut; evenly spaced
    frames when there is no cut."""
    cuts = doc.get("cuts_s") or (doc.get("sync") or {}).get("cut_times") or []
    if cuts:
        times = [0.0]
        for c in cuts:
            times += [max(0.0, float(c) - 0.05), float(c) + 0.02]
        return times[:25]
    n = 6
    return [duration * (i + 0.5) / n for i in range(n)]


def shot_sections(doc: dict[str, Any], media: str | None) -> list[str]:
    """Per shot: its verdict row, the curves it was matched on and a frame at its peak."""
    shots, syncs = doc.get("shots") or [], doc.get("shot_syncs") or []
    if not shots or len(syncs) != len(shots):
        return []
    verdicts = [c for c in doc["checks"] if c["name"].startswith("av_sync")]
    rows = []
    for shot, check in zip(shots, verdicts):
        off = shot["offset_ms"]
        rows.append(f'<tr class="{"ok" if check["passed"] else "bad"}"><td>{"✔" if check["passed"] else "✘"}</td>'
                    f"<td>{shot['index']}</td><td>{shot['start_s']:.2f}-{shot['end_s']:.2f} s</td>"
                    f"<td>{html.escape(shot.get('clip', ''))}</td>"
                    f"<td>{'not measurable' if off is None else f'{off:+.1f} ms'}</td>"
                    f"<td>{shot['confidence']:.2f}</td><td>{html.escape(shot['feature'] or '-')}</td>"
                    f"<td>{html.escape(shot['reason'])}</td></tr>")
    parts = ["<h2>Shots</h2><table><thead><tr><td></td><td>shot</td><td>span</td><td>clip</td><td>offset</td>"
             "<td>confidence</td><td>feature</td><td>reason</td></tr></thead><tbody>" + "".join(rows)
             + "</tbody></table>"]
    for shot, sync in zip(shots, syncs):
        parts.append(f"<h2>Sound and picture, shot {shot['index']} ({shot['start_s']:.2f}-{shot['end_s']:.2f} s)</h2>")
        parts.append(envelopes_svg(sync))
        source = media or shot.get("source")
        if sync.get("peak_s") is not None and source and Path(source).is_file():
            parts.append(f"<p>The frame at the strongest matched moment ({sync['feature']}):</p>"
                         + contact_sheet(source, [float(sync["peak_s"])]))
    return parts


def render_report(doc: dict[str, Any], media: str | None, target_lufs: float | None = None) -> str:
    """The HTML page for a check document (from checking.check_media or check_timeline)."""
    verdict = "PASS" if doc["passed"] else "FAIL"
    def mark(c: dict[str, Any]) -> tuple[str, str]:
        return ("bad", "✘") if not c["passed"] else ("warn", "!") if c.get("warning") else ("ok", "✔")

    rows = "".join(
        f'<tr class="{mark(c)[0]}"><td>{mark(c)[1]}</td>'
        f"<td>{html.escape(c['name'])}</td><td>{html.escape(c['detail'])}</td></tr>" for c in doc["checks"])
    facts = [("A/V offset", "not measurable" if doc.get("av_offset_ms") is None else f"{doc['av_offset_ms']:+.1f} ms"),
             ("confidence", f"{doc.get('av_offset_confidence', 0):.2f}"),
             ("tolerance", doc.get("tolerance", "")),
             ("integrated", "-" if doc.get("integrated_lufs") is None else f"{doc['integrated_lufs']:.1f} LUFS"),
             ("true peak", "-" if doc.get("true_peak_dbtp") is None else f"{doc['true_peak_dbtp']:.1f} dBTP"),
             ("duration", f"{doc.get('duration_s', 0):.2f} s")]
    if doc.get("music_under_speech"):
        facts.append(("speech over music", f"{doc['music_under_speech']['min_difference_db']:+.1f} dB at worst"))
    fact_html = "".join(f"<div><b>{html.escape(k)}</b> {html.escape(str(v))}</div>" for k, v in facts)
    parts = shot_sections(doc, media) or ["<h2>Sound and picture</h2>", envelopes_svg(doc.get("sync") or {})]
    if media:
        parts += ["<h2>Loudness</h2>", loudness_svg(loudness_curve(media), target_lufs)]
        has_cuts = bool(doc.get("cuts_s") or (doc.get("sync") or {}).get("cut_times"))
        parts += ["<h2>Frames at the cuts</h2>" if has_cuts else "<h2>Frames through the clip (no cuts found)</h2>",
                  contact_sheet(media, sheet_times(doc, doc.get("duration_s", 0)))]
    title = html.escape(Path(doc["input"]).name)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>check: {title}</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:800px;color:#222}}
.verdict{{font-size:28px;font-weight:700;padding:8px 14px;display:inline-block;border-radius:6px;color:#fff;
background:{"#2a7" if doc["passed"] else "#c33"}}}
.facts{{display:flex;flex-wrap:wrap;gap:6px 18px;margin:12px 0}}
table{{border-collapse:collapse;width:100%}}td{{border-bottom:1px solid #ddd;padding:4px 6px;vertical-align:top}}
tr.bad td{{background:#fde8e8}}tr.warn td{{background:#fdf5e0}}tr.warn td:first-child{{color:#b70}}tr.ok td:first-child{{color:#2a7}}tr.bad td:first-child{{color:#c33}}
figure{{margin:8px 0}}figcaption{{color:#555;font-size:12px}}
.sheet{{display:flex;flex-wrap:wrap;gap:6px}}.sheet img{{display:block;width:200px}}
</style></head><body>
<h1>{title}</h1>
<div class="verdict">{verdict}</div>
<div class="facts">{fact_html}</div>
<table><tbody>{rows}</tbody></table>
{"".join(parts)}
</body></html>
"""


def write_report(doc: dict[str, Any], media: str | None, output: str | Path,
                 target_lufs: float | None = None) -> Path:
    from pipeline.files import atomic_write_text

    return atomic_write_text(Path(output), render_report(doc, media, target_lufs))
