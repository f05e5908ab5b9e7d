"""A real Ray cluster for the tests: a head and a second node on 127.0.0.1, each started
with `ray start` (one CPU, a small object store) in a session of its own, and stopped by
the tests themselves: every process each node started, and their descendants, by pid.
(`ray stop --force` would also stop any other cluster of this user on the machine.)"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

OBJECT_STORE = 80 * 1024 * 1024  # bytes per node: Ray's minimum is 75 MiB


def ray_exe() -> str:
    return str(Path(sys.executable).with_name("ray"))


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        kids.setdefault(int(fields[1]), []).append(int(entry))
    return kids


def _group(pgid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def descendants(roots: list[int]) -> list[int]:
    kids, seen, todo = _children(), set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo += kids.get(pid, [])
    return sorted(seen)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class Cluster:
    temp_dir: Path
    address: str = ""  # the head's GCS, HOST:PORT
    client_address: str = ""  # the head's Ray Client server, ray://HOST:PORT
    groups: list[int] = field(default_factory=list)  # one process group per `ray start`
    env: dict[str, str] = field(default_factory=dict)

    def processes(self) -> list[int]:
        roots = [p for g in self.groups for p in _group(g)]
        return [p for p in descendants(roots) if alive(p)]

    def start_node(self, *args: str, cpus: int = 1) -> None:
        proc = subprocess.Popen(
            [ray_exe(), "start", "--node-ip-address", "127.0.0.1", "--num-cpus", str(cpus),
             "--object-store-memory", str(OBJECT_STORE), "--disable-usage-stats", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env={**os.environ, **self.env})
        self.groups.append(proc.pid)  # its own session: the pgid of all it starts
        out, _ = proc.communicate(timeout=180)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start failed:\n{out[-3000:]}")

    def wait_for_nodes(self, count: int, timeout: float = 90.0) -> None:
        """Until the head lists `count` active nodes (a joining node registers after
        `ray start` returns)."""
        deadline = time.monotonic() + timeout
        while True:
            status = subprocess.run([ray_exe(), "status", "--address", self.address], capture_output=True,
                                    text=True, env={**os.environ, **self.env}, timeout=60).stdout
            active = status.split("Active:", 1)[-1].split("Pending:", 1)[0]
            if active.count("node_") >= count:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster has not {count} nodes after {timeout:.0f} s:\n{status}")
            time.sleep(0.5)

    def stop(self) -> list[int]:
        """Stop every process of this cluster; returns those still alive afterwards."""
        pids = self.processes()
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and any(alive(p) for p in pids):
                time.sleep(0.1)
            pids = [p for p in pids if alive(p)]
            if not pids:
                break
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        return pids


def start_cluster(env: dict[str, str] | None = None, head_cpus: int = 1, node_cpus: int = 1) -> Cluster:
    """A head and one more node, both on 127.0.0.1 (one CPU each unless told)."""
    # Ray's socket paths must stay short: a short folder of its own under /tmp
    cluster = Cluster(Path(f"/tmp/rf-ray-{secrets.token_hex(3)}"), env=dict(env or {}))
    port = 20000 + secrets.randbelow(20000)
    try:
        cluster.start_node("--head", "--port", str(port), "--ray-client-server-port", str(port + 1),
                           "--temp-dir", str(cluster.temp_dir), "--include-dashboard", "false", cpus=head_cpus)
        cluster.address = f"127.0.0.1:{port}"
        cluster.client_address = f"ray://127.0.0.1:{port + 1}"
        cluster.start_node("--address", cluster.address, cpus=node_cpus)
        cluster.wait_for_nodes(2)
    except BaseException:
        cluster.stop()
        raise
    return cluster
