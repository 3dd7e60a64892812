"""Serve the demo from separate uvicorn processes that share Redis, for multi-process live tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def redis_skip_reason(url: str = "redis://127.0.0.1:6379/0") -> str | None:
    """Return why Redis cannot be used here, or None when it answers."""
    try:
        import redis
    except ImportError:
        return "the redis package is not installed"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any reason is a reason to skip
        return f"Redis does not answer at {url}: {exc}"
    return None


class ServerProcess:
    """One ``uvicorn demo.chatter.asgi:application`` process on a free port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "demo.chatter.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--timeout-graceful-shutdown", "1",
             "--lifespan", "off"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    @property
    def url(self) -> str:
        """Return the base URL."""
        return f"http://127.0.0.1:{self.port}"

    def wait(self, timeout: float = 15) -> None:
        """Wait until the process accepts connections."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("uvicorn did not start in time")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process.stderr.close()


class RedisCluster:
    """Two server processes on the test database that deliver live events through one Redis channel."""

    def __init__(self, count: int = 2, redis_url: str = "redis://127.0.0.1:6379/0") -> None:
        env = dict(os.environ, NOTIFY_LIVE_REDIS_URL=redis_url,
                   NOTIFY_LIVE_REDIS_CHANNEL=f"notify-test-{uuid.uuid4().hex[:8]}",
                   DJANGO_SETTINGS_MODULE="demo.chatter.settings")
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.servers = [ServerProcess(env) for _ in range(count)]

    def __enter__(self) -> list[ServerProcess]:
        try:
            for server in self.servers:
                server.wait()
        except Exception:
            self.__exit__()
            raise
        return self.servers

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            server.stop()
