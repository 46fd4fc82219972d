// A small SVG line chart for the scaling curves: one x axis (linear or log), one y axis from 0, a line and
// dots per series, and a legend. No charting library: the bench's charts need nothing more.
'use strict';

const COLORS = { direct: '#6b7280', hunze: '#0f766e', portkey: '#b45309' };
const FALLBACK = ['#1d4ed8', '#be123c', '#7c3aed'];

function niceMax(value) {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function fmt(value) {
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (value >= 1e4) return `${+(value / 1000).toFixed(1)}k`;
  return `${+value.toFixed(value < 10 ? 2 : 0)}`;
}

const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;');

/**
 * `series`: [{ name, points: [[x, y], ...] }]; points with a non-finite y are left out.
 * `xLabels`: optional map from x value to tick label (e.g. "1 KiB").
 */
function lineChart({ title, xTitle, yTitle, series, logX = false, xLabels }) {
  const width = 640;
  const height = 360;
  const m = { left: 64, right: 130, top: 36, bottom: 48 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const xs = [...new Set(series.flatMap((s) => s.points.map(([x]) => x)))].sort((a, b) => a - b);
  const ys = series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
  const yMax = niceMax(Math.max(0, ...ys));
  const tx = logX ? Math.log10 : (v) => v;
  const [x0, x1] = [tx(xs[0]), tx(xs[xs.length - 1])];
  const px = (x) => m.left + (x1 === x0 ? plotW / 2 : ((tx(x) - x0) / (x1 - x0)) * plotW);
  const py = (y) => m.top + plotH - (y / yMax) * plotH;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${m.left}" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${py(y)}" y2="${py(y)}" stroke="#e5e7eb"/>`,
      `<text x="${m.left - 6}" y="${py(y) + 4}" text-anchor="end">${fmt(y)}</text>`,
    );
  }
  for (const x of xs) {
    parts.push(
      `<line x1="${px(x)}" x2="${px(x)}" y1="${m.top + plotH}" y2="${m.top + plotH + 4}" stroke="#374151"/>`,
      `<text x="${px(x)}" y="${m.top + plotH + 18}" text-anchor="middle">${escape(xLabels?.[x] ?? fmt(x))}</text>`,
    );
  }
  parts.push(
    `<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#374151"/>`,
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + plotH}" stroke="#374151"/>`,
    `<text x="${m.left + plotW / 2}" y="${height - 8}" text-anchor="middle">${escape(xTitle)}</text>`,
    `<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(yTitle)}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[s.name] ?? FALLBACK[i % FALLBACK.length];
    const points = s.points.filter(([, y]) => Number.isFinite(y));
    if (points.length > 1)
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const [x, y] of points)
      parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = m.top + 10 + i * 18;
    parts.push(
      `<line x1="${m.left + plotW + 14}" x2="${m.left + plotW + 34}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${m.left + plotW + 40}" y="${ly + 4}">${escape(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

module.exports = { lineChart };
