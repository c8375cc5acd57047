"""The API's errors: `{"error", "message", "problems"?}` with the status a client can act on."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from app.bitrix24.errors import (
    AccessDenied,
    AuthError,
    Bitrix24Error,
    InvalidParameter,
    NeedsReinstall,
    NotFound,
    PortalBusy,
    PortalUnavailable,
    ValidationError,
)
from app.layout import LayoutError


class ApiError(Exception):
    """A refusal with a status, a machine code, words, and (for bad input) the problems by path."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        problems: list[dict[str, Any]] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.problems = problems or []
        self.retry_after = retry_after

    def response(self) -> tuple[Response, int]:
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.problems:
            body["problems"] = self.problems
        headers = {"WWW-Authenticate": 'Bearer realm="timeline-bridge"'} if self.status == 401 else {}
        if self.retry_after:
            headers["Retry-After"] = str(self.retry_after)
        response = jsonify(body)
        response.headers.update(headers)
        return response, self.status


def problem(path: str, message: str, code: str = "invalid") -> dict[str, Any]:
    return {"path": path, "message": message, "code": code}


def bad_request(problems: list[dict[str, Any]]) -> ApiError:
    """400 with every problem found in the body."""
    return ApiError(
        400, "invalid_request", "The request body has problems; nothing was created.", problems=problems
    )


def layout_problems(error: LayoutError, prefix: str) -> list[dict[str, Any]]:
    """A layout's problems with their paths under `prefix` (e.g. ``layout.blocks.b1.type``)."""
    return [
        problem(f"{prefix}.{p.path}" if p.path else prefix, p.message, str(p.code)) for p in error.problems
    ]


def portal_error(error: Bitrix24Error) -> ApiError:
    """What the portal refused, in words: 422 for the request's content, 502 when the portal failed us."""
    if isinstance(error, PortalBusy):  # nothing was sent: the portal's bucket had no slot soon enough
        return ApiError(503, "portal_busy", error.user_message, retry_after=error.retry_after)
    if isinstance(error, InvalidParameter):  # our own check, before anything was sent
        return bad_request([problem(error.parameter, error.description)])
    if isinstance(error, NeedsReinstall | PortalUnavailable | AuthError):
        return ApiError(502, "portal_connection_lost", error.user_message)
    if isinstance(error, ValidationError | NotFound | AccessDenied):
        said = ": ".join(part for part in (error.code, error.description) if part)
        detail = f" (Bitrix24 said: {said})" if said else ""
        return ApiError(422, "portal_refused", f"{error.user_message}{detail}")
    return ApiError(502, "portal_unavailable", error.user_message)
