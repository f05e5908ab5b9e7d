"""A census of hostile input: run each case of tests/bench/hostile_cases*.py through the real
command line of a source tree (`python -m pipeline ...` with PYTHONPATH=TREE, cwd in a fresh
folder, its own cache, a timeout and a 4 GB address-space limit) and count, per category of
the hostile-input sweep, the cases tried and the cases handled cleanly.

Handled cleanly is the contract: exit 0 with a correct result, or exit 2 with one line on
stderr naming the file or option; never a traceback or an internal error, nothing
half-written at an output path, no file of the user's changed, no secret in any output or
in the cache. A case that needs an option or command the tree does not have is n/a.

    python -m tests.bench.hostile_census --tree /path/to/checkout [--json] [--only 3,8] [--jobs 2]
    python -m tests.bench.hostile_census --compare before.json after.json    # the markdown table
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

MEMORY_LIMIT = 4 << 30
NA_MARKERS = ("No such option", "No such command", "Got unexpected extra argument")
PROGRESS = re.compile(r"^\S+ \S+ [\d.]+ s \d+x\d+: about \$|^(\S.* \(dry run\)|\S+): \d+ step\(s\)$|^\[\d+/\d+\] .*: (running|cached|done|skipped.*)$|^  \S+: \{")
SECRET_ENV = ("OPENAI_API_KEY", "KLING_ACCESS_KEY", "KLING_SECRET_KEY", "ELEVENLABS_API_KEY", "FAL_KEY",
              "REPLICATE_API_TOKEN")
CATEGORIES = {
    "1": "pipeline-file outputs over inputs and user files", "2": "schema -o overwrite",
    "3": "YAML bombs, size, nesting", "4": "keys leaking from echoing servers", "5": "names read as protocols",
    "6": "concurrent runs pay twice", "7": "interrupted generation", "8": "quiet footage loudness",
    "9": "absurd values", "10": "edited timelines", "11": "caption files", "12": "cache folder",
    "13": "run errors", "14": "names escaping the out folder", "15": "variants sharing a name",
    "16": "output extensions", "17": "doctor with a hanging ffmpeg", "18": "user presets",
    "19": "non-ASCII prompts (local provider)", "corpus": "real corpus through every command",
}


@dataclass
class Result:
    code: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    problem: str | None = None  # what a case's own driver found wrong (paid twice, debris...)


@dataclass
class Ctx:
    """One case's world: its working folder (cwd, the user's files), its cache, the tree."""

    tree: Path
    root: Path  # shared across cases: ready-made media and presets
    work: Path
    cache: Path
    secrets: set[str] = field(default_factory=set)
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, more: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV and not k.startswith("REELFORGE_")}
        env.update({"PYTHONPATH": str(self.tree), "REELFORGE_CACHE": str(self.cache),
                    "REELFORGE_PRESETS": str(self.root / "presets"), "XDG_CONFIG_HOME": str(self.work.parent / "config"),
                    "REELFORGE_HTTP_BACKOFF": "0.05", "REELFORGE_POLL_INTERVAL": "0.02", "PYTHONUNBUFFERED": "1"})
        env.update(self.extra_env)
        env.update(more or {})
        return env

    def start(self, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=self.work, env=self.env(env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                                stdin=subprocess.DEVNULL, preexec_fn=_limits, start_new_session=True)

    def run(self, args: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        return finish(self.start(args, env), timeout)


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def finish(proc: subprocess.Popen, timeout: float, t0: float | None = None) -> Result:
    t0 = time.monotonic() if t0 is None else t0
    try:
        out, err = proc.communicate(timeout=timeout)
        return Result(proc.returncode, out, err, time.monotonic() - t0)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return Result(None, out, err, time.monotonic() - t0, timed_out=True)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class Case:
    cat: str
    name: str
    args: list[str] = field(default_factory=list)
    expect: str = "refuse"  # refuse: exit 2 in one line; ok: exit 0 and verify; either: one of them
    names: tuple[str, ...] = ()  # the error line names one of these
    setup: Callable[[Ctx], None] | None = None
    verify: Callable[[Ctx, Result], str | None] | None = None  # a problem with an exit 0, or None
    on_exit1: Callable[[Ctx, Result], str | None] | None = None  # exit 1 is clean when this returns None
    outputs: tuple[str, ...] = ()  # nothing there after a refusal
    may_change: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 60
    drive: Callable[[Ctx], Result] | None = None  # a case that is more than one command line
    needs: Callable[[Ctx], bool] | None = None  # False: the case does not apply to this tree (n/a)
    unreachable: str = ""  # stderr text meaning this tree stops before the case's scenario (n/a)


@dataclass
class Verdict:
    cat: str
    name: str
    status: str  # clean, not clean, n/a
    why: str
    seconds: float
    command: str
    output: str


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def leaks(secrets: set[str], texts: list[str], folders: list[Path]) -> list[str]:
    found = []
    blobs = [("output", t.encode()) for t in texts]
    for folder in folders:
        blobs += [(str(p.relative_to(folder.parent)), p.read_bytes()) for p in folder.rglob("*") if p.is_file()]
    for secret in sorted(s for s in secrets if len(s) >= 6):
        found += [f"{secret[:6]}... in {where}" for where, blob in blobs if secret.encode() in blob]
    return found


def judge(case: Case, ctx: Ctx, before: dict[str, str], r: Result) -> tuple[str, str]:
    text = r.stdout + r.stderr
    if r.timed_out:
        return "not clean", f"timed out after {case.timeout:g} s"
    if r.problem:
        return "not clean", r.problem
    if r.code == 2 and any(m in r.stderr for m in NA_MARKERS):
        return "n/a", r.stderr.strip().splitlines()[-1]
    if case.unreachable and case.unreachable in r.stderr:
        return "n/a", r.stderr.strip().splitlines()[-1]
    if "Traceback" in text or "internal error" in text:
        return "not clean", "traceback or internal error"
    after = snapshot(ctx.work)
    changed = [k for k, h in before.items() if k not in case.may_change and after.get(k) != h]
    if changed:
        return "not clean", f"user file changed or removed: {', '.join(changed[:3])}"
    found = leaks(ctx.secrets, [r.stdout, r.stderr], [ctx.cache, ctx.work])
    if found:
        return "not clean", "secret leaked: " + "; ".join(found[:3])
    if r.code == 2:
        lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip() and not PROGRESS.match(ln)]
        if case.expect == "ok":
            return "not clean", "refused a valid case: " + (lines[-1] if lines else "")
        if len(lines) != 1:
            return "not clean", f"exit 2 with {len(lines)} lines on stderr"
        if case.names and not any(n in lines[0] for n in case.names):
            return "not clean", f"the error names none of {case.names}"
        left = [o for o in case.outputs if o not in before and _written(ctx.work / o)]
        if left:
            return "not clean", f"left at an output path: {', '.join(left)}"
        return "clean", ""
    if r.code == 0:
        problem = case.verify(ctx, r) if case.verify else None
        if problem:
            return "not clean", problem
        if case.expect == "refuse":
            return "not clean", "exit 0 where a refusal was due"
        return "clean", ""
    if r.code == 1 and case.on_exit1 is not None:
        problem = case.on_exit1(ctx, r)
        return ("not clean", problem) if problem else ("clean", "")
    return "not clean", f"exit {r.code}"


def _written(path: Path) -> bool:
    return path.is_file() or (path.is_dir() and any(p.is_file() for p in path.rglob("*")))


def run_case(case: Case, tree: Path, root: Path, index: int) -> Verdict:
    base = root / f"case-{index:03d}"
    ctx = Ctx(tree, root, base / "work", base / "cache")
    ctx.work.mkdir(parents=True)
    command = "python -m pipeline " + " ".join(_quote(a) for a in case.args)
    try:
        if case.needs is not None and not case.needs(ctx):
            return Verdict(case.cat, case.name, "n/a", "not in this tree", 0.0, command, "")
        if case.setup is not None:
            case.setup(ctx)
        before = snapshot(ctx.work)
        r = case.drive(ctx) if case.drive else ctx.run(case.args, case.env, case.timeout)
        status, why = judge(case, ctx, before, r)
    except Exception as exc:  # noqa: BLE001 - a broken case is reported, not fatal to the census
        return Verdict(case.cat, case.name, "n/a", f"case could not run: {exc!r}"[:300], 0.0, command, "")
    finally:
        _chmod_back(base)
    output = (r.stdout[-1500:] + "\n--- stderr ---\n" + r.stderr[-2500:]).strip()
    return Verdict(case.cat, case.name, status, why, r.seconds, command, output)


def _chmod_back(base: Path) -> None:
    for p in base.rglob("*"):
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def all_cases(corpus: Path) -> list[Case]:
    from tests.bench import hostile_cases, hostile_cases_more

    return hostile_cases.cases() + hostile_cases_more.cases(corpus)


def census(tree: Path, only: set[str] | None = None, names: set[str] | None = None, jobs: int = 2,
           progress: bool = True) -> list[Verdict]:
    from tests.bench.hostile_cases import prepare

    corpus = Path(os.environ.get("REELFORGE_TEST_MEDIA", Path(__file__).resolve().parents[3] / "shared" / "media")) / "corpus"
    cases = [c for c in all_cases(corpus) if (not only or c.cat in only) and (not names or c.name in names)]
    root = Path(tempfile.mkdtemp(prefix="reelforge-census-"))
    try:
        prepare(root, tree)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(run_case, c, tree, root, i) for i, c in enumerate(cases)]
            verdicts = []
            for f in futures:
                v = f.result()
                verdicts.append(v)
                if progress:
                    print(f"[{len(verdicts)}/{len(cases)}] {v.cat:>6} {v.name:<40} {v.status:<9} {v.seconds:5.1f}s "
                          f"{v.why[:90]}", file=sys.stderr, flush=True)
        return verdicts
    finally:
        shutil.rmtree(root, ignore_errors=True)


def table(verdicts: list[Verdict]) -> list[dict[str, object]]:
    rows = []
    for cat, title in CATEGORIES.items():
        mine = [v for v in verdicts if v.cat == cat]
        if not mine:
            continue
        tried = [v for v in mine if v.status != "n/a"]
        rows.append({"category": cat, "title": title, "tried": len(tried),
                     "clean": sum(v.status == "clean" for v in tried), "n/a": len(mine) - len(tried)})
    return rows


def compare(before: Path, after: Path) -> str:
    """The markdown table of two --json censuses: per category, cases tried and clean in each."""
    docs = [json.loads(p.read_text()) for p in (before, after)]
    rows = [{r["category"]: r for r in d["table"]} for d in docs]
    out = ["| category | tried before | clean before | tried after | clean after |", "| --- | ---: | ---: | ---: | ---: |"]
    totals = [0, 0, 0, 0]
    for cat, title in CATEGORIES.items():
        b, a = rows[0].get(cat), rows[1].get(cat)
        if not a:
            continue
        b = b or {"tried": 0, "clean": 0}
        cells = [b["tried"], b["clean"], a["tried"], a["clean"]]
        out.append(f"| {cat} {title} | " + " | ".join(map(str, cells)) + " |")
        totals = [t + c for t, c in zip(totals, cells)]
    out.append("| **total** | " + " | ".join(f"**{t}**" for t in totals) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=Path, help="a checkout of the repository to measure")
    ap.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE.json", "AFTER.json"),
                    help="print the markdown table of two --json censuses instead")
    ap.add_argument("--json", action="store_true", help="print every verdict and the table as JSON")
    ap.add_argument("--only", default="", help="categories to run, comma-separated (e.g. 3,8,corpus)")
    ap.add_argument("--case", default="", help="case names to run, comma-separated")
    ap.add_argument("--jobs", type=int, default=2, help="cases at once (default 2)")
    a = ap.parse_args(argv)
    if a.compare:
        print(compare(*a.compare))
        return 0
    if a.tree is None:
        ap.error("--tree is required")
    only = {c for c in a.only.split(",") if c} or None
    names = {c for c in a.case.split(",") if c} or None
    t0 = time.monotonic()
    verdicts = census(a.tree.resolve(), only, names, a.jobs)
    rows = table(verdicts)
    if a.json:
        print(json.dumps({"tree": str(a.tree), "seconds": round(time.monotonic() - t0, 1), "table": rows,
                          "cases": [v.__dict__ for v in verdicts]}, indent=1))
        return 0
    print(f"{'category':<52} {'tried':>5} {'clean':>5} {'n/a':>4}")
    for row in rows:
        print(f"{row['category'] + ' ' + str(row['title']):<52} {row['tried']:>5} {row['clean']:>5} {row['n/a']:>4}")
    print(f"{'total':<52} {sum(r['tried'] for r in rows):>5} {sum(r['clean'] for r in rows):>5} "
          f"{sum(r['n/a'] for r in rows):>4}   ({time.monotonic() - t0:.0f} s)")
    for v in verdicts:
        if v.status == "not clean":
            print(f"\nNOT CLEAN [{v.cat}] {v.name}: {v.why}\n  $ {v.command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
