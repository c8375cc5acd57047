"""Reading the API's JSON bodies: every problem found at once, each with its path; nothing is sent before."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Request

from app.api.errors import ApiError, bad_request, layout_problems, problem
from app.inputs import FIRST_YEAR, LAST_YEAR, MAX_ID, JsonRefused, as_id, load_json, plausible_date
from app.layout import LayoutError, parse_layout

KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{1,100}$")
SUBJECT_LENGTH = 512
DESCRIPTION_LENGTH = 10_000
CREATE_FIELDS = frozenset(
    {
        "portal",
        "owner",
        "subject",
        "description",
        "template",
        "layout",
        "fields",
        "responsible_id",
        "deadline",
        "idempotency_key",
    }
)


@dataclass(frozen=True)
class CreateBody:
    """A checked POST /activities body."""

    portal: str
    owner_type_id: int
    owner_id: int
    subject: str
    description: str
    template: str | int | None
    layout: dict[str, Any] | None
    fields: dict[str, str]
    responsible_id: int | None
    deadline: datetime | None
    idempotency_key: str
    fingerprint: str  # sha256 of the request without the key: the same key with another request is refused


def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object (bounded in depth and numbers by app.inputs), or 400."""
    try:
        data = load_json(request.get_data(cache=True)) if request.is_json else None
    except JsonRefused as refused:
        raise ApiError(400, "invalid_json", f"The body {refused}; nothing was created.") from None
    if not isinstance(data, dict):
        raise ApiError(
            400, "invalid_json", "The body must be a JSON object (Content-Type: application/json)."
        )
    return data


def create_body(data: dict[str, Any], header_key: str | None) -> CreateBody:
    """Check a create request; 400 with all its problems."""
    problems = [
        problem(name, "is not a field of this request", "unknown")
        for name in sorted(set(data) - CREATE_FIELDS)
    ]
    portal = _text(data, "portal", problems, required=True, length=255)
    owner_type_id, owner_id = _owner(data.get("owner"), problems)
    subject = _text(data, "subject", problems, required=False, length=SUBJECT_LENGTH)
    description = _text(data, "description", problems, required=False, length=DESCRIPTION_LENGTH)
    template = _template(data.get("template"), problems)
    layout = _layout(data.get("layout"), problems)
    if template is not None and layout is not None:
        problems.append(problem("layout", "give a template or a layout, not both", "conflict"))
    if template is None and not subject:
        problems.append(problem("subject", "is required unless a template gives one", "required"))
    key = _idempotency_key(data.get("idempotency_key"), header_key, problems)
    body = CreateBody(
        portal=portal,
        owner_type_id=owner_type_id,
        owner_id=owner_id,
        subject=subject,
        description=description,
        template=template,
        layout=layout,
        fields=_fields(data.get("fields"), problems),
        responsible_id=_positive(data.get("responsible_id"), "responsible_id", problems, required=False),
        deadline=_deadline(data.get("deadline"), problems),
        idempotency_key=key,
        fingerprint=fingerprint({k: v for k, v in data.items() if k != "idempotency_key"}),
    )
    if problems:
        raise bad_request(problems)
    return body


def layout_body(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Check a PUT …/layout body: (portal, layout); 400 with its problems."""
    problems = [
        problem(name, "is not a field of this request", "unknown")
        for name in sorted(set(data) - {"portal", "layout"})
    ]
    portal = _text(data, "portal", problems, required=True, length=255)
    if "layout" not in data:
        problems.append(problem("layout", "is required", "required"))
    layout = _layout(data.get("layout"), problems)
    if problems or layout is None:
        raise bad_request(problems)
    return portal, layout


def fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _text(
    data: dict[str, Any], name: str, problems: list[dict[str, Any]], *, required: bool, length: int
) -> str:
    value = data.get(name)
    if value is None:
        if required:
            problems.append(problem(name, "is required", "required"))
        return ""
    if not isinstance(value, str):
        problems.append(problem(name, "must be a string"))
        return ""
    value = value.strip()
    if required and not value:
        problems.append(problem(name, "must not be empty", "required"))
    if len(value) > length:
        problems.append(problem(name, f"is longer than {length} characters"))
    return value


def _positive(value: Any, path: str, problems: list[dict[str, Any]], *, required: bool) -> int | None:
    if value is None:
        if required:
            problems.append(problem(path, "is required", "required"))
        return None
    if not isinstance(value, int) or as_id(value) is None:
        problems.append(problem(path, f"must be a positive integer of at most {MAX_ID}"))
        return None
    return value


def _owner(value: Any, problems: list[dict[str, Any]]) -> tuple[int, int]:
    if not isinstance(value, dict):
        problems.append(problem("owner", 'is required: {"type_id": 2, "id": 15} (2 = deal)', "required"))
        return 0, 0
    for name in sorted(set(value) - {"type_id", "id"}):
        problems.append(problem(f"owner.{name}", "is not a field of the owner", "unknown"))
    type_id = _positive(value.get("type_id"), "owner.type_id", problems, required=True)
    owner_id = _positive(value.get("id"), "owner.id", problems, required=True)
    return type_id or 0, owner_id or 0


def _template(value: Any, problems: list[dict[str, Any]]) -> str | int | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, int) and as_id(value) is None)
        or (isinstance(value, str) and len(value) > 255)
    ):
        problems.append(problem("template", f"must be a template's id (1 to {MAX_ID}) or its name"))
        return None
    return value.strip() if isinstance(value, str) else value


def _layout(value: Any, problems: list[dict[str, Any]]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append(problem("layout", 'must be an object such as {"blocks": {…}}'))
        return None
    try:
        return parse_layout(value).to_wire()
    except LayoutError as error:
        problems.extend(layout_problems(error, "layout"))
        return None


def _fields(value: Any, problems: list[dict[str, Any]]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value.values()
    ):
        problems.append(problem("fields", "must be an object of placeholder values (strings or numbers)"))
        return {}
    return {str(k): str(v) for k, v in value.items()}


def _deadline(value: Any, problems: list[dict[str, Any]]) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        problems.append(
            problem(
                "deadline", "must be an ISO 8601 date-time with an offset, e.g. 2026-12-01T10:00:00+00:00"
            )
        )
        return None
    if not plausible_date(moment):
        problems.append(problem("deadline", f"must fall in the years {FIRST_YEAR} to {LAST_YEAR}"))
        return None
    return moment


def _idempotency_key(body_key: Any, header_key: str | None, problems: list[dict[str, Any]]) -> str:
    header = (header_key or "").strip()
    if body_key is not None and not isinstance(body_key, str):
        problems.append(problem("idempotency_key", "must be a string"))
        return ""
    key = (body_key or "").strip() or header
    if not key:
        problems.append(
            problem("idempotency_key", "is required: the Idempotency-Key header or this field", "required")
        )
        return ""
    if header and body_key and header != body_key.strip():
        problems.append(problem("idempotency_key", "differs from the Idempotency-Key header", "conflict"))
    if not KEY_PATTERN.match(key):
        problems.append(problem("idempotency_key", "must be 1 to 100 of A-Z a-z 0-9 . _ : -"))
    return key
