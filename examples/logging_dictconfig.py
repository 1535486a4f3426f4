"""Application logs into S2 with a dictConfig'd handler, then read back by level."""

import logging
import logging.config
import os

from s2_logging import read_log_events
from s2_sdk.sync import connect

BASIN = os.environ.get("S2_EXAMPLE_BASIN", "python-examples")

with connect() as s2:  # token and endpoints from the S2_* variables
    s2.ensure_basin(BASIN)

logging.config.dictConfig(
    {
        "version": 1,
        "handlers": {
            "s2": {
                "class": "s2_logging.S2Handler",
                "basin": BASIN,
                "stream": "logs/{name}",  # one stream per logger
                "level": "INFO",
            },
        },
        "loggers": {"payments": {"handlers": ["s2"], "level": "INFO"}},
    }
)
log = logging.getLogger("payments")
log.info("payment accepted", extra={"amount_cents": 1299})
try:
    refund = 1299 // 0
except ZeroDivisionError:
    log.exception("refund failed")
logging.shutdown()  # delivers what is still queued

events = list(read_log_events(BASIN, "logs/payments", level="ERROR"))
print(events[-1]["message"], "-", events[-1]["exception"]["type"])
assert events[-1]["message"] == "refund failed"
assert events[-1]["exception"]["type"] == "ZeroDivisionError"
