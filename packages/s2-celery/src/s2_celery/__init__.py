"""A Celery result backend and task-event capture on S2 streams."""

from importlib.metadata import version as _version

__version__ = _version("s2-celery")

__all__ = ["__version__"]
