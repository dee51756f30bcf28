// The page's script: live updates (Server-Sent Events), the live buttons, copy
// buttons, confirmations. Plain JS, no build step, nothing from another host.
(function () {
  "use strict";
  var me = document.getElementById("kitjs");
  var csrf = me ? me.getAttribute("data-csrf") : "";
  var S = JSON.parse(document.getElementById("strings").textContent || "{}");
  function t(key, values) {
    var s = S[key] || key;
    Object.keys(values || {}).forEach(function (k) { s = s.split("{" + k + "}").join(values[k]); });
    return s;
  }
  function $(id) { return document.getElementById(id); }

  // Every logged-in page: one stream of the kit's status (Server-Sent Events) drives
  // Home, the live banner and the preview's pace. When the stream breaks, or nothing
  // comes for 20 s (a heartbeat every 15 s, a tick each second while live: a frozen kit
  // keeps the socket open), a cover says so and nothing under it can be pressed, until
  // the kit speaks again.
  var eventsUrl = me ? me.getAttribute("data-events") : "";
  var READY = ((me && me.getAttribute("data-ready")) || "").split(" ");
  var ONAIR = ((me && me.getAttribute("data-onair")) || "").split(" ");
  var QUIET_MS = 20000;
  var listeners = [], lost = false, quiet = null, leaving = false;
  function onStatus(f) { listeners.push(f); }
  function setLost(on) {
    if (on === lost || (on && leaving)) return;
    lost = on;
    if ($("lost")) $("lost").hidden = !on;
    ["header", "main"].forEach(function (tag) {
      var el = document.querySelector(tag);
      if (el) el.inert = on;
    });
    document.querySelectorAll(".live-action").forEach(function (b) { b.disabled = on; });
  }
  function heard() {
    setLost(false);
    clearTimeout(quiet);
    quiet = setTimeout(function () { setLost(true); }, QUIET_MS);
  }
  function connect() {
    var source = new EventSource(eventsUrl);
    source.onopen = heard;
    source.onmessage = function (e) {
      heard();
      var st = JSON.parse(e.data);
      listeners.forEach(function (f) { f(st); });
    };
    source.addEventListener("heartbeat", heard);
    // The kit ends each stream after a while: a new one at once, nothing lost.
    source.addEventListener("again", function () { source.close(); connect(); });
    source.onerror = function () {
      setLost(true);
      if (source.readyState !== EventSource.CLOSED) return;  // the browser retries by itself
      // Refused (logged out, a new password): the browser gives up. Log in again, or retry.
      setTimeout(function () {
        fetch("/api/status", { credentials: "same-origin" }).then(function (r) {
          if (r.status === 401) window.location.reload(); else connect();
        }, connect);
      }, 3000);
    };
  }
  // Leaving the page ends its stream: no cover for that (a download leaves nothing).
  window.addEventListener("beforeunload", function () {
    leaving = true;
    setTimeout(function () { leaving = false; }, 3000);
  });
  function clock(s) {
    s = Math.floor(s);
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    return h + ":" + (m < 10 ? "0" : "") + m + ":" + (r < 10 ? "0" : "") + r;
  }

  // Every page but Home: a banner while on air, its timer running.
  onStatus(function (st) {
    var banner = $("live-banner");
    if (!banner) return;
    var on = ONAIR.indexOf(st.state) >= 0;
    banner.hidden = !on;
    if (!on) return;
    $("live-banner-state").textContent = t("state." + st.state);
    $("live-banner-timer").textContent = st.elapsed_s !== undefined ? clock(st.elapsed_s) : "";
  });

  // A request the kit did not carry out, in the page's language (never the browser's
  // "Failed to fetch", nor the API's English).
  function refusal(status, body) {
    if (status === 0) return t("js.no_contact");
    if (status === 401) return t("js.logged_out");
    if (status === 403) return t("js.reload");
    if (status === 409 && body && body.state) return t("js.not_now", { state: t("state." + body.state) });
    return t("js.refused");
  }

  // Forms and buttons that ask first (End, Delete).
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
    });
  });

  // Copy buttons: the Clipboard API needs https or localhost; elsewhere fall back
  // to selecting the text and execCommand("copy").
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      var field = $(b.getAttribute("data-copy"));
      var label = b.textContent;
      function done() { b.textContent = t("js.copied"); setTimeout(function () { b.textContent = label; }, 1500); }
      function fallback() { field.focus(); field.select(); try { document.execCommand("copy"); done(); } catch (e) { /* selected: the user can copy */ } }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, fallback);
      } else { fallback(); }
    });
  });

  // Title: characters counted as TikTok and the kit (kit/config.py title_length) count
  // them, in grapheme clusters: a flag, a keycap, an emoji with its skin tone or a ZWJ
  // family is one. Without Intl.Segmenter (old browsers), code points: never fewer.
  var segmenter = window.Intl && Intl.Segmenter
    ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;
  function titleLength(text) {
    return Array.from(segmenter ? segmenter.segment(text) : text).length;
  }
  window.kitTitleLength = titleLength;  // the e2e tests check it against the kit's table
  var title = $("title"), count = $("title-count");
  function countTitle() { count.textContent = t("js.count", { n: titleLength(title.value) }); }
  if (title && count) { title.addEventListener("input", countTitle); countTitle(); }

  // Destination: the preset's URL shape and the TikTok key reminder.
  var preset = $("preset");
  if (preset) {
    preset.addEventListener("change", function () {
      var o = preset.options[preset.selectedIndex], server = $("server");
      $("shape").querySelector("code").textContent = o.getAttribute("data-shape");
      server.placeholder = o.getAttribute("data-shape");
      if (o.getAttribute("data-server") && !server.value) server.value = o.getAttribute("data-server");
      $("tiktok-note").hidden = o.getAttribute("data-expires") !== "1";
    });
  }

  // Picture: the preview, refreshed every 5 s while the page is open (10 s on air). When
  // the camera gives no picture, a sentence says why instead of a broken image.
  var snap = $("snapshot");
  if (snap) {
    var pace = 5000, snapSaid = document.createElement("p");
    snapSaid.className = "hint";
    snapSaid.id = "snapshot-said";
    snapSaid.setAttribute("role", "status");
    snapSaid.hidden = true;
    snap.parentNode.insertBefore(snapSaid, snap.nextSibling);
    var noPicture = function () {
      snap.hidden = true;
      fetch(snap.src, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (b) { return b.error || t("js.no_picture"); }, function () { return t("js.no_contact"); })
        .then(function (said) { snapSaid.textContent = said; snapSaid.hidden = false; });
    };
    snap.addEventListener("load", function () { snap.hidden = false; snapSaid.hidden = true; });
    snap.addEventListener("error", noPicture);
    if (snap.complete && !snap.naturalWidth) noPicture();  // failed before this script ran
    onStatus(function (st) { pace = ONAIR.indexOf(st.state) >= 0 ? 10000 : 5000; });
    var refresh = function () {
      if (!document.hidden && !lost) snap.src = snap.src.split("?")[0] + "?t=" + Date.now();
      setTimeout(refresh, pace);
    };
    setTimeout(refresh, pace);
  }

  // Picture: the microphone's level (about twice a second while the section is open and
  // the kit idle; slowly while the broadcast holds the microphone) and its gain.
  var micBox = $("mic");
  if (micBox) {
    var timer = null, gain = $("gain");
    function db(v) { return v === null || v === undefined ? "—" : v.toFixed(0) + " dBFS"; }
    function showLevel(r) {
      var msg = { busy: "js.mic_busy", simulated: "js.mic_simulated" }[r.state];
      var said = r.message_id && S["error." + r.message_id] ? t("error." + r.message_id, r.message_values) : r.message;
      $("mic-message").textContent = msg ? t(msg) : said;
      $("mic-peak").value = r.peak_dbfs === null ? -60 : Math.max(-60, r.peak_dbfs);
      $("mic-rms").value = r.rms_dbfs === null ? -60 : Math.max(-60, r.rms_dbfs);
      $("mic-peak-v").textContent = db(r.peak_dbfs);
      $("mic-rms-v").textContent = db(r.rms_dbfs);
      var warn = r.clipping ? t("js.mic_clipping") : r.silent ? t("js.mic_silent") : "";
      $("mic-warning").textContent = warn;
      $("mic-warning").hidden = !warn;
      return r.state === "measured" ? 500 : r.state === "busy" ? 5000 : 0;
    }
    function poll() {
      timer = null;
      if (!micBox.open || document.hidden) return;
      fetch("/api/mic/level", { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (r) { var next = showLevel(r); if (next && micBox.open) timer = setTimeout(poll, next); })
        .catch(function () { $("mic-message").textContent = t("js.no_contact"); timer = setTimeout(poll, 5000); });
    }
    function showGain(r) {
      if (r.percent === undefined) {
        gain.disabled = true;
        var why = r.message_id && S["error." + r.message_id] ? t("error." + r.message_id, r.message_values) : r.error;
        $("gain-message").textContent = t("js.gain_none", { error: why });
      } else {
        gain.disabled = false;
        gain.value = r.percent;
        $("gain-v").textContent = r.percent + " %";
        $("gain-message").textContent = "";
      }
    }
    gain.addEventListener("input", function () { $("gain-v").textContent = gain.value + " %"; });
    gain.addEventListener("change", function () {
      fetch("/api/mic/gain", {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
        body: JSON.stringify({ percent: Number(gain.value) })
      }).then(function (r) { return r.json(); }).then(showGain);
    });
    function opened() {
      if (!micBox.open) return;
      $("mic-message").textContent = t("js.mic_measuring");
      fetch("/api/mic/gain", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(showGain);
      if (!timer) poll();
    }
    micBox.addEventListener("toggle", opened);
    document.addEventListener("visibilitychange", function () { if (!document.hidden && !timer) poll(); });
    opened();
  }

  // Home: state, timer and figures from the kit's event stream.
  var home = $("home");
  if (home) {
    var fig = function (id, v, unit) { $(id).textContent = v === null || v === undefined ? "—" : v + (unit || ""); };
    var current = "";
    var render = function (st) {
      current = st.state;
      var said = st.shown || {}, warnings = $("warnings"), listed = (said.warnings || []).join("\n");
      var ready = READY.indexOf(st.state) >= 0, onAir = ONAIR.indexOf(st.state) >= 0;
      var missing = ready && !!said.missing;  // no destination yet: set it up, no Go live
      home.className = "state-" + st.state + (missing ? " missing" : "");
      $("state").textContent = missing ? said.missing : t("state." + st.state);
      $("timer").textContent = st.elapsed_s !== undefined ? clock(st.elapsed_s)
        : st.countdown_s !== undefined ? Math.ceil(st.countdown_s) : "";
      // The status's sentences, already in the page's language (kit/api/web.py, shown()).
      $("advice").textContent = (missing ? said.missing_hint : said.advice) || "";
      if (warnings.getAttribute("data-said") !== listed) {  // rebuilt only when they change
        warnings.setAttribute("data-said", listed);
        warnings.textContent = "";
        (said.warnings || []).forEach(function (w) {
          var li = document.createElement("li");
          li.textContent = w;
          warnings.appendChild(li);
        });
        warnings.hidden = !listed;
      }
      $("hotspot-said").querySelector("span").textContent = said.hotspot || "";
      $("hotspot-said").hidden = !said.hotspot;
      $("title-shown").textContent = st.title || "";
      $("last").hidden = !said.last;
      if (said.last) {
        $("last").querySelector("span").textContent = said.last;
        $("last-link").href = said.last_url;
        $("last-link").textContent = said.last_link;
      }
      $("setup").hidden = !missing;
      $("go").hidden = !ready || !!said.missing;
      // Before the broadcast (checks, countdown) the one button cancels, at once; on air
      // it ends, after a confirmation.
      $("end").hidden = ready || st.state === "stopping";
      $("end").textContent = onAir ? $("end").getAttribute("data-end") : $("end").getAttribute("data-cancel");
      $("mark").hidden = !onAir;
      $("marked").textContent = st.markers ? t("js.marked", { n: st.markers }) : "";
      var on = st.session_id !== undefined, h = st.health || {};
      fig("f-bitrate", on ? Math.round(st.bitrate_kbps) : null, " kb/s");
      fig("f-fps", on ? st.fps.toFixed(1) : null);
      fig("f-dropped", on ? st.dropped_frames : null);
      fig("f-reconnects", on ? st.reconnects : null);
      fig("f-temperature", h.temperature_c, " °C");
      fig("f-wifi", h.wifi_dbm, " dBm");
      fig("f-disk", h.disk_free_mb === null || h.disk_free_mb === undefined ? null : (h.disk_free_mb / 1024).toFixed(1), " GB");
    };
    render(JSON.parse($("initial").textContent));
    onStatus(render);

    var act = function (path) {
      var err = $("action-error");
      err.hidden = true;
      fetch(path, { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" })
        .then(function (r) {
          if (r.ok) return null;
          return r.json().catch(function () { return {}; }).then(function (b) { return refusal(r.status, b); });
        }, function () { return refusal(0); })
        .then(function (said) { if (said) { err.textContent = said; err.hidden = false; } });
    };
    $("go").addEventListener("click", function () { act("/api/live/start"); });
    $("end").addEventListener("click", function () {
      if (ONAIR.indexOf(current) < 0 || window.confirm($("end").getAttribute("data-confirm"))) act("/api/live/stop");
    });
    $("mark").addEventListener("click", function () { act("/api/marker"); });
  }

  if (eventsUrl && window.EventSource) { connect(); heard(); }
})();
