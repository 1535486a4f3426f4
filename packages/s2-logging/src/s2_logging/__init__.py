"""s2-logging: a logging handler and a structlog sink that write log records to S2.

Example (``dictConfig``)::

    logging.config.dictConfig({
        "version": 1,
        "handlers": {"s2": {"class": "s2_logging.S2Handler", "basin": "my-basin",
                            "stream": "logs/{name}", "level": "INFO"}},
        "root": {"handlers": ["s2"], "level": "INFO"},
    })
"""

from importlib.metadata import version as _version

from s2_logging._format import S2JsonFormatter
from s2_logging.handler import S2Handler
from s2_logging.loguru_sink import S2LoguruSink
from s2_logging.reader import read_log_events

__version__ = _version("s2-logging")

__all__ = [
    "S2Handler",
    "S2JsonFormatter",
    "S2LoggerFactory",
    "S2LoguruSink",
    "__version__",
    "read_log_events",
]


def __getattr__(name: str) -> object:
    if name == "S2LoggerFactory":  # needs the optional structlog dependency
        from s2_logging.structlog_sink import S2LoggerFactory

        return S2LoggerFactory
    raise AttributeError(name)
