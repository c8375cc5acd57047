"""The main page's words in the languages the portal may ask for (LANG), English for the rest."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Timeline Bridge",
        "about": "Timeline Bridge puts activities from your other systems into the CRM timeline, "
        "and lets you open and act on them from the activity list.",
        "hello": "Hello, {name}.",
        "already_done_title": "Already done",
        "already_done": "This form was already sent, so nothing was done again. Open Timeline Bridge again "
        "from your Bitrix24 portal to see where things stand.",
        "health": "Installation health",
        "health_ok": "Everything the app needs is registered on this portal.",
        "health_bad": "Some registrations are missing, so parts of the app will not work:",
        "health_unknown": "The health check could not run: {message}",
        "workers_stalled": "No worker has processed events for {minutes} minutes, and {pending} are waiting: "
        "button clicks, rules and the activity mirror stay as they are until one runs "
        "(the worker process, `flask --app app worker`).",
        "missing_events": "Event handlers missing",
        "missing_placements": "Placements missing",
        "bound_placements": "Opens from",
        "missing_types": "Activity types missing",
        "missing_badges": "Badges missing",
        "backstop": "Changes missed while the app is down",
        "backstop_offline": "caught up from the portal's offline event queue (deletions included)",
        "backstop_reconcile": "caught up by a periodic re-read of changed activities "
        "(this plan has no offline event queue, so deletions are not caught up)",
        "backstop_unknown": "not checked yet; the worker checks the portal's plan on its next round",
        "repair": "Repair",
        "repair_hint": "Registers everything again; what is already there is left as it is.",
        "repaired": "Repair finished",
        "repair_failed": "The repair did not finish",
        "repair_retry": "Some steps failed. Try again in a minute; if it keeps failing, reinstall the app.",
        "back": "Back to the overview",
        "portal": "Portal",
        "state": "State",
        "plan": "Plan / licence",
        "version": "App version",
        "counts": "Counts",
        "activities": "Activities mirrored",
        "inbox": "Events by status",
        "oldest_pending": "Oldest pending event waiting",
        "seconds": "{n} s",
        "recent": "Recent events",
        "failures": "Recent failures",
        "no_events": "No events yet.",
        "no_failures": "No failures.",
        "when": "Received",
        "event": "Event",
        "status": "Status",
        "error": "Error",
        "unknown": "unknown",
        "rules": "Enrichment rules",
        "rules_about": "When an activity matching a rule is added or updated, the app sets the rule's "
        "content blocks on it. Write {{SUBJECT}}, {{ID}}, {{OWNER_ID}} and other activity fields in text "
        "values. Empty matchers match any activity; the first enabled matching rule applies.",
        "no_rules": "No rules yet.",
        "rule_name": "Name",
        "rule_matches": "Matches",
        "rule_counts": "Set / skipped / failed",
        "rule_provider": "Provider (PROVIDER_ID)",
        "rule_type": "Type (TYPE_ID)",
        "rule_owner_type": "Owner type (OWNER_TYPE_ID)",
        "rule_direction": "Direction (DIRECTION)",
        "rule_layout": "Content blocks (layout JSON)",
        "rule_add": "Add rule",
        "rule_enable": "Enable",
        "rule_disable": "Disable",
        "rule_delete": "Delete",
        "rule_on": "on",
        "rule_off": "off",
        "rule_added": "Rule \u201c{name}\u201d added.",
        "rule_enabled": "Rule \u201c{name}\u201d enabled.",
        "rule_disabled": "Rule \u201c{name}\u201d disabled.",
        "rule_deleted": "Rule \u201c{name}\u201d deleted.",
        "rule_refused": "The layout was refused; nothing was saved:",
        "rule_missing": "This portal has no such rule; it may have been deleted already.",
    },
    "ru": {
        "title": "Timeline Bridge",
        "about": "Timeline Bridge добавляет в таймлайн CRM дела из ваших других систем "
        "и позволяет открывать их и работать с ними из списка дел.",
        "hello": "Здравствуйте, {name}.",
        "already_done_title": "Уже сделано",
        "already_done": "Эта форма уже была отправлена, поэтому ничего не сделано повторно. Откройте "
        "Timeline Bridge с портала Битрикс24 ещё раз, чтобы увидеть текущее состояние.",
        "health": "Состояние установки",
        "health_ok": "Всё, что нужно приложению, зарегистрировано на портале.",
        "health_bad": "Некоторые регистрации отсутствуют, поэтому часть приложения не работает:",
        "health_unknown": "Проверку выполнить не удалось: {message}",
        "workers_stalled": "Ни один обработчик не обрабатывал события уже {minutes} мин., а ждут {pending}: "
        "нажатия кнопок, правила и копия дел не обновятся, пока он не запущен "
        "(процесс worker, `flask --app app worker`).",
        "missing_events": "Нет обработчиков событий",
        "missing_placements": "Нет мест встраивания",
        "bound_placements": "Открывается из",
        "missing_types": "Нет типов дел",
        "missing_badges": "Нет бейджей",
        "backstop": "Изменения, пропущенные, пока приложение недоступно",
        "backstop_offline": "догоняются из очереди офлайн-событий портала (включая удаления)",
        "backstop_reconcile": "догоняются периодическим перечитыванием изменённых дел "
        "(в этом тарифе нет очереди офлайн-событий, поэтому удаления не догоняются)",
        "backstop_unknown": "ещё не проверено; обработчик проверит тариф портала при следующем проходе",
        "repair": "Исправить",
        "repair_hint": "Регистрирует всё заново; то, что уже есть, остаётся как есть.",
        "repaired": "Исправление завершено",
        "repair_failed": "Исправление не завершилось",
        "repair_retry": "Часть шагов не удалась. Повторите через минуту; "
        "если не поможет, переустановите приложение.",
        "back": "Вернуться к обзору",
        "portal": "Портал",
        "state": "Состояние",
        "plan": "Тариф / лицензия",
        "version": "Версия приложения",
        "counts": "Счётчики",
        "activities": "Дел в зеркале",
        "inbox": "События по статусам",
        "oldest_pending": "Самое старое ожидающее событие ждёт",
        "seconds": "{n} с",
        "recent": "Последние события",
        "failures": "Последние ошибки",
        "no_events": "Событий пока нет.",
        "no_failures": "Ошибок нет.",
        "when": "Получено",
        "event": "Событие",
        "status": "Статус",
        "error": "Ошибка",
        "unknown": "неизвестно",
        "rules": "Правила обогащения",
        "rules_about": "Когда добавляется или меняется дело, подходящее под правило, приложение ставит "
        "на него блоки правила. В текстах можно писать {{SUBJECT}}, {{ID}}, {{OWNER_ID}} и другие поля дела. "
        "Пустое условие подходит к любому делу; применяется первое включённое подходящее правило.",
        "no_rules": "Правил пока нет.",
        "rule_name": "Название",
        "rule_matches": "Условия",
        "rule_counts": "Поставлено / пропущено / ошибок",
        "rule_provider": "Провайдер (PROVIDER_ID)",
        "rule_type": "Тип (TYPE_ID)",
        "rule_owner_type": "Тип владельца (OWNER_TYPE_ID)",
        "rule_direction": "Направление (DIRECTION)",
        "rule_layout": "Блоки (JSON)",
        "rule_add": "Добавить правило",
        "rule_enable": "Включить",
        "rule_disable": "Выключить",
        "rule_delete": "Удалить",
        "rule_on": "вкл.",
        "rule_off": "выкл.",
        "rule_added": "Правило «{name}» добавлено.",
        "rule_enabled": "Правило «{name}» включено.",
        "rule_disabled": "Правило «{name}» выключено.",
        "rule_deleted": "Правило «{name}» удалено.",
        "rule_refused": "Блоки не приняты, ничего не сохранено:",
        "rule_missing": "У портала нет такого правила; возможно, его уже удалили.",
    },
}
# Pages shown instead of the app; the frame has not been trusted yet, so they show nothing else.
REFUSALS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "not_installed": (
            "Timeline Bridge is not installed on this portal",
            "Ask a portal administrator to install it from the Applications menu, then open it again.",
        ),
        "wrong_portal": (
            "This page was opened for another portal",
            "Close this window and open Timeline Bridge again from your portal's Applications menu.",
        ),
        "reopen": (
            "Your Bitrix24 session has ended",
            "Close this window and open Timeline Bridge again from your portal. Nothing is shown until "
            "Bitrix24 confirms who you are.",
        ),
        "unavailable": (
            "Bitrix24 did not answer",
            "{message} Close this window and open Timeline Bridge again in a minute.",
        ),
        "admins_only": (
            "Only portal administrators can do this",
            "Ask a portal administrator to open Timeline Bridge.",
        ),
        "stale_install": (
            "Timeline Bridge was installed again since this page was opened",
            "Nothing was done. Close this window and open the app again from your portal.",
        ),
        "wrong_activity": (
            "This page was opened for another activity",
            "Close this window and open the activity from the timeline again.",
        ),
        "no_activity": (
            "This activity cannot be shown",
            "It may have been deleted, or your Bitrix24 permissions do not let you see it. "
            "Close this window and check the timeline.",
        ),
        "busy": (
            "Bitrix24 is busy",
            "Many requests are going to your portal right now, so nothing was done. Try again in "
            "{seconds} s: go back, or close this window and open Timeline Bridge again.",
        ),
        "throttled": (
            "Too many sign-ins Bitrix24 did not accept",
            "Timeline Bridge was opened many times with sign-in data your portal refused, so it does not "
            "ask the portal for a moment. Close this window and open Timeline Bridge again in {seconds} s.",
        ),
    },
    "ru": {
        "not_installed": (
            "Timeline Bridge не установлен на этом портале",
            "Попросите администратора портала установить его из раздела «Приложения» и откройте снова.",
        ),
        "wrong_portal": (
            "Страница открыта для другого портала",
            "Закройте окно и снова откройте Timeline Bridge из раздела «Приложения» вашего портала.",
        ),
        "reopen": (
            "Ваш сеанс Битрикс24 закончился",
            "Закройте окно и снова откройте Timeline Bridge с портала. Пока Битрикс24 не подтвердит, "
            "кто вы, здесь ничего не показывается.",
        ),
        "unavailable": (
            "Битрикс24 не ответил",
            "{message} Закройте окно и снова откройте Timeline Bridge через минуту.",
        ),
        "admins_only": (
            "Это доступно только администраторам портала",
            "Попросите администратора портала открыть Timeline Bridge.",
        ),
        "stale_install": (
            "Timeline Bridge переустановили после открытия этой страницы",
            "Ничего не сделано. Закройте окно и снова откройте приложение с портала.",
        ),
        "wrong_activity": (
            "Страница открыта для другого дела",
            "Закройте окно и снова откройте дело из таймлайна.",
        ),
        "no_activity": (
            "Это дело нельзя показать",
            "Возможно, его удалили, или ваши права в Битрикс24 не позволяют его видеть. "
            "Закройте окно и проверьте таймлайн.",
        ),
        "busy": (
            "Битрикс24 занят",
            "Сейчас к вашему порталу идёт много запросов, поэтому ничего не сделано. Повторите через "
            "{seconds} с: вернитесь назад или закройте окно и снова откройте Timeline Bridge.",
        ),
        "throttled": (
            "Слишком много входов, которые Битрикс24 не принял",
            "Timeline Bridge много раз открывали с данными входа, которые ваш портал отклонил, поэтому "
            "приложение ненадолго не обращается к порталу. Закройте окно и откройте его снова через "
            "{seconds} с.",
        ),
    },
}


def language(lang: str | None) -> str:
    """The supported language closest to the portal's LANG (ru for ru/ua/by/kz portals' ru; else en)."""
    return "ru" if (lang or "").lower().startswith("ru") else "en"


def texts(lang: str | None) -> dict[str, str]:
    """The page's strings in the portal's language."""
    return TEXTS[language(lang)]


def refusal(kind: str, lang: str | None, **values: str) -> tuple[str, str]:
    """The title and the sentence of a refusal page."""
    title, body = REFUSALS[language(lang)][kind]
    return title, body.format(**values)


# Activity templates and API keys (administrators' main page) and the activity page's "create" action.
TEXTS["en"].update(
    {
        "templates": "Activity templates",
        "templates_about": "Ready-made app activities that users add from an activity's page. Write "
        "{{SUBJECT}}, {{DESCRIPTION}}, {{ID}} and other fields of the opened activity in the subject, the "
        "description and the text values of the content blocks.",
        "no_templates": "No templates yet.",
        "template_name": "Name",
        "template_subject": "Subject",
        "template_description": "Description",
        "template_layout": "Content blocks (layout JSON)",
        "template_add": "Add template",
        "template_save": "Save",
        "template_edit": "Edit",
        "template_delete": "Delete",
        "template_added": "Template \u201c{name}\u201d added.",
        "template_updated": "Template \u201c{name}\u201d saved.",
        "template_deleted": "Template \u201c{name}\u201d deleted.",
        "template_refused": "The template was refused; nothing was saved:",
        "template_missing": "This portal has no such template; it may have been deleted already.",
        "api_keys": "API keys",
        "api_keys_about": "External systems create activities on this portal through the JSON API at "
        "{url} with one of these keys (Authorization: Bearer …). A key is shown once, when it is created.",
        "no_api_keys": "No API keys yet.",
        "api_key_label": "Label",
        "api_key_prefix": "Key",
        "api_key_created_at": "Created",
        "api_key_last_used": "Last used",
        "api_key_never": "never",
        "api_key_revoked": "revoked",
        "api_key_active": "active",
        "api_key_create": "Create key",
        "api_key_revoke": "Revoke",
        "api_key_shown_once": "Copy this key now: it is shown only once and cannot be read again.",
        "api_key_created": "Key \u201c{label}\u201d created.",
        "api_key_revoked_notice": "Key \u201c{label}\u201d revoked; requests with it are now refused.",
        "api_key_missing": "This portal has no such key.",
        "api_key_label_long": "The label is longer than 255 characters.",
        "create_title": "Add a linked activity",
        "create_template": "Template",
        "create_submit": "Add",
        "create_no_templates": "An administrator has not set up any activity templates yet.",
        "create_done": "Activity #{id} added from \u201c{name}\u201d.",
        "create_fallback": "Activity #{id} added from \u201c{name}\u201d. It was made as a to-do because "
        "this portal doesn't accept content blocks on app activities.",
        "create_no_template": "Choose one of the templates; the one chosen no longer exists.",
        "create_bad_template": "The template \u201c{name}\u201d does not fit this activity "
        "({path}: {message}). Ask an administrator to correct it.",
    }
)
TEXTS["ru"].update(
    {
        "templates": "Шаблоны дел",
        "templates_about": "Готовые дела приложения, которые пользователи добавляют со страницы дела. "
        "В теме, описании и текстах блоков можно писать {{SUBJECT}}, {{DESCRIPTION}}, {{ID}} и другие поля "
        "открытого дела.",
        "no_templates": "Шаблонов пока нет.",
        "template_name": "Название",
        "template_subject": "Тема",
        "template_description": "Описание",
        "template_layout": "Блоки (JSON)",
        "template_add": "Добавить шаблон",
        "template_save": "Сохранить",
        "template_edit": "Изменить",
        "template_delete": "Удалить",
        "template_added": "Шаблон «{name}» добавлен.",
        "template_updated": "Шаблон «{name}» сохранён.",
        "template_deleted": "Шаблон «{name}» удалён.",
        "template_refused": "Шаблон не принят, ничего не сохранено:",
        "template_missing": "У портала нет такого шаблона; возможно, его уже удалили.",
        "api_keys": "Ключи API",
        "api_keys_about": "Внешние системы создают дела на этом портале через JSON API по адресу {url} "
        "с одним из этих ключей (Authorization: Bearer …). Ключ показывается один раз, при создании.",
        "no_api_keys": "Ключей пока нет.",
        "api_key_label": "Подпись",
        "api_key_prefix": "Ключ",
        "api_key_created_at": "Создан",
        "api_key_last_used": "Использован",
        "api_key_never": "ни разу",
        "api_key_revoked": "отозван",
        "api_key_active": "действует",
        "api_key_create": "Создать ключ",
        "api_key_revoke": "Отозвать",
        "api_key_shown_once": "Скопируйте ключ сейчас: он показывается только один раз.",
        "api_key_created": "Ключ «{label}» создан.",
        "api_key_revoked_notice": "Ключ «{label}» отозван; запросы с ним больше не принимаются.",
        "api_key_missing": "У портала нет такого ключа.",
        "api_key_label_long": "Подпись длиннее 255 символов.",
        "create_title": "Добавить связанное дело",
        "create_template": "Шаблон",
        "create_submit": "Добавить",
        "create_no_templates": "Администратор ещё не настроил шаблоны дел.",
        "create_done": "Дело №{id} добавлено по шаблону «{name}».",
        "create_fallback": "Дело №{id} добавлено по шаблону «{name}». Оно создано как задача-дело, "
        "потому что этот портал не принимает блоки в делах приложений.",
        "create_no_template": "Выберите один из шаблонов; выбранного больше нет.",
        "create_bad_template": "Шаблон «{name}» не подходит к этому делу ({path}: {message}). "
        "Попросите администратора исправить его.",
    }
)
