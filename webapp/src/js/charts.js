// Time-series charts drawn with uPlot, which stays fast with hundreds of thousands of points; the server
// downsamples anything larger before sending it.
//
// <div class="chart" data-chart-url="/…/data.json" data-chart-label="Temperature" data-chart-unit="°C"></div>
//
// The URL answers JSON in one of the shapes charts-core.js reads: columns (optionally with a min–max band per
// series) or an API page. With data-chart-zoom-refetch, zooming asks the URL again with ?start=&end= (ISO) for
// finer detail, and a double click goes back to the first view.
//
// The stream page's chart, with its time-range picker, panning and table, is a range explorer (charts-range.js).
import { drawChart, fetchJson, setStatus, toColumns } from "./charts-core.js";
import { initRangeExplorers } from "./charts-range.js";

async function fetchColumns(url, options) {
  return toColumns(await fetchJson(url), options);
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

  if (!element.hasAttribute("data-chart-zoom-refetch")) {
    return drawChart(element, columns, { height: options.height });
  }
  const initial = columns;
  let latest = 0;
  // Every redraw gets the same hooks: the band (min–max) comes and goes with downsampling, so the series count
  // can change and a zoomed view is drawn as a new chart rather than updated in place.
  const hooks = {
    setSelect: [
      async (u) => {
        if (u.select.width < 2) return;
        const min = u.posToVal(u.select.left, "x");
        const max = u.posToVal(u.select.left + u.select.width, "x");
        const request = ++latest;
        try {
          const zoomed = await fetchColumns(withRange(url, min, max), labels);
          if (request === latest && zoomed.data[0].length) {
            drawChart(element, zoomed, { height: options.height, hooks }).setScale("x", { min, max });
          }
        } catch {
          // Keep the coarser view; the next zoom tries again.
        }
      },
    ],
    ready: [
      (u) =>
        u.over.addEventListener("dblclick", () => {
          latest++;
          drawChart(element, initial, { height: options.height, hooks });
        }),
    ],
  };
  return drawChart(element, columns, { height: options.height, hooks });
}

export function initCharts(root = document) {
  initRangeExplorers(root);
  return Promise.all(
    [...root.querySelectorAll("[data-chart-url]")]
      .filter((element) => !element.dataset.chartReady)
      .map((element) => {
        element.dataset.chartReady = "1";
        return timeSeriesChart(element);
      }),
  );
}

window.iotile = Object.assign(window.iotile || {}, { charts: { timeSeriesChart, toColumns, drawChart, initCharts } });

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => initCharts());
} else {
  initCharts();
}
