"""What a batch produced: one RowResult per row, the BatchResult of the whole batch (its
--json document), and BatchView, the progress of a batch as plain lines (the command line
installs a live one)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.run.matrix import BatchRow


@dataclass
class RowResult:
    """What one row of a batch did."""

    index: int
    name: str
    label: str
    state: str  # done, cached, failed; planned in a dry run
    outputs: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0
    node: str = ""  # where it ran (the executor's word for it)
    warnings: list[str] = field(default_factory=list)
    shots_node: str = ""  # where its shots were generated, when that was a task of its own

    def to_dict(self) -> dict[str, Any]:
        data = {"row": self.index, "name": self.name, "label": self.label, "state": self.state,
                "outputs": self.outputs, "seconds": round(self.seconds, 3)}
        if self.reason:
            data["reason"] = self.reason
        if self.node:
            data["node"] = self.node
        if self.shots_node:
            data["shots_node"] = self.shots_node
        if self.warnings:
            data["warnings"] = self.warnings
        return data


@dataclass
class BatchResult:
    executor: str
    rows: list[RowResult]
    seconds: float = 0.0
    cost: float | None = None  # list price of the shots the batch generates (None: unknown)
    providers: dict[str, Any] | None = None  # the cluster limiter's account: peak jobs in flight, spent
    page: Path | None = None  # the batch's review page (None in a dry run, or when no row wrote a file)

    @property
    def warnings(self) -> list[str]:
        """Every distinct warning of every row, once."""
        return list(dict.fromkeys(w for r in self.rows for w in r.warnings))

    @property
    def failed(self) -> list[RowResult]:
        return [r for r in self.rows if r.state == "failed"]

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r.state] = counts.get(r.state, 0) + 1
        return {"executor": self.executor, "rows": [r.to_dict() for r in self.rows], "counts": counts,
                "seconds": round(self.seconds, 3), "estimated_usd": self.cost, "ok": not self.failed,
                **({"providers": self.providers} if self.providers else {})}


class BatchView:
    """Progress of a batch as plain lines on stderr; the command line installs a live one."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self.total = total
        self.quiet = quiet
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()

    def __enter__(self) -> "BatchView":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def eta(self) -> float | None:
        finished = self.done + self.failed
        if not finished or finished >= self.total:
            return None
        return (time.monotonic() - self.started) / finished * (self.total - finished)

    def row_started(self, row: BatchRow) -> None:
        pass

    def row_finished(self, result: RowResult) -> None:
        if result.state == "failed":
            self.failed += 1
        else:
            self.done += 1
        if self.quiet and result.state != "failed":
            return
        eta = self.eta()
        tail = f"; ETA {eta:.0f}s" if eta is not None else ""
        why = f" ({result.reason})" if result.reason else ""
        print(f"[{self.done + self.failed}/{self.total}] {result.name}: {result.state} in {result.seconds:.1f}s"
              f"{why}{tail}", file=sys.stderr, flush=True)
