"""The names an administrator reads for the portal's plan and the app's status (the installation card).

app.info gives LICENSE as "<zone>_<type>" ("en_project", "de_ent10000") and STATUS as one letter (notes §7).
A type not named here is shown as the platform's code, in a quieter style.
"""

from __future__ import annotations

import re

from app.i18n import C_, pgettext
from app.main.blueprint import bp

PLAN = "Bitrix24 plan"  # the msgids' context (babel reads the literal in each C_)
# The plan types of Bitrix24 Cloud's current offer, named as its price list names them; "project" is the
# free plan and "demo" the trial of a commercial one (landing's mp_widget components test exactly these).
PLANS: dict[str, str] = {
    "project": C_("Bitrix24 plan", "Free"),
    "basic": C_("Bitrix24 plan", "Basic"),
    "std": C_("Bitrix24 plan", "Standard"),
    "pro": C_("Bitrix24 plan", "Professional"),
    "ent": C_("Bitrix24 plan", "Enterprise"),
    "demo": C_("Bitrix24 plan", "Trial"),
    "nfr": C_("Bitrix24 plan", "Not for resale (partner)"),
}
ENTERPRISE = re.compile(r"ent\d*")  # ent, ent250, ent10000: the Enterprise plan for so many users
STATUS = "app status"
STATUSES: dict[str, str] = {  # app.info STATUS (rest/lib/app.php)
    "L": C_("app status", "local application"),
    "F": C_("app status", "free"),
    "D": C_("app status", "demo"),
    "T": C_("app status", "trial"),
    "P": C_("app status", "paid"),
    "S": C_("app status", "subscription"),
}


@bp.app_template_global()
def plan_name(license_code: str | None, lang: str) -> str:
    """The plan's name in `lang`, or "" when the platform's code is not one named here."""
    kind = (license_code or "").partition("_")[2] or (license_code or "")
    if ENTERPRISE.fullmatch(kind):
        kind = "ent"
    return pgettext(lang, PLAN, PLANS[kind]) if kind in PLANS else ""


@bp.app_template_global()
def app_status_name(status: str | None, lang: str) -> str:
    """The app's status on the portal in words, or the code itself when it is not a known one."""
    code = status or ""
    return pgettext(lang, STATUS, STATUSES[code]) if code in STATUSES else code
