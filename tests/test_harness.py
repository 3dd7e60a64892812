"""The shared fixtures work: a live server that a real browser can load."""

import pytest


@pytest.mark.browser
def test_browser_loads_the_demo_index(asgi_server, browser):
    page = browser.new_page()
    try:
        page.goto(asgi_server.url + "/")
        assert "Sign in" in page.content() and "1234" in page.content()
        assert "Broadcast message" not in page.content()  # messages are for signed-in users only
    finally:
        page.close()


def test_db_fixture_rolls_back(db):
    from notify.models import Message

    Message.objects.all().delete()
    assert not Message.objects.exists()


def test_seeded_data_is_back(db):
    from notify.models import Message

    assert Message.objects.count() == 79  # the rows of the spec's AllMessages table
