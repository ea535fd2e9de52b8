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
  if (window.EventSource && document.body.dataset.live) {
    var es = new EventSource(document.body.dataset.live);
    es.addEventListener("change", function (e) {
      var d = JSON.parse(e.data);
      if (typeof d.unread === "number") {
        var base = document.title.replace(/^\(\d+\) /, "");
        document.title = (d.unread > 0 ? "(" + d.unread + ") " : "") + base;
      }
      // Only the regions marked data-refresh are swapped: never a form, so nothing a
      // person is typing or clicking is taken from under them.
      var regions = document.querySelectorAll("[data-refresh]");
      if (!regions.length) return;
      fetch(location.href, { headers: { "X-Partial": "1" }, credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.querySelectorAll("[data-refresh]");
          if (fresh.length !== regions.length) return;
          regions.forEach(function (old, i) { old.replaceWith(fresh[i]); });
          document.title = doc.title || document.title;
        });
    });
  }
})();
