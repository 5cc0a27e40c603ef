// A form marked data-busy shows its progress bar once sent: an import of hundreds of accounts
// takes up to a minute, and the page should say it is working (without JavaScript the browser's
// own loading indicator does).
(function () {
  "use strict";
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var progress = form.querySelector("[hidden]");
      if (progress) progress.hidden = false;
      var button = form.querySelector("[type=submit]");
      if (button) button.setAttribute("aria-disabled", "true");
    });
  });
})();
