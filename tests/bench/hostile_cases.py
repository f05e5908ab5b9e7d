"""Hostile cases of the census that need only files: pipeline outputs (1), schema -o (2),
YAML bombs (3), protocol names (5), absurd values (9), edited timelines (10), run errors
(13), names (14), variants (15) and output extensions (16)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from tests.bench.hostile_census import Case, Ctx, Result
from tests.media import ffmpeg, make_clip, write_preset
from tests.test_hostile import EDITS as HOSTILE_EDITS

PROTOCOL_NAMES = ("file:z.mp4", "x:y.mp4", "concat:a|b.mp4")


def prepare(root: Path, tree: Path) -> None:
    """Media and presets every case copies from; a timeline stitched by the tree itself."""
    media = root / "media"
    media.mkdir(parents=True)
    write_preset(root / "presets", "tiny", crf=35, audio_bitrate="64k", loudness_lufs=-16.0)
    make_clip(media / "clip.mp4", duration=1.0, audio=True, tone=440)
    make_clip(media / "clip2.mp4", duration=1.0, audio=True, tone=660)
    ffmpeg("-f", "lavfi", "-i", "sine=d=2", "-c:a", "aac", str(media / "tone.m4a"))
    from tests.media import protocol_named_clips

    protocol_named_clips(root / "proto")
    env = {"PYTHONPATH": str(tree), "REELFORGE_CACHE": str(root / "cache"), "PATH": __import__("os").environ["PATH"]}
    subprocess.run([sys.executable, "-m", "pipeline", "stitch", str(media / "clip.mp4"), str(media / "clip2.mp4"),
                    "-t", "fade:0.4", "-o", str(root / "base.timeline.json")], cwd=root, env=env, check=True,
                   capture_output=True, timeout=120)


# ---- setups and checks -------------------------------------------------------------------
def clips(ctx: Ctx) -> None:
    for name in ("clip.mp4", "clip2.mp4"):
        shutil.copyfile(ctx.root / "media" / name, ctx.work / name)


def files(**texts: str | bytes) -> Callable[[Ctx], None]:
    """Clips, plus files of these contents (names with / as __)."""
    def setup(ctx: Ctx) -> None:
        clips(ctx)
        for name, text in texts.items():
            path = ctx.work / name.replace("__", "/").replace("_DOT_", ".")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return setup


def probe(path: Path) -> dict[str, Any] | None:
    import av

    try:
        with av.open(str(path)) as c:
            v = c.streams.video[0] if c.streams.video else None
            frames = sum(1 for _ in c.decode(video=0)) if v else 0
            return {"format": c.format.name, "duration": (c.duration or 0) / 1e6, "frames": frames,
                    "width": v.width if v else 0, "audio": bool(c.streams.audio)}
    except Exception:  # noqa: BLE001 - not media
        return None


def media_at(rel: str, frames: int | None = None, fmt: str | None = None,
             duration: float | None = None) -> Callable[[Ctx, Result], str | None]:
    def verify(ctx: Ctx, r: Result) -> str | None:
        paths = sorted((ctx.work / rel).glob("*.mp4")) if (ctx.work / rel).is_dir() else [ctx.work / rel]
        if not paths or not paths[0].is_file():
            return f"exit 0 but no file at {rel}"
        info = probe(paths[0])
        if not info or info["frames"] < 1:
            return f"{paths[0].name} has no picture ({paths[0].stat().st_size} bytes)"
        if frames is not None and info["frames"] != frames:
            return f"{paths[0].name} has {info['frames']} frames, want {frames}"
        if fmt is not None and fmt not in info["format"]:
            return f"{paths[0].name} is {info['format']}, not {fmt}"
        if duration is not None and abs(info["duration"] - duration) > 0.3:
            return f"{paths[0].name} lasts {info['duration']:.2f} s, want {duration:g} (the decoy?)"
        return None
    return verify


def json_at(rel: str | None = None) -> Callable[[Ctx, Result], str | None]:
    def verify(ctx: Ctx, r: Result) -> str | None:
        try:
            json.loads((ctx.work / rel).read_text() if rel else r.stdout)
        except (OSError, ValueError) as exc:
            return f"no JSON document: {exc}"
        return None
    return verify


def run_yaml(name: str, text: str, *extra: str, expect: str = "refuse", names: tuple[str, ...] = (),
             outputs: tuple[str, ...] = (), cat: str = "1", **more: Any) -> Case:
    return Case(cat, name, ["run", "p.yaml", *extra], expect=expect, names=names or ("p.yaml",),
                setup=files(p_DOT_yaml=text, **more.pop("files", {})), outputs=outputs, **more)


# ---- 1, 2: outputs ---------------------------------------------------------------------
def outputs() -> list[Case]:
    cases = []
    over_input = {"report-over-input": "check: {report: clip.mp4, warn: true}",
                  "path_out-over-input": 'reframe: {aspect: "1:1", mode: center, path_out: clip.mp4}',
                  "preview-over-input": 'reframe: {aspect: "1:1", mode: center, preview: clip.mp4}'}
    for name, step in over_input.items():
        for extra in ((), ("--overwrite",)):
            cases.append(run_yaml(name + "".join(extra), f"inputs: [clip.mp4]\nsteps:\n  - {step}\n", *extra,
                                  names=("clip.mp4",)))
    cases.append(Case("1", "export-over-input", ["run", "p.yaml", "--overwrite"], names=("clip.tiny.mp4", "p.yaml"),
                      setup=lambda c: (clips(c), shutil.copyfile(c.work / "clip.mp4", c.work / "clip.tiny.mp4"),
                                       (c.work / "p.yaml").write_text("inputs: [clip.tiny.mp4]\nsteps:\n"
                                                                     "  - export: {presets: [tiny], dir: ., name: clip}\n"))))
    users = {"mine.html": 'reframe: {aspect: "1:1", mode: center, path_out: mine.html}',
             "up.mp4": 'reframe: {aspect: "1:1", mode: center, preview: up.mp4}',
             "notes.txt": "check: {report: notes.txt, warn: true}",
             "mine.tiny.mp4": "export: {presets: [tiny], dir: ., name: mine}"}
    for target, step in users.items():
        key = target.replace(".", "_DOT_")
        cases.append(run_yaml(f"users-{target}", f"inputs: [clip.mp4]\nsteps:\n  - {step}\n", names=(target,),
                              files={key: "the user's own file\n"}))
    cases.append(run_yaml("users-notes.txt --overwrite", "inputs: [clip.mp4]\nsteps:\n  - check: {report: notes.txt, warn: true}\n",
                          "--overwrite", expect="ok", files={"notes_DOT_txt": "mine\n"}, may_change=("notes.txt",)))
    cases.append(run_yaml("report-over-pipeline-file", "inputs: [clip.mp4]\nsteps:\n  - check: {report: p.yaml, warn: true}\n",
                          "--overwrite"))
    cases.append(run_yaml("two-steps-one-file", "inputs: [clip.mp4]\nsteps:\n"
                          '  - reframe: {aspect: "1:1", mode: center, path_out: same.json}\n'
                          "  - check: {report: same.json, warn: true}\n", names=("same.json", "check.report"),
                          outputs=("same.json",)))
    cases += [
        Case("2", "schema-o-existing", ["schema", "-o", "mine.json"], names=("mine.json",), setup=files(mine_DOT_json="mine")),
        Case("2", "schema-o-new", ["schema", "-o", "new.json"], expect="ok", verify=json_at("new.json")),
        Case("2", "schema-o-existing --overwrite", ["schema", "-o", "mine.json", "--overwrite"], expect="ok",
             setup=files(mine_DOT_json="mine"), may_change=("mine.json",), verify=json_at("mine.json")),
    ]
    return cases


# ---- 3: YAML bombs -------------------------------------------------------------------------
def alias_bomb(levels: int) -> str:
    lines = ["vars:", "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines + ["steps: []"]) + "\n"


def yaml_bombs() -> list[Case]:
    texts = {
        "alias-bomb-8": alias_bomb(8), "alias-bomb-9": alias_bomb(9),
        "deep-flow-100k": "vars: {x: " + "[" * 100_000 + "]" * 100_000 + "}\nsteps: []\n",
        "deep-block-200": "vars:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(200)) + "steps: []\n",
        "huge-2.5MB": "vars:\n" + "".join(f"  v{i}: {'x' * 60}\n" for i in range(40_000)) + "steps: []\n",
    }
    cases = [run_yaml(name, text, "--dry-run", cat="3", timeout=30) for name, text in texts.items()]
    cases.append(run_yaml("small-aliases-work", "vars:\n  base: &base {presets: [tiny], dir: out}\n"
                          "inputs: [clip.mp4]\nsteps:\n  - export: *base\n", "--dry-run", cat="3", expect="ok"))
    return cases


# ---- 5: names that ffmpeg would read as protocols ---------------------------------------------
def protocols() -> list[Case]:
    def setup(ctx: Ctx) -> None:
        for p in (ctx.root / "proto").iterdir():
            shutil.copyfile(p, ctx.work / p.name)

    def plain_seen(ctx: Ctx, r: Result) -> str | None:
        durations: list[float] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    if k in ("duration", "duration_s") and isinstance(v, (int, float)):
                        durations.append(float(v))
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            return "stdout is not one JSON document"
        walk(doc)
        if isinstance(doc, dict) and "av_offset_ms" in doc:  # check: the plain clip's sound is 200 ms early
            offset = doc["av_offset_ms"]
            if not isinstance(offset, (int, float)) or abs(offset - 200) > 50:
                return f"measured the wrong file (offset {offset} ms, want about 200)"
        if any(abs(d - 2.0) < 0.2 for d in durations) or not any(abs(d - 4.0) < 0.3 for d in durations):
            return f"measured the wrong file (durations {durations[:4]})"
        return None

    cases = []
    for name in PROTOCOL_NAMES:
        cases += [
            Case("5", f"probe {name}", ["probe", name, "--json"], expect="ok", setup=setup, verify=plain_seen),
            Case("5", f"check {name}", ["check", name, "--json"], expect="ok", setup=setup, verify=plain_seen,
                 on_exit1=plain_seen),  # exit 1: a check that found the 200 ms offset
            Case("5", f"stitch {name}", ["stitch", name, name, "-o", "s.mp4"], expect="ok", setup=setup,
                 verify=media_at("s.mp4", duration=8.0), outputs=("s.mp4",)),
            Case("5", f"export {name}", ["export", name, "-p", "tiny", "-o", "out"], expect="ok", setup=setup,
                 verify=media_at("out", duration=4.0), outputs=("out",)),
        ]
    return cases


# ---- 9: absurd values ------------------------------------------------------------------------
def absurd() -> list[Case]:
    two = ["clip.mp4", "clip2.mp4"]
    table = [
        ("stitch --fps 1/1000000", ["stitch", *two, "--fps", "1/1000000", "-o", "s.mp4"], "--fps"),
        ("stitch --fps 0", ["stitch", *two, "--fps", "0", "-o", "s.mp4"], "--fps"),
        ("stitch --fps 100000", ["stitch", *two, "--fps", "100000", "-o", "s.mp4"], "--fps"),
        ("stitch -t fade:1e400", ["stitch", *two, "-t", "fade:1e400", "-o", "s.mp4"], "--transition"),
        ("stitch -t fade:nan", ["stitch", *two, "-t", "fade:nan", "-o", "s.mp4"], "--transition"),
        ("stitch -t fade:-1", ["stitch", *two, "-t", "fade:-1", "-o", "s.mp4"], "--transition"),
        ("music --original-audio-db 1e308", ["music", "clip.mp4", "--track", "clip2.mp4", "--original-audio-db", "1e308",
                                             "-o", "s.mp4"], "--original-audio-db"),
        ("music --gain-db nan", ["music", "clip.mp4", "--track", "clip2.mp4", "--gain-db", "nan", "-o", "s.mp4"], "--gain-db"),
        ("music --duck-db -1e9", ["music", "clip.mp4", "--track", "clip2.mp4", "--duck-db", "-1e9", "-o", "s.mp4"], "--duck-db"),
        ("voiceover --at -50", ["voiceover", "clip.mp4", "--audio", "clip2.mp4", "--at", "-50", "-o", "s.mp4"], "--at"),
        ("export --thumbnail-at 1e9", ["export", "clip.mp4", "-p", "tiny", "--thumbnail-at", "1e9", "-o", "out"],
         "--thumbnail-at"),
        ("generate --duration 1e9", ["generate", "--provider", "local", "--prompt", "x", "--duration", "1e9", "-o", "s.mp4"],
         "--duration"),
        ("generate --duration -1", ["generate", "--provider", "local", "--prompt", "x", "--duration", "-1", "-o", "s.mp4"],
         "--duration"),
    ]
    out = {"export": ("out",)}
    return [Case("9", name, args, names=(opt,), setup=clips, outputs=out.get(args[0], ("s.mp4",)), timeout=45,
                 verify=media_at("out" if args[0] == "export" else "s.mp4")) for name, args, opt in table]


# ---- 10: edited timelines ----------------------------------------------------------------------
# The edits tests/test_hostile.py makes; the census asks only that the one error line names
# the edited field, in words any tree's version may use ("@audio" is the tone's path here).
NAMED = {"audio-as-picture": "tone.m4a", "unknown-colour": "hue", "wrong-shape": "timeline"}
EDITS: dict[str, tuple[Callable[[dict], None], str]] = {
    name: (change, NAMED.get(name, word)) for name, (change, word) in HOSTILE_EDITS.items()}


def edited() -> list[Case]:
    def setup_for(change: Callable[[dict], None] | None, raw: str | None = None) -> Callable[[Ctx], None]:
        def setup(ctx: Ctx) -> None:
            if raw is not None:
                (ctx.work / "edited.timeline.json").write_text(raw)
                return
            doc = json.loads((ctx.root / "base.timeline.json").read_text())
            if change is not None:
                change(doc)
            if doc["video"][0].get("source") == "@audio":
                doc["video"][0]["source"] = str(ctx.root / "media" / "tone.m4a")
            (ctx.work / "edited.timeline.json").write_text(json.dumps(doc))
        return setup

    args = ["export", "edited.timeline.json", "-p", "tiny", "-o", "out"]
    cases = [Case("10", name, args, names=(word,), setup=setup_for(change), outputs=("out",), timeout=40)
             for name, (change, word) in EDITS.items()]
    deep = '{"schema": "reelforge.timeline", "version": 1, "meta": ' + "[" * 100_000 + "]" * 100_000 + "}"
    cases.append(Case("10", "deep-json", args, names=("edited.timeline.json",), setup=setup_for(None, deep),
                      outputs=("out",)))
    cases.append(Case("10", "unchanged-still-exports", args, expect="ok", setup=setup_for(None),
                      verify=media_at("out", frames=48)))
    return cases


# ---- 13, 14, 15: run -------------------------------------------------------------------------
LONG_FADE = ('inputs: [clip.mp4, clip2.mp4]\nsteps:\n  - stitch: {transition: "fade:30"}\n'
             "  - export: {presets: [tiny], dir: out}\n")


def _json_error(ctx: Ctx, r: Result) -> str | None:
    try:
        return None if json.loads(r.stdout).get("error") else "the JSON document has no error"
    except ValueError:
        return "run --json printed no JSON document on failure"


def runs() -> list[Case]:
    cases = [
        run_yaml("dry-run long fade", LONG_FADE, "--dry-run", cat="13", names=("stitch",), outputs=("out",)),
        run_yaml("run long fade", LONG_FADE, cat="13", names=("stitch",), outputs=("out",)),
        run_yaml("run --json long fade", LONG_FADE, "--json", cat="13", names=("stitch",), outputs=("out",)),
        Case("13", "run --json missing file", ["run", "missing.yaml", "--json"], names=("missing.yaml",)),
        run_yaml("preview before refused export", 'inputs: [clip.mp4]\nsteps:\n'
                 '  - reframe: {aspect: "1:1", mode: center, preview: preview.mp4}\n'
                 "  - export: {presets: [tiny], dir: out}\n", cat="13", names=("p.tiny.mp4",),
                 outputs=("preview.mp4",), files={"out__p_DOT_tiny_DOT_mp4": b"mine"},
                 unreachable="no such file 'preview.mp4'"),  # a tree that took the preview for an input
    ]
    for c in cases[2:4]:  # a refusal counts only with its JSON document
        c.drive = _with_json_check(c)
    names = [
        ("run name ../../../x", "name: ../../../x\ninputs: [CLIP]\nsteps:\n  - export: {presets: [tiny], dir: out}\n"),
        ("export name ../../../x", "inputs: [CLIP]\nsteps:\n  - export: {presets: [tiny], dir: out, name: ../../../x}\n"),
        ("run name a/b", "name: a/b\ninputs: [CLIP]\nsteps:\n  - export: {presets: [tiny], dir: out}\n"),
        ("run name ..", "name: ..\ninputs: [CLIP]\nsteps:\n  - export: {presets: [tiny], dir: out}\n"),
        ("variant suffix /../../../x", "inputs: [CLIP]\nsteps:\n  - export: {presets: [tiny], dir: out}\n"
                                       "variants:\n  up: {suffix: /../../../x}\n"),
        ("variant name ../x", "inputs: [CLIP]\nsteps:\n  - export: {presets: [tiny], dir: out}\nvariants:\n  up: {name: ../x}\n"),
        ("name through vars", "vars: {n: ../../x}\nname: ${n}\ninputs: [CLIP]\nsteps:\n  - export: {presets: [tiny], dir: out}\n"),
    ]
    for name, text in names:
        def setup(ctx: Ctx, text: str = text) -> None:
            clips(ctx)
            (ctx.work / "deep" / "er").mkdir(parents=True)
            (ctx.work / "deep" / "er" / "p.yaml").write_text(text.replace("CLIP", str(ctx.work / "clip.mp4")))
        cases.append(Case("14", name, ["run", "deep/er/p.yaml"], names=("name",), setup=setup,
                          verify=_nothing_outside("deep/er/out")))
    variants = {"same suffix": "  a: {suffix: -v}\n  b: {suffix: -v}\n", "same name": "  a: {name: same}\n  b: {name: same}\n",
                "empty suffixes": "  a: {suffix: ''}\n  b: {suffix: ''}\n"}
    for name, v in variants.items():
        cases.append(run_yaml(f"variants {name}", "inputs: [clip.mp4]\nsteps:\n  - export: {presets: [tiny], dir: out}\n"
                              "variants:\n" + v, cat="15", names=("variant",), outputs=("out",)))
    cases.append(run_yaml("variants one report", "inputs: [clip.mp4]\nsteps:\n  - check: {report: r.html, warn: true}\n"
                          "variants:\n  a: {}\n  b: {}\n", cat="15", names=("r.html",)))
    return cases


def _with_json_check(case: Case) -> Callable[[Ctx], Result]:
    def drive(ctx: Ctx) -> Result:
        r = ctx.run(case.args, case.env, case.timeout)
        problem = _json_error(ctx, r) if r.code == 2 else None
        if problem:  # shown as a second stderr line: the refusal is then not clean
            r.stderr += f"\n[census] {problem}"
        return r
    return drive


def _nothing_outside(inside: str) -> Callable[[Ctx, Result], str | None]:
    def verify(ctx: Ctx, r: Result) -> str | None:
        made = [p for p in ctx.work.rglob("*.mp4") if p.name not in ("clip.mp4", "clip2.mp4")]
        outside = [str(p.relative_to(ctx.work)) for p in made if not str(p.relative_to(ctx.work)).startswith(inside)]
        return f"wrote outside the out folder: {outside}" if outside else "exit 0: the name was not refused"
    return verify


# ---- 16: output extensions --------------------------------------------------------------------
def extensions() -> list[Case]:
    gen = ["generate", "--provider", "local", "--prompt", "a red kite", "--duration", "4", "-o"]
    return [
        Case("16", "generate -o x.mkv", [*gen, "x.mkv"], expect="either", names=("x.mkv",), outputs=("x.mkv",),
             verify=media_at("x.mkv", fmt="matroska")),
        Case("16", "generate -o x.mov", [*gen, "x.mov"], expect="either", names=("x.mov",), outputs=("x.mov",),
             verify=media_at("x.mov", fmt="mov")),
        Case("16", "generate -o x.webm", [*gen, "x.webm"], expect="either", names=("x.webm",), outputs=("x.webm",),
             verify=media_at("x.webm", fmt="webm")),
        Case("16", "generate -o x.txt", [*gen, "x.txt"], names=("x.txt",), outputs=("x.txt",)),
        Case("16", "stitch -o x.mkv", ["stitch", "clip.mp4", "clip2.mp4", "-o", "x.mkv"], expect="either",
             names=("x.mkv",), setup=clips, outputs=("x.mkv",), verify=media_at("x.mkv", fmt="matroska")),
    ]


def cases() -> list[Case]:
    return outputs() + yaml_bombs() + protocols() + absurd() + edited() + runs() + extensions()
