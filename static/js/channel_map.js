/* The supply chain and distribution channel map (issue 14): an Apache ECharts Sankey drawn with the
   SVG renderer (crisp on paper, its nodes are elements of the page), left to right: suppliers ->
   branches -> routes to market -> customer categories. Hover shows the figures, a click opens what is
   behind a node (or a flow's target); SVG and PNG export. Data: the JSON of #channel-map-data, the
   same body as GET /api/v1/tenants/<slug>/channel-map/. */
(function () {
  "use strict";
  var box = document.getElementById("channel-map");
  var source = document.getElementById("channel-map-data");
  if (!box || !source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var money = new Intl.NumberFormat(box.dataset.locale || "en-US", {
    style: "currency", currency: box.dataset.currency || "USD", maximumFractionDigits: 0
  });
  var number = new Intl.NumberFormat(box.dataset.locale || "en-US");
  var pct = function (x) { return x === null || x === undefined ? "–" : Math.round(x * 100) + "%"; };
  var byId = {};
  data.nodes.forEach(function (n) { byId[n.id] = n; });
  var KIND_COLORS = { supplier: "#6f42c1", branch: "#0d6efd", route: "#fd7e14", customer_group: "#198754" };

  // A flow's colour: grey when none of its revenue is the core's, green when all of it is.
  function coreColor(share) {
    var s = Math.max(0, Math.min(1, share || 0));
    var from = [173, 181, 189], to = [25, 135, 84];
    var c = from.map(function (f, i) { return Math.round(f + (to[i] - f) * s); });
    return "rgb(" + c.join(",") + ")";
  }
  function shares(obj, n) {
    return Object.keys(obj || {}).slice(0, n || 3).map(function (k) { return k + " " + pct(obj[k]); }).join(", ");
  }
  var LOSS = "#dc3545";
  var WEIGHT_WORDS = { revenue: "revenue", net_profit: "net profit" };
  function signed(amount) {
    var text = money.format(Number(amount));
    return Number(amount) < 0 ? "<span style='color:" + LOSS + "'>" + text + "</span>" : text;
  }
  // A flow (or node) whose weight is below zero cannot be drawn to scale: it is a red hairline, and
  // its tooltip says so with its figure.
  function belowZero(x) {
    if (!x.below_zero) return "";
    var w = WEIGHT_WORDS[data.weight] || data.weight;
    return "<br><strong style='color:" + LOSS + "'>" + (data.weight === "net_profit" ? "Loses " : "Below zero: ") +
      money.format(Math.abs(Number(x[data.weight]))) + "</strong> (" + w + " below zero: drawn as a hairline, left out of the widths)";
  }
  function figures(x) {
    return "Revenue " + signed(x.revenue) + "<br>Net profit " + signed(x.net_profit) +
      "<br>Lines " + number.format(x.lines) + " · customers " + number.format(x.customers) +
      "<br>Core share of revenue " + pct(x.core_share) +
      (Object.keys(x.ship_methods || {}).length ? "<br>Delivery: " + shares(x.ship_methods) : "") + belowZero(x);
  }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; });
  }
  var total = data.links.reduce(function (s, l) { return s + (l.value || 0); }, 0) || 1;
  // Each pair of columns carries the whole window once: a flow's share is of its own pair's total.
  var stageTotal = {};
  data.links.forEach(function (l) {
    var d = byId[l.source].depth;
    stageTotal[d] = (stageTotal[d] || 0) + Math.max(l.value || 0, 0);
  });
  // Flow labels (delivery methods): only on flows of at least EDGE_SHARE of their pair of columns,
  // once per source node for the same words, and none when the drawing is narrow (crowded).
  var EDGE_SHARE = 0.08, EDGE_MIN_WIDTH = 900;
  var edgeText = {};
  var seen = {};
  data.links.forEach(function (l, i) {
    var d = byId[l.source].depth;
    if (l.below_zero || !(l.value / (stageTotal[d] || 1) >= EDGE_SHARE)) return;
    var text = shares(l.ship_methods, 2);
    var key = l.source + "|" + text;
    if (!text || seen[key]) return;
    seen[key] = true;
    edgeText[i] = text;
  });
  var nodes = data.nodes.map(function (n) {
    return {
      name: n.id, depth: n.depth, value: Math.max(n.value, 0),
      itemStyle: { color: KIND_COLORS[n.kind] || "#6c757d" },
      label: { position: "right" }
    };
  });
  var links = data.links.map(function (l) {
    return {
      source: l.source, target: l.target, value: Math.max(l.value, total * 0.0005),
      lineStyle: l.below_zero ? { color: LOSS, opacity: 0.9 } : { color: coreColor(l.core_share), opacity: 0.55 }
    };
  });
  var NODE_GAP = 10;
  // The height a node's label may take without running over its neighbours': the node and a gap.
  function nodeRoom(index) {
    var model = chart && chart.getModel() && chart.getModel().getSeriesByIndex(0);
    var lay = model && model.getData().getItemLayout(index);
    return lay ? lay.dy + NODE_GAP : Infinity;
  }
  var chart = echarts.init(box, null, { renderer: "svg" });
  chart.setOption({
    animation: false,
    tooltip: {
      trigger: "item", confine: true,
      formatter: function (p) {
        if (p.dataType === "edge") {
          var l = data.links[p.dataIndex];
          return "<strong>" + esc(byId[l.source].label) + " → " + esc(byId[l.target].label) + "</strong><br>" + figures(l);
        }
        var n = byId[p.name];
        var html = "<strong>" + esc(n.label) + "</strong> <span class='text-muted'>(" + esc(n.kind.replace("_", " ")) + ")</span><br>" + figures(n);
        if (n.kind === "customer_group") {
          if (n.preferred_channel) html += "<br><strong>Buys mostly</strong> via " + esc(n.preferred_channel[0]) + " (" + pct(n.preferred_channel[1]) + " of lines)";
          if (n.preferred_ship_method) html += ", delivered by " + esc(n.preferred_ship_method[0]) + " (" + pct(n.preferred_ship_method[1]) + ")";
          if (Object.keys(n.through_partners || {}).length) html += "<br>Through partners: " + esc(shares(n.through_partners));
          var it = n.interactions || {};
          if (it.count) html += "<br>Interactions " + number.format(it.count) + ": " + esc(shares(it.by_kind, 4).replace(/ \d+%/g, "")) +
            "; opportunity flagged " + pct(it.opportunity_share);
        }
        if (n.url) html += "<br><em>Click to open</em>";
        return html;
      }
    },
    series: [{
      // The categories' labels (name, then how they buy) stand to the right of the last column.
      type: "sankey", left: 10, right: 210, top: 30, bottom: 10, nodeGap: NODE_GAP, nodeWidth: 16,
      layoutIterations: 32, nodeAlign: "justify", draggable: false, emphasis: { focus: "adjacency" },
      data: nodes, links: links,
      label: {
        fontSize: 11, lineHeight: 14, backgroundColor: "rgba(255,255,255,0.75)", padding: [1, 3],
        formatter: function (p) {
          var n = byId[p.name];
          var line = n.label;
          // A category's hints (how it buys) only where its node leaves them room: a small node's
          // three lines would run over its neighbours' (the table under the drawing has them all).
          var room = nodeRoom(p.dataIndex);
          if (n.kind === "customer_group" && n.preferred_channel && room >= 14 + 13) {
            line += "\n{hint|via " + n.preferred_channel[0] + " " + pct(n.preferred_channel[1]) +
              (n.preferred_ship_method ? " · " + n.preferred_ship_method[0] + " " + pct(n.preferred_ship_method[1]) : "") + "}";
            var kinds = Object.keys(n.through_partners || {});
            if (room >= 14 + 26 && kinds.length && n.through_partners[kinds[0]] >= 0.25 && kinds[0] !== String(n.preferred_channel[0]).toLowerCase()) {
              line += "\n{hint|through " + kinds[0] + "s " + pct(n.through_partners[kinds[0]]) + "}";
            }
          }
          return line;
        },
        rich: { hint: { fontSize: 10, lineHeight: 13, color: "#495057" } }
      },
      edgeLabel: {
        show: true, fontSize: 9, lineHeight: 11, color: "#343a40",
        formatter: function (p) {
          return box.clientWidth >= EDGE_MIN_WIDTH ? edgeText[p.dataIndex] || "" : "";
        }
      },
      // Flow labels that would still overlap one another are hidden.
      labelLayout: function (p) { return { hideOverlap: p.dataType === "edge" }; }
    }]
  });
  // Column titles above the drawing, each over its column's nodes (placed from the layout).
  var heads = document.getElementById("channel-map-columns");
  function placeHeads() {
    if (!heads) return;
    var model = chart.getModel().getSeriesByIndex(0);
    if (!model) return;
    var d = model.getData(), origin = model.layoutInfo || { x: 0, y: 0 }, xs = {};
    for (var i = 0; i < d.count(); i++) {
      var n = byId[d.getName(i)], lay = d.getItemLayout(i);
      if (!n || !lay) continue;
      if (xs[n.depth] === undefined || lay.x < xs[n.depth]) xs[n.depth] = lay.x;
    }
    Array.prototype.forEach.call(heads.children, function (span, depth) {
      if (xs[depth] !== undefined) span.style.left = (origin.x + xs[depth]) + "px";
    });
  }
  // A flow label that would run over a node's label or a bigger flow's label is hidden (ECharts'
  // hideOverlap compares the flow labels only among themselves): biggest flows first.
  function declutter() {
    var model = chart.getModel().getSeriesByIndex(0);
    if (!model) return;
    var nodeData = model.getData(), edgeData = model.getEdgeData(), taken = [], changed = false;
    function rectOf(text) {
      var r = text.getBoundingRect().clone();
      var m = text.getComputedTransform();
      if (m) r.applyTransform(m);
      return r;
    }
    function label(el) {
      var t = el && el.getTextContent && el.getTextContent();
      return t && !t.ignore && t.style && t.style.text ? t : null;
    }
    for (var i = 0; i < nodeData.count(); i++) {
      var t = label(nodeData.getItemGraphicEl(i));
      if (t) taken.push(rectOf(t));
    }
    var order = [];
    for (var j = 0; j < edgeData.count(); j++) order.push(j);
    order.sort(function (a, b) { return (data.links[b].value || 0) - (data.links[a].value || 0); });
    order.forEach(function (k) {
      var el = edgeData.getItemGraphicEl(k), t = label(el);
      if (!t) return;
      var r = rectOf(t);
      if (taken.some(function (x) { return x.intersect(r); })) {
        t.ignore = true; t.markRedraw(); changed = true;
      } else {
        taken.push(r);
      }
    });
    if (changed) chart.getZr().refresh();
  }
  // Drawn synchronously by setOption and by resize: titles and flow labels follow each drawing.
  function redraw(size) {
    if (size !== undefined) chart.resize(size || undefined);
    placeHeads();
    declutter();
  }
  redraw();
  chart.on("click", function (p) {
    var target = p.dataType === "edge" ? byId[data.links[p.dataIndex].target] : byId[p.name];
    if (target && target.url) window.location.href = target.url;
  });
  window.addEventListener("resize", function () { redraw(null); });
  // Printing: the drawing at a landscape page's width (A4 or Letter, 8 mm margins), then back.
  var forPrint = function () { redraw({ width: 1000, height: 560 }); };
  window.addEventListener("beforeprint", forPrint);
  window.addEventListener("afterprint", function () { redraw(null); });
  window.stratifyPrintMap = forPrint;
  var printButton = document.getElementById("print-map");
  if (printButton) printButton.addEventListener("click", function () { forPrint(); window.print(); });

  function download(url, name) {
    var a = document.createElement("a");
    a.href = url; a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
  }
  var stem = box.dataset.filename || "channel-map";
  var svgButton = document.getElementById("export-svg");
  if (svgButton) svgButton.addEventListener("click", function () {
    download(chart.getDataURL({ type: "svg", backgroundColor: "#fff" }), stem + ".svg");
  });
  var pngButton = document.getElementById("export-png");
  if (pngButton) pngButton.addEventListener("click", function () {
    // The SVG drawn onto a canvas at twice the size, saved as PNG.
    var img = new Image();
    img.onload = function () {
      var canvas = document.createElement("canvas");
      canvas.width = box.clientWidth * 2; canvas.height = box.clientHeight * 2;
      var ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      download(canvas.toDataURL("image/png"), stem + ".png");
    };
    img.src = chart.getDataURL({ type: "svg", backgroundColor: "#fff" });
  });
  box.dataset.ready = "1";
  window.stratifyChannelMap = chart;
})();
