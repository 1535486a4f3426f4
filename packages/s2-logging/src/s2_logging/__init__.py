"""A logging handler and structlog sink that write log records to S2 streams."""

from importlib.metadata import version as _version

__version__ = _version("s2-logging")

__all__ = ["__version__"]
