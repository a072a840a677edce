// Keyboard use of the desk (a collector works it for hours): j / k move through a list, Enter opens the row.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var table = document.querySelector("[data-keynav]");
    if (!table) return;
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-href]"));
    if (!rows.length) return;
    var current = rows.findIndex(function (r) { return r.classList.contains("focused"); });
    if (event.key === "j" || event.key === "k") {
      if (current >= 0) rows[current].classList.remove("focused");
      current = event.key === "j" ? Math.min(current + 1, rows.length - 1) : Math.max(current - 1, 0);
      rows[current].classList.add("focused");
      rows[current].scrollIntoView({ block: "nearest" });
      event.preventDefault();
    } else if (event.key === "Enter" && current >= 0) {
      window.location.href = rows[current].dataset.href;
    }
  });
})();

// The worklist's rows poll (hx-trigger "every Ns"); coming back to the tab asks at once. Polling swaps the rows:
// the row the collector had moved to stays the current one.
(function () {
  "use strict";
  function revisit() {
    var rows = document.querySelector("[data-polled]");
    if (rows && window.htmx) window.htmx.trigger(rows, "desk:revisit");
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") revisit();
  });
  window.addEventListener("pageshow", function (event) { if (event.persisted) revisit(); });
  var focusedHref = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.target.hasAttribute("data-polled")) return;
    var focused = event.detail.target.querySelector("tr.focused[data-href]");
    focusedHref = focused ? focused.dataset.href : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!focusedHref) return;
    var rows = document.querySelectorAll("[data-keynav] tbody tr[data-href]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].dataset.href === focusedHref) { rows[i].classList.add("focused"); break; }
    }
    focusedHref = null;
  });
})();
