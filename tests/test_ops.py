"""Health check, the Procfile's commands and the error pages."""

from __future__ import annotations

from pathlib import Path

from app import create_app
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_reports_the_database(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "workers": {"alive": 0, "pending": 0}}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "db.sqlite3"
    app = create_app(make_config(f"sqlite:///{missing}"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unavailable"}


def test_unknown_json_endpoint_gets_a_json_error(client) -> None:
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_unknown_page_gets_an_html_page_a_person_can_read(client) -> None:
    response = client.get("/nothing-here")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Open Timeline Bridge again from your Bitrix24 portal" in response.get_data(as_text=True)


def test_an_unexpected_error_is_a_plain_500_page(app) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/_boom")
    def boom() -> str:
        raise RuntimeError("AUTH_ID=secret-value-here")

    response = app.test_client().get("/_boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Nothing was changed" in body and "secret-value-here" not in body


def test_worker_once_on_an_empty_inbox_stops_at_once(runner) -> None:
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0 and "worker stopped after 0 batches" in result.output


def test_procfile_runs_web_worker_and_release() -> None:
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    assert "gunicorn" in procfile["web"] and "'app:create_app()'" in procfile["web"]
    assert "WEB_CONCURRENCY" in procfile["web"]
    assert procfile["worker"] == "flask --app app worker"
    assert procfile["release"] == "flask --app app db upgrade"


def test_a_get_of_a_post_only_page_says_to_open_it_from_the_portal(client) -> None:
    for path in ("/placements/activity-menu", "/install", "/activity/1/complete", "/repair", "/api-keys"):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == 405 and response.mimetype == "text/html", path
        assert "Open this from your Bitrix24 portal" in body and "Method Not Allowed" not in body, path
    machine = client.get("/api/v1/activities")
    assert machine.status_code == 405 and machine.get_json()["error"] == "method_not_allowed"
