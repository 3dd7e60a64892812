"""Leases: which running job holds which claimed rows, and when a holder is dead.

A job run (a mail run, a push run, a scheduled job) takes a :class:`~notify.models.Lease` with a
fresh token, writes that token into the rows it claims, renews the lease's heartbeat while it
works and deletes the lease when it ends, even on SIGTERM. A run that was killed (SIGKILL, OOM, a
lost machine) leaves its lease behind: :func:`reap` deletes leases whose heartbeat is older than
``NOTIFY['claim_timeout']`` and, at once, those of processes on this host that no longer exist, so
the next run takes over the rows well before the timeout. A row is claimed while its token names
a lease that exists.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from django.db import DatabaseError, connections
from django.db.models import QuerySet
from django.utils import timezone

from .conf import notify_settings
from .models import Lease
from .signals import lease_reaped

logger = logging.getLogger("notify.jobs")

HOST = socket.gethostname()[:255]


def new_token() -> str:
    """Return a fresh token: ten digits of Unix time, then 22 random hex digits."""
    return f"{int(time.time()):010d}{secrets.token_hex(11)}"


def process_alive(pid: int) -> bool:
    """Tell whether process ``pid`` of this host still runs (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


class Held:
    """A lease held by this process: renew it while working, release it at the end."""

    def __init__(self, job: str, token: str | None = None) -> None:
        self.job = job
        self.token = token or new_token()
        self.interval = float(notify_settings.claim_timeout) / 4
        now = timezone.now()
        Lease.objects.create(token=self.token, job=job, host=HOST, pid=os.getpid(), started=now, heartbeat=now)
        self.renewed = time.monotonic()

    def renew(self, force: bool = False) -> None:
        """Write a new heartbeat when a quarter of the claim timeout has passed since the last one."""
        if force or time.monotonic() - self.renewed >= self.interval:
            Lease.objects.filter(token=self.token).update(heartbeat=timezone.now())
            self.renewed = time.monotonic()

    @contextlib.contextmanager
    def kept_alive(self) -> Iterator[None]:
        """Renew the heartbeat from a thread while the block runs (for jobs that cannot renew it themselves)."""
        stop = threading.Event()

        def beat() -> None:
            try:
                while not stop.wait(self.interval):
                    try:
                        self.renew(force=True)
                    except DatabaseError as exc:
                        logger.warning("Cannot renew the lease of job %s: %s", self.job, exc)
            finally:
                connections.close_all()

        thread = threading.Thread(target=beat, name=f"notify-lease-{self.job}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(5)

    def release(self) -> None:
        """Delete the lease: whatever it still holds is free."""
        Lease.objects.filter(token=self.token).delete()

    def __enter__(self) -> Held:
        self._outer = _current.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _current.reset(self._outer)
        self.release()


_current: contextvars.ContextVar[Held | None] = contextvars.ContextVar("notify_lease", default=None)


@contextlib.contextmanager
def held(job: str) -> Iterator[Held]:
    """Yield the lease that this run already holds (a job's, see :func:`notify.jobs.run_job`), else a new one.

    A mail or push run inside a scheduled job claims its rows under the job's lease, so a run
    has one lease, one heartbeat and one death to notice.
    """
    current = _current.get()
    if current is not None:
        yield current
        return
    with Held(job) as lease:
        yield lease


def reap() -> list[str]:
    """Delete the leases of dead runs and return their tokens."""
    cutoff = timezone.now() - datetime.timedelta(seconds=float(notify_settings.claim_timeout))
    dead = []
    for lease in Lease.objects.only("token", "job", "host", "pid", "heartbeat"):
        if lease.heartbeat < cutoff:
            cause = f"no heartbeat since {lease.heartbeat:%Y-%m-%d %H:%M:%S}"
        elif lease.host == HOST and not process_alive(lease.pid):
            cause = f"process {lease.pid} is gone"
        else:
            continue
        logger.warning("Job %s on %s:%s died (%s); its claims are free again.", lease.job, lease.host,
                       lease.pid, cause)
        dead.append(lease.token)
    if dead:
        Lease.objects.filter(token__in=dead).delete()
        for receiver, result in lease_reaped.send_robust(sender=Lease, tokens=dead):
            if isinstance(result, Exception):
                logger.error("A receiver of lease_reaped failed (%s): %s: %s",
                             getattr(receiver, "__qualname__", receiver), type(result).__name__, result)
    return dead


def live_tokens() -> QuerySet[Lease, str]:
    """Return a subquery of the tokens of the leases that exist."""
    return Lease.objects.values_list("token", flat=True)
