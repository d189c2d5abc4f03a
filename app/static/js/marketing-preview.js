// Live preview in the campaign editor: posts the form to the JSON preview endpoint as the
// marketer types. Without JavaScript the Preview button posts the whole form instead.
(function () {
  "use strict";
  var form = document.getElementById("campaign-form");
  var target = document.getElementById("preview-body");
  if (!form || !target) { return; }
  var url = form.getAttribute("data-preview-url");
  var timer = null;

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function render(data) {
    target.replaceChildren();
    if (data.problems && data.problems.length) {
      var box = element("div", undefined, "problems");
      box.appendChild(element("h3", "Problems"));
      var list = element("ul");
      data.problems.forEach(function (p) { list.appendChild(element("li", p)); });
      box.appendChild(list);
      target.appendChild(box);
    } else {
      target.appendChild(element("p", "Every template field is allowed for this purpose.", "badge ok"));
    }
    if (data.warnings && data.warnings.length) {
      var warned = element("div", undefined, "problems");
      warned.id = "segment-warnings";
      warned.appendChild(element("h3", "Segment"));
      var items = element("ul");
      data.warnings.forEach(function (w) { items.appendChild(element("li", w)); });
      warned.appendChild(items);
      target.appendChild(warned);
    }
    (data.previews || []).forEach(function (item) {
      var article = element("article", undefined, "message-preview");
      article.appendChild(element("h3", "Variant " + item.variant));
      article.appendChild(element("p", "Subject: " + item.subject));
      article.appendChild(element("pre", item.text, "notice"));
      if (item.html) {
        article.appendChild(element("p", "HTML source:", "hint"));
        article.appendChild(element("pre", item.html, "notice"));
      }
      if (item.fallback_fields && item.fallback_fields.length) {
        article.appendChild(element("h4", "With fallbacks"));
        article.appendChild(element("p", "As customers see it who do not share " +
          item.fallback_fields.join(", ") + " for this purpose: they still receive the message, with the fallback.", "hint"));
        article.appendChild(element("p", "Subject: " + item.fallback_subject));
        article.appendChild(element("pre", item.fallback_text, "notice"));
      }
      target.appendChild(article);
    });
  }

  function refresh() {
    var body = new FormData(form);
    body.delete("save");
    fetch(url, { method: "POST", body: body, credentials: "same-origin",
                 headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(render)
      .catch(function () { /* the Preview button still works */ });
  }

  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 600);
  });
})();
