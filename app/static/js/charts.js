// Draws every chart of the page from its JSON data block (no inline script: the CSP holds).
// plotly.js (this script's data-plotly) is fetched only when the first chart comes near the
// screen, and the charts are drawn one per task as they come near it: a phone that never
// scrolls to a chart never downloads nor runs 1.4 MB of script, and the page stays responsive
// while the charts it does show are drawn.
(function () {
  "use strict";
  var script = document.currentScript;
  var boxes = Array.prototype.slice.call(document.querySelectorAll(".app-chart[data-figure]"));
  if (!boxes.length) { return; }
  var queue = [];
  var loading = false;

  function draw(box) {
    var data = document.getElementById(box.dataset.figure);
    if (!data) { return; }
    var figure = JSON.parse(data.textContent);
    window.Plotly.newPlot(box, figure.data, figure.layout, {responsive: true, displayModeBar: false});
  }

  function drain() {
    var box = queue.shift();
    if (!box) { return; }
    draw(box);
    window.setTimeout(drain, 0);  // the next chart in a task of its own
  }

  function need(box) {
    queue.push(box);
    if (window.Plotly) {
      if (queue.length === 1) { window.setTimeout(drain, 0); }
      return;
    }
    if (loading) { return; }
    loading = true;
    var tag = document.createElement("script");
    tag.src = script.dataset.plotly;
    tag.onload = drain;
    document.head.appendChild(tag);
  }

  if (!("IntersectionObserver" in window)) { boxes.forEach(need); return; }
  var watch = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) { watch.unobserve(entry.target); need(entry.target); }
    });
  }, {rootMargin: "300px 0px"});
  boxes.forEach(function (box) { watch.observe(box); });
}());
