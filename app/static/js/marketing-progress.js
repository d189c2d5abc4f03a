// Live progress: polls each run's JSON endpoint and updates the counts, and polls the
// campaign's endpoint so a run that starts while the page is open appears (the page is
// reloaded from the server, which renders it). Without scripts the Refresh link does both.
(function () {
  "use strict";
  var INTERVAL_MS = 3000;
  var DONE = { completed: true, failed: true, missing: true };
  var LIVE = { scheduled: true, running: true, paused: true };

  function update(section, data) {
    section.querySelectorAll("[data-field]").forEach(function (node) {
      var key = node.getAttribute("data-field");
      if (Object.prototype.hasOwnProperty.call(data, key)) { node.textContent = String(data[key]); }
    });
    var bar = section.querySelector("progress");
    if (bar) { bar.value = data.percent_settled; bar.textContent = data.percent_settled + "%"; }
  }

  function poll(section) {
    var url = section.getAttribute("data-progress-url");
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        update(section, data);
        if (!DONE[data.status]) { window.setTimeout(function () { poll(section); }, INTERVAL_MS); }
      })
      .catch(function () { /* keep the server-rendered numbers */ });
  }

  function watch(container) {
    var url = container.getAttribute("data-campaign-progress-url");
    var shown = container.getAttribute("data-run-ids");
    var status = container.getAttribute("data-campaign-status");
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var ids = data.runs.map(function (run) { return String(run.run_id); }).join(",");
        if (ids !== shown || data.status !== status) { window.location.reload(); return; }
        if (LIVE[data.status]) { window.setTimeout(function () { watch(container); }, INTERVAL_MS); }
      })
      .catch(function () { /* the Refresh link still works */ });
  }

  document.querySelectorAll("[data-progress-url]").forEach(function (section) {
    window.setTimeout(function () { poll(section); }, INTERVAL_MS);
  });
  var container = document.querySelector("[data-campaign-progress-url]");
  if (container && LIVE[container.getAttribute("data-campaign-status")]) {
    window.setTimeout(function () { watch(container); }, INTERVAL_MS);
  }
})();
