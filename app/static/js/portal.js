/* Portal progressive enhancement: everything works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // The language switcher applies the choice as soon as it changes.
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Move focus to an error summary so screen-reader users hear what to fix.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
