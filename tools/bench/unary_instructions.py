"""Instructions per unary request, client and server, counted by valgrind's callgrind.

Usage: ``hatch run bench-instructions [N]`` (needs ``valgrind``; takes a minute or two).

An in-memory s2-local and a client making the calls s2-celery makes per task (an append
that creates its stream with ``s2-stream-config``, then a read of it with ``wait``) both
run under callgrind; N calls of each warm up, then N more are counted. Instruction counts
do not move with the machine's load, so two trees compare in a single run each even on a
shared machine, where CPU seconds move by a third. They count user space only: system
calls (``send``, ``recv``, ``epoll_wait``) are not in them.

Prints the client's instructions per request through ``s2_sdk.sync`` and the server's.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLIENT = """
import os, subprocess, sys
from s2_sdk import AppendInput, BasinConfig, Record, SeqNum, StreamConfig
from s2_sdk.sync import connect

endpoint, server_pid, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = StreamConfig(retention_policy=86400, delete_on_empty_min_age=60)
record = Record(b'{"status": "SUCCESS", "result": 4}', headers=[(b"state", b"SUCCESS")])


def dump():
    for pid in (os.getpid(), server_pid):
        subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)


def calls(basin, prefix):
    for i in range(n):
        inp = AppendInput([record], match_seq_num=0, stream_config=config)
        basin[f"{prefix}/{i}"].append(inp)
    for i in range(n):
        batch = basin[f"{prefix}/{i}"].read(
            start=SeqNum(0), clamp_to_tail=True, wait=10, stream_config=config
        )
        assert len(batch.records) == 1


with connect("bench", endpoint) as client:
    settings = BasinConfig(create_stream_on_append=True, create_stream_on_read=True)
    client.create_basin("bench-instructions", config=settings)
    basin = client["bench-instructions"]
    calls(basin, "warm")
    dump()
    calls(basin, "counted")
    dump()
"""


def callgrind(out: Path, *argv: str) -> list[str]:
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, *argv]


def counted(out: Path) -> int:
    """Instructions in the second dump of a callgrind run (the counted calls)."""
    text = Path(f"{out}.2").read_text()
    match = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
    assert match, f"no totals in {out}.2"
    return int(match.group(1))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        sys.exit("bench-instructions needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        log = Path(tmp, "server.log")
        with log.open("w") as out:
            server = subprocess.Popen(
                callgrind(Path(tmp, "server"), "-m", "s2_local", "serve", "--port", str(port)),
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while "S2_ACCOUNT_ENDPOINT" not in log.read_text():
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"s2-local did not start under valgrind:\n{log.read_text()}")
                time.sleep(0.5)
            endpoint = f"http://127.0.0.1:{port}"
            argv = callgrind(Path(tmp, "client"), "-c", CLIENT, endpoint, str(server.pid), str(n))
            subprocess.run(argv, check=True, capture_output=True, env=os.environ)
        finally:
            server.terminate()
            server.wait(60)
        client_k = counted(Path(tmp, "client")) / (2 * n) / 1e3
        server_k = counted(Path(tmp, "server")) / (2 * n) / 1e3
    print(f"{2 * n} unary requests (append creating its stream, read with wait), per request:")
    print(f"  client (s2_sdk.sync): {client_k:,.0f}k instructions")
    print(f"  server (s2-local):    {server_k:,.0f}k instructions")


if __name__ == "__main__":
    main()
