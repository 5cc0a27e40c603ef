// Draws every chart of the page from its JSON data block (no inline script: the CSP holds).
(function () {
  "use strict";
  if (!window.Plotly) { return; }
  Array.prototype.forEach.call(document.querySelectorAll(".app-chart[data-figure]"), function (box) {
    var data = document.getElementById(box.dataset.figure);
    if (!data) { return; }
    var figure = JSON.parse(data.textContent);
    window.Plotly.newPlot(box, figure.data, figure.layout, {responsive: true, displayModeBar: false});
  });
}());
