// A range explorer: a chart over a time window the operator moves with presets, a custom start and end, the
// ← → buttons, zoom out, and by dragging across the chart (zoom in); a double click shows everything. The window's
// other views follow it: a table swapped in from the server, the CSV link and the address bar (so a reload or a
// shared link shows the same window). All times are UTC, as on the server.
//
// <section data-range-explorer data-series-url="…/series.json" data-table-url="…/table/"
//          data-first="epoch s" data-last="epoch s" data-start="epoch s" data-end="epoch s" data-preset="all">
//   <a data-range-preset="24h" href="?range=24h">24 h</a> …            presets (links, so they work without JS)
//   <form data-range-form> <input name="start" type="datetime-local"> <input name="end" …> </form>
//   <button data-range-pan="-1"> <button data-range-zoom-out> <button data-range-pan="1">
//   <span data-range-label></span>                                       the window, in words
//   <div class="chart" data-range-chart data-chart-label="…" data-chart-unit="…"></div>
//   <div data-range-meta></div>                                          readings and downsampling, in words
//   <div data-range-table>…</div>   its links marked data-range-table-link page through the table in place
//   <a data-range-csv href="…/data.csv">
// </section>
//
// The chart element reports what it shows in data-chart-points (points drawn), data-chart-readings (readings they
// stand for) and data-chart-bucket-seconds (empty for raw readings); the explorer's data-range-state is "loading"
// while a window is fetched and "ready" once the chart and the table both show it. While a new table loads, the
// links of the one it replaces do nothing: they page through the previous window.
import { destroyChart, drawChart, fetchJson, setStatus, toColumns } from "./charts-core.js";

const PRESET_SECONDS = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
const MIN_SPAN = 1;

function iso(seconds) {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

// datetime-local inputs hold UTC here, to second precision.
function toInput(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 19);
}

function fromInput(value) {
  const seconds = Date.parse(`${value}Z`) / 1000;
  return Number.isFinite(seconds) ? seconds : null;
}

function describeTime(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ");
}

export function describeDuration(seconds) {
  const units = [
    [7 * 86400, "week"],
    [86400, "day"],
    [3600, "h"],
    [60, "min"],
    [1, "s"],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size;
      if (name === "week" || name === "day") return `${count} ${name}${count === 1 ? "" : "s"}`;
      return `${count} ${name}`;
    }
  }
  return `${seconds} s`;
}

class RangeExplorer {
  constructor(root) {
    this.root = root;
    this.chartElement = root.querySelector("[data-range-chart]");
    this.tableElement = root.querySelector("[data-range-table]");
    this.form = root.querySelector("[data-range-form]");
    this.seriesUrl = root.dataset.seriesUrl;
    this.tableUrl = root.dataset.tableUrl;
    this.first = root.dataset.first ? Number(root.dataset.first) : null;
    this.last = root.dataset.last ? Number(root.dataset.last) : null;
    this.start = root.dataset.start ? Number(root.dataset.start) : null;
    this.end = root.dataset.end ? Number(root.dataset.end) : null;
    this.preset = root.dataset.preset || "";
    this.latest = 0;
    this.latestTable = 0;
    this.loading = new Set();
    this.labels = { label: this.chartElement.dataset.chartLabel, unit: this.chartElement.dataset.chartUnit };
    this.bind();
    this.showControls();
    this.loadChart();
  }

  bind() {
    this.root.querySelectorAll("[data-range-preset]").forEach((element) =>
      element.addEventListener("click", (event) => {
        const window_ = this.presetWindow(element.dataset.rangePreset);
        if (!window_) return;
        event.preventDefault();
        this.setWindow(...window_, element.dataset.rangePreset);
      }),
    );
    this.root.querySelectorAll("[data-range-pan]").forEach((element) =>
      element.addEventListener("click", () => this.pan(Number(element.dataset.rangePan))),
    );
    this.root.querySelector("[data-range-zoom-out]")?.addEventListener("click", () => this.zoomOut());
    this.form?.addEventListener("submit", (event) => {
      event.preventDefault();
      const start = fromInput(this.form.elements.start.value);
      const end = fromInput(this.form.elements.end.value);
      const valid = start != null && end != null && start < end;
      this.form.classList.toggle("was-invalid", !valid);
      this.form.elements.end.setCustomValidity(valid ? "" : "The end must come after the start.");
      if (valid) this.setWindow(start, end, "");
      else this.form.reportValidity();
    });
    this.form?.addEventListener("input", () => this.form.elements.end.setCustomValidity(""));
    this.tableElement?.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-range-table-link]");
      if (!link) return;
      event.preventDefault();
      if (this.loading.has("table")) return;
      const search = new URL(link.href).search;
      this.loadTable(search);
      window.history.replaceState(null, "", link.href);
    });
  }

  presetWindow(key) {
    if (this.first == null || this.last == null) return null;
    const end = Math.floor(this.last) + 1;
    if (key === "all") return [Math.floor(this.first), end];
    return PRESET_SECONDS[key] ? [end - PRESET_SECONDS[key], end] : null;
  }

  // The window as the page's own links name it: a preset by name, a custom window by its ends.
  query() {
    const query = new URLSearchParams();
    if (this.preset === "all") return query;
    if (this.preset) query.set("range", this.preset);
    else if (this.start != null) {
      query.set("start", iso(this.start));
      query.set("end", iso(this.end));
    }
    return query;
  }

  setWindow(start, end, preset = "") {
    if (end - start < MIN_SPAN) end = start + MIN_SPAN;
    this.start = Math.floor(start);
    this.end = Math.ceil(end);
    this.preset = preset;
    this.showControls();
    const search = this.query().toString();
    window.history.replaceState(null, "", `${window.location.pathname}${search ? `?${search}` : ""}`);
    this.loadTable(search ? `?${search}` : "");
    this.loadChart();
  }

  pan(direction) {
    if (this.start == null) return;
    const shift = Math.round(((this.end - this.start) / 2) * direction);
    this.setWindow(this.start + shift, this.end + shift);
  }

  zoomOut() {
    if (this.start == null) return;
    const span = this.end - this.start;
    this.setWindow(this.start - span / 2, this.end + span / 2);
  }

  showControls() {
    this.root.querySelectorAll("[data-range-preset]").forEach((element) => {
      const active = element.dataset.rangePreset === this.preset;
      element.classList.toggle("active", active);
      element.setAttribute("aria-pressed", String(active));
    });
    if (this.form && this.start != null) {
      this.form.elements.start.value = toInput(this.start);
      this.form.elements.end.value = toInput(this.end);
    }
    const label = this.root.querySelector("[data-range-label]");
    if (label && this.start != null) label.textContent = `${describeTime(this.start)} – ${describeTime(this.end)} UTC`;
    const csv = this.root.querySelector("[data-range-csv]");
    if (csv) {
      const target = new URL(csv.href, window.location.href);
      target.search = this.query().toString();
      csv.href = target.toString();
    }
  }

  // The explorer's state covers its chart and its table: "ready" once neither is loading.
  startLoading(part) {
    this.loading.add(part);
    this.root.dataset.rangeState = "loading";
  }

  finishLoading(part) {
    this.loading.delete(part);
    if (!this.loading.size) this.root.dataset.rangeState = "ready";
  }

  async loadTable(search) {
    if (!this.tableElement || !this.tableUrl) return;
    const request = ++this.latestTable;
    this.startLoading("table");
    this.tableElement.classList.add("is-loading");
    try {
      const response = await fetch(`${this.tableUrl}${search}`, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const html = await response.text();
      if (request !== this.latestTable) return;
      this.tableElement.innerHTML = html;
      window.iotile?.init?.(this.tableElement);
    } catch {
      // The table keeps its rows; a reload shows the window from the address bar.
    } finally {
      if (request === this.latestTable) {
        this.tableElement.classList.remove("is-loading");
        this.finishLoading("table");
      }
    }
  }

  async loadChart() {
    const element = this.chartElement;
    if (this.start == null) {
      this.showEmpty("No readings yet. They appear here as the device reports them.");
      return;
    }
    const request = ++this.latest;
    this.startLoading("chart");
    const url = new URL(this.seriesUrl, window.location.href);
    url.searchParams.set("start", iso(this.start));
    url.searchParams.set("end", iso(this.end));
    element.classList.add("is-loading");
    if (!element._chart) setStatus(element, "Loading…");
    let json;
    try {
      json = await fetchJson(url);
    } catch (error) {
      if (request === this.latest) {
        element.classList.remove("is-loading");
        destroyChart(element);
        setStatus(element, error.message, { icon: "exclamation-triangle" });
        this.finishLoading("chart");
      }
      return;
    }
    if (request !== this.latest) return;
    element.classList.remove("is-loading");
    const columns = toColumns(json, this.labels);
    element.dataset.chartReadings = String(json.count || 0);
    element.dataset.chartBucketSeconds = json.bucket_seconds ? String(json.bucket_seconds) : "";
    this.describe(json);
    if (!columns.data[0].length) {
      this.showEmpty(`No readings between ${describeTime(this.start)} and ${describeTime(this.end)} UTC.`);
      return;
    }
    setStatus(element, "");
    const chart = drawChart(element, columns, {
      timezone: "Etc/UTC",
      timeLabel: "Time (UTC)",
      decimals: json.decimals,
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: {
        setSelect: [(u) => this.zoomTo(u)],
        ready: [(u) => u.over.addEventListener("dblclick", () => this.setWindow(...(this.presetWindow("all") || [this.start, this.end]), "all"))],
      },
    });
    // The axis spans the whole window, even where it has no readings.
    chart.setScale("x", { min: this.start, max: this.end });
    this.finishLoading("chart");
  }

  zoomTo(u) {
    if (u.select.width < 3) return;
    const min = u.posToVal(u.select.left, "x");
    const max = u.posToVal(u.select.left + u.select.width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.setWindow(min, max);
  }

  describe(json) {
    const meta = this.root.querySelector("[data-range-meta]");
    if (!meta) return;
    const readings = Number(json.count || 0).toLocaleString("en");
    if (json.bucket_seconds) {
      meta.textContent =
        `${readings} readings, drawn as ${Number(json.points).toLocaleString("en")} buckets of ` +
        `${describeDuration(json.bucket_seconds)}: the line is each bucket's mean, the band its minimum and maximum.`;
    } else {
      meta.textContent = `${readings} reading${json.count === 1 ? "" : "s"}, each drawn as it was measured.`;
    }
  }

  showEmpty(text) {
    destroyChart(this.chartElement);
    this.chartElement.classList.remove("is-loading");
    this.chartElement.dataset.chartPoints = "0";
    setStatus(this.chartElement, text, { icon: "graph-up" });
    this.finishLoading("chart");
    const meta = this.root.querySelector("[data-range-meta]");
    if (meta && this.start == null) meta.textContent = "";
  }
}

export function initRangeExplorers(root = document) {
  root.querySelectorAll("[data-range-explorer]").forEach((element) => {
    if (element.dataset.rangeReady) return;
    element.dataset.rangeReady = "1";
    element._rangeExplorer = new RangeExplorer(element);
  });
}
