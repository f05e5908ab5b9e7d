"""The remote speech APIs against real HTTP servers on 127.0.0.1: ElevenLabs' exact word
times and voices, OpenAI's 4096-character limit and its out-of-credit answer."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.fake_speech import RETIRED, FakeElevenLabs, FakeOpenAISpeech
from tests.providerkit import provider_env  # noqa: F401 (fixture: a cache of the test's own)
from tests.soundkit import tone, write_audio


@pytest.fixture
def eleven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeElevenLabs]:
    mp3 = write_audio(tmp_path / "reply.mp3", tone(0.8, 220.0, -10.0, 44100), rate=44100,
                      codec=["-c:a", "libmp3lame", "-b:a", "128k"]).read_bytes()
    server = FakeElevenLabs(mp3).start()
    monkeypatch.setenv("ELEVENLABS_API_KEY", server.key)
    monkeypatch.setenv("ELEVENLABS_BASE_URL", server.origin)
    yield server
    server.stop()


@pytest.fixture
def openai(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAISpeech]:
    wav = write_audio(tmp_path / "reply.wav", tone(0.5, 220.0, -10.0, 24000), rate=24000)
    server = FakeOpenAISpeech(wav).start()
    monkeypatch.setenv("OPENAI_API_KEY", server.key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    yield server
    server.stop()


def test_elevenlabs_word_times_are_exact_and_the_voice_exists(eleven: FakeElevenLabs) -> None:
    from pipeline.providers.speech import synthesize

    speech = synthesize("Built for long days.", provider="elevenlabs")
    assert eleven.spoken[0]["voice"] == eleven.voices[0]["voice_id"]  # not the retired default
    assert speech.voice == eleven.voices[0]["voice_id"]
    # the server's character times: 0.2 s lead-in, 0.05 s a letter, 0.1 s a space
    assert [(w["text"], w["start"], w["end"]) for w in speech.words] == [
        ("Built", 0.2, 0.45), ("for", 0.55, 0.7), ("long", 0.8, 1.0), ("days.", 1.1, 1.35)]
    assert speech.path.suffix == ".mp3" and speech.path.read_bytes()[:3] in (b"ID3", b"\xff\xfb\xff")


def test_elevenlabs_unknown_voice_names_the_choices(eleven: FakeElevenLabs) -> None:
    from pipeline.errors import InputError
    from pipeline.providers.speech import speech_dir, synthesize

    with pytest.raises(InputError, match=f"--voice {RETIRED}: .*Sarah .*George"):
        synthesize("Hello.", provider="elevenlabs", voice=RETIRED)
    assert not list(speech_dir().glob("*.mp3"))


def test_openai_speech_splits_long_text_at_sentence_ends(openai: FakeOpenAISpeech) -> None:
    from pipeline.analysis.audio import decode_audio
    from pipeline.providers.speech import synthesize

    sentence = "This sentence is exactly long enough to matter here. "
    text = sentence * 100  # 5300 characters
    speech = synthesize(text, provider="openai")
    assert len(openai.inputs) == 2 and all(len(i) <= 4096 for i in openai.inputs)
    assert all(i.endswith(".") for i in openai.inputs)  # cut at sentence ends
    assert " ".join(openai.inputs) == " ".join(text.split())
    audio = decode_audio(str(speech.path), sample_rate=24000)
    assert len(audio) / 24000 == pytest.approx(1.0, abs=0.03)  # both 0.5 s parts, joined


def test_openai_out_of_credit_is_not_retried(openai: FakeOpenAISpeech) -> None:
    from pipeline.errors import ProviderError
    from pipeline.providers.speech import synthesize

    openai.out_of_credit = True
    with pytest.raises(ProviderError, match="out of credit"):
        synthesize("Hello there.", provider="openai")
    assert len(openai.requests("POST", "/v1/audio/speech")) == 1
