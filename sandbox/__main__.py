"""`python -m sandbox`: serve the OAuth host and N portals on consecutive ports until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Any

from werkzeug.serving import make_server

from sandbox import create_sandbox
from sandbox.events import stop_worker


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="the OAuth server's port")
    parser.add_argument("--portal-port", type=int, action="append", dest="portal_ports", help="repeatable")
    parser.add_argument("--portals", type=int, default=1, help="portals on consecutive ports after --port")
    parser.add_argument("--client-id")
    parser.add_argument("--client-secret")
    parser.add_argument("--app-base-url")
    parser.add_argument("--install-path")
    parser.add_argument("--main-path")
    parser.add_argument("--api-only", action="store_true")
    parser.add_argument("--preinstalled", action="store_true", help="seed the app as installed")
    parser.add_argument("--rate", type=float)
    parser.add_argument("--burst", type=float)
    parser.add_argument("--token-lifetime", type=float)
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> dict[str, Any]:
    """Turn arguments into sandbox settings (None means the default)."""
    ports = args.portal_ports or [args.port + 1 + i for i in range(args.portals)]
    settings = {
        "oauth_base_url": f"http://{args.host}:{args.port}",
        "portal_domains": [f"{args.host}:{p}" for p in ports],
        "client_id": args.client_id,
        "client_secret": args.client_secret,
        "app_base_url": args.app_base_url,
        "install_path": args.install_path,
        "main_path": args.main_path,
        "api_only": args.api_only or None,
        "preinstalled": args.preinstalled or None,
        "rate": args.rate,
        "burst": args.burst,
        "token_lifetime": args.token_lifetime,
    }
    return {k: v for k, v in settings.items() if v is not None}


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    settings = settings_from(args)
    app = create_sandbox(settings)
    ports = [args.port] + [int(d.rsplit(":", 1)[1]) for d in settings["portal_domains"]]
    servers = [make_server(args.host, port, app, threaded=True) for port in ports]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    state = app.extensions["sandbox"]
    print(f"OAuth server: {settings['oauth_base_url']}")
    for portal in state.portals.values():
        print(f"portal {portal.base_url}  member_id={portal.member_id}")
    try:
        servers[0].serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.server_close()
        stop_worker(state)


if __name__ == "__main__":
    main()
