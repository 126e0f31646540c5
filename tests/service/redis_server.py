"""A real redis-server process for tests: a free loopback port, its own temporary folder,
and append-only persistence, so a test can kill it and start it again on the same data."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
MISSING = "redis-server is not installed (scripts/redis-setup.sh installs it as root)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One redis-server on 127.0.0.1; ``kill`` and ``start`` keep its port and data.

    Args:
        folder: its working folder (the append-only file lives there).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.folder),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
                "--daemonize", "no",
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def wipe(self) -> None:
        """Deletes its data (a server restarted without its append-only file)."""
        assert self.process is None, "kill the server first"
        shutil.rmtree(self.folder)
        self.folder.mkdir()

    def kill(self) -> None:
        """Kills the server at once (SIGKILL: no clean shutdown)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def redis_server(folder: Path) -> RedisServer:
    """A started server, or a skip with the reason when redis-server is missing."""
    if not Path(REDIS_SERVER).exists():
        pytest.skip(MISSING)
    folder.mkdir(parents=True, exist_ok=True)
    server = RedisServer(folder)
    server.start()
    return server
