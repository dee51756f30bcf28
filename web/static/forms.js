// The destination page's Test connection, in the background: the form's own values (server
// and key as typed) go to the test, its answer shows in the note, and the form stays as it
// was typed, key included, ready for Save. Without this script the button submits the form
// to the test route, which shows the page again (kit/api/web.py destination_test).
(function () {
  "use strict";
  var button = document.getElementById("test");
  var note = document.getElementById("note");
  if (!button || !note || !window.fetch || !window.URLSearchParams) return;
  var form = button.form, label = button.textContent, busy = false;
  function show(text, cls) {
    note.textContent = text;
    note.className = cls;
    note.hidden = !text;
  }
  var S = JSON.parse((document.getElementById("strings") || {}).textContent || "{}");
  function plainSubmit() {
    // Refused fields are shown next to themselves by the page: let the browser send it.
    form.setAttribute("action", button.getAttribute("formaction"));
    form.submit();
  }
  button.addEventListener("click", function (e) {
    e.preventDefault();
    if (busy) return;
    busy = true;
    button.disabled = true;
    button.textContent = button.getAttribute("data-testing");
    show(button.getAttribute("data-testing"), "hint");
    fetch(button.getAttribute("formaction"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
      body: new URLSearchParams(new FormData(form))
    }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    }).then(function (r) {
      if (r.status === 400 && r.body.errors) { plainSubmit(); return; }
      show(r.body.note || r.body.error || "", r.body.note_class || "err");
    }).catch(function () {
      show(S["js.no_contact"] || "", "err");
    }).then(function () {
      busy = false;
      button.disabled = false;
      button.textContent = label;
    });
  });
})();
