"""Regenerate s2_sdk.protocol._generated from packages/s2-core/proto.

Usage: ``hatch run gen-proto``. Needs ``grpcio-tools`` (installed on demand into a
throwaway virtual environment so the workspace does not depend on it).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "packages" / "s2-core" / "proto"
OUT = ROOT / "packages" / "s2-core" / "src" / "s2_sdk" / "protocol" / "_generated"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        venv.create(tmp, with_pip=True)
        py = Path(tmp) / "bin" / "python"
        subprocess.run([py, "-m", "pip", "install", "-q", "grpcio-tools"], check=True)
        with tempfile.TemporaryDirectory() as out:
            subprocess.run(
                [
                    py,
                    "-m",
                    "grpc_tools.protoc",
                    f"-I{PROTO_ROOT}",
                    f"--python_out={out}",
                    f"--pyi_out={out}",
                    "s2/v1/s2.proto",
                ],
                check=True,
            )
            for suffix in (".py", ".pyi"):
                src = Path(out) / "s2" / "v1" / f"s2_pb2{suffix}"
                (OUT / f"s2_pb2{suffix}").write_text(src.read_text())
    (OUT / "__init__.py").write_text('"""Generated protobuf messages (do not edit)."""\n')
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
