"""Routes of the inbound API."""

from __future__ import annotations
