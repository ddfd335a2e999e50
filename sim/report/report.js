// landsim report: place search and place profiles, drawn from the JSON in the page.
// Names are only ever written with textContent (never innerHTML), so any name is text.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("place-data").textContent);
  var S = JSON.parse(document.getElementById("strings").textContent);
  var LANG = document.documentElement.lang === "da" ? "da-DK" : "en-GB";
  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = ["#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
  var byId = {};
  DATA.places.forEach(function (p) { byId[p.i] = p; });
  var Y = DATA.years, START = Y[0], END = Y[Y.length - 1];

  function fmt(t, v) {
    return t.replace(/\{(\w+)\}/g, function (m, k) { return k in v ? String(v[k]) : m; });
  }
  function num(x, digits, sign) {
    if (x === null || x === undefined || !isFinite(x)) return "–";
    var s = new Intl.NumberFormat(LANG, {maximumFractionDigits: digits || 0,
      minimumFractionDigits: digits || 0, signDisplay: sign ? "exceptZero" : "auto"}).format(x);
    return s.replace("-", "−");
  }
  function pct(share, digits) {
    var s = num(100 * share, digits === undefined ? 0 : digits);
    return LANG === "da-DK" ? s + " %" : s + "%";
  }
  function pctSigned(share) {
    var s = num(100 * share, 0, true);
    return LANG === "da-DK" ? s + " %" : s + "%";
  }
  function verdictKey(mean, lo, hi) {
    if (mean === 0 && lo === 0 && hi === 0) return "no_difference";
    if (lo > 0) return "clearly_more";
    if (hi < 0) return "clearly_fewer";
    return "cannot_tell";
  }
  function norm(s) {
    return s.toLowerCase().replace(/æ/g, "ae").replace(/ø/g, "oe").replace(/å/g, "aa")
      .normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function placeLink(id, label) {
    var a = el("a", label);
    a.href = "#p-" + id;
    return a;
  }

  // ---------------------------------------------------------------- search
  var input = document.getElementById("place-search");
  var list = document.getElementById("search-results");
  var keys = DATA.places.map(function (p) { return norm(p.n); });
  function search() {
    var q = norm(input.value.trim());
    list.textContent = "";
    if (!q) return;
    var hits = [];
    DATA.places.forEach(function (p, k) {
      var pos = keys[k].indexOf(q);
      if (pos < 0 && norm(p.m).indexOf(q) < 0 && norm(p.pa).indexOf(q) < 0) return;
      hits.push({p: p, rank: pos === 0 ? 0 : (pos > 0 ? 1 : 2)});
    });
    hits.sort(function (a, b) { return a.rank - b.rank || b.p.p - a.p.p; });
    if (!hits.length) { list.appendChild(el("li", S.search_none, "note")); return; }
    hits.slice(0, 15).forEach(function (h) {
      var li = el("li");
      li.appendChild(placeLink(h.p.i, h.p.n + " — " + h.p.k + ", " + h.p.m));
      list.appendChild(li);
    });
  }
  input.addEventListener("input", search);
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter") {
      var a = list.querySelector("a");
      if (a) { location.hash = a.getAttribute("href"); }
    }
  });

  // ---------------------------------------------------------------- chart
  function chart(p) {
    var W = 640, H = 270, L = 62, R = 26, T = 12, B = 30;
    var lines = [{label: S.p_baseline, c: "#0072B2", v: p.b, dash: ""}];
    (p.x || []).forEach(function (x) {
      if (x[2].some(function (d) { return d !== 0; })) {
        lines.push({label: DATA.scenarios[x[0]], c: COLOURS[x[0] % COLOURS.length],
          v: p.b.map(function (b, k) { return b + x[2][k]; }), dash: "6 4"});
      }
    });
    var all = p.lo.concat(p.hi);
    lines.forEach(function (l) { all = all.concat(l.v); });
    var lo = Math.min.apply(null, all), hi = Math.max.apply(null, all);
    var pad = Math.max((hi - lo) * 0.1, 1);
    lo = Math.max(0, lo - pad); hi = hi + pad;
    function sx(year) { return L + (W - L - R) * (year - START) / Math.max(END - START, 1); }
    function sy(v) { return T + (H - T - B) * (1 - (v - lo) / (hi - lo)); }
    var svg = svgEl("svg", {viewBox: "0 0 " + W + " " + H, "class": "chart", role: "img"});
    var last = lines.length > 1 ? lines[1] : null;
    var withText = "";
    if (last) {
      var x = p.x.filter(function (x) { return DATA.scenarios[x[0]] === last.label; })[0];
      var d = x[2][x[2].length - 1];
      withText = fmt(S.p_with, {scen: last.label, c: num(last.v[last.v.length - 1]),
        verdict: S[verdictKey(d, x[3], x[4])]});
    }
    var alt = fmt(S.p_traj_alt, {name: p.n, start: START, end: END, a: num(p.b[0]),
      b: num(p.b[p.b.length - 1]), "with": withText});
    svg.setAttribute("aria-label", alt);
    var title = svgEl("title", {});
    title.textContent = alt;
    svg.appendChild(title);
    var raw = (hi - lo) / 5, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (f) { return f * mag; })
      .filter(function (s) { return s >= raw; })[0];
    for (var v = Math.ceil(lo / step) * step; v <= hi; v += step) {
      var yy = sy(v);
      svg.appendChild(svgEl("line", {x1: L, x2: W - R, y1: yy, y2: yy, stroke: "#e3e3e3"}));
      var tx = svgEl("text", {x: L - 6, y: yy + 4, "text-anchor": "end"});
      tx.textContent = num(v);
      svg.appendChild(tx);
    }
    Y.forEach(function (year) {
      if ((year - START) % 5 !== 0 && year !== END) return;
      var t = svgEl("text", {x: sx(year), y: H - 8, "text-anchor": "middle"});
      t.textContent = String(year);
      svg.appendChild(t);
    });
    var band = Y.map(function (y, k) { return sx(y) + "," + sy(p.hi[k]); })
      .concat(Y.slice().reverse().map(function (y, k) {
        return sx(y) + "," + sy(p.lo[Y.length - 1 - k]); }));
    svg.appendChild(svgEl("polygon", {points: band.join(" "), fill: "#0072B2",
      "fill-opacity": "0.18", stroke: "none"}));
    lines.forEach(function (l) {
      var pts = Y.map(function (y, k) { return sx(y) + "," + sy(l.v[k]); }).join(" ");
      svg.appendChild(svgEl("polyline", {points: pts, fill: "none", stroke: l.c,
        "stroke-width": 2.5, "stroke-dasharray": l.dash}));
    });
    var legend = el("div", null, "legend");
    var band_l = el("span", S.p_band);
    band_l.style.setProperty("--c", "rgba(0,114,178,0.3)");
    legend.appendChild(band_l);
    lines.forEach(function (l) {
      var s = el("span", l.label);
      s.style.setProperty("--c", l.c);
      legend.appendChild(s);
    });
    return [svg, legend];
  }

  function csvLink(p) {
    var sep = LANG === "da-DK" ? ";" : ",";
    var head = ["year", "baseline_mean", "baseline_lowest_run", "baseline_highest_run"];
    (p.x || []).forEach(function (x) { head.push(DATA.scenarios[x[0]] + "_mean_difference"); });
    var rows = [head.join(sep)];
    Y.forEach(function (y, k) {
      var r = [y, p.b[k], p.lo[k], p.hi[k]];
      (p.x || []).forEach(function (x) { r.push(x[2][k]); });
      rows.push(r.join(sep));
    });
    var a = el("a", S.download_csv, "csv");
    a.download = "place_" + p.i + ".csv";
    a.href = "data:text/csv;charset=utf-8," + encodeURIComponent("\ufeff" + rows.join("\n"));
    return a;
  }

  // ---------------------------------------------------------------- profile
  function render(p) {
    var box = document.getElementById("profile");
    box.textContent = "";
    box.appendChild(el("h3", p.n));
    var dl = el("dl", null, "facts");
    function fact(k, v) { dl.appendChild(el("dt", k)); dl.appendChild(el("dd", v)); }
    fact(S.p_kind, p.k);
    fact(S.p_municipality, p.m);
    fact(S.p_parish, p.pa);
    fact(fmt(S.p_today, {year: START}) + ": " + S.p_pop,
      num(p.p) + (p.e ? " (" + S.p_pop_est + ")" : ""));
    var b0 = p.b[0], b1 = p.b[p.b.length - 1];
    fact(fmt(S.p_change, {year: END}), num(b0) + " → " + num(b1) +
      (b0 > 0 ? " (" + pctSigned((b1 - b0) / b0) + ")" : ""));
    fact(S.p_age65, pct(p.a65[0]) + " → " + pct(p.a65[1]));
    fact(S.p_grocer_km, num(p.g[0], 1) + " → " + num(p.g[1], 1));
    box.appendChild(dl);

    box.appendChild(el("h4", fmt(S.p_traj_h, {start: START, end: END})));
    chart(p).forEach(function (n) { box.appendChild(n); });
    (p.x || []).forEach(function (x) {
      var d = x[2][x[2].length - 1];
      box.appendChild(el("p", fmt(S.p_scen_row, {scen: DATA.scenarios[x[0]],
        targeted: x[1] ? S.p_targeted : S.p_not_targeted, year: END, diff: num(d, 0, true),
        lo: num(x[3], 0, true), hi: num(x[4], 0, true), verdict: S[verdictKey(d, x[3], x[4])]})));
    });
    box.appendChild(csvLink(p));

    box.appendChild(el("h4", S.p_services_h));
    var rowsS = Object.keys(p.s).map(function (k) { return [DATA.kinds[k], p.s[k]]; });
    (p.x || []).forEach(function (x) {
      Object.keys(x[6]).forEach(function (k) {
        rowsS.push([DATA.kinds[k] + " (" + DATA.scenarios[x[0]] + ")", x[6][k]]);
      });
    });
    if (!rowsS.length) {
      box.appendChild(el("p", fmt(S.p_services_none, {km: num(p.g[1], 1), year: END})));
    } else {
      var wrap = el("div", null, "scroll");
      var tab = el("table");
      tab.setAttribute("aria-label", fmt(S.p_services_alt, {name: p.n}));
      var tr = el("tr");
      tr.appendChild(el("th", S.p_year));
      DATA.service_years.forEach(function (y) { tr.appendChild(el("th", String(y))); });
      var thead = el("thead"); thead.appendChild(tr); tab.appendChild(thead);
      var tbody = el("tbody");
      rowsS.forEach(function (r) {
        var row = el("tr");
        row.appendChild(el("th", r[0]));
        r[1].forEach(function (v) { row.appendChild(el("td", pct(v / 100), "num")); });
        tbody.appendChild(row);
      });
      tab.appendChild(tbody);
      wrap.appendChild(tab);
      box.appendChild(wrap);
    }

    box.appendChild(el("h4", S.p_similar_h));
    if (!p.sim.length) {
      box.appendChild(el("p", S.p_similar_none));
    } else {
      var ol = el("ol");
      p.sim.forEach(function (s) {
        var q = byId[s[0]];
        if (!q) return;
        var li = el("li");
        li.appendChild(placeLink(q.i, q.n + " (" + q.m + ")"));
        li.appendChild(document.createTextNode(": " + s[1]));
        ol.appendChild(li);
      });
      box.appendChild(ol);
    }

    box.appendChild(el("h4", S.p_initiatives_h));
    var any = false;
    (p.x || []).forEach(function (x) {
      x[5].forEach(function (e) {
        any = true;
        box.appendChild(el("p", DATA.scenarios[x[0]] + ": " + fmt(S.p_init_row, {kind: e[0],
          started: e[1], n: DATA.n_runs, failed: e[2],
          why: e[3] ? " (" + S[e[3]] + ")" : ""})));
      });
    });
    if (!any) box.appendChild(el("p", S.p_no_initiative));
    box.scrollIntoView();
  }

  function route() {
    var m = /^#p-(\d+)$/.exec(location.hash);
    if (m && byId[m[1]]) render(byId[m[1]]);
  }
  window.addEventListener("hashchange", route);
  route();
})();
