"""Picture events on scenes the detector was not tuned on: the evaluation set of
tests/bench/motion_eval.py (objects of any size rebounding or reversing over still,
panned or shaken backdrops, flashes, cuts; 23.976-60 fps, 4-12 s, 4-10 events), next to
the tuning set of tests/motionclips.py. A case is right when the offset is within one
frame of the injected one, or null when the sound is unrelated."""

from __future__ import annotations

import time
from pathlib import Path


def _score(cases: list) -> tuple[int, int, list[str]]:
    from stages.check.measure import measure_sync

    right, lines = 0, []
    for c in cases:
        res = measure_sync(str(c.path), lips=False)
        if c.offset_ms is None:
            ok = res.offset_ms is None
        else:
            ok = res.offset_ms is not None and abs(res.offset_ms - c.offset_ms) <= 1000 / c.fps
        right += ok
        got = "null" if res.offset_ms is None else f"{res.offset_ms:+.0f}"
        want = "null" if c.offset_ms is None else f"{c.offset_ms:+.0f}"
        lines.append(f"{getattr(c, 'kind', 'bounce')} {c.fps:g} fps: {want} -> {got} ms {'ok' if ok else 'WRONG'}")
    return right, len(cases), lines


def run(workdir: Path) -> list[dict]:
    from tests.bench.motion_eval import evaluation_set
    from tests.motionclips import tuning_set

    rows = []
    for name, make in (("tuning", tuning_set), ("evaluation", evaluation_set)):
        folder = workdir / name
        folder.mkdir()
        cases = make(folder)
        start = time.perf_counter()
        right, total, lines = _score(cases)
        took = (time.perf_counter() - start) / max(1, total)
        kinds: dict[str, list[int]] = {}
        for c, line in zip(cases, lines):
            key = getattr(c, "kind", "bounce").split()[0] + (" unrelated" if c.offset_ms is None else "")
            kinds.setdefault(key, [0, 0])
            kinds[key][0] += line.endswith("ok")
            kinds[key][1] += 1
        rows.append({"job": f"picture events, {name} set ({total} clips)", "reelforge_s": took,
                     "reference_s": None, "goal": "every case right" if name == "evaluation" else "-",
                     "note": f"{right}/{total} right; " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in kinds.items())})
        print("\n".join("   " + ln for ln in lines), flush=True)
    return rows
