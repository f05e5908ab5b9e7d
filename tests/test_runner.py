"""Incremental runs: results cached by the hash of their inputs; only what changed re-runs."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from pipeline.model.media import probe
from pipeline.run.runner import run_file_results
from tests.conftest import run_cli
from tests.media import frames_of, make_clip
from tests.pipekit import BedStage, TrimStage, clips, test_stages, tiny_preset  # noqa: F401


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tiny_preset(monkeypatch, tmp_path / "presets")
    clips(tmp_path, 3, 1.0)
    make_clip(tmp_path / "bed.wav.mp4", duration=1.0, audio=True, tone=300)
    (tmp_path / "fx.py").write_text("def invert(frame):\n    return 255 - frame\n")
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "promo.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def run(path: Path, **kw):  # noqa: ANN001, ANN003, ANN201
    return run_file_results(path, quiet=True, live=False, summary=False, **kw)


PIPE = """
    name: promo
    vars: {cut: 0.5, music: bed.wav.mp4}
    inputs: [clip1.mp4, clip2.mp4, clip3.mp4]
    steps:
      - effect: {clip: 2, function: fx.py:invert}
      - trimlast: {seconds: "${cut}"}
      - bed: {track: "${music}"}
      - export: {presets: [tiny, tiny2], dir: out}
    """


def test_second_run_from_cache_and_fast(project: Path, test_stages) -> None:  # noqa: ANN001, F811
    path = write(project, PIPE)
    t0 = time.perf_counter()
    first = run(path)[0]
    first_s = time.perf_counter() - t0
    assert set(first.states.values()) == {"done"}
    outs = [project / "out" / "promo.tiny.mp4", project / "out" / "promo.tiny2.mp4"]
    assert [o["path"] for o in first.outputs] == [str(p) for p in outs]
    stamps = [p.stat().st_mtime_ns for p in outs]
    # 1 s + 1 s + 0.5 s at 30 fps, the middle clip inverted
    assert frames_of(outs[0]) == 75
    second_s = float("inf")
    for _ in range(2):  # the better of two unchanged runs (a stray pause on a shared CI core is not the cache)
        t0 = time.perf_counter()
        second = run(path)[0]
        second_s = min(second_s, time.perf_counter() - t0)
    assert set(second.states.values()) == {"cached"}
    assert [p.stat().st_mtime_ns for p in outs] == stamps  # not re-rendered
    assert all(o["cached"] for o in second.outputs)
    assert second.timeline.to_dict() == first.timeline.to_dict()
    assert second_s < 0.05 * first_s, (first_s, second_s)
    assert TrimStage.calls == 1 and BedStage.calls == 1


def bed_tones(out: Path) -> tuple[float, float]:
    """Spectral level (dB) at 300 Hz and at 500 Hz over the bed's span (0.1-0.4 s) of `out`."""
    import numpy as np

    from pipeline.analysis.audio import decode_audio

    y = decode_audio(str(out), sample_rate=48000, mono=True, start=0.1, duration=0.3).astype(np.float64)
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    freqs = np.fft.rfftfreq(y.size, 1 / 48000)

    def at(hz: float) -> float:
        return float(20 * np.log10(spec[np.abs(freqs - hz) < 10].max() + 1e-12))

    return at(300.0), at(500.0)


def test_changing_music_reruns_only_music_and_after(project: Path, test_stages) -> None:  # noqa: ANN001, F811
    path = write(project, PIPE)
    run(path)
    out = project / "out" / "promo.tiny.mp4"
    old_300, old_500 = bed_tones(out)
    assert old_300 - old_500 > 20  # the 300 Hz bed is in the output
    # new music content at the same path: only the music step and what follows re-run
    make_clip(project / "bed.wav.mp4", duration=1.0, audio=True, tone=500)
    states = run(path)[0].states
    assert states == {"effect": "cached", "trimlast": "cached", "bed": "done", "export": "done"}
    new_300, new_500 = bed_tones(out)  # and the output really carries the new music
    assert new_500 - new_300 > 20, (new_300, new_500)
    # one parameter of the bed step
    path.write_text(path.read_text().replace('bed: {track: "${music}"}', 'bed: {track: "${music}", gain_db: -3}'))
    states = run(path)[0].states
    assert states == {"effect": "cached", "trimlast": "cached", "bed": "done", "export": "done"}
    # an earlier step's parameter: it and everything after
    states = run(path, variables={"cut": 0.25})[0].states
    assert states == {"effect": "cached", "trimlast": "done", "bed": "done", "export": "done"}
    assert frames_of(project / "out" / "promo.tiny.mp4") == 68  # 30 + 30 + round(7.5)
    # the user's effect code changed: the effect re-runs
    import numpy as np

    from pipeline.analysis.frames import frame_at

    src = frame_at(str(project / "clip2.mp4"), 0.5, width=160).astype(int)
    out = project / "out" / "promo.tiny.mp4"
    assert np.abs(frame_at(str(out), 1.5, width=160).astype(int) - (255 - src)).mean() < 12  # inverted
    (project / "fx.py").write_text("def invert(frame):\n    return frame // 2\n")
    states = run(path, variables={"cut": 0.25})[0].states
    assert states["effect"] == "done" and states["export"] == "done"
    halved = frame_at(str(out), 1.5, width=160).astype(int)  # the output shows the new code's picture
    assert np.abs(halved - src // 2).mean() < 12 and np.abs(halved - (255 - src)).mean() > 40


def test_missing_or_changed_output_is_rendered_again(project: Path, test_stages) -> None:  # noqa: ANN001, F811
    path = write(project, PIPE)
    run(path)
    out = project / "out" / "promo.tiny.mp4"
    out.unlink()
    states = run(path)[0].states
    assert states["export"] == "done" and states["bed"] == "cached" and out.exists()
    # an output edited by hand is the user's now: never replaced without overwrite
    out.write_bytes(b"edited by hand")
    from pipeline.errors import InputError

    with pytest.raises(InputError, match="already exists"):
        run(path)
    assert out.read_bytes() == b"edited by hand"
    assert run(path, overwrite=True)[0].states["export"] == "done"
    assert probe(out).v.width == 320


def test_a_file_reelforge_did_not_write_is_never_replaced(project: Path, test_stages) -> None:  # noqa: ANN001, F811
    path = write(project, PIPE)
    mine = project / "out" / "promo.tiny.mp4"
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_bytes(b"the user's own file")
    from pipeline.errors import InputError

    with pytest.raises(InputError, match="already exists"):
        run(path)
    assert mine.read_bytes() == b"the user's own file"
    # what reelforge wrote itself is refreshed by the next run without asking
    mine.unlink()
    run(path)
    run(path, force=["export"])
    assert probe(mine).v.width == 320


def test_force(project: Path, test_stages) -> None:  # noqa: ANN001, F811
    path = write(project, PIPE)
    run(path)
    res = run(path, force=["trimlast"])[0]
    # the forced step ran again; its result is identical, so what follows stays cached
    assert res.states == {"effect": "cached", "trimlast": "done", "bed": "cached", "export": "cached"}
    assert TrimStage.calls == 2
    stamp = (project / "out" / "promo.tiny.mp4").stat().st_mtime_ns
    res = run(path, force=["export"])[0]
    assert res.states["export"] == "done"
    assert (project / "out" / "promo.tiny.mp4").stat().st_mtime_ns != stamp
    from pipeline.errors import InputError

    with pytest.raises(InputError, match="--force exprt: no such step \\(did you mean 'export'\\?\\)"):
        run(path, force=["exprt"])


def test_variants_one_output_set_each(project: Path, test_stages) -> None:  # noqa: ANN001, F811
    path = write(project, PIPE + """
    variants:
      long: {vars: {cut: 1}}
      short:
        vars: {cut: 0.5}
        steps:
          export: {presets: [tiny]}
    """)
    results = run(path)
    assert [r.name for r in results] == ["promo-long", "promo-short"]
    out = project / "out"
    assert sorted(p.name for p in out.iterdir()) == ["promo-long.tiny.mp4", "promo-long.tiny2.mp4",
                                                    "promo-short.tiny.mp4", "promo.review.html", "promo.run.json"]
    assert frames_of(out / "promo-long.tiny.mp4") == 90
    assert frames_of(out / "promo-short.tiny.mp4") == 75
    # one variant alone, again: served from cache
    again = run(path, variants=["short"])
    assert [r.name for r in again] == ["promo-short"] and set(again[0].states.values()) == {"cached"}


def test_cli_run_plain_progress_and_summary(project: Path) -> None:
    path = write(project, """
        name: spot
        inputs: [clip1.mp4, clip2.mp4]
        steps:
          - effect: {clip: 1, function: fx.py:invert}
            id: look
          - export: {presets: [tiny], dir: "final cut"}
        """)
    r = run_cli("run", str(path))
    assert r.returncode == 0, r.stderr
    assert "[1/2] look: done" in r.stderr and "[2/2] export: done" in r.stderr
    out = project / "final cut" / "spot.tiny.mp4"
    assert f"{out}  preset=tiny" in r.stderr
    assert frames_of(out) == 60
    r = run_cli("run", str(path), "--json")
    assert r.returncode == 0
    import json

    doc = json.loads(r.stdout)
    assert doc[0]["states"] == {"look": "cached", "export": "cached"}
    assert doc[0]["outputs"][0]["path"] == str(out)
    r = run_cli("run", str(path), "--dry-run")
    assert r.returncode == 0 and "[1/2] look: cached" in r.stderr and "[2/2] export: cached" in r.stderr
    r = run_cli("run", str(path), "--force", "look", "--dry-run")
    assert r.returncode == 0 and "[1/2] look: skipped" in r.stderr and "[2/2] export: skipped" in r.stderr
    r = run_cli("run", str(path), "--force", "nope")
    assert r.returncode == 2 and "--force nope: no such step" in r.stderr


def test_live_table(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import progress
    from pipeline.cli.display import install
    from pipeline.run import view

    # the live table is the command line's display; the engine alone writes plain lines
    monkeypatch.setattr(progress, "_default", None)
    monkeypatch.setattr(view, "_display", view.RunDisplay())
    install()
    path = write(project, """
        name: live
        inputs: [clip1.mp4]
        steps:
          - export: {presets: [tiny], dir: out}
        """)
    run_file_results(path, live=True, quiet=False, summary=True)
    err = capsys.readouterr().err
    assert "step" in err and "state" in err and "export" in err and "done" in err
    assert str(project / "out" / "live.tiny.mp4") in err and "tiny" in err
    run_file_results(path, live=True, quiet=False, summary=True)
    err = capsys.readouterr().err
    assert "cached" in err and "1 cached" in err


def test_run_json_stdout_is_one_document_even_when_user_code_prints(tmp_path: Path) -> None:
    import json

    make_clip(tmp_path / "in put.mp4", duration=0.5)
    (tmp_path / "noisy fx.py").write_text("def inv(frame):\n    print('frame!')\n    return 255 - frame\n")
    (tmp_path / "p.yaml").write_text(textwrap.dedent("""\
        name: noisy
        inputs: ["in put.mp4"]
        steps:
          - effect: {clip: 1, function: "noisy fx.py:inv"}
          - export: {presets: [web-preview], dir: out}
        """))
    r = run_cli("run", "--json", str(tmp_path / "p.yaml"))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert isinstance(doc, list) and len(doc) == 1
    assert "frame!" in r.stderr
    assert (tmp_path / "out" / "noisy.web-preview.mp4").is_file()
