"""Every route reads its body bounded: 413 in words above the limit (chunked bodies too) and forms capped.

The chunked cases go over a real socket to the app served by werkzeug's threaded server, since the Flask
test client always sends a Content-Length; the 200 MB body is never sent whole: the server must answer
413 (and close) after reading about the limit, so the client cannot push more than a few socket buffers.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from app.config import ConfigError, load_config
from app.portals.store import set_application_token
from app.web.limits import DEFAULTS
from sandbox.testing import serve
from tests.conftest import make_config, running_app

FORM = "application/x-www-form-urlencoded"
EVENTS, PAGES, API = (DEFAULTS[name] for name in ("BODY_LIMIT_EVENTS", "BODY_LIMIT_PAGES", "BODY_LIMIT_API"))
TOKEN = "c3" * 16


def routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route of the app that takes a body, with sample ids in its placeholders."""
    found = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<any\(([a-z]+)[^>]*\):[a-z_]+>", r"\1", rule.rule)
        path = re.sub(r"<(?:int:)?[a-z_]+>", "1", path)
        found += [(method, path) for method in sorted(rule.methods & {"POST", "PUT"})]
    return found


def size_of(limit: int) -> str:
    return f"{limit // 1024 // 1024} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


def limit_of(path: str) -> int:
    return EVENTS if path == "/events" else API if path.startswith("/api/") else PAGES


def is_json_route(path: str) -> bool:
    return path == "/events" or path.startswith("/api/")


def words_of(response) -> str:
    if response.mimetype == "application/json":
        return response.get_json()["message"]
    assert response.mimetype == "text/html", response.mimetype
    return response.get_data(as_text=True)


def test_every_route_refuses_a_body_over_its_limit_with_413_in_words(app) -> None:
    client = app.test_client()
    checked = routes(app)
    assert len(checked) >= 20  # the install, events, main, timeline and API routes
    for method, path in checked:
        limit = limit_of(path)
        response = client.open(path, method=method, data=b"a" * (limit + 1), content_type=FORM)
        assert response.status_code == 413, (path, response.status_code)
        assert response.mimetype == ("application/json" if is_json_route(path) else "text/html"), path
        assert f"larger than the {size_of(limit)} this address accepts" in words_of(response), path
        assert response.headers["Connection"] == "close"


def test_a_body_at_the_limit_is_read_whole(app) -> None:
    """The limit is the limit, not one byte less: an events body of exactly 32 KB is parsed (400: no name)."""
    client = app.test_client()
    body = ("x=" + "a" * (EVENTS - 2)).encode()
    response = client.post("/events", data=body, content_type=FORM)
    assert response.status_code == 400 and "no event name" in response.get_json()["message"]


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
def test_every_route_refuses_a_form_of_too_many_fields(tmp_path, kind) -> None:
    cap = 50  # small enough that a multipart body of cap + 1 fields stays under every size limit
    with running_app(make_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", FORM_FIELDS_LIMIT=cap)) as app:
        client = app.test_client()
        for method, path in routes(app):
            fields = {f"f{i}": "1" for i in range(cap + 1)}
            if kind == "urlencoded":
                response = client.open(path, method=method, data=urlencode(fields), content_type=FORM)
            else:
                response = client.open(path, method=method, data=fields, content_type="multipart/form-data")
            assert response.status_code == 413, (path, kind, response.status_code)
            assert f"at most {cap} " in words_of(response) and "fields" in words_of(response), path


def test_the_limits_come_from_the_environment_and_bad_values_stop_start_up(tmp_path) -> None:
    config = load_config(
        {"APP_ENV": "testing", "BODY_LIMIT_EVENTS": "1000", "FORM_FIELDS_LIMIT": "7"}, tmp_path
    )
    assert config["BODY_LIMIT_EVENTS"] == 1000 and config["FORM_FIELDS_LIMIT"] == 7
    assert config["BODY_LIMIT_PAGES"] == PAGES and config["JSON_DEPTH_LIMIT"] == 32
    for name, value in [("BODY_LIMIT_API", "0"), ("BODY_LIMIT_PAGES", "1MB"), ("JSON_DEPTH_LIMIT", "-1")]:
        with pytest.raises(ConfigError, match=name):
            load_config({"APP_ENV": "testing", name: value}, tmp_path)
    with running_app(make_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", BODY_LIMIT_EVENTS=1000)) as small:
        response = small.test_client().post("/events", data=b"a" * 1001, content_type=FORM)
        assert response.status_code == 413 and "1000 bytes" in response.get_json()["message"]


# --- chunked bodies over a real socket ---


@pytest.fixture
def served(connected_app, portal) -> Iterator[int]:
    """The connected app (one installed portal whose events carry TOKEN) on a real loopback port."""
    set_application_token(portal, TOKEN)
    from app.extensions import db

    db.session.commit()
    server, thread = serve(connected_app)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


def post_chunked(
    port: int, path: str, body: bytes, content_type: str = FORM, *, method: str = "POST"
) -> tuple[int, str]:
    """POST with Transfer-Encoding: chunked (no Content-Length), in 4 KB chunks."""
    chunks = (body[i : i + 4096] for i in range(0, len(body), 4096))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            method, path, body=chunks, headers={"Content-Type": content_type}, encode_chunked=True
        )
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def event_body(member_id: str, activity_id: int) -> bytes:
    pairs = [("event", "ONCRMACTIVITYUPDATE"), ("event_handler_id", "7"), ("ts", "1762089975")]
    pairs += [("data[FIELDS][ID]", str(activity_id)), ("auth[member_id]", member_id)]
    pairs += [("auth[application_token]", TOKEN)]
    return urlencode(pairs).encode()


def test_a_chunked_event_under_the_limit_is_read_whole_and_stored(served, portal) -> None:
    status, text = post_chunked(served, "/events", event_body(portal.member_id, 5))
    assert status == 200 and '"accepted"' in text


def test_a_chunked_body_over_the_limit_is_refused_not_cut_on_every_route(
    connected_app, served, portal
) -> None:
    for method, path in routes(connected_app):
        limit = limit_of(path)
        padding = urlencode({"pad": "a" * (limit + 10)}).encode()
        body = event_body(portal.member_id, 6) + b"&" + padding
        content_type = "application/json" if path.startswith("/api/") else FORM
        status, text = post_chunked(served, path, body, content_type, method=method)
        assert status == 413, (path, status, text[:200])
        assert f"larger than the {size_of(limit)} this address accepts" in text, path


def send_until_answered(port: int, path: str, *, total: int) -> tuple[int, bytes]:
    """Stream up to `total` bytes chunked; stop as soon as the server answers. (bytes sent, answer)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n"
    answer = bytearray()

    def read() -> None:
        try:
            while chunk := sock.recv(65536):
                answer.extend(chunk)
        except OSError:
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sock.sendall(head.encode())
    piece = b"a" * 65536
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sent = 0
    try:
        while sent < total and not answer:
            sock.sendall(frame)
            sent += len(piece)
    except OSError:
        pass  # the server closed after its 413: what it never read is the point
    reader.join(10)
    sock.close()
    return sent, bytes(answer)


@pytest.mark.parametrize("path", ["/events", "/placements/activity-menu"])
def test_a_200_mb_chunked_body_is_refused_after_reading_about_the_limit(served, path) -> None:
    sent, answer = send_until_answered(served, path, total=200 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"this address accepts" in answer
    # What the client could push is the server's read (the limit) plus the loopback socket buffers.
    assert sent < 24 * 1024 * 1024, sent
