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

  // Every axis starts at zero, so a change reads at its true size (a whale peak axis from 610,000
  // made a 2.6% dip look like a fall).
  var fromZero = { scales: { y: { beginAtZero: true } } };
  line("history-counts", perSegment(data.counts), fromZero);
  line("history-profit", perSegment(data.net_profit_share), fromZero);
  line("history-revenue", perSegment(data.revenue_share), fromZero);
  var retention = document.getElementById("history-retention");
  var money = new Intl.NumberFormat((retention && retention.dataset.locale) || "en-US", {
    style: "currency", currency: (retention && retention.dataset.currency) || "USD", maximumFractionDigits: 0,
  });
  line(
    "history-retention",
    [
      // Core retention: the share of the previous run's core customers still core (none for the first
      // run): a thick line with marked points on its own 0-100% axis, on the left.
      { label: "Core retention (%)", data: data.core_retention, borderColor: "#198754", backgroundColor: "#198754",
        borderWidth: 3, pointRadius: 5, yAxisID: "y", spanGaps: true },
      { label: "Whale peak", data: data.whale_peak, borderColor: "#6c757d", backgroundColor: "#6c757d",
        borderDash: [6, 4], pointRadius: 3, yAxisID: "y1" },
    ],
    {
      scales: {
        y: { min: 0, max: 100, position: "left", title: { display: true, text: "Core retention (%)" },
          ticks: { callback: function (v) { return v + "%"; } } },
        y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false },
          title: { display: true, text: "Whale peak" }, ticks: { callback: function (v) { return money.format(v); } } },
      },
      plugins: {
        legend: { position: "bottom" },
        tooltip: { callbacks: { label: function (c) {
          if (c.parsed.y === null) return c.dataset.label + ": none (no earlier run)";
          return c.dataset.yAxisID === "y1" ? "Whale peak: " + money.format(c.parsed.y) : "Core retention: " + c.parsed.y + "%";
        } } },
      },
    }
  );
  document.body.dataset.historyCharts = "ready";
})();
