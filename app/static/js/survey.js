// Survey pages with JavaScript: show_if applies as soon as an answer changes, and an anonymous
// survey keeps its draft in this browser only (never on the server). Without JavaScript the
// server decides which questions show, so nothing here is required.
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form) { return; }
  var anonymous = form.dataset.anonymous === "true";
  var storageKey = "survey-draft:" + form.dataset.survey;

  function chosen(key) {
    var box = form.querySelector('fieldset[data-key="' + key + '"]');
    if (box && box.hidden) { return []; }  // a hidden question counts as unanswered
    return Array.prototype.map.call(
      form.querySelectorAll('[name="a-' + key + '"]'),
      function (input) {
        if ((input.type === "radio" || input.type === "checkbox") && !input.checked) { return null; }
        return parseInt(input.value, 10);
      }).filter(function (value) { return value !== null && !isNaN(value); });
  }

  function apply() {
    Array.prototype.forEach.call(form.querySelectorAll("fieldset[data-show-if]"), function (box) {
      var conditions = JSON.parse(box.dataset.showIf);
      var show = Object.keys(conditions).every(function (key) {
        return chosen(key).some(function (value) { return conditions[key].indexOf(value) >= 0; });
      });
      box.hidden = !show;
      Array.prototype.forEach.call(box.querySelectorAll("input, textarea, select"), function (input) {
        input.disabled = !show;
      });
      var note = document.getElementById("c-" + box.dataset.key);  // what shows it, above it
      if (note) { note.hidden = !show; }
    });
  }

  function save() {
    if (!anonymous || !window.localStorage) { return; }
    var data = {};
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || input.name.indexOf("a-") !== 0 || input.disabled) { return; }
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) { return; }
      (data[input.name] = data[input.name] || []).push(input.value);
    });
    try { window.localStorage.setItem(storageKey, JSON.stringify(data)); } catch (e) { /* full */ }
  }

  function restore() {
    if (!anonymous || !window.localStorage) { return; }
    var data;
    try { data = JSON.parse(window.localStorage.getItem(storageKey) || "{}"); } catch (e) { return; }
    Object.keys(data).forEach(function (name) {
      var inputs = form.querySelectorAll('[name="' + name + '"]:not([type="hidden"])');
      Array.prototype.forEach.call(inputs, function (input) {
        if (input.type === "radio" || input.type === "checkbox") {
          if (!form.querySelector('[name="' + name + '"]:checked')) {
            input.checked = data[name].indexOf(input.value) >= 0;
          }
        } else if (!input.value) {
          input.value = data[name][0] || "";
        }
      });
    });
  }

  restore();
  apply();
  form.addEventListener("change", function () { apply(); save(); });
  form.addEventListener("input", save);
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.value === "submit" && window.localStorage) {
      window.localStorage.removeItem(storageKey);
    }
  });
}());
