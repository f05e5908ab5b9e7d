"""Export: limits before encoding, size caps, one process for many presets (same frames as
separate runs), verification, burned captions and sidecars, covers, odd file names."""

from __future__ import annotations

import hashlib
import math
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pipeline.model.media import probe
from pipeline.delivery.presets import get_preset
from pipeline.render.settings import OutputSettings
from pipeline.model.timeline import AudioItem, Timeline, Word
from pipeline.adapters.inputs import load_inputs
from pipeline.ffmpeg import ffmpeg_exe
from tests.conftest import run_cli
from tests.media import ffmpeg, make_clip

F = Fraction


def user_presets(folder: Path, **presets: str) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in presets.items():
        (folder / f"{name}.toml").write_text(body)
    return {"REELFORGE_PRESETS": str(folder)}


def video_md5s(path: Path) -> list[str]:
    """Per-frame MD5 of the decoded picture (ffmpeg's framemd5 muxer)."""
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return [line.split(",")[-1].strip() for line in out.splitlines() if line and not line.startswith("#")]


# ---- limits ------------------------------------------------------------------------------

def test_timeline_longer_than_preset_fails_before_encoding(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "one.mp4", duration=1.0)
    tl = load_inputs([src])
    tl.video[0].hold = F(94)  # 95 s on the timeline, from a 1 s clip
    tl_path = tmp_path / "long.timeline.json"
    tl.save(tl_path)
    assert Timeline.load(tl_path).duration == 95
    out = tmp_path / "out"
    r = run_cli("export", str(tl_path), "-p", "web-preview", "-p", "facebook-reels", "-o", str(out))
    assert r.returncode == 2, r.stderr
    assert "facebook-reels" in r.stderr and "90" in r.stderr and "--trim-to-limit" in r.stderr
    assert "Traceback" not in r.stderr and "%" not in r.stderr  # no progress: nothing was encoded
    assert not out.exists() or not any(out.iterdir())


def test_trim_to_limit_cuts_to_the_frame(tmp_path: Path) -> None:
    env = user_presets(tmp_path / "up", short='extends = "web-preview"\nname = "short"\nmax_duration = 1.5\n')
    src = make_clip(tmp_path / "two.mp4", duration=2.0, audio=True)
    r = run_cli("export", str(src), "-p", "short", "-p", "web-preview", "--trim-to-limit", "--speed", "ultrafast",
                "-o", str(tmp_path / "out"), env=env)
    assert r.returncode == 0, r.stderr
    assert probe(tmp_path / "out" / "two.short.mp4").v.frames == 45
    assert probe(tmp_path / "out" / "two.web-preview.mp4").v.frames == 60


def test_size_capped_preset_stays_under_its_cap(tmp_path: Path) -> None:
    env = user_presets(tmp_path / "up", tiny='extends = "web-preview"\nmax_size_mb = 0.12\n')
    src = tmp_path / "noise.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=2,noise=alls=60:allf=t", "-f", "lavfi",
           "-i", "sine=f=440:d=2", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-c:a", "aac", str(src))
    dry = run_cli("export", str(src), "-p", "tiny", "-p", "web-preview", "-o", str(tmp_path / "out"), "--dry-run", env=env)
    assert dry.returncode == 0 and "2-pass" in dry.stderr and not (tmp_path / "out").exists()
    r = run_cli("export", str(src), "-p", "tiny", "-p", "web-preview", "-o", str(tmp_path / "out"), env=env)
    assert r.returncode == 0, r.stderr
    capped = (tmp_path / "out" / "noise.tiny.mp4").stat().st_size
    free = (tmp_path / "out" / "noise.web-preview.mp4").stat().st_size
    assert capped <= 0.12e6 < free  # the same content uncapped would not fit
    assert capped > 0.06e6  # and the cap is used, not wasted
    assert probe(tmp_path / "out" / "noise.tiny.mp4").v.frames == 60


# ---- one process for many presets --------------------------------------------------------

def test_multi_preset_export_is_one_process_with_the_same_frames(tmp_path: Path) -> None:
    from pipeline.render.graph import OutputJob, build_jobs_argv

    src = make_clip(tmp_path / "src.mp4", size="320x180", duration=1.0, audio=True)
    names = ["web-preview", "x-portrait", "linkedin-square"]
    tl = load_inputs([src])
    jobs = [OutputJob(tl, get_preset(n).settings(tl.canvas.fps), tmp_path / f"{n}.mp4") for n in names]
    argv = build_jobs_argv(jobs)
    # Three sizes, one ffmpeg: the source is opened once and split, three encoders.
    assert argv.count("-i") == 1
    graph = argv[argv.index("-filter_complex") + 1]
    assert "split=3" in graph and "asplit=3" in graph
    assert sum(1 for a in argv if a.endswith(".mp4")) == 4  # one input, three outputs
    together = tmp_path / "together"
    r = run_cli("export", str(src), *sum((["-p", n] for n in names), []), "--speed", "ultrafast", "-o", str(together))
    assert r.returncode == 0, r.stderr
    for n in names:
        alone = tmp_path / f"alone-{n}"
        r = run_cli("export", str(src), "-p", n, "--speed", "ultrafast", "-o", str(alone))
        assert r.returncode == 0, r.stderr
        a, b = video_md5s(together / f"src.{n}.mp4"), video_md5s(alone / f"src.{n}.mp4")
        assert len(a) == 30 and a == b, n


# ---- verification ------------------------------------------------------------------------

def test_verification_catches_moov_after_mdat_and_wrong_shape(tmp_path: Path) -> None:
    from pipeline.delivery.verify import top_level_boxes, verify_output

    bad = tmp_path / "bad.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=1", "-f", "lavfi", "-i", "sine=d=1",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(bad))
    boxes = [b for b in top_level_boxes(bad) if b in ("moov", "mdat")]
    assert boxes == ["mdat", "moov"]
    s = get_preset("web-preview").settings(F(30))
    report = verify_output(bad, "web-preview", s, F(1), max_size_mb=100)
    assert not report.ok
    assert report.check("moov first").status == "fail"
    assert report.check("size").status == "pass" and report.check("frames").status == "pass"
    wrong = verify_output(bad, "x", OutputSettings(width=1280, height=720, fps=F(25)), F(2))
    failed = {c.name for c in wrong.checks if c.status == "fail"}
    assert {"size", "fps", "frames", "duration"} <= failed


def test_verification_checks_loudness_when_planned(tmp_path: Path) -> None:
    from pipeline.delivery.verify import verify_output

    quiet = tmp_path / "quiet.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=2", "-f", "lavfi", "-i", "sine=f=1000:r=48000:d=2,volume=-30dB",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2",
           "-movflags", "+faststart", str(quiet))
    s = get_preset("web-preview").settings(F(30))
    strict = verify_output(quiet, "web-preview", s, F(2), loudness_strict=True)
    assert strict.check("loudness").status == "fail" and not strict.ok
    lenient = verify_output(quiet, "web-preview", s, F(2), loudness_strict=False)
    assert lenient.check("loudness").status == "warn" and lenient.ok
    # the figures it measured travel with the output (the run record's page shows them). The
    # tone is known: a 1 kHz sine at 1/8 full scale, -30 dB, put in both channels at -3 dB
    # (the mono centre's share of each side when -ac 2 upmixes it), reads 20*log10(1/8) - 30
    # - 3 = -51.1 LUFS under BS.1770 and peaks there too (AAC moves it a little)
    expected = 20 * math.log10(1 / 8) - 30 + 20 * math.log10(math.sqrt(0.5))
    assert abs(lenient.measured["integrated_lufs"] - expected) <= 1.0, lenient.measured
    assert abs(lenient.measured["true_peak_dbtp"] - expected) <= 1.0, lenient.measured


def test_failing_output_exits_1_with_a_table(tmp_path: Path) -> None:
    # A user preset whose raw encoder options (extra) contradict its declared pixel format:
    # the file is encoded as yuv444p, the preset promises yuv420p, verification catches it.
    env = user_presets(tmp_path / "up", odd='extends = "web-preview"\nprofile = "high444"\n'
                                          '[extra]\npix_fmt = "yuv444p"\n')
    src = make_clip(tmp_path / "s.mp4", duration=1.0, audio=True)
    r = run_cli("export", str(src), "-p", "odd", "--speed", "ultrafast", "-o", str(tmp_path / "out"), env=env)
    assert r.returncode == 1, r.stderr
    assert "verification" in r.stderr and "FAILED" in r.stderr and "pixel format" in r.stderr


# ---- planning hooks: loudness plan and reframing -----------------------------------------

def test_export_calls_loudness_plan_and_reframes_other_aspects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.delivery.loudness
    import stages.reframe.reframing
    from stages.export.exporting import ExportOptions, export_timeline

    src = make_clip(tmp_path / "wide.mp4", size="320x180", duration=1.0)
    tl = load_inputs([src])
    reframes: list[tuple[int, int, str]] = []
    plans: list[list[tuple[int, int]]] = []

    def fake_reframe(t, w, h, mode=None, reporter=None):  # noqa: ANN001, ANN202
        reframes.append((w, h, mode))
        return t

    def fake_plan(t, settings, names=()):  # noqa: ANN001, ANN202
        plans.append([(s.width, s.height) for s in settings])
        return list(settings)

    monkeypatch.setattr(stages.reframe.reframing, "reframe_timeline", fake_reframe)
    monkeypatch.setattr(pipeline.delivery.loudness, "plan", fake_plan)
    opts = ExportOptions(presets=["tiktok", "youtube-shorts", "youtube-1080p", "instagram-feed-square"],
                         folder=tmp_path / "out", stem="wide", dry_run=True)
    outs = export_timeline(tl, opts)
    assert reframes == [(1080, 1920, "contain-blur"), (1080, 1080, "contain-blur")]
    assert sorted(p for call in plans for p in call) == sorted([(1080, 1920), (1080, 1920), (1920, 1080), (1080, 1080)])
    assert [o.path.name for o in outs][0] == "wide.tiktok.mp4"
    reframes.clear()
    tl.reframe = {"mode": "smart"}
    export_timeline(tl, opts)
    assert {m for _, _, m in reframes} == {"smart"}


def test_encoder_choice_falls_back_to_x264(tmp_path: Path) -> None:
    from pipeline.delivery.encoders import choose_encoder, nvenc_works

    assert choose_encoder("libx264") == "libx264"
    # Whether NVENC really works here, found by encoding a real file with it (not by asking
    # the code under test): "auto" must pick it exactly when it works, else libx264.
    trial = tmp_path / "nvenc.mp4"
    nvenc = subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=256x144:r=30:d=0.2",
                            "-c:v", "h264_nvenc", str(trial)], capture_output=True).returncode == 0
    nvenc = nvenc and probe(trial).v.codec == "h264" and probe(trial).v.frames == 6
    expected = "h264_nvenc" if nvenc else "libx264"
    assert nvenc_works() == nvenc
    assert choose_encoder("auto") == expected and choose_encoder("h264_nvenc") == expected
    # and the encoder chosen really writes H.264 here
    made = tmp_path / "chosen.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=256x144:r=30:d=0.2", "-c:v", choose_encoder("auto"), "-pix_fmt", "yuv420p",
           str(made))
    assert probe(made).v.codec == "h264" and probe(made).v.frames == 6


# ---- captions and covers -----------------------------------------------------------------

WORDS = [("Hello", F(1, 2), F(9, 10)), ("it's", F(1), F(13, 10)), ('"clip"', F(14, 10), F(19, 10)),
         ("ünï:code;", F(26, 10), F(29, 10))]


def caption_timeline(tmp_path: Path) -> Path:
    black = make_clip(tmp_path / "black.mp4", size="320x180", duration=3.5, color="black")
    voice = tmp_path / "voice.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=f=300:r=48000:d=5", str(voice))
    tl = load_inputs([black])
    # Word times are on the item's source clock: this item plays source 1..4.5 s from 0 s.
    words = [Word(t, s + 1, e + 1) for t, s, e in WORDS]
    tl.track("voiceover").items.append(AudioItem(source=str(voice), start=F(0), in_point=F(1), out_point=F(9, 2),
                                                 words=words))
    path = tmp_path / "cap.timeline.json"
    tl.save(path)
    return path


def test_captions_burned_while_spoken_and_sidecars_match_words(tmp_path: Path) -> None:
    import pysubs2

    from pipeline.analysis.frames import frame_at
    from pipeline.delivery.captions import caption_strip

    tl_path = caption_timeline(tmp_path)
    out = tmp_path / "out"
    r = run_cli("export", str(tl_path), "-p", "web-preview", "-p", "x-portrait", "--captions", "--speed", "ultrafast",
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    for name in ("web-preview", "x-portrait"):
        preset = get_preset(name)
        video = out / f"cap.{name}.mp4"
        y, _, h = caption_strip(preset)
        sx, sy, sw, sh = preset.safe_box()

        def lit(t: float) -> tuple[int, int]:
            frame = frame_at(str(video), t).max(axis=2)
            inside = int((frame[y:y + h, sx:sx + sw] > 128).sum())
            return inside, int((frame > 128).sum()) - inside

        for t in (0.7, 1.1, 1.6, 2.75):  # words being spoken
            inside, outside = lit(t)
            assert inside > 50 and outside == 0, (name, t)
        for t in (0.2, 2.3, 3.3):  # before, between and after the cues
            assert lit(t) == (0, 0), (name, t)
        # The active word is highlighted (yellow: red and green high, blue low).
        frame = frame_at(str(video), 1.1)[y:y + h]
        yellow = (frame[..., 0] > 180) & (frame[..., 1] > 150) & (frame[..., 2] < 90)
        assert yellow.sum() > 20
        srt = pysubs2.load(str(out / f"cap.{name}.srt"))
        vtt = pysubs2.load(str(out / f"cap.{name}.vtt"))
        assert [e.text for e in srt] == ['Hello it\'s "clip"', "ünï:code;"]
        assert [(e.start, e.end) for e in srt] == [(500, 1900), (2600, 2900)]
        assert [(e.start, e.end, e.text) for e in vtt] == [(e.start, e.end, e.text) for e in srt]


def test_captions_without_words_is_an_input_error(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "s.mp4", duration=1.0)
    r = run_cli("export", str(src), "-p", "web-preview", "--captions", "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "--captions" in r.stderr and not (tmp_path / "out").exists()


def test_thumbnail_is_sharp_and_representative(tmp_path: Path) -> None:
    import cv2

    blurred = tmp_path / "blurred.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=2,gblur=sigma=12", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", str(blurred))
    sharp = make_clip(tmp_path / "sharp.mp4", size="320x180", duration=1.0)
    tl = load_inputs([blurred, sharp, blurred])
    tl_path = tmp_path / "seq.timeline.json"
    tl.save(tl_path)
    out = tmp_path / "out"
    r = run_cli("export", str(tl_path), "-p", "web-preview", "--thumbnail", "--speed", "ultrafast", "-o", str(out))
    assert r.returncode == 0, r.stderr
    m = [line for line in r.stderr.splitlines() if line.startswith("covers at")]
    t = float(m[0].split()[2])
    assert 2.0 <= t < 3.0  # inside the sharp clip
    img = cv2.imread(str(out / "seq.web-preview.jpg"))
    assert img.shape[:2] == (360, 640)
    at = run_cli("export", str(tl_path), "-p", "web-preview", "--thumbnail-at", "0.5", "--speed", "ultrafast",
                 "-o", str(tmp_path / "out2"))
    assert at.returncode == 0, at.stderr
    cover = cv2.imread(str(tmp_path / "out2" / "seq.web-preview.jpg"), cv2.IMREAD_GRAYSCALE)
    assert cv2.Laplacian(cover, cv2.CV_64F).var() < cv2.Laplacian(
        cv2.imread(str(out / "seq.web-preview.jpg"), cv2.IMREAD_GRAYSCALE), cv2.CV_64F).var() / 3


# ---- file names and overwriting ----------------------------------------------------------

def test_awkward_file_name_exports(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "it's a \"clip\" [v1]; 50%, ünï:code.mp4", duration=1.0, audio=True)
    out = tmp_path / "out dir; 50%"
    r = run_cli("export", str(src), "-p", "tiktok", "-p", "web-preview", "--thumbnail", "--speed", "ultrafast",
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    stem = "it's a \"clip\" [v1]; 50%, ünï:code"
    info = probe(out / f"{stem}.tiktok.mp4")
    assert info.v.display_size == (1080, 1920) and info.v.frames == 30
    assert (out / f"{stem}.web-preview.jpg").stat().st_size > 0
    # reelforge's own, unchanged output is refreshed; one the user changed is never replaced
    again = run_cli("export", str(src), "-p", "tiktok", "--speed", "ultrafast", "-o", str(out))
    assert again.returncode == 0, again.stderr
    (out / f"{stem}.tiktok.mp4").write_bytes(b"edited by the user")
    again = run_cli("export", str(src), "-p", "tiktok", "-o", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert (out / f"{stem}.tiktok.mp4").read_bytes() == b"edited by the user"
    assert not [p for p in out.iterdir() if ".partial-" in p.name]


def test_cover_time_past_the_end_fails_before_encoding(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "s.mp4", duration=1.0)
    r = run_cli("export", str(src), "-p", "web-preview", "--thumbnail-at", "5", "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "--thumbnail-at" in r.stderr and not (tmp_path / "out").exists()


def test_size_cap_only_where_the_peak_rate_could_overflow() -> None:
    from pipeline.delivery.limits import cap_size, parse_rate

    tiktok = get_preset("tiktok")
    s = tiktok.settings(F(30))
    assert cap_size(s, tiktok, F(60)) == s  # 12 Mbit/s peak for 60 s fits 500 MB
    capped = cap_size(s, tiktok, F(600))  # ten minutes at the peak would be 900 MB
    assert capped.pass_num == 2 and capped.crf is None
    video = parse_rate(capped.video_bitrate)
    total_mb = (video + parse_rate(s.audio_bitrate)) * 600 / 8 / 1e6
    assert 0.9 * 500 < total_mb < 500
    # the same sum from the strings ffmpeg receives, read here rather than by parse_rate
    import re

    rates = [capped.video_bitrate, s.audio_bitrate]
    assert all(re.fullmatch(r"\d+k", r) for r in rates), rates
    assert 0.9 * 500 < sum(int(r[:-1]) * 1000 for r in rates) * 600 / 8 / 1e6 < 500


def test_trim_timeline_cuts_clips_audio_and_transitions(tmp_path: Path) -> None:
    from pipeline.delivery.limits import trim_timeline
    from pipeline.model.timeline import Transition

    src = make_clip(tmp_path / "c.mp4", duration=2.0)
    tl = load_inputs([src, src, src])
    tl.video[0].transition = Transition("fade", F(1, 2))
    tl.video[1].transition = Transition("fade", F(1, 2))
    tl.track("music").items.append(AudioItem(source=str(src), start=F(1), in_point=F(0), out_point=F(4)))
    cut = trim_timeline(tl, F(3.01))
    assert cut.duration == F(3)  # snapped down to a whole frame at 30 fps
    assert len(cut.video) == 2 and cut.video[-1].transition.is_cut
    assert cut.track("music").items[0].end == 3
    assert tl.duration == F(5)  # the original is untouched
    inside = trim_timeline(tl, F(1.6))  # inside the first fade: ends on the first clip
    assert inside.duration == F(8, 5) and len(inside.video) == 1
    inside.validate()


def test_outputs_split_into_runs_only_when_memory_is_short(tmp_path: Path) -> None:
    from pipeline.render.graph import OutputJob
    from pipeline.render.multi import batches, encoder_memory

    src = make_clip(tmp_path / "c.mp4", duration=1.0)
    tl = load_inputs([src])
    jobs = [OutputJob(tl, get_preset(n).settings(F(30)), tmp_path / f"{n}.mp4")
            for n in ("youtube-4k", "tiktok", "youtube-shorts", "web-preview")]
    need = sum(encoder_memory(j) for j in jobs)
    assert batches(jobs, need) == [jobs]
    split = batches(jobs, encoder_memory(jobs[0]))
    assert [len(g) for g in split] == [1, 3] and split[0] == [jobs[0]]


def test_pipeline_file_export_step_with_cover_and_captions_auto(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "c.mp4", duration=1.0, audio=True)
    (tmp_path / "p.yaml").write_text(
        "name: demo\n"
        f"inputs: ['{src.name}']\n"
        "steps:\n"
        "  - export: {presets: [web-preview], dir: out, thumbnail: true, captions: auto, speed: ultrafast}\n")
    r = run_cli("run", str(tmp_path / "p.yaml"))
    assert r.returncode == 0, r.stderr
    assert "no voiceover word timings" in r.stderr  # auto: a warning, no captions
    assert (tmp_path / "out" / "demo.web-preview.mp4").exists() and (tmp_path / "out" / "demo.web-preview.jpg").exists()
    assert not (tmp_path / "out" / "demo.web-preview.srt").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - export: {presets: [web-preview], captions: sometimes}\n")
    r = run_cli("run", str(bad))
    assert r.returncode == 2 and "bad.yaml:2" in r.stderr and "captions" in r.stderr


def test_names_that_look_like_protocols_are_exported_as_files(tmp_path: Path) -> None:
    """The input `file:z.mp4` is that file (4 s), not the 2 s decoy z.mp4; the output folder
    `out:1` and the output name built from the input's are plain names too."""
    from tests.media import PLAIN_FPS, PLAIN_SECONDS, protocol_named_clips

    folder = protocol_named_clips(tmp_path / "names")
    for name in ("file:z.mp4", "concat:a|b.mp4"):
        r = run_cli("export", name, "-p", "web-preview", "--speed", "ultrafast", "-o", "out:1", cwd=folder)
        assert r.returncode == 0, r.stderr
        made = folder / "out:1" / (Path(name).stem + ".web-preview.mp4")
        info = probe(made)
        assert info.v.frames == PLAIN_SECONDS * PLAIN_FPS and info.has_audio
    assert sorted(p.name for p in (folder / "out:1").iterdir()) == ["concat:a|b.web-preview.mp4",
                                                                    "file:z.web-preview.mp4"]
