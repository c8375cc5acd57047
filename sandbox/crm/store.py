"""Per-portal CRM activity state: activities, bindings, custom types, content blocks, configurable items, badges."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CrmStore:
    """Filled in by the crm.activity.* implementation."""
