"""``POST /orders`` places an order (a Celery task); ``GET /orders/<id>`` looks it up."""

import contextlib
import json
import logging

from celery.exceptions import TimeoutError as CeleryTimeout
from celery.result import AsyncResult
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from orders.tasks import process_order

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def place_order(request: HttpRequest) -> JsonResponse:
    """Body: ``{"item": "book", "quantity": 2}``. Answers the order's id (its task's)."""
    try:
        order = json.loads(request.body)
        item, quantity = str(order["item"]), int(order["quantity"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": 'expected {"item": ..., "quantity": ...}'}, status=400)
    result = process_order.delay(item, quantity)
    log.info("order placed", extra={"order_id": result.id, "item": item, "quantity": quantity})
    return JsonResponse({"order_id": result.id}, status=202)


@require_GET
def order_status(request: HttpRequest, order_id: str) -> JsonResponse:
    """The order's state, and its total once processed (``?wait=5`` waits for it)."""
    result = AsyncResult(order_id)
    wait = float(request.GET.get("wait", "0"))
    if wait > 0 and not result.ready():
        with contextlib.suppress(CeleryTimeout):
            result.get(timeout=min(wait, 30), propagate=False)
    body = {"order_id": order_id, "state": result.state}
    if result.successful():
        body["order"] = result.result
    elif result.failed():
        body["error"] = str(result.result)
    log.info("order looked up", extra={"order_id": order_id, "state": result.state})
    return JsonResponse(body)
