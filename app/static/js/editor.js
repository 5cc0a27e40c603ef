// The mistakes page's editor with JavaScript: line numbers beside the text (the bad lines
// marked), kept in step as the officer types and scrolls, and each "sửa dòng này" link puts
// the cursor on its line. Without JavaScript the same textarea posts the same form.
(function () {
  "use strict";
  var text = document.querySelector("textarea.app-editor-text");
  if (!text) { return; }
  var bad = {};
  (text.dataset.badLines || "").split(" ").forEach(function (n) { if (n) { bad[n] = true; } });
  var gutter = document.createElement("div");
  gutter.className = "app-gutter";
  gutter.setAttribute("aria-hidden", "true");
  text.parentNode.insertBefore(gutter, text);
  text.parentNode.classList.add("app-editor-numbered");
  var shown = 0;

  function count() {
    var n = 1;
    var value = text.value;
    for (var i = value.indexOf("\n"); i !== -1; i = value.indexOf("\n", i + 1)) { n += 1; }
    return n;
  }

  function number() {
    var lines = count();
    if (lines === shown) { return; }
    var parts = [];
    for (var n = 1; n <= lines; n += 1) {
      parts.push(bad[n] ? '<span class="app-gutter-bad">' + n + "</span>" : String(n));
    }
    gutter.innerHTML = parts.join("\n") + "\n";
    shown = lines;
    follow();
  }

  function follow() { gutter.scrollTop = text.scrollTop; }

  function goTo(line) {
    var value = text.value;
    var start = 0;
    for (var n = 1; n < line; n += 1) {
      var next = value.indexOf("\n", start);
      if (next === -1) { break; }
      start = next + 1;
    }
    var end = value.indexOf("\n", start);
    if (end === -1) { end = value.length; }
    text.focus();
    text.setSelectionRange(start, end);
    var height = parseFloat(window.getComputedStyle(text).lineHeight) || 20;
    text.scrollTop = Math.max(0, (line - 3) * height);
    text.scrollIntoView({ block: "center" });
    follow();
  }

  text.addEventListener("input", number);
  text.addEventListener("scroll", follow);
  document.querySelectorAll("a.app-to-line").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      goTo(parseInt(link.dataset.line, 10) || 1);
    });
  });
  number();
}());
