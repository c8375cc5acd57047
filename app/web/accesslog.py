"""Gunicorn's access log without secrets: query values, credentials headers and token-like text redacted.

/oauth/callback?code=…&state=… carries a single-use code and the state that binds it to a browser; a
frame URL's APP_SID and any future parameter may be just as sensitive. gunicorn.conf.py makes this the
logger class, so every atom a format can name (the request line, the query, the referer, any header or
environ value) is scrubbed before it is written.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from gunicorn.glogging import Logger

from app.logs import REDACTED, redact

# Query parameters whose values are identifiers, useful in a log and never secret.
KEPT = frozenset({"DOMAIN", "PROTOCOL", "LANG", "domain", "member_id", "server_domain"})
SECRET_HEADERS = re.compile(r"^\{(authorization|cookie|proxy-authorization|idempotency-key)\}i$")
QUERY_ATOMS = frozenset({"q", "{query_string}e"})
PAIR = re.compile(r"(?P<key>[^=&?#\s\"]+)=(?P<value>[^&#\s\"]*)")
ATOM = re.compile(r"%\(([^)]+)\)s")
IN_URL = re.compile(r"\?(?P<query>[^#\s\"]*)")


def scrub_query(query: str) -> str:
    """Every value of a query string redacted, but those of the identifiers in KEPT."""
    return PAIR.sub(lambda m: m.group(0) if m.group("key") in KEPT else f"{m.group('key')}={REDACTED}", query)


def scrub(text: str) -> str:
    """The query of any URL in `text` scrubbed, then token-like values redacted (app.logs)."""
    return redact(IN_URL.sub(lambda m: "?" + scrub_query(m.group("query")), text))


class RedactingLogger(Logger):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's Logger whose access-log atoms carry no secret."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name in used_atoms(self.cfg.access_log_format):  # only what the format writes: cheaper
            value = atoms.get(name)
            if isinstance(value, str):
                atoms[name] = scrub_atom(name, value)
        return atoms


@functools.lru_cache(maxsize=8)
def used_atoms(log_format: str) -> tuple[str, ...]:
    """The atom names an access-log format refers to, as gunicorn looks them up (lower-case)."""
    return tuple(name.lower() if name.startswith("{") else name for name in ATOM.findall(log_format))


def scrub_atom(name: str, value: str) -> str:
    """One atom's value as it may be written."""
    if SECRET_HEADERS.match(name):
        return REDACTED
    if name in QUERY_ATOMS:
        return redact(scrub_query(value))
    return scrub(value)
