/* Monthly trend chart of the customer page and the account review: revenue bars and gross margin
   (and purchases only, on the customer's scorecard: data without gross_margin). */
(function () {
  "use strict";
  var chart = null;
  function start() {
    var canvas = document.getElementById("trend-chart");
    var source = document.getElementById("trend-data");
    if (!canvas || !source || typeof Chart === "undefined") return;
    var rows = JSON.parse(source.textContent);
    // Amounts in the tenant's currency and locale (data-currency / data-locale on the canvas).
    var locale = canvas.dataset.locale || "en-US";
    var money = new Intl.NumberFormat(locale, {
      style: "currency", currency: canvas.dataset.currency || "USD", maximumFractionDigits: 0, minimumFractionDigits: 0,
    });
    var monthName = new Intl.DateTimeFormat(locale, { month: "short", year: "numeric", timeZone: "UTC" });
    function monthLabel(month) {
      var parts = String(month).split("-");
      return parts.length === 2 ? monthName.format(new Date(Date.UTC(+parts[0], +parts[1] - 1, 1))) : month;
    }
    var datasets = [];
    var hasMargin = rows.length && rows[0].gross_margin !== undefined;
    datasets.push({
      type: "bar",
      label: hasMargin ? "Revenue" : "Purchases",
      data: rows.map(function (r) { return hasMargin ? r.revenue : r.purchases; }),
      backgroundColor: "#0d6efd99",
      order: 2,
    });
    if (hasMargin) {
      datasets.push({
        type: "line",
        label: "Gross margin",
        data: rows.map(function (r) { return r.gross_margin; }),
        borderColor: "#198754",
        backgroundColor: "#198754",
        pointRadius: 2,
        tension: 0.2,
        order: 1,
      });
    }
    chart = new Chart(canvas, {
      data: { labels: rows.map(function (r) { return monthLabel(r.month); }), datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        // Sharp on paper too.
        devicePixelRatio: Math.max(window.devicePixelRatio || 1, 2),
        scales: {
          x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } },
          y: { beginAtZero: true, ticks: { callback: function (value) { return money.format(value); } } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (ctx) { return ctx.dataset.label + ": " + money.format(ctx.parsed.y); },
            },
          },
        },
      },
    });
    // Tests and scripts wait on this rather than on the canvas, which exists before the chart.
    canvas.dataset.ready = "1";
  }
  // Printing: the print styles give the chart's box its paper height and its share of the page's
  // width; draw the chart again at its size on paper (PAPER_WIDTH: A4's and Letter's printable width
  // at 14 mm margins, in CSS pixels) before the page is laid out for paper — Chart.js does not
  // resize by itself for print — and at the screen size again afterwards. Chromium raises the media
  // change, other browsers beforeprint (where the print styles may not apply yet: the canvas is then
  // scaled to its printed box, whole, by the print styles).
  var PAPER_WIDTH = 680;
  function fit() {
    if (!chart) return;
    var printing = window.matchMedia && window.matchMedia("print").matches;
    var box = chart.canvas.parentElement;
    var main = box.closest("main") || document.body;
    if (!printing) { chart.resize(); return; }
    var share = Math.min(1, box.clientWidth / Math.max(main.clientWidth, 1));
    chart.resize(Math.round(Math.min(box.clientWidth, share * PAPER_WIDTH)), box.clientHeight);
  }
  window.addEventListener("beforeprint", fit);
  window.addEventListener("afterprint", fit);
  if (window.matchMedia) {
    var print = window.matchMedia("print");
    if (print.addEventListener) print.addEventListener("change", fit);
    else if (print.addListener) print.addListener(fit);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
