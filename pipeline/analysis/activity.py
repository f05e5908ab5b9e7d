"""Voice activity: where a sound file is audible. Ducking reads these spans; the
voiceover stage uses them to trim synthesised lines."""

from __future__ import annotations

SILENCE_DBFS = -50.0


def activity(path: str, in_point: float, out_point: float, hold: float = 0.35) -> list[list[float]]:
    """Spans (seconds from in_point) where the audio is audible; gaps shorter than `hold`
    (between words, breaths) are bridged so ducking does not pump. Cached by content."""
    from pipeline.analysis.cache import cached_json, file_digest

    def compute() -> list[list[float]]:
        import numpy as np

        from pipeline.analysis.audio import decode_audio

        rate = 1000
        y = decode_audio(path, sample_rate=16000, mono=True, start=in_point, duration=out_point - in_point)
        if y.size == 0:
            return []
        hop = 16000 // rate * 10  # 10 ms windows
        n = y.size // hop
        rms = np.sqrt(np.mean(y[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
        on = 20 * np.log10(rms) > SILENCE_DBFS + 10
        spans: list[list[float]] = []
        for i in np.flatnonzero(on):
            t0, t1 = i * 0.01, (i + 1) * 0.01
            if spans and t0 - spans[-1][1] <= hold:
                spans[-1][1] = t1
            else:
                spans.append([t0, t1])
        return [[round(a, 3), round(b, 3)] for a, b in spans]

    return cached_json("activity", {"file": file_digest(path), "in": round(in_point, 4),
                                    "out": round(out_point, 4), "hold": hold, "v": 1}, compute)


def audible_span(path: str) -> tuple[float, float] | None:
    """(first, last) audible second of a file, or None when silent."""
    from pipeline.analysis.audio import decode_audio

    y = decode_audio(path, sample_rate=16000, mono=True)
    if y.size == 0:
        return None
    import numpy as np

    loud = np.flatnonzero(np.abs(y) > 10 ** ((SILENCE_DBFS + 10) / 20))
    if not loud.size:
        return None
    return float(loud[0]) / 16000, float(loud[-1] + 1) / 16000
