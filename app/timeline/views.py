"""Routes of the activity page: the entry points and the actions (each module adds its own)."""

from __future__ import annotations
