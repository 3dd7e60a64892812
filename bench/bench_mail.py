"""E-mail runs: send_summary_emails over the locmem backend and over real SMTP."""

from __future__ import annotations

from .harness import Result, measure

MODE = "weekly"


def _setup_messages(prefix: str, users: int, per_user: int) -> list[int]:
    from django.contrib.auth import get_user_model

    from demo.chatter.seed import BODIES
    from notify.models import Message

    model = get_user_model()
    model.objects.bulk_create(model(username=f"{prefix}{i:05d}", email=f"{prefix}{i:05d}@example.org")
                              for i in range(users))
    recipients = [(u, MODE) for u in model.objects.filter(username__startswith=prefix)]
    ids = []
    for n in range(per_user):
        body = BODIES[n % len(BODIES)]
        ids += [m.pk for m in Message.emit_notification(
            None, None, "system", lambda u, m, n=n, body=body: (f"Message {n} for {u.username}", body), recipients)]
    return ids


def _reset(ids: list[int]) -> None:
    from notify.models import Message

    Message.objects.filter(pk__in=ids).update(sent=None, mail_claim="")


def run() -> list[Result]:
    """Measure the e-mail runs that issue 3 names."""
    import notify.lino

    notify.lino.startup("demo.chatter.settings")
    from django.core import mail
    from django.test.utils import override_settings
    from django.utils import timezone

    from notify.mail import send_summary_emails
    from notify.models import Message
    from tests.support.smtpserver import SMTPServer

    Message.objects.filter(mail_mode=MODE, sent__isnull=True).update(sent=timezone.now())
    results = []
    small = _setup_messages("mailbench", 100, 10)
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        mail.outbox = []
        results.append(measure("send_summary_emails, 1,000 pending messages for 100 users (locmem)",
                               lambda: send_summary_emails(MODE), setup=lambda: _reset(small),
                               target="<= 6 queries; < 0.3 s", reference="3,003 queries; 2.01 s"))
        large = _setup_messages("mailbig", 1000, 10)
        results.append(measure("send_summary_emails, 10,000 pending messages for 1,000 users (locmem)",
                               lambda: send_summary_emails(MODE), setup=lambda: _reset(large),
                               target="< 2 s, same query count"))
    with SMTPServer() as server, override_settings(**server.settings()):
        row = measure("send_summary_emails, 1,000 messages for 100 users over SMTP (aiosmtpd)",
                      lambda: send_summary_emails(MODE), setup=lambda: _reset(small), target="1 SMTP connection")
        runs = 3
        row.notes.append(f"{server.inbox.connections / runs:g} SMTP connection(s) per run, "
                         f"{len(server.received) // runs} e-mails per run")
        results.append(row)
    return results
