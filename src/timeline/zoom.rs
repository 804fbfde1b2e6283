//! Zoom for the timeline: a small inline script, no library. The page is a static
//! picture first; the script only shows the zoom buttons and, on a zoom, moves every
//! shape horizontally (stretching spans, not marks or text) and redraws the ticks for
//! the new scale, so labels stay upright and arrowheads keep their size.
//!
//! Zooming is in the picture's own coordinates, so an idle break stays a break (it
//! widens with the rest). `#zoom=A-B` at the end of the address (milliseconds) opens the
//! page zoomed to that range, which is also how the browser check exercises the script.

/// The zoom bar: hidden until the script shows it, so a page without scripts has no
/// dead buttons.
pub(super) const CONTROLS: &str = "<div id='zoomctl' class='zoomctl' hidden><b>Zoom:</b> \
<button type='button' data-z='2'>in ×2</button><button type='button' data-z='0.5'>out ÷2</button>\
<button type='button' data-z='fit'>whole run</button><button type='button' data-z='1'>reset</button> \
<span id='zoomrange'></span> <span class='hint'>· drag across the picture to zoom to a time range</span></div>";

/// The script: stores each shape's original x coordinates once, then maps them through
/// `x ↦ PAD + (x − PAD)·k` on every zoom.
pub(super) const SCRIPT: &str = r##"<script>
(function () {
  "use strict";
  var svg = document.querySelector("svg.main");
  var ctl = document.getElementById("zoomctl");
  if (!svg || !ctl) return;
  var NS = "http://www.w3.org/2000/svg", PAD = 12, MAXK = 400;
  var box = svg.parentNode, pieces = JSON.parse(svg.getAttribute("data-axis"));
  var w0 = +svg.getAttribute("width"), h = +svg.getAttribute("height"), k = 1;
  var ticks = document.getElementById("tl-ticks"), range = document.getElementById("zoomrange");
  var shapes = [];
  svg.querySelectorAll("rect,line,text,circle,path").forEach(function (e) {
    if (e.closest("defs") || e.closest("#tl-ticks")) return;
    var o = {};
    ["x", "x1", "x2", "cx", "width"].forEach(function (a) {
      if (e.hasAttribute(a)) o[a] = +e.getAttribute(a);
    });
    if (e.tagName === "path") {
      var m = /^M\s*(-?[\d.]+)(.*)$/.exec(e.getAttribute("d"));
      if (m) { o.mx = +m[1]; o.rest = m[2]; }
    }
    shapes.push([e, o]);
  });
  function X(x) { return PAD + (x - PAD) * k; }
  function unX(x) { return PAD + (x - PAD) / k; }
  // Trace time (ms) at a position of the unzoomed picture, and back.
  function timeAt(x) {
    for (var i = 0; i < pieces.length; i++) {
      var p = pieces[i];
      if (x <= p[3] || i === pieces.length - 1) {
        var f = p[3] > p[2] ? (x - p[2]) / (p[3] - p[2]) : 0;
        return p[0] + Math.max(0, f) * (p[1] - p[0]);
      }
    }
    return 0;
  }
  function xAt(t) {
    for (var i = 0; i < pieces.length; i++) {
      var p = pieces[i];
      if (t <= p[1] || i === pieces.length - 1) {
        return p[2] + (p[1] > p[0] ? (t - p[0]) / (p[1] - p[0]) : 0) * (p[3] - p[2]);
      }
    }
    return PAD;
  }
  function el(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var a in attrs) e.setAttribute(a, attrs[a]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function drawTicks() {
    while (ticks.firstChild) ticks.removeChild(ticks.firstChild);
    pieces.forEach(function (p, i) {
      if (p[4]) return;
      var ppm = (p[3] - p[2]) * k / Math.max(p[1] - p[0], 1e-9), step = 1e9;
      // The smallest 1-2-5 step whose labels sit 70 px apart.
      for (var e = 6; e >= -4; e--) {
        [5, 2, 1].forEach(function (m) {
          var st = m * Math.pow(10, e);
          if (st * ppm >= 70) step = st;
        });
      }
      var digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
      var last = i === pieces.length - 1 ? p[1] + step : p[1];
      for (var t = Math.ceil(p[0] / step - 1e-9) * step; t <= last + 1e-9; t += step) {
        var x = X(p[2]) + (t - p[0]) * ppm;
        var nearBreak = (i > 0 && pieces[i - 1][4] && x - X(p[2]) < 22) ||
          (i + 1 < pieces.length && pieces[i + 1][4] && X(p[3]) - x < 22);
        if (nearBreak) continue;
        ticks.appendChild(el("line", { "class": "grid", x1: x, y1: 18, x2: x, y2: h }));
        ticks.appendChild(el("text", { "class": "tick", x: x, y: 13 }, t.toFixed(digits)));
      }
    });
  }
  function showRange() {
    var a = timeAt(unX(box.scrollLeft)), b = timeAt(unX(box.scrollLeft + box.clientWidth));
    range.textContent = "showing " + a.toFixed(1) + "–" + b.toFixed(1) + " ms (×" +
      (k < 10 ? k.toFixed(2) : k.toFixed(0)) + ")";
  }
  function zoomTo(nk, anchor, at) {
    // Keeps the picture's point `anchor` (unzoomed x) at `at` px from the view's left.
    k = Math.min(MAXK, Math.max(nk, 0.05));
    shapes.forEach(function (s) {
      var e = s[0], o = s[1];
      if ("x" in o) e.setAttribute("x", X(o.x).toFixed(1));
      if ("x1" in o) e.setAttribute("x1", X(o.x1).toFixed(1));
      if ("x2" in o) e.setAttribute("x2", X(o.x2).toFixed(1));
      if ("cx" in o) e.setAttribute("cx", X(o.cx).toFixed(1));
      if ("width" in o && e.tagName === "rect") e.setAttribute("width", (o.width * k).toFixed(1));
      if ("mx" in o) e.setAttribute("d", "M" + X(o.mx).toFixed(1) + o.rest);
    });
    svg.setAttribute("width", Math.ceil(X(w0)));
    drawTicks();
    box.scrollLeft = Math.max(0, X(anchor) - at);
    showRange();
  }
  function zoomRange(a, b) {
    // Unzoomed x from `a` to `b` fills the view.
    if (b - a < 1) return;
    zoomTo((box.clientWidth - 24) / (b - a), a, 12);
  }
  ctl.addEventListener("click", function (ev) {
    var z = ev.target.getAttribute && ev.target.getAttribute("data-z");
    if (!z) return;
    var mid = unX(box.scrollLeft + box.clientWidth / 2);
    if (z === "fit") zoomRange(PAD, w0);
    else if (z === "1") zoomTo(1, PAD, 0);
    else zoomTo(k * +z, mid, box.clientWidth / 2);
  });
  var drag = null;
  svg.addEventListener("mousedown", function (ev) {
    if (ev.button !== 0) return;
    var x = ev.clientX - svg.getBoundingClientRect().left;
    drag = { x: x, r: el("rect", { "class": "sel", x: x, y: 0, width: 0, height: h }) };
    svg.appendChild(drag.r);
    ev.preventDefault();
  });
  window.addEventListener("mousemove", function (ev) {
    if (!drag) return;
    var x = ev.clientX - svg.getBoundingClientRect().left;
    drag.r.setAttribute("x", Math.min(x, drag.x));
    drag.r.setAttribute("width", Math.abs(x - drag.x));
  });
  window.addEventListener("mouseup", function (ev) {
    if (!drag) return;
    var x = ev.clientX - svg.getBoundingClientRect().left, d = drag;
    drag = null;
    svg.removeChild(d.r);
    if (Math.abs(x - d.x) > 4) zoomRange(unX(Math.min(x, d.x)), unX(Math.max(x, d.x)));
  });
  box.addEventListener("scroll", showRange);
  ctl.hidden = false;
  var m = /zoom=([\d.]+)-([\d.]+)/.exec(location.hash);
  if (m) zoomRange(xAt(+m[1]), xAt(+m[2]));
  else showRange();
})();
</script>"##;
