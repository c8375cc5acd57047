"""Run the official JS SDK suite (tests/jssdk/sdk.test.mjs) against the sandbox, one node process per case.

Node 20 and `npm ci` in tests/jssdk are needed (`make test` and `.ci/run` run it); without them the tests fail
and say what to run, they are never skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sandbox.testing import RunningSandbox

HERE = Path(__file__).parent
SUITE = HERE / "sdk.test.mjs"
CASES = re.findall(r"^test\('([^']+)'", SUITE.read_text(encoding="utf-8"), flags=re.MULTILINE)


def sdk_config(sandbox: RunningSandbox) -> dict[str, Any]:
    """What an app hands B24OAuth after the OAuth callback: the token pair and the endpoints (notes §4.3)."""
    issued = sandbox.state.tokens[sandbox.token(fresh=True)]
    registration = sandbox.state.registrations[issued.client_id]
    portal = sandbox.portal
    auth = {
        "accessToken": issued.access_token,
        "refreshToken": issued.refresh_token,
        "expires": int(issued.expires_at),
        "expiresIn": 3600,
        "domain": portal.domain,
        "clientEndpoint": portal.client_endpoint,  # ".../rest/": the SDK calls ".../rest//method" (item 7)
        "serverEndpoint": f"{sandbox.oauth_url}/rest/",
        "memberId": portal.member_id,
        "userId": issued.user_id,
        "scope": ",".join(issued.scope),
        "status": "L",
        "applicationToken": sandbox.app.application_token,
    }
    secret = {"clientId": registration.client_id, "clientSecret": registration.client_secret}
    return {"auth": auth, "secret": secret, "oauth": sandbox.oauth_url}


def node_ready() -> str:
    """Return the node binary, or fail saying how to get the SDK installed."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: apt-get install nodejs npm (Node 20), then npm ci in tests/jssdk")
    if not (HERE / "node_modules" / "@bitrix24" / "b24jssdk").is_dir():
        pytest.fail("the JS SDK is not installed: run `npm ci --prefix tests/jssdk` (make test does)")
    return node


def test_the_suite_names_its_cases() -> None:
    assert len(CASES) == len(set(CASES)) >= 10


@pytest.mark.parametrize("case", CASES)
def test_js_sdk(sandbox: RunningSandbox, case: str) -> None:
    node = node_ready()
    sandbox.configure(limits_enabled=False)
    env = {**os.environ, "JSSDK_CONFIG": json.dumps(sdk_config(sandbox)), "NODE_NO_WARNINGS": "1"}
    pattern = "^" + re.escape(case) + "$"
    ran = subprocess.run(
        [node, "--test", "--test-reporter=spec", f"--test-name-pattern={pattern}", SUITE.name],
        cwd=HERE, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    report = ran.stdout + ran.stderr
    assert ran.returncode == 0, report
    assert "ℹ pass 1" in report and "ℹ fail 0" in report, (
        report
    )  # the case ran: a pattern matching none passes
