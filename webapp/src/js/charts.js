// Time-series charts drawn with uPlot, which stays fast with hundreds of thousands of points; the server
// downsamples anything larger before sending it.
//
// <div class="chart" data-chart-url="/…/data.json" data-chart-label="Temperature" data-chart-unit="°C"></div>
//
// The URL answers JSON in one of two shapes:
//   columns:  {"x": [epoch seconds…], "series": [{"label": "…", "unit": "…", "values": [number|null…]}]}
//   API page: {"results": [{"timestamp": "2024-05-01T10:00:00Z", "value": 21.5}, …]}  (one series)
// With data-chart-zoom-refetch, zooming asks the URL again with ?start=&end= (ISO) for finer detail, and a
// double click goes back to the first view.
import uPlot from "uplot";

const PALETTE = ["#2463d6", "#1f9d63", "#e3a008", "#d64045", "#7c3aed", "#0e90b8", "#db2777", "#64748b"];

// Converts either JSON shape into uPlot's columns plus the series' labels and units.
export function toColumns(json, { label = "Value", unit = "" } = {}) {
  if (json && Array.isArray(json.x)) {
    const series = json.series || [];
    return {
      data: [json.x, ...series.map((s) => s.values)],
      series: series.map((s) => ({ label: s.label || label, unit: s.unit ?? unit })),
    };
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
  return { data: [x, y], series: [{ label, unit }] };
}

function formatValue(unit) {
  return (chart, value) => (value == null ? "–" : `${Number(value).toLocaleString()}${unit ? ` ${unit}` : ""}`);
}

function setStatus(element, text) {
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
  status.textContent = text;
}

async function fetchColumns(url, options) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) throw new Error(`Could not load the data (HTTP ${response.status}).`);
  return toColumns(await response.json(), options);
}

function withRange(url, min, max) {
  const target = new URL(url, window.location.href);
  target.searchParams.set("start", new Date(min * 1000).toISOString());
  target.searchParams.set("end", new Date(max * 1000).toISOString());
  return target.toString();
}

export async function timeSeriesChart(element, options = {}) {
  const url = options.url || element.dataset.chartUrl;
  const labels = { label: options.label || element.dataset.chartLabel, unit: options.unit || element.dataset.chartUnit };
  const height = Number(options.height || element.dataset.chartHeight || 300);
  setStatus(element, "Loading…");
  let columns;
  try {
    columns = await fetchColumns(url, labels);
  } catch (error) {
    setStatus(element, error.message);
    return null;
  }
  if (!columns.data[0].length) {
    setStatus(element, element.dataset.chartEmpty || "No data yet.");
    return null;
  }
  setStatus(element, "");

  const initial = columns.data;
  const chart = new uPlot(
    {
      width: Math.max(element.clientWidth, 200),
      height,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      legend: { live: true },
      series: [
        {},
        ...columns.series.map((s, index) => ({
          label: s.unit ? `${s.label} (${s.unit})` : s.label,
          stroke: PALETTE[index % PALETTE.length],
          width: 1.5,
          spanGaps: false,
          points: { show: false },
          value: formatValue(s.unit),
        })),
      ],
      axes: [{ grid: { stroke: "#eef2f7" } }, { grid: { stroke: "#eef2f7" }, size: 60 }],
    },
    initial,
    element,
  );

  if (element.hasAttribute("data-chart-zoom-refetch")) {
    let latest = 0;
    chart.hooks.setSelect = [
      async (u) => {
        if (u.select.width < 2) return;
        const min = u.posToVal(u.select.left, "x");
        const max = u.posToVal(u.select.left + u.select.width, "x");
        const request = ++latest;
        try {
          const zoomed = await fetchColumns(withRange(url, min, max), labels);
          if (request === latest && zoomed.data[0].length) {
            u.setData(zoomed.data, false);
            u.setScale("x", { min, max });
          }
        } catch {
          // Keep the coarser view; the next zoom tries again.
        }
      },
    ];
    chart.over.addEventListener("dblclick", () => {
      latest++;
      chart.setData(initial, true);
    });
  }

  new ResizeObserver(() => {
    const width = Math.max(element.clientWidth, 200);
    if (width !== chart.width) chart.setSize({ width, height });
  }).observe(element);
  return chart;
}

export function initCharts(root = document) {
  return Promise.all(
    [...root.querySelectorAll("[data-chart-url]")]
      .filter((element) => !element.dataset.chartReady)
      .map((element) => {
        element.dataset.chartReady = "1";
        return timeSeriesChart(element);
      }),
  );
}

window.iotile = Object.assign(window.iotile || {}, { charts: { timeSeriesChart, toColumns, initCharts } });

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => initCharts());
} else {
  initCharts();
}
