"""Build the chatter demo database: users, groups, comments and their notifications."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections, transaction

from notify.api import Message, Preferences, quietly

from .models import Comment, Group, Membership

#: The demo users' password, shown on the sign-in page.
DEMO_PASSWORD = "1234"
# make_password("1234") computed once: hashing at every build would cost a second.
_PASSWORD_HASH = "pbkdf2_sha256$1000000$chatterdemosalt0$+GLCZRRzAdyZ5zFLk9wMUJ7Og1koHnj4QiJmpncdSPA="

START = datetime.datetime(2024, 4, 6, 5, 48, tzinfo=datetime.UTC)

USERS = [
    # username, first name, last name, nickname, is administrator
    ("andy", "Andreas", "Anderson", "Andy", False),
    ("bert", "Albert", "Bernstein", "Bert", False),
    ("chloe", "Chloe", "Cleoment", "", False),
    ("robin", "Robin", "Rood", "", True),
]

GROUPS = {
    "Hitchhiker's Guide to the Galaxy": ["andy", "bert"],
    "Star Trek": ["chloe", "robin"],
    "Harry Potter": ["andy", "bert"],
}

AUTHORS = ["andy", "bert", "chloe", "robin"]
COMMENT_GROUPS = ["Harry Potter", "Star Trek", "Hitchhiker's Guide to the Galaxy"]

LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
    "et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut "
    "aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum "
    "dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui "
    "officia deserunt mollit anim id est laborum."
)

#: Rich-text bodies that the comments cycle through: what a notification body must survive.
BODIES = [
    "<p>Hello everybody, this is my first comment here.</p>",
    "<p>Here is the plan for our next meeting:</p><table><thead><tr><th>Day</th><th>Topic</th></tr></thead>"
    "<tbody><tr><td>Monday</td><td>Reading</td></tr><tr><td>Thursday</td><td>Discussion</td></tr></tbody>"
    "</table>",
    '<p class="MsoNormal" style="margin-bottom:0cm;line-height:normal"><span style="font-size:11.0pt;'
    'font-family:&quot;Calibri&quot;,sans-serif;mso-fareast-language:DE">Pasted from my word processor: '
    '<b>bold</b>, <i>italic</i> and a non-breaking&nbsp;space.</span></p>',
    '<p>Have a look at what the <a href="/groups/2/">Star Trek</a> group says about this, '
    'and at <a href="https://example.org/faq">the FAQ</a>.</p>',
    "".join(f"<p>{LOREM}</p>" for _ in range(4)),
    "<ul><li>Bring the towel</li><li>Don't panic</li><li>Know where your towel is</li></ul>",
    "<p>Größe &amp; «Anführungszeichen» &lt;3 — ça va? 42 &gt; 41.</p>",
    "<pre>print(&quot;hello, world&quot;)</pre><p>Why does this not work?</p>",
]


def build(using: str = "default") -> None:
    """Migrate an empty database and fill it with the demo data."""
    with _no_fsync(connections[using]):
        call_command("migrate", database=using, verbosity=0, interactive=False)
        # The demo's messages are history: no open page or desktop is to hear of them now.
        with quietly(), transaction.atomic(using=using):
            seed()


@contextlib.contextmanager
def _no_fsync(connection: Any) -> Iterator[None]:
    """Skip SQLite's fsyncs while a new file is built: a crash leaves nothing worth keeping anyway."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA journal_mode=MEMORY")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            # Write-ahead logging stays with the file: commits then need no disk flush (with
            # synchronous=NORMAL, which the settings set on every connection).
            cursor.execute("PRAGMA journal_mode=WAL")
        connection.close()


def seed() -> None:
    """Create the demo users, groups, comments and notification messages."""
    user_model = get_user_model()
    users = {}
    for username, first, last, _nick, admin in USERS:
        users[username] = user_model(
            username=username, first_name=first, last_name=last, email=f"{username}@chatter.localhost",
            password=_PASSWORD_HASH, is_staff=admin, is_superuser=admin, date_joined=START,
        )
    user_model.objects.bulk_create(users.values())
    users = {u.username: u for u in user_model.objects.order_by("username")}
    Preferences.objects.bulk_create(
        Preferences(user=users[name], nickname=nick, mail_mode="often", language="en")
        for name, _first, _last, nick, _admin in USERS
    )
    groups = {name: Group(name=name) for name in GROUPS}
    Group.objects.bulk_create(groups.values())
    groups = {g.name: g for g in Group.objects.all()}
    Membership.objects.bulk_create(
        Membership(group=groups[g], user=users[u]) for g, members in GROUPS.items() for u in members
    )

    Message.create_message(None, subject="Broadcast message", body="The database has been initialized.",
                           created=START)
    for user in users.values():
        if user.first_name:
            Message.create_message(user, subject=f"Welcome on board, {user.first_name}.", created=START,
                                   sent=START)

    for n in range(1, 55):
        author = users[AUTHORS[(n - 7) % 4]]
        group = groups[COMMENT_GROUPS[((n - 7) // 7) % 3]]
        created = START + datetime.timedelta(minutes=n, microseconds=250_000 + n)
        comment = Comment.objects.create(group=group, author=author, body=BODIES[n % len(BODIES)],
                                         created=created)
        if n >= 7:
            comment.notify_members(author)
