"""Rows of a streamed (chunked) view response, read off the socket as they arrive."""
from __future__ import annotations

import time
from collections import deque
from typing import Any

from .http import HttpResponse
from .rc import ClientIOError, Rc
from .rowstream import RowStreamError, RowStreamSplitter

#: Most rows handed out per call, so a page (and its include_docs batch) stays small.
MAX_PAGE_ROWS = 128


class StreamedRows:
    """Reads the response as needed and returns its rows in pages of bounded size."""

    def __init__(self, response: HttpResponse, idle_timeout: float,
                 max_page_rows: int = MAX_PAGE_ROWS) -> None:
        self.response = response
        self.idle_timeout = idle_timeout
        self.max_page_rows = max_page_rows
        self.splitter = RowStreamSplitter()
        self.meta: dict[str, Any] | None = None
        self._pending: deque[str] = deque()

    def next_rows(self) -> list[str] | None:
        """The next page of rows (maybe [] mid-row); None once every row was handed out."""
        if not self._pending and self.meta is None:
            self._read()
        if self._pending:
            take = min(len(self._pending), self.max_page_rows)
            return [self._pending.popleft() for _ in range(take)]
        return None if self.meta is not None else []

    def _read(self) -> None:
        """One socket read: queue the rows it completes, or take the meta at the end."""
        self.response.deadline = time.monotonic() + self.idle_timeout
        try:
            data = self.response.read_some()
            if data:
                self._pending.extend(self.splitter.feed(data))
                return
            self.meta = self.splitter.finish()
        except RowStreamError as exc:
            self.close()
            raise ClientIOError(Rc.PROTOCOL_ERROR, f"bad view response: {exc}") from None
        except ClientIOError:
            self.close()
            raise
        self.close()

    def close(self) -> None:
        """Close the connection (the response is read no further)."""
        self.response.close()
