"""`python -m sandbox.demo` (what `make run` starts): the Procfile's processes next to the sandbox portal.

The Procfile's own commands run here as they do in production: `release` (the migrations) first, then
`web` (gunicorn) and `worker` under honcho's process manager, configured to trust the sandbox, whose OAuth
host and portal this process serves. The sandbox's state is kept in a file (sandbox.persist), so a restart
finds the same portal. The sandbox never imports the app: it only runs the Procfile's commands.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import requests
from flask import Flask
from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Message, Printer
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox import create_sandbox, persist
from sandbox.apps import find_app, finish_install
from sandbox.events import stop_worker
from sandbox.settings import DEFAULTS
from sandbox.state import Sandbox
from sandbox.ui.frame import open_frame

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile"
STATE_FILE = ROOT / "instance" / "sandbox-state.pickle"
# The make variable that sets each port, named when the port is taken.
PORT_VARIABLES = {"oauth_port": "OAUTH_PORT", "portal_port": "PORTAL_PORT", "app_port": "APP_PORT"}
# Demo request logs: one short line per request (production keeps gunicorn's default access format).
ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(M)sms"
READY_TIMEOUT = 120.0
OWN = "\0demo"  # the printer name of the demo's own lines (no process can have it)
SETTLE = 0.5  # seconds between the app being ready and the URL, so no start-up line comes after it


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
    parser.add_argument("--state", type=Path, default=STATE_FILE, help=f"state file (default {STATE_FILE})")
    parser.add_argument("--fresh", action="store_true", help="ignore the saved state and start a new portal")
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
    bin_dir = str(Path(sys.executable).parent)  # the Procfile's gunicorn and flask: this interpreter's
    env["PATH"] = bin_dir + os.pathsep + env["PATH"] if env.get("PATH") else bin_dir
    env.update(
        APP_ENV="development",
        B24_CLIENT_ID=str(DEFAULTS["client_id"]),
        B24_CLIENT_SECRET=str(DEFAULTS["client_secret"]),
        B24_OAUTH_URL=base["oauth"],
        APP_BASE_URL=base["app"],
        B24_ALLOWED_HOSTS=f"{HOST}:*",
        B24_JS_URL=f"{base['portal']}/bx24.js",
        PORT=str(args.app_port),
        WEB_HOST=HOST,
        LOG_FORMAT="text",
        PYTHONUNBUFFERED="1",
        # No control socket: it is one path per user (~/.gunicorn), which two demos would fight over.
        GUNICORN_CMD_ARGS=f"--access-logformat {shlex.quote(ACCESS_FORMAT)} --no-control-socket",
    )
    # The web and the worker count into one registry directory, so /metrics shows the worker's counters too
    # (the app's own default; named here so both processes get it whatever their working directory).
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(ROOT / "instance" / "prometheus"))
    return env


def procfile_commands(path: Path = PROCFILE) -> dict[str, str]:
    """The production Procfile's process types and commands, as honcho reads them."""
    return dict(parse_procfile(path.read_text()).processes)


def port_problem(args: argparse.Namespace) -> str | None:
    """The first port that is taken, in words that name its make variable; None when all are free."""
    names = [name for name in PORT_VARIABLES if not (args.no_app and name == "app_port")]
    ports = [getattr(args, name) for name in names]
    for name, port in zip(names, ports, strict=True):
        variable = PORT_VARIABLES[name]
        if ports.count(port) > 1:
            return f"port {port} is given twice ({variable} and another): give each its own port"
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn and werkzeug bind
            try:
                probe.bind((HOST, port))
            except OSError as error:
                return (
                    f"port {port} ({variable}) is not free on {HOST}: {error.strerror or error}. "
                    f"Stop what uses it, or choose another: make run {variable}={port + 100}"
                )
    return None


def serve(flask_app: Flask, port: int) -> tuple[BaseWSGIServer, threading.Thread]:
    """Serve the sandbox on one fixed loopback port in a thread."""
    server = make_server(HOST, port, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{port}", daemon=True)
    thread.start()
    return server, thread


def app_ready(base_url: str, stopping: threading.Event, timeout: float = READY_TIMEOUT) -> bool:
    """Wait until the app's /healthz answers 200 and a worker is alive (its heartbeat), or we stop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping.is_set():
        with contextlib.suppress(requests.RequestException, ValueError):
            answer = requests.get(f"{base_url}/healthz", timeout=2)
            if answer.status_code == 200 and answer.json().get("workers", {}).get("alive", 0) >= 1:
                return True
        stopping.wait(0.3)
    return False


def install(sandbox: Sandbox) -> str:
    """Install the app as an administrator would: the installer frame POST, then installFinish (§1.3)."""
    portal = sandbox.portal()
    app = find_app(sandbox, portal)
    if app.installed:
        return "already installed on this portal"
    frame = open_frame(sandbox, portal, app, portal.admin, lang=portal.language)
    answer = requests.post(frame.url, data=frame.fields, timeout=60)
    if answer.status_code != 200:
        return f"the installer answered HTTP {answer.status_code}: open the app from the portal to see why"
    finish_install(sandbox, portal)
    return "installed through the installer page and installFinish"


def deliveries_done(sandbox: Sandbox, timeout: float = 15.0) -> None:
    """Let the install's events reach the app before the URL is printed (their request lines come first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(d.done for d in list(sandbox.deliveries)):
        time.sleep(0.1)


class DemoPrinter(Printer):
    """honcho's printer, no colours; the demo's own lines unprefixed. Only honcho's loop writes, so lines
    from several threads never interleave mid-line."""

    def __init__(self) -> None:
        super().__init__(sys.stdout, colour=False)

    def write(self, message: Message) -> None:
        if message.name == OWN:
            print(message.data, file=self.output, flush=True)
        else:
            super().write(message)


def say(manager: Manager, text: str) -> None:
    """Print a line of the demo's own through honcho's loop."""
    manager.events.put(Message(type="line", data=text, time=datetime.now(), name=OWN, colour=None))


def announce(args: argparse.Namespace, flask_app: Flask, manager: Manager, stopping: threading.Event) -> None:
    """Once the app and a worker are up: install if asked, then print the one URL to open, last."""
    sandbox: Sandbox = flask_app.extensions["sandbox"]
    if not app_ready(urls(args)["app"], stopping):
        if not stopping.is_set():
            say(manager, "The app or its worker did not come up; see the lines above")
            manager.terminate()
        return
    if not (args.no_install or args.preinstalled):
        say(manager, f"Timeline Bridge: {install(sandbox)}")
        deliveries_done(sandbox)
        flask_app.extensions["sandbox_autosave"].mark()
    stopping.wait(SETTLE)  # gunicorn writes the last /healthz request line just after answering it
    say(manager, "Ctrl-C stops everything; `make reset` starts again with a new portal.")
    say(manager, f"Open {urls(args)['portal']}/")


def release(env: dict[str, str], commands: dict[str, str]) -> int:
    """Run the Procfile's release step (the migrations) to its end before anything else starts."""
    if "release" not in commands:
        return 0
    return subprocess.run(commands["release"], shell=True, env=env, cwd=ROOT, check=False).returncode  # noqa: S602


def run_app(args: argparse.Namespace, flask_app: Flask) -> int:
    """release, then web and worker under honcho until Ctrl-C or until one of them exits."""
    env = app_env(args)
    commands = procfile_commands()
    code = release(env, commands)
    if code != 0:
        print(f"The release step failed (exit {code}); nothing else was started", file=sys.stderr)
        return code
    manager = Manager(DemoPrinter())
    for name in ("web", "worker"):
        manager.add_process(name, commands[name], env=env, cwd=str(ROOT))
    stopping = threading.Event()
    announcer = threading.Thread(
        target=announce, args=(args, flask_app, manager, stopping), name="announce", daemon=True
    )
    announcer.start()
    try:
        manager.loop()  # returns once every process has stopped (honcho stops all when one exits)
    finally:
        stopping.set()
        stop_leftovers(manager)
    signalled = manager.returncode in (130, 143)  # Ctrl-C or SIGTERM: a clean stop
    return 0 if signalled else int(manager.returncode or 0)


def stop_leftovers(manager: Manager, grace: float = 10.0) -> None:
    """Stop any process group honcho left running (a Ctrl-C in its first second can end its loop early).

    Each Procfile process runs in its own session (honcho's start_new_session), so its pid is its group's id
    and it does not die with this process: without this, a web or worker could outlive `make run`.
    """
    pids = {int(p["pid"]) for p in manager._processes.values() if p.get("pid")}
    with contextlib.suppress(queue.Empty, OSError, ValueError):
        while True:  # 'start' messages the loop did not get to
            message = manager.events.get_nowait()
            if message.type == "start":
                pids.add(int(message.data["pid"]))
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 0.0)):
        alive = [pid for pid in pids if _signal_group(pid, sig)]
        deadline = time.monotonic() + wait
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = [pid for pid in alive if _signal_group(pid, 0)]
        if not alive:
            return


def _signal_group(pid: int, sig: int) -> bool:
    """Signal a process group; False when it no longer exists."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def wait_for_signal(ready: str) -> int:
    """The sandbox-only mode: print `ready` once the signals are caught, then serve until Ctrl-C / SIGTERM."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(ready, flush=True)  # after the handlers: a SIGTERM right after the URL is a clean stop
    while not stopping.wait(0.5):
        pass
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Check the ports, start the sandbox (as saved), then the app's processes; stop all on Ctrl-C."""
    args = parse_args(argv)
    problem = port_problem(args)
    if problem:
        print(f"make run: {problem}", file=sys.stderr)
        return 2
    flask_app = create_sandbox(sandbox_settings(args))
    sandbox: Sandbox = flask_app.extensions["sandbox"]
    if args.fresh:
        args.state.unlink(missing_ok=True)
    print(f"Sandbox portal: {persist.restore(sandbox, args.state)}", flush=True)
    autosave = persist.attach(flask_app, args.state)
    autosave.mark()
    servers = [serve(flask_app, port) for port in (args.oauth_port, args.portal_port)]
    try:
        if args.no_app:
            return wait_for_signal(f"Open {urls(args)['portal']}/")
        return run_app(args, flask_app)
    except KeyboardInterrupt:  # Ctrl-C before honcho's loop took the signal (during the release step)
        return 0
    finally:
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(5)
        stop_worker(sandbox)
        autosave.stop()


if __name__ == "__main__":
    sys.exit(main())
