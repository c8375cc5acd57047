"""`python -m sandbox.demo` (what `make run` starts): the sandbox portal plus the app, and one URL to open.

The sandbox serves its OAuth host and one portal on fixed loopback ports; the app runs as a subprocess
(`flask --app app run`), configured to trust the sandbox. The sandbox never imports the app.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox import create_sandbox
from sandbox.apps import find_app, finish_install
from sandbox.events import stop_worker
from sandbox.settings import DEFAULTS
from sandbox.state import Sandbox
from sandbox.ui.frame import open_frame

HOST = "127.0.0.1"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the ports and switches from the command line."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--oauth-port", type=int, default=8700, help="OAuth server port (default 8700)")
    parser.add_argument("--portal-port", type=int, default=8701, help="portal port (default 8701)")
    parser.add_argument("--app-port", type=int, default=5000, help="the app's port (default 5000)")
    parser.add_argument("--no-app", action="store_true", help="run only the sandbox (start the app yourself)")
    parser.add_argument("--preinstalled", action="store_true", help="seed the app as already installed")
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="leave the app uninstalled (install it yourself from the portal)",
    )
    return parser.parse_args(argv)


def urls(args: argparse.Namespace) -> dict[str, str]:
    """Return the three base URLs the demo wires together."""
    return {
        "oauth": f"http://{HOST}:{args.oauth_port}",
        "portal": f"http://{HOST}:{args.portal_port}",
        "app": f"http://{HOST}:{args.app_port}",
    }


def sandbox_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Settings for create_sandbox: one portal, the app registered at its local URL."""
    base = urls(args)
    return {
        "oauth_base_url": base["oauth"],
        "portal_domains": [f"{HOST}:{args.portal_port}"],
        "app_base_url": base["app"],
        "preinstalled": bool(args.preinstalled),
    }


def app_env(args: argparse.Namespace, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The app's environment: credentials matching the sandbox's registered app, sandbox URLs allowed."""
    base = urls(args)
    env = dict(os.environ if environ is None else environ)
    env.update(
        APP_ENV="development",
        B24_CLIENT_ID=str(DEFAULTS["client_id"]),
        B24_CLIENT_SECRET=str(DEFAULTS["client_secret"]),
        B24_OAUTH_URL=base["oauth"],
        APP_BASE_URL=base["app"],
        B24_ALLOWED_HOSTS=f"{HOST}:*",
        B24_JS_URL=f"{base['portal']}/bx24.js",
    )
    return env


def app_command(args: argparse.Namespace) -> list[str]:
    """`flask --app app run --port N`, with this interpreter's Flask."""
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    return [*flask, "run", "--host", HOST, "--port", str(args.app_port)]


def serve(flask_app: Flask, port: int) -> tuple[BaseWSGIServer, threading.Thread]:
    """Serve the sandbox on one fixed loopback port in a thread."""
    server = make_server(HOST, port, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{port}", daemon=True)
    thread.start()
    return server, thread


def stop_app(process: subprocess.Popen[bytes] | None) -> None:
    """Stop the app subprocess: SIGTERM, then SIGKILL after 10 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def wait_for_app(base_url: str, timeout: float = 60.0) -> bool:
    """Poll the app's /healthz until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return True
        time.sleep(0.3)
    return False


def install(sandbox: Sandbox) -> str:
    """Install the app as an administrator would: the installer frame POST, then installFinish (§1.3)."""
    portal = sandbox.portal()
    app = find_app(sandbox, portal)
    if app.installed:
        return "already installed"
    frame = open_frame(sandbox, portal, app, portal.admin, lang=portal.language)
    answer = requests.post(frame.url, data=frame.fields, timeout=60)
    if answer.status_code != 200:
        return f"the installer answered HTTP {answer.status_code}: open the app from the portal to see why"
    finish_install(sandbox, portal)
    return "installed through the installer page and installFinish"


def main(argv: Sequence[str] | None = None) -> int:
    """Start everything, print the portal URL, and stop both on Ctrl-C / SIGTERM."""
    args = parse_args(argv)
    flask_app = create_sandbox(sandbox_settings(args))
    servers = [serve(flask_app, port) for port in (args.oauth_port, args.portal_port)]
    process = None if args.no_app else subprocess.Popen(app_command(args), env=app_env(args))  # noqa: S603
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    installing = process is not None and not (args.no_install or args.preinstalled)
    if installing and wait_for_app(urls(args)["app"]):
        print(f"Timeline Bridge: {install(flask_app.extensions['sandbox'])}", flush=True)
    print(f"Open {urls(args)['portal']}/", flush=True)
    try:
        while not stopping.wait(0.5):
            if process is not None and process.poll() is not None and not stopping.is_set():
                print(f"The app exited with code {process.returncode}", file=sys.stderr)
                return 1
        return 0
    finally:
        stop_app(process)
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(5)
        stop_worker(flask_app.extensions["sandbox"])


if __name__ == "__main__":
    sys.exit(main())
