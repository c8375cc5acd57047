"""Typed Bitrix24 errors: a base carrying code, description and HTTP status; a subclass per case we act on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class Bitrix24Error(Exception):
    """An error answered by a portal or the OAuth server, or met on the way to one."""

    # What a person can be told and act on; subclasses say it better where they can.
    user_message = (
        "Bitrix24 refused the request. Please try again; if it keeps failing, tell your administrator."
    )

    def __init__(
        self, code: str, description: str = "", status: int | None = None, *, method: str = ""
    ) -> None:
        super().__init__(f"{method + ': ' if method else ''}{code or 'error'}: {description}".strip())
        self.code = code
        self.description = description
        self.status = status
        self.method = method


class InvalidParameter(Bitrix24Error, ValueError):
    """Bad input caught before any request was sent; names the parameter."""

    def __init__(self, parameter: str, problem: str, *, method: str = "") -> None:
        super().__init__("INVALID_PARAMETER", f"{parameter}: {problem}", method=method)
        self.parameter = parameter


class HostNotAllowed(Bitrix24Error):
    """A URL outside B24_ALLOWED_HOSTS; nothing was sent."""


class TransportError(Bitrix24Error):
    """No answer: a refused or dropped connection, or a timeout."""

    user_message = "Bitrix24 did not answer in time. Nothing may have changed; please try again in a minute."


class ServerError(Bitrix24Error):
    """A 5xx answer other than the limits."""

    user_message = "Bitrix24 had a temporary problem. Please try again in a minute."


class UnexpectedAnswer(Bitrix24Error):
    """An answer that is not the documented JSON envelope."""


class AuthError(Bitrix24Error):
    """The token is not accepted (401)."""

    user_message = "Your Bitrix24 session has ended. Close this window and open the app again."


class ExpiredToken(AuthError):
    """401 expired_token: refresh once and retry."""


class InvalidToken(AuthError):
    """401 invalid_token / NO_AUTH_FOUND and the like: the app was removed or reinstalled; do not loop."""


class InsufficientScope(AuthError):
    """The token's scope does not cover the method."""

    user_message = "The app lacks a permission it needs on this portal. An administrator should reinstall it."


class QueryLimitExceeded(Bitrix24Error):
    """503 QUERY_LIMIT_EXCEEDED: the portal's request-rate bucket is full."""

    user_message = "Bitrix24 is busy with many requests from this portal. Please try again in a few seconds."


class PortalBusy(Bitrix24Error):
    """The portal's shared bucket had no slot within the wait a person is given; nothing was sent."""

    def __init__(self, retry_after: int, *, method: str = "") -> None:
        super().__init__("PORTAL_BUSY", f"no request slot free for {retry_after} s", 503, method=method)
        self.retry_after = retry_after

    @property
    def user_message(self) -> str:  # type: ignore[override]
        return (
            "Bitrix24 is handling many requests from this portal right now, so nothing was done. "
            f"Please try again in {self.retry_after} s."
        )


class OperationTimeLimit(Bitrix24Error):
    """429 OPERATION_TIME_LIMIT: this method is blocked until `reset_at` (unix time)."""

    def __init__(self, *args: Any, reset_at: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reset_at = reset_at

    @property
    def user_message(self) -> str:  # type: ignore[override]
        """Say when the block lifts, in UTC (the page turns it into local time where it can)."""
        if self.reset_at is None:
            return "Bitrix24 has paused this action for this app for a few minutes. Please try again later."
        when = datetime.fromtimestamp(self.reset_at, UTC).strftime("%H:%M UTC")
        return f"Bitrix24 has paused this action for this app until {when}. Please try again after that."


class AccessDenied(Bitrix24Error):
    """The user or the app may not do this."""

    user_message = "Your Bitrix24 permissions do not allow this. Ask your administrator for access."


class ApplicationContextRequired(AccessDenied):
    """Only the app that created the item may change it, or the call needs an app's token."""

    user_message = "This item belongs to another application, so only that application can change it."


class NotFound(Bitrix24Error):
    """The activity, owner, binding or block set does not exist."""

    user_message = (
        "It no longer exists in Bitrix24: someone may have deleted it. Reload to see the current state."
    )


class MethodNotFound(NotFound):
    """404 ERROR_METHOD_NOT_FOUND."""


class ValidationError(Bitrix24Error):
    """The portal refused the parameters."""


class UnsuitableActivityType(ValidationError):
    """UNSUITABLE_ACTIVITY_TYPE_ERROR: this activity takes no content blocks."""

    user_message = "Bitrix24 does not allow additional content blocks on this kind of activity."


class LastBindingCannotBeDeleted(ValidationError):
    """LAST_BINDING_CANNOT_BE_DELETED."""

    user_message = (
        "An activity must stay linked to at least one CRM item. Add another link before removing this one."
    )


class ActivityAlreadyBound(ValidationError):
    """ACTIVITY_IS_ALREADY_BOUND."""

    user_message = "The activity is already linked to that CRM item."


class CompletedTodo(ValidationError):
    """A completed to-do cannot change (CAN_NOT_UPDATE_*_COMPLETED_TODO)."""

    user_message = "This to-do is completed, so it can no longer be changed. Reopen it first."


class PaymentRequired(Bitrix24Error):
    """The portal's plan or the app's subscription has run out."""


class OAuthError(Bitrix24Error):
    """The OAuth server refused a grant."""


class InvalidGrant(OAuthError):
    """invalid_grant: the refresh token or code is used, expired or unknown."""


class InvalidClient(OAuthError):
    """invalid_client: wrong client id or secret, or the app is not installed."""


class NeedsReinstall(Bitrix24Error):
    """The portal's tokens can no longer be refreshed; an administrator must reopen or reinstall the app."""

    user_message = (
        "The app has lost its connection to this portal. An administrator needs to open or reinstall it."
    )


class PortalUnavailable(Bitrix24Error):
    """The portal is not active in our store (uninstalled, or waiting for a reinstall)."""


BY_CODE: dict[str, type[Bitrix24Error]] = {
    "expired_token": ExpiredToken,
    "invalid_token": InvalidToken,
    "NO_AUTH_FOUND": InvalidToken,
    "authorization_error": InvalidToken,
    "APPLICATION_NOT_FOUND": InvalidToken,
    "ERROR_OAUTH": InvalidToken,
    "insufficient_scope": InsufficientScope,
    "QUERY_LIMIT_EXCEEDED": QueryLimitExceeded,
    "OVERLOAD_LIMIT": QueryLimitExceeded,
    "OPERATION_TIME_LIMIT": OperationTimeLimit,
    "ACCESS_DENIED": AccessDenied,
    "user_access_error": AccessDenied,
    "INVALID_CREDENTIALS": AccessDenied,
    "WRONG_AUTH_TYPE": ApplicationContextRequired,
    "ERROR_WRONG_CONTEXT": ApplicationContextRequired,
    "ERROR_WRONG_APPLICATION": ApplicationContextRequired,
    "NOT_FOUND": NotFound,
    "OWNER_NOT_FOUND": NotFound,
    "BINDING_NOT_FOUND": NotFound,
    "ERROR_METHOD_NOT_FOUND": MethodNotFound,
    "UNSUITABLE_ACTIVITY_TYPE_ERROR": UnsuitableActivityType,
    "LAST_BINDING_CANNOT_BE_DELETED": LastBindingCannotBeDeleted,
    "ACTIVITY_IS_ALREADY_BOUND": ActivityAlreadyBound,
    "CAN_NOT_UPDATE_COMPLETED_TODO": CompletedTodo,
    "CAN_NOT_UPDATE_COLOR_COMPLETED_TODO": CompletedTodo,
    "CAN_NOT_UPDATE_RESPONSIBLE_USER_COMPLETED_TODO": CompletedTodo,
    "PAYMENT_REQUIRED": PaymentRequired,
    "invalid_grant": InvalidGrant,
    "bad_verification_code": InvalidGrant,
    "invalid_client": InvalidClient,
    "wrong_client": InvalidClient,
    "NOT_INSTALLED": InvalidClient,
    "INTERNAL_SERVER_ERROR": ServerError,
    "ERROR_UNEXPECTED_ANSWER": ServerError,
}
# Validation codes of the layout DTOs and the D7 controllers (notes §5.3, §6.2).
for _code in (
    "100",
    "FIELD_IS_REQUIRED",
    "FIELD_IS_REDUNDANT",
    "WRONG_FIELD_VALUE",
    "ENUM_FIELD",
    "TOO_MANY_ITEMS",
    "KEY_CONTAIN_WRONG_SYMBOLS",
    "WRONG_LANG",
    "INVALID_ARG_VALUE",
    "ERROR_ARGUMENT",
    "ERROR_CORE",
    "WRONG_DATETIME_FORMAT",
    "SOURCE_AND_TARGET_ENTITY_TYPES_ARE_NOT_EQUAL",
    "ERROR_EMPTY_LAYOUT",
    "INCOMING_ACTIVITY_CAN_NOT_BE_WITH_DEADLINE",
    "ERROR_BATCH_LENGTH_EXCEEDED",
    "ERROR_BATCH_METHOD_NOT_ALLOWED",
    "ERROR_WRONG_HANDLER_URL",
    "ERROR_UNSUPPORTED_PROTOCOL",
    "ERROR_EVENT_NOT_FOUND",
    "ERROR_PLACEMENT_NOT_FOUND",
):
    BY_CODE[_code] = ValidationError

# Legacy crm.activity.* methods answer an empty code and a sentence (docs crm.activity.add/update/delete).
BY_DESCRIPTION: tuple[tuple[str, type[Bitrix24Error]], ...] = (
    ("application context required", ApplicationContextRequired),
    ("access denied", AccessDenied),
    ("not found", NotFound),
    ("is not defined or", ValidationError),
    ("invalid parameter", ValidationError),
)


def error_from_answer(
    code: str, description: str, status: int | None, *, method: str = "", body: dict[str, Any] | None = None
) -> Bitrix24Error:
    """Build the typed error for an error envelope."""
    kind = BY_CODE.get(code) or _by_description(description) or _by_status(status)
    if kind is OperationTimeLimit:
        reset_at = (body or {}).get("operating_reset_at") or ((body or {}).get("time") or {}).get(
            "operating_reset_at"
        )
        return OperationTimeLimit(code, description, status, method=method, reset_at=_number(reset_at))
    return kind(code, description, status, method=method)


def _by_description(description: str) -> type[Bitrix24Error] | None:
    lowered = description.lower()
    return next((kind for words, kind in BY_DESCRIPTION if words in lowered), None)


def _by_status(status: int | None) -> type[Bitrix24Error]:
    if status == 401:
        return InvalidToken
    if status == 403:
        return AccessDenied
    if status is not None and status >= 500:
        return ServerError
    return ValidationError if status == 400 else Bitrix24Error


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
