/* Profit centers page: the dimension's whale curve (cumulative net profit along its values, highest
   first), embedded with json_script. Chart.js is served by the project. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var canvas = document.getElementById("profit-whale-chart");
  var source = document.getElementById("profit-whale-data");
  if (!canvas || !source) return;
  var data = JSON.parse(source.textContent);
  if (!data.points.length) return;
  var money = new Intl.NumberFormat(canvas.dataset.locale || "en-US", {
    style: "currency", currency: canvas.dataset.currency || "USD", maximumFractionDigits: 0,
  });
  var datasets = [{
    label: "Cumulative net profit",
    data: data.points,
    borderColor: "#0d6efd",
    backgroundColor: "#0d6efd33",
    pointRadius: data.points.length > 60 ? 0 : 2,
    fill: true,
    tension: 0,
  }];
  if (data.peak_at > 0) {
    var peak = data.points.map(function (v, i) { return i === data.peak_at - 1 ? v : null; });
    datasets.push({ label: "Peak", data: peak, borderColor: "#dc3545", backgroundColor: "#dc3545",
      pointRadius: 6, pointStyle: "triangle", showLine: false });
  }
  new Chart(canvas, {
    type: "line",
    data: { labels: data.labels, datasets: datasets },
    options: {
      scales: {
        x: { title: { display: true, text: "Values, highest net profit first" }, ticks: { autoSkip: true, maxTicksLimit: 12 } },
        // From zero: the peak and the drop after it read at their true size.
        y: { beginAtZero: true, title: { display: true, text: "Cumulative net profit" }, ticks: { callback: function (v) { return money.format(v); } } },
      },
      plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + money.format(c.parsed.y); } } } },
    },
  });
})();
