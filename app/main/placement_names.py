"""The names an administrator reads for the places the app opens from (the health view's "Opens from")."""

from __future__ import annotations

import re
from collections.abc import Mapping

from app.i18n import N_, gettext
from app.main.blueprint import bp

# The manifest's placement codes (notes §3.4), named as the portal names them; any other code is shown as is.
NAMES: dict[str, str] = {
    "CRM_ACTIVITY_LIST_MENU": N_("Activity list"),
    "CRM_LEAD_ACTIVITY_TIMELINE_MENU": N_("Lead timeline"),
    "CRM_DEAL_ACTIVITY_TIMELINE_MENU": N_("Deal timeline"),
    "CRM_QUOTE_ACTIVITY_TIMELINE_MENU": N_("Estimate timeline"),
    "CRM_SMART_INVOICE_ACTIVITY_TIMELINE_MENU": N_("Invoice timeline"),
}
SMART_PROCESS = re.compile(r"CRM_DYNAMIC_(\d+)_ACTIVITY_TIMELINE_MENU")
SMART_NAME = N_("“{title}” timeline")  # a smart process, by the title crm.type.list gives it
SMART_UNNAMED = N_("Timeline of smart process {id}")  # one crm.type.list no longer lists


@bp.app_template_global()
def placement_name(code: str, lang: str, smart_titles: Mapping[int, str]) -> str:
    """A placement code as a person names that place, in `lang`."""
    if code in NAMES:
        return gettext(lang, NAMES[code])
    smart = SMART_PROCESS.fullmatch(code)
    if smart is None:
        return code
    type_id = int(smart.group(1))
    if type_id in smart_titles:
        return gettext(lang, SMART_NAME).format(title=smart_titles[type_id])
    return gettext(lang, SMART_UNNAMED).format(id=type_id)
