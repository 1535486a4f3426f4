"""The console's routes: its page at ``/console`` (and every address under it, which the
page renders itself) and its static files at ``/console/static/``.

The page may only talk to the server that served it (``Content-Security-Policy``), so an
access token typed into it goes nowhere else.
"""

from __future__ import annotations

from importlib import resources

from s2_local.http.asgi import Request, Send, respond

__all__ = ["ConsoleHandlers"]

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
_HEADERS = (
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-cache"),
)


class ConsoleHandlers:
    """Serves the console's files, read once from the ``s2_local.console`` package."""

    def __init__(self) -> None:
        folder = resources.files("s2_local.console")
        self._files = {
            item.name: item.read_bytes()
            for item in folder.iterdir()
            if item.is_file() and any(item.name.endswith(suffix) for suffix in _TYPES)
        }

    async def root(self, req: Request, send: Send) -> None:
        """``/``: to the console."""
        await respond(send, 302, b"", None, [("location", "/console")])

    async def page(self, req: Request, send: Send, *address: str) -> None:
        """``/console`` and the addresses of its views: the page, which renders the view."""
        await self._send(send, "index.html")

    async def asset(self, req: Request, send: Send, name: str) -> None:
        """``/console/static/<name>``: one of the console's files."""
        if name == "index.html" or name not in self._files:
            await respond(send, 404)
            return
        await self._send(send, name)

    async def _send(self, send: Send, name: str) -> None:
        content_type = _TYPES[name[name.rindex(".") :]]
        await respond(send, 200, self._files[name], content_type, _HEADERS)
