"""The main page's words: English msgids, shown in the portal's language through the catalogs (app.i18n)."""

from __future__ import annotations

from app.i18n import C_, N_, NP_, counted, gettext, locale_for, per_locale, pgettext, translated
from app.layout import TERMS, Problem

# Also the administrators' templates and API keys and the activity page's "create" action.
TEXTS: dict[str, str] = {
    "title": N_("Timeline Bridge"),
    "about": N_(
        "Timeline Bridge puts activities from your other systems into the CRM timeline, and lets "
        "you open and act on them from the activity list."
    ),
    "hello": N_("Hello, {name}."),
    "already_done_title": N_("Already done"),
    "already_done": N_(
        "This form was already sent, so nothing was done again. Open Timeline Bridge again from "
        "your Bitrix24 portal to see where things stand."
    ),
    "health": N_("Installation health"),
    "health_ok": N_("Everything the app needs is registered on this portal."),
    "health_bad": N_("Some registrations are missing, so parts of the app will not work:"),
    "health_unknown": N_("The health check could not run: {message}"),
    "workers_stalled": N_(
        "{idle}, and {waiting}: button clicks, rules and the activity mirror stay as they are until one "
        "runs (the worker process, `flask --app app worker`)."
    ),
    "missing_events": N_("Event handlers missing"),
    "missing_placements": N_("Placements missing"),
    "bound_placements": N_("Opens from"),
    "missing_types": N_("Activity types missing"),
    "missing_badges": N_("Badges missing"),
    "backstop": N_("Changes missed while the app is down"),
    "backstop_offline": N_("caught up from the portal's offline event queue (deletions included)"),
    "backstop_reconcile": N_(
        "caught up by a periodic re-read of changed activities (this plan has no offline event "
        "queue, so deletions are not caught up)"
    ),
    "backstop_unknown": N_("not checked yet; the worker checks the portal's plan on its next round"),
    "repair": N_("Repair"),
    "repair_hint": N_("Registers everything again; what is already there is left as it is."),
    "repaired": N_("Repair finished"),
    "repair_failed": N_("The repair did not finish"),
    "repair_retry": N_("Some steps failed. Try again in a minute; if it keeps failing, reinstall the app."),
    "back": N_("Back to the overview"),
    "portal": N_("Portal"),
    "state": N_("State"),
    "plan": N_("Bitrix24 plan"),
    "app_status": N_("App status"),
    "support_id": N_("Portal ID for support:"),
    "support_id_hint": N_("Click to select it, then copy it into your message to support"),
    "version": N_("App version"),
    "counts": N_("Counts"),
    "activities": N_("Activities mirrored"),
    "inbox": N_("Events by status"),
    "oldest_pending": N_("Oldest pending event waiting"),
    "seconds": N_("{n} s"),
    "recent": N_("Recent events"),
    "failures": N_("Recent failures"),
    "no_events": N_("No events yet."),
    "no_failures": N_("No failures."),
    "when": N_("Received"),
    "event": N_("Event"),
    "status": N_("Status"),
    "error": N_("Error"),
    "unknown": N_("unknown"),
    "rules": N_("Enrichment rules"),
    "rules_about": N_(
        "When an activity matching a rule is added or updated, the app sets the rule's content "
        "blocks on it. Write {{SUBJECT}}, {{ID}}, {{OWNER_ID}} and other activity fields in text "
        "values. Empty matchers match any activity; the first enabled matching rule applies."
    ),
    "no_rules": N_("No rules yet."),
    "rule_name": N_("Name"),
    "rule_matches": N_("Matches"),
    "rule_counts": N_("Set / skipped / failed"),
    "rule_provider": N_("Kind of activity"),
    "rule_type": N_("Activity type"),
    "rule_owner_type": N_("Linked to"),
    "rule_direction": N_("Direction"),
    "rule_layout": N_("Content blocks"),
    "rule_new": N_("New rule"),
    "rule_when": N_("Applies to activities that match all of these"),
    "rule_any": N_("Any activity"),
    "rule_any_value": N_("Any"),
    "rule_add": N_("Add rule"),
    "rule_enable": N_("Enable"),
    "rule_disable": N_("Disable"),
    "rule_delete": N_("Delete"),
    "rule_on": N_("on"),
    "rule_off": N_("off"),
    "rule_added": N_("Rule “{name}” added."),
    "rule_enabled": N_("Rule “{name}” enabled."),
    "rule_disabled": N_("Rule “{name}” disabled."),
    "rule_deleted": N_("Rule “{name}” deleted."),
    "rule_refused": N_("The layout was refused; nothing was saved:"),
    "rule_missing": N_("This portal has no such rule; it may have been deleted already."),
    "templates": N_("Activity templates"),
    "templates_about": N_(
        "Ready-made app activities that users add from an activity's page. Write {{SUBJECT}}, "
        "{{DESCRIPTION}}, {{ID}} and other fields of the opened activity in the subject, the "
        "description and the text values of the content blocks."
    ),
    "no_templates": N_("No templates yet."),
    "template_name": N_("Name"),
    "template_subject": N_("Subject"),
    "template_description": N_("Description"),
    "template_layout": N_("Content blocks"),
    "template_new": N_("New template"),
    "template_subject_example": N_("Call back: {{SUBJECT}}"),
    "template_add": N_("Add template"),
    "template_save": N_("Save"),
    "template_edit": N_("Edit"),
    "template_delete": N_("Delete"),
    "template_added": N_("Template “{name}” added."),
    "template_updated": N_("Template “{name}” saved."),
    "template_deleted": N_("Template “{name}” deleted."),
    "template_refused": N_("The template was refused; nothing was saved:"),
    "template_missing": N_("This portal has no such template; it may have been deleted already."),
    "api_keys": N_("API keys"),
    "api_keys_about": N_(
        "External systems create activities on this portal through the JSON API at {url} with one "
        "of these keys (Authorization: Bearer …). A key is shown once, when it is created."
    ),
    "no_api_keys": N_("No API keys yet."),
    "api_key_label": N_("Label"),
    "api_key_label_example": N_("Helpdesk"),  # the label field's placeholder: the system the key is for
    "api_key_prefix": N_("Key"),
    "api_key_created_at": N_("Created"),
    "api_key_last_used": N_("Last used"),
    "api_key_never": N_("never"),
    "api_key_revoked": N_("revoked"),
    "api_key_active": N_("active"),
    "api_key_create": N_("Create key"),
    "api_key_new": N_("New key"),
    "api_key_revoke": N_("Revoke"),
    "api_key_shown_once": N_("Copy this key now: it is shown only once and cannot be read again."),
    "api_key_created": N_("Key “{label}” created."),
    "api_key_revoked_notice": N_("Key “{label}” revoked; requests with it are now refused."),
    "api_key_missing": N_("This portal has no such key."),
    "api_key_label_long": N_("The label is longer than 255 characters."),
    "create_title": N_("Add a linked activity"),
    "create_template": N_("Template"),
    "create_submit": N_("Add"),
    "create_no_templates": N_("An administrator has not set up any activity templates yet."),
    "create_done": N_("“{subject}” was added from the template “{name}”."),
    "create_fallback": N_(
        "“{subject}” was added from the template “{name}”. It was made as a to-do because this portal "
        "doesn't accept content blocks on app activities."
    ),
    "create_no_subject": N_("An activity without a subject"),
    "create_no_template": N_("Choose one of the templates; the one chosen no longer exists."),
    "create_bad_template": N_(
        "The template “{name}” does not fit this activity ({path}: {message}). Ask an administrator "
        "to correct it."
    ),
}
# Status words by the stored value (an event's status, the installation's state): "event_pending" …
STATUS_WORDS: dict[str, str] = {
    "event_pending": C_("event status", "pending"),
    "event_done": C_("event status", "done"),
    "event_failed": C_("event status", "failed"),
    "state_installing": C_("installation state", "installing"),
    "state_active": C_("installation state", "active"),
    "state_needs_reinstall": C_("installation state", "needs reinstalling"),
    "state_uninstalling": C_("installation state", "uninstalling"),
    "state_uninstalled": C_("installation state", "uninstalled"),
}
CONTEXTS = {"event": "event status", "state": "installation state"}
# Words with a count, in the form each language uses for it (`count` on the pages, app.i18n.counted).
COUNTED: dict[str, tuple[str, str]] = {
    "workers_idle": NP_(
        "No worker has processed events for {count} minute",
        "No worker has processed events for {count} minutes",
    ),
    "workers_waiting": NP_("{count} event is waiting", "{count} events are waiting"),
}
# Pages shown instead of the app; the frame has not been trusted yet, so they show nothing else.
REFUSALS: dict[str, tuple[str, str]] = {
    "not_installed": (
        N_("Timeline Bridge is not installed on this portal"),
        N_("Ask a portal administrator to install it from the Applications menu, then open it again."),
    ),
    "wrong_portal": (
        N_("This page was opened for another portal"),
        N_("Close this window and open Timeline Bridge again from your portal's Applications menu."),
    ),
    "reopen": (
        N_("Your Bitrix24 session has ended"),
        N_(
            "Close this window and open Timeline Bridge again from your portal. Nothing is shown until "
            "Bitrix24 confirms who you are."
        ),
    ),
    "unavailable": (
        N_("Bitrix24 did not answer"),
        N_("{message} Close this window and open Timeline Bridge again in a minute."),
    ),
    "admins_only": (
        N_("Only portal administrators can do this"),
        N_("Ask a portal administrator to open Timeline Bridge."),
    ),
    "stale_install": (
        N_("Timeline Bridge was installed again since this page was opened"),
        N_("Nothing was done. Close this window and open the app again from your portal."),
    ),
    "wrong_activity": (
        N_("This page was opened for another activity"),
        N_("Close this window and open the activity from the timeline again."),
    ),
    "no_activity": (
        N_("This activity cannot be shown"),
        N_(
            "It may have been deleted, or your Bitrix24 permissions do not let you see it. Close this "
            "window and check the timeline."
        ),
    ),
    "busy": (
        N_("Bitrix24 is busy"),
        N_(
            "Many requests are going to your portal right now, so nothing was done. Try again in "
            "{seconds} s: go back, or close this window and open Timeline Bridge again."
        ),
    ),
    "throttled": (
        N_("Too many sign-ins Bitrix24 did not accept"),
        N_(
            "Timeline Bridge was opened many times with sign-in data your portal refused, so it does "
            "not ask the portal for a moment. Close this window and open Timeline Bridge again in "
            "{seconds} s."
        ),
    ),
}


def language(lang: str | None) -> str:
    """The shipped locale closest to the portal's LANG as an HTML tag (pt-BR); English for the rest."""
    return locale_for(lang).replace("_", "-")


@per_locale
def texts(locale: str) -> dict[str, str]:
    """The page's strings in the portal's language."""
    statuses = {
        key: pgettext(locale, CONTEXTS[key.split("_", 1)[0]], words) for key, words in STATUS_WORDS.items()
    }
    return {**translated(TEXTS, locale), **statuses}


def count(lang: str | None, key: str, value: int) -> str:
    """One of the COUNTED words for `value`, in the portal's language."""
    return counted(lang, COUNTED[key], value)


def problem_text(problem: Problem, lang: str | None) -> str:
    """A layout problem's message in the portal's language (the APIs and the logs keep the English)."""
    if not problem.words:
        return problem.message
    values = {key: gettext(lang, value) if key in TERMS else value for key, value in problem.values}
    words = gettext(lang, problem.words)
    return words.format(**values) if values else words


def problem_dicts(problems: list[Problem], lang: str | None) -> list[dict[str, object]]:
    """Problems as the editors' live checks answer them, each message in the requester's language."""
    return [{**problem.to_dict(), "message": problem_text(problem, lang)} for problem in problems]


def refusal(kind: str, lang: str | None, **values: str) -> tuple[str, str]:
    """The title and the sentence of a refusal page."""
    title, body = REFUSALS[kind]
    return gettext(lang, title), gettext(lang, body).format(**values)
