/* 治理成效 dashboards: draws the charts from the page's json_script blocks ("measure-data", "network-data") with the
   locally served Apache ECharts. Every text arrives translated and formatted from the server; this only draws. */
(function () {
  "use strict";

  var charts = [];

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function score(v, labels) {
    return v === null || v === undefined ? labels.no_data : Number(v).toFixed(1);
  }

  function num(v) {
    if (v === null || v === undefined) { return "—"; }
    return Number(v).toLocaleString("zh-CN", { maximumFractionDigits: 2 });
  }

  function init(el) {
    var chart = window.echarts.init(el);
    charts.push(chart);
    return chart;
  }

  function narrow() { return window.innerWidth < 640; }

  function seriesName(s) { return narrow() ? s.short : s.label; }

  // The threshold as a dashed red line: labelled at the right end of a horizontal line (the trend); a vertical line
  // (bar charts) is explained in the section's caption instead, where a label would sit on the axis numbers.
  function thresholdLine(d, axis) {
    var point = {};
    point[axis] = d.threshold;
    return {
      silent: true,
      symbol: "none",
      lineStyle: { type: "dashed", color: "#b42318", width: 1 },
      label: axis === "yAxis"
        ? { show: true, position: "end", formatter: d.labels.threshold + " " + d.threshold, color: "#b42318", fontSize: 11 }
        : { show: false },
      data: [point]
    };
  }

  // --- every indicator's score (horizontal bars, coloured by dimension) -------------------------------------
  function indicatorChart(d) {
    var box = document.getElementById("indicator-chart");
    if (!box || !d.indicators.length) { return; }
    box.style.height = Math.max(220, d.indicators.length * 30 + 70) + "px";
    var chart = init(box);
    var labels = d.labels;
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 56, top: 28, bottom: 24, containLabel: true },
      tooltip: {
        trigger: "item",
        confine: true,
        formatter: function (p) {
          var i = d.indicators[p.dataIndex];
          var lines = ["<b>" + esc(i.label) + "</b>", '<span style="color:#6b7785">' + esc(i.formula) + "</span>",
            esc(labels.value) + "：" + esc(i.value_text)];
          if (i.numerator !== null || i.denominator !== null) {
            var what = i.numerator_label ? "（" + esc(i.numerator_label) + " / " + esc(i.denominator_label || "—") + "）" : "";
            lines.push(esc(labels.numerator) + " / " + esc(labels.denominator) + "：" + num(i.numerator) + " / " + num(i.denominator) + what);
          }
          lines.push(esc(labels.score) + "：" + esc(i.score === null ? labels.no_data : i.score_text));
          if (i.goalposts) { lines.push(esc(labels.goalposts) + "：" + esc(i.goalposts)); }
          return lines.join("<br>");
        }
      },
      xAxis: { type: "value", min: 0, max: 100, splitNumber: 5 },
      yAxis: {
        type: "category",
        inverse: true,
        data: d.indicators.map(function (i) { return narrow() ? i.name : i.label; }),
        axisLabel: { fontSize: 12, width: narrow() ? 96 : 180, overflow: "truncate" },
        axisTick: { show: false }
      },
      series: [{
        type: "bar",
        barMaxWidth: 18,
        data: d.indicators.map(function (i) {
          return {
            value: i.score === null ? 0 : i.score,
            itemStyle: { color: i.color, opacity: i.weak ? 1 : 0.85, borderColor: i.weak ? "#b42318" : i.color, borderWidth: i.weak ? 2 : 0 }
          };
        }),
        label: {
          show: true,
          position: "right",
          fontSize: 11,
          formatter: function (p) { var i = d.indicators[p.dataIndex]; return i.score === null ? labels.no_data : i.score_text; }
        },
        markLine: thresholdLine(d, "xAxis")
      }]
    });
  }

  // --- trend over periods (yearly or quarterly) -------------------------------------------------------------
  function trendChart(d) {
    var box = document.getElementById("trend-chart");
    if (!box) { return; }
    var chart = init(box);
    function draw(freq) {
      var t = d.trend[freq] || { periods: [], labels: [] };
      chart.setOption({
        animation: false,
        color: d.series.map(function (s) { return s.color; }),
        legend: { top: 0, type: "scroll", itemGap: 18, data: d.series.map(seriesName) },
        grid: { left: 8, right: 76, top: 44, bottom: 24, containLabel: true },
        tooltip: {
          trigger: "axis",
          confine: true,
          valueFormatter: function (v) { return score(v, d.labels); }
        },
        xAxis: { type: "category", data: t.labels, boundaryGap: true, axisLabel: { hideOverlap: true } },
        yAxis: { type: "value", min: 0, max: 100 },
        series: d.series.map(function (s, k) {
          return {
            name: seriesName(s),
            type: "line",
            data: t[s.row] || [],
            symbolSize: 8,
            connectNulls: false,
            lineStyle: { width: s.row === "COMPOSITE" ? 3 : 2, type: s.row === "COMPOSITE" ? "solid" : "solid" },
            markLine: k === 0 ? thresholdLine(d, "yAxis") : undefined
          };
        })
      }, true);
      document.querySelectorAll("[data-trend]").forEach(function (b) {
        b.setAttribute("aria-pressed", b.getAttribute("data-trend") === freq ? "true" : "false");
      });
      box.setAttribute("data-freq", freq);
    }
    document.querySelectorAll("[data-trend]").forEach(function (b) {
      b.addEventListener("click", function () { draw(b.getAttribute("data-trend")); });
    });
    draw(d.trend_default);
  }

  // --- children / communities ranked by the composite, each dimension beside it -----------------------------
  function rankChart(d) {
    var box = document.getElementById("rank-chart");
    if (!box || !d.ranking.length) { return; }
    var rows = d.ranking;
    var shown = Math.min(rows.length, 25);
    box.style.height = (shown * 34 + 90) + "px";
    var chart = init(box);
    var composite = d.series[d.series.length - 1];
    var dims = d.series.slice(0, d.series.length - 1);
    var series = [{
      name: seriesName(composite),
      type: "bar",
      barMaxWidth: 16,
      itemStyle: { color: "#9aa5b1" },
      data: rows.map(function (r) { return r.scores.COMPOSITE; }),
      label: { show: true, position: "insideLeft", color: "#fff", fontSize: 11, formatter: function (p) { return p.value === null ? "" : Number(p.value).toFixed(1); } },
      markLine: thresholdLine(d, "xAxis")
    }];
    dims.forEach(function (s) {
      series.push({
        name: seriesName(s),
        type: "scatter",
        symbolSize: 11,
        itemStyle: { color: s.color },
        data: rows.map(function (r) { return r.scores[s.row]; })
      });
    });
    var option = {
      animation: false,
      legend: { top: 0, type: "scroll", itemGap: 18, data: series.map(function (s) { return s.name; }) },
      grid: { left: 8, right: rows.length > shown ? 40 : 16, top: 44, bottom: 16, containLabel: true },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        confine: true,
        formatter: function (ps) {
          var r = rows[ps[0].dataIndex];
          var lines = ["<b>" + esc(r.name) + "</b>"];
          d.series.slice().reverse().forEach(function (s) { lines.push(esc(s.label) + "：" + score(r.scores[s.row], d.labels)); });
          if (r.dilemma) { lines.push(esc(r.dilemma)); }
          lines.push('<span style="color:#6b7785">' + esc(d.labels.open) + "</span>");
          return lines.join("<br>");
        }
      },
      xAxis: { type: "value", min: 0, max: 100 },
      yAxis: {
        type: "category",
        inverse: true,
        data: rows.map(function (r) { return r.name; }),
        axisLabel: { width: narrow() ? 84 : 150, overflow: "truncate" },
        axisTick: { show: false },
        triggerEvent: true
      },
      series: series
    };
    if (rows.length > shown) {
      option.dataZoom = [
        { type: "slider", yAxisIndex: 0, startValue: 0, endValue: shown - 1, right: 4, width: 14, showDetail: false, zoomLock: true },
        { type: "inside", yAxisIndex: 0, startValue: 0, endValue: shown - 1, zoomOnMouseWheel: false, moveOnMouseWheel: true }
      ];
    }
    chart.setOption(option);
    chart.on("click", function (p) {
      var index = p.componentType === "yAxis" ? rows.map(function (r) { return r.name; }).indexOf(p.value) : p.dataIndex;
      if (index >= 0 && rows[index]) { window.location.href = rows[index].url; }
    });
    chart.getZr().on("click", function (e) {
      if (e.target) { return; }
      var point = chart.convertFromPixel({ gridIndex: 0 }, [e.offsetX, e.offsetY]);
      if (point && point[1] >= 0 && rows[point[1]]) { window.location.href = rows[point[1]].url; }
    });
  }

  // --- the co-participation network ---------------------------------------------------------------------------
  function networkChart(n) {
    var box = document.getElementById("network-chart");
    if (!box || !n.nodes.length) { return; }
    var chart = init(box);
    // Node size and spacing follow the graph's size: a handful of residents fills the frame, hundreds stay readable.
    var count = n.nodes.length;
    var size = count <= 30 ? 16 : count <= 120 ? 10 : 6;
    var force = count <= 30 ? { repulsion: 260, edgeLength: [60, 110], gravity: 0.08 }
      : count <= 120 ? { repulsion: 90, edgeLength: [30, 60], gravity: 0.1 }
      : { repulsion: 28, edgeLength: 18, gravity: 0.2 };
    force.layoutAnimation = false;
    force.friction = 0.3;
    chart.setOption({
      animation: false,
      color: n.categories.map(function (c) { return c.color; }),
      legend: [{ top: 0, itemGap: 18, data: n.categories.map(function (c) { return c.name; }) }],
      tooltip: {
        confine: true,
        formatter: function (p) {
          if (p.dataType !== "node") { return ""; }
          var c = n.categories[p.data.category];
          return esc(c.name) + "<br>" + esc(n.labels.component) + " #" + (p.data.value === null ? "—" : p.data.value);
        }
      },
      series: [{
        type: "graph",
        layout: "force",
        top: 36,
        zoom: narrow() && count > 30 ? 0.72 : 1,
        roam: true,
        draggable: count <= 150,
        categories: n.categories.map(function (c) { return { name: c.name, itemStyle: { color: c.color } }; }),
        data: n.nodes.map(function (node, i) {
          return { id: String(i), name: n.labels.resident + " " + (i + 1), category: node[0], value: node[1], symbolSize: size };
        }),
        links: n.edges.map(function (e) { return { source: String(e[0]), target: String(e[1]) }; }),
        label: { show: false },
        lineStyle: { color: "#94a3b8", opacity: count <= 120 ? 0.6 : 0.4, width: 1 },
        emphasis: { focus: "adjacency", lineStyle: { width: 2, opacity: 0.9 } },
        force: force
      }]
    });
  }

  // --- a ranking row opens its place ----------------------------------------------------------------------------
  function rowLinks() {
    document.querySelectorAll("tr[data-href]").forEach(function (tr) {
      tr.addEventListener("click", function (e) {
        if (e.target.closest("a, button")) { return; }
        window.location.href = tr.getAttribute("data-href");
      });
    });
  }

  ready(function () {
    rowLinks();
    if (!window.echarts) { return; }
    var d = readJson("measure-data");
    if (d) {
      indicatorChart(d);
      trendChart(d);
      rankChart(d);
    }
    var n = readJson("network-data");
    if (n) { networkChart(n); }
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 120);
    });
  });
})();
