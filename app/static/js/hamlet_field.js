/* The hamlet field of the sign-up form (templates/auth/register.html): when a commune is
   chosen in the commune picker, its hamlets are asked from GET /api/v1/units?parent=CODE and
   offered in the field's <select>; the field stays hidden for a commune without hamlets.
   Without this script the field shows when the page comes back with a commune chosen, and
   the account page offers it later. */
(function () {
  "use strict";
  if (!window.fetch) return;
  var field = document.querySelector("[data-hamlet-field]");
  if (!field) return;
  var form = field.closest("form");
  var select = field.querySelector("select");
  var none = select.options[0] ? select.options[0].text : "";
  var asked = 0;

  function fill(hamlets) {
    while (select.options.length) select.remove(0);
    select.add(new Option(none, ""));
    hamlets.forEach(function (hamlet) {
      select.add(new Option(hamlet.name, String(hamlet.code)));
    });
    field.hidden = hamlets.length === 0;
  }

  function chosen(code) {
    var mine = ++asked;
    if (!/^[0-9]{1,10}$/.test(code)) {
      fill([]);
      return;
    }
    fetch(field.dataset.api + "?parent=" + code, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (hamlets) { if (mine === asked) fill(hamlets); })
      .catch(function () { if (mine === asked) fill([]); });
  }

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.name === "unit") chosen(target.value);
  });
})();
