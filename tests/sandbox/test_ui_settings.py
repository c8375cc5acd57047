"""The sandbox portal's settings page: the disputed switch for blocks on REST_APP activities."""

from __future__ import annotations

import requests

from sandbox.testing import RunningSandbox


def test_the_switch_is_shown_off_with_why_it_exists(sandbox: RunningSandbox) -> None:
    page = requests.get(f"{sandbox.portal_url}/settings/", timeout=10).text
    assert (
        'id="setting-rest_app_blocks_allowed"' in page and "checked" not in page.split('id="setting-')[1][:80]
    )
    assert "Content blocks on REST_APP activities" in page and "UNSUITABLE_ACTIVITY_TYPE_ERROR" in page
    assert 'id="nav-settings"' in page


def test_saving_turns_it_on_and_off_after_the_get(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.portal_url}/settings/"
    saved = requests.post(url, data={"rest_app_blocks_allowed": "on"}, timeout=10, allow_redirects=False)
    assert saved.status_code == 303 and saved.headers["Location"].startswith("/settings/")
    assert sandbox.state.setting("rest_app_blocks_allowed") is True
    page = requests.get(url + "?notice=Settings+saved.", timeout=10).text
    assert (
        "Settings saved." in page
        and 'name="rest_app_blocks_allowed" id="setting-rest_app_blocks_allowed" checked' in page
    )
    requests.post(url, data={}, timeout=10)
    assert sandbox.state.setting("rest_app_blocks_allowed") is False
