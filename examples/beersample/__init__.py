"""The beer-sample tutorial web app (manual chapter 2), complete, on the 1.0 client."""

from beersample.app import create_app

__all__ = ["create_app"]
