/* Health page: the cohort retention curves (one line per monthly cohort). */
(function () {
  "use strict";

  function renderChart(el) {
    if (!window.echarts || el.dataset.rendered) { return; }
    var source = document.getElementById(el.dataset.healthChart);
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "–" : v + " %"; } },
      legend: { type: "scroll", bottom: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 64 },
      xAxis: { type: "category", data: data.months, name: el.dataset.labelX, nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "value", min: 0, max: 100, name: el.dataset.labelY },
      series: data.series.map(function (s) {
        return { name: s.name, type: "line", data: s.data, symbolSize: 4, connectNulls: false };
      })
    });
    el.dataset.rendered = "true";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function renderAll() {
    document.querySelectorAll("[data-health-chart]").forEach(renderChart);
  }

  document.addEventListener("DOMContentLoaded", renderAll);
  window.addEventListener("load", renderAll);
})();
