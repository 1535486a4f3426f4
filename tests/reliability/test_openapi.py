"""schemathesis against s2-local, from the OpenAPI document in the fact sheets.

Checks: no 5xx for anything generated, responses that match their documented schema
and content type. Status-code conformance is left out on purpose: that document is
older than the API (protocol-rest.md §11) and omits the 404s for missing resources
and the 422s for invalid arguments that S2 and s2-lite answer.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from s2_local.pytest_plugin import S2TestServer

SPEC = Path(__file__).with_name("openapi-s2-v1.json")  # a copy of the fact sheets' document
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"


def test_generated_requests_get_no_server_error_and_conforming_responses(
    s2_server: S2TestServer, tmp_path: Path
) -> None:
    cli = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [str(cli), "run", str(SPEC), "--url", f"{s2_server.account_endpoint}/v1",
         "--checks", CHECKS, "--max-examples", "15", "--seed", "1", "--no-color",
         "-H", f"Authorization: Bearer {s2_server.access_token}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,  # its cache goes there
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout and "generated" in result.stdout, result.stdout[-2000:]
