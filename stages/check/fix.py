"""--fix per shot: move each out-of-sync shot's sound by its own measured offset.

On a file, the picture's packets are copied untouched and the sound is rebuilt shot by
shot: each shot takes the samples its own offset calls for (silence where they would
come from outside the file) and keeps exactly its length, so later shots do not move.
On a timeline, the late clip's `audio_shift` is set and nothing else changes.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from pipeline.errors import StageError


def shifts_to_apply(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The shots --fix moves: those whose measured offset fails the tolerance; a file of
    one shot is moved whenever its offset is measured (as a whole-file fix always was)."""
    from stages.check.checking import tolerance_window

    shots = doc.get("shots") or []
    early, late = tolerance_window(doc.get("tolerance", "itu"))
    if len(shots) == 1 and "clip" not in shots[0]:
        return [s for s in shots if s["offset_ms"] is not None]
    return [s for s in shots if s["offset_ms"] is not None and not late <= s["offset_ms"] <= early]


def shot_sound_graph(shots: list[tuple[float, float, float]], a0: float, sr: int) -> str:
    """filter_complex rebuilding input 0's first audio stream from (start s, end s, shift
    ms) spans of the file, in order and covering it: numbers only, no paths."""
    parts = [f"[0:a:0]asplit={len(shots)}" + "".join(f"[in{i}]" for i in range(len(shots)))]
    for i, (start, end, shift_ms) in enumerate(shots):
        first = int(round((start - a0) * sr))
        count = int(round((end - a0) * sr)) - first
        src = first - int(round(shift_ms / 1000 * sr))  # + = the sound was early: take older samples
        pad = max(0, -src)
        chain = f"atrim=start_sample={max(0, src)}:end_sample={max(1, src + count)},asetpts=PTS-STARTPTS"
        if pad:
            chain += f",adelay={pad}S:all=1"
        chain += f",apad,atrim=end_sample={count},asetpts=PTS-STARTPTS"
        parts.append(f"[in{i}]{chain}[s{i}]")
    parts.append("".join(f"[s{i}]" for i in range(len(shots))) + f"concat=n={len(shots)}:v=0:a=1[out]")
    return ";".join(parts)


def fix_shots(path: str, doc: dict[str, Any], output: str | Path) -> dict[str, Any]:
    """Write `output`: `path` with each failing shot's sound moved by its offset; video
    stream-copied. Returns {path, shots: [{index, start_s, end_s, shift_ms}]}."""
    from pipeline.ffmpeg import media_path, preamble, run_ffmpeg
    from pipeline.files import atomic_output
    from pipeline.model.media import probe

    moves = shifts_to_apply(doc)
    if not moves:
        raise StageError(f"{path}: --fix: no shot has a measured offset outside the tolerance, nothing to correct")
    info = probe(path)
    if not info.has_video or not info.has_audio:
        raise StageError(f"{path}: --fix needs both a video and an audio stream")
    a = info.audio[0]
    sr = a.sample_rate or 48000
    moved = {s["index"]: s["offset_ms"] for s in moves}
    spans = [(s["start_s"], s["end_s"], moved.get(s["index"], 0.0)) for s in doc["shots"]]
    v = info.v
    vdur = float(v.duration) if v.duration is not None else float(info.duration)
    spans[-1] = (spans[-1][0], float(v.start_time) + vdur, spans[-1][2])
    out = Path(output)
    with atomic_output(out) as tmp:
        argv = [*preamble(progress=True), "-i", media_path(path),
                "-filter_complex", shot_sound_graph(spans, float(a.start_time), sr),
                "-map", "0:v:0", "-map", "[out]", "-c:v", "copy", "-c:a", "aac", "-b:a", "192k",
                "-ar", str(sr), "-map_metadata", "0", media_path(tmp)]
        run_ffmpeg(argv, duration=vdur, label="fix")
    return {"path": str(out), "shift_ms": moves[0]["offset_ms"] if len(moves) == 1 else None,
            "shots": [{k: s[k] for k in ("index", "start_s", "end_s")} | {"shift_ms": s["offset_ms"]}
                      for s in moves]}


def fix_timeline(tl: Any, doc: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    """A copy of the timeline with each failing clip's own sound shifted by its offset."""
    moves = shifts_to_apply(doc)
    if not moves:
        raise StageError(f"{doc['input']}: --fix: no clip has a measured offset outside the tolerance, "
                         "nothing to correct")
    out = tl.copy()
    for s in moves:
        clip = out.video[s["index"] - 1]
        clip.audio_shift = clip.audio_shift + Fraction(s["offset_ms"]).limit_denominator(1000) / 1000
    return out, [{"index": s["index"], "clip": s.get("clip", ""), "shift_ms": s["offset_ms"]} for s in moves]


def apply_fix(doc: dict[str, Any], input_path: str, media: str | None, output: str | Path) -> dict[str, Any]:
    """--fix for what was checked: a media file gets a corrected copy, a timeline a
    corrected .timeline.json. Returns the document's "fixed" entry, with a `message`."""
    if media is not None:
        done = fix_shots(media, doc, output)
        what = "; ".join(f"shot {s['index']} audio {'delayed' if s['shift_ms'] > 0 else 'advanced'} by "
                         f"{abs(s['shift_ms']):.1f} ms" for s in done["shots"])
        if len(doc.get("shots") or []) == 1:
            what = what.replace("shot 1 audio", "audio")
        return {**done, "message": f"wrote {output} ({what})"}
    from pipeline.model.timeline import Timeline

    fixed, moved = fix_timeline(Timeline.load(input_path), doc)
    fixed.save(Path(output))
    what = "; ".join(f"clip {m['index']} ({m['clip']}) sound {'delayed' if m['shift_ms'] > 0 else 'advanced'} "
                     f"by {abs(m['shift_ms']):.1f} ms" for m in moved)
    return {"path": str(output), "clips": moved, "message": f"wrote {output} ({what})"}
