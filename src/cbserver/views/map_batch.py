"""Running the map functions over many documents per JavaScript call, surviving failures.

A batch crosses into QuickJS as a few flat strings instead of one object per document:
the document texts joined by U+001E (a control character no valid JSON text contains),
the ids each after a U+001E (a JSON array if one holds it), one ``j``/``b`` character
per document (JSON text or base64 text) and, only when a map can read them
(:attr:`.js.JsRuntime.full_meta`; else ``meta`` holds only ``id`` and ``type``), the
seqnos as decimal text, CAS, expiration and flags of every document as one hex string
(the ``meta.rev`` suffixes) and expirations and flags again as JSON (one number when all
documents share it).  QuickJS parses each document once, builds ``meta`` itself and
answers with one string (see :func:`_decode`).  This QuickJS turns every number into
text through ``snprintf``, also for each array index ``JSON.stringify`` visits, so the
answer keeps emitted keys and values in one flat array and the place of each emit as
text from a table of digit strings.  A document that makes a map throw records an error
for that document only; a runaway (time, memory, stack) costs only the document that
caused it (a batch that runs out of time restarts at the document it stopped in, which
is blamed only when it alone exceeds the limit), the rest of the batch is mapped again.

Before a batch is mapped as JSON, each document is cut down to the top-level members the
maps can read (:attr:`.js.JsRuntime.read_members`, a static analysis of the map sources)
by the C cutter of :mod:`.doc_cut`, when it is built: QuickJS then parses a fraction of
each document, and what the maps emit or throw is the same as for the whole document (a
value that is not a strictly valid JSON object, in strictly valid UTF-8, stays whole).
The base64 retry of values that are not JSON maps them whole.  The CPU-time and memory
limits of a batch now apply to the cut texts: a document whose unread members alone would
have exhausted them no longer does.
"""
from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Sequence

from ..engine.item import CAS, EXPIRY, FLAGS, SEQNO, VALUE, Record
from .doc_cut import CUT
from .js import JsError, JsRuntime
from .meta import joined_text

SEPARATOR = "\x1e"
JSON_KIND = "j"
BASE64_KIND = "b"
#: Documents mapped per JavaScript call.
MAP_BATCH = 2000
_U64_MASK = (1 << 64) - 1
_U32_MASK = 0xFFFFFFFF
#: The seqnos, revision hex, expirations and flags of a batch whose maps read none of them.
_NO_META = ("", "", "0", "0")


@dataclass
class MapResult:
    """Emits ``[doc, view, n, key, value]`` and errors ``[doc, view, reason]`` of a batch;
    ``doc`` is the position of the document in the list given to :func:`map_documents`."""

    rows: list[list[Any]] = field(default_factory=list)
    errors: list[list[Any]] = field(default_factory=list)
    not_json: list[int] = field(default_factory=list)

    def add(self, other: "MapResult", below: int | None = None) -> None:
        """Add another result, keeping only documents before ``below`` if given."""
        if below is None:
            self.rows.extend(other.rows)
            self.errors.extend(other.errors)
            self.not_json.extend(other.not_json)
            return
        self.rows.extend(row for row in other.rows if row[0] < below)
        self.errors.extend(error for error in other.errors if error[0] < below)
        self.not_json.extend(i for i in other.not_json if i < below)


def _base64(value: bytes) -> str:
    """Return the base64 text of a value, as map functions see non-JSON documents."""
    return base64.b64encode(bytes(value)).decode("ascii")


def _texts(values: list[bytes], as_base64: bool) -> tuple[str, str]:
    """Return the joined document texts and the kinds string of a batch.

    The common case (every value UTF-8 without U+001E) costs one join and one decode.
    """
    if as_base64:
        return SEPARATOR.join(map(_base64, values)), BASE64_KIND * len(values)
    joined = joined_text(values, SEPARATOR)
    if joined is not None:
        return joined, JSON_KIND * len(values)
    texts, kinds = [], []
    for value in values:
        try:
            text = str(value, "utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or SEPARATOR in text:
            texts.append(_base64(value))
            kinds.append(BASE64_KIND)
        else:
            texts.append(text)
            kinds.append(JSON_KIND)
    return SEPARATOR.join(texts), "".join(kinds)


def _ids_text(doc_ids: list[str]) -> str:
    """Return the ids of a batch as QuickJS takes them: each after a U+001E (a split in
    QuickJS, no JSON to write or parse), or as a JSON array when an id holds U+001E."""
    joined = SEPARATOR.join(doc_ids)
    if doc_ids and joined.count(SEPARATOR) == len(doc_ids) - 1:
        return SEPARATOR + joined
    return json.dumps(doc_ids, ensure_ascii=False)


def _one_or_all(values: list[int]) -> str:
    """Return the JSON of the one value all ``values`` share (the usual case), else of all."""
    first = values[0] if values else 0
    return str(first) if values.count(first) == len(values) else json.dumps(values)


def _decode(text: str, base: int) -> tuple[int, MapResult]:
    """Parse what a batch answered; return the absolute position it reached and its result.

    The answer is ``[reached, [key, value, ...], errors, not_json]`` in JSON, U+001E, then
    ``doc,view,n`` of every emit as decimal text; positions count from ``base``.
    """
    head, _, places = text.partition(SEPARATOR)
    reached, kv, errors, not_json = json.loads(head)
    at, emitted = iter(json.loads(f"[{places}]")), iter(kv)
    rows = [[base + doc, view, n, key, value]
            for doc, view, n, key, value in zip(at, at, at, emitted, emitted)]
    errors = [[base + doc, view, reason] for doc, view, reason in errors]
    return base + reached, MapResult(rows, errors, [base + doc for doc in not_json])


def _call(runtime: JsRuntime, docs: Sequence[tuple[str, Record]], start: int, stop: int,
          as_base64: bool) -> MapResult:
    """Map ``docs[start:stop]`` in one call; document positions count from 0 of ``docs``."""
    span = docs[start:stop]
    records = [record for _, record in span]
    values = [record[VALUE] for record in records]
    names = runtime.read_members
    if names is not None and not as_base64 and CUT is not None:
        values = CUT(values, names)
    texts, kinds = _texts(values, as_base64)
    ids = _ids_text([doc_id for doc_id, _ in span])
    full_meta = runtime.full_meta
    answer = runtime.map_batch(texts, ids, *(_meta_texts(records) if full_meta else _NO_META),
                               kinds, full_meta)
    return _decode(answer, start)[1]


def _meta_texts(records: list[Record]) -> tuple[str, str, str, str]:
    """Return the seqnos, the ``meta.rev`` suffixes as hex, the expirations and the flags
    of a batch's records, as :func:`_call` hands them to QuickJS."""
    expirations = [record[EXPIRY] & _U32_MASK for record in records]
    flags = [record[FLAGS] & _U32_MASK for record in records]
    cas = [record[CAS] & _U64_MASK for record in records]
    rev_hex = struct.pack(">" + "QII" * len(records),
                          *chain.from_iterable(zip(cas, expirations, flags))).hex()
    seqnos = ",".join([str(record[SEQNO]) for record in records])
    return seqnos, rev_hex, _one_or_all(expirations), _one_or_all(flags)


def _failed(result: MapResult, doc: int, views: int, exc: JsError) -> None:
    """Record that every view of document ``doc`` failed with ``exc``."""
    reason = f"map function stopped: {exc.reason}" if exc.fatal else exc.reason
    result.errors.extend([doc, view, reason] for view in range(views))


def _map_span(runtime: JsRuntime, docs: Sequence[tuple[str, Record]], start: int, stop: int,
              as_base64: bool = False) -> MapResult:
    """Map ``docs[start:stop]`` fast; on a failure keep what was done, blame one doc, go on."""
    result = MapResult()
    while start < stop:
        try:
            result.add(_call(runtime, docs, start, stop, as_base64))
            return result
        except JsError as exc:
            progress = runtime.progress()
            at, done = _decode(progress, start) if progress is not None else (stop, None)
            if done is None or not start <= at < stop:
                for doc in range(start, stop):
                    try:
                        result.add(_call(runtime, docs, doc, doc + 1, as_base64))
                    except JsError as single:
                        _failed(result, doc, runtime.view_count, single)
                return result
            result.add(done, below=at)
            if exc.timed_out and at > start:
                start = at
                continue
            _failed(result, at, runtime.view_count, exc)
            start = at + 1
    return result


def _ascii_first(docs: Sequence[tuple[str, Record]]) -> list[int] | None:
    """Return positions with the pure-ASCII values first, or None if no reordering helps.

    QuickJS keeps a string with any non-Latin-1 character as UTF-16 and parses such
    text markedly slower, so a batch is kept pure ASCII whenever the documents allow.
    """
    ascii_flags = [record[VALUE].isascii() for _, record in docs]
    if all(ascii_flags) or not any(ascii_flags):
        return None
    return ([i for i, flag in enumerate(ascii_flags) if flag]
            + [i for i, flag in enumerate(ascii_flags) if not flag])


def map_documents(runtime: JsRuntime, docs: Sequence[tuple[str, Record]]) -> MapResult:
    """Run every map function over ``docs``; values that are not JSON are mapped as base64."""
    order = _ascii_first(docs)
    if order is not None:
        result = _map_all(runtime, [docs[i] for i in order])
        for entry in result.rows:
            entry[0] = order[entry[0]]
        for entry in result.errors:
            entry[0] = order[entry[0]]
        return result
    return _map_all(runtime, docs)


def _map_all(runtime: JsRuntime, docs: Sequence[tuple[str, Record]]) -> MapResult:
    """Map ``docs`` batch by batch, then the values that were not JSON as base64."""
    result = MapResult()
    for start in range(0, len(docs), MAP_BATCH):
        result.add(_map_span(runtime, docs, start, min(start + MAP_BATCH, len(docs))))
    if result.not_json:
        positions, result.not_json = result.not_json, []
        again = _map_span(runtime, [docs[i] for i in positions], 0, len(positions), True)
        result.rows.extend([positions[i], *rest] for i, *rest in again.rows)
        result.errors.extend([positions[i], *rest] for i, *rest in again.errors)
    return result
