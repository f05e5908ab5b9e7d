"""Caption sidecars keep what was said, character for character: SubRip literally, WebVTT
escaped as its spec requires (W3C WebVTT 4.2.2: &amp; &lt; &gt;, no "-->" in cue text)."""

from __future__ import annotations

import html
import re
from fractions import Fraction
from pathlib import Path

from pipeline.adapters.inputs import load_inputs
from pipeline.model.timeline import AudioItem, Word
from tests.conftest import run_cli
from tests.media import ffmpeg, make_clip

F = Fraction
HOSTILE = ["%{pts}", "{localtime}", "a\\nb", "&", "<script>", "x-->y", "{\\b1}bold", "&amp;"]


def _timeline(tmp_path: Path) -> Path:
    clip = make_clip(tmp_path / "black.mp4", size="320x180", duration=3.0, color="black")
    voice = tmp_path / "voice.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=f=300:r=48000:d=3", str(voice))
    tl = load_inputs([clip])
    words = [Word(text, F(3, 10) + F(i, 4), F(3, 10) + F(i, 4) + F(1, 5)) for i, text in enumerate(HOSTILE)]
    tl.track("voiceover").items.append(AudioItem(source=str(voice), start=F(0), in_point=F(0), out_point=F(3),
                                                 words=words))
    path = tmp_path / "hostile.timeline.json"
    tl.save(path)
    return path


def _blocks(text: str) -> list[list[str]]:
    return [b.splitlines() for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]


def test_sidecars_keep_every_character_and_vtt_escapes_per_spec(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_cli("export", str(_timeline(tmp_path)), "-p", "web-preview", "--captions", "--speed", "ultrafast",
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    said = " ".join(HOSTILE)

    srt = _blocks((out / "hostile.web-preview.srt").read_text(encoding="utf-8"))
    assert [b[0] for b in srt] == [str(i) for i in range(1, len(srt) + 1)]
    srt_times = [b[1] for b in srt]
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}", t) for t in srt_times)
    assert " ".join(" ".join(b[2:]) for b in srt) == said

    vtt_text = (out / "hostile.web-preview.vtt").read_text(encoding="utf-8")
    header, *cues = _blocks(vtt_text)
    assert header == ["WEBVTT"]
    assert [c[0].replace(".", ",") for c in cues] == srt_times
    texts = [line for c in cues for line in c[1:]]
    for line in texts:
        assert "-->" not in line and "<" not in line and ">" not in line
        assert not re.search(r"&(?!amp;|lt;|gt;)", line), line
    assert " ".join(html.unescape(" ".join(c[1:])) for c in cues) == said
