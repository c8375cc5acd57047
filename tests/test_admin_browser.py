"""The administrators' sections in a real Chromium: a rule and a template made with the block editor, no JSON.

The app is served on 127.0.0.1 (live_app) and opened from the sandbox portal's slider as its administrator;
the editor's live check answers from POST /layout/check. Skipped where no Chromium is installed.
"""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import ActivityTemplate, EnrichmentRule, Portal
from tests import test_timeline_browser
from tests.browser import BROWSER_TESTS, Moderator
from tests.test_timeline_browser import install

pytestmark = BROWSER_TESTS
shots = test_timeline_browser.shots  # the screenshots' folder ($SCREENSHOT_DIR), a fixture
moderator = test_timeline_browser.moderator  # the moderator's checks on every page (tests.browser.Moderator)
page = test_timeline_browser.page
LINES = "First line\nSecond line\nThird line"


def open_main_page(page: Any, portal_url: str) -> Any:
    """The app's main page in the portal's slider, as the administrator (user 1)."""
    page.goto(f"{portal_url}/?user_id=1")
    page.click("#open-app")
    frame = page.frame_locator("#app-frame")
    frame.locator("#rule-form [data-be='adder']:not([hidden])").wait_for()  # the editor has started
    return frame


def add_block(form: Any, prefix: str, label: str) -> Any:
    """Add a block of the type named `label`; the new block's row (by position: the locator is lazy)."""
    rows = form.locator(f"#{prefix}-editor > li.tb-block")
    count = rows.count()
    form.locator(f"#{prefix}-block-type").select_option(label=label)
    form.locator(f"#{prefix}-block-add").click()
    return rows.nth(count)


def test_a_rule_made_with_the_editor_keeps_three_lines_and_refuses_a_bad_link(
    live_app: Any, sandbox: Any, page: Any, moderator: Moderator, shots: Any
) -> None:
    page.set_default_timeout(15_000)
    install(page, sandbox, live_app)
    frame = open_main_page(page, sandbox.portal_url)
    moderator.check("main page with the rule editor")
    form = frame.locator("#rule-form")
    form.locator("#rule-name").fill("Deal calls")
    form.locator("#rule-provider_id").select_option(label="To-do")
    form.locator("#rule-owner_type_id").select_option(label="Deal")
    form.locator("#rule-direction").select_option(label="Incoming")

    large = add_block(form, "rule", "Large text")
    assert large.locator(".tb-block-name").inner_text() == "2. Large text"  # names, not largeText
    large.locator("textarea").fill(LINES)
    shown = form.locator("#rule-preview .tb-cb-large-text")
    shown.wait_for()
    lines = shown.evaluate(
        "node => Math.round(node.getBoundingClientRect().height"
        " / parseFloat(getComputedStyle(node).lineHeight))"
    )
    assert lines == 3 and shown.inner_text() == LINES  # the portal keeps a largeText's lines

    link = add_block(form, "rule", "Link")
    link.locator('[data-path$=".properties.text"]').fill("Open the deal")
    uri = link.locator('[data-path$=".properties.action.uri"]')
    uri.fill("not a url")
    # The text's own "empty" problem may still show until the editor re-checks: wait for the link's words.
    problem = link.locator(".tb-field-problem", has_text="portal path such as /crm/deal/details/1/")
    problem.wait_for()
    assert uri.get_attribute("aria-invalid") == "true"
    assert uri.get_attribute("aria-describedby") == problem.get_attribute("id")
    form.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "admin-rule-editor.png"), full_page=True)
    form.locator("button[type=submit]").last.click()  # refused on the client: nothing is sent
    assert uri.evaluate("node => node === document.activeElement")
    with live_app.app.app_context():
        assert db.session.query(EnrichmentRule).count() == 0

    uri.fill("/crm/deal/details/1/")
    form.locator("#rule-preview a[data-action-type='redirect']").wait_for()  # valid again: previewed
    assert link.locator(".tb-field-problem").count() == 0
    large.locator("textarea").focus()
    form.locator("select[data-be='field']").select_option("SUBJECT")
    form.locator(".tb-field-insert").click()  # {{SUBJECT}} where the cursor is, not typed
    form.locator("button[type=submit]").last.click()
    frame.locator("#rules-notice").wait_for()
    with live_app.app.app_context():
        [rule] = db.session.query(EnrichmentRule).all()
        assert (rule.provider_id, rule.owner_type_id, rule.direction) == ("CRM_TODO", 2, 1)
        blocks = list(rule.layout["blocks"].values())
        assert [b["type"] for b in blocks] == ["text", "largeText", "link"]
        assert blocks[1]["properties"]["value"] == LINES + "{{SUBJECT}}"
        assert blocks[2]["properties"]["action"] == {"type": "redirect", "uri": "/crm/deal/details/1/"}
    assert frame.locator("tr.tb-rule td", has_text="To-do · Deal · Incoming").count() == 1


def test_a_template_made_with_the_editor_without_json(live_app: Any, sandbox: Any, page: Any) -> None:
    page.set_default_timeout(15_000)
    install(page, sandbox, live_app)
    frame = open_main_page(page, sandbox.portal_url)
    form = frame.locator("#template-form")
    form.locator("#template-new-name").fill("Visit")
    form.locator("#template-new-subject").fill("Visit the customer")
    assert form.locator("textarea[name=layout]").is_hidden()  # the editor's own field: no JSON box
    text = form.locator('#template-new-editor [data-path$=".properties.value"]').first
    text.fill("")
    form.locator("#template-new-problems li").first.wait_for()  # an empty text is refused as typed
    assert "Enter some text" in form.locator(".tb-field-problem").first.inner_text()
    text.fill("Bring the contract")
    row = add_block(form, "template-new", "Text with a title")
    row.locator('[data-path$=".properties.title"]').fill("Where")
    row.locator('[data-path$=".properties.block.properties.value"]').fill("At the office")
    row.locator("select").filter(has_text="Normal size").select_option(label="Small")
    form.locator("#template-new-preview .tb-cb-with-title", has_text="At the office").wait_for()
    form.locator("button[type=submit]").click()
    frame.locator("#templates-notice").wait_for()
    with live_app.app.app_context():
        template = db.session.query(ActivityTemplate).filter_by(name="Visit").one()
        blocks = list(template.layout["blocks"].values())
        assert blocks[0]["properties"]["value"] == "Bring the contract"
        nested = blocks[1]["properties"]
        assert nested["title"] == "Where" and nested["block"]["properties"] == {
            "value": "At the office",
            "size": "sm",
        }


def test_the_main_page_reads_as_an_administrator_expects_before_anything_is_typed(
    live_app: Any, sandbox: Any, page: Any, moderator: Moderator, shots: Any
) -> None:
    install(page, sandbox, live_app)
    frame = open_main_page(page, sandbox.portal_url)
    moderator.check("main page as it opens")
    card = frame.locator("#installation")
    assert frame.locator("#portal-plan").inner_text().strip() == "Free"  # en_project, as app.info says
    assert frame.locator("#app-status").inner_text().strip() == "local application"
    member_id = frame.locator("#member-id")
    assert member_id.inner_text() == sandbox.portal.member_id
    assert member_id.evaluate("node => getComputedStyle(node).userSelect") == "all"  # one click selects it
    assert "en_project" not in card.inner_text() and "(L)" not in card.inner_text()

    form = frame.locator("#rule-form")
    # The preview of the form's first blocks is there before anything is typed.
    assert form.locator("#rule-preview [data-block-type='text']").inner_text() == "{{SUBJECT}}"
    owners = form.locator("#rule-owner_type_id option").all_inner_texts()
    assert "Estimate" in owners and "Requisite" not in owners and "Quote" not in owners
    fields = form.locator("select[data-be='field'] option")
    assert fields.first.inner_text() == "Subject" and fields.first.get_attribute("value") == "SUBJECT"
    assert not any("{{" in label for label in fields.all_inner_texts())
    text = form.locator("#rule-editor textarea").first
    text.fill("Due: ")
    form.locator("select[data-be='field']").select_option(label="Deadline")
    form.locator(".tb-field-insert").click()
    assert text.input_value() == "Due: {{DEADLINE}}"  # the menu names the field, the text gets its token
    form.locator("#rule-preview", has_text="Due: {{DEADLINE}}").wait_for()
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "admin-main-page-words.png"), full_page=True)

    with live_app.app.app_context():  # a plan type the app does not name: its code, quieter but legible
        stored = db.session.query(Portal).one()
        stored.license = "en_tf"
        db.session.commit()
    frame = open_main_page(page, sandbox.portal_url)
    assert frame.locator("#portal-plan code.tb-muted").inner_text() == "en_tf"
    moderator.check("main page with a plan it cannot name")
