"""End-to-end: a person's journeys through the app in Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_app):
    """A fresh browser context and page on the running app."""
    context = browser.new_context(base_url=live_app, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def snap(page, name: str) -> None:
    """Save a full-page screenshot under test-output/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_browse_beers_and_page_through(page):
    page.goto("/")
    snap(page, "welcome")
    page.click("text=Show me all beers")
    rows = page.locator("#beer-table tbody tr")
    assert rows.count() == 30
    first_name = rows.first.locator("td").first.inner_text()
    snap(page, "beers")
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"start="))
    assert page.locator("#beer-table tbody tr").first.locator("td").first.inner_text() != first_name
    page.click("a[rel=prev]")
    page.wait_for_url(re.compile(r"/beers$"))
    assert page.locator("#beer-table tbody tr").first.locator("td").first.inner_text() == first_name


def test_search_as_you_type(page):
    page.goto("/beers")
    page.locator("#beer-search").press_sequentially("21A", delay=40)
    first = page.locator("#beer-table tbody tr").first.locator("td").first
    playwright_sync.expect(first).to_have_text("21A IPA")
    names = page.locator("#beer-table tbody tr td:first-child").all_inner_texts()
    assert names and all(n.lower().startswith("21a") for n in names)
    snap(page, "beer-search")
    page.locator("#beer-search").fill("zzzzzzzzz")
    playwright_sync.expect(page.locator("#beer-table tbody tr.empty")).to_be_visible()


def test_create_edit_like_twice_and_delete_a_beer(page, unique_name):
    name = unique_name("Browser Ale")
    page.goto("/beers/create")
    page.fill("input[name=beer_name]", name)
    page.fill("input[name=beer_brewery_id]", "21st_amendment_brewery_cafe")
    page.fill("input[name=beer_abv]", "lots")
    page.click("button[type=submit]")
    playwright_sync.expect(page.locator(".form-errors")).to_contain_text("must be a number")
    snap(page, "beer-form-error")
    page.fill("input[name=beer_abv]", "6.1")
    page.fill("textarea[name=beer_description]", "Brewed by a browser.")
    page.click("button[type=submit]")
    playwright_sync.expect(page.locator("h1")).to_have_text(name)
    assert "/beers/show/21st_amendment_brewery_cafe-browser_ale" in page.url

    page.click("text=Edit")
    page.fill("input[name=beer_style]", "Browser Bitter")
    page.click("button[type=submit]")
    playwright_sync.expect(page.locator("table.details")).to_contain_text("Browser Bitter")

    count = page.locator(".like-number")
    playwright_sync.expect(count).to_have_text("0")
    page.click("button.btn-like")
    playwright_sync.expect(count).to_have_text("1")
    page.click("button.btn-like")
    playwright_sync.expect(count).to_have_text("2")
    page.reload()
    playwright_sync.expect(page.locator(".like-number")).to_have_text("2")
    snap(page, "beer-show")

    page.click(".form-actions >> text=Delete")
    snap(page, "beer-delete")
    page.click("text=Yes, delete it")
    playwright_sync.expect(page.locator(".alert-success")).to_contain_text("Deleted beer")
    assert page.goto(page.url.split("/beers")[0] + f"/beers/show/{_beer_id(name)}").status == 404


def _beer_id(name: str) -> str:
    """The key the app gives a beer of 21st Amendment called `name`."""
    from beersample.keys import beer_key
    return beer_key("21st_amendment_brewery_cafe", name)


def test_a_brewery_with_beers_cannot_be_deleted(page):
    page.goto("/breweries")
    snap(page, "breweries")
    page.goto("/breweries/show/midnight_sun_brewing_co")
    assert page.locator("#brewery-beer-table tbody tr").count() == 57
    snap(page, "brewery-show")
    page.locator("#brewery-beer-search").press_sequentially("Arctic", delay=40)
    playwright_sync.expect(page.locator("#brewery-beer-table tbody tr").first).to_contain_text("Arctic")
    page.click(".form-actions >> text=Delete")
    playwright_sync.expect(page.locator(".delete-refused")).to_contain_text("still has 57 beers")
    assert page.locator("text=Yes, delete it").count() == 0
    snap(page, "brewery-delete-refused")


def test_two_people_editing_one_beer_get_the_cas_conflict(browser, live_app, unique_name, db):
    beer_id = _beer_id(name := unique_name("Contested Ale"))
    db.add(beer_id, {"name": name, "brewery_id": "21st_amendment_brewery_cafe", "type": "beer",
                     "abv": 5.0, "description": ""})
    contexts = [browser.new_context(base_url=live_app) for _ in range(2)]
    try:
        alice, bob = (context.new_page() for context in contexts)
        for person in (alice, bob):
            person.set_default_timeout(TIMEOUT_MS)
            person.goto(f"/beers/edit/{beer_id}")
        alice.fill("input[name=beer_style]", "Alice's style")
        alice.click("button[type=submit]")
        playwright_sync.expect(alice.locator("table.details")).to_contain_text("Alice's style")
        bob.fill("input[name=beer_style]", "Bob's style")
        bob.click("button[type=submit]")
        playwright_sync.expect(bob.locator(".conflict")).to_contain_text("changed by someone else")
        playwright_sync.expect(bob.locator("input[name=beer_style]")).to_have_value("Alice's style")
        snap(bob, "beer-cas-conflict")
        bob.fill("input[name=beer_style]", "Bob's style")
        bob.click("button[type=submit]")
        playwright_sync.expect(bob.locator("table.details")).to_contain_text("Bob's style")
    finally:
        for context in contexts:
            context.close()
    assert db.get(beer_id).value["style"] == "Bob's style"
