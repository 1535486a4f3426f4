"""The order's processing, in the Celery worker."""

import logging
from typing import Any

from celery import shared_task

log = logging.getLogger(__name__)

PRICES = {"book": 12.5, "pen": 1.25, "lamp": 30.0}


@shared_task
def process_order(item: str, quantity: int) -> dict[str, Any]:
    """Price an order; the result goes to S2 through the result backend."""
    if item not in PRICES:
        log.warning("unknown item %s", item, extra={"item": item})
        raise ValueError(f"unknown item {item!r}")
    total = PRICES[item] * quantity
    log.info("order processed", extra={"item": item, "quantity": quantity, "total": total})
    return {"item": item, "quantity": quantity, "total": total}
