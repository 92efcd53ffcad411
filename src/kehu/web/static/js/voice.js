/* Voice pages: line charts of mentions and votes per day, and the live crisis clocks. */
(function () {
  "use strict";

  function renderChart(el) {
    if (!window.echarts || el.dataset.rendered) { return; }
    var source = document.getElementById(el.dataset.voiceChart);
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var names = Object.keys(data.series);
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { data: names, top: 0 },
      grid: { left: 40, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "category", data: data.days },
      yAxis: { type: "value", minInterval: 1 },
      series: names.map(function (name) {
        return { name: name, type: "line", data: data.series[name], symbolSize: 5 };
      })
    });
    el.dataset.rendered = "true";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".crisis-clock[data-due]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - now) / 1000);
      var sign = left < 0 ? "-" : "";
      var s = Math.abs(left);
      var text = sign + Math.floor(s / 3600) + ":" + String(Math.floor(s / 60) % 60).padStart(2, "0") +
        ":" + String(s % 60).padStart(2, "0");
      el.textContent = left < 0 ? (el.dataset.overdueLabel || "overdue") + " " + text : text;
      el.classList.toggle("badge-danger", left < 0);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-voice-chart]").forEach(renderChart);
    tick();
    window.setInterval(tick, 1000);
  });
})();
