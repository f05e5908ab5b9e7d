"""voiceover: placement, word timings, warnings, fit, caching, and the speech APIs
(OpenAI, ElevenLabs) against real local HTTP servers."""

from __future__ import annotations

import json
import time
from fractions import Fraction
from pathlib import Path

import pytest

from pipeline.analysis.audio import decode_audio
from pipeline.errors import ProviderError
from pipeline.render import render
from pipeline.model.timeline import Timeline
from pipeline.adapters.inputs import load_inputs
from tests.conftest import run_cli
from tests.media import make_clip, stream_durations
from tests.fake_http import ScriptedServer
from tests.soundkit import RATE, apply_stage, onset, small_settings, tone, write_audio




@pytest.fixture(scope="module")
def two_shots(tmp_path_factory: pytest.TempPathFactory) -> Timeline:
    d = tmp_path_factory.mktemp("shots")
    a = make_clip(d / "a.mp4", duration=2.0)
    b = make_clip(d / "b.mp4", duration=2.0, pattern="smptebars")
    tl = load_inputs([a, b])
    tl.video[0].id, tl.video[1].id = "opener", "jacket"
    return tl


def _apply(tl: Timeline, tmp: Path, **raw: object) -> tuple[Timeline, list[str]]:
    warnings: list[str] = []
    return apply_stage("voiceover", tl, tmp, warnings, **raw), warnings


def test_lines_start_where_placed(two_shots: Timeline, tmp_path: Path) -> None:
    (tmp_path / "vo.txt").write_text("[0.4] Hello there.\n[jacket] Built for long days.\n")
    tl, warnings = _apply(two_shots, tmp_path, script="vo.txt")
    items = tl.track("voiceover").items
    assert [float(i.start) for i in items] == [0.4, 2.0]
    assert not warnings
    # word timings: in order, inside their line, text from the script
    assert [w.text for w in items[1].words][:3] == ["Built", "for", "long"]
    for item in items:
        assert item.words and item.words[0].start == item.start
        assert all(a.end <= b.start + Fraction(1, 1000) for a, b in zip(item.words, item.words[1:]))
        assert item.words[-1].end <= item.end
    out = tmp_path / "vo.mp4"
    render(tl, [(small_settings(), out)])
    y = decode_audio(str(out), sample_rate=RATE, mono=True)
    for item in items:
        t = onset(y, float(item.start) - 0.2)
        assert abs(t - float(item.start)) <= 0.020, (t, item.start)
    vdur, adur = stream_durations(out)
    assert vdur == Fraction(4)


def test_plain_lines_follow_without_overlap(two_shots: Timeline, tmp_path: Path) -> None:
    (tmp_path / "vo.txt").write_text("One.\nTwo two.\n# a comment\n\nThree three three.\n")
    tl, _ = _apply(two_shots, tmp_path, script="vo.txt", fit="extend")
    items = tl.track("voiceover").items
    assert len(items) == 3
    for a, b in zip(items, items[1:]):
        assert b.start >= a.end + Fraction(2, 10)  # a natural gap, never an overlap
    assert [i.text for i in items] == ["One.", "Two two.", "Three three three."]


def test_overlapping_times_are_pushed_apart_with_a_warning(two_shots: Timeline, tmp_path: Path) -> None:
    (tmp_path / "vo.txt").write_text("[0.2] A first line that takes a while.\n[0.6] Too early.\n")
    tl, warnings = _apply(two_shots, tmp_path, script="vo.txt", fit="extend")
    first, second = tl.track("voiceover").items
    assert second.start >= first.end + Fraction(2, 10)
    assert any("vo.txt:2" in w and "does not overlap" in w for w in warnings), warnings


def test_line_crossing_a_cut_warns(two_shots: Timeline, tmp_path: Path) -> None:
    (tmp_path / "vo.txt").write_text("[1.5] This sentence is long enough to cross the cut.\n")
    _, warnings = _apply(two_shots, tmp_path, script="vo.txt", fit="extend")
    assert any("crosses the cut at 2.00s" in w for w in warnings), warnings


def test_cli_warns_about_the_cut_and_writes_timeline(two_shots: Timeline, tmp_path: Path) -> None:
    two_shots.save(tmp_path / "in.timeline.json")
    (tmp_path / "my script.txt").write_text("[1.5] This sentence is long enough to cross the cut.\n")
    res = run_cli("voiceover", str(tmp_path / "in.timeline.json"), "--script", str(tmp_path / "my script.txt"),
                  "-o", str(tmp_path / "out.timeline.json"))
    assert res.returncode == 0, res.stderr
    assert "crosses the cut" in res.stderr
    data = json.loads((tmp_path / "out.timeline.json").read_text())
    assert data["audio"]["voiceover"]["items"][0]["words"]


def test_fit_extend_and_trim(two_shots: Timeline, tmp_path: Path) -> None:
    (tmp_path / "vo.txt").write_text("[3.2] And this last line runs well past the end of the picture.\n")
    tl, warnings = _apply(two_shots, tmp_path, script="vo.txt", fit="extend")
    item = tl.track("voiceover").items[0]
    assert tl.duration >= item.end and tl.video[-1].hold > 0
    assert any("holding the last frame" in w for w in warnings)
    tl2, warnings2 = _apply(two_shots, tmp_path, script="vo.txt", fit="trim")
    assert tl2.duration == Fraction(4) and tl2.track("voiceover").items[0].end <= Fraction(4)
    _, warnings3 = _apply(two_shots, tmp_path, script="vo.txt", fit="warn")
    assert any("past the picture" in w for w in warnings3)
    out = tmp_path / "extended.mp4"
    render(tl, [(small_settings(), out)])
    vdur, _ = stream_durations(out)
    assert abs(vdur - tl.duration) <= Fraction(1, 30)
    # measured in the files: the speech's last sound (in the synthesized voice file, placed
    # at 3.2 s) is heard in the output, and the picture lasts until it is over
    import numpy as np

    def last_sound(y: np.ndarray) -> float:
        return float(np.flatnonzero(np.abs(y) > 10 ** (-40 / 20))[-1]) / RATE

    spoken = 3.2 + last_sound(decode_audio(item.source, sample_rate=RATE, mono=True, start=float(item.in_point)))
    assert spoken > 4.5  # the line really runs past the 4 s picture
    assert abs(last_sound(decode_audio(str(out), sample_rate=RATE, mono=True)) - spoken) <= 0.03
    assert float(vdur) >= spoken


def test_recorded_files_at_given_times(two_shots: Timeline, tmp_path: Path) -> None:
    write_audio(tmp_path / "take one.wav", tone(0.6, 300.0, -10.0))
    write_audio(tmp_path / "take2.m4a", tone(0.5, 500.0, -10.0), codec=["-c:a", "aac"])
    tl, _ = _apply(two_shots, tmp_path, audio=[{"file": "take one.wav", "at": 0.5},
                                               {"file": "take2.m4a", "at": 2.5, "text": "two words"}])
    items = tl.track("voiceover").items
    assert [float(i.start) for i in items] == [0.5, 2.5]
    assert [w.text for w in items[1].words] == ["two", "words"]
    out = tmp_path / "rec.mp4"
    render(tl, [(small_settings(), out)])
    y = decode_audio(str(out), sample_rate=RATE, mono=True)
    for item in items:
        assert abs(onset(y, float(item.start) - 0.2) - float(item.start)) <= 0.020


def test_synthesis_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.providers.speech import speech_dir, synthesize

    monkeypatch.setenv("REELFORGE_CACHE", str(tmp_path / "cache"))

    first = synthesize("A line to cache.")
    mtime = first.path.stat().st_mtime_ns
    second = synthesize("A  line to cache.")  # same text after whitespace folding
    assert second.path == first.path and second.path.stat().st_mtime_ns == mtime
    assert synthesize("A line to cache.", voice="en-us+f3").path != first.path
    assert len(list(speech_dir().glob("*.wav"))) == 2


def test_bad_inputs_exit_2(two_shots: Timeline, tmp_path: Path) -> None:
    two_shots.save(tmp_path / "in.timeline.json")
    res = run_cli("voiceover", str(tmp_path / "in.timeline.json"), "--script", str(tmp_path / "missing.txt"),
                  "-o", str(tmp_path / "o.timeline.json"))
    assert res.returncode == 2 and "missing.txt" in res.stderr and "Traceback" not in res.stderr
    (tmp_path / "vo.txt").write_text("[nowhere] Hello.\n")
    res = run_cli("voiceover", str(tmp_path / "in.timeline.json"), "--script", str(tmp_path / "vo.txt"),
                  "-o", str(tmp_path / "o.timeline.json"))
    assert res.returncode == 2 and "no shot 'nowhere'" in res.stderr and "vo.txt:1" in res.stderr
    assert not (tmp_path / "o.timeline.json").exists()


# ---- remote speech providers against real local servers ------------------------------------

def _wav_bytes(tmp: Path, seconds: float = 0.8) -> bytes:
    return write_audio(tmp / "reply.wav", tone(seconds, 220.0, -10.0, 24000), rate=24000).read_bytes()


def _mp3_bytes(tmp: Path) -> bytes:
    return write_audio(tmp / "reply.mp3", tone(0.8, 220.0, -10.0, 44100), rate=44100,
                       codec=["-c:a", "libmp3lame", "-b:a", "128k"]).read_bytes()


def test_openai_request_shape_and_voiceover(two_shots: Timeline, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer([(200, {"content-type": "audio/wav"}, _wav_bytes(tmp_path))]) as srv:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
        monkeypatch.setenv("OPENAI_BASE_URL", srv.url + "/v1")
        (tmp_path / "vo.txt").write_text("[0.5] Hello from the cloud.\n")
        tl, _ = _apply(two_shots, tmp_path, script="vo.txt", tts="openai", voice="nova", model="tts-1")
    req = srv.received[0]
    assert req["path"] == "/v1/audio/speech"
    assert req["headers"]["Authorization"] == "Bearer sk-test-123"
    assert req["json"] == {"model": "tts-1", "voice": "nova", "input": "Hello from the cloud.", "response_format": "wav"}
    item = tl.track("voiceover").items[0]
    assert item.start == Fraction(1, 2) and abs(float(item.duration) - 0.8) < 0.02
    assert [w.text for w in item.words] == ["Hello", "from", "the", "cloud."]


def test_elevenlabs_request_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.providers.speech import synthesize

    with ScriptedServer([(200, {"content-type": "audio/mpeg"}, _mp3_bytes(tmp_path))]) as srv:
        monkeypatch.setenv("ELEVENLABS_API_KEY", "xi-secret")
        monkeypatch.setenv("ELEVENLABS_BASE_URL", srv.url)
        speech = synthesize("Built for long days.", provider="elevenlabs", voice="voice42")
    req = srv.received[0]
    assert req["path"] == "/v1/text-to-speech/voice42"
    assert "output_format=mp3_44100_128" in req["query"]
    assert req["headers"]["xi-api-key"] == "xi-secret"
    assert req["json"]["text"] == "Built for long days." and req["json"]["model_id"]
    assert speech.path.suffix == ".mp3" and decode_audio(str(speech.path)).size > 0


@pytest.mark.parametrize("provider,key_env,base_env,suffix", [
    ("openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", "/v1"),
    ("elevenlabs", "ELEVENLABS_API_KEY", "ELEVENLABS_BASE_URL", ""),
])
def test_bad_key_is_one_clear_error(provider: str, key_env: str, base_env: str, suffix: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.providers.speech import synthesize

    body = json.dumps({"error": {"message": "Incorrect API key provided"}}).encode()
    with ScriptedServer([(401, {"content-type": "application/json"}, body)]) as srv:
        monkeypatch.setenv(key_env, "wrong-key-123")
        monkeypatch.setenv(base_env, srv.url + suffix)
        with pytest.raises(ProviderError) as err:
            synthesize("Hello.", provider=provider)
    assert key_env in str(err.value) and "401" in str(err.value)
    assert "wrong-key-123" not in str(err.value)
    assert len(srv.received) == 1  # a refused key is not retried


def test_retry_after_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    from email.utils import formatdate

    from pipeline.providers.http import backoff_delay, parse_retry_after
    from pipeline.providers.speech import SPEECH_MAX_WAIT

    def speech_wait(value: str | None) -> float:  # what a speech request waits before retry 1
        return backoff_delay(1, parse_retry_after(value), SPEECH_MAX_WAIT)

    monkeypatch.setenv("REELFORGE_HTTP_BACKOFF", "1.5")
    assert speech_wait("3") == 3.0
    assert 1.5 * 0.75 <= speech_wait(None) <= 1.5 * 1.25  # no hint: the backoff
    assert 1.5 * 0.75 <= speech_wait("soon") <= 1.5 * 1.25  # unreadable: the backoff
    assert speech_wait("100000") == 60.0  # capped
    assert 3.0 <= speech_wait(formatdate(time.time() + 5, usegmt=True)) <= 5.0


def test_429_waits_for_retry_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.providers.speech import synthesize

    busy = json.dumps({"detail": {"status": "too_many_concurrent_requests"}}).encode()
    with ScriptedServer([(429, {"Retry-After": "1"}, busy),
                         (200, {"content-type": "audio/mpeg"}, _mp3_bytes(tmp_path))]) as srv:
        monkeypatch.setenv("ELEVENLABS_API_KEY", "xi-secret")
        monkeypatch.setenv("ELEVENLABS_BASE_URL", srv.url)
        started = time.monotonic()
        synthesize("Patience.", provider="elevenlabs")
        waited = time.monotonic() - started
    assert len(srv.received) == 2 and waited >= 1.0


def test_500_is_retried_then_gives_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.providers.speech import synthesize

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    oops = (500, {"Retry-After": "0"}, b'{"error": {"message": "server exploded"}}')
    with ScriptedServer([oops, (200, {"content-type": "audio/wav"}, _wav_bytes(tmp_path))]) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.url + "/v1")
        assert synthesize("Once more.", provider="openai").path.exists()
    assert len(srv.received) == 2
    with ScriptedServer([oops]) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.url + "/v1")
        with pytest.raises(ProviderError, match="gave up after 4 attempts.*500.*server exploded"):
            synthesize("Never.", provider="openai")
    assert len(srv.received) == 4


def test_missing_key_exit_2(two_shots: Timeline, tmp_path: Path) -> None:
    two_shots.save(tmp_path / "in.timeline.json")
    (tmp_path / "vo.txt").write_text("Hello.\n")
    res = run_cli("voiceover", str(tmp_path / "in.timeline.json"), "--script", str(tmp_path / "vo.txt"),
                  "--tts", "openai", "-o", str(tmp_path / "o.timeline.json"), env={"OPENAI_API_KEY": ""})
    assert res.returncode == 2 and "OPENAI_API_KEY" in res.stderr


def test_local_speech_words_are_spelled_as_the_script_wrote_them() -> None:
    """Caption words keep the script's punctuation and symbols: espeak-ng's word events
    drop them ("It's" came out as "It", "50%" as "50 %", quotes and brackets vanished)."""
    from pipeline.providers.speech_local import synthesize

    text = 'It\'s 50% off: "now" [yes]; a\\b, é ü. — Trailforge.'
    _, rate, words = synthesize(text)
    assert [w["text"] for w in words] == ["It's", "50%", "off:", '"now"', "[yes];", "a\\b,", "é", "ü. —", "Trailforge."]
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert all(w["end"] >= w["start"] for w in words)


def test_a_line_placed_far_past_the_picture_is_dropped_or_refused(tmp_path: Path) -> None:
    """--at far past the end: with --fit warn the line (never heard) is dropped, not laid
    on hours of silence; --fit extend refuses to hold the picture for hours."""
    from tests.conftest import run_cli
    from tests.media import make_clip

    clip = make_clip(tmp_path / "a.mp4", duration=1.0)
    voice = make_clip(tmp_path / "v.mp4", duration=0.5, audio=True)
    out = tmp_path / "vo.timeline.json"
    r = run_cli("voiceover", str(clip), "--audio", str(voice), "--audio", str(voice), "--at", "0.1", "--at", "100000",
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "dropped" in r.stderr and "1 line(s)" in r.stderr
    tl = Timeline.load(out)
    items = tl.track("voiceover").items
    assert len(items) == 1 and items[0].start == Fraction(1, 10)
    r = run_cli("voiceover", str(clip), "--audio", str(voice), "--at", "1e20", "--fit", "extend", "-o", str(tmp_path / "x.timeline.json"))
    assert r.returncode == 2 and "at most 600s" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.timeline.json").exists()
