/* Monthly trend chart of the customer page and the account review: revenue bars and gross margin
   (and purchases only, on the customer's scorecard: data without gross_margin). */
(function () {
  "use strict";
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
    new Chart(canvas, {
      data: { labels: rows.map(function (r) { return monthLabel(r.month); }), datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
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
  }
  // Printing (account review): show the monthly figures folded under "Figures".
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.print-open").forEach(function (d) { d.open = true; });
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
