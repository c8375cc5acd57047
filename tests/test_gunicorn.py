"""The app under gunicorn exactly as the Procfile starts it (gthread, --preload, ./gunicorn.conf.py).

A 200 MB chunked body is refused after the worker read about the limit (its peak memory barely moves),
and the access log it writes holds no OAuth code, state or other query secret.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from tests.test_limits import send_until_answered

ROOT = Path(__file__).resolve().parent.parent
CODE, STATE, SID = "c0de" * 8, "5a7e" * 8, "51d0" * 8


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        assert len(children) == 1, children
        return int(children[0])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def procfile_web(port: int, workers: int = 1) -> list[str]:
    """The Procfile's web command with its variables filled in, bound to loopback."""
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    values = {"WEB_CONCURRENCY": str(workers), "WEB_THREADS": "4", "WEB_HOST": "127.0.0.1", "PORT": str(port)}
    line = re.sub(r"\$\{(\w+):-[^}]*\}", lambda m: values[m.group(1)], procfile["web"])
    command = shlex.split(line.replace("0.0.0.0:", "127.0.0.1:"))
    assert command[0] == "gunicorn"
    return [sys.executable, "-m", *command]


def production_env(work: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment the Procfile's web runs in, on a fresh SQLite file in `work`, serving `port`."""
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "gunicorn-test-" + "k" * 40,
        "TOKEN_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{work / 'app.sqlite3'}",
        "APP_BASE_URL": f"http://127.0.0.1:{port}",
        "B24_ALLOWED_HOSTS": "127.0.0.1:*",
        **extra,
    }


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory) -> Iterator[Gunicorn]:
    work = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    env = production_env(work, port)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = work / "web.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            procfile_web(port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Gunicorn(process, port, log, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(server.url + "/healthz", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        process.kill()
        raise AssertionError(log.read_text())
    yield server
    process.terminate()
    process.wait(30)


def peak_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ["/events", "/placements/activity-menu", "/install"])
def test_a_200_mb_chunked_body_is_refused_by_the_worker_reading_about_the_limit(gunicorn, path) -> None:
    worker = gunicorn.worker_pid()
    before = peak_rss_kb(worker)
    sent, answer = send_until_answered(gunicorn.port, path, total=200 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"this address accepts" in answer
    assert sent < 24 * 1024 * 1024, sent
    grown_mb = (peak_rss_kb(worker) - before) / 1024
    print(f"FIGURE {path}: sent {sent / 1e6:.1f} MB of 200 MB, worker peak RSS +{grown_mb:.1f} MB")
    assert grown_mb < 16, f"the worker's peak memory grew by {grown_mb:.0f} MB"
    assert requests.get(gunicorn.url + "/healthz", timeout=5).status_code == 200  # the worker lives on


def test_the_access_log_holds_no_oauth_code_state_or_other_query_secret(gunicorn) -> None:
    callback = f"{gunicorn.url}/oauth/callback?code={CODE}&state={STATE}&domain=127.0.0.1:1&member_id=m1"
    requests.get(callback, headers={"Referer": f"https://portal.example/x?APP_SID={SID}"}, timeout=10)
    requests.post(f"{gunicorn.url}/?DOMAIN=127.0.0.1:1&APP_SID={SID}", data={"AUTH_ID": "x"}, timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and gunicorn.log.read_text().count("APP_SID=[redacted]") < 2:
        time.sleep(0.1)
    text = gunicorn.log.read_text()
    lines = [line for line in text.splitlines() if "/oauth/callback" in line]
    assert lines, text[-2000:]
    assert "code=[redacted]&state=[redacted]&domain=127.0.0.1:1&member_id=m1" in lines[-1]
    assert "https://portal.example/x?APP_SID=[redacted]" in lines[-1]
    for secret in (CODE, STATE, SID):
        assert secret not in text


def test_events_through_the_lean_path_are_stored_once_and_forgeries_refused(gunicorn) -> None:
    """POST /events under gunicorn (app.events.lean in front): accepted, then duplicate, then a forged 401."""
    from datetime import UTC, datetime
    from urllib.parse import urlencode

    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from app.models import InboxEvent, Portal, PortalState
    from app.portals.store import set_application_token, store_tokens

    config = {"APP_ENV": "testing", "SECRET_KEY": gunicorn.env["SECRET_KEY"]}
    config |= {
        "TOKEN_KEYS": [gunicorn.env["TOKEN_KEYS"]],
        "SQLALCHEMY_DATABASE_URI": gunicorn.env["DATABASE_URL"],
    }
    app = create_app(config)
    member_id, token = "e" * 32, "b2" * 16
    with app.app_context():
        portal = Portal(
            member_id=member_id, domain="lean.example", client_endpoint="https://lean.example/rest/"
        )
        portal.server_endpoint, portal.scope, portal.state = (
            "https://oauth.example/rest/",
            "crm",
            PortalState.ACTIVE,
        )
        store_tokens(portal, access_token="a" * 70, refresh_token="r" * 70, expires_at=datetime.now(UTC))
        set_application_token(portal, token)
        db.session.add(portal)
        db.session.commit()

        def post(application_token: str) -> requests.Response:
            pairs = [("event", "ONCRMACTIVITYADD"), ("event_handler_id", "7"), ("data[FIELDS][ID]", "5")]
            pairs += [("ts", "1762089975"), ("auth[member_id]", member_id)]
            pairs += [("auth[application_token]", application_token)]
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            return requests.post(gunicorn.url + "/events", data=urlencode(pairs), headers=headers, timeout=10)

        answers = [post(token), post(token), post("0" * 32)]
        assert [a.status_code for a in answers] == [200, 200, 401]
        assert [a.json().get("status") for a in answers[:2]] == ["accepted", "duplicate"]
        assert answers[2].json()["error"] == "unauthorized" and answers[2].headers["X-Request-Id"]
        stored = db.session.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.member_id == member_id)
        )
        assert stored == 1
        db.engine.dispose()
