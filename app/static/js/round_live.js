// The officers' live view of a round: draws the best-score distribution that the server
// built with plotly (JSON in #score-chart-data). Without JavaScript the page shows the same
// figures as a table, so nothing here is required.
(function () {
  "use strict";
  var data = document.getElementById("score-chart-data");
  var target = document.getElementById("score-chart");
  if (!data || !target || !window.Plotly) { return; }
  var figure = JSON.parse(data.textContent);
  window.Plotly.newPlot(target, figure.data, figure.layout, {
    displayModeBar: false,
    responsive: true,
  });
}());
