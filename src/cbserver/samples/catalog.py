"""The sample data sets shipped inside the package, and how to read them."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

SAMPLES_DIR = Path(__file__).resolve().parent
DOCS_FILE = "docs.jsonl.gz"
DESIGN_DIR = "design"
QUOTA_NEEDED = 100 * 1024 * 1024


class SampleNotFound(LookupError):
    """Raised when a sample name does not name a shipped data set."""


@dataclass(frozen=True)
class Sample:
    """One shipped sample data set: its name and the folder holding its files."""

    name: str
    path: Path

    def documents(self) -> Iterator[tuple[str, bytes]]:
        """Yield (key, compact JSON bytes) for every document, in key order."""
        with gzip.open(self.path / DOCS_FILE, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    entry = json.loads(line)
                    key, doc = entry["id"], entry["doc"]
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(
                        f"sample {self.name}: line {number} of {DOCS_FILE} is not "
                        f'an {{"id", "doc"}} object: {exc}') from exc
                yield key, json.dumps(doc, ensure_ascii=False,
                                      separators=(",", ":")).encode("utf-8")

    def design_documents(self) -> list[dict[str, Any]]:
        """Return the sample's design documents, each with its `_id`."""
        ddocs = []
        for path in sorted((self.path / DESIGN_DIR).glob("*.json")):
            ddoc = json.loads(path.read_text(encoding="utf-8"))
            ddoc.setdefault("_id", f"_design/{path.stem}")
            ddocs.append(ddoc)
        return ddocs


def available_samples() -> list[str]:
    """Return the names of the shipped samples, sorted."""
    return sorted(p.name for p in SAMPLES_DIR.iterdir()
                  if (p / DOCS_FILE).is_file())


def get_sample(name: str) -> Sample:
    """Return the shipped sample called `name`, or raise SampleNotFound."""
    if name not in available_samples():
        raise SampleNotFound(f"Sample {name} is not a valid sample.")
    return Sample(name, SAMPLES_DIR / name)
