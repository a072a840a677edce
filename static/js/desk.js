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
