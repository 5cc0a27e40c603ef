// The check against automated entries (app/challenge.py): with JavaScript, the ALTCHA widget
// solves the page's proof-of-work challenge in a Web Worker and posts it as "altcha"; the sum
// in words shown to pages without JavaScript is taken away (its inputs are not sent).
(function () {
  "use strict";
  if (!window.$altcha || !window.Worker || !window.crypto || !window.crypto.subtle) return;
  document.querySelectorAll(".app-challenge[data-altcha-challenge]").forEach(function (box) {
    var worker = box.dataset.altchaWorker;
    window.$altcha.algorithms.set("PBKDF2/SHA-256", function () {
      return new Worker(worker);
    });
    window.$altcha.i18n.set("vi", {
      label: box.dataset.altchaLabel,
      verifying: box.dataset.altchaVerifying,
      waitAlert: box.dataset.altchaVerifying,
      verified: box.dataset.altchaVerified,
      error: box.dataset.altchaError,
      expired: box.dataset.altchaError,
      verificationRequired: box.dataset.altchaLabel,
      footer: "ALTCHA",
      ariaLinkLabel: "ALTCHA"
    });
    var widget = document.createElement("altcha-widget");
    widget.setAttribute("name", "altcha");
    widget.setAttribute("language", "vi");
    widget.setAttribute("auto", "onload");
    widget.setAttribute("challenge", box.dataset.altchaChallenge);
    var text = box.querySelector(".app-challenge-text");
    if (text) text.remove();
    box.appendChild(widget);
  });
})();
