"""The shop's settings. Its S2 wiring is all here and in the environment:

- ``LOGGING``: every log record to the S2 stream ``logs`` of the shop's basin, through
  ``s2_logging.S2Handler`` on the root logger (Celery's worker keeps it: see s2-logging);
- ``CELERY_RESULT_BACKEND``: task results in S2 (``s2://BASIN/PREFIX``), Redis as broker;
- traces, logs and metrics: ``opentelemetry-instrument`` with the ``s2`` exporters, set by
  ``OTEL_*`` variables (``shop.env``), nothing in code.

Where S2 is comes from ``S2_ACCESS_TOKEN``, ``S2_ACCOUNT_ENDPOINT`` and ``S2_BASIN_ENDPOINT``.
"""

import os

BASIN = os.environ.get("SHOP_S2_BASIN", "django-shop")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "only-for-development")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
INSTALLED_APPS = ["orders"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "shop_site.urls"
WSGI_APPLICATION = "shop_site.wsgi.application"
DATABASES: dict[str, dict[str, str]] = {}  # orders live in Celery's results, in S2
USE_TZ = True
TIME_ZONE = "UTC"

CELERY_BROKER_URL = os.environ.get("SHOP_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = f"s2://{BASIN}/orders"
CELERY_RESULT_EXPIRES = 7 * 86400  # the results' streams' retention

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "s2": {"class": "s2_logging.S2Handler", "basin": BASIN, "stream": "logs"},
        "console": {"class": "logging.StreamHandler"},
    },
    "root": {"handlers": ["s2", "console"], "level": "INFO"},
}
