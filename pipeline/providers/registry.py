"""The video providers by name."""

from __future__ import annotations

from pipeline.errors import InputError
from pipeline.providers.base import VideoProvider


def get_provider(name: str) -> VideoProvider:
    if name == "local":
        from pipeline.providers.local import LocalVideoProvider

        return LocalVideoProvider()
    if name == "sora":
        from pipeline.providers.sora import SoraProvider

        return SoraProvider()
    if name == "kling":
        from pipeline.providers.kling import KlingProvider

        return KlingProvider()
    if name == "fal":
        from pipeline.providers.fal import FalProvider

        return FalProvider()
    if name == "replicate":
        from pipeline.providers.replicate import ReplicateProvider

        return ReplicateProvider()
    raise InputError(f"--provider {name}: unknown provider; use local, kling, fal, replicate or sora")


def cancel_job(job_id: str) -> str:
    """Ask a recorded job's provider to cancel it (fal and replicate can); InputError when
    no such job is recorded or its provider cannot cancel. The record is then closed."""
    from pipeline.providers.jobs import all_jobs, close_job

    found = [r for r in all_jobs() if r.job_id == job_id or (r.job_id or "").startswith(job_id)]
    if not found:
        raise InputError(f"{job_id}: no such job (see `reelforge jobs list --all`)")
    if len(found) > 1:
        raise InputError(f"{job_id}: matches {len(found)} jobs; give more of the id")
    rec = found[0]
    provider = get_provider(rec.provider)
    if not hasattr(provider, "cancel"):
        raise InputError(f"{job_id}: {rec.provider} offers no way to cancel a job (it runs to the end)")
    state = provider.cancel(rec)
    close_job(rec, "failed")
    return state
