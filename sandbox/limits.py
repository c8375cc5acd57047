"""Request-rate and operating-time limits (notes §5.6) and the test fault switches."""

from __future__ import annotations

import time
from typing import Any

from sandbox.core import RestError
from sandbox.state import Portal, Sandbox


def bucket_shape(sandbox: Sandbox, portal: Portal) -> tuple[float, float]:
    """Return (leak per second, size): 2/50, enterprise 5/250, unless settings say otherwise (notes §5.6)."""
    enterprise = portal.license_family == "ent"
    rate = sandbox.setting("rate")
    burst = sandbox.setting("burst")
    default_rate, default_burst = (5.0, 250.0) if enterprise else (2.0, 50.0)
    return (
        float(rate) if rate is not None else default_rate,
        float(burst) if burst is not None else default_burst,
    )


def take_request(sandbox: Sandbox, portal: Portal, now: float | None = None) -> None:
    """Count one HTTP request in the portal's leaky bucket or raise 503 QUERY_LIMIT_EXCEEDED."""
    if not sandbox.setting("limits_enabled"):
        return
    now = time.time() if now is None else now
    rate, burst = bucket_shape(sandbox, portal)
    level = max(0.0, portal.bucket_level - (now - portal.bucket_at) * rate)
    portal.bucket_at = now
    if level + 1 > burst:
        portal.bucket_level = level
        raise RestError("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)  # notes §5.6
    portal.bucket_level = level + 1


def _window(sandbox: Sandbox, portal: Portal, key: tuple[str, str], now: float) -> list[tuple[float, float]]:
    window = float(sandbox.setting("operating_window"))
    entries = [e for e in portal.operating.get(key, []) if e[0] > now - window]
    portal.operating[key] = entries
    return entries


def operating_state(sandbox: Sandbox, portal: Portal, client_id: str, method: str) -> tuple[float, int]:
    """Return (seconds used in the window, operating_reset_at) for an app's method."""
    now = time.time()
    entries = _window(sandbox, portal, (client_id, method), now)
    used = sum(cost for _, cost in entries)
    oldest = entries[0][0] if entries else now
    return used, int(oldest + float(sandbox.setting("operating_window")))


def check_operating(sandbox: Sandbox, portal: Portal, client_id: str, method: str) -> None:
    """Refuse a method whose summed time in the window is over the limit: 429 (notes §5.6)."""
    if not sandbox.setting("limits_enabled"):
        return
    used, reset_at = operating_state(sandbox, portal, client_id, method)
    if used > float(sandbox.setting("operating_limit")):
        raise RestError(
            "OPERATION_TIME_LIMIT",
            "Method is blocked due to operation time limit.",
            429,
            **reset_at_extra(sandbox, reset_at),
        )


def reset_at_extra(sandbox: Sandbox, reset_at: int) -> dict[str, int]:
    """`operating_reset_at` in the 429 body only when the switch is on.

    notes §5.3/§5.6: the platform's error envelope is {error, error_description}; operating_reset_at lives in
    `time` of successful answers (rest.php appendDebugInfo). Some clients show it in the 429 body; disputed.
    """
    return {"operating_reset_at": reset_at} if sandbox.setting("operating_reset_at_in_error") else {}


def record_operating(sandbox: Sandbox, portal: Portal, client_id: str, method: str, elapsed: float) -> None:
    """Add a call's cost; only calls over 0.1 s count unless a fixed test cost is set (notes §5.6)."""
    cost = sandbox.setting("operating_cost")
    cost = elapsed if cost is None else float(cost)
    if cost <= 0 or (
        sandbox.setting("operating_cost") is None and cost <= float(sandbox.setting("operating_min"))
    ):
        return
    portal.operating.setdefault((client_id, method), []).append((time.time(), cost))


def block_method(sandbox: Sandbox, portal: Portal, client_id: str, method: str, seconds: float) -> int:
    """Use up an app's operating time for one method now: its calls answer 429 for `seconds` (notes §5.6).

    The entry is dated so that it leaves the rolling window after `seconds`; returns operating_reset_at.
    """
    window = float(sandbox.setting("operating_window"))
    dated = time.time() - window + float(seconds)
    with sandbox.lock:
        entries = portal.operating.setdefault((client_id, method.lower()), [])
        entries.insert(0, (dated, float(sandbox.setting("operating_limit")) + 1.0))
    return int(dated + window)


def add_fault(
    sandbox: Sandbox,
    kind: str,
    *,
    count: int | None = 1,
    status: int = 500,
    seconds: float = 0.0,
    method: str | None = None,
    error: str | None = None,
    domain: str | None = None,
    reset_in: float = 10.0,
) -> dict[str, Any]:
    """Arm a fault: `status` (answer a 5xx), `delay` (sleep first) or `drop` (close the socket, no answer).

    `method` filters by REST method name (lower case) or "oauth.token" / "oauth.authorize" / "app.info";
    `domain` by the portal host hit (host:port); `count` None means until cleared. A 429 answers
    OPERATION_TIME_LIMIT with `operating_reset_at` = now + `reset_in` seconds.
    """
    if kind not in {"status", "delay", "drop"}:
        raise ValueError(f"unknown fault kind {kind!r}")
    fault = {
        "kind": kind,
        "count": count,
        "status": int(status),
        "seconds": float(seconds),
        "method": method.lower() if method else None,
        "error": error,
        "domain": domain.lower() if domain else None,
        "reset_in": float(reset_in),
    }
    with sandbox.lock:
        sandbox.faults.append(fault)
    return fault


def take_faults(sandbox: Sandbox, target: str, domain: str = "") -> list[dict[str, Any]]:
    """Consume the faults that apply to this request (one of each kind at most)."""
    taken: dict[str, dict[str, Any]] = {}
    with sandbox.lock:
        for fault in sandbox.faults:
            if fault["kind"] in taken or fault["method"] not in (None, target.lower()):
                continue
            if fault.get("domain") not in (None, domain.lower()):
                continue
            if fault["count"] is not None:
                if fault["count"] <= 0:
                    continue
                fault["count"] -= 1
            taken[fault["kind"]] = fault
        sandbox.faults[:] = [f for f in sandbox.faults if f["count"] is None or f["count"] > 0]
    return list(taken.values())


def fault_body(sandbox: Sandbox, fault: dict[str, Any]) -> dict[str, Any]:
    """Return the error envelope a status fault answers with."""
    defaults = {
        500: ("INTERNAL_SERVER_ERROR", "Internal server error"),
        502: ("ERROR_UNEXPECTED_ANSWER", "Server returned an unexpected response"),
        503: ("QUERY_LIMIT_EXCEEDED", "Too many requests"),
        504: ("ERROR_UNEXPECTED_ANSWER", "Server returned an unexpected response"),
        429: ("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit."),  # notes §5.6
    }
    code, text = defaults.get(fault["status"], ("INTERNAL_SERVER_ERROR", "Internal server error"))
    body: dict[str, Any] = {"error": fault["error"] or code, "error_description": text}
    if fault["status"] == 429:
        body.update(reset_at_extra(sandbox, int(time.time() + float(fault.get("reset_in", 10.0)))))
    return body
