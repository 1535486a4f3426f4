"""The shop's Django project; its Celery app loads with it, so ``@shared_task`` uses it."""

from shop_site.celery import app as celery_app

__all__ = ["celery_app"]
