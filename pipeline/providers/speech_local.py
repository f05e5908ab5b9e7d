"""Offline speech: espeak-ng (shipped with its data by the espeakng-loader package),
driven through its C API with ctypes. The synthesis callback hands us the samples and
the word events, so every line comes with exact word timings.

espeak-ng keeps global state and is not reentrant: calls are serialised by a lock.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

from pipeline.errors import InputError, ProviderError

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_SAMPLERATE = 8
PARAM_RATE = 1
PARAM_VOLUME = 2
PARAM_PITCH = 3
EE_OK = 0

DEFAULT_VOICE = "en-us"


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character position in the text
        ("length", ctypes.c_int),  # characters in the word
        ("audio_position", ctypes.c_int),  # milliseconds into the synthesised audio
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))

_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}


def _engine() -> tuple[Any, int]:
    """Load and initialise the library once; returns (lib, sample_rate)."""
    if "lib" in _STATE:
        return _STATE["lib"], _STATE["rate"]
    try:
        import espeakng_loader
    except ImportError:  # pragma: no cover - a declared dependency
        raise ProviderError("local speech needs the espeakng-loader package (pip install espeakng-loader)") from None
    try:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path()
    except (OSError, RuntimeError) as exc:
        raise ProviderError(f"local speech: cannot load espeak-ng ({exc})") from None
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                 ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p]
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), ESPEAK_INITIALIZE_DONT_EXIT)
    if rate <= 0:
        raise ProviderError(f"local speech: espeak-ng failed to initialise with data at {data}")
    _STATE["lib"], _STATE["rate"] = lib, rate
    return lib, rate


def synthesize(text: str, voice: str | None = None, rate_wpm: int | None = None) -> tuple[bytes, int, list[dict]]:
    """Speak `text`; returns (mono 16-bit PCM bytes, sample rate, words).

    words: [{"text", "start", "end"}] in seconds from the start of the audio, from the
    engine's word events (a word ends where the next begins, the last one at the end of
    its audible sound).
    """
    import numpy as np

    voice = voice or DEFAULT_VOICE
    with _LOCK:
        lib, rate = _engine()
        chunks: list[bytes] = []
        events: list[tuple[int, int, int]] = []  # (ms, char position, length)

        def on_synth(wav: Any, n: int, ev: Any) -> int:
            if wav and n > 0:
                chunks.append(ctypes.string_at(wav, n * 2))
            i = 0
            while ev[i].type != EVENT_LIST_TERMINATED:
                if ev[i].type == EVENT_WORD:
                    events.append((ev[i].audio_position, ev[i].text_position, ev[i].length))
                i += 1
            return 0

        callback = _CALLBACK(on_synth)
        lib.espeak_SetSynthCallback(callback)
        if lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
            raise InputError(f"--voice {voice}: espeak-ng has no such voice (try en-us, en, en-gb-x-rp, de, fr, es; a variant as en-us+f3)")
        lib.espeak_SetParameter(PARAM_RATE, int(rate_wpm or 165), 0)
        raw = text.encode("utf-8")
        buf = ctypes.create_string_buffer(raw)
        err = lib.espeak_Synth(buf, len(raw) + 1, 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
        if err != EE_OK:
            raise ProviderError(f"local speech: espeak-ng failed (error {err}) on: {text[:40]!r}")
        pcm = b"".join(chunks)
    samples = np.frombuffer(pcm, dtype=np.int16)
    return pcm, rate, _words(text, events, samples, rate)


def _words(text: str, events: list[tuple[int, int, int]], samples: Any, rate: int) -> list[dict]:
    """One timed word per whitespace-separated token of `text`, spelled as the user wrote
    it ("It's", "50%", "\"now\"", "a\\b"): espeak-ng's word events mark where each is
    spoken but leave out punctuation and split some tokens, so an event only gives its
    token's start time. A token espeak-ng says nothing for joins the word before it."""
    import bisect
    import re

    import numpy as np

    total = samples.size / rate
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 300)
    sound_end = float(loud[-1] + 1) / rate if loud.size else total
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text)]
    starts = [t[0] for t in tokens]
    first_time: dict[int, float] = {}
    for ms, pos, _length in events:
        if pos <= 0 or not tokens:
            continue
        j = max(0, bisect.bisect_right(starts, pos - 1) - 1)  # text_position counts characters, 1-based
        if pos - 1 >= tokens[j][1] and j + 1 < len(tokens):
            j += 1  # the event points at the space before a token
        first_time.setdefault(j, ms / 1000.0)
    words: list[dict] = []
    pending = ""
    for j, (_a, _b, tok) in enumerate(tokens):
        if j in first_time:
            words.append({"text": (pending + " " + tok).strip(), "start": first_time[j]})
            pending = ""
        elif words:
            words[-1]["text"] += " " + tok
        else:
            pending = (pending + " " + tok).strip()
    for i, w in enumerate(words):
        end = words[i + 1]["start"] if i + 1 < len(words) else sound_end
        w["start"] = round(w["start"], 4)
        w["end"] = round(max(end, w["start"]), 4)
    return words
