"""Run the real ``sleuth serve`` as a subprocess on a loopback port, and talk to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from agent.service.testing.wait import eventually


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(host: str, port: int) -> bool:
    """Whether something accepts connections there (tests skip when a service they need is absent)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class ServeProcess:
    def __init__(
        self,
        workdir: Path,
        args: list[str],
        *,
        env: dict[str, str] | None = None,
        port: int | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.queue = self.workdir / "queue.sqlite"
        self.port = port or free_port()
        self.args = args
        self.env = {**os.environ, "SLEUTH_DATA_DIR": str(self.workdir / "data"), **(env or {})}
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "serve.log"
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> ServeProcess:
        self.starts += 1
        log = self.log_path.open("ab")
        command = [
            sys.executable,
            "-m",
            "agent.cli",
            "serve",
            "--port",
            str(self.port),
            "--queue",
            str(self.queue),
        ]
        self.process = subprocess.Popen(
            [*command, *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
        )
        log.close()
        eventually(self._ready, timeout=self.start_timeout, what=f"sleuth serve on port {self.port} starting")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"sleuth serve exited with {self.process.returncode}:\n{self.log()}")
        try:
            return httpx.get(self.url("/healthz"), timeout=2.0).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL: a crash, not a shutdown."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
