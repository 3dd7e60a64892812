"""Demo projects of django-notify-kit."""
