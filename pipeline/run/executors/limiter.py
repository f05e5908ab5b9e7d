"""One limiter for a whole Ray cluster (a Ray actor): every shot any node generates takes
a slot of its provider first, so the cluster never has more jobs in flight at a provider
than its concurrency limit, and never spends past the batch's budget. It also keeps the
job records the nodes write: a task retried on another node finds the job its first
attempt submitted (and paid for) and resumes it instead of submitting it again.

A slot is held by (task, request). Ray retries a crashed task under the same task id, so
the retry takes back the slot its crashed attempt still held instead of waiting for it.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator


class ProviderLimiter:
    """The actor's class (made a Ray actor by the driver: ray.remote(ProviderLimiter))."""

    def __init__(self, limits: dict[str, int], budget: float | None) -> None:
        self.limits = dict(limits)
        self.budget = budget
        self.spent = 0.0
        self.held: dict[str, dict[str, str]] = {}  # provider -> {holder: request digest}
        self.peak: dict[str, int] = {}
        self.records: dict[str, dict[str, Any]] = {}  # "provider-digest" -> job record
        self._cond: Any = None

    def _condition(self) -> Any:
        import asyncio

        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self, provider: str, usd: float | None, holder: str) -> str:
        """Wait for a slot of `provider`; "ok", or "budget" when paying `usd` would pass
        the batch's budget (nothing is taken then)."""
        cond = self._condition()
        async with cond:
            held = self.held.setdefault(provider, {})
            if held.pop(holder, None) is not None:
                cond.notify_all()
            limit = max(1, self.limits.get(provider, 1))
            await cond.wait_for(lambda: len(held) < limit)
            cost = usd or 0.0
            if self.budget is not None and self.spent + cost > self.budget + 1e-9:
                return "budget"
            self.spent += cost
            held[holder] = provider
            self.peak[provider] = max(self.peak.get(provider, 0), len(held))
            return "ok"

    async def release(self, provider: str, holder: str) -> None:
        cond = self._condition()
        async with cond:
            self.held.get(provider, {}).pop(holder, None)
            cond.notify_all()

    def record(self, data: dict[str, Any]) -> None:
        self.records[f"{data['provider']}-{data['request']}"] = data

    def record_for(self, provider: str, digest: str) -> dict[str, Any] | None:
        return self.records.get(f"{provider}-{digest}")

    def stats(self) -> dict[str, Any]:
        return {"peak": dict(self.peak), "spent": self.spent, "limits": dict(self.limits)}


@contextlib.contextmanager
def gate_to(limiter: Any) -> Iterator[None]:
    """While a task runs: its shots take their slots from `limiter` (an actor handle; None:
    no cluster limit), and every job record it writes is also kept by the limiter."""
    if limiter is None:
        yield
        return
    import ray

    from pipeline.errors import ProviderError
    from pipeline.providers.generate import set_submission_gate
    from pipeline.providers.jobs import restore_job, set_record_sink

    task = ray.get_runtime_context().get_task_id() or "driver"

    @contextlib.contextmanager
    def gate(provider: str, usd: float | None, digest: str) -> Iterator[None]:
        earlier = ray.get(limiter.record_for.remote(provider, digest))
        if earlier is not None and earlier.get("status") in ("pending", "submitted"):
            restore_job(earlier)  # submitted by a crashed attempt: resume it, pay nothing more
            usd = 0.0
        holder = f"{task}:{digest}"
        if ray.get(limiter.acquire.remote(provider, usd, holder)) == "budget":
            raise ProviderError(f"{provider}: the batch's budget is spent; this shot was not submitted")
        try:
            yield
        finally:
            ray.get(limiter.release.remote(provider, holder))

    old_gate = set_submission_gate(gate)
    old_sink = set_record_sink(lambda data: ray.get(limiter.record.remote(data)))
    try:
        yield
    finally:
        set_submission_gate(old_gate)
        set_record_sink(old_sink)
