// Move the focus to the error summary when a form comes back with errors, so keyboard and
// screen-reader users land on the list of problems (each item links to its field).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
});

// After a bulk approve, the page comes back with the outcome for each post: move the focus there
// so keyboard and screen-reader users land on the results, not at the top of the page.
document.addEventListener("DOMContentLoaded", function () {
  var results = document.getElementById("bulk-results");
  if (results && !document.getElementById("error-summary")) { results.focus(); }
});

// "Select all" in the approval queue (progressive enhancement: hidden without JavaScript).
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("select-all");
  if (!all) { return; }
  var boxes = function () {
    return Array.prototype.slice.call(document.querySelectorAll("input[type=checkbox][name=post]"));
  };
  all.closest(".select-all").hidden = false;
  all.addEventListener("change", function () {
    boxes().forEach(function (b) { b.checked = all.checked; });
  });
  document.addEventListener("change", function (e) {
    if (e.target.name !== "post") { return; }
    var list = boxes();
    var n = list.filter(function (b) { return b.checked; }).length;
    all.checked = n === list.length;
    all.indeterminate = n > 0 && n < list.length;
  });
});

// An htmx action (claim) replaces its table row: keep the keyboard focus on that row, on its
// first link or button, instead of letting it fall to <body>.
document.addEventListener("htmx:afterSwap", function (e) {
  var target = e.detail && e.detail.target;
  if (!target || !target.id) { return; }
  var row = document.getElementById(target.id);
  if (!row || row.tagName !== "TR") { return; }
  var focusable = row.querySelector("a[href], button:not([disabled]), input:not([type=hidden])");
  if (focusable) { focusable.focus(); } else { row.setAttribute("tabindex", "-1"); row.focus(); }
});

// "Complete the review" links to the post page's review section (#review-12): land the keyboard
// focus on its heading, not at the top of the page (issue 21).
document.addEventListener("DOMContentLoaded", function () {
  if (!/^#review-\d+$/.test(window.location.hash) || document.getElementById("error-summary")) { return; }
  var heading = document.getElementById(window.location.hash.slice(1) + "-h");
  if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
});
