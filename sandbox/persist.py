"""The sandbox's memory between runs: its state pickled atomically to a file, saved after changes.

Kept: portals (users, CRM items, activities, installed apps with their event bindings and placements),
issued tokens, the vendor-console registrations and the settings. Not kept: deliveries, errors, request
counts, faults and authorization codes (30 s) — a log, not a world. A file made for other ports or by an
older shape of the state is not loaded: the run starts with a new portal and says why.

The file is local and written only by this process (under the git-ignored instance/), which is what makes
pickle acceptable here; it is never read from anywhere else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import pickle
import tempfile
import threading
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from sandbox import state as state_module
from sandbox.crm import store
from sandbox.state import Sandbox

log = logging.getLogger("sandbox.persist")
KEPT = ("portals", "tokens", "refresh_tokens", "registrations", "delivery_seq")
# Settings that say where things are: a file made for other ones belongs to another run.
PLACES = ("oauth_base_url", "portal_domains", "app_base_url", "client_id")
DEBOUNCE = 0.3  # seconds: a burst of REST calls is one write
LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def shape() -> str:
    """A digest of every state dataclass's field names: a file of another shape is not loaded."""
    names = []
    for module in (state_module, store):
        for name, value in sorted(vars(module).items()):
            if dataclasses.is_dataclass(value) and isinstance(value, type):
                names.append(name + ":" + ",".join(f.name for f in dataclasses.fields(value)))
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


class _Pickler(pickle.Pickler):
    """Locks (a later per-portal lock, say) are saved as new, unlocked ones."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, LOCK_TYPES):
            return (threading.RLock if "RLock" in type(obj).__name__ else threading.Lock), ()
        return NotImplemented


def snapshot(sandbox: Sandbox) -> bytes:
    """The kept state as bytes, taken under the world lock so no request changes it meanwhile."""
    buffer = io.BytesIO()
    with sandbox.world.exclusive(), sandbox.lock:  # REST changes portals under Portal.lock (sandbox/locks.py)
        payload = {
            "shape": shape(),
            "places": {key: sandbox.setting(key) for key in PLACES},
            "settings": dict(sandbox.settings),
            **{name: getattr(sandbox, name) for name in KEPT},
        }
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
    return buffer.getvalue()


def save(sandbox: Sandbox, path: Path) -> None:
    """Write the snapshot atomically: a temporary file in the same directory, fsync, rename."""
    data = snapshot(sandbox)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def restore(sandbox: Sandbox, path: Path) -> str:
    """Replace the seeded state with the saved one if it fits this run; return what happened, in words."""
    if not path.exists():
        return f"a new portal (saved to {path} as you go)"
    try:
        payload = pickle.loads(path.read_bytes())  # noqa: S301  (our own file, see the module docstring)
    except Exception as error:  # a torn or foreign file must not stop the demo
        return f"a new portal: {path} could not be read ({type(error).__name__}), it will be replaced"
    if not isinstance(payload, dict) or payload.get("shape") != shape():
        return f"a new portal: {path} was saved by another version of the sandbox, it will be replaced"
    wanted = {key: sandbox.setting(key) for key in PLACES}
    if payload.get("places") != wanted:
        where = _where(payload["places"])
        return f"a new portal: {path} was made for other ports ({where}), it will be replaced"
    with sandbox.world.exclusive(), sandbox.lock:
        at_start = dict(sandbox.settings)  # this run's own (ports, flags) win over the saved ones
        sandbox.reset()
        for name in KEPT:
            setattr(sandbox, name, payload[name])
        sandbox.settings = {**payload["settings"], **at_start}
    return f"the saved portal from {path} (make reset starts clean)"


def _where(places: dict[str, Any]) -> str:
    domains = ", ".join(places.get("portal_domains") or [])
    return f"portal {domains}, app {places.get('app_base_url')}"


class Autosave:
    """Saves the state shortly after each change; `stop()` saves a last time."""

    def __init__(self, sandbox: Sandbox, path: Path) -> None:
        self.sandbox = sandbox
        self.path = path
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-autosave", daemon=True)
        self._thread.start()

    def mark(self) -> None:
        """Something may have changed: save soon."""
        self._dirty.set()

    def stop(self) -> None:
        """Save what is left and end the thread."""
        self._stopping.set()
        self._dirty.set()
        self._thread.join(10)
        self._save()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._dirty.wait()
            self._stopping.wait(DEBOUNCE)
            self._dirty.clear()
            self._save()

    def _save(self) -> None:
        try:
            save(self.sandbox, self.path)
        except Exception:  # a full disk must not take the portal down; it is said once per failure
            log.exception("could not save the sandbox state to %s", self.path)


def attach(app: Flask, path: Path) -> Autosave:
    """Save after every request that may have changed the state (any but a plain page or file GET)."""
    autosave = Autosave(app.extensions["sandbox"], path)

    @app.after_request
    def saved_soon(response: Response) -> Response:
        if request.method != "GET" or request.path.startswith(("/rest/", "/oauth/")):
            autosave.mark()
        return response

    app.extensions["sandbox_autosave"] = autosave
    return autosave
