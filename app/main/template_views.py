"""The administrators' activity templates on the main page: add, save and delete for a page token's portal."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from app.activities import templates
from app.activities.defaults import Shown
from app.activities.templates import TemplateError
from app.extensions import db
from app.layout import LayoutError
from app.main.admin import Admin, as_admin
from app.main.blueprint import bp
from app.main.pages import render_page
from app.main.texts import texts
from app.models import ActivityTemplate, Portal

FIELDS = ("name", "subject", "description", "layout")


@bp.post("/templates")
@as_admin("add template")
def add_template(admin: Admin) -> ResponseReturnValue:
    """Add a template; a refused one shows its problems by path and keeps what was typed."""
    return _save(admin, None)


@bp.post("/templates/<int:template_id>")
@as_admin("save template")
def update_template(admin: Admin, template_id: int) -> ResponseReturnValue:
    """Save new values for one of the portal's templates."""
    return _save(admin, template_id)


@bp.post("/templates/<int:template_id>/delete")
@as_admin("delete template")
def delete_template(admin: Admin, template_id: int) -> ResponseReturnValue:
    """Delete one of the portal's templates; activities made from it stay."""
    portal, lang, page_token = admin.portal, admin.lang, admin.page_token
    template = templates.find_template(portal.member_id, template_id, lang)
    if template is None:
        return templates_page(portal, lang, page_token, message=texts(lang)["template_missing"]), 404
    name = templates.in_language(template, lang).name
    templates.delete_template(template)
    db.session.commit()
    notice = texts(lang)["template_deleted"].format(name=name)
    return templates_page(portal, lang, page_token, notice=notice)


def _save(admin: Admin, template_id: int | None) -> ResponseReturnValue:
    portal, lang, page_token = admin.portal, admin.lang, admin.page_token
    form = {name: request.form.get(name, "") for name in FIELDS}
    context: dict[str, Any] = {"form": form, "editing": template_id}
    try:
        template = _stage(portal, template_id, form, lang)
    except LookupError:
        return templates_page(portal, lang, page_token, message=texts(lang)["template_missing"]), 404
    except LayoutError as error:
        db.session.rollback()
        return templates_page(portal, lang, page_token, problems=error.problems, **context), 400
    except TemplateError as error:
        db.session.rollback()
        return templates_page(portal, lang, page_token, message=error.said(lang), **context), 400
    db.session.commit()
    key = "template_added" if template_id is None else "template_updated"
    notice = texts(lang)[key].format(name=templates.in_language(template, lang).name)
    return templates_page(portal, lang, page_token, notice=notice)


def _stage(portal: Portal, template_id: int | None, form: dict[str, str], lang: str) -> ActivityTemplate:
    if template_id is None:
        return templates.add_template(portal.member_id, form, lang)
    template = templates.find_template(portal.member_id, template_id, lang)
    if template is None:
        raise LookupError(template_id)
    return templates.update_template(template, form)


def templates_page(portal: Portal, lang: str, page_token: str, **context: Any) -> str:
    """The portal's templates after an action: what happened (or what was wrong), the list and the form."""
    listed = templates.shown_templates(portal.member_id, lang)
    return render_page("main/templates.html", lang, templates=listed, page_token=page_token, **context)


@bp.app_template_global()
def portal_activity_templates(member_id: str, lang: str) -> list[Shown]:
    """The admin page's templates section and the create form read the list themselves, as `lang` sees it."""
    return templates.shown_templates(member_id, lang)


def template_json(template: Shown) -> str:
    """A template's layout as indented JSON for its edit form."""
    return json.dumps(template.layout, indent=2, ensure_ascii=False)


bp.add_app_template_filter(template_json, "template_layout_json")
