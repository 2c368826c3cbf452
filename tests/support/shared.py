"""The project's reference material beside the checkout (``../shared``): the conformance kit
and the original beer-sample data. CI lays it there; without it those tests fail loudly."""
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared"
CONFORMANCE = SHARED / "conformance"


def conformance_script(name: str) -> Path:
    """Path of a conformance kit script; asserts the kit is present."""
    path = CONFORMANCE / name
    assert path.exists(), f"conformance kit script {path} is missing (expected ../shared beside the checkout)"
    return path
