"""Lino's vocabulary over the notify app: ``startup``, ``rt``, ``dd``, ``ActionRequest`` and the tables.

The core (:mod:`notify.api`) never imports this package. A project that speaks Lino adds
``"notify.lino"`` to ``INSTALLED_APPS`` (after ``"notify"``) and its doc pages start with
``from notify.lino import startup; startup("mysite.settings")`` and ``from notify.lino.doctest import *``.
"""

from __future__ import annotations

from .boot import startup

__all__ = ["startup"]
