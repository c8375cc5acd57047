"""The crm.activity.* methods of the sandbox portal; importing this package registers them all."""

from sandbox.crm import (  # noqa: F401  # imported for their @method registrations
    activity,
    activity_types,
    badges,
    binding,
    configurable,
    items,
    layout_blocks,
    listing,
    todo,
)
