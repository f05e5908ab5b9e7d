"""The run record and the review page: written by `reelforge run`, rebuilt by `reelforge
review`, served on 127.0.0.1, and looked at in a real browser (Debian's chromium)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.media import write_preset

ROOT = Path(__file__).resolve().parents[1]

# one worker runs this module: the run and the browser are made once (make test: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("review")

# Two tiny presets, one per shape, with safe zones of different sizes on every side.
PRESETS = {
    "tiny-wide": dict(aspect="16:9", width=320, height=180, safe_top=0.10, safe_bottom=0.20, safe_left=0.05,
                      safe_right=0.15),
    "tiny-tall": dict(aspect="9:16", width=180, height=320, safe_top=0.08, safe_bottom=0.22, safe_left=0.06,
                      safe_right=0.14),
}

PIPELINE = """\
name: mini
shots:
  - {id: kite, prompt: "A red kite over the sea", model: kling-v3, provider: local, duration: 3,
     aspect: "16:9", sound: true, seed: 1}
  - {id: sand, prompt: "The kite lands on the sand", model: kling-v3, provider: local, duration: 3,
     aspect: "16:9", seed: 2, continue_from: kite}
steps:
  - stitch: {transition: [fade:0.5]}
  - export: {presets: [tiny-wide, tiny-tall], dir: out, thumbnail: true}
  - check: {warn: true}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A demo-shaped run: two generated shots (the second continues the first), two
    presets, covers, a check of the exported files."""
    project = tmp_path_factory.mktemp("review")
    presets = project / "presets"
    for name, fields in PRESETS.items():
        write_preset(presets, name, crf=32, audio_bitrate="64k", loudness_lufs=-16.0, **fields)
    (project / "mini.yaml").write_text(PIPELINE)
    env = {"REELFORGE_PRESETS": str(presets), "REELFORGE_CACHE": str(tmp_path_factory.getbasetemp() / "cache")}
    proc = run_cli("run", str(project / "mini.yaml"), env=env)
    assert proc.returncode == 0, proc.stderr
    out = project / "out"
    return {"project": project, "out": out, "env": env, "stderr": proc.stderr,
            "record": json.loads((out / "mini.run.json").read_text()), "page": out / "mini.review.html"}


def test_run_writes_the_record_and_page_beside_the_outputs(run: dict) -> None:
    from pipeline.model.media import probe

    out, record = run["out"], run["record"]
    assert run["stderr"].rstrip().endswith(f"review page: {run['page']}")
    (variant,) = record["variants"]
    videos = [o for o in variant["outputs"] if o.get("preset")]
    assert sorted(o["preset"] for o in videos) == ["tiny-tall", "tiny-wide"]
    for o in videos:
        info = probe(out / o["file"])
        f = o["facts"]
        assert (f["width"], f["height"]) == tuple(o["preset_size"]) == info.v.display_size
        assert f["frames"] == info.v.frames and f["size_bytes"] == (out / o["file"]).stat().st_size
        assert o["safe"] == {k: PRESETS[o["preset"]][f"safe_{k}"] for k in ("top", "bottom", "left", "right")}
        assert f["loudness_by"] == "check" and f["true_peak_dbtp"] <= -1.0  # the check step measured the file
        assert (out / o["cover"]).is_file()
    # the shots: lineage, the cache state, the time generation took
    kite, sand = variant["shots"]
    assert (kite["id"], sand["continue_from"], kite["continue_from"]) == ("kite", "kite", None)
    assert kite["cache"] == sand["cache"] == "fresh" and kite["generation_s"] > 0 and kite["seed"] == 1
    assert [s["state"] for s in variant["steps"]] == ["done"] * 4
    assert [s["label"] for s in variant["steps"]] == ["generate", "stitch", "export", "check"]
    assert {d["input"] for d in variant["checks"]} == {o["file"] for o in videos}
    # the page links only files of the folder, by relative paths
    html = run["page"].read_text()
    links = re.findall(r'(?:src|href|poster)="([^"#][^"]*)"', html)
    media = [x for x in links if not x.startswith("data:")]
    assert media and all(not x.startswith(("/", "http:", "https:", "file:")) for x in media)
    assert all((out / x).is_file() for x in media)
    assert str(run["project"]) not in html  # no absolute path of this machine


def test_review_rebuilds_the_same_page_from_the_record(run: dict, tmp_path: Path) -> None:
    moved = tmp_path / "moved out"
    shutil.copytree(run["out"], moved)
    (moved / "mini.review.html").unlink()
    proc = run_cli("review", str(moved), env=run["env"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(moved / "mini.review.html")
    assert (moved / "mini.review.html").read_text() == run["page"].read_text()


def test_a_run_a_step_fails_in_still_writes_its_page(run: dict, tmp_path: Path) -> None:
    """The check fails (the tall output measured against the wide preset): the run stops
    with exit 1 and the check's own error, and the page shows what was delivered, the
    failed verdicts and where the run stopped."""
    project = tmp_path / "failing"
    project.mkdir()
    (project / "mini.yaml").write_text(PIPELINE.replace("check: {warn: true}", "check: {preset: tiny-wide}"))
    proc = run_cli("run", str(project / "mini.yaml"), env=run["env"])
    assert proc.returncode == 1 and "check failed" in proc.stderr and "Traceback" not in proc.stderr
    page = project / "out" / "mini.review.html"
    assert f"review page: {page}" in proc.stderr
    (variant,) = json.loads((project / "out" / "mini.run.json").read_text())["variants"]
    assert [(s["label"], s["state"]) for s in variant["steps"]][-1] == ("check", "failed")
    assert variant["error"].startswith("check: check failed")
    assert sorted(o["preset"] for o in variant["outputs"] if o.get("preset")) == ["tiny-tall", "tiny-wide"]
    failed = [d for d in variant["checks"] if not d["passed"]]
    assert [Path(d["input"]).name for d in failed] == ["mini.tiny-tall.mp4"]
    assert any(c["name"] == "resolution" and not c["passed"] for c in failed[0]["checks"])
    html = page.read_text()
    assert "Stopped: check: check failed" in html and "stopped at check" in html


def test_review_bad_input_is_one_line_and_exit_2(run: dict, tmp_path: Path) -> None:
    for target, says in ((tmp_path / "nowhere", "no such file or folder"), (tmp_path, "no run record")):
        proc = run_cli("review", str(target), env=run["env"])
        assert proc.returncode == 2 and says in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    bad = tmp_path / "x.run.json"
    bad.write_text("{not json")
    proc = run_cli("review", str(bad), env=run["env"])
    assert proc.returncode == 2 and str(bad) in proc.stderr and "Traceback" not in proc.stderr
    # a page the user wrote is never replaced without --overwrite
    mine = tmp_path / "mine"
    shutil.copytree(run["out"], mine)
    (mine / "mini.review.html").write_text("my notes")
    proc = run_cli("review", str(mine), env=run["env"])
    assert proc.returncode == 2 and "already exists" in proc.stderr
    assert (mine / "mini.review.html").read_text() == "my notes"


def test_review_serve_answers_on_localhost(run: dict) -> None:
    import httpx

    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "review", str(run["out"]), "--serve", "--port", "0"],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, **run["env"]})
    try:
        line = ""
        deadline = time.monotonic() + 60
        while "serving" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/\S+", line)
        assert url, line
        page = httpx.get(url.group(0), timeout=10)
        assert page.status_code == 200 and page.text == run["page"].read_text()
        video = next(o["file"] for o in run["record"]["variants"][0]["outputs"] if o.get("preset"))
        got = httpx.get(url.group(0).rsplit("/", 1)[0] + "/" + video, timeout=10)
        assert got.status_code == 200 and got.content == (run["out"] / video).read_bytes()
        # a player seeks with byte ranges (RFC 9110): the server answers 206 with those bytes
        part = httpx.get(got.url, headers={"Range": "bytes=100-1099"}, timeout=10)
        assert part.status_code == 206 and part.content == (run["out"] / video).read_bytes()[100:1100]
        assert part.headers["content-range"] == f"bytes 100-1099/{(run['out'] / video).stat().st_size}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---- in a real browser -----------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium():  # noqa: ANN201
    pytest.importorskip("playwright", reason="playwright (dev extra) is not installed")
    from tests.browser import browser, chromium_path

    if chromium_path() is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run("apt-get update -qq && apt-get install -y -qq chromium", shell=True, capture_output=True,
                       timeout=900)
    if chromium_path() is None:
        pytest.skip("chromium is not installed and could not be installed (apt-get install -y chromium)")
    with browser() as b:
        yield b


PLAY = """async () => {
  const out = [];
  for (const v of document.querySelectorAll('video')) {
    v.muted = true;
    const t0 = v.currentTime;
    await v.play();
    const t1 = await new Promise(done => {
      const start = performance.now();
      const tick = () => (v.currentTime > t0 + 0.2 || performance.now() - start > 8000)
        ? done(v.currentTime) : setTimeout(tick, 50);
      tick();
    });
    v.pause();
    out.push({src: v.getAttribute('src'), ready: v.readyState, t0, t1, error: v.error && v.error.code,
              w: v.videoWidth, h: v.videoHeight});
  }
  return out;
}"""

RECTS = """() => [...document.querySelectorAll('.cell')].map(cell => {
  const v = cell.querySelector('video'), s = cell.querySelector('.safe');
  const r = v.getBoundingClientRect(), o = s.getBoundingClientRect();
  return {preset: cell.dataset.preset, video: [r.left, r.top, r.width, r.height], vw: v.videoWidth,
          vh: v.videoHeight, safe: [o.left, o.top, o.width, o.height], shown: getComputedStyle(s).display};
})"""


def _picture(rect: list[float], vw: int, vh: int) -> tuple[float, float, float, float]:
    """Where the picture is drawn inside a <video> box (object-fit: contain)."""
    left, top, w, h = rect
    scale = min(w / vw, h / vh)
    pw, ph = vw * scale, vh * scale
    return left + (w - pw) / 2, top + (h - ph) / 2, pw, ph


@pytest.mark.parametrize("width", [1280, 390])
def test_page_in_chromium(run: dict, chromium, width: int) -> None:  # noqa: ANN001
    from tests.browser import open_page

    tab, errors = open_page(chromium, run["page"], width)
    try:
        played = tab.evaluate(PLAY)
        assert len(played) == 2
        for p in played:
            assert p["error"] is None and p["ready"] >= 2, p  # decoded (H.264 in Debian's chromium)
            assert p["t1"] > p["t0"] + 0.2, p  # and it plays
        for cell in tab.evaluate(RECTS):
            x, y, w, h = _picture(cell["video"], cell["vw"], cell["vh"])
            m = PRESETS[cell["preset"]]
            want = (x + m["safe_left"] * w, y + m["safe_top"] * h,
                    w * (1 - m["safe_left"] - m["safe_right"]), h * (1 - m["safe_top"] - m["safe_bottom"]))
            assert all(abs(a - b) <= 1.0 for a, b in zip(cell["safe"], want)), (cell, want)
            assert cell["shown"] != "none" and w >= 100
        tab.click("#safe-toggle")
        assert {c["shown"] for c in tab.evaluate(RECTS)} == {"none"}
        tab.click("#safe-toggle")
        assert "none" not in {c["shown"] for c in tab.evaluate(RECTS)}
        # usable at this width: nothing scrolls sideways; players and links fit the screen
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
        for sel in ("video", "a.download", "nav a", "#shots table", "#run table"):
            for el in tab.query_selector_all(sel):
                el.scroll_into_view_if_needed()
                box = el.bounding_box()
                assert box and box["width"] > 0 and box["height"] > 0 and box["x"] >= 0, sel
                if sel != "#shots table":  # a wide table scrolls inside its own box
                    assert box["x"] + box["width"] <= width + 0.5, (sel, box)
        assert errors == []
    finally:
        tab.close()


def test_screenshot_helper_makes_the_docs_image(run: dict, chromium, tmp_path: Path) -> None:  # noqa: ANN001
    """docs/images/review.png is made by this helper from the demo's page."""
    from PIL import Image

    from tests.browser import screenshot

    shot = screenshot(run["page"], tmp_path / "review.png", width=900, height=700, b=chromium)
    with Image.open(shot) as img:
        assert img.size == (900, 700)
        assert len(set(img.convert("L").resize((90, 70)).getdata())) > 20  # a page, not a blank

