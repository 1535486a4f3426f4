"""Every package README's Python examples run as written against s2-local.

Each block runs in its own interpreter with the ``S2_*`` variables pointing at the test
server (``<access-token>`` stands for its token, and the basin ``my-basin`` with its stream
``orders`` exists); a few lines added after a block check that its data reached S2. The
blocks run in any order (pytest-randomly).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from s2_local.pytest_plugin import S2TestServer
from s2_sdk.sync import connect

PACKAGES = Path(__file__).resolve().parents[2] / "packages"
BLOCKS = [
    (readme.parent.name, index, block)
    for readme in sorted(PACKAGES.glob("*/README.md"))
    for index, block in enumerate(re.findall(r"```python\n(.*?)```", readme.read_text(), re.S))
]
OUTPUT = {("s2-core", 0): "b'hello', b'world'"}
"""What the last line a block prints holds (records of other blocks may come before)."""
CHECKS = {
    ("s2-core", 1): """
from s2_sdk.sync import read_records
assert [r.body for r in read_records("my-basin", "orders")][-1] == b"hi"
""",
    ("s2-local", 0): """
from s2_sdk.sync import S2 as BlockingS2
with Server() as server, BlockingS2("t", endpoints=Endpoints(server.endpoint, server.endpoint)) as c:
    c.create_basin("readme-local")
    assert [b.name for b in c.list_all_basins()] == ["readme-local"]
""",
    ("s2-logging", 0): """
import json, logging
from s2_sdk.sync import read_records
logging.shutdown()
bodies = [json.loads(r.body) for r in read_records("my-basin", "logs/orders")]
assert bodies[-1]["message"] == "order placed" and bodies[-1]["extra"]["order_id"] == 42, bodies
print("logged")
""",
    ("s2-otel", 0): """
from s2_otel import read_traces
with trace.get_tracer("readme").start_as_current_span("pay"):
    pass
provider.shutdown()
names = [s.name for _, data in read_traces("my-basin", "traces/checkout")
         for rs in data.resource_spans for ss in rs.scope_spans for s in ss.spans]
assert names[-1] == "pay", names
print("traced")
""",
    ("s2-celery", 0): """
app.backend.set("readme", b"stored")
assert app.backend.get("readme") == b"stored"
print("stored")
""",
}


@pytest.fixture(scope="module")
def my_basin(s2_server: S2TestServer) -> None:
    with connect(s2_server.access_token, s2_server.account_endpoint) as client:
        client.ensure_basin("my-basin")
        client["my-basin"].ensure_stream("orders")  # the blocks run in any order


def test_every_readme_has_examples() -> None:
    assert {package for package, _, _ in BLOCKS} == {p.name for p in PACKAGES.iterdir()}


@pytest.mark.parametrize(
    ("package", "index", "block"), BLOCKS, ids=[f"{p}-{i}" for p, i, _ in BLOCKS]
)
def test_readme_block_runs(
    s2_env: S2TestServer, my_basin: None, package: str, index: int, block: str
) -> None:
    program = block.replace("<access-token>", s2_env.access_token) + CHECKS.get(
        (package, index), ""
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert proc.returncode == 0, proc.stderr
    if (package, index) in OUTPUT:
        assert OUTPUT[package, index] in proc.stdout.splitlines()[-1], proc.stdout
    assert "Traceback" not in proc.stderr and "Task was destroyed" not in proc.stderr, proc.stderr
