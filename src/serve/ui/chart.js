// blast serve's charts: inline SVG line charts, drawn again whole on each
// update (a run has one point a second, so a redraw is cheap and keeps the
// code small). No library: axes, grid, polylines and a legend.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';

// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmtNum(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(v >= 1e7 ? 0 : 1) + 'M';
  if (v >= 1e3) return (v / 1e3).toFixed(v >= 1e4 ? 0 : 1) + 'k';
  if (v >= 10 || Number.isInteger(v)) return String(Math.round(v));
  return String(+v.toFixed(v >= 1 ? 1 : 2));
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG_NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Draw `series` ([{name, color, points: [[x, y], ...]}]) into the element
// `box` as one SVG. `opts`: {title, unit, xLabel, xMax, xWhole (whole-number
// x ticks), empty (the text of an empty chart)}. The element's
// data-points attribute holds the number of points plotted per series.
function drawChart(box, series, opts) {
  const W = 560, H = 220, L = 52, R = 12, T = 28, B = 30;
  const svg = el('svg', {
    viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img',
    'aria-label': opts.title, class: 'chart',
  });
  svg.appendChild(el('text', { x: L, y: 16, class: 'chart-title' },
    opts.title + (opts.unit ? ` (${opts.unit})` : '')));
  let xMax = 0, yMax = 0, n = 0;
  for (const s of series) {
    n = Math.max(n, s.points.length);
    for (const [x, y] of s.points) {
      if (isFinite(x)) xMax = Math.max(xMax, x);
      if (isFinite(y)) yMax = Math.max(yMax, y);
    }
  }
  xMax = opts.xMax || Math.max(xMax, opts.xLabel ? 1 : 10);
  yMax = niceMax(yMax);
  const px = (x) => L + (x / xMax) * (W - L - R);
  const py = (y) => T + (1 - y / yMax) * (H - T - B);
  for (let i = 0; i <= 5; i++) {
    const y = (yMax * i) / 5;
    svg.appendChild(el('line', { x1: L, x2: W - R, y1: py(y), y2: py(y), class: 'grid' }));
    svg.appendChild(el('text', { x: L - 6, y: py(y) + 4, class: 'tick', 'text-anchor': 'end' },
      fmtNum(y)));
  }
  const xStep = opts.xWhole ? Math.max(1, niceMax(xMax / 6)) : niceMax(xMax / 6);
  for (let x = 0; x <= xMax + 1e-9; x += xStep) {
    svg.appendChild(el('text', { x: px(x), y: H - B + 16, class: 'tick', 'text-anchor': 'middle' },
      fmtNum(x)));
  }
  svg.appendChild(el('text', { x: W - R, y: H - 2, class: 'tick', 'text-anchor': 'end' },
    opts.xLabel || 'seconds'));
  if (n === 0) {
    svg.appendChild(el('text', { x: (L + W - R) / 2, y: H / 2, class: 'empty', 'text-anchor': 'middle' },
      opts.empty || 'waiting for the first second'));
  }
  let lx = W - R;
  for (const s of series.slice().reverse()) {
    const label = el('text', { x: lx, y: 16, class: 'legend', 'text-anchor': 'end', fill: s.color }, s.name);
    svg.appendChild(label);
    lx -= 12 + 7 * s.name.length;
    const pts = s.points.filter(([x, y]) => isFinite(x) && isFinite(y));
    if (pts.length === 0) continue;
    const line = el('polyline', {
      points: pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' '),
      fill: 'none', stroke: s.color, 'stroke-width': 2, 'data-series': s.name,
    });
    svg.appendChild(line);
    // A lone point draws no line: mark every point while there are few.
    if (pts.length < 40) {
      for (const [x, y] of pts) {
        svg.appendChild(el('circle', { cx: px(x), cy: py(y), r: 2.5, fill: s.color }));
      }
    }
  }
  box.replaceChildren(svg);
  box.dataset.points = String(n);
}
