"""The hostile-input census (tests/bench/hostile_census.py) measures a tree through its real
command line: three of its cases run against this checkout, and a tree that writes over a
user's file is caught."""

from __future__ import annotations

from pathlib import Path

from tests.bench.hostile_census import Case, census, table

ROOT = Path(__file__).resolve().parents[1]


def test_census_runs_cases_through_the_command_line() -> None:
    picked = {"schema-o-existing", "alias-bomb-9", "users-notes.txt"}
    verdicts = census(ROOT, names=picked, jobs=2, progress=False)
    assert {v.name for v in verdicts} == picked
    assert [v.status for v in verdicts] == ["clean"] * 3, [(v.name, v.why, v.output) for v in verdicts]
    rows = {r["category"]: r for r in table(verdicts)}
    assert {k: (r["tried"], r["clean"]) for k, r in rows.items()} == {"1": (1, 1), "2": (1, 1), "3": (1, 1)}


def test_census_judges_a_changed_user_file_not_clean(tmp_path: Path) -> None:
    from tests.bench.hostile_census import Ctx, Result, judge, snapshot

    ctx = Ctx(ROOT, tmp_path, tmp_path / "work", tmp_path / "cache")
    ctx.work.mkdir()
    (ctx.work / "mine.txt").write_text("mine")
    before = snapshot(ctx.work)
    (ctx.work / "mine.txt").write_text("replaced")
    case = Case("1", "x", expect="ok")
    assert judge(case, ctx, before, Result(0, "", "", 0.1)) == ("not clean", "user file changed or removed: mine.txt")
    refusal = Result(2, "", "error: a.yaml:3: no\nsecond line\n", 0.1)
    assert judge(Case("1", "y"), ctx, snapshot(ctx.work), refusal)[1] == "exit 2 with 2 lines on stderr"
