"""Conversion of protocol expiration fields to absolute Unix times (protocol.md 1.1)."""
from __future__ import annotations

import math

from couchbase.protocol import RELATIVE_EXPIRY_LIMIT


def absolute_expiry(exptime: int, now: float) -> int:
    """Absolute expiry for a wire ``exptime``: 0 stays 0 (never), up to 30 days is
    relative to ``now``, anything larger is already an absolute Unix time.

    Relative times count from the next whole second, so an item lives at least the
    number of seconds asked for (never a fraction less)."""
    if exptime == 0:
        return 0
    if exptime <= RELATIVE_EXPIRY_LIMIT:
        return math.ceil(now) + exptime
    return exptime
