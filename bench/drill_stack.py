"""The processes a drill runs: a throwaway PostgreSQL, the sandbox, gunicorn (the Procfile's web) and workers.

Each runs as a real subprocess on 127.0.0.1 with its output in the drill's work directory; nothing here
imports the app, so the drill drives the product exactly as a deployment would.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import requests
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, make_url, text

from sandbox.settings import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, *, every: float = 0.2) -> None:
    """Poll until `predicate()` holds, or raise naming what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(requests.RequestException, OSError):
            if predicate():
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def answers(url: str, status: int = 200) -> Callable[[], bool]:
    return lambda: requests.get(url, timeout=2).status_code == status


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's binaries (Debian layout: /usr/lib/postgresql/<major>/bin)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if not versions:
        raise RuntimeError("no PostgreSQL under /usr/lib/postgresql; set DRILL_DATABASE_URL instead")
    return versions[-1].parent


class Postgres:
    """A throwaway cluster in a temporary directory (socket inside it), as .ci/run starts one; or none."""

    def __init__(self, workdir: Path) -> None:
        self.bin = postgres_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="tb-drill-pg-"))
        self.port = free_port()
        self.log = self.dir / "postgres.log"  # the postgres user writes it: not in the drill's private dir
        self.root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        """Run a PostgreSQL tool, as the postgres user when we are root (it refuses to run as root)."""
        command = [str(self.bin / args[0]), *args[1:]]
        if self.root:
            command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses={HOST} -c max_connections=200"
        data = str(self.dir / "data")
        self._run("pg_ctl", "-D", data, "-o", options, "-l", str(self.log), "-w", "-t", "60", action, *extra)

    def start(self) -> str:
        """Initialise and start the cluster; return the URL of a fresh database in it."""
        if self.root:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres")
        try:
            self._ctl("start")
        except subprocess.CalledProcessError:
            print(
                f"PostgreSQL did not start; its log:\n{self.log.read_text(errors='replace')}", file=sys.stderr
            )
            raise
        admin = f"postgresql+psycopg://postgres@{HOST}:{self.port}/postgres"
        create_database(admin, "timeline_bridge")
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/timeline_bridge"

    def restart(self) -> None:
        """pg_ctl restart -m fast: every connection is cut, the server comes back on the same port."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def create_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


class ExternalDatabase:
    """DRILL_DATABASE_URL: a fresh database beside the named one, dropped afterwards; it is not restarted."""

    def __init__(self, url: str) -> None:
        self.admin = make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        self.name = f"tb_drill_{secrets.token_hex(4)}"

    def start(self) -> str:
        create_database(self.admin, self.name)
        return make_url(self.admin).set(database=self.name).render_as_string(hide_password=False)

    def stop(self) -> None:
        drop_database(self.admin, self.name)


@dataclass
class Process:
    """One subprocess with its output appended to a log file; restartable."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    _log: TextIO | None = None
    starts: int = 0

    def start(self) -> None:
        self._log = open(self.log_path, "a")  # noqa: SIM115  (kept open while the process runs)
        self._log.write(f"--- start {self.starts + 1} at {time.time():.3f}\n")
        self._log.flush()
        self.popen = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind in the process."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass
class Stack:
    """Where everything listens and how the app is configured."""

    workdir: Path
    database_url: str
    oauth_port: int = field(default_factory=free_port)
    app_port: int = field(default_factory=free_port)
    portal_ports: list[int] = field(default_factory=list)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    token_key: str = field(default_factory=lambda: Fernet.generate_key().decode())

    @property
    def oauth_url(self) -> str:
        return f"http://{HOST}:{self.oauth_port}"

    @property
    def app_url(self) -> str:
        return f"http://{HOST}:{self.app_port}"

    @property
    def portal_urls(self) -> list[str]:
        return [f"http://{HOST}:{port}" for port in self.portal_ports]

    def app_env(self) -> dict[str, str]:
        """A production configuration (the Procfile's variables) pointed at the sandbox."""
        return {
            **os.environ,
            "APP_ENV": "production",
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": self.secret_key,
            "TOKEN_KEYS": self.token_key,
            "B24_CLIENT_ID": str(DEFAULTS["client_id"]),
            "B24_CLIENT_SECRET": str(DEFAULTS["client_secret"]),
            "B24_OAUTH_URL": self.oauth_url,
            "APP_BASE_URL": self.app_url,
            "B24_ALLOWED_HOSTS": f"{HOST}:*",
            "B24_JS_URL": f"{self.portal_urls[0]}/bx24.js",
            "LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": "4",
            "WEB_THREADS": "4",
            "PORT": str(self.app_port),
            "PYTHONUNBUFFERED": "1",
        }

    def flask(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "flask", "--app", "app", *args]

    def sandbox_process(self) -> Process:
        command = [sys.executable, "-m", "sandbox", "--port", str(self.oauth_port)]
        for port in self.portal_ports:
            command += ["--portal-port", str(port)]
        command += ["--app-base-url", self.app_url]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        return Process("sandbox", command, env, self.workdir / "sandbox.log")

    def web_process(self) -> Process:
        """The Procfile's `web:` line, bound to loopback, with its access log kept for the report."""
        env = self.app_env()
        command = [sys.executable, "-m", "gunicorn", "--preload"]
        command += ["--workers", env["WEB_CONCURRENCY"], "--threads", env["WEB_THREADS"]]
        command += ["--bind", f"{HOST}:{self.app_port}", "--access-logfile", str(self.access_log)]
        command += ["--access-logformat", ACCESS_FORMAT, "app:create_app()"]
        return Process("web", command, env, self.workdir / "web.log")

    def worker_process(self, number: int) -> Process:
        """The Procfile's `worker:` line with a drill-sized lease, backoff and backstop round (a killed
        worker's rows come back after the lease; the production defaults would outlast the drill)."""
        command = self.flask("worker", "--lease", "20", "--backoff", "1", "--backstop-every", "20")
        return Process(f"worker{number}", command, self.app_env(), self.workdir / f"worker{number}.log")

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def release(self) -> None:
        """The Procfile's `release:` step: the Alembic migrations."""
        subprocess.run(
            self.flask("db", "upgrade"), cwd=ROOT, env=self.app_env(), check=True, capture_output=True
        )

    def routes(self) -> set[str]:
        """The app's URL rules, from `flask routes` (so the drill loads what exists today)."""
        listing = subprocess.run(
            self.flask("routes"), cwd=ROOT, env=self.app_env(), check=True, capture_output=True, text=True
        ).stdout
        return {line.split()[-1] for line in listing.splitlines()[2:] if line.strip()}

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a `flask --app app …` command in the app's configuration."""
        return subprocess.run(
            self.flask(*args), cwd=ROOT, env=self.app_env(), capture_output=True, text=True, timeout=120
        )


# [time], method, path, status, seconds: enough to find every 5xx and when it happened
ACCESS_FORMAT = "%(t)s %(m)s %(U)s %(s)s %(L)s"


def sandbox_control(stack: Stack, path: str, payload: Any = None, method: str = "POST") -> Any:
    """Call a /_sandbox control endpoint on the OAuth host and return its JSON."""
    response = requests.request(method, f"{stack.oauth_url}/_sandbox/{path}", json=payload, timeout=60)
    response.raise_for_status()
    return response.json()
