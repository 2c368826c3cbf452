"""Design documents: validation on PUT and the per-bucket store of ``dev_`` and production ones."""
from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterator

from .js import JsError, check_function
from .reduce import builtin_reducer

DEV_PREFIX = "dev_"


class InvalidDesignDocument(Exception):
    """A design document body that cannot be stored (bad JSON, bad JavaScript, bad reduce)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ViewDef:
    """One view of a design document: its map source and optional reduce source."""

    name: str
    map: str
    reduce: str | None


@dataclass
class DesignDocument:
    """A stored design document: name (without ``_design/``), body and revision."""

    name: str
    body: dict[str, Any]
    rev: str
    views: dict[str, ViewDef] = field(default_factory=dict)

    @property
    def doc_id(self) -> str:
        """Return the document id, ``_design/<name>``."""
        return f"_design/{self.name}"

    @property
    def is_dev(self) -> bool:
        """Tell whether this is a development design document."""
        return self.name.startswith(DEV_PREFIX)

    @property
    def signature(self) -> str:
        """Return a digest of the views: equal signatures need no index rebuild."""
        text = json.dumps([[v.name, v.map, v.reduce] for v in self.views.values()])
        return hashlib.sha1(text.encode()).hexdigest()

    def meta(self) -> dict[str, str]:
        """Return the ``X-Couchbase-Meta`` object of this document."""
        return {"id": self.doc_id, "rev": self.rev, "type": "json"}


def _parse_views(name: str, body: Any) -> dict[str, ViewDef]:
    """Validate the ``views`` member of a design document body and return its views."""
    if not isinstance(body, dict):
        raise InvalidDesignDocument("design document body must be a JSON object")
    views = body.get("views", {})
    if not isinstance(views, dict):
        raise InvalidDesignDocument("`views` must be a JSON object")
    parsed: dict[str, ViewDef] = {}
    for view_name, view in views.items():
        if not isinstance(view, dict) or not isinstance(view.get("map"), str):
            raise InvalidDesignDocument(f"view `{view_name}` of `_design/{name}` needs a `map` string")
        reduce = view.get("reduce")
        if reduce is not None and not isinstance(reduce, str):
            raise InvalidDesignDocument(f"`reduce` of view `{view_name}` must be a string")
        try:
            check_function(view["map"])
        except JsError as exc:
            raise InvalidDesignDocument(f"map function of view `{view_name}` is invalid: {exc.reason}") from None
        if reduce is not None:
            if reduce.strip().startswith("_"):
                if builtin_reducer(reduce) is None:
                    raise InvalidDesignDocument(
                        f"Invalid builtin reduce function `{reduce.strip()}` in view `{view_name}`")
            else:
                try:
                    check_function(reduce)
                except JsError as exc:
                    raise InvalidDesignDocument(
                        f"reduce function of view `{view_name}` is invalid: {exc.reason}") from None
        parsed[view_name] = ViewDef(view_name, view["map"], reduce)
    return parsed


def parse_design_document(name: str, raw: bytes, generation: int) -> DesignDocument:
    """Parse and validate a PUT body; raise InvalidDesignDocument with the cause."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidDesignDocument(f"body is not valid JSON: {exc}") from None
    views = _parse_views(name, body)
    if isinstance(body, dict):
        body["_id"] = f"_design/{name}"
        body.pop("_rev", None)
    checksum = zlib.crc32(json.dumps(body, sort_keys=True).encode())
    return DesignDocument(name, body, f"{generation}-{checksum:08x}", views)


class DesignDocumentStore:
    """The design documents of one bucket, by name (``dev_`` names beside production ones)."""

    def __init__(self) -> None:
        self._docs: dict[str, DesignDocument] = {}
        self._generation = 0

    def __iter__(self) -> Iterator[DesignDocument]:
        """Iterate the stored design documents."""
        return iter(list(self._docs.values()))

    def get(self, name: str) -> DesignDocument | None:
        """Return the design document called ``name``, or None."""
        return self._docs.get(name)

    def put(self, name: str, raw: bytes) -> DesignDocument:
        """Validate and store a design document, replacing any previous one."""
        self._generation += 1
        doc = parse_design_document(name, raw, self._generation)
        self._docs[name] = doc
        return doc

    def delete(self, name: str) -> DesignDocument | None:
        """Remove a design document; return it, or None if it did not exist."""
        return self._docs.pop(name, None)

    def snapshot(self) -> dict[str, Any]:
        """Return the plain, serialisable state of the store."""
        return {"generation": self._generation,
                "docs": {d.name: {"body": d.body, "rev": d.rev} for d in self._docs.values()}}

    def restore(self, state: dict[str, Any]) -> None:
        """Load a state made by ``snapshot`` without revalidating the JavaScript."""
        self._generation = state["generation"]
        self._docs = {}
        for name, saved in state["docs"].items():
            body = saved["body"]
            views = {v: ViewDef(v, d["map"], d.get("reduce")) for v, d in body.get("views", {}).items()}
            self._docs[name] = DesignDocument(name, body, saved["rev"], views)
