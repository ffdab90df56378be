// Undo countdowns and the one confirmation of bulk actions (the server re-checks everything).
(function () {
  "use strict";

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
  });
})();
