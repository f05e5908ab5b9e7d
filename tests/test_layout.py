"""The layers of the code, beyond what .importlinter checks: no import cycle between any
two modules, and only the ffmpeg door starts processes."""

from __future__ import annotations

from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent

# pipeline.ffmpeg is the one door to ffmpeg, and nothing else starts a process.
SUBPROCESS_ALLOWED = {"pipeline.ffmpeg"}


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("pipeline", "stages", include_external_packages=True, cache_dir=None)


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_no_import_cycles_between_modules() -> None:
    graph = _graph()
    ours = {m for m in graph.modules if m.split(".")[0] in ("pipeline", "stages")}
    # the pipeline-file reader and its validator (which names the spec only for typing)
    known = [["pipeline.run.spec", "pipeline.run.validation"]]
    assert [c for c in _cycles(graph, ours) if c not in known] == []


def test_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for m in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(m)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert _cycles(graph, {"a.x", "a.y", "a.z"}) == [["a.x", "a.y"]]


def test_only_the_ffmpeg_door_imports_subprocess() -> None:
    graph = _graph()
    importers = {m for m in graph.find_modules_that_directly_import("subprocess")
                 if m.split(".")[0] in ("pipeline", "stages")}
    assert importers <= SUBPROCESS_ALLOWED, f"subprocess imported by {sorted(importers - SUBPROCESS_ALLOWED)}"
    assert "pipeline.ffmpeg" in importers


def test_import_contracts_hold() -> None:
    """The same check `make test` runs before pytest, so a plain pytest run sees it too."""
    from importlinter.cli import lint_imports

    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert lint_imports() == 0
    finally:
        os.chdir(cwd)
