"""Item cards in a real Chromium: the app opens from an activity's ⋯ menu in a deal's and a smart process
item's timeline (CRM_DEAL_… and CRM_DYNAMIC_1032_…_TIMELINE_MENU, notes §3.4) and shows the activity.

One app start and one install serve both cards. Skipped where no Chromium is installed (Debian's `chromium`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser import BROWSER_TESTS
from tests.test_timeline_browser import moderator, page, shots  # noqa: F401  (fixtures: the watched page, shots)

pytestmark = BROWSER_TESTS


def first_activity(sandbox: Any, owner: tuple[int, int]) -> Any:
    """The oldest activity in an item's timeline: the one the user opens the app from."""
    return min((a for a in sandbox.portal.crm.activities.values() if owner in a.bindings), key=lambda a: a.id)


def open_from_card(tab: Any, sandbox: Any, card: str, owner: tuple[int, int], placement: str) -> Any:
    """Open a card, its first activity's ⋯ menu, then the app under "Extensions"; return the activity."""
    activity = first_activity(sandbox, owner)
    tab.goto(f"{sandbox.portal_url}{card}")
    tab.click(f"#tl-menu-button-{activity.id}")
    tab.click(f'#tl-menu-{activity.id} .js-open-placement[data-placement="{placement}"]')
    frame = tab.frame_locator("#app-frame")
    frame.locator(
        f'#tb-activity[data-activity-id="{activity.id}"]', has_text=activity.fields["SUBJECT"]
    ).wait_for()
    return activity


def test_the_app_opens_from_a_deal_and_a_smart_process_items_timeline_menu(
    live_app: Any,
    sandbox: Any,
    page: Any,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    live_app.app.config["B24_JS_URL"] = f"{sandbox.portal_url}/bx24.js"
    page.set_default_timeout(15_000)
    page.goto(f"{sandbox.portal_url}/?user_id=1")
    page.click(
        "#install-app"
    )  # the installer binds the timeline menus, one per smart process (crm.type.list)
    page.wait_for_selector("#app-slider[data-installed='Y']", state="attached")

    open_from_card(page, sandbox, "/crm/deal/details/1/", (2, 1), "CRM_DEAL_ACTIVITY_TIMELINE_MENU")
    page.screenshot(path=str(shots / "cards-1-deal-timeline-menu.png"))
    page.click("#app-slider-close")

    dynamic = "CRM_DYNAMIC_1032_ACTIVITY_TIMELINE_MENU"
    open_from_card(page, sandbox, "/crm/type/1032/details/1/", (1032, 1), dynamic)
    page.screenshot(path=str(shots / "cards-2-smart-process-timeline-menu.png"))
