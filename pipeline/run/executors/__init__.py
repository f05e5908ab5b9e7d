"""Where the rows of a batch run: `local` (this machine: the runner, several rows at once
in a process pool) or `ray` (a Ray cluster). An executor has one method,

    run(rows, starts, view, force=..., use_cache=..., options=...) -> list[RowResult]

and reports each finished row to the view as it finishes."""

from __future__ import annotations

from typing import Any

from pipeline.errors import InputError

EXECUTORS = ("local", "ray")


def get_executor(name: str, address: str | None = None, shared_fs: bool = False,
                 workers: int | None = None) -> Any:
    if name == "local":
        if address:
            raise InputError("--address: only with --executor ray")
        from pipeline.run.executors.local import LocalExecutor

        return LocalExecutor(workers=workers)
    if name == "ray":
        from pipeline.run.executors.raycluster import RayExecutor

        return RayExecutor(address=address, shared_fs=shared_fs)
    raise InputError(f"--executor {name}: unknown executor; choose {' or '.join(EXECUTORS)}")
