// The attempt page with JavaScript. Without it the same form posts to the server, so nothing
// here is required.
//
// Autosave that never loses an answer: each answer chosen is queued, in the page and in
// localStorage (keyed by attempt), with a per-question counter (seq) one above any the server
// or the queue has seen, until the server confirms it. The server keeps the highest seq, so a
// re-send changes nothing and an older answer never replaces a newer one. Offline or on a
// 5xx (or 429) the queue is retried with backoff, and at once when the browser is back online;
// a 4xx is not retried: its reason is shown beside the question. On load, answers left in the
// queue by an earlier visit are put back and re-sent before the countdown resumes. Submitting
// lists the blank questions and a missing prediction first, then waits for the queue, or
// says which answers are not saved.
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
  var panel = document.getElementById("confirm-submit");
  var prediction = document.getElementById("prediction");
  var words = form.dataset;
  var storageKey = "attempt-answers-" + attemptId;
  var endsAt = Date.now() + parseFloat(timer.dataset.remaining) * 1000;
  var submitted = false;
  var queue = {};      // position -> {choices, seq}: not yet confirmed by the server
  var kept = {};       // refused for the session (expired form, signed out): for the next visit
  var sending = {};    // position -> seq in flight
  var states = {};     // position -> "saving" | "saved" | "retry" | "offline" | "refused"
  var failures = 0;
  var retryTimer = null;
  var unsavedShown = false;  // told what is unsaved: "Vẫn nộp bài" then posts the form as is

  // ------------------------------------------------------------------------------ storage

  function load() {
    try { return JSON.parse(window.localStorage.getItem(storageKey) || "{}") || {}; }
    catch (e) { return {}; }
  }

  function store() {
    try {
      var all = Object.assign({}, kept, queue);
      if (Object.keys(all).length) {
        window.localStorage.setItem(storageKey, JSON.stringify(all));
      } else {
        window.localStorage.removeItem(storageKey);
      }
    } catch (e) { /* private mode or full: the page's own queue still holds the answers */ }
  }

  // ------------------------------------------------------------------------------- status

  function fieldsetOf(position) {
    return form.querySelector('fieldset[data-position="' + position + '"]');
  }

  function show(position, state, reason) {
    states[position] = state;
    var line = document.getElementById("save-q-" + position);
    if (line) {
      line.textContent = {
        saving: words.saving, saved: words.saved, retry: words.retrying,
        offline: words.offline, refused: words.refused + " " + (reason || "")
      }[state];
      line.classList.toggle("text-danger", state === "refused" || state === "offline");
    }
    var all = Object.keys(states).map(function (p) { return states[p]; });
    var worst = ["refused", "offline", "retry", "saving", "saved"].filter(function (s) {
      return all.indexOf(s) !== -1;
    })[0];
    status.textContent = {
      refused: words.refused.replace(/:$/, ""), offline: words.offline, retry: words.retrying,
      saving: words.saving, saved: words.saved
    }[worst] || "";
  }

  function label(position) {
    var span = fieldsetOf(position).querySelector("legend span");
    return span ? span.textContent.replace(/\.\s*$/, "") : position;
  }

  // -------------------------------------------------------------------------------- queue

  function choicesOf(fieldset) {
    return Array.prototype.map.call(
      fieldset.querySelectorAll("input:checked"), function (input) { return input.value; });
  }

  function setSeq(position, seq) {
    fieldsetOf(position).dataset.seq = String(seq);
    var hidden = form.querySelector('input[name="seq-' + position + '"]');
    if (hidden) { hidden.value = String(seq); }  // the form's own post stays newer than this
  }

  function enqueue(fieldset) {
    var position = fieldset.dataset.position;
    var seq = parseInt(fieldset.dataset.seq || "0", 10) + 1;
    setSeq(position, seq);
    queue[position] = {choices: choicesOf(fieldset), seq: seq};
    store();
    show(position, "saving");
    flush();
  }

  function flush() {
    if (retryTimer) { window.clearTimeout(retryTimer); retryTimer = null; }
    Object.keys(queue).forEach(function (position) {
      if (!(position in sending)) { send(position); }
    });
  }

  function later() {
    if (retryTimer || submitted) { return; }
    failures += 1;
    var delay = Math.min(30000, 1000 * Math.pow(2, failures - 1)) * (0.8 + Math.random() * 0.4);
    retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, delay);
  }

  function settled() { waiters.splice(0).forEach(function (w) { w(); }); }
  var waiters = [];

  function send(position) {
    var item = queue[position];
    sending[position] = item.seq;
    // A request that hangs (a dead connection on a moving phone) is given up after 15 s and
    // retried like any failure, so it never blocks the queue.
    var abort = window.AbortController ? new AbortController() : null;
    var limit = abort && window.setTimeout(function () { abort.abort(); }, 15000);
    return fetch("/api/v1/attempts/" + attemptId + "/answers/" + position, {
      method: "PUT",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({choices: item.choices, seq: item.seq}),
      signal: abort ? abort.signal : undefined
    }).then(function (response) {
      window.clearTimeout(limit);
      return response.json().catch(function () { return {}; }).then(function (body) {
        return {status: response.status, body: body};
      });
    }).then(function (result) {
      delete sending[position];
      var current = queue[position];
      if (result.status >= 200 && result.status < 300) {
        failures = 0;
        sync(result.body.remaining_s);
        if (current && current.seq === item.seq) {
          delete queue[position];
          store();
          show(position, "saved");
        } else if (current) {
          send(position);  // a newer answer was chosen meanwhile
        }
      } else if (result.status === 409) {
        queue = {}; store();
        window.location.reload();  // the attempt is over: the server shows the result
      } else if (result.status >= 500 || result.status === 429) {
        show(position, "retry");
        later();
      } else {
        // Refused (400 expired form, 401 signed out, 403, 404, 422): retrying cannot help.
        // A refusal of the session keeps the answer stored, to be sent again after a reload.
        if (current && current.seq === item.seq) {
          if (result.status === 400 || result.status === 401) { kept[position] = current; }
          delete queue[position];
          store();
        }
        var reason = result.body && result.body.error && result.body.error.message;
        show(position, "refused", reason || String(result.status));
      }
      settled();
    }, function () {
      window.clearTimeout(limit);
      delete sending[position];
      show(position, navigator.onLine === false ? "offline" : "retry");
      later();
      settled();
    });
  }

  function whenSettled() {
    return new Promise(function (resolve) { waiters.push(resolve); });
  }

  // Resolves true once the queue is empty, false when it is still not after `ms`.
  function drained(ms) {
    var give = Date.now() + ms;
    function check() {
      if (!Object.keys(queue).length) { return Promise.resolve(true); }
      if (Date.now() > give) { return Promise.resolve(false); }
      flush();
      return Promise.race([whenSettled(), wait(1000)]).then(check);
    }
    return check();
  }

  function wait(ms) { return new Promise(function (r) { window.setTimeout(r, ms); }); }

  // ---------------------------------------------------------------------------- countdown

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

  function submitNow() {  // time is up: the server takes what this form holds, no questions
    submitted = true;
    queue = {}; kept = {}; store();  // the form carries every answer, with a newer seq
    ["action", "confirmed"].forEach(function (name) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = name === "action" ? "submit" : "1";
      form.appendChild(input);
    });
    form.submit();
  }

  // ------------------------------------------------------------------------------- submit

  function part(name) { return panel.querySelector('[data-part="' + name + '"]'); }

  function markPrediction(missing) {
    if (!prediction) { return; }
    var message = document.getElementById("prediction-error");
    prediction.classList.toggle("is-invalid", missing);
    if (missing) {
      prediction.setAttribute("aria-invalid", "true");
      prediction.setAttribute("aria-describedby", "prediction-error prediction-hint");
      message.textContent = words.predictionMissing;
    } else {
      prediction.removeAttribute("aria-invalid");
      prediction.setAttribute("aria-describedby", "prediction-hint");
      message.textContent = "";
    }
  }

  function confirmOrSubmit(event) {
    var button = event.submitter;
    if (submitted || !button || button.value !== "submit") { return; }  // "Lưu" posts as is
    event.preventDefault();
    var confirmed = button.id === "confirm-button";
    var blank = Array.prototype.filter.call(
      form.querySelectorAll("fieldset[data-position]"),
      function (fieldset) { return !fieldset.querySelector("input:checked"); }
    ).map(function (fieldset) { return fieldset.dataset.position; });
    var missing = !!prediction && !prediction.value.trim();
    markPrediction(missing);
    panel.querySelectorAll("li[data-position]").forEach(function (li) {
      li.hidden = blank.indexOf(li.dataset.position) === -1;
    });
    part("unanswered").hidden = !blank.length;
    part("prediction").hidden = !missing;
    part("unsaved").hidden = true;
    part("waiting").hidden = true;
    part("choice").hidden = missing;
    if (missing || (blank.length && !confirmed)) {
      panel.hidden = false;
      if (missing) { prediction.focus(); } else { panel.focus(); }
      return;
    }
    if (confirmed && unsavedShown) { post(); return; }  // the form itself carries every answer
    panel.hidden = false;
    part("waiting").hidden = false;
    part("choice").hidden = true;
    drained(10000).then(function (ok) {
      part("waiting").hidden = true;
      if (ok) { post(); return; }
      part("unsaved").querySelector("span").textContent = Object.keys(queue).map(label).join(", ");
      part("unsaved").hidden = false;
      unsavedShown = true;
      part("choice").hidden = navigator.onLine === false;  // offline, a post would be lost too
      panel.focus();
    });
  }

  function post() {
    document.getElementById("confirmed").disabled = false;
    submitted = true;
    var action = document.createElement("input");
    action.type = "hidden"; action.name = "action"; action.value = "submit";
    form.appendChild(action);
    form.submit();
  }

  // -------------------------------------------------------------------------------- start

  form.addEventListener("change", function (event) {
    var fieldset = event.target.closest("fieldset[data-position]");
    if (fieldset) { enqueue(fieldset); }
  });
  form.addEventListener("submit", confirmOrSubmit);
  document.getElementById("keep-answering").addEventListener("click", function () {
    panel.hidden = true;
    var first = panel.querySelector("li[data-position]:not([hidden]) a");
    if (first) { document.querySelector(first.getAttribute("href")).scrollIntoView(); }
  });
  window.addEventListener("online", function () { failures = 0; flush(); });
  window.addEventListener("offline", function () {
    Object.keys(queue).forEach(function (p) { if (!(p in sending)) { show(p, "offline"); } });
  });

  // Answers an earlier visit left unconfirmed: put back on the page (unless the server has
  // a newer one), then re-sent; the countdown resumes once they are settled (or have failed).
  var left = load();
  Object.keys(left).forEach(function (position) {
    var fieldset = fieldsetOf(position);
    var item = left[position];
    if (!fieldset || !item || typeof item.seq !== "number") { return; }
    if (item.seq <= parseInt(fieldset.dataset.seq || "0", 10)) { return; }  // server is newer
    fieldset.querySelectorAll("input[name]").forEach(function (input) {
      if (input.type === "radio" || input.type === "checkbox") {
        input.checked = item.choices.indexOf(input.value) !== -1;
      }
    });
    setSeq(position, item.seq);
    queue[position] = {choices: item.choices, seq: item.seq};
    show(position, "saving");
  });
  store();
  document.getElementById("countdown-box").hidden = false;
  var resent = Object.keys(queue).map(send);
  Promise.all(resent.map(function (p) { return p.catch(function () {}); })).then(tick);
}());
