// flowadmin's little behaviour beyond htmx. Loaded as a file: the CSP forbids inline script.
(function () {
  "use strict";
  // Copy buttons: <button data-copy="text"> or data-copy-target="#id". The label reads "Copied" for
  // a moment (or "Copy failed"); the clipboard API needs a secure context, else the older execCommand.
  function copyWithSelection(text, button) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-buffer";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    area.remove();
    button.focus();
    return copied;
  }

  function showCopied(button, copied) {
    if (!button.hasAttribute("data-copy-label")) button.setAttribute("data-copy-label", button.textContent);
    button.textContent = copied ? "Copied" : "Copy failed";
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(function () {
      button.textContent = button.getAttribute("data-copy-label");
    }, 1500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-target]");
    if (!button) return;
    var text = button.getAttribute("data-copy");
    if (text === null) {
      var target = document.querySelector(button.getAttribute("data-copy-target"));
      text = target ? target.textContent : "";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { showCopied(button, true); },
        function () { showCopied(button, copyWithSelection(text, button)); }
      );
    } else {
      showCopied(button, copyWithSelection(text, button));
    }
  });

  // Scrolling regions (tables in .table-wrap, code and diffs in <pre>): while one scrolls, it is a
  // tab stop, so keyboard users can scroll it with the arrow keys; when it fits, it is not.
  var SCROLLERS = ".table-wrap, pre";
  var resizes = window.ResizeObserver ? new ResizeObserver(function (entries) {
    entries.forEach(function (entry) { markScrolling(entry.target); });
  }) : null;

  function markScrolling(element) {
    var scrolls = element.scrollWidth > element.clientWidth + 1 || element.scrollHeight > element.clientHeight + 1;
    if (scrolls && !element.hasAttribute("tabindex")) {
      element.setAttribute("tabindex", "0");
      element.setAttribute("data-scrolls", "");
    } else if (!scrolls && element.hasAttribute("data-scrolls")) {
      element.removeAttribute("tabindex");
      element.removeAttribute("data-scrolls");
    }
  }

  function watchScrolling(root) {
    var elements = Array.prototype.slice.call(root.querySelectorAll(SCROLLERS));
    if (root.matches && root.matches(SCROLLERS)) elements.push(root);
    elements.forEach(function (element) {
      markScrolling(element);
      if (resizes) resizes.observe(element);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { watchScrolling(document); });
  // Content put in by htmx (swaps, out-of-band swaps, history restores) is marked as it arrives: a
  // mutation record is handled before any other task runs, so no moment exists in which a region
  // scrolls without being a tab stop (htmx:afterSettle comes a settle delay later).
  if (window.MutationObserver) {
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        Array.prototype.forEach.call(record.addedNodes, function (node) {
          if (node.nodeType === 1) watchScrolling(node);
        });
      });
    }).observe(document.documentElement, { childList: true, subtree: true });
  }
  document.addEventListener("htmx:afterSettle", function (event) { watchScrolling(event.target); });
  // A closed <details> hides its content: opening one may reveal a scrolling region.
  document.addEventListener("toggle", function (event) { watchScrolling(event.target); }, true);

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

  // Confirmation of a production approval: <form data-confirm="#dialog"> opens that <dialog> (which says
  // what is approved) instead of submitting; its [data-confirm-yes] button submits the form with
  // confirmed=on, [data-confirm-no] closes it. Without JavaScript the server asks on a page of its own.
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (!form) return;
    var confirmed = form.querySelector("[data-confirmed]");
    if (confirmed && confirmed.value === "on") return;
    var dialog = document.querySelector(form.getAttribute("data-confirm"));
    if (!dialog || typeof dialog.showModal !== "function") return;
    if (!form.reportValidity()) { event.preventDefault(); return; }
    event.preventDefault();
    dialog.confirmForm = form;
    dialog.showModal();
  });
  document.addEventListener("click", function (event) {
    var yes = event.target.closest("[data-confirm-yes]");
    var no = event.target.closest("[data-confirm-no]");
    if (!yes && !no) return;
    var dialog = event.target.closest("dialog");
    if (!dialog) return;
    dialog.close();
    if (yes && dialog.confirmForm) {
      dialog.confirmForm.querySelector("[data-confirmed]").value = "on";
      dialog.confirmForm.requestSubmit();
    }
  });

  // After a refused submit the page opens on the summary of what to fix (templates/includes/error_summary.html).
  document.addEventListener("DOMContentLoaded", function () {
    // (or on the message of a refusal by the service: a stale base, an open request, a freeze)
    var summary = document.querySelector("#error-summary, main .message-error[role=alert]");
    if (!summary) { return; }
    if (!summary.hasAttribute("tabindex")) { summary.setAttribute("tabindex", "-1"); }
    summary.focus();
    summary.scrollIntoView({ block: "start" });
  });

  // Live filters: a form marked data-live-filters answers as one types (each typed field asks for itself)
  // and again on a change, when a field loses focus, to give the final answer to what was typed. When
  // the results shown already answer the form as it stands, that second request is not sent: it would
  // only replace them with the same, and a click begun on them as the field lost focus (Export, a
  // link) would be lost with the links it pressed.
  function formState(form) { return new URLSearchParams(new FormData(form)).toString(); }

  function liveFilters(elt) {  // the data-live-filters form that elt is, or is a field of
    var form = elt.tagName === "FORM" ? elt : elt.form;
    return form && form.hasAttribute("data-live-filters") ? form : null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = liveFilters(event.detail.elt);
    if (form) event.detail.requestConfig.formState = formState(form);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = liveFilters(event.detail.elt);
    var state = event.detail.requestConfig && event.detail.requestConfig.formState;
    if (!form || state === undefined) return;
    // 200: these results were shown; anything else (204: "still typing, the rows stay") answers nothing.
    form.answeredState = event.detail.xhr.status === 200 ? state : undefined;
  });
  document.addEventListener("change", function (event) {
    var form = liveFilters(event.target);
    if (!form || event.target.tagName === "SELECT") return;
    if (form.answeredState !== undefined && form.answeredState === formState(form)) event.stopPropagation();
  }, true);

  // With JavaScript, what is there only for pages without it (<... class="no-js">) is hidden.
  document.documentElement.classList.add("js");

  // Drafts: a form marked data-draft keeps what was typed in the tab's sessionStorage, so a reload,
  // an accidental navigation or a login after an expired session loses nothing. The draft comes back
  // only into a form still showing what the server sent, and goes when the form is submitted. While
  // the form holds unsaved text, leaving the page asks first.
  var DRAFT_FIELDS = "textarea, input[type=text], input[type=checkbox]";

  function draftKey(form) { return "flowadmin-draft:" + location.pathname + location.search + "#" + form.id; }

  function fieldsOf(form) {
    return Array.prototype.slice.call(form.querySelectorAll(DRAFT_FIELDS)).filter(function (field) { return field.name; });
  }

  function changed(field) {
    return field.type === "checkbox" ? field.checked !== field.defaultChecked : field.value !== field.defaultValue;
  }

  function saveDraft(form) {
    var values = {};
    fieldsOf(form).forEach(function (field) { values[field.name] = field.type === "checkbox" ? field.checked : field.value; });
    try { sessionStorage.setItem(draftKey(form), JSON.stringify(values)); } catch (error) { /* storage full or off */ }
  }

  function restoreDraft(form) {
    var text = null;
    try { text = sessionStorage.getItem(draftKey(form)); } catch (error) { return; }
    if (!text) return;
    var values = JSON.parse(text);
    var fields = fieldsOf(form);
    if (fields.some(changed)) return;  // the server sent what was posted: it wins
    // Typed into before the scripts were ready: what is being typed now wins over an older draft.
    if (early.some(function (pair) { return pair[0].form === form; })) return;
    var restored = false;
    fields.forEach(function (field) {
      if (!(field.name in values)) return;
      if (field.type === "checkbox") {
        if (field.checked !== values[field.name]) { field.checked = values[field.name]; restored = true; }
      } else if (field.value !== values[field.name]) {
        field.value = values[field.name];
        restored = true;
      }
    });
    if (!restored) return;
    var note = document.createElement("p");
    note.className = "message";
    note.setAttribute("role", "status");
    note.textContent = "What you had typed here was kept and is back. Submit it, or change it.";
    form.insertBefore(note, form.firstChild);
    var first = fields.filter(changed)[0];
    if (first) first.dispatchEvent(new Event("input", { bubbles: true }));
  }

  var leaving = false;
  // An htmx answer that sends the page elsewhere (the login page after a session expired): the draft
  // is kept already, so no question before leaving.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Redirect")) leaving = true;
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-draft]").forEach(function (form) {
      restoreDraft(form);
      form.addEventListener("input", function () { saveDraft(form); });
      form.addEventListener("change", function () { saveDraft(form); });
      form.addEventListener("submit", function () {
        leaving = true;
        try { sessionStorage.removeItem(draftKey(form)); } catch (error) { /* nothing kept */ }
      });
    });
  });
  // Typed before the scripts were ready: a live search or filter field that already differs from what
  // the server sent asks for its answer once htmx listens, so early typing is not silently ignored.
  // (htmx remembers a field's value when it starts listening and answers only a change from it, so the
  // typed text is held back until then and put back as the input that htmx hears.)
  var early = [];
  document.querySelectorAll("input[type=search], input[type=text], textarea").forEach(function (field) {
    if (!changed(field)) return;
    early.push([field, field.value]);
    field.value = field.defaultValue;
  });
  document.addEventListener("DOMContentLoaded", function () {
    early.forEach(function (pair) {
      if (pair[0].value !== pair[0].defaultValue) return;  // typed again meanwhile: that input was heard
      pair[0].value = pair[1];
      pair[0].dispatchEvent(new Event("input", { bubbles: true }));
    });
  });
  window.addEventListener("beforeunload", function (event) {
    if (leaving) return;
    var dirty = Array.prototype.some.call(document.querySelectorAll("form[data-draft]"), function (form) {
      return fieldsOf(form).some(changed);
    });
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
})();
