"""A small threaded HTTP server base for the provider test doubles: real sockets on
127.0.0.1, a request log, and injectable faults (an error status once, a dropped
connection); and ScriptedServer, which answers from a script of responses."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int = 500  # 0: drop the connection without answering
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1


@dataclass
class Logged:
    method: str
    path: str
    headers: dict[str, str]
    at: float
    status: int = 0


class FakeServer:
    """Subclasses implement handle(method, path, headers, body) -> (status, headers, body)."""

    prefix = ""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.log: list[Logged] = []
        self.faults: list[Fault] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                entry = Logged(self.command, self.path, headers, time.monotonic())
                with outer.lock:
                    outer.log.append(entry)
                    fault = outer._take_fault(self.command, self.path)
                if fault is not None:
                    if fault.status == 0:
                        self.close_connection = True
                        return
                    out = fault.body if fault.body is not None else {"error": "injected"}
                    self._send(fault.status, fault.headers, out, entry)
                    return
                try:
                    status, hdrs, out = outer.handle(self.command, self.path, headers, body)
                except Exception as exc:  # noqa: BLE001 - a bug in the double must show
                    status, hdrs, out = 599, {}, {"error": f"fake server crashed: {exc!r}"}
                self._send(status, hdrs, out, entry)

            def _send(self, status: int, hdrs: dict[str, str], out: Any, entry: Logged) -> None:
                entry.status = status
                if isinstance(out, (dict, list)):
                    data = json.dumps(out).encode()
                    hdrs = {"Content-Type": "application/json", **hdrs}
                else:
                    data = out if isinstance(out, bytes) else str(out).encode()
                self.send_response(status)
                for k, v in hdrs.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> "FakeServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def inject(self, method: str, path_prefix: str, status: int, headers: dict[str, str] | None = None,
               body: Any = None, times: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(method, path_prefix, status, headers or {}, body, times))

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for f in self.faults:
            if f.method == method and path.startswith(f.path_prefix) and f.times > 0:
                f.times -= 1
                return f
        return None

    def requests(self, method: str, path_prefix: str) -> list[Logged]:
        with self.lock:
            return [e for e in self.log if e.method == method and e.path.startswith(path_prefix)]

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError


class ScriptedServer(FakeServer):
    """Answers every request from `responses` (status, headers, body) in order, the last
    one repeating, and records each in `received` (path, query, headers looked up in any
    case, JSON body). Use as a context manager."""

    def __init__(self, responses: list[tuple[int, dict[str, str], bytes]]) -> None:
        super().__init__()
        self.responses = list(responses)
        self.received: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return self.origin

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        import httpx

        route, _, query = path.partition("?")
        with self.lock:
            self.received.append({"path": route, "query": query, "headers": httpx.Headers(headers),
                                  "json": json.loads(body or b"null")})
            return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


def clip_frames(path: Any) -> tuple[Any, Any]:
    """(first, last) decoded frames of a clip as BGR uint8 arrays."""
    import av

    first = last = None
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            arr = frame.to_ndarray(format="bgr24")
            if first is None:
                first = arr
            last = arr
    return first, last


def image_difference(received: bytes, reference: Any) -> float:
    """Mean absolute difference (0-255) between a received image and a reference frame,
    compared at the reference's size."""
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(received, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return 255.0
    h, w = reference.shape[:2]
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    return float(np.abs(img.astype(np.int16) - reference.astype(np.int16)).mean())


def run_cli_bg(*args: str, env: dict[str, str], cwd: Any = None) -> Any:
    """Start the CLI in a subprocess (for interrupting it)."""
    import os
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "pipeline", *args], env={**os.environ, **env}, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(cond: Any, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for the server")
        time.sleep(0.02)
