"""batch: up to 50 sub-calls with `$result[...]` references (notes §5.5)."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import Any

from sandbox.core import CallContext, RestError, method
from sandbox.dispatch import invoke, time_block, unpack
from sandbox.phpform import parse_query, php_scalar

MAX_LENGTH = 50  # notes §5.5: CRestUtil::BATCH_MAX_LENGTH
REFERENCE = re.compile(r"\$(result|next|total|time|error)((?:\[[^\]\[]+\])+)", re.IGNORECASE)
KEYS = {
    "result": "result",
    "next": "result_next",
    "total": "result_total",
    "time": "result_time",
    "error": "result_error",
}


def resolve(match: re.Match[str], results: dict[str, dict[str, Any]]) -> tuple[bool, Any]:
    """Follow `$result[cmd][k]...` into the results so far; (found, value)."""
    node: Any = results[KEYS[match.group(1).lower()]]
    for key in re.findall(r"\[([^\]\[]+)\]", match.group(2)):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False, None
    return True, node


def _embed(value: Any) -> str:
    """Render a value spliced into a string, as PHP string conversion would."""
    if value is None or value is False:
        return ""
    if isinstance(value, dict | list):
        return "Array"
    return php_scalar(value)


def substitute(value: Any, results: dict[str, dict[str, Any]]) -> Any:
    """Replace references: whole-value ones keep their type, embedded ones are spliced as text (§5.5)."""
    if isinstance(value, dict):
        return {k: substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, results) for v in value]
    if not isinstance(value, str) or "$" not in value:
        return value
    whole = REFERENCE.fullmatch(value)
    if whole:
        found, resolved = resolve(whole, results)
        return resolved if found else value

    def splice(match: re.Match[str]) -> str:
        found, resolved = resolve(match, results)
        return _embed(resolved) if found else match.group(0)

    return REFERENCE.sub(splice, value)


def commands(params: dict[str, Any]) -> list[tuple[str, Any]]:
    """Return (key, command) pairs from a cmd map or list."""
    cmd = params.get("cmd")
    if isinstance(cmd, dict):
        return [(str(k), v) for k, v in cmd.items()]
    if isinstance(cmd, list):
        return [(str(i), v) for i, v in enumerate(cmd)]
    if cmd in (None, ""):
        return []
    raise RestError("ERROR_ARGUMENT", "Argument 'cmd' must be an array of commands", 400, argument="cmd")


def run_one(ctx: CallContext, command: str, results: dict[str, dict[str, Any]], key: str) -> None:
    """Run one sub-call with the outer auth and file its outcome under `key`."""
    name, _, query = command.partition("?")
    params = substitute(parse_query(query), results)
    for auth_key in ("auth", "access_token"):
        params.pop(auth_key, None)
    started = time.time()
    sub = replace(
        ctx, emitted=ctx.emitted
    )  # one request: identical events merge across sub-calls (notes §2.3)
    try:
        value, extra = unpack(invoke(sub, name, params, in_batch=True))
    except RestError as error:
        results["result_error"][key] = error.body()
        return
    results["result"][key] = value
    if "total" in extra:
        results["result_total"][key] = extra["total"]
    if "next" in extra:
        results["result_next"][key] = extra["next"]
    results["result_time"][key] = time_block(ctx, name, started, time.time() - started)


def halt_flag(params: dict[str, Any]) -> bool:
    """Read halt (0/1, default 0)."""
    return str(params.get("halt", "0")).strip().lower() in ("1", "true", "y")


@method("batch", scope="basic", batchable=False)
def batch(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Run up to 50 commands; the 51st and later fail; halt stops at the first error (notes §5.5)."""
    halt = halt_flag(params)
    results: dict[str, dict[str, Any]] = {k: {} for k in KEYS.values()}
    count = 0
    for key, command in commands(params):
        if not isinstance(command, str):
            continue  # notes §5.5: non-string cmd entries are skipped
        count += 1
        if count > MAX_LENGTH:
            results["result_error"][key] = {
                "error": "ERROR_BATCH_LENGTH_EXCEEDED",
                "error_description": "Max batch length exceeded",
            }
        else:
            run_one(ctx, command, results, key)
        if halt and key in results["result_error"]:
            break
    return {k: results[k] for k in ("result", "result_error", "result_total", "result_next", "result_time")}
