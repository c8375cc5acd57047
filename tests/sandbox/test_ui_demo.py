"""sandbox.demo: argument parsing, the app's environment, and the sandbox-only mode as a real process."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from sandbox import demo
from sandbox.settings import DEFAULTS


def test_the_defaults_are_the_documented_ports() -> None:
    args = demo.parse_args([])
    assert (args.oauth_port, args.portal_port, args.app_port, args.no_app) == (8700, 8701, 5000, False)
    assert demo.urls(args) == {
        "oauth": "http://127.0.0.1:8700",
        "portal": "http://127.0.0.1:8701",
        "app": "http://127.0.0.1:5000",
    }


def test_ports_and_switches_come_from_flags() -> None:
    args = demo.parse_args(
        ["--oauth-port", "9100", "--portal-port", "9101", "--app-port", "9102", "--no-app"]
    )
    assert (args.oauth_port, args.portal_port, args.app_port, args.no_app) == (9100, 9101, 9102, True)
    settings = demo.sandbox_settings(args)
    assert settings["portal_domains"] == ["127.0.0.1:9101"]
    assert settings["oauth_base_url"] == "http://127.0.0.1:9100"
    assert settings["app_base_url"] == "http://127.0.0.1:9102"


def test_the_app_is_configured_to_trust_the_sandbox() -> None:
    env = demo.app_env(demo.parse_args([]), {"PATH": "/bin"})
    assert env["PATH"] == f"{Path(sys.executable).parent}:/bin"  # the Procfile's gunicorn and flask
    assert env["APP_ENV"] == "development"
    assert (env["B24_CLIENT_ID"], env["B24_CLIENT_SECRET"]) == (
        DEFAULTS["client_id"],
        DEFAULTS["client_secret"],
    )
    assert env["B24_OAUTH_URL"] == "http://127.0.0.1:8700"
    assert env["APP_BASE_URL"] == "http://127.0.0.1:5000"
    assert env["B24_ALLOWED_HOSTS"] == "127.0.0.1:*"
    assert env["B24_JS_URL"] == "http://127.0.0.1:8701/bx24.js"


def test_the_app_runs_the_procfiles_commands_on_its_port() -> None:
    env = demo.app_env(demo.parse_args(["--app-port", "5055"]), {})
    assert (env["PORT"], env["WEB_HOST"], env["LOG_FORMAT"]) == ("5055", "127.0.0.1", "text")
    commands = demo.procfile_commands()
    assert set(commands) >= {"release", "web", "worker"}
    assert "gunicorn" in commands["web"] and "${PORT" in commands["web"] and "${WEB_HOST" in commands["web"]


def test_a_taken_port_is_named_with_its_variable() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = demo.parse_args(["--portal-port", str(port), "--app-port", str(free_port())])
        problem = demo.port_problem(args)
    assert problem is not None and f"port {port} (PORTAL_PORT)" in problem
    assert f"make run PORTAL_PORT={port + 100}" in problem


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_sandbox_only_demo_serves_the_portal_and_stops_on_sigterm(tmp_path) -> None:
    oauth, portal = free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "sandbox.demo",
        "--no-app",
        "--oauth-port",
        str(oauth),
        "--portal-port",
        str(portal),
        "--state",
        str(tmp_path / "state.pickle"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Sandbox portal: a new portal")
        line = process.stdout.readline().strip()
        assert line == f"Open http://127.0.0.1:{portal}/"
        assert "Applications" in requests.get(f"http://127.0.0.1:{portal}/", timeout=10).text
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert (tmp_path / "state.pickle").exists()
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=5)


def demo_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sandbox.demo", *args]


def test_a_taken_port_stops_the_start_within_3_s_naming_it_before_any_url(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["--app-port", str(port), "--portal-port", str(free_port()), "--oauth-port", str(free_port())]
        started = time.monotonic()
        done = subprocess.run(
            demo_command(*args, "--state", str(tmp_path / "s.pickle")),
            capture_output=True,
            text=True,
            timeout=10,
        )
    assert time.monotonic() - started < 3
    assert done.returncode == 2 and done.stdout == ""  # nothing printed, no URL, nothing started
    assert f"port {port} (APP_PORT) is not free" in done.stderr
    assert not (tmp_path / "s.pickle").exists()


def sandbox_only(tmp_path, ports: tuple[int, int], *extra: str) -> tuple[str, str]:
    """Run the sandbox-only demo until it prints its URL; return its first line and the member_id served."""
    oauth, portal = ports
    args = ["--no-app", "--oauth-port", str(oauth), "--portal-port", str(portal)]
    command = demo_command(*args, "--state", str(tmp_path / "state.pickle"), *extra)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert process.stdout.readline().startswith("Open ")
        state = requests.get(f"http://127.0.0.1:{oauth}/_sandbox/state", timeout=10).json()
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=5)
    return first, state["portals"][0]["member_id"]


def test_a_restart_serves_the_saved_portal_and_fresh_starts_a_new_one(tmp_path) -> None:
    ports = (free_port(), free_port())
    said, member_id = sandbox_only(tmp_path, ports)
    assert said.startswith("Sandbox portal: a new portal")
    said, again = sandbox_only(tmp_path, ports)
    assert said.startswith("Sandbox portal: the saved portal") and again == member_id
    said, fresh = sandbox_only(tmp_path, ports, "--fresh")
    assert said.startswith("Sandbox portal: a new portal") and fresh != member_id
