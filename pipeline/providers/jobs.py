"""Durable records of submitted generation jobs.

A remote job is paid for when it is submitted. Its record (provider, job id, request
hash, the API base it was sent to) is written to the cache *before* polling starts, so a
run that is interrupted (Ctrl-C, a crash, a lost connection) and started again with the
same request picks the same job up instead of submitting (and paying for) it twice.
A record holds no secret: no request headers, no keys, and every string in it (job ids and
statuses come from the server, which may echo a credential) is redacted before it is written.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from pipeline.files import cache_dir, write_cache_file


@dataclass
class JobRecord:
    provider: str
    request: str  # request digest
    job_id: str | None = None  # None until the service has answered the submission
    base_url: str = ""
    kind: str = ""  # provider-specific: "text2video", "image2video", "videos", "remix"
    external_id: str | None = None  # client-chosen id the service can be asked about
    status: str = "pending"  # pending (being submitted), submitted, failed, done
    submitted_at: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)


def jobs_dir() -> Path:
    return cache_dir("jobs")


def _path(provider: str, digest: str) -> Path:
    return jobs_dir() / f"{provider}-{digest}.json"


def load_job(provider: str, digest: str) -> JobRecord | None:
    """The open job for this request, if one was submitted and not yet finished."""
    p = _path(provider, digest)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        rec = JobRecord(**data)
    except (OSError, ValueError, TypeError):
        return None
    return rec if rec.status in ("pending", "submitted") else None


# Also told of every record written (a cluster keeps them where every node can find them,
# pipeline.run.executors.limiter); called with the record as written, after the write.
_also_save: Callable[[dict[str, Any]], None] | None = None


def set_record_sink(sink: Callable[[dict[str, Any]], None] | None) -> Callable[[dict[str, Any]], None] | None:
    """Install `sink` (None: none); returns the one it replaces."""
    global _also_save
    previous, _also_save = _also_save, sink
    return previous


def save_job(rec: JobRecord) -> None:
    """Write the record atomically (and durably: fsync before the rename)."""
    from pipeline.providers.redaction import scrub

    p = _path(rec.provider, rec.request)
    data = scrub(asdict(rec))
    data["base_url"] = public_url(data["base_url"])
    write_cache_file(p, json.dumps(data, indent=2), durable=True)
    if _also_save is not None:
        _also_save(data)


def restore_job(data: dict[str, Any]) -> None:
    """Write a record kept elsewhere (by another node) into this cache, unless this cache
    already holds one for the request."""
    rec = JobRecord(**data)
    if not _path(rec.provider, rec.request).exists():
        write_cache_file(_path(rec.provider, rec.request), json.dumps(data, indent=2), durable=True)


def public_url(url: str) -> str:
    """The URL without a user:password@ part (a credential some users put in base URLs)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def close_job(rec: JobRecord, status: str) -> None:
    """Mark a job finished ("done" or "failed"): a later run with the same request
    submits afresh (failed) or finds the clip in the result cache (done)."""
    rec.status = status
    save_job(rec)


def all_jobs() -> list[JobRecord]:
    """Every recorded job, newest first."""
    out = []
    for p in jobs_dir().glob("*.json"):
        try:
            out.append(JobRecord(**json.loads(p.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(out, key=lambda r: r.submitted_at, reverse=True)

