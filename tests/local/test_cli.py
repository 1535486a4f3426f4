"""`s2-local serve --help` documents every flag, and the server says where it listens."""

from __future__ import annotations

import argparse

from s2_local.cli import _parser
from s2_local.server import ServerProcess


def test_every_flag_is_documented() -> None:
    serve = next(
        a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)
    ).choices["serve"]
    flags = [a for a in serve._actions if a.option_strings and a.dest != "help"]
    assert {"--init-file", "--metrics-token", "--cors-origin", "--no-cors", "--tls-self"} <= {
        s for a in flags for s in a.option_strings
    }
    for action in flags:
        assert action.help and len(action.help) > 15, action.option_strings


def test_it_prints_where_it_listens_and_the_exports() -> None:
    server = ServerProcess().start()  # it parses the S2_ACCOUNT_ENDPOINT export line
    try:
        assert server.endpoint == f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()
