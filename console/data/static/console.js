// wardwatch console: keyboard moves through the queue, charts from embedded JSON (no inline script: CSP)
(function () {
  "use strict";
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr[data-href]")); }
  var current = -1;
  function select(i) {
    var r = rows();
    if (!r.length) { return; }
    current = Math.max(0, Math.min(i, r.length - 1));
    r.forEach(function (x) { x.classList.remove("sel"); });
    r[current].classList.add("sel");
    var link = r[current].querySelector("a");
    if (link) { link.focus(); }
  }
  document.addEventListener("keydown", function (e) {
    var tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (e.key === "j") { select(current + 1); e.preventDefault(); }
    else if (e.key === "k") { select(current - 1); e.preventDefault(); }
    else if (e.key === "Enter" && current >= 0 && rows()[current]) { window.location = rows()[current].getAttribute("data-href"); }
    else if (e.key === "/") { window.location = "/search"; e.preventDefault(); }
    else if (e.key === "g") { var f = document.getElementById("f-segment"); if (f) { f.focus(); e.preventDefault(); } }
  });
  function chart() {
    var box = document.getElementById("chart"), src = document.getElementById("chart-data");
    if (!box || !src || typeof uPlot === "undefined") { return; }
    var d = JSON.parse(src.textContent);
    if (!d.x || !d.x.length) { return; }
    var colours = { critical: "#8b0000", high: "#b33a00", medium: "#a07800", low: "#4a6a8a", conns: "#0a4aa8" };
    var names = Object.keys(d.series);
    var data = [d.x].concat(names.map(function (n) { return d.series[n]; }));
    var series = [{}].concat(names.map(function (n) { return { label: n, stroke: colours[n] || "#333", width: 2 }; }));
    var opts = { width: Math.max(300, box.clientWidth - 10), height: 220, series: series };
    if (d.range) { opts.scales = { x: { time: true, range: d.range } }; }
    new uPlot(opts, data, box);
  }
  document.addEventListener("DOMContentLoaded", chart);
})();
