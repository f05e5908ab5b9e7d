"""The Ray side of a row: what one task does on whichever node runs it.

Without a shared filesystem the node sees none of the driver's files. The task gets a
map of the files the row reads (driver path -> content digest -> object reference) and
builds a mirror of them on the node: each content is fetched from the object store once
per node (kept under its digest, so later rows on that node fetch nothing) and linked at
the driver's path under the node's mirror folder. The row then runs with the ordinary
runner, its step cache in a cache folder of the node; what it wrote is read back and
returned to the driver with each file's digest and what the node's verification saw.
With a shared filesystem the row runs on the driver's paths and writes in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

NODE_DIR_ENV = "REELFORGE_NODE_DIR"  # where a node keeps its mirror and cache (default: a temp folder)


def node_dir(node_id: str) -> Path:
    base = os.environ.get(NODE_DIR_ENV) or os.path.join(tempfile.gettempdir(), "reelforge-node")
    return Path(base) / node_id[:16]


def mirror_path(root: Path, driver_path: str) -> Path:
    """Where a driver path lives on this node: the same path under root/fs."""
    return root / "fs" / os.path.normpath(driver_path).lstrip("/")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def materialize(root: Path, files: dict[str, str], refs: dict[str, Any], fetch: Any = None) -> int:
    """Put every file the row reads at its mirror path; returns the bytes fetched from the
    object store (0 when this node already held every content)."""
    import ray

    fetch = fetch or ray.get
    objects = root / "objects"
    objects.mkdir(parents=True, exist_ok=True)
    fetched = 0
    for driver_path, digest in files.items():
        stored = objects / digest
        if not stored.exists():
            data = fetch(refs[digest])
            fetched += len(data)
            tmp = stored.with_name(f".{digest}.{os.getpid()}.part")
            tmp.write_bytes(data)
            os.replace(tmp, stored)
        target = mirror_path(root, driver_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and os.path.samefile(target, stored):
            continue
        link = target.with_name(f".{target.name}.{os.getpid()}.link")
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.link(stored, link)
        os.replace(link, target)
    return fetched


def to_node_dir(driver_dir: str, root: Path, shared: bool) -> str:
    return driver_dir if shared else str(mirror_path(root, driver_dir))


def _remap(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _remap(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_remap(v, mapping) for v in value]
    if isinstance(value, str):
        return mapping.get(value, value)
    return value


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the task (a Ray worker runs one task at a time)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _probe_facts(path: Path) -> dict[str, Any]:
    from pipeline.model.media import probe

    info = probe(path)
    facts: dict[str, Any] = {"streams": len(info.video) + len(info.audio)}
    if info.video:
        v = info.v
        facts.update(size=list(v.display_size), frames=v.frames)
    return facts


def keep_made(root: Path, made: dict[str, bytes]) -> dict[str, str]:
    """Files another task of the row made (generated shots), stored by content on this node
    and linked under the mirror at the path the other node gave them: {that path: here}."""
    digests = {}
    refs = {}
    for path, data in made.items():
        digest = hashlib.sha256(data).hexdigest()
        digests[path] = digest
        refs[digest] = data
    materialize(root, digests, refs, fetch=lambda ref: ref)
    return {path: str(mirror_path(root, path)) for path in made}


def run_row(job: dict[str, Any], refs: dict[str, Any], limiter: Any = None,
            upstream: dict[str, Any] | None = None) -> dict[str, Any]:
    """The body of one row's task (see the module's docstring). A row that generates shots
    runs as two tasks: the first runs the steps up to the last that generates (`steps` [0, k],
    `hand_on`: it returns its timeline and the files it made); the second gets that result as
    `upstream` and runs the rest."""
    import ray

    from pipeline.model.timeline import Timeline
    from pipeline.run.executors.limiter import gate_to
    from pipeline.run.executors.rows import run_here
    from pipeline.run.runner import timeline_sources
    from pipeline.run.spec import load_spec

    if upstream is not None and upstream.get("state") == "failed":
        return upstream
    started = time.monotonic()
    # Ray puts the driver's working folder first on the workers' import path: a project
    # folder holding a `presets` folder of TOML files would hide reelforge's own package
    hidden = job.get("driver_cwd") if job.get("driver_cwd") in sys.path and "presets" not in sys.modules else None
    if hidden:
        sys.path.remove(hidden)
        import presets  # noqa: F401 - reelforge's own, found now
        sys.path.insert(0, hidden)
    node = ray.get_runtime_context().get_node_id()
    shared = job["shared_fs"]
    root = node_dir(node)
    env: dict[str, str] = {}
    fetched = 0
    if shared:
        to_node = {p: p for p in job["files"]}
    else:
        fetched = materialize(root, job["files"], refs)
        to_node = {p: str(mirror_path(root, p)) for p in job["files"]}
        env["REELFORGE_CACHE"] = str(root / "cache")
    if upstream is not None:
        to_node.update(keep_made(root, upstream["made"]))
    if job.get("presets_dir"):  # the driver's own presets, wherever this node sees them
        env["REELFORGE_PRESETS"] = to_node_dir(job["presets_dir"], root, shared)
    lo, hi = job.get("steps") or (0, None)
    with environment(env), gate_to(limiter):
        # the driver checked every file; the inputs are already in `start`
        spec = load_spec(to_node[job["pipeline"]], job["variant"], job["variables"], check_files=False)
        spec.name = job["name"]
        spec.steps = spec.steps[lo:hi]
        begin = upstream["timeline"] if upstream is not None else job["start"]
        start = Timeline.from_dict(_remap(begin, to_node), where=spec.name)
        result = run_here(spec, start, job["force"], job["use_cache"], job["options"],
                          keep_timeline=bool(job.get("hand_on")))
    back = {v: k for k, v in to_node.items()}
    prefix = str(root / "fs")
    files = []
    for out in result["outputs"]:
        local = out.get("path")
        if not local:
            continue
        driver = back.get(local) or (local[len(prefix):] if not shared and local.startswith(prefix + "/") else local)
        out["path"] = driver
        if result["state"] != "failed" and Path(local).is_file():
            record: dict[str, Any] = {"path": driver, "sha256": _sha256(Path(local))}
            if out.get("preset") and not out.get("kind"):
                record["probe"] = _probe_facts(Path(local))
            if not shared:
                record["data"] = Path(local).read_bytes()
                os.unlink(local)  # the driver keeps the output; the node keeps its cache of the steps before
            files.append(record)
    if job.get("hand_on") and result["state"] != "failed":
        # the next task gets the timeline on the driver's paths, and the files made here
        tl = result["timeline"]
        result["made"] = {src: Path(src).read_bytes() for src in timeline_sources(tl)
                          if src not in back and os.path.isfile(src)}
        result["timeline"] = _remap(tl, back)
    if upstream is not None:
        result["shots_node"] = f"{upstream['node'][:8]} pid {upstream['pid']}"
        result["outputs"] = upstream["outputs"] + result["outputs"]
        files = upstream["files"] + files
        result["warnings"] = list(dict.fromkeys(upstream["warnings"] + result["warnings"]))
    return {**result, "files": files, "node": node, "fetched": fetched, "pid": os.getpid(),
            "task_seconds": time.monotonic() - started}
