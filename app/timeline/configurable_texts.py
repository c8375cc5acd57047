"""The words of the activity page's "add a configurable activity" form (English msgids, app.i18n)."""

from __future__ import annotations

from app.activities.configurable import MAX_TAG, MAX_TAGS, MAX_TEXT, MAX_TITLE, ItemProblem
from app.i18n import N_, NP_, counted, gettext, per_locale, translated

TEXTS: dict[str, str] = {
    "heading": N_("Add an activity with buttons"),
    "intro": N_(
        "Adds an activity to the same CRM item, with “Mark done” and “Snooze a day” buttons that "
        "anyone can click in the timeline."
    ),
    "title": N_("Title"),
    "text": N_("Text"),
    "tags": N_("Tags"),
    "tags_hint": N_("Up to {n}, separated by commas."),
    "deadline": N_("Deadline"),
    "deadline_hint": N_("In the portal's time zone. Leave empty for no deadline."),
    "responsible": N_("Responsible user"),
    "responsible_hint": N_("Leave empty to be responsible yourself."),
    "submit": N_("Add activity"),
    "created": N_("“{title}” with buttons was added to the timeline."),
    "title.required": N_("Give the activity a title."),
    "deadline.not_a_date": N_("The deadline is not a date and time."),
    "responsible.not_an_id": N_("The responsible user ID must be a whole number above zero."),
    "bad_layout": N_("The activity could not be built ({path}: {message})."),
}
# Refusals that name a limit: the words for each count, and the limit.
LIMITED: dict[str, tuple[tuple[str, str], int]] = {
    "title.too_long": (
        NP_(
            "The title may be at most {count} character long.",
            "The title may be at most {count} characters long.",
        ),
        MAX_TITLE,
    ),
    "text.too_long": (
        NP_(
            "The text may be at most {count} character long.",
            "The text may be at most {count} characters long.",
        ),
        MAX_TEXT,
    ),
    "tags.too_many": (NP_("Give at most {count} tag.", "Give at most {count} tags."), MAX_TAGS),
    "tags.too_long": (
        NP_(
            "Each tag may be at most {count} character long.",
            "Each tag may be at most {count} characters long.",
        ),
        MAX_TAG,
    ),
}


@per_locale
def texts(locale: str) -> dict[str, str]:
    """The form's words in the page's language."""
    words = translated(TEXTS, locale)
    return {**words, "tags_hint": words["tags_hint"].format(n=MAX_TAGS)}


def problem_words(problem: ItemProblem, lang: str | None) -> str:
    """What to tell the user about a refused input."""
    key = f"{problem.field}.{problem.code}"
    if key in LIMITED:
        words, limit = LIMITED[key]
        return counted(lang, words, limit)
    return gettext(lang, TEXTS.get(key, TEXTS["title.required"]))
