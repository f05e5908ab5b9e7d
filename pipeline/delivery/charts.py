"""Charts and frames for HTML pages (the check report, the review page): inline SVG
polylines of curves (sync envelopes, correlation, loudness over time) and frames as
inline JPEG data. Nothing here links to another file.
"""

from __future__ import annotations

import base64
import html
from typing import Any, Sequence

from pipeline.ffmpeg import ebur128, media_path

W, H = 760, 150


def loudness_curve(path: str) -> list[tuple[float, float | None, float | None]]:
    """(t, momentary LUFS, short-term LUFS) every 100 ms, from ffmpeg's ebur128 log."""
    return list(ebur128(["-i", media_path(path)], true_peak=False, per_frame=True, strict=False).frames)


def polyline(values: Sequence[float | None], lo: float, hi: float, x0: float = 0.0, x1: float = W,
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


def svg(body: str, caption: str) -> str:
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
    body = (polyline(a, 0, 1, color="#c33") + polyline([x * -1 for x in v_aligned], -1, 0, color="#36c"))
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
    out = svg(body, cap)
    if corr:
        max_lag = sync.get("max_lag_s", 1.0)
        lo, hi = min(corr), max(corr)
        cbody = polyline(corr, lo, hi, color="#333")
        zero = W / 2
        cbody += f'<line x1="{zero}" y1="0" x2="{zero}" y2="{H}" stroke="#bbb" stroke-dasharray="3,3"/>'
        if sync.get("offset_ms") is not None:
            x = W / 2 + W / 2 * (sync["offset_ms"] / 1000) / max_lag
            cbody += (f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{H}" stroke="#c33" stroke-width="2"/>'
                      f'<text x="{x + 4:.1f}" y="14" font-size="12" fill="#c33">{sync["offset_ms"]:+.1f} ms</text>')
        out += svg(cbody, f"Correlation over lags -{max_lag:g} s .. +{max_lag:g} s (best lag in red; "
                          f"confidence {sync.get('confidence', 0):.2f})")
    return out


def loudness_svg(curve: list[tuple[float, float | None, float | None]], target: float | None) -> str:
    if not curve:
        return "<p>No loudness curve: no audio.</p>"
    lo, hi = -60.0, 0.0
    body = polyline([m for _, m, _ in curve], lo, hi, color="#9ab", width=0.8)
    body += polyline([s for _, _, s in curve], lo, hi, color="#246", width=1.6)
    if target is not None:
        y = H - 8 - (H - 16) * (target - lo) / (hi - lo)
        body += (f'<line x1="0" y1="{y:.1f}" x2="{W}" y2="{y:.1f}" stroke="#c33" stroke-dasharray="4,3"/>'
                 f'<text x="4" y="{y - 3:.1f}" font-size="11" fill="#c33">target {target:g} LUFS</text>')
    return svg(body, f"Loudness over {curve[-1][0]:.1f} s: momentary (light) and short-term (dark), "
                     f"{lo:g} to {hi:g} LUFS")


def jpeg_uri(rgb: Any, quality: int = 80) -> str | None:
    """An RGB frame as an inline JPEG (data: URI), None when it cannot be encoded."""
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii") if ok else None


def frame_uris(path: str, times: Sequence[float], width: int = 200) -> list[tuple[float, str]]:
    """(time, inline JPEG) of the frame at each time; a frame that cannot be read is left out."""
    from pipeline.analysis.frames import frame_at

    found = []
    for t in times:
        try:
            uri = jpeg_uri(frame_at(path, max(0.0, t), width=width))
        except Exception:  # noqa: BLE001 - a frame that cannot be read is left out
            continue
        if uri:
            found.append((t, uri))
    return found


def strip_uris(path: str, count: int, duration: float, width: int = 96) -> list[tuple[float, str]]:
    """`count` frames spread evenly over a clip, from one decode: a filmstrip."""
    from pipeline.analysis.frames import read_frames

    if duration <= 0 or count < 1:
        return []
    found = []
    for t, rgb in read_frames(path, width=width, fps=count / duration, max_frames=count):
        uri = jpeg_uri(rgb, 70)
        if uri:
            found.append((t, uri))
    return found


def contact_sheet(path: str, times: Sequence[float], width: int = 200) -> str:
    cells = [f'<figure class="f"><img alt="frame at {t:.2f} s" src="{uri}"><figcaption>{t:.2f} s</figcaption></figure>'
             for t, uri in frame_uris(path, times, width)]
    return '<div class="sheet">' + "".join(cells) + "</div>" if cells else "<p>No frames.</p>"
