"""Live delivery under load: 200 server-sent-event clients at once receive one broadcast."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from .harness import Result

CLIENTS = 200
ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sessions(count: int) -> list[str]:
    """Create ``count`` users with a signed-in session each and return the session keys."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    model = get_user_model()
    prefix = f"live{uuid.uuid4().hex[:6]}"
    users = [model(username=f"{prefix}{i:04d}") for i in range(count)]
    for user in users:
        user.set_unusable_password()
    model.objects.bulk_create(users)
    keys = []
    for user in model.objects.filter(username__startswith=prefix).order_by("username"):
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        keys.append(store.session_key)
    return keys


async def _client(base: str, key: str, ready: asyncio.Event, connected: list, received: dict, idx: int,
                  session) -> None:
    async with session.get(base + "/notify/live/", cookies={"sessionid": key}) as response:
        if response.status != 200:
            raise RuntimeError(f"stream answered {response.status}")
        kind = ""
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "count" and idx not in connected:
                connected.append(idx)
                if len(connected) == CLIENTS:
                    ready.set()
            elif line.startswith("data: ") and kind == "message" and "Benchmark broadcast" in line:
                received[idx] = time.perf_counter()
                return


async def _measure(base: str, keys: list[str], pid: int) -> tuple[list[float], int, int, float]:
    import aiohttp
    import psutil

    server = psutil.Process(pid)
    rss_idle = server.memory_info().rss
    ready, connected, received = asyncio.Event(), [], {}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        tasks = [asyncio.create_task(_client(base, k, ready, connected, received, i, session))
                 for i, k in enumerate(keys)]
        await asyncio.wait_for(ready.wait(), TIMEOUT)
        connect_seconds = time.perf_counter() - start
        rss_connected = server.memory_info().rss
        sent = time.perf_counter()
        async with session.post(base + "/bench/broadcast") as answer:
            assert answer.status == 204, answer.status
        await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    latencies = sorted(received[i] - sent for i in range(len(keys)))
    return latencies, rss_idle, rss_connected, connect_seconds


def _serve(env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.live_app:application", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--lifespan", "off", "--timeout-graceful-shutdown", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("uvicorn did not start")


def _redis_url() -> str | None:
    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=0.5).ping()
    except Exception:  # noqa: BLE001 - no Redis: measure the embedded broker only
        return None
    return "redis://127.0.0.1:6379/0"


def run() -> list[Result]:
    import notify.lino

    notify.lino.startup("demo.chatter.settings")
    keys = _sessions(CLIENTS)
    results = []
    variants = [("in-process broker", {})]
    redis_url = _redis_url()
    if redis_url:
        variants.append(("Redis broker", {"NOTIFY_LIVE_REDIS_URL": redis_url,
                                          "NOTIFY_LIVE_REDIS_CHANNEL": f"notify-bench-{uuid.uuid4().hex[:6]}"}))
    for label, extra in variants:
        port = _free_port()
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="demo.chatter.settings", **extra)
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        process = _serve(env, port)
        try:
            latencies, idle, connected, connect_s = asyncio.run(
                _measure(f"http://127.0.0.1:{port}", keys, process.pid))
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        note = (f"{len(latencies)}/{CLIENTS} received; p99 {p99 * 1000:.0f} ms; max {latencies[-1] * 1000:.0f} ms; "
                f"all connected in {connect_s:.2f} s; server RSS {idle / 2**20:.0f} MiB idle, "
                f"{connected / 2**20:.0f} MiB with {CLIENTS} streams")
        result = Result(f"broadcast to {CLIENTS} live clients, p50 ({label})", p50, None, "p99 < 1 s", "")
        result.notes.append(note)
        results.append(result)
        results.append(Result(f"broadcast to {CLIENTS} live clients, p99 ({label})", p99, None, "< 1 s", ""))
    return results
