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

// Media on the compose and edit forms (issue 22). Without this script everything works through
// the server: "Attach the file" stores the file and brings the form back with its fieldset, and
// Move up / Move down / Remove are submit buttons. With it: a chosen file is previewed at once
// (an object URL, nothing sent) with its alternative-text fields, so it is stored, described,
// when the post is saved; moving and removing happen in the page, the focus stays on the
// button pressed, and the status region says what happened.
(function () {
  function say(text) {
    var status = document.getElementById("status");
    if (!status) { return; }
    var p = document.createElement("p");
    p.className = "message message--info";
    p.textContent = text;
    status.replaceChildren(p);
  }
  function recheck(form) {
    if (form) { form.dispatchEvent(new Event("change", { bubbles: true })); }
  }
  function renumber(list) {
    var entries = list.querySelectorAll(":scope > .media-entry");
    entries.forEach(function (entry, i) {
      var label = entry.querySelector(".media-entry__number");
      if (label && label.dataset.template) {
        label.textContent = label.dataset.template.replace("{n}", String(i + 1));
        entry.querySelectorAll("[data-media-move] .sr-only").forEach(function (s) {
          s.textContent = " " + label.textContent;
        });
      }
      var up = entry.querySelector("[data-media-move=up]");
      var down = entry.querySelector("[data-media-move=down]");
      if (up) { up.hidden = i === 0; }
      if (down) { down.hidden = i === entries.length - 1; }
    });
  }
  function showLanguage(entry) {
    var chosen = entry.querySelector("input[type=radio][name$=_language]:checked");
    var lang = chosen ? chosen.value : "";
    entry.querySelectorAll(".media-entry__lang").forEach(function (col) {
      col.hidden = lang !== "" && col.dataset.lang !== lang;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var section = document.getElementById("media-section");
    if (!section) { return; }
    var form = section.closest("form");
    var list = document.getElementById("media-list");
    var input = section.querySelector("input[type=file][name=media_upload]");
    var pending = document.getElementById("media-pending");
    var template = document.getElementById("media-new-template");
    var words = section.dataset;
    // Every medium keeps its Move buttons in the page; the first cannot go up, the last not down.
    list.querySelectorAll(".media-entry").forEach(function (entry) {
      var label = entry.querySelector(".media-entry__number");
      label.dataset.template = label.dataset.video ? words.videoN : words.imageN;
      var actions = entry.querySelector(".media-entry__actions");
      var key = entry.id.replace("media-", "");
      ["up", "down"].forEach(function (dir) {
        if (!entry.querySelector("[data-media-move=" + dir + "]")) {
          var b = document.createElement("button");
          b.type = "submit"; b.name = "media_" + dir; b.value = key; b.id = "media_" + key + "_" + dir;
          b.className = "btn btn--secondary"; b.dataset.mediaMove = dir;
          b.textContent = dir === "up" ? words.moveUp : words.moveDown;
          var hidden = document.createElement("span");
          hidden.className = "sr-only";
          b.appendChild(hidden);
          actions.insertBefore(b, actions.querySelector("[data-media-move=remove]"));
        }
      });
    });
    renumber(list);

    section.addEventListener("click", function (e) {
      var button = e.target.closest("[data-media-move]");
      if (!button) {
        if (e.target.closest("[data-media-clear]")) {
          input.value = "";
          pending.replaceChildren();
          input.focus();
          say(words.cleared);
          recheck(form);
        }
        return;
      }
      e.preventDefault();
      var entry = button.closest(".media-entry");
      var dir = button.dataset.mediaMove;
      if (dir === "remove") {
        var next = entry.nextElementSibling || entry.previousElementSibling;
        entry.remove();
        renumber(list);
        var target = next && next.querySelector("[data-media-move=remove]");
        (target || input).focus();
        say(words.removed);
      } else {
        var sibling = dir === "up" ? entry.previousElementSibling : entry.nextElementSibling;
        if (!sibling) { return; }
        if (dir === "up") { list.insertBefore(entry, sibling); } else { list.insertBefore(sibling, entry); }
        renumber(list);
        var place = Array.prototype.indexOf.call(list.children, entry) + 1;
        (button.hidden ? entry.querySelector("[data-media-move]:not([hidden])") : button).focus();
        say(words.moved.replace("{n}", String(place)).replace("{total}", String(list.children.length)));
      }
      recheck(form);
    });

    section.addEventListener("change", function (e) {
      if (e.target.matches("input[type=radio][name$=_language]")) {
        showLanguage(e.target.closest(".media-entry"));
      }
    });

    if (!input || !template || !window.URL || !URL.createObjectURL) { return; }
    var objectUrl = null;
    input.addEventListener("change", function () {
      if (objectUrl) { URL.revokeObjectURL(objectUrl); objectUrl = null; }
      pending.replaceChildren();
      var file = input.files && input.files[0];
      if (!file) { return; }
      var entry = template.content.firstElementChild.cloneNode(true);
      var video = /^video\//.test(file.type);
      entry.querySelector(".media-entry__name").textContent = ": " + file.name;
      var label = entry.querySelector(".media-entry__number");
      label.textContent = (video ? words.videoN : words.imageN).replace("{n}", String(list.children.length + 1));
      var kind = entry.querySelector("input[name=media_new_kind]");
      kind.value = video ? "video" : "image";
      kind.disabled = false;
      var name = entry.querySelector("input[name=media_new_name]");
      name.value = file.name;
      name.disabled = false;
      var img = entry.querySelector("img.media-entry__preview");
      var placeholder = entry.querySelector(".media-entry__placeholder");
      if (!video && /^image\/(jpeg|png|gif|webp)$/.test(file.type)) {
        objectUrl = URL.createObjectURL(file);
        img.src = objectUrl;
        img.hidden = false;
      } else if (placeholder) {
        placeholder.textContent = video ? words.video : words.image;
        placeholder.hidden = false;
      }
      entry.querySelectorAll(".media-entry__captions").forEach(function (c) { c.hidden = !video; });
      pending.appendChild(entry);
      if (window.htmx) { window.htmx.process(entry); }
      say(words.chosen.replace("{name}", file.name));
      recheck(form);
    });
  });
})();
