"""Every route of the app through Flask's test client, against a real cbserver with beer-sample."""

from __future__ import annotations

import re
import threading
from html import unescape
from urllib.parse import urlsplit

import pytest

from beersample.app import create_app
from beersample.keys import beer_key, brewery_key, likes_key

ROW_LINK = re.compile(r'<a href="/(beers|breweries)/show/([^"]+)">([^<]*)</a>')


def shown(html: str, kind: str = "beers") -> list[tuple[str, str]]:
    """Return (id, name) of the rows a list page shows, in order."""
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [(doc_id, unescape(name)) for k, doc_id, name in ROW_LINK.findall(table) if k == kind]


def link(html: str, rel: str) -> str | None:
    """Return the href of the pager link with `rel`, or None."""
    match = re.search(rf'<a class="btn" rel="{rel}" href="([^"]+)">', html)
    return unescape(match.group(1)) if match else None


def cas_of(html: str) -> str:
    """Return the CAS hidden in an edit form."""
    return re.search(r'name="cas" value="(\d+)"', html).group(1)


def beer_form(name: str, brewery_id: str = "21st_amendment_brewery_cafe", **fields) -> dict:
    """Return the fields of a valid beer form."""
    form = {"beer_name": name, "beer_brewery_id": brewery_id, "beer_abv": "5.2",
            "beer_description": "Tested.", "beer_style": "Pale Ale"}
    form.update({f"beer_{k}": v for k, v in fields.items()})
    return form


def create_beer(client, name: str, **fields) -> str:
    """Create a beer through the app and return its key."""
    response = client.post("/beers/create", data=beer_form(name, **fields))
    assert response.status_code == 302, response.get_data(as_text=True)
    return urlsplit(response.headers["Location"]).path.rsplit("/", 1)[1]


def test_welcome_page(client):
    for path in ("/", "/welcome"):
        response = client.get(path)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert 'href="/beers"' in html and 'href="/breweries"' in html
        assert "Open Beer Database" in html


def test_static_assets_are_served_by_the_app(client):
    assert client.get("/static/css/beersample.css").status_code == 200
    script = client.get("/static/js/beersample.js")
    assert script.status_code == 200 and b"textContent" in script.data


def test_beer_list_shows_30_beers_by_name_with_their_brewery(client):
    html = client.get("/beers").get_data(as_text=True)
    rows = shown(html)
    assert len(rows) == 30
    assert "Browse Beers" in html and 'id="beer-search"' in html
    assert link(html, "prev") is None and link(html, "next")
    assert 'href="/breweries/show/' in html


def test_pages_move_forward_and_back_with_startkey_docid(client):
    first = client.get("/beers").get_data(as_text=True)
    second_url = link(first, "next")
    assert "start=" in second_url and "docid=" in second_url and "skip" not in second_url
    second = client.get(second_url).get_data(as_text=True)
    assert not set(shown(first)) & set(shown(second))
    third = client.get(link(second, "next")).get_data(as_text=True)
    back = client.get(link(third, "prev")).get_data(as_text=True)
    assert shown(back) == shown(second)
    assert shown(client.get(link(second, "prev")).get_data(as_text=True)) == shown(first)


def test_walking_all_brewery_pages_visits_every_brewery_once(client, db):
    seen, url, pages = [], "/breweries", 0
    while url and pages < 200:
        html = client.get(url).get_data(as_text=True)
        seen += [doc_id for doc_id, _ in shown(html, "breweries")]
        url, pages = link(html, "next"), pages + 1
    assert len(seen) == len(set(seen))
    assert len(seen) >= 1412 and not [k for k in seen if "-" in k]
    assert {"21st_amendment_brewery_cafe", "midnight_sun_brewing_co"} <= set(seen)


@pytest.mark.parametrize("query", ["?start=notjson&docid=x", "?start=%22a%22", "?docid=x"])
def test_a_broken_page_link_is_a_400_page(client, query):
    response = client.get("/beers" + query)
    assert response.status_code == 400
    assert "page link is broken" in response.get_data(as_text=True)


def test_show_beer_lists_its_fields_and_links_to_its_brewery(client):
    response = client.get("/beers/show/21st_amendment_brewery_cafe-21a_ipa")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "21A IPA" in html and 'href="/breweries/show/21st_amendment_brewery_cafe"' in html
    assert "21st Amendment Brewery Cafe" in html and "abv" in html
    assert 'action="/beers/like/21st_amendment_brewery_cafe-21a_ipa"' in html


@pytest.mark.parametrize("path", ["/beers/show/no_such_beer", "/beers/show/21st_amendment_brewery_cafe",
                                  "/breweries/show/21st_amendment_brewery_cafe-21a_ipa",
                                  "/beers/edit/nope", "/beers/delete/nope", "/breweries/edit/nope",
                                  "/beers/show/" + "x" * 300, "/no/such/page"])
def test_unknown_documents_and_pages_are_404_pages(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "<html" in response.get_data(as_text=True)


def test_create_beer_stores_it_under_the_tutorial_key(client, db, unique_name):
    name = unique_name("Created Ale")
    assert client.get("/beers/create").status_code == 200
    beer_id = create_beer(client, name)
    assert beer_id == beer_key("21st_amendment_brewery_cafe", name)
    doc = db.get(beer_id).value
    assert doc["type"] == "beer" and doc["name"] == name and doc["abv"] == 5.2
    assert doc["brewery_id"] == "21st_amendment_brewery_cafe" and doc["updated"]
    page = client.get(f"/beers/show/{beer_id}").get_data(as_text=True)
    assert name in page


def test_create_form_is_prefilled_from_the_brewery_page_link(client):
    html = client.get("/beers/create?brewery_id=yards_brewing").get_data(as_text=True)
    assert 'value="yards_brewing"' in html


def test_creating_an_existing_beer_is_refused_and_keeps_the_first(client, db, unique_name):
    name = unique_name("Twice Ale")
    beer_id = create_beer(client, name, abv="4")
    response = client.post("/beers/create", data=beer_form(name, abv="9"))
    assert response.status_code == 409
    assert "already exists" in response.get_data(as_text=True)
    assert db.get(beer_id).value["abv"] == 4.0


@pytest.mark.parametrize("fields, needle", [
    ({"name": ""}, "Name is required"),
    ({"brewery_id": "no_such_brewery"}, "was not found"),
    ({"brewery_id": "21st_amendment_brewery_cafe-21a_ipa"}, "was not found"),
    ({"abv": "very"}, "must be a number"),
    ({"description": "d" * 5000}, "too long"),
    ({"name": "n" * 101}, "too long"),
    ({"name": "???"}, "letter or digit"),
])
def test_bad_beer_input_is_a_form_error_and_stores_nothing(client, db, fields, needle, unique_name):
    fields = dict(fields)
    name = fields.pop("name", unique_name("Bad Ale"))
    brewery = fields.pop("brewery_id", "21st_amendment_brewery_cafe")
    response = client.post("/beers/create", data=beer_form(name, brewery, **fields))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert needle in html and "was not saved" in html
    if name and brewery and len(name) < 100:
        assert not db.get(beer_key(brewery, name), quiet=True).success


def test_an_oversize_request_body_is_a_413_page(client):
    response = client.post("/beers/create", data=beer_form("Big", description="x" * 300_000))
    assert response.status_code == 413
    assert "<html" in response.get_data(as_text=True)


def test_edit_beer_saves_with_cas_and_keeps_other_fields(client, db, unique_name):
    beer_id = create_beer(client, unique_name("Edit Ale"))
    db.set(beer_id, {**db.get(beer_id).value, "extra": "kept"})
    form = client.get(f"/beers/edit/{beer_id}").get_data(as_text=True)
    cas = cas_of(form)
    response = client.post(f"/beers/edit/{beer_id}",
                           data={**beer_form("Renamed Ale", abv="7.5"), "cas": cas})
    assert response.status_code == 302
    doc = db.get(beer_id).value
    assert doc["name"] == "Renamed Ale" and doc["abv"] == 7.5
    assert doc["extra"] == "kept" and doc["type"] == "beer"


def test_a_stale_edit_is_refused_and_shows_the_newer_version(client, db, unique_name):
    beer_id = create_beer(client, unique_name("Race Ale"))
    cas = cas_of(client.get(f"/beers/edit/{beer_id}").get_data(as_text=True))
    first = client.post(f"/beers/edit/{beer_id}",
                        data={**beer_form("First Writer"), "cas": cas})
    assert first.status_code == 302
    second = client.post(f"/beers/edit/{beer_id}",
                         data={**beer_form("Second Writer"), "cas": cas})
    assert second.status_code == 409
    html = second.get_data(as_text=True)
    assert "changed by someone else" in html
    assert 'value="First Writer"' in html and "Second Writer" in html
    assert cas_of(html) != cas
    assert db.get(beer_id).value["name"] == "First Writer"


@pytest.mark.parametrize("cas", [None, "", "abc", "0", "-5", "9" * 30])
def test_an_edit_without_a_valid_cas_is_a_form_error(client, db, cas, unique_name):
    beer_id = create_beer(client, unique_name("Cas Ale"))
    data = beer_form("Changed")
    if cas is not None:
        data["cas"] = cas
    response = client.post(f"/beers/edit/{beer_id}", data=data)
    assert response.status_code == 400
    assert db.get(beer_id).value["name"] != "Changed"


def test_an_invalid_edit_is_a_form_error_and_changes_nothing(client, db, unique_name):
    beer_id = create_beer(client, unique_name("Keep Ale"))
    before = db.get(beer_id)
    response = client.post(f"/beers/edit/{beer_id}",
                           data={**beer_form("", abv="x"), "cas": str(before.cas)})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Name is required" in html and "must be a number" in html
    assert db.get(beer_id).cas == before.cas


def test_delete_asks_first_then_deletes_the_beer_and_its_likes(client, db, unique_name):
    beer_id = create_beer(client, unique_name("Doomed Ale"))
    client.post(f"/beers/like/{beer_id}")
    confirm = client.get(f"/beers/delete/{beer_id}")
    assert confirm.status_code == 200 and "Yes, delete it" in confirm.get_data(as_text=True)
    assert db.get(beer_id, quiet=True).success
    response = client.post(f"/beers/delete/{beer_id}")
    assert response.status_code == 302
    assert not db.get(beer_id, quiet=True).success
    assert not db.get(likes_key(beer_id), quiet=True).success
    assert client.post(f"/beers/delete/{beer_id}").status_code == 404


def test_the_beer_delete_route_does_not_delete_a_brewery(client, db):
    response = client.post("/beers/delete/21st_amendment_brewery_cafe")
    assert response.status_code == 404
    assert db.get("21st_amendment_brewery_cafe", quiet=True).success


def test_search_returns_json_rows_whose_name_starts_with_the_value(client):
    response = client.get("/beers/search?value=21A")
    assert response.status_code == 200 and response.mimetype == "application/json"
    rows = response.get_json()
    assert {"id": "21st_amendment_brewery_cafe-21a_ipa", "name": "21A IPA",
            "brewery": "21st_amendment_brewery_cafe"}.items() <= rows[0].items()
    assert all(row["name"].lower().startswith("21a") for row in rows)
    lower = client.get("/beers/search?value=pale").get_json()
    assert lower and all(row["name"].lower().startswith("pale") for row in lower)
    assert len(client.get("/beers/search?value=").get_json()) == 30
    assert client.get("/beers/search?value=zzzzzzzzzz").get_json() == []


def test_search_finds_a_beer_right_after_it_is_created(client, unique_name):
    name = unique_name("Qqsearch Ale")
    beer_id = create_beer(client, name)
    rows = client.get("/beers/search", query_string={"value": "Qqsearch"}).get_json()
    assert beer_id in [row["id"] for row in rows]


def test_search_rejects_overlong_text(client):
    response = client.get("/beers/search?value=" + "a" * 101)
    assert response.status_code == 400 and "error" in response.get_json()


def test_brewery_search(client):
    rows = client.get("/breweries/search?value=Midnight").get_json()
    assert rows[0]["id"] == "midnight_sun_brewing_co" and rows[0]["country"]


def test_likes_count_up_and_down_with_counters(client, db, unique_name):
    beer_id = create_beer(client, unique_name("Liked Ale"))
    json_accept = {"Accept": "application/json"}
    assert client.post(f"/beers/like/{beer_id}", headers=json_accept).get_json()["likes"] == 1
    assert client.post(f"/beers/like/{beer_id}", headers=json_accept).get_json()["likes"] == 2
    assert client.post(f"/beers/unlike/{beer_id}", headers=json_accept).get_json()["likes"] == 1
    for _ in range(3):
        client.post(f"/beers/unlike/{beer_id}", headers=json_accept)
    assert db.get(likes_key(beer_id)).value == 0
    form_post = client.post(f"/beers/like/{beer_id}")
    assert form_post.status_code == 302 and form_post.headers["Location"].endswith(beer_id)
    assert ">1</strong>" in client.get(f"/beers/show/{beer_id}").get_data(as_text=True)


def test_likes_of_unknown_documents_are_404(client):
    assert client.post("/beers/like/nope", headers={"Accept": "application/json"}).status_code == 404
    assert client.post("/breweries/unlike/nope").status_code == 404


def test_concurrent_likes_all_count(app, db):
    brewery_id = "midnight_sun_brewing_co"
    before = db.get(likes_key(brewery_id), quiet=True).value or 0
    errors = []

    def click() -> None:
        client = app.test_client()
        for _ in range(5):
            response = client.post(f"/breweries/like/{brewery_id}",
                                   headers={"Accept": "application/json"})
            if response.status_code != 200:
                errors.append(response.status_code)

    threads = [threading.Thread(target=click) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert db.get(likes_key(brewery_id)).value == before + 40


def test_brewery_crud_and_the_beers_it_lists(client, db, unique_name):
    name = unique_name("Test Brewery")
    response = client.post("/breweries/create", data={
        "brewery_name": name, "brewery_city": "Lewes", "brewery_country": "England",
        "brewery_address": "1 High St\nLewes", "brewery_website": "https://example.org"})
    assert response.status_code == 302
    brewery_id = brewery_key(name)
    assert db.get(brewery_id).value["address"] == ["1 High St", "Lewes"]
    beer_id = create_beer(client, unique_name("House Ale"), brewery_id=brewery_id)
    page = client.get(f"/breweries/show/{brewery_id}").get_data(as_text=True)
    assert f'href="/beers/show/{beer_id}"' in page and "Lewes" in page
    assert 'href="https://example.org"' in page
    rows = client.get(f"/breweries/beers/{brewery_id}/search?value=House").get_json()
    assert [row["id"] for row in rows] == [beer_id]

    confirm = client.get(f"/breweries/delete/{brewery_id}").get_data(as_text=True)
    assert "cannot be deleted" in confirm and "still has 1 beer" in confirm
    refused = client.post(f"/breweries/delete/{brewery_id}")
    assert refused.status_code == 409 and "still has 1 beer" in refused.get_data(as_text=True)
    assert db.get(brewery_id, quiet=True).success

    cas = cas_of(client.get(f"/breweries/edit/{brewery_id}").get_data(as_text=True))
    edited = client.post(f"/breweries/edit/{brewery_id}",
                         data={"brewery_name": name, "brewery_city": "Brighton", "cas": cas})
    assert edited.status_code == 302 and db.get(brewery_id).value["city"] == "Brighton"

    assert client.post(f"/beers/delete/{beer_id}").status_code == 302
    assert client.post(f"/breweries/delete/{brewery_id}").status_code == 302
    assert not db.get(brewery_id, quiet=True).success


def test_a_sample_brewery_with_beers_cannot_be_deleted(client, db):
    response = client.post("/breweries/delete/midnight_sun_brewing_co")
    assert response.status_code == 409
    assert "still has 57 beers" in response.get_data(as_text=True)
    assert db.get("midnight_sun_brewing_co", quiet=True).success


def test_brewery_bad_input(client):
    response = client.post("/breweries/create", data={"brewery_name": "",
                                                      "brewery_website": "javascript:alert(1)"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Name is required" in html and "http://" in html


def test_user_data_is_escaped_everywhere(client, unique_name):
    evil = '<script>alert("x")</script> ' + unique_name("Evil")
    beer_id = create_beer(client, evil)
    for path in (f"/beers/show/{beer_id}", f"/beers/edit/{beer_id}",
                 f"/beers/delete/{beer_id}", "/breweries/show/21st_amendment_brewery_cafe"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html
        assert "&lt;script&gt;" in html
    rows = client.get("/beers/search", query_string={"value": "<script>"}).get_json()
    assert any(row["id"] == beer_id for row in rows)


def test_cross_site_posts_are_refused(client, db):
    response = client.post("/beers/like/21st_amendment_brewery_cafe-21a_ipa",
                           headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    same = client.post("/beers/like/21st_amendment_brewery_cafe-21a_ipa",
                       headers={"Origin": "http://localhost"})
    assert same.status_code == 302


def test_a_database_that_is_down_gives_a_503_page():
    app = create_app(settings={"HOST": "127.0.0.1", "PORT": 1, "TIMEOUT": 2.0})
    response = app.test_client().get("/beers")
    assert response.status_code == 503
    assert "cannot be reached" in response.get_data(as_text=True)
    assert app.test_client().get("/").status_code == 200


def test_wrong_methods_are_405_pages(client):
    assert client.post("/beers").status_code == 405
    assert client.get("/beers/like/x").status_code == 405
