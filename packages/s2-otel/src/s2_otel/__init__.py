"""An OpenTelemetry span exporter that writes spans to S2 streams."""

from importlib.metadata import version as _version

__version__ = _version("s2-otel")

__all__ = ["__version__"]
