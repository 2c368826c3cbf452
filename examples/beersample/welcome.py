"""The welcome page (manual section 2.3)."""

from __future__ import annotations

from flask import Blueprint, render_template


def welcome_blueprint() -> Blueprint:
    """Serve the welcome page at / and /welcome."""
    bp = Blueprint("welcome", __name__)

    @bp.get("/")
    @bp.get("/welcome")
    def welcome() -> str:
        """Show links to the beers and breweries, and what the app is."""
        return render_template("welcome.html")

    return bp
