"""Orders: placed by a view, processed by a Celery task."""
