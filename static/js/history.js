/* History page: line charts over the published runs (embedded with json_script). Chart.js is served
   by the project (static/vendor). Segment colours match the badges. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var COLORS = { core: "#198754", service_drain: "#fd7e14", opportunistic: "#0d6efd", marginal: "#6c757d" };
  var source = document.getElementById("history-data");
  if (!source) return;
  var data = JSON.parse(source.textContent);

  function perSegment(values) {
    return Object.keys(values).map(function (s) {
      return { label: data.labels_segments[s], data: values[s], borderColor: COLORS[s], backgroundColor: COLORS[s], tension: 0.2 };
    });
  }

  function line(id, datasets, extra) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    canvas.chart = new Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: datasets },
      options: Object.assign({ plugins: { legend: { position: "bottom" } } }, extra || {}),
    });
  }

  line("history-counts", perSegment(data.counts));
  line("history-profit", perSegment(data.net_profit_share));
  line("history-revenue", perSegment(data.revenue_share));
  line(
    "history-retention",
    [
      { label: "Core retention (%)", data: data.core_retention, borderColor: "#198754", yAxisID: "y", spanGaps: true },
      { label: "Whale peak", data: data.whale_peak, borderColor: "#212529", yAxisID: "y1" },
    ],
    { scales: { y: { min: 0, max: 100, position: "left" }, y1: { position: "right", grid: { drawOnChartArea: false } } } }
  );
  document.body.dataset.historyCharts = "ready";
})();
