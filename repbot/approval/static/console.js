// Progressive enhancement for the approval console: the pages work without this file.
// The queue never re-renders under the user: new items wait behind a "N new" notice, changed
// cards are replaced in place, cards that left the list are marked, "Load more" appends.
(function () {
  "use strict";

  var POLL_MS = 15000;
  var pending = [];
  var hovered = null;

  function flash(message, isError) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = message;
    box.classList.toggle("error", !!isError);
    box.classList.remove("hidden");
  }

  function list() {
    return document.querySelector("#queue .list[data-since]");
  }

  function filterParams() {
    var params = new URLSearchParams(window.location.search);
    ["flash", "after", "partial"].forEach(function (k) { params.delete(k); });
    return params;
  }

  function slots() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue .slot[data-id]"));
  }

  function slotOf(id) {
    return document.querySelector('#queue .slot[data-id="' + id + '"]');
  }

  function getText(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); });
  }

  function parse(html) {
    var box = document.createElement("div");
    box.innerHTML = html;
    return box;
  }

  function cards(ids) {
    var params = filterParams();
    params.set("ids", ids.join(","));
    return getText("/queue/cards?" + params.toString()).then(function (html) {
      return Array.prototype.slice.call(parse(html).querySelectorAll(".slot[data-id]"));
    });
  }

  function busy(slot) {
    var el = document.activeElement;
    return !!slot.querySelector("details[open]") || (el && slot.contains(el) && el !== document.body);
  }

  function replace(fresh) {
    var old = slotOf(fresh.getAttribute("data-id"));
    if (!old || busy(old)) return;
    if (old === hovered) hovered = fresh;
    old.replaceWith(fresh);
    wire(fresh);
  }

  // Run ``mutate`` keeping the card under the pointer where it is on the screen.
  function anchored(mutate) {
    var id = hovered && document.body.contains(hovered) ? hovered.getAttribute("data-id") : null;
    var before = id ? slotOf(id).getBoundingClientRect().top : 0;
    mutate();
    var now = id ? slotOf(id) : null;
    if (now) window.scrollBy(0, now.getBoundingClientRect().top - before);
  }

  function showNotice() {
    var bar = document.getElementById("new-items");
    if (!bar) return;
    pending = pending.filter(function (id) { return !slotOf(id); });
    bar.textContent = pending.length + " new — show";
    bar.classList.toggle("hidden", pending.length === 0);
  }

  function insertNew() {
    var ids = pending.slice(0, 100);
    var target = list();
    if (!ids.length || !target) return Promise.resolve();
    return cards(ids).then(function (fresh) {
      anchored(function () {
        var first = target.querySelector(".slot");
        fresh.forEach(function (slot) {
          if (slotOf(slot.getAttribute("data-id"))) return;
          slot.classList.add("fresh");
          target.insertBefore(slot, first);
          wire(slot);
        });
        var empty = target.querySelector(".empty");
        if (empty && fresh.length) empty.remove();
      });
      pending = pending.filter(function (id) { return ids.indexOf(id) < 0; });
      showNotice();
    }).catch(function () { flash("Could not load the new items; try again.", true); });
  }

  function poll() {
    var target = list();
    if (!target) return Promise.resolve();
    var params = filterParams();
    var shown = slots().map(function (s) { return s.getAttribute("data-id"); });
    params.set("since", target.getAttribute("data-since"));
    params.set("ids", shown.slice(0, 500).join(","));
    return fetch("/queue/changes?" + params.toString(), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (answer) {
        target.setAttribute("data-since", answer.since);
        answer.entered.forEach(function (id) {
          id = String(id);
          if (pending.indexOf(id) < 0 && !slotOf(id)) pending.push(id);
        });
        showNotice();
        var badge = document.getElementById("count-awaiting");
        if (badge) badge.textContent = answer.counts.awaiting_approval || 0;
        var changed = shown.filter(function (id) {
          var slot = slotOf(id);
          return slot && answer.versions[id] && answer.versions[id] !== slot.getAttribute("data-version");
        });
        if (!changed.length) return null;
        return cards(changed).then(function (f) {
          anchored(function () { f.forEach(replace); });
        });
      })
      .catch(function () { /* keep the current view; the next poll may work */ });
  }

  function loadMore(event) {
    var link = event.currentTarget;
    var target = list();
    if (!target) return;
    event.preventDefault();
    var url = link.getAttribute("href");
    link.setAttribute("aria-busy", "true");
    getText(url + (url.indexOf("?") < 0 ? "?" : "&") + "partial=1")
      .then(function (html) {
        var box = parse(html);
        box.querySelectorAll(".slot[data-id]").forEach(function (slot) {
          if (slotOf(slot.getAttribute("data-id"))) return;
          target.appendChild(slot);
          wire(slot);
        });
        var next = box.querySelector("a.more");
        var row = link.closest(".more-row");
        if (next) {
          link.setAttribute("href", next.getAttribute("href"));
          link.removeAttribute("aria-busy");
        } else if (row) {
          row.remove();
        }
      })
      .catch(function () { flash("Could not load more items; try again.", true); link.removeAttribute("aria-busy"); });
  }

  function submit(event) {
    var form = event.target;
    event.preventDefault();
    var buttons = form.querySelectorAll("button");
    var slot = form.closest(".slot");
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
        if (!slot) { window.location.reload(); return null; }
        if (document.activeElement && slot.contains(document.activeElement)) document.activeElement.blur();
        slot.querySelectorAll("details[open]").forEach(function (d) { d.open = false; });
        return cards([slot.getAttribute("data-id")]).then(function (f) {
          f.forEach(replace);
          return poll();  // the counts and any card the decision changed elsewhere
        });
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
    var slot = root.classList && root.classList.contains("slot") ? [root] : root.querySelectorAll(".slot");
    Array.prototype.forEach.call(slot, function (s) {
      s.addEventListener("mouseenter", function () { hovered = s; });
      s.addEventListener("mouseleave", function () { if (hovered === s) hovered = null; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wire(document);
    var filters = document.getElementById("filters");
    if (filters) {
      filters.querySelectorAll("select").forEach(function (s) {
        s.addEventListener("change", function () { filters.submit(); });
      });
    }
    var more = document.getElementById("load-more");
    if (more) more.addEventListener("click", loadMore);
    var bar = document.getElementById("new-items");
    if (bar) bar.addEventListener("click", insertNew);
    if (!list()) return;
    window.repbotPoll = poll;  // lets a test (or a console user) poll now
    window.setInterval(function () {
      if (document.visibilityState === "visible") poll();
    }, POLL_MS);
  });
})();
