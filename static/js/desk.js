// Keyboard use of the desk (a collector works it for hours). Keys are matched on KeyboardEvent.code, the physical
// key, not .key: with a Chinese input method active, .key reads "Process" for every letter.
//   j / k   move the focus through a list's rows (the row itself takes the focus, so screen readers follow)
//   Enter   opens the focused row's account
//   c       starts a call from the focused row (its first Call button)
//   Ctrl+Enter (or Cmd+Enter) saves the form being typed in (the call's outcome)
(function () {
  "use strict";
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  function rowsOf(table) {
    return Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-href]"));
  }
  function focusRow(rows, index) {
    rows.forEach(function (r) { r.classList.remove("focused"); });
    var row = rows[index];
    row.classList.add("focused");
    row.setAttribute("tabindex", "-1");
    row.focus();
    row.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (event) {
    if (event.isComposing) return;  // an input method is composing a character: not a shortcut
    var target = event.target;
    if (event.code === "Enter" && (event.ctrlKey || event.metaKey) && target && target.form) {
      event.preventDefault();
      var submit = target.form.querySelector("button[type=submit].primary") || target.form.querySelector("button[type=submit]");
      if (submit) submit.click(); else target.form.requestSubmit();
      return;
    }
    if (typing(target) || event.altKey || event.ctrlKey || event.metaKey) return;
    var table = document.querySelector("[data-keynav]");
    if (!table) return;
    var rows = rowsOf(table);
    if (!rows.length) return;
    var current = rows.findIndex(function (r) { return r.classList.contains("focused"); });
    if (event.code === "KeyJ" || event.code === "KeyK") {
      var next = event.code === "KeyJ" ? Math.min(current + 1, rows.length - 1) : Math.max(current - 1, 0);
      focusRow(rows, next);
      event.preventDefault();
    } else if (event.code === "Enter" && current >= 0 && target === rows[current]) {
      window.location.href = rows[current].dataset.href;
    } else if (event.code === "KeyC" && current >= 0) {
      var call = rows[current].querySelector("button.call");
      if (call) { event.preventDefault(); call.click(); }
    }
  });
})();

// The worklist's rows poll (hx-trigger "every Ns"); coming back to the tab asks at once. Polling swaps the rows:
// the row the collector had moved to stays the current one.
(function () {
  "use strict";
  var revisiting = false;
  function revisit() {
    var rows = document.querySelector("[data-polled]");
    if (!rows || !window.htmx) return;
    revisiting = true;
    window.htmx.trigger(rows, "desk:revisit");
  }
  // A timed refresh says so: the server does not count it as the user's activity (idle sessions still end).
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.hasAttribute("data-polled")) return;
    if (!revisiting) event.detail.headers["X-Desk-Poll"] = "timer";
    revisiting = false;
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") revisit();
  });
  window.addEventListener("pageshow", function (event) { if (event.persisted) revisit(); });
  var focusedHref = null;
  var hadFocus = false;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.target.hasAttribute("data-polled")) return;
    var focused = event.detail.target.querySelector("tr.focused[data-href]");
    focusedHref = focused ? focused.dataset.href : null;
    hadFocus = !!focused && document.activeElement === focused;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!focusedHref) return;
    var rows = document.querySelectorAll("[data-keynav] tbody tr[data-href]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].dataset.href === focusedHref) {
        rows[i].classList.add("focused");
        rows[i].setAttribute("tabindex", "-1");
        if (hadFocus) rows[i].focus();
        break;
      }
    }
    focusedHref = null;
  });
})();

// A refused submit: the form comes back with a summary of its errors (templates/django/forms/desk/). The summary
// takes the focus, so a screen reader reads it at once and the next Tab goes on into the form; the same when htmx
// swaps a form in. Its links move the focus to the field they name.
(function () {
  "use strict";
  function focusSummary(root) {
    var summary = root.matches && root.matches("[data-error-summary]") ? root : root.querySelector("[data-error-summary]");
    if (!summary) return;
    summary.focus();
    summary.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("DOMContentLoaded", function () { focusSummary(document); });
  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt !== document.body) focusSummary(event.detail.elt);
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-error-summary] a[href^='#']");
    if (!link) return;
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) return;
    event.preventDefault();
    var details = field.closest("details");
    if (details) details.open = true;
    field.focus();
    field.scrollIntoView({ block: "center" });
  });
})();

// On a phone a table is a list of cards, one per row, each cell under its column's name (desk.css, table.stacked),
// so no column is cut off at the card's edge. The names come from the table's header; cells that carry their
// own data-label (the worklist's) keep it.
(function () {
  "use strict";
  // Each column's name from every header row above it (rowspan and colspan laid out as the browser does): a column
  // under a group heading is named by both, "Right-party contacts · Today".
  function headings(table) {
    var head = table.tHead;
    if (!head || !head.rows.length) return [];
    var grid = [];
    Array.prototype.forEach.call(head.rows, function (row, r) {
      grid[r] = grid[r] || [];
      var column = 0;
      Array.prototype.forEach.call(row.cells, function (th) {
        while (grid[r][column] !== undefined) column += 1;
        var text = th.textContent.replace(/\s+/g, " ").trim();
        for (var dr = 0; dr < (th.rowSpan || 1); dr += 1) {
          grid[r + dr] = grid[r + dr] || [];
          for (var dc = 0; dc < (th.colSpan || 1); dc += 1) grid[r + dr][column + dc] = text;
        }
        column += th.colSpan || 1;
      });
    });
    var names = [];
    grid.forEach(function (row) {
      row.forEach(function (text, column) {
        var parts = names[column] = names[column] || [];
        if (text && parts[parts.length - 1] !== text) parts.push(text);
      });
    });
    return names.map(function (parts) { return parts.join(" · "); });
  }
  function stack(root) {
    root.querySelectorAll("table.grid:not(.worklist)").forEach(function (table) {
      var names = headings(table);
      if (!names.length) return;
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          var column = 0;
          Array.prototype.forEach.call(row.cells, function (cell) {
            if (!cell.hasAttribute("data-label") && (cell.colSpan || 1) === 1 && names[column]) {
              cell.setAttribute("data-label", names[column]);
            }
            // Short facts sit two by two; the row's first cell, forms and long texts take the card's width.
            if (column === 0 || cell.querySelector("form, select, input, textarea, button, ul, table") ||
                cell.textContent.replace(/\s+/g, " ").trim().length > 24) {
              cell.classList.add("wide");
            }
            column += cell.colSpan || 1;
          });
        });
      });
      table.classList.add("stacked");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { stack(document); });
  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt !== document.body) stack(event.detail.elt.parentNode || event.detail.elt);
  });
})();
