"""s2-local: an S2-compatible server for development and tests, in memory or on disk."""

from importlib.metadata import version as _version

__version__ = _version("s2-local")

__all__ = ["__version__"]
