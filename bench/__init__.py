"""Benchmarks of django-notify-kit: ``python -m bench`` prints times and SQL query counts."""
