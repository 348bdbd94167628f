// The explorer page's script (qd/viz/_explorer_page.py embeds it inline): draws the
// map, the panel, the curves and the table from the page's JSON block, and under
// `qd view` fetches newer data every 2 s. Plain ES5, no library.
(function () {
  var D = JSON.parse(document.getElementById("data").textContent);
  var NS = "http://www.w3.org/2000/svg", state = [], byId = [];
  var RUN_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  var panel = document.getElementById("panel");
  function el(tag, text, cls) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = text;
    if (cls) n.className = cls;
    return n;
  }
  function sv(tag, attrs, text) {
    var n = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function fmt(v) { return typeof v === "number" ? String(+v.toPrecision(4)) : String(v); }
  function colour(t) {
    var p = Math.max(0, Math.min(1, t)) * 15, k = Math.min(14, Math.floor(p));
    var a = D.viridis[k], b = D.viridis[k + 1], f = p - k, out = "#";
    for (var c = 1; c < 7; c += 2) {
      var v = Math.round(parseInt(a.substr(c, 2), 16) * (1 - f) + parseInt(b.substr(c, 2), 16) * f);
      out += (v < 16 ? "0" : "") + v.toString(16);
    }
    return out;
  }
  // --- what a map draws: the newest archive's elites, or an older checkpoint's cells ---
  function items(r) {
    var R = D.runs[r], st = state[r], f = st.colour, out = [];
    if (st.stop >= R.checkpoints.length) {
      R.elites.forEach(function (e, i) {
        out.push({i: i, id: e.id, obj: e.obj, b: e.b,
                  v: f === "objective" ? e.obj : e.info[f]});
      });
      return out;
    }
    var nb = R.kind === "cvt" ? 1 : R.axes.length, fi = R.fields.indexOf(f);
    R.checkpoints[st.stop].cells.forEach(function (c, k) {
      out.push({c: k, id: c[0], obj: c[1], b: c.slice(2, 2 + nb),
                v: f === "objective" ? c[1] : c[2 + nb + fi]});
    });
    return out;
  }
  function range(r) {  // over every stop, so colours mean the same on the whole slider
    var st = state[r], keep = st.stop, lo = Infinity, hi = -Infinity;
    for (st.stop = 0; st.stop <= D.runs[r].checkpoints.length; st.stop++) {
      items(r).forEach(function (it) {
        if (typeof it.v === "number") { lo = Math.min(lo, it.v); hi = Math.max(hi, it.v); }
      });
    }
    st.stop = keep;
    return [lo, hi];
  }
  function hover(R, it) {
    var parts = [];
    if (it.i !== undefined) {
      var e = R.elites[it.i];
      parts = R.axes.map(function (a, k) { return a.name + " " + fmt(e.m[k]); });
    } else parts.push("elite " + it.id);
    parts.push("objective " + fmt(it.obj));
    if (state[D.runs.indexOf(R)].colour !== "objective") {
      parts.push(state[D.runs.indexOf(R)].colour + " " + (it.v === undefined ? "-" : fmt(it.v)));
    }
    return parts.join(", ");
  }
  function ticks(g, a, x0, y0, len, horizontal) {
    var labels = [], where = [];
    if (a.kind === "categorical") {
      a.labels.forEach(function (l, k) { labels.push(l); where.push((k + 0.5) / a.labels.length); });
    } else {
      var step = Math.max(1, Math.ceil(a.bins / 8));
      for (var k = 0; k <= a.bins; k += step) { labels.push(fmt(a.edges[k])); where.push(k / a.bins); }
    }
    labels.forEach(function (l, k) {
      var t = String(l).slice(0, 12);
      if (horizontal) g.appendChild(sv("text", {x: x0 + where[k] * len, y: y0 + 14,
        "font-size": 10, "text-anchor": "middle"}, t));
      else g.appendChild(sv("text", {x: x0 - 4, y: y0 + (1 - where[k]) * len + 3,
        "font-size": 10, "text-anchor": "end"}, t));
    });
    if (horizontal) g.appendChild(sv("text", {x: x0 + len / 2, y: y0 + 32, "text-anchor": "middle"}, a.title));
    else { var m = y0 + len / 2;
      g.appendChild(sv("text", {x: 14, y: m, "text-anchor": "middle",
        transform: "rotate(-90 14 " + m + ")"}, a.title)); }
  }
  function drawMap(r) {
    var R = D.runs[r], st = state[r], pad = 60, size = D.compare ? 360 : 480;
    var svg = document.getElementById("map-" + r), list = items(r), lim = range(r);
    svg.textContent = "";
    function fill(it) {
      if (typeof it.v !== "number") return "#ffffff";
      return colour(lim[1] > lim[0] ? (it.v - lim[0]) / (lim[1] - lim[0]) : 0.5);
    }
    function cell(shape, attrs, it) {
      attrs["class"] = "cell"; attrs.fill = fill(it);
      if (it.i !== undefined) attrs["data-i"] = it.i; else attrs["data-c"] = it.c;
      var n = sv(shape, attrs); n.appendChild(sv("title", {}, hover(R, it))); svg.appendChild(n);
    }
    var ax = st.x, ay = st.y, height = size;
    if (R.kind === "cvt") {
      var cs = R.centroids, lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
      var dims = ay >= 0 ? [ax, ay] : [ax];
      cs.forEach(function (p) { dims.forEach(function (d, k) {
        lo[k] = Math.min(lo[k], p[d]); hi[k] = Math.max(hi[k], p[d]); }); });
      var xy = function (p) {
        var x = pad + (p[ax] - lo[0]) / ((hi[0] - lo[0]) || 1) * size;
        var y = ay < 0 ? 10 + size / 2 : 10 + size - (p[ay] - lo[1]) / ((hi[1] - lo[1]) || 1) * size;
        return [x, y];
      };
      svg.setAttribute("width", size + pad + 10); svg.setAttribute("height", size + pad + 10);
      svg.appendChild(sv("rect", {x: pad, y: 10, width: size, height: size, fill: "#fafafa"}));
      cs.forEach(function (p) { var q = xy(p);
        svg.appendChild(sv("circle", {cx: q[0], cy: q[1], r: 2, fill: D.empty})); });
      list.forEach(function (it) { var q = xy(cs[it.b[0]]); cell("circle", {cx: q[0], cy: q[1], r: 5}, it); });
      var names = dims.map(function (d) { return R.axes[d].title; }).join(" and ");
      svg.appendChild(sv("text", {x: pad + size / 2, y: size + 40, "text-anchor": "middle"},
        "CVT centroids by " + names));
      return list.length;
    }
    var nx = R.axes[ax].bins, ny = ay >= 0 ? R.axes[ay].bins : 1;
    if (ny === 1) height = 40;
    var best = {};
    list.forEach(function (it) {
      var key = it.b[ax] + "," + (ay >= 0 ? it.b[ay] : 0);
      if (!(key in best) || it.obj > best[key].obj) best[key] = it;
    });
    svg.setAttribute("width", size + pad + 10); svg.setAttribute("height", height + pad + 10);
    svg.appendChild(sv("rect", {x: pad, y: 10, width: size, height: height, fill: D.empty}));
    var w = size / nx, h = height / ny, drawn = 0;
    Object.keys(best).forEach(function (key) {
      var it = best[key], bx = it.b[ax], by = ay >= 0 ? it.b[ay] : 0;
      cell("rect", {x: pad + bx * w, y: 10 + (ny - 1 - by) * h, width: w, height: h}, it); drawn++;
    });
    var g = sv("g", {}); svg.appendChild(g);
    ticks(g, R.axes[ax], pad, 10 + height, size, true);
    if (ay >= 0) ticks(g, R.axes[ay], pad, 10, height, false);
    return drawn;
  }
  function redraw(r) {
    var R = D.runs[r], st = state[r], n = R.checkpoints.length, drawn = drawMap(r);
    var it = st.stop < n ? R.checkpoints[st.stop].iteration : R.stats.iteration;
    var lim = range(r);
    var what = st.stop < n ? "checkpoint of iteration " + it : "newest: iteration " + it;
    document.getElementById("stop-" + r).textContent = what + "; " + drawn + " cells drawn; " +
      st.colour + " from " + fmt(lim[0]) + " to " + fmt(lim[1]) + " (viridis)";
  }
  // --- the side panel: one elite and its ancestors ---
  function ancestors(R, start) {
    if (D.compare) { panel.appendChild(el("p", "Ancestors: see " + R.path + "/report.html")); return; }
    panel.appendChild(el("h3", "Ancestors"));
    if (!start || !(start in R.lineage)) { panel.appendChild(el("p", "not in the lineage file")); return; }
    var list = el("ol", undefined, "lineage"), seen = {}, queue = [start], shown = 0;
    seen[start] = true;
    while (queue.length && shown < 300) {
      var id = queue.shift(), r = R.lineage[id];
      if (!r) continue;
      var item = el("li");
      var parents = r[1] === null ? "parents not recorded" : (r[1].length ? "from " + r[1].join(", ") : "initial");
      item.appendChild(el("b", id));
      var why = r[4] ? " (" + r[4] + ")" : "";
      item.appendChild(el("span", " iteration " + r[0] + ", " + r[2] + ", " + r[3] + why + "; " + parents));
      var t = id in R.texts ? R.texts[id] : (id in byId[D.runs.indexOf(R)] ? R.elites[byId[D.runs.indexOf(R)][id]].text : null);
      if (R.diffs[id]) item.appendChild(el("pre", R.diffs[id], "diff"));
      else if (t !== null) item.appendChild(el("pre", t, "text"));
      list.appendChild(item); shown++;
      (r[1] || []).forEach(function (p) { if (!seen[p]) { seen[p] = true; queue.push(p); } });
    }
    panel.appendChild(list);
    if (queue.length) panel.appendChild(el("p", "and more ancestors (first 300 shown)"));
  }
  function show(r, i) {
    var R = D.runs[r], e = R.elites[i];
    panel.textContent = "";
    panel.appendChild(el("h2", (D.compare ? R.name + ": " : "") + "elite " + (e.id || "(no id)")));
    panel.appendChild(el("p", "objective " + fmt(e.obj)));
    panel.appendChild(el("p", R.axes.map(function (a, k) { return a.name + " " + fmt(e.m[k]); }).join(", ")));
    if (e.png) { var img = el("img"); img.src = e.png; img.alt = "rendering"; panel.appendChild(img); }
    panel.appendChild(el("pre", e.text, "text"));
    var info = el("dl");
    Object.keys(e.info).forEach(function (k) {
      info.appendChild(el("dt", k)); info.appendChild(el("dd", fmt(e.info[k])));
    });
    panel.appendChild(info);
    ancestors(R, e.id);
  }
  function showOld(r, k) {
    var R = D.runs[r], c = R.checkpoints[state[r].stop].cells[k];
    if (c[0] && c[0] in byId[r] && R.elites[byId[r][c[0]]].obj === c[1]) { show(r, byId[r][c[0]]); return; }
    panel.textContent = "";
    panel.appendChild(el("h2", "elite " + (c[0] || "(no id)")));
    panel.appendChild(el("p", "objective " + fmt(c[1]) + " at iteration " +
      R.checkpoints[state[r].stop].iteration + "; no longer an elite at the newest checkpoint"));
    if (c[0] && c[0] in R.texts) panel.appendChild(el("pre", R.texts[c[0]], "text"));
    ancestors(R, c[0]);
  }
  // --- curves: one chart per series, one line per run ---
  function curves() {
    var box = document.getElementById("curves"), names = [];
    box.textContent = "";
    D.runs.forEach(function (R) { Object.keys(R.series).forEach(function (k) {
      if (names.indexOf(k) < 0) names.push(k); }); });
    if (!names.length) { box.appendChild(el("p", "No metrics yet.")); return; }
    var W = 260, H = 90, P = 4;
    names.forEach(function (name) {
      var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity, last = [];
      D.runs.forEach(function (R) { var s = R.series[name]; if (!s) return;
        s[0].forEach(function (x) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); });
        s[1].forEach(function (y) { y0 = Math.min(y0, y); y1 = Math.max(y1, y); });
        last.push(fmt(s[1][s[1].length - 1])); });
      var fig = el("figure", undefined, "curve"), cap = el("figcaption", name + ": " + last.join(" / ") + " ");
      cap.appendChild(el("small", "(min " + fmt(y0) + ", max " + fmt(y1) + "; iterations " + fmt(x0) + "-" + fmt(x1) + ")"));
      fig.appendChild(cap);
      var svg = sv("svg", {width: W, height: H});
      svg.appendChild(sv("rect", {width: W, height: H, fill: "#fafafa"}));
      var sx = x1 > x0 ? (W - 2 * P) / (x1 - x0) : 0, sy = y1 > y0 ? (H - 2 * P) / (y1 - y0) : 0;
      D.runs.forEach(function (R, r) { var s = R.series[name]; if (!s) return;
        var pts = s[0].map(function (x, k) {
          var y = sy ? (s[1][k] - y0) * sy : H / 2 - P;
          return (P + (x - x0) * sx).toFixed(1) + "," + (H - P - y).toFixed(1); });
        svg.appendChild(sv("polyline", {fill: "none", "stroke-width": 1.5, points: pts.join(" "),
          stroke: D.compare ? RUN_COLOURS[r % 10] : "#3b528b", "data-run": R.name}));
      });
      fig.appendChild(svg); box.appendChild(fig);
    });
  }
  function table() {
    var t = document.getElementById("runs");
    t.textContent = "";
    var head = el("tr");
    ["run", "domain", "iterations", "evaluations", "elites", "coverage", "QD score", "best"]
      .forEach(function (h) { head.appendChild(el("th", h)); });
    t.appendChild(head);
    D.runs.forEach(function (R, r) {
      var s = R.stats, row = el("tr"), name = el("td", R.name);
      if (D.compare) name.style.borderLeft = "6px solid " + RUN_COLOURS[r % 10];
      row.appendChild(name);
      [R.domain, s.iteration, s.evaluations, s.elites + " / " + s.cells,
       (100 * s.coverage).toFixed(1) + "%", fmt(s.qd_score), s.best === null ? "-" : fmt(s.best)]
        .forEach(function (v) { row.appendChild(el("td", String(v))); });
      t.appendChild(row);
    });
  }
  // --- building the page, and rebuilding it when qd view has newer data ---
  function select(id, options, value, label) {
    var s = el("select"); s.id = id;
    options.forEach(function (o) { var n = el("option", o[1]); n.value = o[0]; s.appendChild(n); });
    s.value = String(value);
    var l = el("label", label + " "); l.appendChild(s); return l;
  }
  function build(old) {
    var maps = document.getElementById("maps");
    maps.textContent = ""; state = []; byId = [];
    document.title = D.title; document.querySelector("h1").textContent = D.title;
    D.runs.forEach(function (R, r) {
      var ids = {}; R.elites.forEach(function (e, i) { if (e.id) ids[e.id] = i; }); byId.push(ids);
      var prev = old && old[r] || {}, n = R.checkpoints.length, dims = R.axes.length;
      var colour = prev.colour && (prev.colour === "objective" || R.fields.indexOf(prev.colour) >= 0) ? prev.colour : "objective";
      var st = {x: prev.x !== undefined && prev.x < dims ? prev.x : 0,
                y: prev.y !== undefined && prev.y < dims ? prev.y : (dims > 1 ? 1 : -1),
                colour: colour, stop: prev.stop !== undefined && !prev.newest ? Math.min(prev.stop, n) : n};
      state.push(st);
      var box = el("div", undefined, "mapbox");
      if (D.compare) box.appendChild(el("h3", R.name));
      var reach = D.compare ? "ancestors in " + R.path + "/report.html. "
        : Object.keys(R.lineage).length + " lineage records reach them. ";
      box.appendChild(el("p", R.elites.length + " elites of " + R.stats.cells + " cells; " +
        reach + R.checkpoint_note, "summary"));
      var controls = el("div", undefined, "controls");
      var axes = R.axes.map(function (a, k) { return [k, a.title]; });
      if (dims > 2 || (dims === 2 && R.kind === "cvt")) {
        controls.appendChild(select("x-" + r, axes, st.x, "x"));
        controls.appendChild(select("y-" + r, axes, st.y, "y"));
      }
      var fields = [["objective", "objective"]].concat(R.fields.map(function (f) { return [f, f]; }));
      controls.appendChild(select("colour-" + r, fields, st.colour, "colour"));
      var slider = el("input"); slider.type = "range"; slider.id = "slider-" + r;
      slider.min = 0; slider.max = n; slider.value = st.stop; slider.disabled = n === 0;
      slider.title = "checkpoints kept by the run";
      var sl = el("label", "checkpoint "); sl.appendChild(slider); controls.appendChild(sl);
      box.appendChild(controls);
      box.appendChild(el("p", "", "stop")).id = "stop-" + r;
      var svg = sv("svg", {id: "map-" + r, "class": "map"}); box.appendChild(svg);
      maps.appendChild(box);
      controls.addEventListener("change", function (ev) {
        var t = ev.target;
        if (t.id === "x-" + r) st.x = +t.value;
        if (t.id === "y-" + r) st.y = +t.value;
        if (t.id === "colour-" + r) st.colour = t.value;
        redraw(r);
      });
      slider.addEventListener("input", function () { st.stop = +slider.value; redraw(r); });
      svg.addEventListener("click", function (ev) {
        var i = ev.target.getAttribute("data-i"), c = ev.target.getAttribute("data-c");
        if (i !== null) show(r, +i); else if (c !== null) showOld(r, +c);
      });
      redraw(r);
    });
    curves(); table();
  }
  build(null);
  if (D.live) {
    var busy = false;
    setInterval(function () {
      if (busy) return; busy = true;
      fetch("version", {cache: "no-store"}).then(function (res) { return res.text(); })
        .then(function (v) {
          if (v === D.version) return null;
          return fetch("data.json", {cache: "no-store"}).then(function (res) { return res.json(); });
        })
        .then(function (fresh) {
          if (!fresh) return;
          var old = state.map(function (s, r) {
            return {x: s.x, y: s.y, colour: s.colour, stop: s.stop, newest: s.stop >= D.runs[r].checkpoints.length};
          });
          D = fresh; build(old);
          document.getElementById("live").textContent = "live: updated " + new Date().toLocaleTimeString();
        })
        .catch(function () { document.getElementById("live").textContent = "live: server not answering"; })
        .then(function () { busy = false; });
    }, 2000);
  }
})();
