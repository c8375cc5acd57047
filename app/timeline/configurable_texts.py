"""The words of the activity page's "add a configurable activity" form, in en and ru."""

from __future__ import annotations

from app.activities.configurable import MAX_TAG, MAX_TAGS, MAX_TEXT, MAX_TITLE, ItemProblem
from app.main.texts import language

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "heading": "Add an activity with buttons",
        "intro": "Adds an activity to the same CRM item, with “Mark done” and “Snooze a day” buttons "
        "that anyone can click in the timeline.",
        "title": "Title",
        "text": "Text",
        "tags": "Tags",
        "tags_hint": "Up to {n}, separated by commas.",
        "deadline": "Deadline",
        "deadline_hint": "In the portal's time zone. Leave empty for no deadline.",
        "responsible": "Responsible user ID",
        "responsible_hint": "Leave empty to be responsible yourself.",
        "submit": "Add activity",
        "created": "Activity #{id} with buttons was added to the timeline.",
        "title.required": "Give the activity a title.",
        "title.too_long": "The title may be at most {max_title} characters long.",
        "text.too_long": "The text may be at most {max_text} characters long.",
        "tags.too_many": "Give at most {max_tags} tags.",
        "tags.too_long": "Each tag may be at most {max_tag} characters long.",
        "deadline.not_a_date": "The deadline is not a date and time.",
        "responsible.not_an_id": "The responsible user ID must be a whole number above zero.",
        "bad_layout": "The activity could not be built ({path}: {message}).",
    },
    "ru": {
        "heading": "Добавить дело с кнопками",
        "intro": "Добавляет дело к тому же элементу CRM с кнопками «Выполнено» и «Отложить на день», "
        "которые может нажать любой в таймлайне.",
        "title": "Название",
        "text": "Текст",
        "tags": "Теги",
        "tags_hint": "Не больше {n}, через запятую.",
        "deadline": "Крайний срок",
        "deadline_hint": "В часовом поясе портала. Оставьте пустым, если срока нет.",
        "responsible": "ID ответственного",
        "responsible_hint": "Оставьте пустым, чтобы ответственным были вы.",
        "submit": "Добавить дело",
        "created": "Дело #{id} с кнопками добавлено в таймлайн.",
        "title.required": "Укажите название дела.",
        "title.too_long": "Название — не длиннее {max_title} символов.",
        "text.too_long": "Текст — не длиннее {max_text} символов.",
        "tags.too_many": "Укажите не больше {max_tags} тегов.",
        "tags.too_long": "Каждый тег — не длиннее {max_tag} символов.",
        "deadline.not_a_date": "Крайний срок — это не дата и время.",
        "responsible.not_an_id": "ID ответственного — целое число больше нуля.",
        "bad_layout": "Не удалось собрать дело ({path}: {message}).",
    },
}
LIMITS = {"max_title": MAX_TITLE, "max_text": MAX_TEXT, "max_tags": MAX_TAGS, "max_tag": MAX_TAG}


def texts(lang: str | None) -> dict[str, str]:
    """The form's words in the page's language (English for any other)."""
    words = TEXTS[language(lang)]
    return {**words, "tags_hint": words["tags_hint"].format(n=MAX_TAGS)}


def problem_words(problem: ItemProblem, lang: str | None) -> str:
    """What to tell the user about a refused input."""
    words = TEXTS[language(lang)]
    return words.get(f"{problem.field}.{problem.code}", words["title.required"]).format(**LIMITS)
