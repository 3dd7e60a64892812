"""Settings of the test suite: the demo's, on a working copy of the seeded database, with no background thread."""

from demo.chatter.settings import *  # noqa: F403 (the demo's settings, changed below)
from demo.chatter.settings import NOTIFY
from tests.support.database import working_database

DATABASES = {"default": working_database().settings()}
# No push thread in the test process: a test that wants one says so (job_backend "thread").
NOTIFY = {**NOTIFY, "job_backend": "cron"}
