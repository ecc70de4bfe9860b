// The account page's requests in flight, kept up to date by the server (Server-Sent Events).
(function () {
  "use strict";
  var section = document.getElementById("in-flight");
  if (!section || !window.EventSource) { return; }
  var tbody = document.querySelector("#in-flight-table tbody");
  var state = document.getElementById("in-flight-state");
  var source = new EventSource(section.getAttribute("data-events"));
  source.addEventListener("requests", function (event) {
    var requests = JSON.parse(event.data);
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    if (!requests.length) {
      var tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 6; td.textContent = "Nothing in flight."; tr.appendChild(td); tbody.appendChild(tr);
    }
    requests.forEach(function (request) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-request", request.id);
      [request.id, request.kind, request.waiting, request.processing, request.finished, request.queue_position].forEach(function (value, index) {
        var td = document.createElement("td");
        if (index === 0) { var code = document.createElement("code"); code.textContent = value; td.appendChild(code); }
        else { td.textContent = String(value); }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    state.textContent = "Live.";
    section.setAttribute("data-updates", String(Number(section.getAttribute("data-updates") || 0) + 1));
  });
  source.onerror = function () { state.textContent = "Reconnecting…"; };
})();
