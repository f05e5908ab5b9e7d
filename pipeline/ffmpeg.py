"""The one door to ffmpeg. Nothing else in reelforge starts it.

- locate it (REELFORGE_FFMPEG, imageio-ffmpeg's binary, PATH) and ask what it can do;
- write the standard preamble of every command, and hand it file paths it cannot read
  as protocols (`media_path`);
- run a command with progress from `-progress pipe:1`, or quietly;
- open pipes: raw frames out of a decode, float samples out of a decode;
- measure loudness with the ebur128 filter and parse its log.
Errors become RenderError carrying the tail of ffmpeg's stderr."""

from __future__ import annotations

import collections
import functools
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from pipeline.errors import InputError, RenderError
from pipeline.progress import Reporter, default_reporter

if TYPE_CHECKING:
    import numpy as np

STDERR_TAIL_LINES = 12

# ffmpeg processes started by run_ffmpeg that are still running (stop_running ends them).
_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()
_STOPPING = threading.Event()  # set by stop_running until resume_running


def stop_running() -> None:
    """Kill every ffmpeg process run_ffmpeg started that is still running (an interrupted
    run stopping its worker threads' renders); each caller then cleans up after itself.
    Until resume_running(), a process started meanwhile (its worker was between checking
    for the interruption and starting ffmpeg) is killed as soon as it is registered."""
    with _RUNNING_LOCK:
        _STOPPING.set()
        procs = list(_RUNNING)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()


def resume_running() -> None:
    """Let run_ffmpeg start processes again after stop_running()."""
    _STOPPING.clear()


@functools.lru_cache(maxsize=None)
def ffmpeg_exe() -> str:
    """REELFORGE_FFMPEG if set, else imageio-ffmpeg's binary, else `ffmpeg` on PATH."""
    env = os.environ.get("REELFORGE_FFMPEG")
    if env:
        if not (Path(env).is_file() and os.access(env, os.X_OK)):
            raise InputError(f"REELFORGE_FFMPEG={env}: not an executable file")
        return env
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        if exe and Path(exe).is_file():
            return exe
    except Exception:  # pragma: no cover - package missing or no binary for this platform
        pass
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise RenderError("ffmpeg not found: set REELFORGE_FFMPEG, or pip install imageio-ffmpeg")


# How long a capability query (-version, -encoders, -filters) may take; a real ffmpeg
# answers in well under a second.
QUERY_TIMEOUT = 10.0


def _query(*args: str) -> str:
    """stdout of a quick ffmpeg query. A binary that does not answer in QUERY_TIMEOUT is
    killed with everything it started, and reported as one line naming it."""
    import signal

    exe = ffmpeg_exe()
    proc = subprocess.Popen([exe, "-hide_banner", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, errors="replace", start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=QUERY_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        where = "REELFORGE_FFMPEG=" if os.environ.get("REELFORGE_FFMPEG") else ""
        error = InputError if where else RenderError
        raise error(f"{where}{exe}: ffmpeg did not answer `{' '.join(args)}` within {QUERY_TIMEOUT:g} s") from None
    return out or ""


@functools.lru_cache(maxsize=None)
def ffmpeg_version() -> str:
    first = _query("-version").splitlines()[:1]
    return first[0] if first else "unknown"


@functools.lru_cache(maxsize=None)
def ffmpeg_capabilities() -> tuple[frozenset[str], frozenset[str]]:
    """(encoders, filters) the located ffmpeg offers."""

    def names(kind: str, col: int) -> frozenset[str]:
        result = set()
        for line in _query(f"-{kind}").splitlines():
            parts = line.split()
            if len(parts) > col and not line.startswith(" ="):
                result.add(parts[col])
        return frozenset(result)

    return names("encoders", 1), names("filters", 1)


# ---- commands ----------------------------------------------------------------------------
def media_path(path: str | os.PathLike[str]) -> str:
    """A file path as ffmpeg must be given it: absolute, so it is never read as a protocol.

    ffmpeg reads `name:` at the start of an argument as a protocol, so a file called
    `file:z.mp4` would open `z.mp4`, and `x:y.mp4` or `concat:a|b.mp4` would fail. An
    absolute path begins with `/` (or a drive letter, which ffmpeg recognises) and so
    always names the file itself. Every input and output path goes through here."""
    return str(Path(os.fspath(path)).absolute())


def preamble(*, progress: bool = False, loglevel: str = "error", overwrite: bool = True) -> list[str]:
    """The start of every ffmpeg command: the binary, no banner, no stdin, no stats line,
    the log level; `-y` because ffmpeg only ever writes a temporary file reelforge chose
    (whether a user's file may be replaced is decided before ffmpeg starts); with
    `progress`, key=value progress on stdout for run_ffmpeg."""
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", loglevel]
    if overwrite:
        argv.append("-y")
    if progress:
        argv += ["-progress", "pipe:1"]
    return argv


def graph_argv(node: Any, *, progress: bool = False, loglevel: str = "error") -> list[str]:
    """The command for an ffmpeg-python output node: the preamble, then its arguments."""
    return [*preamble(progress=progress, loglevel=loglevel), *node.get_args()]


def run_ffmpeg(
    argv: Sequence[str],
    duration: float,
    label: str = "render",
    reporter: Reporter | None = None,
) -> None:
    """Run ffmpeg; argv must already contain `-progress pipe:1`. Raises RenderError."""
    reporter = reporter or default_reporter()
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    with _RUNNING_LOCK:
        _RUNNING.add(proc)
        if _STOPPING.is_set():
            proc.kill()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            line = line.rstrip()
            if line:
                tail.append(line)

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    try:
        with reporter.task(label, duration) as task:
            assert proc.stdout is not None
            speed: float | None = None
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and value.lstrip("-").isdigit():
                    task.update(max(0, int(value)) / 1e6, speed)
                elif key == "speed" and value.endswith("x"):
                    try:
                        speed = float(value[:-1])
                    except ValueError:
                        speed = None
            code = proc.wait()
            t.join(timeout=5)
            if code != 0:
                raise RenderError(f"{label}: ffmpeg failed (exit {code})", "\n".join(tail))
    except BaseException:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        t.join(timeout=5)
        raise
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(proc)


def run_ffmpeg_quiet(argv: Sequence[str], what: str = "ffmpeg", timeout: float | None = None) -> bytes:
    """Run a short ffmpeg command, return stdout; RenderError with stderr tail on failure
    (or when it runs longer than `timeout` seconds)."""
    try:
        proc = subprocess.run(list(argv), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"{what}: ffmpeg did not finish within {timeout:g} s") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-STDERR_TAIL_LINES:]
        raise RenderError(f"{what}: ffmpeg failed (exit {proc.returncode})", "\n".join(err))
    return proc.stdout


# ---- pipes -------------------------------------------------------------------------------
def frame_pipe(args: Sequence[str], shape: tuple[int, ...], what: str) -> Iterator[np.ndarray]:
    """Decode with `args` (input options, input and filters) and yield raw frames one at a
    time as uint8 arrays of `shape`: (h, w) gray or (h, w, 3) RGB. Nothing holds more than
    a frame; ffmpeg is stopped when the consumer stops early. RenderError when ffmpeg
    fails before the first frame (a decode that ends cleanly with none yields nothing)."""
    import numpy as np

    pix_fmt = "gray" if len(shape) == 2 else "rgb24"
    size = int(np.prod(shape))
    argv = [*preamble(overwrite=False), *args, "-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            bufsize=size * 8)
    assert proc.stdout is not None and proc.stderr is not None
    err: list[bytes] = []
    drain = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    drain.start()
    count = 0
    finished = False
    try:
        while True:
            buf = proc.stdout.read(size)
            if len(buf) < size:
                break
            count += 1
            yield np.frombuffer(buf, dtype=np.uint8).reshape(shape)
        finished = True
    finally:
        if not finished and proc.poll() is None:
            proc.kill()  # the consumer stopped early
        proc.stdout.close()
        code = proc.wait()
        drain.join(timeout=5)
    if code != 0 and count == 0:
        text = b"".join(err).decode("utf-8", "replace").strip()
        raise RenderError(f"{what}: could not decode frames for analysis", text[-800:])


def sample_pipe(args: Sequence[str], sample_rate: int, channels: int, what: str) -> np.ndarray:
    """Decode the audio of `args` (input options and input) to float32 samples: shape (n,)
    for one channel, (n, channels) otherwise; empty when there is no audio stream.
    InputError when the input is not media, RenderError for any other failure."""
    import numpy as np

    argv = [*preamble(overwrite=False), *args, "-vn", "-ac", str(channels), "-ar", str(sample_rate),
            "-f", "f32le", "pipe:1"]
    proc = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL)
    empty_shape = (0,) if channels == 1 else (0, channels)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")
        if "does not contain any stream" in err or "matches no streams" in err:
            return np.zeros(empty_shape, dtype=np.float32)
        if "Invalid data" in err:
            raise InputError(f"{what}: cannot decode audio")
        raise RenderError(f"{what}: audio decode failed", err.strip()[-800:])
    data = np.frombuffer(proc.stdout, dtype=np.float32)
    return data if channels == 1 else data.reshape(-1, channels)


# ---- loudness (ebur128) ------------------------------------------------------------------
@dataclass(frozen=True)
class Ebur128:
    """What ffmpeg's ebur128 filter reported. Levels at or below -70 LUFS (silence) and
    values it could not give are None."""

    integrated_lufs: float | None
    lra_lu: float | None
    true_peak_dbtp: float | None
    # (t, momentary LUFS, short-term LUFS) every 100 ms, when the per-frame log was asked for
    frames: tuple[tuple[float, float | None, float | None], ...] = ()


_FRAME_LINE = re.compile(r"t:\s*([\d.]+)\s+TARGET:.*?M:\s*(-?[\d.]+|-inf|nan)\s+S:\s*(-?[\d.]+|-inf|nan)")


def _level(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if x > -70 else None


def parse_ebur128(log: str) -> Ebur128:
    """Parse ebur128's stderr: the per-frame lines and the final Summary block."""
    frames = []
    for line in log.splitlines():
        m = _FRAME_LINE.search(line)
        if m:
            frames.append((float(m.group(1)), _level(m.group(2)), _level(m.group(3))))
    summary = log[log.rfind("Summary:"):] if "Summary:" in log else ""

    def grab(label: str) -> float | None:
        m = re.search(r"\b" + label + r":\s*(-?[\d.]+|-inf)", summary)
        return None if not m or m.group(1) == "-inf" else float(m.group(1))

    integrated = grab("I")
    if integrated is not None and integrated <= -70:
        integrated = None
    return Ebur128(integrated, grab("LRA"), grab("Peak"), tuple(frames))


def ebur128(args: Sequence[str], *, true_peak: bool = True, per_frame: bool = False,
            what: str = "loudness measurement", strict: bool = True) -> Ebur128:
    """Measure the audio of an input given as argv (e.g. ["-i", media_path(p)]) with the
    ebur128 filter (ITU-R BS.1770 / EBU R128; true peak 4x oversampled when asked).
    With `strict`, a failing ffmpeg is a RenderError; otherwise what it logged is parsed."""
    options = ["peak=true"] if true_peak else []
    options.append("framelog=info" if per_frame else "framelog=quiet")
    argv = [*preamble(loglevel="info", overwrite=False), *args, "-vn", "-af", "ebur128=" + ":".join(options),
            "-f", "null", "-"]
    proc = subprocess.run(argv, capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL)
    if strict and proc.returncode != 0:
        raise RenderError(f"{what} failed", proc.stderr.strip()[-800:])
    return parse_ebur128(proc.stderr)


# ---- libraries that start ffmpeg themselves ----------------------------------------------
def lend_to_moviepy() -> None:
    """moviepy (which runs user frame effects) starts ffmpeg itself, through imageio; point
    it at this ffmpeg. Paths handed to it still go through media_path."""
    os.environ.setdefault("IMAGEIO_FFMPEG_EXE", ffmpeg_exe())


def lend_to_pydub(module: Any) -> None:
    """pydub looks for ffmpeg only on PATH; point it at this one."""
    module.AudioSegment.converter = ffmpeg_exe()
