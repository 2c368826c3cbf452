"""The pages every kind of document has: list, show, create, edit (with CAS), delete, search, like."""

from __future__ import annotations

from typing import Any

from flask import (Blueprint, abort, flash, make_response, redirect, render_template, request,
                   url_for)

from couchbase.exceptions import KeyExistsError, NotFoundError

from beersample.database import get_db
from beersample.documents import (change_likes, delete_with_likes, load, new_document,
                                  updated_document)
from beersample.keys import is_valid_key
from beersample.kinds import Kind
from beersample.models import Entity
from beersample.pages import (error_page, form_cas, json_response, per_page, search_value,
                              stale, wants_json)
from beersample.paging import BadCursor, Cursor, fetch_page

FORM_ERROR = "_form"


def form_values(kind: Kind, doc: dict[str, Any]) -> dict[str, str]:
    """Turn a stored document into the text the form inputs show."""
    values = {}
    for spec in kind.fields:
        value = doc.get(spec.name, "")
        if isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        elif isinstance(value, float) and value.is_integer():
            value = str(int(value)) if value else ""
        elif isinstance(value, int) and not isinstance(value, bool):
            value = str(value) if value else ""
        values[spec.name] = "" if value is None else str(value)
    return values


def make_blueprint(kind: Kind) -> Blueprint:
    """Build the blueprint serving /<plural>/... for `kind`."""
    bp = Blueprint(kind.plural, __name__, url_prefix=f"/{kind.plural}")
    template = f"{kind.name}/"

    def missing(doc_id: str, extra: str = "") -> tuple[str, int]:
        return error_page(404, f"No such {kind.name}",
                          f"There is no {kind.name} with id {doc_id!r}.{extra}")

    def existing(doc_id: str) -> tuple[Any, Entity]:
        """The database and stored document ``doc_id``; ends the request with the 404 page
        when there is no such document."""
        db = get_db()
        entity = load(db, doc_id, kind.entity_class)
        if entity is None:
            abort(make_response(missing(doc_id)))
        return db, entity

    def render_form(entity: Entity, values: dict[str, str], errors: dict[str, str],
                    status: int, is_create: bool, cas: int = 0,
                    conflict: dict[str, Any] | None = None) -> tuple[str, int]:
        return render_template(
            "form.html", kind=kind, entity=entity, values=values, errors=errors,
            is_create=is_create, cas=cas, conflict=conflict,
            form_error=errors.get(FORM_ERROR)), status

    @bp.get("")
    def index() -> Any:
        """List one page of documents by name (keyset pagination)."""
        try:
            cursor = Cursor.from_args(request.args)
        except BadCursor as exc:
            return error_page(400, "Bad page position", f"This page link is broken: {exc}.")
        design, view = kind.list_view
        page = fetch_page(get_db(), design, view, kind.row_processor(), per_page(),
                          cursor, stale())
        return render_template(template + "index.html", kind=kind, results=page.items,
                               page=page)

    @bp.get("/show/<doc_id>")
    def show(doc_id: str) -> Any:
        """Show every field of one document, its likes and what belongs to it."""
        db, entity = existing(doc_id)
        return render_template(template + "show.html", kind=kind, entity=entity,
                               **kind.show_context(db, entity))

    @bp.get("/create")
    def create_display() -> Any:
        """Show the empty form; arguments named like fields prefill it."""
        values = {spec.name: request.args.get(spec.name, "")[:spec.max_length]
                  for spec in kind.fields}
        return render_form(kind.entity_class("", ""), values, {}, 200, True)

    @bp.post("/create")
    def create_submit() -> Any:
        """Validate the form and add the document under its derived key; add never overwrites."""
        db = get_db()
        result = kind.validate(request.form, db)
        doc_id = ""
        if result.ok:
            doc_id = kind.new_key(result.values)
            if not is_valid_key(doc_id):
                result.errors["name"] = (
                    "Name must contain a letter or digit, and make a key of at most 250 bytes.")
        if not result.ok:
            return render_form(kind.entity_class("", ""), _shown(kind), result.errors,
                               400, True)
        try:
            db.add(doc_id, new_document(result.values, kind.name))
        except KeyExistsError:
            result.errors["name"] = f"A {kind.name} with id {doc_id!r} already exists."
            return render_form(kind.entity_class("", ""), _shown(kind), result.errors,
                               409, True)
        flash(f"Created {kind.name} {result.values['name']!r}.")
        return redirect(url_for(".show", doc_id=doc_id))

    @bp.get("/edit/<doc_id>")
    def edit_display(doc_id: str) -> Any:
        """Show the form filled with the stored document and the CAS it was read with."""
        entity = load(get_db(), doc_id, kind.entity_class)
        if entity is None:
            return missing(doc_id)
        return render_form(entity, form_values(kind, entity.doc), {}, 200, False, entity.cas)

    @bp.post("/edit/<doc_id>")
    def edit_submit(doc_id: str) -> Any:
        """Save the form only if nobody changed the document since it was read (CAS)."""
        db = get_db()
        current = load(db, doc_id, kind.entity_class)
        if current is None:
            return missing(doc_id, " It may have been deleted while you were editing it.")
        cas = form_cas()
        result = kind.validate(request.form, db)
        if cas is None:
            result.errors[FORM_ERROR] = ("The form does not say which version it edits; "
                                         "reload the page and make your change again.")
        if not result.ok:
            return render_form(current, _shown(kind), result.errors, 400, False,
                               cas or current.cas)
        if cas != current.cas:
            return conflict(current)
        try:
            db.replace(doc_id, updated_document(current.doc, result.values, kind.name), cas=cas)
        except KeyExistsError:
            latest = load(db, doc_id, kind.entity_class)
            if latest is None:
                return missing(doc_id, " It was deleted while you were editing it.")
            return conflict(latest)
        except NotFoundError:
            return missing(doc_id, " It was deleted while you were editing it.")
        flash(f"Saved {kind.name} {result.values['name']!r}.")
        return redirect(url_for(".show", doc_id=doc_id))

    def conflict(latest: Entity) -> tuple[str, int]:
        """Show the newer version with the changes that were not saved."""
        stored = form_values(kind, latest.doc)
        yours = _shown(kind)
        differences = [(spec.label, yours[spec.name]) for spec in kind.fields
                       if yours[spec.name] != stored[spec.name]]
        return render_form(latest, stored, {}, 409, False, latest.cas,
                           conflict={"differences": differences})

    @bp.get("/delete/<doc_id>")
    def delete_confirm(doc_id: str) -> Any:
        """Ask before deleting; a GET never deletes."""
        db, entity = existing(doc_id)
        return render_template("delete.html", kind=kind, entity=entity,
                               refusal=kind.delete_refusal(db, entity))

    @bp.post("/delete/<doc_id>")
    def delete(doc_id: str) -> Any:
        """Delete the document unless something still depends on it."""
        db, entity = existing(doc_id)
        refusal = kind.delete_refusal(db, entity)
        if refusal:
            return render_template("delete.html", kind=kind, entity=entity,
                                   refusal=refusal), 409
        try:
            delete_with_likes(db, doc_id)
        except NotFoundError:
            return missing(doc_id)
        flash(f"Deleted {kind.name} {entity.name!r}.")
        return redirect(url_for(".index"))

    @bp.get("/search")
    def search() -> Any:
        """Answer the page script: documents whose name starts with `value`, as JSON."""
        value = search_value()
        if value is None:
            return json_response({"error": "search text is too long"}, 400)
        return json_response(kind.search(get_db(), value))

    def like_or_unlike(doc_id: str, like: bool) -> Any:
        """Change the like counter with incr/decr; concurrent clicks all count."""
        db = get_db()
        if load(db, doc_id, kind.entity_class) is None:
            if wants_json():
                return json_response({"error": f"no such {kind.name}: {doc_id}"}, 404)
            return missing(doc_id)
        likes = change_likes(db, doc_id, like)
        if wants_json():
            return json_response({"id": doc_id, "likes": likes})
        return redirect(url_for(".show", doc_id=doc_id))

    @bp.post("/like/<doc_id>")
    def like(doc_id: str) -> Any:
        """Like a document once more."""
        return like_or_unlike(doc_id, True)

    @bp.post("/unlike/<doc_id>")
    def unlike(doc_id: str) -> Any:
        """Take one like back (never below zero)."""
        return like_or_unlike(doc_id, False)

    return bp


def _shown(kind: Kind) -> dict[str, str]:
    """Return the text the person typed, to show it again after a failed save."""
    return {spec.name: request.form.get(f"{kind.form_prefix}_{spec.name}", "")
            for spec in kind.fields}
