// A device's GPS track drawn as an inline SVG, with no map server: the points are projected with Web Mercator,
// framed by a latitude/longitude grid and a scale bar, and each point tells its time on hover. Map tiles are drawn
// underneath only when the page names a tile server (data-tile-url, from the MAP_TILE_URL setting); by default
// nothing is requested from anywhere.
//
// <div data-track-map="track-data" data-tile-url=""></div>
// <script type="application/json" id="track-data">[{"t": "2026-01-01T00:00:00Z", "lat": 59.3, "lon": 18.0}, …]</script>

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 380;
const PAD = 36;
const EARTH_CIRCUMFERENCE = 40075016.686; // metres, at the equator
const GRID_STEPS = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 45];
const TILE_SIZE = 256;

// Web Mercator, in world units: x and y from 0 to 1, y growing southwards.
function project(lat, lon) {
  const clamped = Math.max(Math.min(lat, 85.05), -85.05);
  const sin = Math.sin((clamped * Math.PI) / 180);
  return [(lon + 180) / 360, 0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)];
}

function unproject(x, y) {
  const lon = x * 360 - 180;
  const n = Math.PI - 2 * Math.PI * y;
  return [(180 / Math.PI) * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n))), lon];
}

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function gridStep(span) {
  return GRID_STEPS.find((step) => span / step <= 6) || 90;
}

function niceDistance(metres) {
  const power = 10 ** Math.floor(Math.log10(metres));
  const best = [5, 2, 1].map((f) => f * power).find((d) => d <= metres);
  return best || power;
}

function formatDistance(metres) {
  return metres >= 1000 ? `${metres / 1000} km` : `${metres} m`;
}

function formatDegrees(value, step, positive, negative) {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return `${Math.abs(value).toFixed(decimals)}°${value >= 0 ? positive : negative}`;
}

function formatTime(iso) {
  return iso.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, " UTC");
}

function draw(element, points, tileUrl) {
  const width = Math.max(element.clientWidth, 200);
  const height = HEIGHT;
  const projected = points.map((p) => project(p.lat, p.lon));
  let [minX, minY] = [Math.min(...projected.map((p) => p[0])), Math.min(...projected.map((p) => p[1]))];
  let [maxX, maxY] = [Math.max(...projected.map((p) => p[0])), Math.max(...projected.map((p) => p[1]))];
  // A single point, or points very close together, still get a few hundred metres around them.
  const minimum = 0.00001;
  if (maxX - minX < minimum) [minX, maxX] = [minX - minimum / 2, maxX + minimum / 2];
  if (maxY - minY < minimum) [minY, maxY] = [minY - minimum / 2, maxY + minimum / 2];
  const scale = Math.min((width - 2 * PAD) / (maxX - minX), (height - 2 * PAD) / (maxY - minY));
  const offsetX = width / 2 - ((minX + maxX) / 2) * scale;
  const offsetY = height / 2 - ((minY + maxY) / 2) * scale;
  const toScreen = ([x, y]) => [x * scale + offsetX, y * scale + offsetY];

  element.replaceChildren();
  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    class: "track-map-svg",
    role: "img",
    "aria-label": `Track of ${points.length} recorded locations`,
  });
  el("rect", { x: 0, y: 0, width, height, class: "track-map-bg" }, svg);

  if (tileUrl) drawTiles(svg, tileUrl, scale, offsetX, offsetY, width, height);

  // The grid: meridians and parallels at round degrees over what the view shows.
  const [north, west] = unproject(-offsetX / scale, -offsetY / scale);
  const [south, east] = unproject((width - offsetX) / scale, (height - offsetY) / scale);
  const grid = el("g", { class: "track-map-grid" }, svg);
  const lonStep = gridStep(east - west);
  for (let lon = Math.ceil(west / lonStep) * lonStep; lon <= east; lon += lonStep) {
    const [x] = toScreen(project(0, lon));
    el("line", { x1: x, y1: 0, x2: x, y2: height }, grid);
    const label = el("text", { x: x + 3, y: height - 6, class: "track-map-label" }, grid);
    label.textContent = formatDegrees(lon, lonStep, "E", "W");
  }
  const latStep = gridStep(north - south);
  for (let lat = Math.ceil(south / latStep) * latStep; lat <= north; lat += latStep) {
    const [, y] = toScreen(project(lat, 0));
    el("line", { x1: 0, y1: y, x2: width, y2: y }, grid);
    const label = el("text", { x: 4, y: y - 3, class: "track-map-label" }, grid);
    label.textContent = formatDegrees(lat, latStep, "N", "S");
  }

  // The scale bar, true at the middle of the view.
  const middleLat = (north + south) / 2;
  const metresPerPixel = (EARTH_CIRCUMFERENCE * Math.cos((middleLat * Math.PI) / 180)) / scale;
  const distance = niceDistance(metresPerPixel * 120);
  const barWidth = distance / metresPerPixel;
  const bar = el("g", { class: "track-map-scale", transform: `translate(${width - barWidth - 14}, 32)` }, svg);
  el("rect", { x: -6, y: -22, width: barWidth + 12, height: 28, rx: 4, class: "track-map-scale-bg" }, bar);
  el("path", { d: `M0 -6 V0 H${barWidth} V-6` }, bar);
  const scaleLabel = el("text", { x: barWidth / 2, y: -9, "text-anchor": "middle", class: "track-map-label" }, bar);
  scaleLabel.textContent = formatDistance(distance);
  svg.dataset.scaleMetres = String(distance);

  // The track, then each point; the latest is drawn last and stands out.
  const screen = projected.map(toScreen);
  if (screen.length > 1) {
    el("polyline", { points: screen.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "), class: "track-map-line" }, svg);
  }
  const readout = element.parentElement?.querySelector("[data-track-readout]");
  const dots = el("g", { class: "track-map-points" }, svg);
  screen.forEach(([x, y], index) => {
    const point = points[index];
    const latest = index === screen.length - 1;
    const dot = el("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: latest ? 7 : 4.5, class: latest ? "latest" : "" }, dots);
    const text = `${formatTime(point.t)} · ${point.lat.toFixed(5)}, ${point.lon.toFixed(5)}`;
    el("title", {}, dot).textContent = text;
    dot.dataset.time = point.t;
    if (readout) {
      dot.addEventListener("mouseenter", () => {
        readout.textContent = text;
      });
    }
  });
  element.appendChild(svg);
  element.dataset.mapPoints = String(points.length);
  element.dataset.mapState = "ready";
}

function drawTiles(svg, template, scale, offsetX, offsetY, width, height) {
  // The zoom whose tiles are closest to the view's scale, then every tile the view touches.
  const zoom = Math.max(0, Math.min(19, Math.round(Math.log2(scale / TILE_SIZE))));
  const tiles = 2 ** zoom;
  const size = scale / tiles;
  const layer = el("g", { class: "track-map-tiles" }, svg);
  const first = [Math.floor(-offsetX / size), Math.floor(-offsetY / size)];
  const last = [Math.floor((width - offsetX) / size), Math.floor((height - offsetY) / size)];
  for (let tx = Math.max(first[0], 0); tx <= Math.min(last[0], tiles - 1); tx++) {
    for (let ty = Math.max(first[1], 0); ty <= Math.min(last[1], tiles - 1); ty++) {
      const href = template.replace("{z}", zoom).replace("{x}", tx).replace("{y}", ty);
      el("image", { href, x: tx * size + offsetX, y: ty * size + offsetY, width: size, height: size }, layer);
    }
  }
}

export function initTrackMaps(root = document) {
  root.querySelectorAll("[data-track-map]").forEach((element) => {
    if (element.dataset.mapReady) return;
    element.dataset.mapReady = "1";
    const source = document.getElementById(element.dataset.trackMap);
    let points = [];
    try {
      points = (source ? JSON.parse(source.textContent) : []).filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
    } catch {
      points = [];
    }
    if (!points.length) {
      element.dataset.mapPoints = "0";
      element.dataset.mapState = "empty";
      return;
    }
    const tileUrl = element.dataset.tileUrl || "";
    draw(element, points, tileUrl);
    let pending = 0;
    window.addEventListener("resize", () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => draw(element, points, tileUrl));
    });
  });
}
