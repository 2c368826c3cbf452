"""Thread-safe record of storage problems, so failures reach the log and REST, never silence."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass

log = logging.getLogger("cbserver.storage")


@dataclass(frozen=True)
class Issue:
    """One open problem: where (``source``, usually a file), how bad and what happened."""

    source: str
    severity: str
    message: str
    since: float
    count: int = 1

    def to_json(self) -> dict:
        """Return the issue as a JSON-ready dict for REST."""
        return asdict(self)


class StorageHealth:
    """Collects open storage issues keyed by source; errors and warnings are also logged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issues: dict[str, Issue] = {}

    def error(self, source: str, message: str) -> None:
        """Record (and log) an error such as a failed commit, a full disk or an fsync failure."""
        self._record(source, "error", message)

    def warning(self, source: str, message: str) -> None:
        """Record (and log) something unexpected that does not stop the server."""
        self._record(source, "warning", message)

    def resolve(self, source: str) -> None:
        """Close the issue of ``source`` after it recovered; logged once."""
        with self._lock:
            issue = self._issues.pop(source, None)
        if issue is not None:
            log.warning("%s: recovered after %d failure(s): %s", source, issue.count, issue.message)

    def issues(self) -> list[Issue]:
        """Return the open issues, oldest first."""
        with self._lock:
            return sorted(self._issues.values(), key=lambda issue: issue.since)

    @property
    def status(self) -> str:
        """Return ``healthy``, ``degraded`` (warnings only) or ``failing`` (an error is open)."""
        issues = self.issues()
        if any(issue.severity == "error" for issue in issues):
            return "failing"
        return "degraded" if issues else "healthy"

    def to_json(self) -> dict:
        """Return status and issues as a JSON-ready dict for the REST node view."""
        return {"status": self.status, "issues": [issue.to_json() for issue in self.issues()]}

    def _record(self, source: str, severity: str, message: str) -> None:
        with self._lock:
            previous = self._issues.get(source)
            repeated = previous is not None and previous.message == message
            count = previous.count + 1 if repeated else 1
            since = previous.since if repeated else time.time()
            self._issues[source] = Issue(source, severity, message, since, count)
        if not repeated:
            level = logging.ERROR if severity == "error" else logging.WARNING
            log.log(level, "%s: %s", source, message)
