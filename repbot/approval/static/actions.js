// Undo and SLA countdowns, and the one confirmation of bulk actions (the server re-checks
// everything).
(function () {
  "use strict";

  // The server's duration_text: "45 s", "35 min", "2.0 h".
  function duration(seconds) {
    if (seconds < 120) return Math.round(seconds) + " s";
    if (seconds < 7200) return Math.round(seconds / 60) + " min";
    return (seconds / 3600).toFixed(1) + " h";
  }

  // SLA time left as the server counted it when it drew the card (a card replaced by a live
  // update is a new element), run down only while its clock runs: outside business hours it
  // stands still until the card is drawn again.
  function tickSla() {
    document.querySelectorAll(".sla-countdown[data-remaining]").forEach(function (el) {
      if (!el.dataset.seen) el.dataset.seen = String(Date.now());
      var passed = (Date.now() - parseFloat(el.dataset.seen)) / 1000;
      var running = el.getAttribute("data-running") === "1";
      var left = parseFloat(el.getAttribute("data-remaining")) - (running ? passed : 0);
      if (left < 0) {
        el.textContent = "SLA overdue by " + duration(Math.max(1, -left));
        el.classList.add("breached");
      } else {
        el.textContent = "SLA due in " + duration(left);
      }
    });
  }

  function tick() {
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var left = Math.ceil((Date.parse(el.getAttribute("data-deadline")) - Date.now()) / 1000);
      if (left > 0) {
        el.textContent = "Posting in " + left + " s";
        return;
      }
      el.textContent = "Posting…";
      var form = el.closest("form");
      var button = form && form.querySelector("button");
      if (button) button.disabled = true;
    });
  }

  function confirmBulk(event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-confirm]")) return;
    var picked = document.querySelectorAll("input.bulk-pick:checked").length;
    var what = form.id === "bulk"
      ? form.querySelector("select[name=action]").value + " " + picked + " item(s)"
      : form.querySelector("button").textContent;
    if (form.id === "bulk" && picked === 0) {
      event.preventDefault();
      window.alert("Select at least one item first.");
      return;
    }
    if (!window.confirm("Really " + what.trim().toLowerCase() + "?")) event.preventDefault();
  }

  document.addEventListener("submit", confirmBulk, true);
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
    window.setInterval(tickSla, 1000);
  });
})();
