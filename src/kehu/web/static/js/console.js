/* kehu console behaviour: charts. No inline scripts, so a strict CSP can come later. */
(function () {
  "use strict";

  var GRID_LINE = { lineStyle: { color: "#eef1f5" } };

  function percent(value) {
    return (Math.round(value * 10) / 10) + " %";
  }

  /* Pareto: cumulative share of predicted value against the share of customers, best first. */
  function paretoOption(el, data) {
    var points = data.customers_pct.map(function (x, i) { return [x, data.value_pct[i]]; });
    var mark = data.mark;
    var series = [
      { name: el.dataset.labelValue || "Predicted value", type: "line", data: points, showSymbol: false,
        areaStyle: { color: "rgba(200, 55, 45, .10)" }, lineStyle: { width: 2.5 },
        markLine: { silent: true, symbol: "none", lineStyle: { color: "#9aa5b1", type: "dashed" },
          data: [[{ coord: [0, 0] }, { coord: [100, 100] }]] } }
    ];
    if (mark) {
      series.push({ name: el.dataset.labelMark || "", type: "scatter", data: [[mark.x, mark.y]], symbolSize: 11,
        itemStyle: { color: "#2563eb" }, z: 5,
        label: { show: true, position: "right", distance: 8, fontWeight: 600, color: "#17212b",
          formatter: function () { return percent(mark.x) + " → " + percent(mark.y); } } });
    }
    return {
      color: ["#c8372d", "#2563eb"],
      tooltip: { trigger: "axis", axisPointer: { type: "line" },
        formatter: function (items) {
          var p = items[0].value;
          return (el.dataset.labelCustomers || "Customers") + " " + percent(p[0]) + "<br>" +
            (el.dataset.labelValue || "Value") + " " + percent(p[1]);
        } },
      grid: { left: 56, right: 24, top: 24, bottom: 44 },
      xAxis: { type: "value", min: 0, max: 100, name: el.dataset.labelCustomers || "", nameLocation: "middle", nameGap: 28,
        axisLabel: { formatter: "{value} %" }, splitLine: GRID_LINE },
      yAxis: { type: "value", min: 0, max: 100, name: el.dataset.labelValue || "", nameLocation: "middle", nameGap: 42,
        axisLabel: { formatter: "{value} %" }, splitLine: GRID_LINE },
      series: series
    };
  }

  /* A histogram: labelled bins with counts. */
  function histogramOption(el, data) {
    return {
      color: ["#2563eb"],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 56, right: 16, top: 16, bottom: 64 },
      xAxis: { type: "category", data: data.labels, name: el.dataset.labelX || "", nameLocation: "middle", nameGap: 48,
        axisLabel: { rotate: 35, fontSize: 10 }, axisTick: { alignWithLabel: true } },
      yAxis: { type: "value", minInterval: 1, name: el.dataset.labelY || "", nameLocation: "middle", nameGap: 36, splitLine: GRID_LINE },
      series: [{ name: el.dataset.labelY || "", type: "bar", data: data.counts, barCategoryGap: "8%",
        itemStyle: { borderRadius: [3, 3, 0, 0] } }]
    };
  }

  /* Calibration: mean predicted vs actual repeat purchases per calibration frequency. */
  function calibrationOption(el, data) {
    var predicted = el.dataset.labelPredicted || "Predicted";
    var actual = el.dataset.labelActual || "Actual";
    return {
      color: ["#c8372d", "#2563eb"],
      tooltip: { trigger: "axis", valueFormatter: function (v) { return (Math.round(v * 100) / 100).toString(); } },
      legend: { data: [actual, predicted], top: 0 },
      grid: { left: 60, right: 16, top: 36, bottom: 44 },
      xAxis: { type: "category", data: data.labels, name: el.dataset.labelX || "", nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "value", name: el.dataset.labelY || "", nameLocation: "middle", nameGap: 40, splitLine: GRID_LINE },
      series: [
        { name: actual, type: "line", data: data.actual, symbolSize: 7 },
        { name: predicted, type: "line", data: data.predicted, symbolSize: 7, lineStyle: { type: "dashed" } }
      ]
    };
  }

  var BUILDERS = { pareto: paretoOption, histogram: histogramOption, calibration: calibrationOption };

  function renderChart(el) {
    if (!window.echarts || el.dataset.rendered) { return; }
    var source = document.getElementById(el.dataset.chart);
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    var build = BUILDERS[el.dataset.kind];
    if (build) {
      var option = build(el, data);
      option.animation = false;
      chart.setOption(option);
      el.dataset.rendered = "true";
      window.addEventListener("resize", function () { chart.resize(); });
      return;
    }
    var ordersLabel = el.dataset.labelOrders || "Orders";
    var revenueLabel = el.dataset.labelRevenue || "Revenue";
    var locale = document.documentElement.lang || "en";
    var currency = el.dataset.currency || "";
    function moneyFormat(options) {
      try {
        return new Intl.NumberFormat(locale, currency ? Object.assign({ style: "currency", currency: currency }, options) : options);
      } catch (e) {
        return new Intl.NumberFormat("en", options);
      }
    }
    var money = moneyFormat({ minimumFractionDigits: 2, maximumFractionDigits: 2 });
    var moneyAxis = moneyFormat({ notation: "compact", maximumFractionDigits: 1 });
    chart.setOption({
      animation: false,
      color: ["#2563eb", "#c8372d"],
      tooltip: {
        trigger: "axis",
        valueFormatter: function (value) { return typeof value === "number" && !Number.isInteger(value) ? money.format(value) : String(value); }
      },
      legend: { data: [ordersLabel, revenueLabel], top: 0 },
      grid: { left: 48, right: 72, top: 36, bottom: 28 },
      xAxis: { type: "category", data: data.months, axisTick: { alignWithLabel: true } },
      yAxis: [
        { type: "value", name: ordersLabel, minInterval: 1, splitLine: { lineStyle: { color: "#eef1f5" } } },
        { type: "value", name: revenueLabel, splitLine: { show: false }, axisLabel: { formatter: function (v) { return moneyAxis.format(v); } } }
      ],
      series: [
        { name: ordersLabel, type: "bar", data: data.orders, barMaxWidth: 28, itemStyle: { borderRadius: [4, 4, 0, 0] } },
        { name: revenueLabel, type: "line", yAxisIndex: 1, data: data.revenue.map(Number), smooth: false, symbolSize: 7,
          tooltip: { valueFormatter: function (value) { return money.format(value); } } }
      ]
    });
    el.dataset.rendered = "true";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function renderCharts(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(renderChart);
  }

  document.addEventListener("DOMContentLoaded", function () { renderCharts(document); });
  document.addEventListener("htmx:afterSwap", function (event) { renderCharts(event.target); });
})();

/* A select marked data-autosubmit submits its form when changed. */
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target && target.matches && target.matches("select[data-autosubmit]") && target.form) {
    target.form.submit();
  }
});
