"""Hostile cases of the census that need servers, signals or real media: keys (4),
concurrency (6), interruption (7), quiet footage (8), caption files (11), the cache folder
(12), doctor (17), user presets (18), and the real corpus through every command."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from tests.bench.hostile_cases import clips, files, media_at
from tests.bench.hostile_census import Case, Ctx, Result, finish, kill_group
from tests.media import ffmpeg_exe
from tests.test_keys import tokens_sent

KLING_MODEL = "kling-v2-5-turbo"


# ---- 4, 6: servers ------------------------------------------------------------------------------
def _kling(ctx: Ctx, echo: bool = True, **kw: Any) -> Any:
    from tests.fake_echo import EchoKling
    from tests.fake_kling import FakeKling

    server = (EchoKling if echo else FakeKling)(ctx.root / "media" / "clip.mp4", **kw).start()
    ctx.extra_env.update({"KLING_API_BASE": server.url, "KLING_ACCESS_KEY": server.access,
                          "KLING_SECRET_KEY": server.secret})
    ctx.secrets |= {server.access, server.secret}
    return server


def _sora(ctx: Ctx, echo: bool = True, **kw: Any) -> Any:
    from tests.fake_echo import EchoSora
    from tests.fake_sora import FakeSora

    server = (EchoSora if echo else FakeSora)(ctx.root / "media" / "clip.mp4", **kw).start()
    ctx.extra_env.update({"REELFORGE_SORA_BASE_URL": server.url, "OPENAI_BASE_URL": server.url,
                          "OPENAI_API_KEY": server.key})
    ctx.secrets.add(server.key)
    return server


def keys_case(provider: str, name: str, prompt: str, how: str = "") -> Case:
    args = ["generate", "--provider", provider, "--prompt", prompt, "-o", "out.mp4"]
    if provider == "kling":
        args[3:3] = ["--model", KLING_MODEL]

    def drive(ctx: Ctx) -> Result:
        server = _kling(ctx) if provider == "kling" else _sora(ctx)
        try:
            if how == "status":
                server.echo_status = True
            elif how == "cut":  # the secret right where a 300-character cut of the body falls
                known = server.secret if provider == "kling" else server.key
                path = "/v1/videos/text2video" if provider == "kling" else "/v1/videos"
                server.inject("POST", path, 403, {"Content-Type": "text/plain"}, ("x" * 285 + known).encode(),
                              times=10)
            elif how == "bad-secret":
                ctx.extra_env["KLING_SECRET_KEY"] = "bad-secret-key-never-shown-0123456789"
                ctx.secrets.add(ctx.extra_env["KLING_SECRET_KEY"])
            r = ctx.run(args, timeout=60)
        finally:
            server.stop()
        ctx.secrets |= tokens_sent(server) if provider == "kling" else set()
        return r

    ok = not how and "[fail]" not in prompt
    return Case("4", name, args, expect="ok" if ok else "either", outputs=("out.mp4",), drive=drive,
                verify=media_at("out.mp4"), on_exit1=None if ok else (lambda ctx, r: None))


def speech_not_audio() -> Case:
    key = "sk-speech-secret-0123456789abcdef"

    def drive(ctx: Ctx) -> Result:
        from tests.fake_http import ScriptedServer

        clips(ctx)
        (ctx.work / "script.txt").write_text("Hello there.\n")
        page = json.dumps({"echo": f"Bearer {key}", "note": "this is not audio"}).encode()
        ctx.secrets.add(key)
        with ScriptedServer([(200, {"content-type": "application/json"}, page)] * 10) as srv:
            return ctx.run(["voiceover", "clip.mp4", "--script", "script.txt", "--tts", "openai", "-o", "v.mp4"],
                           env={"OPENAI_API_KEY": key, "OPENAI_BASE_URL": srv.url + "/v1"})

    return Case("4", "speech answers JSON", expect="either", outputs=("v.mp4",), drive=drive,
                on_exit1=lambda ctx, r: None if not any(ctx.cache.rglob("*.wav")) else "a non-audio answer was cached")


def paid_once(provider: str) -> Case:
    def drive(ctx: Ctx) -> Result:
        server = _kling(ctx, echo=False, polls=150) if provider == "kling" else _sora(ctx, echo=False, polls=150)
        args = ["generate", "--provider", provider, "--prompt", "one shot, asked twice"]
        if provider == "kling":
            args += ["--model", KLING_MODEL]
        try:
            t0 = time.monotonic()
            procs = [ctx.start([*args, "-o", f"{n}.mp4"]) for n in ("a", "b")]
            results = [finish(p, 90, t0) for p in procs]
        finally:
            server.stop()
        posts = [e for e in server.log if e.method == "POST"]
        r = results[0] if results[0].code != 0 else results[1]
        r.stderr += "".join(x.stderr for x in results if x is not r)
        if len(posts) > 1:
            r.problem = f"{len(posts)} paid submissions for one request"
        return r

    return Case("6", f"two generate --provider {provider} at once", expect="ok", drive=drive,
                verify=media_at("b.mp4"))


# ---- 7: interrupted generation -------------------------------------------------------------------
RUN_SHOTS = """shots:
  - {id: pan, prompt: "a long slow pan", model: sora-2, provider: local, duration: 8, seed: 1}
  - {id: tilt, prompt: "a long slow tilt", model: sora-2, provider: local, duration: 8, seed: 2}
steps:
  - export: {presets: [tiny], dir: out}
"""


def interrupted(sig: int, command: str = "generate") -> Case:
    args = (["generate", "--provider", "local", "--prompt", "a long slow pan", "--duration", "8", "-o", "shot.mp4"]
            if command == "generate" else ["run", "p.yaml"])

    def drive(ctx: Ctx) -> Result:
        (ctx.work / "p.yaml").write_text(RUN_SHOTS)
        proc = ctx.start(args)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20 and not list(ctx.cache.rglob("*partial*")):
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(sig)  # the process alone, as a terminal's kill would
        r = finish(proc, 30, t0)
        if r.timed_out:  # killed by the census
            r.timed_out, r.problem = False, f"still running 30 s after {signal.Signals(sig).name}"
        if r.code == 0:
            raise RuntimeError("the shot was finished before the signal")
        time.sleep(0.5)
        debris = [p.name for p in ctx.cache.rglob("*partial*")] + [p.name for p in ctx.work.glob("*partial*")]
        orphans = [pid for pid in os.listdir("/proc") if pid.isdigit() and str(ctx.cache).encode() in _cmdline(pid)]
        kill_group(proc)
        if debris or orphans:
            r.problem = f"after the signal: partial files {debris[:3]}, processes still running {orphans[:3]}"
        elif r.code in (130, 143, -sig):
            r.code = 0  # stopped, and left nothing behind
        return r

    return Case("7", f"{command} then {signal.Signals(sig).name}", args, expect="ok", outputs=("shot.mp4", "out"),
                drive=drive)


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


# ---- 8: quiet footage ------------------------------------------------------------------------------
def loudness(path: Path) -> tuple[float, float]:
    out = subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(path), "-map", "0:a:0",
                          "-af", "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True).stderr
    summary = out[out.rfind("Summary:"):]
    lufs = float(re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))
    return lufs, peak


def quiet(corpus: Path, preset: str, target: float) -> Case:
    src = corpus / "man-on-green-screen.mp4"
    out = f"out/man-on-green-screen.{preset}.mp4"

    def verify(ctx: Ctx, r: Result) -> str | None:
        if not (ctx.work / out).is_file():
            return f"exit 0 but nothing at {out}"
        lufs, peak = loudness(ctx.work / out)
        if abs(lufs - target) > 0.5 or peak > -1.0:
            return f"{lufs:.1f} LUFS and {peak:.1f} dBTP (want {target:g} within 0.5 LU, peak under -1)"
        return None

    return Case("8", f"quiet footage to {preset}", ["export", str(src), "-p", preset, "--speed", "ultrafast", "-o", "out"],
                expect="ok", verify=verify, timeout=480, needs=lambda ctx: src.is_file(),
                on_exit1=lambda ctx, r: f"exit 1 and the failing file stayed at {out}" if (ctx.work / out).exists() else None)


# ---- 11: caption files ---------------------------------------------------------------------------
HOSTILE_WORDS = ["%{pts}", "{localtime}", "a\\nb", "&", "<script>", "x-->y", "{\\b1}bold", "&amp;"]
BUILD = """
import sys
from fractions import Fraction as F
try:  # the tree before the layout first: an editable install resolves missing names to its own
    from pipeline.timeline import AudioItem, Word, load_inputs
except ImportError:
    from pipeline.adapters.inputs import load_inputs
    from pipeline.model.timeline import AudioItem, Word
clip, voice, words, out = sys.argv[1], sys.argv[2], sys.argv[3:-1], sys.argv[-1]
tl = load_inputs([clip])
ws = [Word(t, F(3, 10) + F(i, 4), F(3, 10) + F(i, 4) + F(1, 5)) for i, t in enumerate(words)]
tl.track("voiceover").items.append(AudioItem(source=voice, start=F(0), in_point=F(0), out_point=F(3), words=ws))
tl.save(out)
"""


def captions(kind: str) -> Case:
    said = " ".join(HOSTILE_WORDS)

    def setup(ctx: Ctx) -> None:
        ff = ffmpeg_exe()
        subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", "color=black:s=320x180:d=3", "-f", "lavfi", "-i",
                        "sine=d=3", "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                        str(ctx.work / "black.mp4")], check=True)
        subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", "sine=f=300:r=48000:d=3", str(ctx.work / "voice.wav")],
                       check=True)
        subprocess.run([sys.executable, "-c", BUILD, str(ctx.work / "black.mp4"), str(ctx.work / "voice.wav"),
                        *HOSTILE_WORDS, str(ctx.work / "hostile.timeline.json")], check=True, cwd=ctx.work,
                       env=ctx.env(), capture_output=True, timeout=60)

    def verify(ctx: Ctx, r: Result) -> str | None:
        path = ctx.work / "out" / f"hostile.web-preview.{kind}"
        if not path.is_file():
            return f"no {path.name}"
        blocks = [b.splitlines() for b in re.split(r"\n\s*\n", path.read_text(encoding="utf-8").strip()) if b.strip()]
        if kind == "srt":
            got = " ".join(" ".join(b[2:]) for b in blocks)
            return None if got == said else f"the SubRip text reads {got!r}"
        lines = [ln for b in blocks[1:] for ln in b[1:]]
        bad = [ln for ln in lines if "-->" in ln or "<" in ln or ">" in ln or re.search(r"&(?!amp;|lt;|gt;)", ln)]
        got = " ".join(html.unescape(ln) for ln in lines)
        return f"unescaped WebVTT cue text {bad[:2]}" if bad else (None if got == said else f"the WebVTT text reads {got!r}")

    return Case("11", f"hostile words in the .{kind}", ["export", "hostile.timeline.json", "-p", "web-preview",
                                                        "--captions", "--speed", "ultrafast", "-o", "out"],
                expect="ok", setup=setup, verify=verify, timeout=120)


# ---- 12: cache folder ---------------------------------------------------------------------------
def cache_cases() -> list[Case]:
    cases = []
    for where in ("file", "below-file"):
        for what, args in (("check", ["check", "clip.mp4"]),
                           ("reframe", ["reframe", "clip.mp4", "--aspect", "9:16", "--mode", "smart", "-o", "v.mp4"])):
            def setup(ctx: Ctx, where: str = where) -> None:
                clips(ctx)
                (ctx.work / "cache-file").write_text("not a folder")
                ctx.extra_env["REELFORGE_CACHE"] = str(ctx.work / "cache-file") + ("/reelforge" if where != "file" else "")

            cases.append(Case("12", f"cache is a {where}: {what}", args, names=("cache-file",), setup=setup,
                              outputs=("v.mp4",), verify=lambda ctx, r: _tmp_left(ctx)))
    return cases


def _tmp_left(ctx: Ctx) -> str | None:
    left = [p.name for p in ctx.work.rglob("*.tmp*")]
    return f"temporary files left: {left}" if left else None


# ---- 17: doctor ------------------------------------------------------------------------------
def doctor(kind: str) -> Case:
    def drive(ctx: Ctx) -> Result:
        fake = ctx.work / "ffmpeg"
        body = {"hangs": "sleep 100000 &\nwait\n", "fails": "exit 1\n", "prints junk": "echo 'not ffmpeg at all'\n"}[kind]
        fake.write_text("#!/bin/sh\n" + body)
        fake.chmod(0o755)
        proc = ctx.start(["doctor"], env={"REELFORGE_FFMPEG": str(fake)})
        r = finish(proc, 40)
        kill_group(proc)  # whatever the fake left running
        return r

    return Case("17", f"doctor: REELFORGE_FFMPEG {kind}", expect="either", names=("ffmpeg",), drive=drive, timeout=40,
                on_exit1=lambda ctx, r: None if "ffmpeg" in r.stdout + r.stderr else "exit 1 without naming ffmpeg")


# ---- 18: user presets ----------------------------------------------------------------------------
def preset_cases() -> list[Case]:
    def with_presets(**tomls: str) -> Callable[[Ctx], None]:
        def setup(ctx: Ctx) -> None:
            clips(ctx)
            folder = ctx.work / "presets"
            folder.mkdir()
            (folder / "tiny.toml").write_text((ctx.root / "presets" / "tiny.toml").read_text())
            for name, text in tomls.items():
                (folder / f"{name}.toml").write_text(text)
            ctx.extra_env["REELFORGE_PRESETS"] = str(folder)
        return setup

    extend = 'name = "tiktok"\nextends = "tiktok"\ndescription = "mine"\ncrf = 30\n'
    broken = 'name = "broken"\nthis is not toml ===\n'
    loud = 'name = "loud"\nextends = "web-preview"\ndescription = "too loud"\nloudness_lufs = 20\n'
    return [
        Case("18", "user tiktok extends built-in: show", ["presets", "show", "tiktok"], expect="ok",
             setup=with_presets(tiktok=extend)),
        Case("18", "user tiktok extends built-in: export", ["export", "clip.mp4", "-p", "tiktok", "--dry-run", "-o", "out"],
             expect="ok", setup=with_presets(tiktok=extend)),
        Case("18", "a broken preset beside: export tiny", ["export", "clip.mp4", "-p", "tiny", "-o", "out"], expect="ok",
             setup=with_presets(broken=broken), verify=media_at("out")),
        Case("18", "a broken preset beside: presets list", ["presets", "list"], expect="ok", setup=with_presets(broken=broken)),
        Case("18", "the broken preset itself", ["export", "clip.mp4", "-p", "broken", "-o", "out"], names=("broken",),
             setup=with_presets(broken=broken), outputs=("out",)),
        Case("18", "loudness_lufs = 20", ["export", "clip.mp4", "-p", "loud", "-o", "out"], names=("loud",),
             setup=with_presets(loud=loud), outputs=("out",)),
    ]


# ---- 19: non-ASCII prompts -----------------------------------------------------------------------
DRAW = """
import numpy as np
from pipeline.providers import local
draw = getattr(local, "prompt_overlay", None) or getattr(local, "_caption")
def band(text):
    img = draw(text, 1280, 720)
    return np.asarray(img[0] if isinstance(img, tuple) else img)
def as_marks(t):  # one '?' per character, or per UTF-8 byte as OpenCV's Hershey fonts draw them
    return {"".join(c if c.isascii() else "?" * n for c in t) for n in (1, 2, 3)} | {
        "".join(c if c.isascii() else "?" * len(c.encode()) for c in t)}
same = [any(np.array_equal(band(t), band(m)) for m in as_marks(t)) for t in ("Ωμέγα", "東京の夜", "café")]
print("drawn as ? for", [t for t, s in zip(("Ωμέγα", "東京の夜", "café"), same) if s])
raise SystemExit(1 if any(same) else 0)
"""


def non_ascii() -> list[Case]:
    """The local provider's prompt text, at its drawing function (the generated frames differ
    by prompt anyway: the background is seeded by it), then a generation through the CLI."""
    def drive(ctx: Ctx) -> Result:
        proc = subprocess.Popen([sys.executable, "-c", DRAW], cwd=ctx.work, env=ctx.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        r = finish(proc, 60)
        if r.code == 1:
            r.problem = r.stdout.strip()
        return r

    return [Case("19", "prompt text drawn as glyphs", expect="ok", drive=drive),
            Case("19", "generate with a non-ASCII prompt", ["generate", "--provider", "local", "--prompt",
                                                            "Ωμέγα 東京の夜 café", "--duration", "4", "-o", "shot.mp4"],
                 expect="ok", verify=media_at("shot.mp4"), outputs=("shot.mp4",))]


# ---- the real corpus --------------------------------------------------------------------------
CORPUS_FILES = ["SAR-2by3.mp4", "h264-mjpeg.mp4", "testsrc-hevc.mp4", "test_yuv422p.mp4", "mov_text.mp4", "testsrc.mkv",
                "mono.mp3", "new-commentary.mp3", "alac.m4a"]


def corpus_cases(corpus: Path) -> list[Case]:
    cases = []
    for name in CORPUS_FILES:
        src = str(corpus / name)
        for what, args in (("probe", ["probe", src, "--json"]), ("check", ["check", src, "--json"]),
                           ("stitch", ["stitch", src, src, "-t", "fade:0.5", "-o", "s.timeline.json"]),
                           ("export", ["export", src, "-p", "tiny", "-o", "out"])):
            cases.append(Case("corpus", f"{what} {name}", args, expect="either", names=(name, "video"),
                              on_exit1=(lambda ctx, r: None) if what == "check" else None, timeout=90,
                              needs=lambda ctx, src=src: Path(src).is_file()))
    return cases


def cases(corpus: Path) -> list[Case]:
    keys = [keys_case("kling", "kling: echoed in every field", "a kite over the sea"),
            keys_case("kling", "kling: failed task", "[fail] a kite"),
            keys_case("kling", "kling: echoed in the status", "a kite at dusk", "status"),
            keys_case("kling", "kling: key at the cut of an error body", "a kite at noon", "cut"),
            keys_case("kling", "kling: wrong secret", "a kite again", "bad-secret"),
            keys_case("sora", "sora: echoed in every field", "a kite over the sea"),
            keys_case("sora", "sora: failed video", "[fail] a kite"),
            keys_case("sora", "sora: echoed in the status", "a kite at dusk", "status"),
            keys_case("sora", "sora: key at the cut of an error body", "a kite at noon", "cut"),
            speech_not_audio()]
    return (keys + [paid_once("kling"), paid_once("sora"), interrupted(signal.SIGINT), interrupted(signal.SIGTERM),
                    interrupted(signal.SIGINT, "run"), interrupted(signal.SIGTERM, "run"),
                    quiet(corpus, "tiktok", -14.0), quiet(corpus, "web-preview", -16.0), captions("srt"),
                    captions("vtt")] + cache_cases() + [doctor("hangs"), doctor("fails"), doctor("prints junk")]
            + preset_cases() + non_ascii() + corpus_cases(corpus))
