// Inline SVG charts, drawn here (no library, nothing fetched): columns and a line over days, horizontal bars
// over models, accounts or keys. Every mark carries a <title> (tooltip) and data-group/data-value, and each
// chart sits next to a table with the same figures for screen readers.
import { svg } from './dom.js';
import { num } from './format.js';

export interface Point {
  /** What the mark stands for (a day, a model id, an account). */
  group: string;
  label: string;
  value: number;
}

export interface ChartOptions {
  /** Accessible name of the chart, e.g. "Requests per day". */
  title: string;
  /** Unit in tooltips, e.g. "requests". */
  unit: string;
  /** data-chart attribute, for tests and styling. */
  name: string;
}

const WIDTH = 720;

/** A step of 1, 2 or 5 times a power of ten (at least 1) that splits `max` into about four intervals. */
function niceScale(max: number): { top: number; step: number } {
  const rough = Math.max(max, 1) / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power);
  return { top: Math.max(step, Math.ceil(max / step) * step), step };
}

function frame(options: ChartOptions, height: number): SVGElement {
  const titleId = `chart-${options.name}-title`;
  return svg(
    'svg',
    {
      viewBox: `0 0 ${WIDTH} ${height}`,
      role: 'img',
      'aria-labelledby': titleId,
      'data-chart': options.name,
      preserveAspectRatio: 'xMidYMid meet',
    },
    svg('title', { id: titleId }, options.title),
  );
}

const tooltip = (point: Point, unit: string) => `${point.label}: ${num(point.value)} ${unit}`;

/** Value axis with grid lines for a vertical chart; returns the y of a value. */
function valueAxis(
  chart: SVGElement,
  max: number,
  area: { left: number; right: number; top: number; bottom: number },
) {
  const { top, step } = niceScale(max);
  const y = (value: number) => area.bottom - ((area.bottom - area.top) * value) / top;
  for (let tick = 0; tick <= top; tick += step) {
    chart.append(
      svg('line', { class: 'grid-line', x1: area.left, x2: area.right, y1: y(tick), y2: y(tick) }),
    );
    chart.append(svg('text', { x: area.left - 6, y: y(tick) + 4, 'text-anchor': 'end' }, num(tick)));
  }
  chart.append(
    svg('line', { class: 'axis', x1: area.left, x2: area.right, y1: area.bottom, y2: area.bottom }),
  );
  return y;
}

/** Labels under every n-th slot of a time axis (about twelve at most). */
function timeLabels(
  chart: SVGElement,
  points: Point[],
  x: (index: number) => number,
  baseline: number,
): void {
  const every = Math.ceil(points.length / 12);
  points.forEach((point, index) => {
    if (index % every !== 0) return;
    chart.append(
      svg('text', { x: x(index), y: baseline + 22, 'text-anchor': 'middle' }, point.label.slice(5)),
    );
  });
}

const AREA = { left: 84, right: WIDTH - 12, top: 12, bottom: 220 };

/** Columns over time (requests per day). */
export function columnChart(points: Point[], options: ChartOptions): SVGElement {
  const chart = frame(options, 252);
  const y = valueAxis(chart, Math.max(0, ...points.map((p) => p.value)), AREA);
  const slot = (AREA.right - AREA.left) / Math.max(points.length, 1);
  const width = Math.max(1, slot * 0.7);
  const center = (index: number) => AREA.left + slot * index + slot / 2;
  points.forEach((point, index) => {
    const top = y(point.value);
    chart.append(
      svg(
        'rect',
        {
          class: 'bar',
          x: center(index) - width / 2,
          y: top,
          width,
          height: Math.max(0, AREA.bottom - top),
          'data-group': point.group,
          'data-value': point.value,
        },
        svg('title', {}, tooltip(point, options.unit)),
      ),
    );
  });
  timeLabels(chart, points, center, AREA.bottom);
  return chart;
}

/** A line with a dot per day (tokens per day). */
export function lineChart(points: Point[], options: ChartOptions): SVGElement {
  const chart = frame(options, 252);
  const y = valueAxis(chart, Math.max(0, ...points.map((p) => p.value)), AREA);
  const slot = (AREA.right - AREA.left) / Math.max(points.length, 1);
  const x = (index: number) => AREA.left + slot * index + slot / 2;
  const path = points.map((point, index) => `${x(index).toFixed(1)},${y(point.value).toFixed(1)}`).join(' ');
  chart.append(svg('polyline', { class: 'line', points: path }));
  points.forEach((point, index) => {
    chart.append(
      svg(
        'circle',
        {
          class: 'point',
          cx: x(index),
          cy: y(point.value),
          r: 3.5,
          'data-group': point.group,
          'data-value': point.value,
        },
        svg('title', {}, tooltip(point, options.unit)),
      ),
    );
  });
  timeLabels(chart, points, x, AREA.bottom);
  return chart;
}

/** Horizontal bars, one per model, account or key, labelled on the left. */
export function barChart(points: Point[], options: ChartOptions): SVGElement {
  const rowHeight = 30;
  const labelWidth = 250;
  const valueWidth = 90;
  const chart = frame(options, points.length * rowHeight + 8);
  const max = Math.max(1, ...points.map((p) => p.value));
  const span = WIDTH - labelWidth - valueWidth;
  points.forEach((point, index) => {
    const top = 4 + index * rowHeight;
    const width = (span * point.value) / max;
    const label = point.label.length > 30 ? `${point.label.slice(0, 29)}…` : point.label;
    chart.append(
      svg(
        'text',
        { x: labelWidth - 8, y: top + 20, 'text-anchor': 'end' },
        svg('title', {}, point.label),
        label,
      ),
    );
    chart.append(
      svg(
        'rect',
        {
          class: 'bar',
          x: labelWidth,
          y: top + 5,
          width: Math.max(point.value > 0 ? 2 : 0, width),
          height: rowHeight - 10,
          'data-group': point.group,
          'data-value': point.value,
        },
        svg('title', {}, tooltip(point, options.unit)),
      ),
    );
    chart.append(svg('text', { class: 'value', x: labelWidth + width + 6, y: top + 20 }, num(point.value)));
  });
  return chart;
}
