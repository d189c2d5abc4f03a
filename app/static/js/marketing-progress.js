// Live progress: polls each run's JSON endpoint and updates the counts (the page works without it).
(function () {
  "use strict";
  var INTERVAL_MS = 3000;
  var DONE = { completed: true, failed: true, missing: true };

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

  document.querySelectorAll("[data-progress-url]").forEach(function (section) {
    window.setTimeout(function () { poll(section); }, INTERVAL_MS);
  });
})();
