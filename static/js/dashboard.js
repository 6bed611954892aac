/* Manager dashboard charts: the value/profit quadrant (points fetched as JSON, cached per run on the
   server) and the whale curve (embedded with json_script). Chart.js is served by the project. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function quadrant() {
    var canvas = document.getElementById("quadrant-chart");
    if (!canvas) return;
    var customerUrl = canvas.dataset.customerUrl;
    fetch(canvas.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var datasets = data.datasets.map(function (d) {
          return {
            label: d.label + " (" + d.points.length + ")",
            data: d.points.map(function (p) { return { x: p[0], y: p[1], id: p[2], name: p[3] }; }),
            backgroundColor: d.color + "b3",
            borderColor: d.color,
            pointRadius: d.points.length > 5000 ? 1.5 : 3,
            pointHoverRadius: 6,
          };
        });
        var chart = new Chart(canvas, {
          type: "scatter",
          data: { datasets: datasets },
          options: {
            parsing: false,
            scales: {
              x: { min: 0, max: 1, title: { display: true, text: "Value score" } },
              y: { min: 0, max: 1, title: { display: true, text: "Profit score" } },
            },
            plugins: {
              legend: { position: "bottom" },
              tooltip: {
                callbacks: {
                  label: function (ctx) {
                    var p = ctx.raw;
                    return p.name + " (" + p.id + "): value " + p.x.toFixed(2) + ", profit " + p.y.toFixed(2);
                  },
                },
              },
            },
            onHover: function (evt, elements) {
              evt.native.target.style.cursor = elements.length ? "pointer" : "default";
            },
            onClick: function (evt, elements) {
              if (!elements.length) return;
              var el = elements[0];
              var p = chart.data.datasets[el.datasetIndex].data[el.index];
              // ERP ids travel with "~" as "~7E" and "/" as "~2F" (stratify/tenancy/converters.py).
              var id = String(p.id).replace(/~/g, "~7E").replace(/\//g, "~2F");
              window.location.href = customerUrl.replace("__ID__", encodeURIComponent(id));
            },
          },
        });
        canvas.dataset.ready = "1";
      });
  }

  function whale() {
    var canvas = document.getElementById("whale-chart");
    var source = document.getElementById("whale-data");
    if (!canvas || !source) return;
    var data = JSON.parse(source.textContent);
    if (!data.points.length) return;
    var datasets = [{
      label: "Cumulative net profit (% of total)",
      data: data.points.map(function (p) { return { x: p[0], y: p[1] }; }),
      borderColor: "#0d6efd",
      backgroundColor: "#0d6efd33",
      pointRadius: 0,
      fill: true,
      showLine: true,
      tension: 0,
    }];
    if (data.peak) {
      datasets.push({
        label: "Peak: " + data.peak.pct_of_total + "% with the top " + data.peak.customers_pct + "% of customers",
        data: [{ x: data.peak.customers_pct, y: data.peak.pct_of_total }],
        borderColor: "#dc3545",
        backgroundColor: "#dc3545",
        pointRadius: 6,
        pointStyle: "triangle",
        showLine: false,
      });
    }
    new Chart(canvas, {
      type: "scatter",
      data: { datasets: datasets },
      options: {
        parsing: false,
        scales: {
          x: { min: 0, max: 100, title: { display: true, text: "Customers ranked by net profit (%)" } },
          y: { title: { display: true, text: "Cumulative net profit (% of total)" } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  function start() { quadrant(); whale(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
