"""Which top-level document (and ``meta``) members can the map functions of a design
document read?

A map function sees its document as the parsed object given as its first argument. In
the QuickJS the views run on, ``f.arguments`` and ``f.caller`` are undefined, so the
function body can reach that object in three ways only: through the first parameter's
name, through the ``arguments`` object, or through a direct ``eval`` (which sees the
local scope). An indirect eval or ``Function(...)`` runs in the global scope and cannot.
So if ``arguments`` and ``eval`` never occur and every occurrence of the parameter's name
is a plain ``name.member`` read, the members read are exactly those ``member`` names;
cutting each document down to them cannot change what any map emits or throws.

Two more conditions close the remaining gaps. The source must be exactly one function
expression: QuickJS's ``toString()`` of what it evaluates to must give back the whole
source, so ``function (doc) {...}, function (x) {...}`` (the comma operator yields the
second function) or a trailing ``new Function(...)`` are refused. And a member missing
from a cut document must not reach code that could see the document as its receiver:
every view context makes ``Object.prototype`` non-extensible (see :mod:`.js_prelude`), so
no getter or method can be added there, and the reads of the properties it has from the
start are refused below.

The analysis is deliberately conservative: it works on the source text with no parser,
so an occurrence inside a string, a comment or a regular expression counts like code
(a ``doc.x`` there adds ``x``; a bare ``doc`` or an ``eval`` there gives up), and
anything it does not recognise gives up with None, which means "map whole documents".

The same analysis of the second parameter tells which ``meta`` members the maps read:
when none reads ``rev``, ``flags`` or ``expiration``, a batch leaves them out (see
:mod:`.map_batch`), as what a map cannot reach cannot change what it emits or throws.
"""
from __future__ import annotations

import functools
import re
from typing import Sequence

import quickjs

_IDENT = r"[A-Za-z_$][A-Za-z0-9_$]*"
#: A JavaScript identifier character of an ASCII source (``$`` and ``_`` included).
_WORD_CHAR = r"[A-Za-z0-9_$]"
_HEADER = re.compile(
    rf"\s*function(?:\s+{_IDENT})?\s*\(\s*(?P<params>{_IDENT}(?:\s*,\s*{_IDENT})*)?\s*\)\s*\{{")
_PARAM_SPLIT = re.compile(r"\s*,\s*")
_MEMBER_READ = re.compile(rf"\s*\.\s*({_IDENT})")
#: Words that give a function body its document without naming the parameter.
_OTHER_WAYS = re.compile(rf"(?<!{_WORD_CHAR})(?:arguments|eval)(?!{_WORD_CHAR})")
#: Properties every parsed object inherits: a read of one does not depend on the members.
_INHERITED = frozenset({
    "constructor", "toString", "toLocaleString", "valueOf", "hasOwnProperty",
    "isPrototypeOf", "propertyIsEnumerable", "__proto__", "__defineGetter__",
    "__defineSetter__", "__lookupGetter__", "__lookupSetter__",
})


def _word(name: str) -> re.Pattern[str]:
    """Return a pattern of ``name`` as a whole JavaScript word."""
    return re.compile(rf"(?<!{_WORD_CHAR}){re.escape(name)}(?!{_WORD_CHAR})")


#: Limits of the scratch context that evaluates a source to check its shape.
_CHECK_TIME_LIMIT = 1.0
_CHECK_MEMORY_LIMIT = 16 * 1024 * 1024


#: Gives the text of the function a source evaluates to. The built-in ``toString`` and
#: ``Reflect.apply`` are taken before the source runs, so it cannot replace them.
_TEXT_OF = """(function (apply, toString) {
  return function (f) { return typeof f === "function" ? apply(toString, f, []) : null; };
})(Reflect.apply, Function.prototype.toString)(%s)"""


@functools.lru_cache(maxsize=1024)
def is_one_function(source: str) -> bool:
    """Tell whether ``source`` evaluates to a function whose own text is all of it
    (remembered per source: the document and the ``meta`` analyses both ask, and each
    answer costs a scratch QuickJS context)."""
    context = quickjs.Context()
    context.set_time_limit(_CHECK_TIME_LIMIT)
    context.set_memory_limit(_CHECK_MEMORY_LIMIT)
    try:
        text = context.eval(_TEXT_OF % f"({source}\n)")
    except (quickjs.JSException, quickjs.StackOverflow):
        return False
    return text == source.strip()


def param_reads(source: str, position: int) -> set[str] | None:
    """Return the member names one map function reads of its parameter at ``position``
    (0: the document, 1: meta), or None if unsure; a parameter it does not declare is
    never read."""
    if not source.isascii() or "\\u" in source or _OTHER_WAYS.search(source):
        return None
    header = _HEADER.match(source)
    if header is None or not is_one_function(source):
        return None
    params = _PARAM_SPLIT.split(header["params"]) if header["params"] else []
    if len(params) <= position:
        return set()
    names: set[str] = set()
    for use in _word(params[position]).finditer(source, header.end()):
        read = _MEMBER_READ.match(source, use.end())
        if read is None or read[1] in _INHERITED:
            return None
        names.add(read[1])
    return names


def map_reads(source: str) -> set[str] | None:
    """Return the member names one map function reads of its document, or None if unsure."""
    return param_reads(source, 0)


def _union(map_sources: Sequence[str], position: int) -> tuple[str, ...] | None:
    """Return the sorted member names all maps may read of a parameter, or None if unsure."""
    names: set[str] = set()
    for source in map_sources:
        reads = param_reads(source, position)
        if reads is None:
            return None
        names |= reads
    return tuple(sorted(names))


def read_members(map_sources: Sequence[str]) -> tuple[str, ...] | None:
    """Return the sorted member names all maps may read, or None to map whole documents."""
    return _union(map_sources, 0)


def read_meta(map_sources: Sequence[str]) -> tuple[str, ...] | None:
    """Return the sorted ``meta`` member names all maps may read, or None if unsure."""
    return _union(map_sources, 1)
