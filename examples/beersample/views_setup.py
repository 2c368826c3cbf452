"""Creates the views the app queries, through design_create and design_publish, if missing.

The tutorial adds `by_name` to the sample's `beer` design document and creates a
`brewery` design document. The sample's own `beer` views (`brewery_beers`,
`by_location`) are kept: a missing view is merged into the published document,
and an existing view of the same name is never replaced.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from couchbase import Couchbase
from couchbase.exceptions import HTTPError

log = logging.getLogger(__name__)

BEER_BY_NAME = """function (doc, meta) {
  if (doc.type && doc.type == "beer") {
    emit(doc.name, null);
  }
}"""

BREWERY_BY_NAME = """function (doc, meta) {
  if (doc.type == "brewery") {
    emit(doc.name, null);
  }
}"""

BEERS_BY_BREWERY_MAP = """function (doc, meta) {
  if (doc.type == "beer" && doc.brewery_id) {
    emit([doc.brewery_id, doc.name], null);
  }
}"""

BEERS_BY_BREWERY = ("brewery", "beers")

DESIGNS: dict[str, dict[str, dict[str, str]]] = {
    "beer": {"by_name": {"map": BEER_BY_NAME}},
    "brewery": {
        "by_name": {"map": BREWERY_BY_NAME},
        "beers": {"map": BEERS_BY_BREWERY_MAP, "reduce": "_count"},
    },
}


def published_design(db: Any, name: str) -> dict[str, Any] | None:
    """Return the production design document `name`, or None if it does not exist."""
    try:
        result = db.design_get(name, use_devmode=False)
    except HTTPError:
        return None
    return result.value if isinstance(result.value, dict) else None


def setup_views(db: Any) -> list[str]:
    """Publish every missing view of DESIGNS; return the design documents that changed."""
    changed = []
    for name, wanted in DESIGNS.items():
        current = published_design(db, name) or {}
        views = dict(current.get("views") or {})
        missing = {view: spec for view, spec in wanted.items() if view not in views}
        if not missing:
            continue
        ddoc = {k: v for k, v in current.items() if not k.startswith("_")}
        ddoc.setdefault("language", "javascript")
        ddoc["views"] = {**views, **missing}
        db.design_create(name, ddoc, use_devmode=True)
        db.design_publish(name)
        log.info("published _design/%s with new views %s", name, ", ".join(sorted(missing)))
        changed.append(name)
    return changed


def main() -> None:
    """Set up the views on the bucket named by the command line (like design_setup.py)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--bucket", default="beer-sample")
    parser.add_argument("--password", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    db = Couchbase.connect(bucket=args.bucket, host=args.host, port=args.port,
                           password=args.password)
    changed = setup_views(db)
    log.info("views ready (%s)", ", ".join(changed) if changed else "nothing to change")


if __name__ == "__main__":
    main()
