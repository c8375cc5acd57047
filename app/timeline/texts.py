"""The activity page's words in en and ru, and the portal's error codes in words a user can act on."""

from __future__ import annotations

from app.bitrix24 import errors
from app.main.texts import language

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Activity #{id}",
        "no_subject": "(no subject)",
        "type": "Type",
        "owner": "Linked to",
        "deadline": "Deadline",
        "no_deadline": "No deadline",
        "status": "Status",
        "responsible": "Responsible",
        "you": "you",
        "user": "User #{id}",
        "item_not_visible": "{item} — not found or not visible to you",
        "description": "Description",
        "no_description": "No description.",
        "done": "Completed",
        "open": "Open",
        "bindings": "Linked CRM items",
        "no_bindings": "The activity is not linked to any CRM item you can see.",
        "bindings_unknown": "The links could not be read: {message}",
        "binding_remove": "Remove link",
        "binding_move": "Move to",
        "binding_move_to": "Move the link to {item} to another item of the same type",
        "binding_move_submit": "Move",
        "binding_add": "Add a link",
        "entity_type": "CRM item type",
        "entity_id": "Item ID",
        "add": "Add",
        "blocks": "Content blocks",
        "blocks_none": "This app has not added content blocks to the activity yet.",
        "blocks_unsuitable": "Bitrix24 does not allow additional content blocks on this kind of activity.",
        "blocks_unknown": "The content blocks could not be read: {message}",
        "blocks_edit": "Edit content blocks",
        "blocks_add": "Add a block",
        "blocks_add_type": "Block type",
        "blocks_preview": "Preview",
        "blocks_json": "Layout (JSON)",
        "blocks_json_hint": "The blocks as the portal stores them. The editor above keeps this in step.",
        "blocks_save": "Save blocks",
        "blocks_delete": "Remove all blocks",
        "blocks_ok": "The blocks are valid.",
        "block_up": "Move up",
        "block_down": "Move down",
        "block_remove": "Remove",
        "todo": "To-do",
        "todo_only": "Deadline, description, colour and responsible can be changed on to-dos only.",
        "todo_completed": "This to-do is completed, so it can no longer be changed.",
        "color": "Colour",
        "color_n": "Colour {n}",
        "save": "Save",
        "responsible_id": "Responsible user ID",
        "actions": "Actions",
        "complete": "Complete",
        "delete": "Delete activity",
        "delete_confirm": "Delete this activity? This cannot be undone.",
        "completed_already": "This activity is completed.",
        "create_section": "Add a linked app activity",
        "configurable_section": "Add a configurable activity",
        "deleted_title": "Activity deleted",
        "deleted": "Activity #{id} was deleted. You can close this window.",
        # notices after an action
        "saved_blocks": "The content blocks were saved.",
        "deleted_blocks": "The content blocks were removed.",
        "saved_deadline": "The deadline was changed.",
        "saved_description": "The description was changed.",
        "saved_color": "The colour was changed.",
        "saved_responsible": "The responsible user was changed.",
        "binding_added": "The link was added.",
        "binding_moved": "The link was moved.",
        "binding_deleted": "The link was removed.",
        "completed": "The activity was completed.",
        "already_done": "This form was already sent, so nothing was done again. The page shows the activity "
        "as the portal has it now.",
        # our own checks before anything is sent
        "bad_layout_json": "The layout is not valid JSON.",
        "bad_layout": "The blocks cannot be saved: {path}: {message}",
        "bad_deadline": "Enter the deadline as a date and a time.",
        "bad_color": "Choose one of the colours 1 to 7.",
        "bad_number": "Enter a positive number for {field}.",
        "too_long": "The text is too long for Bitrix24. Shorten it and try again.",
        "problem": "Not done",
        "notice": "Done",
    },
    "ru": {
        "title": "Дело №{id}",
        "no_subject": "(без темы)",
        "type": "Тип",
        "owner": "Привязано к",
        "deadline": "Крайний срок",
        "no_deadline": "Без крайнего срока",
        "status": "Статус",
        "responsible": "Ответственный",
        "you": "вы",
        "user": "Пользователь №{id}",
        "item_not_visible": "{item} — не найдено или недоступно вам",
        "description": "Описание",
        "no_description": "Нет описания.",
        "done": "Выполнено",
        "open": "Открыто",
        "bindings": "Связанные элементы CRM",
        "no_bindings": "Дело не связано ни с одним доступным вам элементом CRM.",
        "bindings_unknown": "Не удалось прочитать связи: {message}",
        "binding_remove": "Удалить связь",
        "binding_move": "Перенести на",
        "binding_move_to": "Перенести связь с {item} на другой элемент того же типа",
        "binding_move_submit": "Перенести",
        "binding_add": "Добавить связь",
        "entity_type": "Тип элемента CRM",
        "entity_id": "ID элемента",
        "add": "Добавить",
        "blocks": "Блоки содержимого",
        "blocks_none": "Приложение пока не добавило блоки содержимого к этому делу.",
        "blocks_unsuitable": "Битрикс24 не разрешает добавлять блоки содержимого к делу такого типа.",
        "blocks_unknown": "Не удалось прочитать блоки содержимого: {message}",
        "blocks_edit": "Редактировать блоки",
        "blocks_add": "Добавить блок",
        "blocks_add_type": "Тип блока",
        "blocks_preview": "Предпросмотр",
        "blocks_json": "Макет (JSON)",
        "blocks_json_hint": "Блоки в том виде, в каком их хранит портал. Редактор выше обновляет это поле.",
        "blocks_save": "Сохранить блоки",
        "blocks_delete": "Удалить все блоки",
        "blocks_ok": "Блоки в порядке.",
        "block_up": "Выше",
        "block_down": "Ниже",
        "block_remove": "Удалить",
        "todo": "Дело-задача",
        "todo_only": "Крайний срок, описание, цвет и ответственного можно менять только у универсальных дел.",
        "todo_completed": "Дело выполнено, поэтому его больше нельзя изменить.",
        "color": "Цвет",
        "color_n": "Цвет {n}",
        "save": "Сохранить",
        "responsible_id": "ID ответственного",
        "actions": "Действия",
        "complete": "Завершить",
        "delete": "Удалить дело",
        "delete_confirm": "Удалить это дело? Отменить это нельзя.",
        "completed_already": "Дело выполнено.",
        "create_section": "Добавить связанное дело приложения",
        "configurable_section": "Добавить настраиваемое дело",
        "deleted_title": "Дело удалено",
        "deleted": "Дело №{id} удалено. Окно можно закрыть.",
        "saved_blocks": "Блоки содержимого сохранены.",
        "deleted_blocks": "Блоки содержимого удалены.",
        "saved_deadline": "Крайний срок изменён.",
        "saved_description": "Описание изменено.",
        "saved_color": "Цвет изменён.",
        "saved_responsible": "Ответственный изменён.",
        "binding_added": "Связь добавлена.",
        "binding_moved": "Связь перенесена.",
        "binding_deleted": "Связь удалена.",
        "completed": "Дело завершено.",
        "already_done": "Эта форма уже была отправлена, поэтому ничего не сделано повторно. "
        "На странице — дело в том виде, в каком оно сейчас на портале.",
        "bad_layout_json": "Макет не является корректным JSON.",
        "bad_layout": "Блоки нельзя сохранить: {path}: {message}",
        "bad_deadline": "Укажите крайний срок: дату и время.",
        "bad_color": "Выберите один из цветов от 1 до 7.",
        "bad_number": "Укажите положительное число в поле «{field}».",
        "too_long": "Текст слишком длинный для Битрикс24. Сократите его и попробуйте снова.",
        "problem": "Не выполнено",
        "notice": "Готово",
    },
}

OWNER_TYPES: dict[str, dict[int, str]] = {
    "en": {1: "Lead", 2: "Deal", 3: "Contact", 4: "Company", 7: "Quote", 31: "Invoice"},
    "ru": {1: "Лид", 2: "Сделка", 3: "Контакт", 4: "Компания", 7: "Предложение", 31: "Счёт"},
}
ACTIVITY_TYPES: dict[str, dict[str, str]] = {
    "en": {
        "1": "Meeting",
        "2": "Call",
        "3": "Task",
        "4": "E-mail",
        "5": "Action",
        "CRM_TODO": "To-do",
        "REST_APP": "App activity",
        "CONFIGURABLE_REST_APP": "Configurable app activity",
    },
    "ru": {
        "1": "Встреча",
        "2": "Звонок",
        "3": "Задача",
        "4": "Письмо",
        "5": "Действие",
        "CRM_TODO": "Универсальное дело",
        "REST_APP": "Дело приложения",
        "CONFIGURABLE_REST_APP": "Настраиваемое дело приложения",
    },
}
STATUSES: dict[str, dict[int, str]] = {
    "en": {1: "Waiting", 2: "Completed", 3: "Completed automatically"},
    "ru": {1: "Ожидает", 2: "Выполнено", 3: "Выполнено автоматически"},
}

# The documented codes of the methods the page calls, in words (docs crm.activity.* "Possible Error Codes").
CODES: dict[str, dict[str, str]] = {
    "en": {
        "100": "Bitrix24 says a required value is missing. Fill in every field and try again.",
        "NOT_FOUND": "Bitrix24 cannot find the activity or the CRM item. Someone may have deleted it; "
        "check the ID or reload.",
        "OWNER_NOT_FOUND": "There is no CRM item of that type with that ID. Check the type and the ID.",
        "ACCESS_DENIED": "Your Bitrix24 permissions do not allow this change. "
        "Ask your administrator for access.",
        "WRONG_DATETIME_FORMAT": "Bitrix24 did not understand the date. Enter a date and a time.",
        "CAN_NOT_UPDATE_COMPLETED_TODO": "This to-do is completed, so it can no longer be changed.",
        "CAN_NOT_UPDATE_COLOR_COMPLETED_TODO": "This to-do is completed, so its colour can no longer change.",
        "CAN_NOT_UPDATE_RESPONSIBLE_USER_COMPLETED_TODO": "This to-do is completed, so its responsible "
        "user can no longer change.",
        "CAN_NOT_UPDATE_WRONG_COLOR_TODO": "Choose one of the colours 1 to 7.",
        "INVALID_ARG_VALUE": "Bitrix24 refused the value: a user ID must be a positive number.",
        "ERROR_PARENT_ACTIVITY_RESTRICT": "The activity cannot be linked to that parent activity.",
        "ACTIVITY_IS_ALREADY_BOUND": "The activity is already linked to that CRM item.",
        "SOURCE_AND_TARGET_ENTITY_TYPES_ARE_NOT_EQUAL": "A link can only move to an item of the same type "
        "(a deal to another deal). Add a new link instead.",
        "SOURCE_AND_TARGET_ENTITY_ID_ARE_EQUAL_ERROR": "The link already points to that item. Choose "
        "another item.",
        "BINDING_NOT_FOUND": "The activity is not linked to that item any more. Reload to see its links.",
        "LAST_BINDING_CANNOT_BE_DELETED": "An activity must stay linked to at least one CRM item. Add "
        "another link before removing this one.",
        "TOO_MANY_BINDINGS": "The activity has the most links Bitrix24 allows. Remove one first.",
        "UNSUITABLE_ACTIVITY_TYPE_ERROR": "Bitrix24 does not allow additional content blocks on this "
        "kind of activity.",
        "ERROR_WRONG_CONTEXT": "Bitrix24 accepts this only from the app itself. Reopen the app from "
        "the portal and try again.",
        "FIELD_IS_REQUIRED": "A block is missing a required value.",
        "FIELD_IS_REDUNDANT": "A block has a property Bitrix24 does not know.",
        "WRONG_FIELD_VALUE": "A block has a value Bitrix24 does not accept.",
        "ENUM_FIELD": "A block has a value outside the allowed choices.",
        "TOO_MANY_ITEMS": "There are too many blocks (at most 20).",
        "KEY_CONTAIN_WRONG_SYMBOLS": "A block key may only contain Latin letters, digits, - and _.",
        "WRONG_LANG": "A translation is in a language this portal does not have.",
    },
    "ru": {
        "100": "Битрикс24 сообщает, что не хватает обязательного значения. Заполните все поля.",
        "NOT_FOUND": "Битрикс24 не находит дело или элемент CRM. Возможно, его удалили; проверьте ID "
        "или обновите страницу.",
        "OWNER_NOT_FOUND": "Элемента CRM такого типа с таким ID нет. Проверьте тип и ID.",
        "ACCESS_DENIED": "Ваши права в Битрикс24 не позволяют это изменить. Обратитесь к администратору.",
        "WRONG_DATETIME_FORMAT": "Битрикс24 не понял дату. Укажите дату и время.",
        "CAN_NOT_UPDATE_COMPLETED_TODO": "Дело выполнено, поэтому его больше нельзя изменить.",
        "CAN_NOT_UPDATE_COLOR_COMPLETED_TODO": "Дело выполнено, поэтому его цвет больше нельзя изменить.",
        "CAN_NOT_UPDATE_RESPONSIBLE_USER_COMPLETED_TODO": "Дело выполнено, поэтому ответственного "
        "больше нельзя изменить.",
        "CAN_NOT_UPDATE_WRONG_COLOR_TODO": "Выберите один из цветов от 1 до 7.",
        "INVALID_ARG_VALUE": "Битрикс24 не принял значение: ID пользователя должен быть "
        "положительным числом.",
        "ERROR_PARENT_ACTIVITY_RESTRICT": "Дело нельзя связать с этим родительским делом.",
        "ACTIVITY_IS_ALREADY_BOUND": "Дело уже связано с этим элементом CRM.",
        "SOURCE_AND_TARGET_ENTITY_TYPES_ARE_NOT_EQUAL": "Связь можно перенести только на элемент того же "
        "типа (сделку на другую сделку). Добавьте новую связь.",
        "SOURCE_AND_TARGET_ENTITY_ID_ARE_EQUAL_ERROR": "Связь уже указывает на этот элемент. "
        "Выберите другой.",
        "BINDING_NOT_FOUND": "Дело больше не связано с этим элементом. Обновите страницу.",
        "LAST_BINDING_CANNOT_BE_DELETED": "Дело должно оставаться связанным хотя бы с одним элементом CRM. "
        "Сначала добавьте другую связь.",
        "TOO_MANY_BINDINGS": "У дела максимальное число связей. Сначала удалите одну.",
        "UNSUITABLE_ACTIVITY_TYPE_ERROR": "Битрикс24 не разрешает добавлять блоки содержимого к делу "
        "такого типа.",
        "ERROR_WRONG_CONTEXT": "Битрикс24 принимает это только от самого приложения. Откройте приложение "
        "с портала снова.",
        "FIELD_IS_REQUIRED": "В блоке не хватает обязательного значения.",
        "FIELD_IS_REDUNDANT": "В блоке есть свойство, которого Битрикс24 не знает.",
        "WRONG_FIELD_VALUE": "В блоке есть значение, которое Битрикс24 не принимает.",
        "ENUM_FIELD": "В блоке значение вне допустимого списка.",
        "TOO_MANY_ITEMS": "Слишком много блоков (не больше 20).",
        "KEY_CONTAIN_WRONG_SYMBOLS": "Ключ блока может содержать только латинские буквы, цифры, - и _.",
        "WRONG_LANG": "Перевод указан на языке, которого нет на портале.",
    },
}

# Errors without a documented code (the legacy methods answer a sentence), by their type, in Russian;
# English uses the typed error's own user_message.
KINDS_RU: tuple[tuple[type[errors.Bitrix24Error], str], ...] = (
    (errors.AuthError, "Ваш сеанс Битрикс24 закончился. Закройте окно и откройте приложение снова."),
    (
        errors.ApplicationContextRequired,
        "Этот элемент принадлежит другому приложению, поэтому изменить его может только оно.",
    ),
    (errors.AccessDenied, "Ваши права в Битрикс24 не позволяют это. Обратитесь к администратору."),
    (errors.NotFound, "Этого больше нет в Битрикс24: возможно, его удалили. Обновите страницу."),
    (errors.CompletedTodo, "Дело выполнено, поэтому его больше нельзя изменить."),
    (errors.QueryLimitExceeded, "Битрикс24 занят множеством запросов. Попробуйте через несколько секунд."),
    (errors.OperationTimeLimit, "Битрикс24 временно приостановил это действие. Попробуйте позже."),
    (errors.TransportError, "Битрикс24 не ответил вовремя. Возможно, ничего не изменилось; повторите."),
    (errors.ServerError, "У Битрикс24 временная проблема. Попробуйте через минуту."),
)
GENERIC_RU = "Битрикс24 отклонил запрос. Попробуйте снова; если не получится, обратитесь к администратору."


def texts(lang: str | None) -> dict[str, str]:
    """The activity page's strings in the portal's language."""
    return TEXTS[language(lang)]


def error_words(error: errors.Bitrix24Error, lang: str | None) -> str:
    """What to tell the user about a refusal: the code's words, else the typed error's message."""
    lang = language(lang)
    if error.code in CODES[lang]:
        return CODES[lang][error.code]
    if lang == "en":
        return error.user_message
    return next((words for kind, words in KINDS_RU if isinstance(error, kind)), GENERIC_RU)


def owner_type(type_id: int, lang: str | None) -> str:
    return OWNER_TYPES[language(lang)].get(type_id, f"#{type_id}")


def activity_type(type_id: int, provider_id: str, lang: str | None) -> str:
    names = ACTIVITY_TYPES[language(lang)]
    return names.get(provider_id) or names.get(str(type_id)) or provider_id or str(type_id)


def status(value: int, lang: str | None) -> str:
    return STATUSES[language(lang)].get(value, "—")
