"""Generate clips through providers: cached by request hash, written atomically, several
shots at once up to a per-provider limit, one progress line per shot.

A finished clip lives in <cache>/generated/<request hash>.mp4 with its provenance next to
it, so a repeated request costs nothing. The provider writes to a temporary file in that
folder; the file is probed and only then renamed into place.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from pipeline.errors import InputError, ProviderError, ReelforgeError, RenderError
from pipeline.ffmpeg import media_path, preamble, run_ffmpeg_quiet
from pipeline.files import atomic_output, cache_dir, write_cache_file
from pipeline.progress import Reporter, default_reporter
from pipeline.providers import cancel
from pipeline.providers.base import JobOptions, VideoRequest
from pipeline.providers.redaction import redact, scrub
from pipeline.providers.registry import get_provider

# Jobs in flight at once per provider. Kling counts concurrent tasks per account (the
# resource pack sets the limit); local renders on this machine's CPU.
DEFAULT_LIMITS = {"local": 1, "sora": 2, "kling": 3}

CLEANUP_WAIT = 15.0  # seconds an interrupted run waits for each worker to clean up

# A wider gate around every shot that is not served from the cache, inside this process's
# own per-provider semaphore: a cluster-wide limiter (pipeline.run.executors.limiter)
# installs one. Called with the provider, the list price still to pay (None: unknown) and
# the request digest; returns a context manager held while the shot is generated.
SubmissionGate = Callable[[str, "float | None", str], "contextlib.AbstractContextManager[None]"]
_submission_gate: SubmissionGate | None = None


def set_submission_gate(gate: SubmissionGate | None) -> SubmissionGate | None:
    """Install `gate` (None: none); returns the one it replaces."""
    global _submission_gate
    previous, _submission_gate = _submission_gate, gate
    return previous


def _slot(provider_name: str, req: VideoRequest) -> contextlib.AbstractContextManager[None]:
    from pipeline.providers.jobs import load_job

    gate = _submission_gate
    if gate is None or cached_clip(req, provider_name) is not None:
        return contextlib.nullcontext()
    digest = req.digest(provider_name)
    usd = 0.0 if load_job(provider_name, digest) is not None else _list_price(provider_name, req)
    return gate(provider_name, usd, digest)


_DIGEST_LOCKS: dict[str, threading.Lock] = {}
_DIGEST_LOCKS_GUARD = threading.Lock()


def generated_dir() -> Path:
    d = cache_dir() / "generated"
    d.mkdir(parents=True, exist_ok=True)
    return d


def cached_clip(req: VideoRequest, provider_name: str) -> Path | None:
    """The finished clip for this request, if it was generated before."""
    target = generated_dir() / f"{req.digest(provider_name)}.mp4"
    return target if target.exists() and target.with_suffix(".json").exists() else None


def _digest_lock(digest: str) -> threading.Lock:
    with _DIGEST_LOCKS_GUARD:
        return _DIGEST_LOCKS.setdefault(digest, threading.Lock())


@contextlib.contextmanager
def _request_lock(provider_name: str, digest: str, reporter: Reporter) -> Iterator[None]:
    """Hold this request for this process and against every other reelforge process on the
    machine (an fcntl lock on a file beside the job records): a second run of the same
    request waits for the first's job and then shares its clip instead of paying again."""
    from pipeline.providers.jobs import jobs_dir

    with _digest_lock(digest):
        path = jobs_dir() / f"{provider_name}-{digest}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            told = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not told:
                        reporter.info(f"{provider_name}: another reelforge process is generating this "
                                      "shot; waiting for it to share its clip")
                        told = True
                    cancel.pause(0.1)
            yield
        finally:
            os.close(fd)  # releases the lock


class _RedactingReporter(Reporter):
    """Passes messages and progress labels on with every secret masked: providers show
    server-supplied text (job ids, statuses) that a hostile or buggy server may fill with
    the caller's credentials."""

    def __init__(self, inner: Reporter) -> None:
        self._inner = inner
        self.quiet = inner.quiet

    def info(self, message: str) -> None:
        self._inner.info(redact(message))

    def warn(self, message: str) -> None:
        self._inner.warn(redact(message))

    def task(self, label: str, total: float):  # noqa: ANN201 - a context manager of a Task
        return self._inner.task(redact(label), total)

    def table(self, title: str, columns: Any, rows: Any) -> None:
        self._inner.table(redact(title), columns, [[scrub(c) for c in row] for row in rows])

    def shots(self, shots: list[str]):  # noqa: ANN201
        return self._inner.shots(shots)


def generate_clip(
    req: VideoRequest, provider_name: str, reporter: Reporter | None = None, use_cache: bool = True,
    poll_interval: float | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Return (path of the clip in the cache, provenance). A repeated request costs nothing;
    an interrupted remote job is resumed rather than submitted again, and a second process
    asking for the same request at the same time waits for the first and shares its job."""
    from pipeline.model.media import probe
    from pipeline.providers.jobs import close_job, load_job

    reporter = _RedactingReporter(reporter or default_reporter())
    digest = req.digest(provider_name)
    target = generated_dir() / f"{digest}.mp4"
    meta_path = target.with_suffix(".json")
    with _request_lock(provider_name, digest, reporter):
        if use_cache and target.exists() and meta_path.exists():
            return target, json.loads(meta_path.read_text())
        cancel.check()
        provider = get_provider(provider_name)
        options = JobOptions(poll_interval=poll_interval, request_digest=digest,
                             info={"model": req.model, "usd": _list_price(provider_name, req)})
        began = time.monotonic()
        try:
            with atomic_output(target) as tmp:
                provenance = provider.generate(req, tmp, reporter, options)
                cancel.check()
                try:
                    info = probe(tmp)
                except Exception as exc:  # noqa: BLE001
                    raise ProviderError(f"{provider_name}: the delivered clip is not readable media "
                                        f"({exc})") from None
                if not info.video:
                    raise ProviderError(f"{provider_name}: the delivered clip has no video stream")
                v = info.video[0]
                if (v.width, v.height) != (req.width, req.height):
                    reporter.warn(f"{provider_name}: asked for {req.width}x{req.height}, got {v.width}x{v.height}")
        except ReelforgeError as exc:
            exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
            raise
        provenance = scrub({**provenance, **generation_facts(req, target), "request": digest,
                            "generation_s": round(time.monotonic() - began, 3), "usd": options.info.get("usd")})
        write_cache_file(meta_path, json.dumps(provenance, indent=2))
        rec = load_job(provider_name, digest)
        if rec is not None:
            close_job(rec, "done")
    return target, provenance


def _list_price(provider_name: str, req: VideoRequest) -> float | None:
    from pipeline.providers.cost import estimate

    try:
        return estimate(provider_name, req).usd
    except InputError:
        return None


def generation_facts(req: VideoRequest, clip: Path) -> dict[str, Any]:
    """What provenance records of every generated shot besides the provider's own account:
    the prompt's hash, the seed and when. (The clip keeps any manifest its provider signed
    into it; export carries it as an ingredient.)"""
    import hashlib
    from datetime import datetime, timezone

    facts: dict[str, Any] = {
        "prompt_sha256": hashlib.sha256(req.prompt.encode()).hexdigest(),
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if req.seed is not None:
        facts["seed"] = req.seed
    return facts


# Containers `generate -o` writes: MP4 is what providers deliver; the others are remuxed.
OUTPUT_FORMATS = {".mp4": None, ".m4v": None, ".mov": "mov", ".mkv": "matroska"}


def copy_to(src: Path, dest: Path) -> Path:
    """Write the clip at `dest` in the container its extension names (stream copy, no
    re-encode); an extension outside OUTPUT_FORMATS is refused."""
    suffix = dest.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise InputError(f"-o {dest}: unsupported output type '{dest.suffix or '(none)'}'; "
                         f"use {', '.join(OUTPUT_FORMATS)}")
    fmt = OUTPUT_FORMATS[suffix]
    with atomic_output(dest) as tmp:
        if fmt is None:
            shutil.copyfile(src, tmp)
        else:
            run_ffmpeg_quiet([*preamble(), "-i", media_path(src), "-map", "0", "-c", "copy", "-f", fmt,
                              media_path(tmp)], what=f"-o {dest}")
    return dest


def last_frame(clip: Path) -> Path:
    """The clip's last frame as a PNG (cached by the clip's content)."""
    from pipeline.analysis.cache import file_digest

    folder = cache_dir() / "frames"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{file_digest(clip)}-last.png"
    if target.exists():
        return target
    # The last second first (fast); the whole clip when that holds no picture (the video
    # can end well before the sound).
    for seek in (["-sseof", "-1"], []):
        argv_head = [*preamble(), *seek, "-i", media_path(clip), "-map", "0:v:0", "-update", "1",
                     "-f", "image2", "-c:v", "png"]
        try:
            with atomic_output(target) as tmp:  # no file from ffmpeg: FileNotFoundError, nothing left
                run_ffmpeg_quiet([*argv_head, media_path(tmp)], "last frame")
        except (RenderError, FileNotFoundError):
            continue
        return target
    raise ProviderError(f"{clip}: cannot read its last frame")


def provider_limits(overrides: dict[str, int] | None = None) -> dict[str, int]:
    """Concurrency per provider: defaults, then REELFORGE_<PROVIDER>_CONCURRENCY, then
    the pipeline's own setting."""
    limits = dict(DEFAULT_LIMITS)
    for name in limits:
        env = os.environ.get(f"REELFORGE_{name.upper()}_CONCURRENCY")
        if env and env.isdigit() and int(env) > 0:
            limits[name] = int(env)
    for name, n in (overrides or {}).items():
        limits[name] = max(1, int(n))
    return limits


@dataclass
class ShotJob:
    """One shot of a batch. `make` builds its request once the shots it follows exist
    (it receives the finished clips by shot id)."""

    id: str
    provider: str
    make: Callable[[dict[str, Path]], VideoRequest]
    after: str | None = None  # id of the shot whose last frame starts this one


def generate_shots(
    jobs: list[ShotJob],
    reporter: Reporter | None = None,
    limits: dict[str, int] | None = None,
    poll_interval: float | None = None,
) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Generate every shot, concurrently up to each provider's limit; returns
    {shot id: (clip, provenance)}. After a failure no new job is submitted; jobs already
    running finish (they are paid for, and their clips are cached); then the first error
    is raised."""
    reporter = reporter or default_reporter()
    cancel.reset()
    lim = provider_limits(limits)
    sems = {name: threading.BoundedSemaphore(n) for name, n in lim.items()}
    results: dict[str, tuple[Path, dict[str, Any]]] = {}
    errors: dict[str, BaseException] = {}
    finished = {j.id: threading.Event() for j in jobs}
    stop = threading.Event()

    with reporter.shots([j.id for j in jobs]) as bars:
        def work(job: ShotJob) -> None:
            shot_rep = bars.reporter(job.id)
            try:
                if job.after:
                    finished[job.after].wait()
                    if job.after not in results:
                        raise ProviderError(f"shot {job.id}: not generated, because shot {job.after} "
                                            "(which it continues) failed")
                clips = {k: v[0] for k, v in results.items()}
                req = job.make(clips)
                if stop.is_set() and cached_clip(req, job.provider) is None:
                    raise _Skipped()
                with sems.setdefault(job.provider, threading.BoundedSemaphore(1)):
                    if stop.is_set() and cached_clip(req, job.provider) is None:
                        raise _Skipped()
                    with _slot(job.provider, req):
                        results[job.id] = generate_clip(req, job.provider, shot_rep, poll_interval=poll_interval)
                bars.done(job.id)
            except BaseException as exc:  # noqa: BLE001 - reported after every thread is done
                errors[job.id] = exc
                if not isinstance(exc, _Skipped):
                    stop.set()
                    bars.failed(job.id)
            finally:
                finished[job.id].set()

        threads = [threading.Thread(target=work, args=(j,), name=f"shot-{j.id}", daemon=True) for j in jobs]
        for t in threads:
            t.start()
        # join with a timeout so Ctrl-C (and SIGTERM, which the CLI turns into the same)
        # reaches this thread. Then every worker is told to stop and is waited for, so that
        # it removes its partial file and no ffmpeg outlives the run; the job records stay
        # behind and the next run resumes them.
        try:
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(timeout=0.2)
        except BaseException:
            cancel.cancel()
            for t in threads:
                t.join(timeout=CLEANUP_WAIT)
            raise
        finally:
            cancel.reset()
    for job in jobs:
        exc = errors.get(job.id)
        if exc is not None and not isinstance(exc, _Skipped):
            others = [k for k, e in errors.items() if k != job.id and not isinstance(e, _Skipped)]
            skipped = [k for k, e in errors.items() if isinstance(e, _Skipped)]
            if isinstance(exc, ReelforgeError):
                note = ""
                if others:
                    note += f" (also failed: {', '.join(others)})"
                if skipped:
                    note += f" (not started: {', '.join(skipped)})"
                msg = str(exc) if str(exc).startswith("shot ") else f"shot {job.id}: {exc}"
                exc.args = (msg + note,)
            raise exc
    return results


class _Skipped(Exception):
    """A shot not started because another failed."""

