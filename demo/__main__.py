"""Run a demo project's management commands: ``python -m demo shell``, ``python -m demo runserver``."""

import os
import sys


def main(argv: list[str]) -> None:
    """Run ``manage.py``-style commands for the chatter demo (``shell`` loads the doctest namespace)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.chatter.settings")
    if argv[1:2] == ["shell"]:
        import code

        import notify.lino

        notify.lino.startup()
        from notify.lino import doctest

        namespace = {name: getattr(doctest, name) for name in doctest.__all__}
        code.interact(banner="notify demo shell: rt, dd, settings are loaded; try rt.show('notify.AllMessages')",
                      local=namespace, exitmsg="")
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main(sys.argv)
