"""The Ray executor on a real cluster: a head and a second node started with `ray start`
on 127.0.0.1 (one CPU each, a small object store) once for this module, and stopped by it.

The nodes get no shared folder from the tests: every source travels through the object
store and every output comes back to the driver (this test's process or the CLI's)."""

from __future__ import annotations

import json
import os
import signal
import textwrap
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import run_cli
from tests.fake_kling import FakeKling
from tests.media import ffmpeg, frames_of, make_clip, write_preset

pytest.importorskip("ray", reason="Ray is not installed (pip install 'reelforge[ray]')")
# one worker runs this module: the cluster is started once (make test: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("ray")

from tests.raycluster import Cluster, alive, start_cluster  # noqa: E402

KLING_LIMIT = 1  # the fake account's concurrency: the cluster must never pass it


@pytest.fixture(scope="module")
def kling(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKling]:
    served = make_clip(tmp_path_factory.mktemp("served") / "served.mp4", duration=1.0)
    server = FakeKling(served, polls=3, account_limit=KLING_LIMIT).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(kling: FakeKling, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    # the nodes' own environment: provider endpoints and keys are the nodes' to hold, never
    # sent through Ray
    env = {"KLING_API_BASE": kling.url, "KLING_ACCESS_KEY": kling.access, "KLING_SECRET_KEY": kling.secret,
           "REELFORGE_POLL_INTERVAL": "0.2", "REELFORGE_HTTP_BACKOFF": "0.05",
           "REELFORGE_NODE_DIR": str(tmp_path_factory.mktemp("nodes")),
           "REELFORGE_CACHE": str(tmp_path_factory.mktemp("nodes-shared-cache"))}
    found = start_cluster(env)
    yield found
    left = found.stop()
    assert not left, f"cluster processes still running: {left}"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    presets = tmp_path / "presets"
    for name, crf in (("tiny", 35), ("tiny2", 40)):
        write_preset(presets, name, crf=crf, audio_bitrate="64k", loudness_lufs=-16.0)
    monkeypatch.setenv("REELFORGE_PRESETS", str(presets))
    for i, tone in enumerate((440, 660, 880)):
        make_clip(tmp_path / f"clip{i + 1}.mp4", duration=1.0, audio=True, tone=tone,
                  pattern=("testsrc2", "smptebars", "rgbtestsrc")[i])
    return tmp_path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def ray_run(cluster: Cluster, *args: str, env: dict[str, str] | None = None, client: bool = False):  # noqa: ANN201
    """`reelforge run ... --executor ray --json`: the cluster named by RAY_ADDRESS, or with
    client=True by --address ray://HOST:PORT (Ray Client: the driver outside the cluster)."""
    where = ("--address", cluster.client_address) if client else ()
    return run_cli("run", *args, "--executor", "ray", *where, "--json",
                   env={"RAY_ADDRESS": "" if client else cluster.address, **(env or {})}, timeout=240)


def frame_md5s(path: Path) -> list[str]:
    out = path.with_suffix(".framemd5")
    ffmpeg("-i", str(path), "-map", "0:v", "-f", "framemd5", str(out))
    return [ln.rsplit(",", 1)[1].strip() for ln in out.read_text().splitlines() if not ln.startswith("#")]


MATRIX = """
    first,second,transition
    clip1.mp4,clip2.mp4,cut
    clip2.mp4,clip3.mp4,fade:0.5
    clip3.mp4,clip1.mp4,wipeleft:0.25
    clip1.mp4,clip3.mp4,cut
    clip2.mp4,clip1.mp4,fade:0.25
    clip3.mp4,clip2.mp4,cut
    """


def test_matrix_on_the_cluster_matches_local_frame_for_frame_then_comes_from_cache(
        cluster: Cluster, project: Path) -> None:
    pipe = write(project, "promo.yaml", """
        name: promo
        vars: {first: clip1.mp4, second: clip2.mp4, transition: cut, out: out}
        inputs: ["${first}", "${second}"]
        steps:
          - stitch: {transition: "${transition}"}
          - export: {presets: [tiny, tiny2], dir: "${out}", provenance: "off"}
        """)
    matrix = write(project, "variants.csv", MATRIX)
    local = run_cli("run", str(pipe), "--matrix", str(matrix), "--var", "out=local", "--json")
    assert local.returncode == 0, local.stderr
    r = ray_run(cluster, str(pipe), "--matrix", str(matrix), "--var", "out=ray")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["executor"] == "ray" and doc["counts"] == {"done": 6}
    assert len({row["node"].split()[0] for row in doc["rows"]}) == 2  # both nodes rendered rows
    outputs = [o for row in doc["rows"] for o in row["outputs"]]
    assert len(outputs) == 12 and {o["verified"] for o in outputs} == {"ok"}
    for o in outputs:
        mine = Path(o["path"])
        assert mine.parent == project / "ray"
        theirs = project / "local" / mine.name
        assert frame_md5s(mine) == frame_md5s(theirs), mine.name
    assert frames_of(project / "ray" / "promo-2.tiny.mp4") == 45  # the row's own fade
    assert sorted(p.name for p in (project / "ray").iterdir() if p.suffix == ".mp4") == sorted(
        f"promo-{i}.{p}.mp4" for i in range(1, 7) for p in ("tiny", "tiny2"))
    # again: every row from the driver's cache, no task submitted, nothing rewritten
    stamps = {p: p.stat().st_mtime_ns for p in (project / "ray").glob("*.mp4")}
    again = ray_run(cluster, str(pipe), "--matrix", str(matrix), "--var", "out=ray")
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["counts"] == {"cached": 6} and {row.get("node") for row in doc["rows"]} == {None}
    assert {p: p.stat().st_mtime_ns for p in (project / "ray").glob("*.mp4")} == stamps
    # a shared filesystem: the nodes read the sources and write the outputs in place
    two = write(project, "two.csv", "\n".join(textwrap.dedent(MATRIX).strip().splitlines()[:3]) + "\n")
    shared = ray_run(cluster, str(pipe), "--matrix", str(two), "--var", "out=shared", "--shared-fs")
    assert shared.returncode == 0, shared.stderr
    assert json.loads(shared.stdout)["counts"] == {"done": 2}
    for name in ("promo-1.tiny.mp4", "promo-2.tiny2.mp4"):
        assert frame_md5s(project / "shared" / name) == frame_md5s(project / "local" / name)


def _render_worker(cluster: Cluster) -> tuple[int, int] | None:
    """(Ray worker, its ffmpeg) while a row's task of this cluster encodes to a partial
    output under the nodes' folder (one pass over /proc: it must be quick)."""
    nodes = cluster.env["REELFORGE_NODE_DIR"].encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes()
            if b"ffmpeg" not in argv or b".partial-" not in argv or nodes not in argv:
                continue
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            if Path(f"/proc/{parent}/cmdline").read_bytes().startswith(b"ray::reelforge"):
                return parent, int(entry)
        except (OSError, ValueError, IndexError):
            continue
    return None


def test_a_worker_killed_mid_render_is_retried_and_nothing_partial_is_left(cluster: Cluster, project: Path) -> None:
    # 12 s: the encode lasts seconds, time for the watcher's scans of /proc even under load
    make_clip(project / "long.mp4", duration=12.0, audio=True, size="640x360")
    # x264's slowest settings: the encode lasts long enough to be caught even on a busy machine
    write_preset(Path(os.environ["REELFORGE_PRESETS"]), "tinyslow", x264_preset="veryslow", crf=30,
                 audio_bitrate="64k")
    pipe = write(project, "long.yaml", """
        name: long
        inputs: [long.mp4]
        steps:
          - export: {presets: [tinyslow], dir: out, provenance: "off"}
        """)
    killed: list[tuple[int, int]] = []

    def killer() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            found = _render_worker(cluster)
            if found:
                for pid in found:
                    os.kill(pid, signal.SIGKILL)
                killed.append(found)
            time.sleep(0.02)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    r = ray_run(cluster, str(pipe), client=True)
    thread.join(timeout=5)
    assert killed, "the row's render was never seen running"
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)["rows"][0]
    assert row["state"] == "done" and int(row["node"].split()[-1]) != killed[0][0]  # another attempt
    assert not alive(killed[0][0]) and not alive(killed[0][1])
    out = project / "out"
    # complete, no partial file beside it; the batch's record and page beside it
    assert sorted(p.name for p in out.iterdir()) == ["long.review.html", "long.run.json", "long.tinyslow.mp4"]
    assert frames_of(out / "long.tinyslow.mp4") == 360 and row["outputs"][0]["verified"] == "ok"


def test_provider_limit_holds_across_the_cluster_and_budget_refuses_first(
        cluster: Cluster, project: Path, kling: FakeKling) -> None:
    pipe = write(project, "shots.yaml", """
        name: "shot-${n}"
        vars: {n: 1}
        shots:
          - {id: a, prompt: "a kite over the dunes, take ${n}", provider: kling, model: kling-v2-5-turbo, duration: 5}
        steps:
          - export: {presets: [tiny], dir: out, provenance: "off"}
        """)
    matrix = write(project, "takes.csv", "n\n1\n2\n3\n4\n")
    (project / "fx.py").write_text("def invert(frame):\n    return 255 - frame\n")
    absolute = write(project, "abs.yaml", f"""
        name: abs
        inputs: [clip1.mp4]
        steps:
          - effect: {{clip: 1, function: "{project}/fx.py:invert"}}
          - export: {{presets: [tiny], dir: out}}
        """)
    r = ray_run(cluster, str(absolute))
    assert r.returncode == 2 and f"abs.yaml:4: effect: '{project}/fx.py' is an absolute path" in r.stderr
    before = len(kling.submissions)
    r = ray_run(cluster, str(pipe), "--matrix", str(matrix), "--budget", "0.5")
    assert r.returncode == 2
    assert "--budget 0.50: the batch would cost about" in r.stderr and "nothing was submitted" in r.stderr
    assert len(kling.submissions) == before and not (project / "out").exists()
    r = ray_run(cluster, str(pipe), "--matrix", str(matrix), "--budget", "100",
                env={"REELFORGE_KLING_CONCURRENCY": str(KLING_LIMIT)})
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["counts"] == {"done": 4}
    # the shots were tasks of their own, side by side on both nodes, waiting on one limiter
    assert len({row["shots_node"].split()[0] for row in doc["rows"]}) == 2
    assert len(kling.submissions) - before == 4
    assert kling.rejected_1303 == 0 and kling.max_in_flight <= KLING_LIMIT
    # the limiter's own account: never more than the limit, and it charged what the batch priced
    assert doc["providers"]["peak"] == {"kling": KLING_LIMIT}
    assert doc["estimated_usd"] > 0 and doc["providers"]["spent"] == pytest.approx(doc["estimated_usd"])
    assert sorted(p.name for p in (project / "out").glob("*.mp4")) == [f"shot-{n}.tiny.mp4" for n in (1, 2, 3, 4)]
    # the head's review page shows what the nodes delivered, measured where it landed
    record = json.loads((project / "out" / "shots.run.json").read_text())
    assert sorted(o["file"] for v in record["variants"] for o in v["outputs"]) == \
        [f"shot-{n}.tiny.mp4" for n in (1, 2, 3, 4)]
    assert all(o["facts"]["frames"] > 0 for v in record["variants"] for o in v["outputs"])



def test_a_retried_task_resumes_the_paid_job_from_the_cluster_record_instead_of_paying_again(
        cluster: Cluster, project: Path, kling: FakeKling) -> None:
    pipe = write(project, "held.yaml", """
        name: held
        shots:
          - {id: a, prompt: "[hold] a lighthouse at dusk", provider: kling, model: kling-v2-5-turbo, duration: 5}
        steps:
          - export: {presets: [tiny], dir: out, provenance: "off"}
        """)
    before = len(kling.submissions)
    killed: list[int] = []
    done = threading.Event()

    def killer() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(kling.submissions) == before:
            time.sleep(0.02)
        time.sleep(0.3)  # the job is paid for and its record kept; the task is polling
        # as if the node had gone with its disk: only the cluster's limiter still holds the
        # job's record, wherever Ray runs the task again
        for record in Path(cluster.env["REELFORGE_NODE_DIR"]).glob("*/cache/jobs/*.json"):
            record.unlink()
        for pid in cluster.processes():
            try:
                if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::reelforge held"):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            except OSError:
                continue
        while not done.is_set():  # the held job finishes now (and any second one would too)
            kling.release()
            time.sleep(0.1)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    r = ray_run(cluster, str(pipe))
    done.set()
    thread.join(timeout=5)
    assert killed, "the task was never seen generating"
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)["rows"][0]
    assert row["state"] == "done" and int(row["node"].split()[-1]) not in killed
    assert len(kling.submissions) == before + 1  # one job, paid once, resumed by the retry
    assert frames_of(project / "out" / "held.tiny.mp4") == 30
