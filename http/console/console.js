// Ringback console: the reply box's segment counter and live updates over Server-Sent
// Events. Everything works without it; it only adds.
(function () {
  var gsm = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var ext = "^{}\\[~]|€";
  function segments(text) {
    var units = 0, ucs = false;
    for (var ch of text) {
      if (gsm.indexOf(ch) >= 0) units += 1;
      else if (ext.indexOf(ch) >= 0) units += 2;
      else { ucs = true; break; }
    }
    if (ucs) {
      var n = 0; for (var c of text) n += c.codePointAt(0) > 0xffff ? 2 : 1;
      return { enc: "UCS-2", n: n, segs: n <= 70 ? 1 : Math.ceil(n / 67) };
    }
    return { enc: "GSM-7", n: units, segs: units <= 160 ? 1 : Math.ceil(units / 153) };
  }
  var box = document.querySelector("textarea[name=body]");
  var out = document.getElementById("segments");
  if (box && out) {
    var show = function () {
      var s = segments(box.value);
      out.textContent = s.n + " characters, " + s.segs + " SMS segment" + (s.segs === 1 ? "" : "s") + " (" + s.enc + ")";
    };
    box.addEventListener("input", show); show();
  }
  // A region is busy while the pointer is over it, focus is in it or one of its
  // confirmations is open: a live change waits, so nothing moves under a person's hand.
  function busy(el) {
    return el.matches(":hover") || el.contains(document.activeElement) || el.querySelector("details[open]");
  }
  var pending = false, inflight = false;
  function refresh() {
    var regions = document.querySelectorAll("[data-refresh]");
    if (!regions.length || inflight) { pending = pending || inflight; return; }
    pending = false; inflight = true;
    fetch(location.href, { headers: { "X-Partial": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        inflight = false;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelectorAll("[data-refresh]");
        regions = document.querySelectorAll("[data-refresh]");
        if (fresh.length !== regions.length) return;
        regions.forEach(function (old, i) {
          if (busy(old)) pending = true;
          else old.replaceWith(fresh[i]);
        });
        document.title = doc.title || document.title;
        if (pending) document.body.dataset.pending = "1"; // for the browser test, and for CSS
        else delete document.body.dataset.pending;
      }, function () { inflight = false; });
  }
  function later() {
    if (!pending) return;
    var regions = document.querySelectorAll("[data-refresh]");
    for (var i = 0; i < regions.length; i++) if (busy(regions[i])) return;
    refresh();
  }
  ["pointerout", "focusout"].forEach(function (ev) {
    document.addEventListener(ev, function () { setTimeout(later, 0); });
  });
  document.addEventListener("toggle", function () { setTimeout(later, 0); }, true);
  if (window.EventSource && document.body.dataset.live) {
    var es = new EventSource(document.body.dataset.live);
    es.addEventListener("change", function (e) {
      var d = JSON.parse(e.data);
      if (typeof d.unread === "number") {
        var base = document.title.replace(/^\(\d+\) /, "");
        document.title = (d.unread > 0 ? "(" + d.unread + ") " : "") + base;
      }
      refresh();
    });
  }
})();
