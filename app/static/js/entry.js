// Fast keyboard entry of a whole survey on one page (paper forms, kiosks, assisted entry).
// On a choice, a number key picks the choice of that number (a mark from 0 to 9 on a 0–10
// scale), and a single choice then moves on to the next question (or the grid's next line);
// on a multiple choice it ticks or unticks; Enter goes on to the next question (after the
// last one, it saves). Without JavaScript the form works as any form.
// A kiosk page shown again from the browser's history is emptied: nobody sees the last answers.
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form) { return; }

  function groups() {
    // Each place an answer goes: a question, or one line of a grid; only those shown.
    var found = [];
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.app-question"), function (box) {
      if (box.hidden || box.disabled) { return; }
      var rows = box.querySelectorAll("fieldset.app-grid-row");
      if (rows.length) {
        Array.prototype.forEach.call(rows, function (row) { found.push(row); });
      } else {
        found.push(box);
      }
    });
    return found;
  }

  function focusFirst(group) {
    var checked = group.querySelector("input:checked");
    var first = checked || group.querySelector("input:not([type=hidden]), textarea, select");
    if (first) { first.focus(); }
  }

  function next(group) {
    var all = groups();
    var at = all.indexOf(group);
    if (at >= 0 && at + 1 < all.length) { focusFirst(all[at + 1]); }
  }

  form.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.ctrlKey || event.altKey || event.metaKey) { return; }
    if (input.type !== "radio" && input.type !== "checkbox") { return; }
    var group = input.closest("fieldset.app-grid-row") || input.closest("fieldset.app-question");
    if (!group) { return; }
    if (event.key === "Enter") {  // on a choice: the next question; after the last, save
      event.preventDefault();
      var all = groups();
      if (all.indexOf(group) + 1 < all.length) {
        next(group);
      } else if (form.requestSubmit) {
        form.requestSubmit();
      } else {
        form.submit();
      }
      return;
    }
    if (!/^[0-9]$/.test(event.key)) { return; }
    var box = input.closest("fieldset.app-question");
    var digit = parseInt(event.key, 10);
    var options = Array.prototype.filter.call(
      group.querySelectorAll('input[type="radio"], input[type="checkbox"]'),
      function (option) { return option.value !== "other"; });
    var choice = box.dataset.type === "rating" ?
      options.filter(function (option) { return option.value === String(digit); })[0] :
      options[digit - 1];
    event.preventDefault();
    if (!choice) { return; }
    if (choice.type === "checkbox") {
      choice.checked = !choice.checked;
    } else {
      choice.checked = true;
    }
    choice.focus();
    choice.dispatchEvent(new Event("change", { bubbles: true }));
    if (choice.type === "radio") { next(group); }
  });

  var all = groups();
  var hasError = form.querySelector("fieldset.app-invalid");
  if (hasError) {
    focusFirst(hasError);
  } else if (all.length) {
    focusFirst(all[0]);
  }

  if (form.dataset.entry === "kiosk") {
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) { form.reset(); }
    });
  }
}());
