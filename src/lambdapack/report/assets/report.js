(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("lambdapack-report-data").textContent);
  var KINDS = DATA.kinds;
  var tip = document.getElementById("tip");
  function human(n) {
    if (n < 1024) return n + " B";
    var u = ["KiB", "MiB", "GiB"], i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < 2);
    return n.toFixed(1) + " " + u[i];
  }
  function grp(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function hex(c) { return [1, 3, 5].map(function (i) { return parseInt(c.substr(i, 2), 16); }); }
  function mix(c, t, f) {  // colour c moved towards colour t by f (0..1), as #rrggbb
    var a = hex(c), b = hex(t);
    return "#" + a.map(function (v, i) { return Math.round(v + (b[i] - v) * f).toString(16).padStart(2, "0"); }).join("");
  }
  function light(c) { var a = hex(c); return (0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2]) > 165; }
  // Shade of a distribution's colour per kind, so both stay readable at once.
  var KIND_SHADE = [["#000000", 0.22], ["#ffffff", 0.0], ["#ffffff", 0.3], ["#ffffff", 0.5]];
  var TYPE_NAME = {d: "distribution", f: "folder", l: "file", g: "folder", o: "small files"};

  function render(sec) {
    var R = DATA.reports[+sec.getAttribute("data-report")];
    var tm = sec.querySelector(".tm"), legend = sec.querySelector(".legend"),
        crumbs = sec.querySelector(".crumbs"), btns = sec.querySelectorAll(".seg-btns button");
    // The initial view can be picked in the address: report.html#colour=kind&zoom=0
    var opts = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var p = kv.split("="); if (p[0]) opts[p[0]] = decodeURIComponent(p[1] || "");
    });
    var state = {mode: opts.colour === "kind" ? "kind" : "dist",
                 zoom: opts.zoom !== undefined && R.zoom[opts.zoom] ? opts.zoom : null};
    btns.forEach(function (o) { o.classList.toggle("on", o.getAttribute("data-mode") === state.mode); });
    tm.style.aspectRatio = DATA.width + " / " + DATA.height;

    function colour(c) {
      var k = KINDS[c[6]][2];
      if (state.mode === "kind") return c[4] === "o" ? mix(k, "#ffffff", 0.25) : k;
      var base = c[5] >= 0 && R.dists[c[5]] ? R.dists[c[5]][5] : "#bab0ac";
      var s = KIND_SHADE[c[6]];
      return mix(base, s[0], s[1]);
    }
    function draw() {
      var cells = state.zoom === null ? R.cells : R.zoom[state.zoom];
      var px = tm.clientWidth / DATA.width;
      var frag = document.createDocumentFragment();
      cells.forEach(function (c, i) {
        var el = document.createElement("div"), t = c[4];
        el.className = "cell " + (t === "d" ? "frame dist" : t === "f" ? "frame dir" : "leaf") + (t === "o" ? " other" : "");
        if (state.zoom !== null && t === "d") el.className += " zoomed";
        el.style.left = (c[0] / DATA.width * 100) + "%";
        el.style.top = (c[1] / DATA.height * 100) + "%";
        el.style.width = (c[2] / DATA.width * 100) + "%";
        el.style.height = (c[3] / DATA.height * 100) + "%";
        el.setAttribute("data-i", i);
        if (t === "d" || t === "f" || t === "g" || t === "l" || t === "o") {
          var w = c[2] * px, h = c[3] * px;
          if (t !== "d" && t !== "f") {
            var bg = colour(c);
            el.style.background = bg;
            if (t === "o") el.style.backgroundImage = "repeating-linear-gradient(135deg,rgba(255,255,255,.3) 0 3px,transparent 3px 7px)";
            if (light(bg)) el.className += " dark";
          } else if (t === "d" && state.mode === "dist") {
            el.style.borderColor = R.dists[c[5]] ? R.dists[c[5]][5] : "#bab0ac";
          }
          if (w > 34 && h > 12) {
            el.textContent = c[10];
            if ((t === "d" || t === "f" || h > 28) && w > 90) {
              var sz = document.createElement("span");
              sz.className = "sz";
              sz.textContent = (t === "l" || t === "d" || t === "f" ? " " : " ") + human(c[7]);
              if (t !== "d" && t !== "f") { el.appendChild(document.createElement("br")); }
              el.appendChild(sz);
            }
          }
        }
        frag.appendChild(el);
      });
      tm.textContent = "";
      tm.appendChild(frag);
      drawLegend();
      drawCrumbs();
    }
    function drawLegend() {
      legend.textContent = "";
      var items = [];
      if (state.mode === "kind") {
        KINDS.forEach(function (k, i) {
          var t = R.kinds[i];
          if (t[0] > 0) items.push([k[2], k[1], human(t[1]) + " in " + grp(t[0]) + " files"]);
        });
        legend.setAttribute("data-mode", "kind");
      } else {
        R.dists.forEach(function (d, i) { if (d[2] > 0) items.push([d[5], d[0], human(d[2])]); });
        legend.setAttribute("data-mode", "dist");
      }
      items.forEach(function (it) {
        var s = document.createElement("span"), sw = document.createElement("span");
        s.className = "item"; sw.className = "sw"; sw.style.background = it[0];
        s.appendChild(sw);
        s.appendChild(document.createTextNode(it[1] + (it[2] ? " \u00b7 " + it[2] : "")));
        legend.appendChild(s);
      });
      var h = document.createElement("span");
      h.className = "item hint";
      h.textContent = (state.mode === "dist" ? "darker = native code, lighter = bytecode / data; " : "") +
        "striped = small files grouped";
      legend.appendChild(h);
    }
    function drawCrumbs() {
      crumbs.textContent = "";
      if (state.zoom === null) {
        crumbs.appendChild(document.createTextNode("All distributions"));
        var hint = document.createElement("span");
        hint.className = "hint";
        hint.textContent = "  \u2014 click a distribution to zoom in; hover for sizes";
        crumbs.appendChild(hint);
      } else {
        var a = document.createElement("a");
        a.textContent = "All distributions";
        a.addEventListener("click", function () { state.zoom = null; draw(); });
        crumbs.appendChild(a);
        crumbs.appendChild(document.createTextNode(" \u203a " + R.dists[+state.zoom][0]));
      }
    }
    tm.addEventListener("click", function (ev) {
      var el = ev.target.closest(".cell");
      if (!el || state.zoom !== null) return;
      var c = R.cells[+el.getAttribute("data-i")];
      if (c && c[5] >= 0 && R.zoom[String(c[5])]) { state.zoom = String(c[5]); tip.style.display = "none"; draw(); }
    });
    tm.addEventListener("mousemove", function (ev) {
      var el = ev.target.closest(".cell");
      if (!el) { tip.style.display = "none"; return; }
      var cells = state.zoom === null ? R.cells : R.zoom[state.zoom];
      var c = cells[+el.getAttribute("data-i")];
      showTip(c, ev.clientX, ev.clientY);
    });
    tm.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    btns.forEach(function (b) {
      b.addEventListener("click", function () {
        state.mode = b.getAttribute("data-mode");
        btns.forEach(function (o) { o.classList.toggle("on", o === b); });
        draw();
      });
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && state.zoom !== null) { state.zoom = null; draw(); }
    });
    window.addEventListener("resize", draw);

    function showTip(c, x, y) {
      tip.textContent = "";
      var p = document.createElement("div");
      p.className = "p";
      p.textContent = c[11];
      tip.appendChild(p);
      var rows = [["type", TYPE_NAME[c[4]] + (c[9] > 1 ? " \u00b7 " + grp(c[9]) + " files" : "")],
                  ["distribution", c[5] >= 0 && R.dists[c[5]] ? R.dists[c[5]][0] : "several"],
                  ["kind", KINDS[c[6]][1] + (c[4] === "l" ? "" : " (mostly)")],
                  ["unzipped", human(c[7]) + "  (" + grp(c[7]) + " B, " + (c[7] / DATA.budget * 100).toFixed(2) + "% of " + DATA.budget_label + ")"],
                  ["zipped", human(c[8]) + "  (" + grp(c[8]) + " B" + (c[7] ? ", " + Math.round(c[8] / c[7] * 100) + "%" : "") + ")"]];
      var t = document.createElement("table");
      rows.forEach(function (r) {
        var tr = document.createElement("tr"), a = document.createElement("td"), b = document.createElement("td");
        a.className = "k"; a.textContent = r[0]; b.textContent = r[1];
        tr.appendChild(a); tr.appendChild(b); t.appendChild(tr);
      });
      tip.appendChild(t);
      tip.style.display = "block";
      var w = tip.offsetWidth, h = tip.offsetHeight;
      tip.style.left = Math.min(x + 14, window.innerWidth - w - 8) + "px";
      tip.style.top = (y + 16 + h > window.innerHeight ? y - h - 10 : y + 16) + "px";
    }
    draw();
  }
  document.querySelectorAll("section.report").forEach(render);
})();
