"""One self-contained HTML page for a check: the verdict table, the sound and picture
event envelopes with the best lag marked, loudness over time, and a contact sheet of
frames at the cuts. Charts are inline SVG, frames inline base64 JPEG: no external files.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any, Sequence

from pipeline.ffmpeg import ebur128, media_path

W, H = 760, 150


def loudness_curve(path: str) -> list[tuple[float, float | None, float | None]]:
    """(t, momentary LUFS, short-term LUFS) every 100 ms, from ffmpeg's ebur128 log."""
    return list(ebur128(["-i", media_path(path)], true_peak=False, per_frame=True, strict=False).frames)


def _polyline(values: Sequence[float | None], lo: float, hi: float, x0: float = 0.0, x1: float = W,
              color: str = "#246", width: float = 1.2) -> str:
    n = len(values)
    if n < 2 or hi <= lo:
        return ""
    pts, parts = [], []
    for i, v in enumerate(values):
        if v is None:
            if len(pts) > 1:
                parts.append(pts)
            pts = []
            continue
        x = x0 + (x1 - x0) * i / (n - 1)
        y = H - 8 - (H - 16) * (min(max(v, lo), hi) - lo) / (hi - lo)
        pts.append(f"{x:.1f},{y:.1f}")
    if len(pts) > 1:
        parts.append(pts)
    return "".join(f'<polyline fill="none" stroke="{color}" stroke-width="{width}" points="{" ".join(p)}"/>'
                   for p in parts)


def _svg(body: str, caption: str) -> str:
    return (f'<figure><svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
            f'xmlns="http://www.w3.org/2000/svg"><rect width="{W}" height="{H}" fill="#fafafa" stroke="#ccc"/>'
            f"{body}</svg><figcaption>{html.escape(caption)}</figcaption></figure>")


def envelopes_svg(sync: dict[str, Any]) -> str:
    a, v = sync.get("audio_env") or [], sync.get("video_env") or []
    if not a or not v:
        return "<p>No envelopes: the file lacks sound or picture events.</p>"
    step = sync.get("env_step_s", 0.01)
    lag = (sync.get("offset_ms") or 0.0) / 1000
    n = max(len(a), len(v))
    # the picture envelope is drawn moved back by the lag, so matching events coincide
    k = int(round(lag / step))
    v_aligned = (v[k:] if k >= 0 else [0.0] * -k + v)[:n]
    body = (_polyline(a, 0, 1, color="#c33") + _polyline([x * -1 for x in v_aligned], -1, 0, color="#36c"))
    dur = n * step
    for s in range(0, int(dur) + 1):
        x = W * s / max(dur, 1e-6)
        body += f'<line x1="{x:.1f}" y1="{H - 6}" x2="{x:.1f}" y2="{H}" stroke="#999"/>'
    offset = sync.get("offset_ms")
    shift = (f"shifted by the measured lag of {offset:.1f} ms" if isinstance(offset, (int, float))
             else "not shifted: no offset could be measured")
    if sync.get("feature") == "lips":
        cap = f"Speech level (red, top) and mouth opening (blue, bottom, {shift}) over {dur:.1f} s"
    else:
        cap = (f"Sound onsets (red, top) and picture events ({sync.get('feature') or 'none'}, blue, bottom, "
               f"{shift}) over {dur:.1f} s")
    corr = sync.get("corr") or []
    out = _svg(body, cap)
    if corr:
        max_lag = sync.get("max_lag_s", 1.0)
        lo, hi = min(corr), max(corr)
        cbody = _polyline(corr, lo, hi, color="#333")
        zero = W / 2
        cbody += f'<line x1="{zero}" y1="0" x2="{zero}" y2="{H}" stroke="#bbb" stroke-dasharray="3,3"/>'
        if sync.get("offset_ms") is not None:
            x = W / 2 + W / 2 * (sync["offset_ms"] / 1000) / max_lag
            cbody += (f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{H}" stroke="#c33" stroke-width="2"/>'
                      f'<text x="{x + 4:.1f}" y="14" font-size="12" fill="#c33">{sync["offset_ms"]:+.1f} ms</text>')
        out += _svg(cbody, f"Correlation over lags -{max_lag:g} s .. +{max_lag:g} s (best lag in red; "
                           f"confidence {sync.get('confidence', 0):.2f})")
    return out


def loudness_svg(curve: list[tuple[float, float | None, float | None]], target: float | None) -> str:
    if not curve:
        return "<p>No loudness curve: no audio.</p>"
    lo, hi = -60.0, 0.0
    body = _polyline([m for _, m, _ in curve], lo, hi, color="#9ab", width=0.8)
    body += _polyline([s for _, _, s in curve], lo, hi, color="#246", width=1.6)
    if target is not None:
        y = H - 8 - (H - 16) * (target - lo) / (hi - lo)
        body += (f'<line x1="0" y1="{y:.1f}" x2="{W}" y2="{y:.1f}" stroke="#c33" stroke-dasharray="4,3"/>'
                 f'<text x="4" y="{y - 3:.1f}" font-size="11" fill="#c33">target {target:g} LUFS</text>')
    return _svg(body, f"Loudness over {curve[-1][0]:.1f} s: momentary (light) and short-term (dark), "
                      f"{lo:g} to {hi:g} LUFS")


def contact_sheet(path: str, times: Sequence[float], width: int = 200) -> str:
    import cv2

    from pipeline.analysis.frames import frame_at

    cells = []
    for t in times:
        try:
            rgb = frame_at(path, max(0.0, t), width=width)
        except Exception:  # noqa: BLE001 - a frame that cannot be read is left out
            continue
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            b64 = base64.b64encode(buf.tobytes()).decode("ascii")
            cells.append(f'<figure class="f"><img alt="frame at {t:.2f} s" src="data:image/jpeg;base64,{b64}">'
                         f"<figcaption>{t:.2f} s</figcaption></figure>")
    return '<div class="sheet">' + "".join(cells) + "</div>" if cells else "<p>No frames.</p>"


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
