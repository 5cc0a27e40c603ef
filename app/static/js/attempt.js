// The attempt page with JavaScript: every answer is saved as it is chosen, through the API,
// with a per-question counter (seq) so that an older write never replaces a newer one; the
// countdown follows the server's remaining time; at zero the form is submitted.
// Without JavaScript the same form posts to the server, so nothing here is required.
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  var timer = document.getElementById("timer");
  if (!form || !timer) { return; }
  var attemptId = timer.dataset.attempt;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var countdown = document.getElementById("countdown");
  var status = document.getElementById("save-status");
  var warning = document.getElementById("one-minute");
  var endsAt = Date.now() + parseFloat(timer.dataset.remaining) * 1000;
  var submitted = false;
  var pending = 0;

  function sync(remaining) {
    if (typeof remaining === "number") { endsAt = Date.now() + remaining * 1000; }
  }

  function tick() {
    var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
    countdown.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    if (left <= 60) { warning.classList.remove("d-none"); }
    if (left === 0 && !submitted) { submitNow(); return; }
    window.setTimeout(tick, 500);
  }

  function submitNow() {
    submitted = true;
    var action = document.createElement("input");
    action.type = "hidden"; action.name = "action"; action.value = "submit";
    form.appendChild(action);
    form.submit();
  }

  function save(fieldset) {
    var position = fieldset.dataset.position;
    var seq = parseInt(fieldset.dataset.seq || "0", 10) + 1;
    fieldset.dataset.seq = String(seq);
    var hidden = form.querySelector('input[name="seq-' + position + '"]');
    if (hidden) { hidden.value = String(seq); }
    var choices = Array.prototype.map.call(
      fieldset.querySelectorAll("input:checked"), function (input) { return input.value; });
    pending += 1;
    status.textContent = status.dataset.saving || "…";
    fetch("/api/v1/attempts/" + attemptId + "/answers/" + position, {
      method: "PUT",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({choices: choices, seq: seq})
    }).then(function (response) {
      return response.json().then(function (body) { return {ok: response.ok, status: response.status, body: body}; });
    }).then(function (result) {
      pending -= 1;
      if (result.ok) {
        sync(result.body.remaining_s);
        status.textContent = pending ? "…" : "✓";
      } else if (result.status === 409) {
        window.location.reload();  // the attempt is over: the server shows the result
      } else {
        status.textContent = "!";
      }
    }).catch(function () {
      pending -= 1;
      status.textContent = "!";  // offline: the form's own save button still works
    });
  }

  form.addEventListener("change", function (event) {
    var fieldset = event.target.closest("fieldset[data-position]");
    if (fieldset) { save(fieldset); }
  });
  form.addEventListener("submit", function () { submitted = true; });
  tick();
}());
