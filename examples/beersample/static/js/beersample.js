/* Beer-sample page script: search as you type, and like/unlike without a page reload.
 * Rows are built with DOM methods and textContent, so names are never parsed as HTML. */
(function () {
  "use strict";

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function button(href, text, style) {
    var a = link(href, text);
    a.className = "btn btn-small " + style;
    return a;
  }

  function cell(row, content, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    if (typeof content === "string" || typeof content === "number") {
      td.textContent = String(content);
    } else if (content) {
      for (var i = 0; i < content.length; i++) {
        if (i) { td.appendChild(document.createTextNode(" ")); }
        td.appendChild(content[i]);
      }
    }
    row.appendChild(td);
  }

  function path(kind, action, id) {
    return "/" + kind + "/" + action + "/" + encodeURIComponent(id);
  }

  function beerRow(item, compact) {
    var tr = document.createElement("tr");
    cell(tr, [link(path("beers", "show", item.id), item.name)]);
    if (compact) {
      cell(tr, item.likes, "num");
      return tr;
    }
    cell(tr, [link(path("breweries", "show", item.brewery), item.brewery_name || "To Brewery")]);
    cell(tr, item.likes, "num");
    cell(tr, [button(path("beers", "edit", item.id), "Edit", "btn-warning"),
              button(path("beers", "delete", item.id), "Delete", "btn-danger")], "actions");
    return tr;
  }

  function breweryRow(item) {
    var tr = document.createElement("tr");
    cell(tr, [link(path("breweries", "show", item.id), item.name)]);
    cell(tr, [item.city, item.country].filter(Boolean).join(", "));
    cell(tr, item.likes, "num");
    cell(tr, [button(path("breweries", "edit", item.id), "Edit", "btn-warning"),
              button(path("breweries", "delete", item.id), "Delete", "btn-danger")], "actions");
    return tr;
  }

  function showRows(table, items) {
    var body = table.tBodies[0];
    var compact = table.getAttribute("data-compact") === "1";
    var kind = table.getAttribute("data-kind");
    while (body.firstChild) { body.removeChild(body.firstChild); }
    if (!items.length) {
      var tr = document.createElement("tr");
      tr.className = "empty";
      cell(tr, "Nothing matches.");
      tr.firstChild.colSpan = table.tHead.rows[0].cells.length;
      body.appendChild(tr);
    }
    items.forEach(function (item) {
      body.appendChild(kind === "brewery" ? breweryRow(item) : beerRow(item, compact));
    });
  }

  function setupSearch(input) {
    var table = document.getElementById(input.getAttribute("data-search-table"));
    var url = input.getAttribute("data-search-url");
    var pager = document.querySelector(".list-pager");
    var timer = null;
    var asked = 0;
    var shown = 0;
    function search() {
      var ticket = ++asked;
      var query = url + "?value=" + encodeURIComponent(input.value);
      fetch(query, {headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error("search failed: " + response.status); }
          return response.json();
        })
        .then(function (items) {
          if (ticket < shown) { return; }
          shown = ticket;
          showRows(table, items);
          table.setAttribute("data-search-done", String(ticket));
          if (pager) { pager.hidden = input.value.length > 0; }
        })
        .catch(function (error) { table.setAttribute("data-search-error", error.message); });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 120);
    });
  }

  function setupLike(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var box = form.closest(".likes");
      var number = box.querySelector(".like-number");
      var ticket = (Number(box.getAttribute("data-asked")) || 0) + 1;
      box.setAttribute("data-asked", String(ticket));
      fetch(form.action, {method: "POST", headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error("like failed: " + response.status); }
          return response.json();
        })
        .then(function (data) {
          if (ticket < (Number(box.getAttribute("data-shown")) || 0)) { return; }
          box.setAttribute("data-shown", String(ticket));
          number.textContent = String(data.likes);
          box.querySelector(".like-word").textContent = data.likes === 1 ? "like" : "likes";
        })
        .catch(function () { form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-search-url]"), setupSearch);
    Array.prototype.forEach.call(document.querySelectorAll("form.like-form"), setupLike);
  });
}());
