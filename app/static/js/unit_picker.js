/* The commune picker (templates/macros/units.html): as the person types, the communes whose
   name has the typed words (diacritics and case ignored: the server's rule, asked through
   GET /api/v1/units?q=) are offered as radio buttons, and their count is announced. Only the
   communes of the page's own list (its <select>) are offered. Without this script the
   picker's "Find" button does the same on the server. */
(function () {
  "use strict";
  if (!window.fetch) return;

  function setUp(picker) {
    var name = picker.dataset.name;
    var input = picker.querySelector('input[type="search"]');
    var status = picker.querySelector("[data-unit-status]");
    var results = picker.querySelector("[data-unit-results]");
    var list = picker.querySelector("[data-unit-list]");
    var select = list.querySelector("select");
    var allowed = {};
    Array.prototype.forEach.call(select.options, function (option) {
      if (option.value) allowed[option.value] = true;
    });
    var timer = null;
    var asked = 0;

    function say(template, count, query) {
      status.textContent = template.replace("{n}", String(count)).replace("{q}", query);
    }

    function showList() {
      results.hidden = true;
      list.hidden = false;
      select.disabled = false;
      Array.prototype.forEach.call(results.querySelectorAll(".form-check"), function (row) {
        row.parentNode.removeChild(row);
      });
    }

    function offer(units, query) {
      Array.prototype.forEach.call(results.querySelectorAll(".form-check"), function (row) {
        row.parentNode.removeChild(row);
      });
      units.forEach(function (unit) {
        var row = document.createElement("div");
        row.className = "form-check app-unit-choice";
        var radio = document.createElement("input");
        radio.type = "radio";
        radio.className = "form-check-input";
        radio.name = name;
        radio.value = String(unit.code);
        radio.id = name + "-" + unit.code;
        radio.required = select.required;
        radio.checked = select.value === radio.value;
        var label = document.createElement("label");
        label.className = "form-check-label";
        label.htmlFor = radio.id;
        label.textContent = unit.name;
        row.appendChild(radio);
        row.appendChild(label);
        results.appendChild(row);
      });
      results.hidden = false;
      list.hidden = true;
      select.disabled = true; // the radio buttons carry the choice
      say(picker.dataset.msgFound, units.length, query);
    }

    function search() {
      var query = input.value.replace(/\s+/g, " ").trim();
      var mine = ++asked;
      if (!query) {
        status.textContent = "";
        showList();
        return;
      }
      var url = picker.dataset.api + "&q=" + encodeURIComponent(query);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (units) {
          if (mine !== asked) return; // a later search has been asked
          var offered = units.filter(function (unit) { return allowed[String(unit.code)]; });
          if (offered.length) {
            offer(offered, query);
          } else {
            showList();
            say(picker.dataset.msgNone, 0, query);
          }
        })
        .catch(function () {
          if (mine !== asked) return;
          showList();
          status.textContent = picker.dataset.msgFailed;
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 250);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { // the list follows the typing: no need to send the form
        event.preventDefault();
        window.clearTimeout(timer);
        search();
      }
    });
    results.addEventListener("change", function (event) {
      if (event.target.name === name) select.value = event.target.value;
    });
    var checked = results.querySelector("input:checked"); // the search step's choice
    if (checked) select.value = checked.value;
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-unit-picker]"), setUp);
})();
