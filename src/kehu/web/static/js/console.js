/* kehu console behaviour: charts. No inline scripts, so a strict CSP can come later. */
(function () {
  "use strict";

  function renderChart(el) {
    if (!window.echarts || el.dataset.rendered) { return; }
    var source = document.getElementById(el.dataset.chart);
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
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
