/* Manager dashboard charts: the value/profit quadrant (points fetched as JSON, cached per run on the
   server) and the whale curve (embedded with json_script). Chart.js is served by the project. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  // Scores run from 0 to 1: the axis leaves a margin on both sides and labels only 0, 0.2, ... 1.
  function unitAxis(title) {
    return {
      min: -0.04,
      max: 1.04,
      title: { display: true, text: title },
      afterBuildTicks: function (scale) {
        scale.ticks = [0, 0.2, 0.4, 0.6, 0.8, 1].map(function (v) { return { value: v }; });
      },
      ticks: { callback: function (v) { return Number(v).toFixed(1); } },
    };
  }

  // The model's thresholds as dashed lines: right of the vertical one, the top share by value score
  // (core, service drain); above the horizontal one, the top share by profit score (core,
  // opportunistic).
  var THRESHOLD_COLOR = "#212529";
  function thresholdLines(t) {
    return {
      id: "thresholds",
      afterDatasetsDraw: function (chart) {
        var ctx = chart.ctx, area = chart.chartArea, x = chart.scales.x, y = chart.scales.y;
        ctx.save();
        ctx.strokeStyle = THRESHOLD_COLOR;
        ctx.fillStyle = THRESHOLD_COLOR;
        ctx.lineWidth = 1.5;
        ctx.setLineDash([6, 4]);
        ctx.font = "12px system-ui, sans-serif";
        if (t.value_line != null) {
          var px = x.getPixelForValue(t.value_line);
          ctx.beginPath(); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
          ctx.textAlign = "left";
          ctx.fillText("top " + Math.round(t.value_top_share * 100) + "% by value →", px + 4, area.bottom - 6);
        }
        if (t.profit_line != null) {
          var py = y.getPixelForValue(t.profit_line);
          ctx.beginPath(); ctx.moveTo(area.left, py); ctx.lineTo(area.right, py); ctx.stroke();
          ctx.textAlign = "left";
          ctx.fillText("↑ top " + Math.round(t.profit_top_share * 100) + "% by profit", area.left + 4, py - 6);
        }
        ctx.restore();
      },
    };
  }

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
          plugins: [thresholdLines(data.thresholds || {})],
          options: {
            parsing: false,
            // A margin around 0..1, so a customer at 1.0 is drawn whole inside the chart area.
            scales: { x: unitAxis("Value score"), y: unitAxis("Profit score") },
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
        // The nearest point along the curve, read in words.
        interaction: { mode: "nearest", axis: "x", intersect: false },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              title: function () { return ""; },
              label: function (ctx) {
                return "The top " + formatPct(ctx.raw.x) + " of customers earn " + formatPct(ctx.raw.y) + " of net profit";
              },
            },
          },
        },
      },
    });
    canvas.dataset.ready = "1";
  }

  function formatPct(v) {
    var rounded = Math.abs(v) >= 10 ? Math.round(v) : Math.round(v * 10) / 10;
    return rounded.toLocaleString() + "%";
  }

  function start() { quadrant(); whale(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
