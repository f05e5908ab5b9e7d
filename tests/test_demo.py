"""The demo end to end: samples/promo.yaml as `make demo` runs it, offline, with only the
export presets swapped for a small one. Its jacket shot speaks (the local stand-in for
kling-v2-6 with sound says the prompt's quoted line); the narrator waits for the line and
the music ducks under it, measured on the render."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.analysis.audio import decode_audio
from pipeline.analysis.dialogue import clip_dialogue
from pipeline.analysis.loudness import measure_file
from pipeline.render import OutputSettings, render
from pipeline.run.runner import run_file_results
from tests.media import copy_samples, stream_durations, write_preset

TARGET, CEILING = -14.0, -1.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    root = tmp_path_factory.mktemp("demo")
    project = root / "samples"
    copy_samples(project)
    spec = yaml.safe_load((project / "promo.yaml").read_text())
    for step in spec["steps"]:
        if "export" in step:
            step["export"]["presets"] = ["demo-small"]
    (project / "promo.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    presets = write_preset(root / "presets", "demo-small", aspect="9:16", width=180, height=320,
                           loudness_lufs=TARGET, true_peak_dbtp=CEILING).parent
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REELFORGE_PRESETS", str(presets))
        result = run_file_results(project / "promo.yaml", quiet=True, live=False, summary=False)[0]
    out = next(Path(o["path"]) for o in result.outputs if o.get("preset") == "demo-small"
               and str(o.get("path", "")).endswith(".mp4"))
    return result, out


def test_the_demo_runs_and_delivers_on_target(demo: tuple[object, Path]) -> None:
    result, out = demo
    assert set(result.states.values()) == {"done"}, result.states
    assert out.is_file()
    vdur, adur = stream_durations(out)
    assert abs(adur - vdur) < Fraction(1024, 48000)  # every sound ends with the picture (to one AAC frame)
    loud = measure_file(str(out))
    assert abs(loud.integrated_lufs - TARGET) <= 0.5 and loud.true_peak_dbtp <= CEILING, loud
    # the check after export reports the music against the narrator and the dialogue
    report = next(Path(o["path"]) for o in result.outputs if o.get("kind") == "check report")
    page = report.read_text()
    assert "music_under_speech" in page and "dB above the music at worst" in page


def test_the_demos_talking_shot_is_heard_over_a_ducked_bed(demo: tuple[object, Path], tmp_path: Path) -> None:
    result, _ = demo
    tl = result.timeline
    speaking = [c.id for c in tl.video if c.speech]
    assert speaking == ["jacket"]  # the others' ambience and ticks are not speech
    dialogue = [s for spans in clip_dialogue(tl) for s in spans]
    assert sum(float(b - a) for a, b in dialogue) > 1.5
    # the narrator waits for the hiker's line
    for item in tl.track("voiceover").items:
        assert all(item.end <= a or item.start >= b for a, b in dialogue), (item.text, dialogue)
    # the music alone, as the mix plays it: the clips and the narrator still drive the
    # ducking but are not heard
    tl = tl.copy()
    tl.track("original").gain_db = -60.0
    for clip in tl.video:
        clip.audio_gain_db = 0.0
    tl.track("voiceover").gain_db = -60.0
    bed = tmp_path / "bed.mp4"
    render(tl, [(OutputSettings(width=90, height=160, fps=Fraction(10), x264_preset="ultrafast", crf=40,
                                profile=None), bed)])
    y = decode_audio(str(bed), sample_rate=16000, mono=True)
    n = 800  # 50 ms
    level = 10 * np.log10(np.mean(y[: y.size // n * n].reshape(-1, n).astype(np.float64) ** 2, axis=1) + 1e-12)
    times = (np.arange(level.size) + 0.5) * 0.05
    talk = np.zeros(level.size, bool)
    for a, b in dialogue:
        talk |= (times > float(a) + 0.1) & (times < float(b) - 0.1)
    near = np.zeros(level.size, bool)  # speech of any kind, with the ramps around it
    for a, b in [*dialogue, *((i.start, i.end) for i in tl.track("voiceover").items)]:
        near |= (times > float(a) - 0.6) & (times < float(b) + 0.6)
    free = ~near & (times > 2.0) & (times < float(tl.duration) - 2.0)  # past the fades
    assert talk.sum() > 20 and free.sum() > 10, (talk.sum(), free.sum())
    depth = float(np.median(level[free]) - np.median(level[talk]))
    assert depth >= 10.0, depth
