// The live dashboard: figures pushed by the server (Server-Sent Events), charts drawn with uPlot
// (served from this origin). Without JavaScript the page still shows the figures it was built with.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root || !window.EventSource) { return; }
  var charts = {};

  function get(object, path) {
    return path.split(".").reduce(function (value, key) { return value == null ? value : value[key]; }, object);
  }

  function chart(id, label, points, color) {
    var element = document.getElementById(id);
    if (!element || !window.uPlot) { return; }
    var data = [points.map(function (p) { return p[0]; }), points.map(function (p) { return p[1]; })];
    var width = Math.max(element.clientWidth, 240);
    if (charts[id]) {
      charts[id].setData(data);
      if (Math.abs(charts[id].width - width) > 2) { charts[id].setSize({ width: width, height: 220 }); }
      return;
    }
    charts[id] = new window.uPlot({
      width: width, height: 220, cursor: { drag: { x: false, y: false } },
      series: [{}, { label: label, stroke: color, width: 2, fill: color + "22", points: { show: false } }],
      axes: [{ stroke: "#1d2127" }, { stroke: "#1d2127" }],
    }, data, element);
  }

  function rows(tbody, entries, cells, empty) {
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    if (!entries.length) {
      var tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 4; td.textContent = empty; tr.appendChild(td); tbody.appendChild(tr);
      return;
    }
    entries.forEach(function (entry) {
      var tr = document.createElement("tr");
      cells(entry).forEach(function (value) {
        var td = document.createElement("td"); td.textContent = value; tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
  }

  function items(list, entries, text) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    (entries.length ? entries : [null]).forEach(function (entry) {
      var li = document.createElement("li");
      li.textContent = entry ? text(entry) : "None yet.";
      list.appendChild(li);
    });
  }

  function update(figures) {
    document.querySelectorAll("[data-figure]").forEach(function (element) {
      var value = get(figures, element.getAttribute("data-figure"));
      if (value != null) { element.textContent = String(value); }
    });
    var updated = document.getElementById("updated");
    updated.textContent = figures.updated; updated.setAttribute("datetime", figures.updated);
    document.getElementById("worker-kinds").textContent = Object.keys(figures.workers.kinds)
      .map(function (kind) { return kind + ": " + figures.workers.kinds[kind]; }).join(", ");
    rows(document.querySelector("#queue-table tbody"), figures.queue.models,
      function (e) { return [e.model, e.jobs, e.workers, e.eta]; }, "No model is queued or served right now.");
    items(document.getElementById("top-models"), figures.top_models, function (e) { return e.model + ": " + e.jobs + " jobs"; });
    items(document.getElementById("top-teams"), figures.top_teams, function (e) { return e.name + ": " + e.kudos + " kudos"; });
    chart("jobs-chart", "Jobs per minute", figures.jobs_per_minute, "#5a3fc0");
    chart("kudos-chart", "Kudos per minute", figures.kudos_per_minute, "#1e7b34");
    root.setAttribute("data-updates", String(Number(root.getAttribute("data-updates") || 0) + 1));
  }

  var state = document.getElementById("live-state");
  var source = new EventSource(root.getAttribute("data-events"));
  source.addEventListener("figures", function (event) { update(JSON.parse(event.data)); });
  source.onopen = function () { state.textContent = "Live, as of"; state.className = ""; };
  source.onerror = function () { state.textContent = "Reconnecting; figures as of"; state.className = "live-off"; };
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) {
      var element = document.getElementById(id);
      charts[id].setSize({ width: Math.max(element.clientWidth, 240), height: 220 });
    });
  });
})();
