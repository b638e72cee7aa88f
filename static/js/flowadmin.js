// flowadmin's little behaviour beyond htmx. Loaded as a file: the CSP forbids inline script.
(function () {
  "use strict";
  // Copy buttons: <button data-copy="text"> or data-copy-target="#id".
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-target]");
    if (!button) return;
    var text = button.getAttribute("data-copy");
    if (text === null) {
      var target = document.querySelector(button.getAttribute("data-copy-target"));
      text = target ? target.textContent : "";
    }
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
      done();
    }
  });

  // Id pickers: <button data-add-id="uuid" data-add-id-target="#textarea"> appends the id on a line of
  // its own and tells the live preview (an input event). Without JavaScript the button submits the
  // form, which comes back with the id appended.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-id]");
    if (!button) return;
    var area = document.querySelector(button.getAttribute("data-add-id-target"));
    if (!area) return;
    event.preventDefault();
    var text = area.value.replace(/\s+$/, "");
    area.value = (text ? text + "\n" : "") + button.getAttribute("data-add-id") + "\n";
    area.dispatchEvent(new Event("input", { bubbles: true }));
    area.focus();
  });
})();
