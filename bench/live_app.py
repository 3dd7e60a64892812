"""The demo's ASGI app plus one endpoint that emits a broadcast, for bench_live only."""

from __future__ import annotations

import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.chatter.settings")

from asgiref.sync import sync_to_async  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_app = get_asgi_application()


def _broadcast() -> None:
    from notify.models import Message

    Message.create_message(None, subject="Benchmark broadcast", body=f"sent at {time.time()}")


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/bench/broadcast":
        await sync_to_async(_broadcast)()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await django_app(scope, receive, send)
