"""Test helpers of django-notify-kit."""
