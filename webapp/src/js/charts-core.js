// Drawing time-series charts with uPlot: the JSON shapes the server sends, turned into uPlot's columns, and one
// function that draws them. charts.js (data-chart-url) and charts-range.js (the stream page) both draw through it.
//
// The columns shape: {"x": [epoch seconds…], "series": [{"label", "unit", "values": […]}], "bucket_seconds"}.
// A series may carry "min" and "max" arrays (a downsampled series: "values" holds each bucket's mean); they are
// drawn as a band around the line, so a spike inside a bucket stays visible.
// An API page {"results": [{"timestamp", "value"}…]} is drawn as one series.
import uPlot from "uplot";

export const PALETTE = ["#2463d6", "#1f9d63", "#e3a008", "#d64045", "#7c3aed", "#0e90b8", "#db2777", "#64748b"];
const GRID = "#eef2f7";
// Time axis labels on a 24-hour clock, the date written once where it changes: [tick size (s), label, then the
// prefix shown when the year, month, day, hour, minute or second changes, and 1 to show it only on change].
const TIME_AXIS = [
  [3600 * 24 * 365, "{YYYY}", null, null, null, null, null, null, 1],
  [3600 * 24 * 28, "{MMM}", "\n{YYYY}", null, null, null, null, null, 1],
  [3600 * 24, "{D} {MMM}", "\n{YYYY}", null, null, null, null, null, 1],
  [3600, "{HH}:{mm}", "\n{D} {MMM} {YYYY}", null, "\n{D} {MMM}", null, null, null, 1],
  [60, "{HH}:{mm}", "\n{D} {MMM} {YYYY}", null, "\n{D} {MMM}", null, null, null, 1],
  [1, ":{ss}", "\n{D} {MMM} {YYYY} {HH}:{mm}", null, "\n{D} {MMM} {HH}:{mm}", null, "\n{HH}:{mm}", null, 1],
];
const TIME_LEGEND = "{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}";

// Converts either JSON shape into uPlot's data plus a description of each drawn series and the bands between them.
export function toColumns(json, { label = "Value", unit = "" } = {}) {
  if (json && Array.isArray(json.x)) {
    const data = [json.x];
    const series = [];
    const bands = [];
    (json.series || []).forEach((s, index) => {
      const color = PALETTE[index % PALETTE.length];
      const name = s.label || label;
      const seriesUnit = s.unit ?? unit;
      data.push(s.values);
      series.push({ label: name, unit: seriesUnit, color });
      if (Array.isArray(s.min) && Array.isArray(s.max)) {
        const mean = data.length - 1;
        data.push(s.max, s.min);
        series.push({ label: "max", unit: seriesUnit, color, edge: true }, { label: "min", unit: seriesUnit, color, edge: true });
        bands.push({ series: [mean + 1, mean + 2], fill: `${color}2e` });
      }
    });
    return { data, series, bands, bucketSeconds: json.bucket_seconds || null };
  }
  const rows = (json && json.results) || [];
  const x = new Array(rows.length);
  const y = new Array(rows.length);
  rows.forEach((row, index) => {
    x[index] = Date.parse(row.timestamp) / 1000;
    y[index] = row.value ?? null;
  });
  // The API lists newest first when asked for the last readings; uPlot needs ascending time.
  if (rows.length > 1 && x[0] > x[rows.length - 1]) {
    x.reverse();
    y.reverse();
  }
  return { data: [x, y], series: [{ label, unit, color: PALETTE[0] }], bands: [], bucketSeconds: null };
}

function formatValue(unit, decimals) {
  const options = decimals == null ? {} : { minimumFractionDigits: decimals, maximumFractionDigits: decimals };
  return (chart, value) =>
    value == null ? "–" : `${Number(value).toLocaleString(undefined, options)}${unit ? ` ${unit}` : ""}`;
}

// The value axis as wide as its widest label: a fixed width cut "1,000,000" to "000,000". uPlot asks again after
// laying the chart out (cycle 2 and on); the width found first stands, so the layout settles.
function valueAxisSize(chart, labels, axisIndex, cycle) {
  const axis = chart.axes[axisIndex];
  if (cycle > 1) return axis._size;
  chart.ctx.font = axis.font[0];
  const widest = Math.max(0, ...(labels || []).map((label) => chart.ctx.measureText(String(label)).width));
  return Math.ceil(axis.ticks.size + axis.gap + widest / devicePixelRatio + 4);
}

// Breaks the line where buckets are missing (no readings there), instead of drawing across the hole.
function gapsWider(seconds) {
  return (u, seriesIndex, first, last, nullGaps) => {
    const xs = u.data[0];
    const gaps = nullGaps ? [...nullGaps] : [];
    for (let i = first; i < last; i++) {
      if (xs[i + 1] - xs[i] > seconds) {
        uPlot.addGap(gaps, Math.round(u.valToPos(xs[i], "x", true)), Math.round(u.valToPos(xs[i + 1], "x", true)));
      }
    }
    return gaps.sort((a, b) => a[0] - b[0]);
  };
}

export function setStatus(element, text, { icon = null } = {}) {
  let status = element.querySelector(".chart-status");
  if (!text) {
    status?.remove();
    return;
  }
  if (!status) {
    status = document.createElement("div");
    status.className = "chart-status";
    element.appendChild(status);
  }
  status.replaceChildren();
  const inner = document.createElement("div");
  if (icon) {
    const glyph = document.createElement("i");
    glyph.className = `bi bi-${icon} d-block mb-2`;
    glyph.setAttribute("aria-hidden", "true");
    inner.appendChild(glyph);
  }
  inner.appendChild(document.createTextNode(text));
  status.appendChild(inner);
}

export async function fetchJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) {
    let detail = "";
    try {
      detail = (await response.json()).detail || "";
    } catch {
      // Not JSON: the status says enough.
    }
    throw new Error(detail || `Could not load the data (HTTP ${response.status}).`);
  }
  return response.json();
}

// Draws `columns` (from toColumns) into `element`, replacing any chart drawn there before. Options: height,
// timezone ("Etc/UTC" shows times in UTC rather than the browser's zone), decimals, cursor (uPlot's), hooks.
export function drawChart(element, columns, options = {}) {
  destroyChart(element);
  const height = Number(options.height || element.dataset.chartHeight || 300);
  const timezone = options.timezone || element.dataset.chartTimezone;
  const gaps = columns.bucketSeconds ? gapsWider(columns.bucketSeconds * 1.5) : undefined;
  const chart = new uPlot(
    {
      width: Math.max(element.clientWidth, 200),
      height,
      cursor: options.cursor || { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      legend: { live: true },
      ...(timezone ? { tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), timezone) } : {}),
      series: [
        { label: options.timeLabel || "Time", value: TIME_LEGEND },
        ...columns.series.map((s) => ({
          label: s.edge ? s.label : s.unit ? `${s.label} (${s.unit})` : s.label,
          stroke: s.edge ? `${s.color}66` : s.color,
          width: s.edge ? 1 : 1.75,
          spanGaps: false,
          ...(gaps ? { gaps } : {}),
          points: s.edge ? { show: false } : { size: 5 },
          value: formatValue(s.unit, options.decimals),
        })),
      ],
      bands: columns.bands,
      axes: [
        { grid: { stroke: GRID }, ticks: { stroke: GRID }, values: TIME_AXIS },
        { grid: { stroke: GRID }, ticks: { stroke: GRID }, size: valueAxisSize },
      ],
      hooks: options.hooks || {},
    },
    columns.data,
    element,
  );
  const resize = new ResizeObserver(() => {
    const width = Math.max(element.clientWidth, 200);
    if (width !== chart.width) chart.setSize({ width, height });
  });
  resize.observe(element);
  element._chart = { chart, resize };
  // Browser tests (and curious people) can read how many points were drawn.
  element.dataset.chartPoints = String(columns.data[0].length);
  return chart;
}

export function destroyChart(element) {
  if (!element._chart) return;
  element._chart.resize.disconnect();
  element._chart.chart.destroy();
  element._chart = null;
  delete element.dataset.chartPoints;
}
