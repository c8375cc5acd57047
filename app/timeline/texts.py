"""The activity page's words, and the portal's error codes in words a user can act on (English msgids)."""

from __future__ import annotations

from app.bitrix24 import errors
from app.i18n import C_, N_, gettext, locale_for, per_locale, pgettext, translated

TEXTS: dict[str, str] = {
    "title": N_("Activity ID {id}"),
    "no_subject": N_("(no subject)"),
    "type": N_("Type"),
    "owner": N_("Linked to"),
    "deadline": N_("Deadline"),
    "no_deadline": N_("No deadline"),
    "status": N_("Status"),
    "responsible": N_("Responsible"),
    "you": N_("you"),
    "user": N_("User with ID {id}"),
    "item_not_visible": N_("{item} — not found or not visible to you"),
    "description": N_("Description"),
    "no_description": N_("No description."),
    "done": N_("Completed"),
    "open": N_("Open"),
    "bindings": N_("Linked CRM items"),
    "no_bindings": N_("The activity is not linked to any CRM item you can see."),
    "bindings_unknown": N_("The links could not be read: {message}"),
    "binding_remove": N_("Remove link"),
    "binding_move": N_("Move to"),
    "binding_move_to": N_("Move the link to {item} to another item of the same type"),
    "binding_move_submit": N_("Move"),
    "binding_add": N_("Add a link"),
    "entity_type": N_("CRM item type"),
    "entity_id": N_("CRM item"),
    "add": N_("Add"),
    "blocks": N_("Content blocks"),
    "blocks_none": N_("This app has not added content blocks to the activity yet."),
    "blocks_unsuitable": N_("Bitrix24 does not allow additional content blocks on this kind of activity."),
    "blocks_unknown": N_("The content blocks could not be read: {message}"),
    "blocks_edit": N_("Edit content blocks"),
    "blocks_save": N_("Save blocks"),
    "blocks_delete": N_("Remove all blocks"),
    "todo": N_("To-do"),
    "todo_only": N_("Deadline, description, colour and responsible can be changed on to-dos only."),
    "todo_completed": N_("This to-do is completed, so it can no longer be changed."),
    "color": N_("Colour"),
    "color_n": N_("Colour {n}"),
    "save": N_("Save"),
    "responsible_id": N_("Responsible user"),
    # the pickers (app/timeline/pickers.py, static/picker.js, templates/timeline/_picker.html)
    "pick_user_hint": N_("Type part of a name, then choose with the arrow keys and Enter."),
    "pick_item_hint": N_(
        "Type part of the title (a contact's name), then choose with the arrow keys and Enter."
    ),
    "pick_searching": N_("Searching…"),
    "pick_none": N_("Nothing found."),
    "pick_count": N_("Matches: {n}. Use the up and down arrows to choose."),
    "pick_failed": N_("The search did not work. Type the whole name and send the form."),
    "pick_not_text": N_("The search must be text."),
    "pick_bad_request": N_("The search request was not understood. Reload the page and try again."),
    "pick_bad_type": N_("Choose one of the CRM item types in the list."),
    "pick_user_missing": N_("Type a name and choose a user."),
    "pick_item_missing": N_("Type a title and choose a CRM item."),
    "pick_no_user": N_("No such user: no active user on the portal matches “{query}”."),
    "pick_many_users": N_(
        "Several users match “{query}”: {names}. Type more of the name or choose from the list."
    ),
    "pick_no_item": N_("No item of the type “{type}” that you can see matches “{query}”."),
    "pick_many_items": N_(
        "Several items match “{query}”: {names}. Type more of the title or choose from the list."
    ),
    "no_such_user": N_("No such user: Bitrix24 has no active user #{id}. Choose a user from the list."),
    "item_refused": N_(
        "Bitrix24 does not let you link the activity to {item}: it does not exist, or your permissions do "
        "not cover it."
    ),
    "actions": N_("Actions"),
    "complete": N_("Complete"),
    "delete": N_("Delete activity"),
    "delete_confirm": N_("Delete this activity? This cannot be undone."),
    "completed_already": N_("This activity is completed."),
    "create_section": N_("Add a linked app activity"),
    "configurable_section": N_("Add a configurable activity"),
    "deleted_title": N_("Activity deleted"),
    "deleted": N_("The activity with ID {id} was deleted. You can close this window."),
    "saved_blocks": N_("The content blocks were saved."),
    "deleted_blocks": N_("The content blocks were removed."),
    "saved_deadline": N_("The deadline was changed."),
    "saved_description": N_("The description was changed."),
    "saved_color": N_("The colour was changed."),
    "saved_responsible": N_("The responsible user was changed."),
    "binding_added": N_("The link was added."),
    "binding_moved": N_("The link was moved."),
    "binding_deleted": N_("The link was removed."),
    "completed": N_("The activity was completed."),
    "already_done": N_(
        "This form was already sent, so nothing was done again. The page shows the activity as the "
        "portal has it now."
    ),
    "bad_layout_json": N_("The layout is not valid JSON."),
    "bad_layout": N_("The blocks cannot be saved: {path}: {message}"),
    "bad_deadline": N_("Enter the deadline as a date and a time."),
    "bad_color": N_("Choose one of the colours 1 to 7."),
    "bad_number": N_("Enter a positive number for {field}."),
    "too_long": N_("The text is too long for Bitrix24. Shorten it and try again."),
    "problem": N_("Not done"),
    "notice": N_("Done"),
}
OWNER_TYPES: dict[int, str] = {
    1: N_("Lead"),
    2: N_("Deal"),
    3: N_("Contact"),
    4: N_("Company"),
    7: N_("Estimate"),
    31: N_("Invoice"),
}
SMART_PROCESS = N_("Smart process")
DYNAMIC_TYPE_START = 128  # CCrmOwnerType::DynamicTypeStart (crm/classes/general/crm_owner_type.php)
# Activity types: the context keeps the to-do type's name apart from the page's "To-do" heading.
ACTIVITY_TYPE = "activity type"
ACTIVITY_TYPES: dict[str, str] = {
    "1": C_("activity type", "Meeting"),
    "2": C_("activity type", "Call"),
    "3": C_("activity type", "Task"),
    "4": C_("activity type", "E-mail"),
    "5": C_("activity type", "Action"),
    "CRM_TODO": C_("activity type", "To-do"),
    "REST_APP": C_("activity type", "App activity"),
    "CONFIGURABLE_REST_APP": C_("activity type", "Configurable app activity"),
}
STATUSES: dict[int, str] = {
    1: N_("Waiting"),
    2: N_("Completed"),
    3: N_("Completed automatically"),
}
# The documented codes of the methods the page calls, in words (docs crm.activity.* "Possible Error Codes").
CODES: dict[str, str] = {
    "100": N_("Bitrix24 says a required value is missing. Fill in every field and try again."),
    "NOT_FOUND": N_(
        "Bitrix24 cannot find the activity or the CRM item. Someone may have deleted it; check the "
        "ID or reload."
    ),
    "OWNER_NOT_FOUND": N_("There is no CRM item of that type with that ID. Check the type and the ID."),
    "ACCESS_DENIED": N_(
        "Your Bitrix24 permissions do not allow this change. Ask your administrator for access."
    ),
    "WRONG_DATETIME_FORMAT": N_("Bitrix24 did not understand the date. Enter a date and a time."),
    "CAN_NOT_UPDATE_COMPLETED_TODO": N_("This to-do is completed, so it can no longer be changed."),
    "CAN_NOT_UPDATE_COLOR_COMPLETED_TODO": N_("This to-do is completed, so its colour can no longer change."),
    "CAN_NOT_UPDATE_RESPONSIBLE_USER_COMPLETED_TODO": N_(
        "This to-do is completed, so its responsible user can no longer change."
    ),
    "CAN_NOT_UPDATE_WRONG_COLOR_TODO": N_("Choose one of the colours 1 to 7."),
    "INVALID_ARG_VALUE": N_("Bitrix24 refused the value: a user ID must be a positive number."),
    "ERROR_PARENT_ACTIVITY_RESTRICT": N_("The activity cannot be linked to that parent activity."),
    "ACTIVITY_IS_ALREADY_BOUND": N_("The activity is already linked to that CRM item."),
    "SOURCE_AND_TARGET_ENTITY_TYPES_ARE_NOT_EQUAL": N_(
        "A link can only move to an item of the same type (a deal to another deal). Add a new link instead."
    ),
    "SOURCE_AND_TARGET_ENTITY_ID_ARE_EQUAL_ERROR": N_(
        "The link already points to that item. Choose another item."
    ),
    "BINDING_NOT_FOUND": N_("The activity is not linked to that item any more. Reload to see its links."),
    "LAST_BINDING_CANNOT_BE_DELETED": N_(
        "An activity must stay linked to at least one CRM item. Add another link before removing this one."
    ),
    "TOO_MANY_BINDINGS": N_("The activity has the most links Bitrix24 allows. Remove one first."),
    "UNSUITABLE_ACTIVITY_TYPE_ERROR": N_(
        "Bitrix24 does not allow additional content blocks on this kind of activity."
    ),
    "ERROR_WRONG_CONTEXT": N_(
        "Bitrix24 accepts this only from the app itself. Reopen the app from the portal and try again."
    ),
    "FIELD_IS_REQUIRED": N_("A block is missing a required value."),
    "FIELD_IS_REDUNDANT": N_("A block has a property Bitrix24 does not know."),
    "WRONG_FIELD_VALUE": N_("A block has a value Bitrix24 does not accept."),
    "ENUM_FIELD": N_("A block has a value outside the allowed choices."),
    "TOO_MANY_ITEMS": N_("There are too many blocks (at most 20)."),
    "KEY_CONTAIN_WRONG_SYMBOLS": N_("A block key may only contain Latin letters, digits, - and _."),
    "WRONG_LANG": N_("A translation is in a language this portal does not have."),
}

# Errors without a documented code (the legacy methods answer a sentence), by their type; English shows the
# typed error's own user_message (which may name a time), the other languages these sentences.
KINDS: tuple[tuple[type[errors.Bitrix24Error], str], ...] = (
    (errors.AuthError, N_("Your Bitrix24 session has ended. Close this window and open the app again.")),
    (
        errors.ApplicationContextRequired,
        N_("This item belongs to another application, so only that application can change it."),
    ),
    (
        errors.AccessDenied,
        N_("Your Bitrix24 permissions do not allow this. Ask your administrator for access."),
    ),
    (
        errors.NotFound,
        N_("It no longer exists in Bitrix24: someone may have deleted it. Reload to see the current state."),
    ),
    (
        errors.CompletedTodo,
        N_("This to-do is completed, so it can no longer be changed. Reopen it first."),
    ),
    (
        errors.QueryLimitExceeded,
        N_("Bitrix24 is busy with many requests from this portal. Please try again in a few seconds."),
    ),
    (
        errors.OperationTimeLimit,
        N_("Bitrix24 has paused this action for this app for a few minutes. Please try again later."),
    ),
    (
        errors.TransportError,
        N_("Bitrix24 did not answer in time. Nothing may have changed; please try again in a minute."),
    ),
    (errors.ServerError, N_("Bitrix24 had a temporary problem. Please try again in a minute.")),
)
GENERIC = N_("Bitrix24 refused the request. Please try again; if it keeps failing, tell your administrator.")


@per_locale
def texts(locale: str) -> dict[str, str]:
    """The activity page's strings in the portal's language."""
    return translated(TEXTS, locale)


@per_locale
def owner_types(locale: str) -> dict[int, str]:
    """The CRM types a link may point to, by type id, in the portal's language."""
    return translated(OWNER_TYPES, locale)


def error_words(error: errors.Bitrix24Error, lang: str | None) -> str:
    """What to tell the user about a refusal: the code's words, else the typed error's message."""
    if error.code in CODES:
        return gettext(lang, CODES[error.code])
    if locale_for(lang) == "en":
        return error.user_message
    return gettext(lang, next((words for kind, words in KINDS if isinstance(error, kind)), GENERIC))


def owner_type(type_id: int, lang: str | None) -> str:
    """A CRM type's name; user-defined types (CCrmOwnerType::DynamicTypeStart, 128 up) are smart processes."""
    name = OWNER_TYPES.get(type_id) or (SMART_PROCESS if type_id >= DYNAMIC_TYPE_START else None)
    return gettext(lang, name) if name else f"#{type_id}"


def activity_type(type_id: int, provider_id: str, lang: str | None) -> str:
    name = ACTIVITY_TYPES.get(provider_id) or ACTIVITY_TYPES.get(str(type_id))
    return pgettext(lang, ACTIVITY_TYPE, name) if name else provider_id or str(type_id)


def status(value: int, lang: str | None) -> str:
    name = STATUSES.get(value)
    return gettext(lang, name) if name else "—"
