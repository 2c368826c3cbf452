"""Hypothesis strategies of JSON texts written in every way RFC 8259 allows, and the
strict Python reference the C document cutter is held to."""
from __future__ import annotations

import json
from random import Random
from typing import Any, NamedTuple

from hypothesis import strategies as st

#: Nesting the cutter accepts (the top-level object counts as one level).
MAX_DEPTH = 64
#: Whitespace between tokens, one picked by the random generator a strategy draws.
SPACES = ("", "", "", " ", "\n", "\t", "\r\n", " \t ")
#: Member names the tests keep, and others near them (prefixes, case, non-ASCII, empty).
KEPT_NAMES = ("type", "city", "a", "\u00e9t\u00e9")
OTHER_NAMES = ("typ", "types", "Type", "b", "", "constructor", "\u00e9", "\U0001f600")
SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f",
                 "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class Member(NamedTuple):
    """One generated member of an object: its name, whether the name holds an escape,
    and its text from the name's opening quote to the end of its value."""

    name: str
    escaped: bool
    text: str


class Pairs(list):
    """The members of one JSON object, in order with duplicates (json's object_pairs_hook)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_pairs(text: bytes | str) -> Any:
    """Parse strictly, objects as :class:`Pairs`; raise ValueError for anything not JSON."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, object_pairs_hook=Pairs, parse_constant=_reject_constant)


def depth(value: Any) -> int:
    """Return the number of containers open at the deepest point of a parsed value."""
    if isinstance(value, Pairs):
        return 1 + max((depth(v) for _, v in value), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def reference_object(value: bytes) -> Pairs | None:
    """The members of ``value`` if it is a strictly valid JSON object the cutter must cut."""
    try:
        parsed = parse_pairs(value)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(parsed, Pairs) or depth(parsed) > MAX_DEPTH:
        return None
    return parsed


#: Characters strings are made of: ASCII, the ones JSON must escape, 2-, 3- and 4-byte
#: UTF-8, the JavaScript line separators and DEL.
CHARS = ("a", "b", "e", "t", "y", "p", "c", "i", "0", " ", "/", "'", "{", "}", "[", "]", ",",
         ":", '"', "\\", "\n", "\t", "\x00", "\x1e", "\x1f", "\x7f", "\u00e9", "\u00a0",
         "\u6f22", "\u2028", "\ufeff", "\U0001f600", "\U0010ffff")
NUMBERS = ("0", "-0", "1", "-12", "10.5", "1E+2", "1e-2", "-12.5E10", "0e0", "1E400",
           "-0.000", "123456789012345678901234567890", "3.141592653589793")


def space(rnd: Random) -> str:
    """Return whitespace to put between two tokens (often none)."""
    return rnd.choice(SPACES)


def string_text(rnd: Random, text: str) -> str:
    """The JSON text of a string, each character raw or escaped in one of the allowed ways."""
    chance = rnd.choice((0.0, 0.2, 1.0))
    out = ['"']
    for char in text:
        code = ord(char)
        must = char in '"\\' or code < 0x20
        if not must and rnd.random() >= chance:
            out.append(char)
        elif char in SHORT_ESCAPES and rnd.random() < 0.5:
            out.append(SHORT_ESCAPES[char])
        elif code > 0xFFFF:
            high, low = divmod(code - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04X}")
        else:
            out.append(f"\\u{code:04x}" if rnd.random() < 0.5 else f"\\u{code:04X}")
    out.append('"')
    return "".join(out)


def random_string(rnd: Random) -> str:
    """Return a short string of characters from :data:`CHARS`."""
    return "".join(rnd.choice(CHARS) for _ in range(rnd.randrange(8)))


def member_text(rnd: Random, level: int) -> Member:
    """One member: its name (often one the tests keep, or close to one) and its text."""
    pick = rnd.random()
    name = (rnd.choice(KEPT_NAMES) if pick < 0.4 else rnd.choice(OTHER_NAMES) if pick < 0.7
            else random_string(rnd))
    name_text = string_text(rnd, name)
    text = name_text + space(rnd) + ":" + space(rnd) + value_text(rnd, level)
    return Member(name, "\\" in name_text, text)


def value_text(rnd: Random, level: int) -> str:
    """The text of one random JSON value nested ``level`` deep (containers get rarer)."""
    kind = rnd.randrange(8 if level < 4 else 6)
    if kind < 2:
        return rnd.choice(NUMBERS) if rnd.random() < 0.5 else repr(rnd.uniform(-1e6, 1e6))
    if kind < 4:
        return string_text(rnd, random_string(rnd))
    if kind < 6:
        return rnd.choice(("true", "false", "null"))
    if kind == 6:
        items = [space(rnd) + value_text(rnd, level + 1) + space(rnd)
                 for _ in range(rnd.randrange(4))]
        return "[" + (",".join(items) or space(rnd)) + "]"
    members = [space(rnd) + member_text(rnd, level + 1).text + space(rnd)
               for _ in range(rnd.randrange(4))]
    return "{" + (",".join(members) or space(rnd)) + "}"


def random_object(rnd: Random) -> tuple[bytes, list[Member]]:
    """A top-level JSON object as UTF-8 and its members in order.

    A member repeats now and then, as JSON allows and JSON.parse resolves to the last.
    """
    members = [member_text(rnd, 1) for _ in range(rnd.randrange(9))]
    if members and rnd.random() < 0.3:
        members.insert(rnd.randrange(len(members) + 1), rnd.choice(members))
    inner = ",".join(space(rnd) + m.text + space(rnd) for m in members)
    text = space(rnd) + "{" + (inner or space(rnd)) + "}" + space(rnd)
    return text.encode("utf-8"), members


#: Generated objects, drawn through one seeded generator each (fast to draw; a failing
#: example is reported with its value).
OBJECTS = st.randoms(use_true_random=True).map(random_object)
