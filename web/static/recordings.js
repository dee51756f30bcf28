// The broadcast page: jump to a highlight, nudge and preview its clip, export it in the
// background and show its progress, then the download. Plain JS, nothing from elsewhere.
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player) return;
  var me = document.getElementById("kitjs");
  var csrf = me ? me.getAttribute("data-csrf") : "";
  var S = JSON.parse((document.getElementById("rec-strings") || {}).textContent || "{}");
  var stopAt = null;

  function play(from, until) {
    stopAt = until;
    player.currentTime = from;
    var p = player.play();
    if (p && p.catch) p.catch(function () { /* the phone may want a tap first */ });
  }
  player.addEventListener("timeupdate", function () {
    if (stopAt !== null && player.currentTime >= stopAt) { player.pause(); stopAt = null; }
  });
  player.addEventListener("seeking", function () {
    if (stopAt !== null && (player.currentTime > stopAt + 1)) stopAt = null;
  });

  document.querySelectorAll("[data-seek]").forEach(function (b) {
    b.addEventListener("click", function () { play(parseFloat(b.getAttribute("data-seek")), null); });
  });
  document.querySelectorAll("[data-nudge]").forEach(function (b) {
    b.addEventListener("click", function () {
      var field = document.getElementById(b.getAttribute("data-nudge"));
      var v = (parseFloat(field.value) || 0) + parseFloat(b.getAttribute("data-by"));
      field.value = String(Math.max(0, Math.min(60, Math.round(v * 10) / 10)));
    });
  });

  function bounds(li) {
    var at = parseFloat(li.getAttribute("data-at")), n = li.getAttribute("data-n");
    var before = parseFloat(document.getElementById("before-" + n).value) || 0;
    var after = parseFloat(document.getElementById("after-" + n).value) || 0;
    return [Math.max(0, at - before), at + after];
  }
  document.querySelectorAll(".highlights li").forEach(function (li) {
    var preview = li.querySelector(".preview"), form = li.querySelector("form.clip");
    if (preview) preview.addEventListener("click", function () { var b = bounds(li); play(b[0], b[1]); });
    if (!form) return;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var state = li.querySelector(".clipstate");
      state.innerHTML = '<progress max="1" value="0"></progress> <span></span>';
      state.querySelector("span").textContent = S.exporting || "";
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
      }).then(function (r) {
        return r.json().then(function (j) {
          if (!r.ok) throw new Error(j.error || r.status);
          poll();
        });
      }).catch(function (err) {
        state.innerHTML = '<p class="err"></p>';
        state.querySelector("p").textContent = String(err.message || err);
      });
    });
  });

  var timer = null;
  function size(n) {
    return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : (n / 1024).toFixed(1) + " KB";
  }
  function show(c) {
    var li = document.getElementById("h" + c.n);
    if (!li) return false;
    var state = li.querySelector(".clipstate");
    if (c.state === "queued" || c.state === "running") {
      var bar = state.querySelector("progress");
      if (!bar) {
        state.innerHTML = '<progress max="1" value="0"></progress> <span></span>';
        state.querySelector("span").textContent = S.exporting || "";
        bar = state.querySelector("progress");
      }
      bar.value = c.progress;
      return true;
    }
    if (c.state === "done" && !state.querySelector("a")) {
      state.innerHTML = '<a class="button primary" download></a> <span class="muted"></span>';
      var a = state.querySelector("a");
      a.href = c.url;
      a.textContent = (S.download || "").split("{size}").join(size(c.size));
      state.querySelector("span").textContent = (c.end_s - c.start_s).toFixed(1) + " s";
    }
    if (c.state === "failed" && !state.querySelector(".err")) {
      state.innerHTML = '<p class="err"></p>';
      state.querySelector("p").textContent = S.failed || "";
    }
    return false;
  }
  function poll() {
    if (timer) return;
    timer = setTimeout(function () {
      timer = null;
      fetch(player.getAttribute("data-clips"), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (list) {
          var busy = false;
          list.forEach(function (c) { busy = show(c) || busy; });
          if (busy) poll();
        }, function () { poll(); });
    }, 700);
  }
  if (document.querySelector(".clipstate progress")) poll();
})();
