"""Platform REST methods; importing this package registers them in core.METHODS."""

from sandbox.methods import batch, enums, events, offline, placements, system, types

__all__ = ["batch", "enums", "events", "offline", "placements", "system", "types"]
