// The progress page of a background job: asks for its state every two seconds and writes it
// (the words come from the server, in the reader's language); once the file is ready, shows
// the download link. Without JavaScript the page's "Check again" link does the same.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var label = document.getElementById("job-label");
  var bar = document.getElementById("job-bar");
  var waiting = document.getElementById("job-wait");
  var done = document.getElementById("job-done");
  var tries = 0;

  function show(state) {
    if (label.textContent !== state.label) label.textContent = state.label;
    if (bar) bar.value = state.progress;
    if (state.state === "done") {
      document.getElementById("job-filename").textContent = state.filename || "";
      done.hidden = false;
      if (bar) bar.hidden = true;
      if (waiting) waiting.hidden = true;
      return true;
    }
    if (state.state === "failed") {
      window.location.reload(); // the page says why, with its links
      return true;
    }
    return false;
  }

  function poll() {
    tries += 1;
    if (tries > 900) return; // half an hour: the "Check again" link is still there
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (state) {
        if (!show(state)) window.setTimeout(poll, 2000);
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }
  window.setTimeout(poll, 1000);
})();
