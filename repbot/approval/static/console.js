// Progressive enhancement for the approval console: the pages work without this file.
(function () {
  "use strict";

  function flash(message, isError) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = message;
    box.classList.toggle("error", !!isError);
    box.classList.remove("hidden");
  }

  function partialUrl() {
    var params = new URLSearchParams(window.location.search);
    params.delete("flash");
    params.set("partial", "1");
    return window.location.pathname === "/" ? "/?" + params.toString() : null;
  }

  function busy() {
    var el = document.activeElement;
    return !!document.querySelector("details.editor[open], details.reject[open]") ||
      (el && (el.tagName === "TEXTAREA" || el.tagName === "INPUT"));
  }

  function refresh(force) {
    var url = partialUrl();
    var queue = document.getElementById("queue");
    if (!url || !queue || (!force && busy())) return Promise.resolve();
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        queue.innerHTML = html;
        var list = queue.querySelector(".list");
        var badge = document.getElementById("count-awaiting");
        if (list && badge) badge.textContent = list.getAttribute("data-awaiting");
        wire(queue);
      })
      .catch(function () { /* keep the current view; the next refresh may work */ });
  }

  function submit(event) {
    var form = event.target;
    event.preventDefault();
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    })
      .then(function (r) {
        return r.json().catch(function () { return { ok: false, message: "HTTP " + r.status }; });
      })
      .then(function (answer) {
        flash(answer.message, !answer.ok);
        if (partialUrl()) return refresh(true);
        window.location.reload();
      })
      .catch(function () { flash("Network error: nothing was changed.", true); })
      .finally(function () { buttons.forEach(function (b) { b.disabled = false; }); });
  }

  function counter(area) {
    var limit = parseInt(area.getAttribute("data-limit"), 10);
    var out = area.parentNode.querySelector(".counter");
    if (!out) return;
    function update() {
      out.textContent = area.value.length + " / " + limit + " characters";
      out.classList.toggle("over", area.value.length > limit);
    }
    area.addEventListener("input", update);
    update();
  }

  function wire(root) {
    root.querySelectorAll("form.js-action").forEach(function (form) {
      form.addEventListener("submit", submit);
    });
    root.querySelectorAll("textarea[data-limit]").forEach(counter);
  }

  document.addEventListener("DOMContentLoaded", function () {
    wire(document);
    var filters = document.getElementById("filters");
    if (filters) {
      filters.querySelectorAll("select").forEach(function (s) {
        s.addEventListener("change", function () { filters.submit(); });
      });
    }
    window.setInterval(function () {
      if (document.visibilityState === "visible") refresh(false);
    }, 15000);
  });
})();
