"""The HTTP layer: the ASGI application, its route table and handlers, S2S sessions, and
the transport (hypercorn tuning, limits, drains). It calls the engine; nothing calls it
but the server."""
