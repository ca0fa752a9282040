// Chart.js set-up shared by the views: no animation, colours per accelerator, marker shapes
// per engine, a vertical marker at the target interactivity, and performance marks.

let charts: ChartT[] = [];

function destroyCharts(): void {
  for (const c of charts) c.destroy();
  charts = [];
  pending.length = 0;
}

let hwNames: string[] = [];
const ENGINE_STYLES = ["circle", "triangle", "rect", "rectRot", "star", "crossRot", "cross", "rectRounded"] as const;
let engineNames: string[] = [];

/** Fixes the colour of each accelerator and the marker of each engine for the whole site. */
function setPalette(index: IndexFile): void {
  hwNames = sorted([...index.hardware.map((a) => a.id ?? a.name), ...index.views.flatMap((v) => v.hardware)]);
  engineNames = sorted(index.views.flatMap((v) => v.engines));
}

/** Okabe–Ito's colour-blind-safe palette with black and two of Tol's: the high-contrast one. */
const CONTRAST = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442", "#882255", "#44AA99"];

let palette: "default" | "contrast" = "default";
let theme: "light" | "dark" = "light";

/** Sets the palette and theme every chart of the page is drawn in. */
function setLook(p: string | undefined, t: string | undefined): void {
  palette = p === "contrast" ? "contrast" : "default";
  theme = t === "dark" ? "dark" : "light";
  document.documentElement.dataset.theme = theme;
  const ink = theme === "dark" ? "#d8dde3" : "#222";
  const grid = theme === "dark" ? "rgba(255,255,255,0.12)" : "rgba(0,0,0,0.1)";
  Chart.defaults.color = ink;
  Chart.defaults.borderColor = grid;
}

function colorOf(hw: string, shade = 0): string {
  const i = Math.max(0, hwNames.indexOf(hw));
  if (palette === "contrast") {
    // Dark theme: black is invisible, so it gives way to white.
    const c = CONTRAST[(i + 3 * (shade % 3)) % CONTRAST.length];
    return theme === "dark" && c === "#000000" ? "#ffffff" : c;
  }
  const hue = Math.round((i * 360) / Math.max(1, hwNames.length) + 12) % 360;
  const light = theme === "dark" ? 58 + 10 * (shade % 3) : 42 + 14 * (shade % 3);
  return `hsl(${hue}, 70%, ${light}%)`;
}

/** A shade per config of an accelerator, in the order asked. */
function shader(): (hw: string, key: string) => string {
  const seen = new Map<string, string[]>();
  return (hw, key) => {
    const v = seen.get(hw) ?? [];
    if (!v.includes(key)) v.push(key);
    seen.set(hw, v);
    return colorOf(hw, v.indexOf(key));
  };
}

function engineIndex(engine: string): number {
  return Math.max(0, engineNames.indexOf(engine));
}

function styleOf(engine: string): (typeof ENGINE_STYLES)[number] {
  return ENGINE_STYLES[engineIndex(engine) % ENGINE_STYLES.length];
}

/** Draws a dashed vertical line at `x` (the target interactivity). */
function targetLine(x: number | null): ChartPlugin {
  return {
    id: "target",
    afterDatasetsDraw(chart) {
      const sx = chart.scales.x;
      if (x === null || !sx) return;
      const px = sx.getPixelForValue(x);
      if (px < chart.chartArea.left || px > chart.chartArea.right) return;
      const c = chart.ctx;
      c.save();
      c.strokeStyle = "#555";
      c.setLineDash([4, 4]);
      c.beginPath();
      c.moveTo(px, chart.chartArea.top);
      c.lineTo(px, chart.chartArea.bottom);
      c.stroke();
      c.restore();
    },
  };
}

let drawnMarked = false;

/** A chart in a box with its CSV and PNG buttons (and `extras`: more buttons, overlays);
 * marks `sb:chart-drawn` after its first draw. */
function chartBox(name: string, config: ChartConfig, csv: () => { header: string[]; rows: CsvValue[][] }, tall = false, extras: Child[] = []): HTMLElement {
  const canvas = h("canvas", { "data-testid": `chart-${name}`, role: "img", "aria-label": name });
  const box = h("div", { class: tall ? "chart tall" : "chart" }, canvas, ...extras.filter((e) => e instanceof HTMLDivElement));
  const buttons = extras.filter((e) => !(e instanceof HTMLDivElement));
  const wrap = h("div", { class: "chartbox" }, h("div", { class: "chartbar" }, csvButton(name, csv), pngButton(name, canvas), ...buttons), box);
  const marker: ChartPlugin = {
    id: "drawn",
    afterRender() {
      if (!drawnMarked) {
        drawnMarked = true;
        performance.mark("sb:chart-drawn");
      }
    },
  };
  config.plugins = [...(config.plugins ?? []), marker];
  config.options = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    ...config.options,
  };
  // Chart.js sizes the canvas from its container: build it once the view is in the page.
  pending.push(() => charts.push(new Chart(canvas, config)));
  return wrap;
}

const pending: (() => void)[] = [];

/** Builds the charts of the view just put in the page. */
function flushCharts(): void {
  for (const f of pending.splice(0)) f();
}

/** Resets the first-draw mark for a new navigation. */
function resetDrawMark(): void {
  drawnMarked = false;
}

/** A "PNG" button: the chart as drawn, on the page's background, downloaded as a file. */
function pngButton(name: string, canvas: HTMLCanvasElement): HTMLButtonElement {
  return h("button", {
    type: "button", class: "png", "data-testid": `png-${name}`,
    onclick: () => {
      const out = document.createElement("canvas");
      out.width = canvas.width;
      out.height = canvas.height;
      const c = out.getContext("2d") as CanvasRenderingContext2D;
      c.fillStyle = theme === "dark" ? "#15191e" : "#ffffff";
      c.fillRect(0, 0, out.width, out.height);
      c.drawImage(canvas, 0, 0);
      out.toBlob((b) => {
        if (b) download(`${name}.png`, b);
      }, "image/png");
    },
  }, "PNG");
}

let dragged = false;

/** Whether the last click ended a zoom drag (so it does not also pin a point). */
function zoomDragged(): boolean {
  return dragged;
}

/** Drag a box on the chart to zoom to it: `onZoom([x0, x1, y0, y1])` in data units. */
function zoomBox(onZoom: (z: [number, number, number, number]) => void): ChartPlugin {
  let start: { x: number; y: number } | null = null;
  let end: { x: number; y: number } | null = null;
  return {
    id: "zoom",
    afterEvent(chart, args) {
      const e = args.event as unknown as { type: string; x: number; y: number };
      if (e.type === "mousedown") {
        start = { x: e.x, y: e.y };
        end = null;
        dragged = false;
      } else if (e.type === "mousemove" && start) {
        end = { x: e.x, y: e.y };
        args.changed = true;
      } else if (e.type === "mouseup" && start) {
        const s = start, f = end ?? start;
        start = null;
        end = null;
        // A few pixels is a click, not a drag.
        if (Math.abs(f.x - s.x) < 6 || Math.abs(f.y - s.y) < 6) return;
        dragged = true;
        const sx = chart.scales.x, sy = chart.scales.y;
        const v = (sc: typeof sx, px: number): number => sc.getValueForPixel(px) ?? NaN;
        const xs = [v(sx, s.x), v(sx, f.x)].sort((a, b) => a - b);
        const ys = [v(sy, s.y), v(sy, f.y)].sort((a, b) => a - b);
        if ([...xs, ...ys].every(Number.isFinite)) onZoom([xs[0], xs[1], ys[0], ys[1]]);
      }
    },
    afterDraw(chart) {
      if (!start || !end) return;
      const c = chart.ctx;
      c.save();
      c.strokeStyle = theme === "dark" ? "#9cf" : "#036";
      c.setLineDash([3, 3]);
      c.strokeRect(start.x, start.y, end.x - start.x, end.y - start.y);
      c.restore();
    },
  };
}

/** Places a pinned tooltip box beside its point once the chart has laid it out. */
function pinAnchor(d: { x: number; y: number } | null, box: HTMLElement): ChartPlugin {
  return {
    id: "pin",
    afterDraw(chart) {
      if (!d) return;
      const px = chart.scales.x.getPixelForValue(d.x), py = chart.scales.y.getPixelForValue(d.y);
      const left = Math.min(Math.max(px + 10, 0), chart.width - 260);
      // Below a point in the upper half, above one in the lower half: inside the chart.
      const top = py < chart.height / 2 ? py + 10 : py - box.offsetHeight - 10;
      box.style.left = `${left}px`;
      box.style.top = `${Math.max(top, 0)}px`;
    },
  };
}

/** How a cloud's points are drawn by [`scatter`]. */
interface MarkStyle {
  shape: string;
  fill: string;
  stroke: string;
  width: number;
  radius: number;
}

/** A series' points drawn by [`scatter`] rather than by Chart.js (the chart's `data.clouds`). */
interface Cloud {
  style: MarkStyle;
  points: { x: number; y: number }[];
}

/** A series' frontier drawn by [`scatter`] (the chart's `data.lines`): its points in x order,
 * each with the label written beside it (empty: none). */
interface Line {
  color: string;
  dash: number[];
  points: { x: number; y: number; label: string }[];
}

/** The smallest and largest x and y of the points added. */
function extent(): {
  add: (d: { x: number; y: number }) => void;
  span: (e: [number, number, number, number] | null) => void;
  x: () => [number, number] | null;
  y: () => [number, number] | null;
} {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  const add = (d: { x: number; y: number }): void => {
    if (d.x < x0) x0 = d.x;
    if (d.x > x1) x1 = d.x;
    if (d.y < y0) y0 = d.y;
    if (d.y > y1) y1 = d.y;
  };
  return {
    add,
    span: (e) => {
      if (e) {
        add({ x: e[0], y: e[2] });
        add({ x: e[1], y: e[3] });
      }
    },
    x: () => (x0 <= x1 ? [x0, x1] : null),
    y: () => (y0 <= y1 ? [y0, y1] : null),
  };
}

/** The point under the pointer: its cloud, index, and pixel position. */
interface CloudHit {
  cloud: number;
  index: number;
  px: number;
  py: number;
}

/** The clouds of a chart (`data.clouds`), numbered. */
function cloudsOf(chart: ChartT): { i: number; c: Cloud }[] {
  return ((chart.data as unknown as { clouds?: Cloud[] }).clouds ?? []).map((c, i) => ({ i, c }));
}

/** The frontier lines of a chart (`data.lines`). */
function linesOf(chart: ChartT): Line[] {
  return (chart.data as unknown as { lines?: Line[] }).lines ?? [];
}

/** Whether a pixel was already stamped in this pass, per device pixel of the chart area: a
 * series' later points on a pixel one of its points covers are not drawn again (nightly runs
 * of one config land on the same pixels). */
let stamps = new Uint32Array(0);
let stamp = 0;

/**
 * Draws the chart's clouds (`data.clouds`: each series' points with one marker style) and
 * frontier lines with their labels (`data.lines`), and answers hover and clicks on the points
 * itself: Chart.js holds none of them (an element per point made 100,000 points take half a
 * second per draw, and 200 line datasets a tenth of one; here a cloud is two arrays of
 * pixels). `tip` writes a point's tooltip (shown in `box`), `pick` takes a click on one.
 */
function scatter<T extends { x: number; y: number }>(box: HTMLElement, tip: (d: T) => string[], pick: (d: T) => void): ChartPlugin {
  let pixels: { i: number; c: Cloud; px: Float32Array; py: Float32Array }[] = [];
  let pixelsKey = "";
  let hover: CloudHit | null = null;
  const HIT = 5;
  const place = (shown: { i: number; c: Cloud }[], chart: ChartT) => shown.map(({ i, c: cl }) => {
    const sx = chart.scales.x, sy = chart.scales.y;
    const n = cl.points.length, px = new Float32Array(n), py = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      px[j] = sx.getPixelForValue(cl.points[j].x);
      py[j] = sy.getPixelForValue(cl.points[j].y);
    }
    return { i, c: cl, px, py };
  });
  const nearest = (x: number, y: number): CloudHit | null => {
    let best: CloudHit | null = null, bd = HIT * HIT;
    for (const { i, px, py } of pixels) {
      for (let j = 0; j < px.length; j++) {
        const dx = px[j] - x, dy = py[j] - y, d = dx * dx + dy * dy;
        if (d <= bd) {
          bd = d;
          best = { cloud: i, index: j, px: px[j], py: py[j] };
        }
      }
    }
    return best;
  };
  const show = (chart: ChartT, hit: CloudHit | null): void => {
    hover = hit;
    if (!hit) {
      box.hidden = true;
      return;
    }
    const d = pixels.find((p) => p.i === hit.cloud)?.c.points[hit.index] as T;
    box.replaceChildren(h("ul", {}, ...tip(d).map((l) => h("li", {}, l))));
    box.hidden = false;
    box.style.left = `${Math.min(Math.max(hit.px + 10, 0), chart.width - 260)}px`;
    box.style.top = `${Math.max(hit.py < chart.height / 2 ? hit.py + 10 : hit.py - box.offsetHeight - 10, 0)}px`;
  };
  return {
    id: "scatter",
    beforeDatasetsDraw(chart) {
      const c = chart.ctx, a = chart.chartArea, sx = chart.scales.x, sy = chart.scales.y;
      // Positions change with the scales, the area and the clouds shown, not with a hover.
      const shown = cloudsOf(chart);
      const key = [sx.min, sx.max, sy.min, sy.max, a.left, a.right, a.top, a.bottom, ...shown.map(({ i }) => i)].join(",");
      if (key !== pixelsKey || shown.some(({ c: cl }, k) => pixels[k]?.c !== cl)) pixels = place(shown, chart);
      pixelsKey = key;
      c.save();
      c.beginPath();
      c.rect(a.left, a.top, a.right - a.left, a.bottom - a.top);
      c.clip();
      // One path per cloud (filled and stroked once), not a fill per point; a pixel once.
      const w = Math.ceil(a.right - a.left) + 1, hgt = Math.ceil(a.bottom - a.top) + 1;
      if (stamps.length < w * hgt) stamps = new Uint32Array(w * hgt);
      for (const { c: cl, px, py } of pixels) {
        const f = cl.style, r = f.radius;
        if (++stamp === 0xffffffff) {
          stamps.fill(0);
          stamp = 1;
        }
        c.beginPath();
        for (let j = 0; j < px.length; j++) {
          const x = px[j], y = py[j];
          if (x < a.left - r || x > a.right + r || y < a.top - r || y > a.bottom + r) continue;
          const ix = Math.round(x - a.left), iy = Math.round(y - a.top);
          if (ix >= 0 && ix < w && iy >= 0 && iy < hgt) {
            const k = iy * w + ix;
            if (stamps[k] === stamp) continue;
            stamps[k] = stamp;
          }
          markPath(c, f.shape, x, y, r);
        }
        if (f.fill !== "transparent") {
          c.fillStyle = f.fill;
          c.fill();
        }
        if (f.width > 0) {
          c.strokeStyle = f.stroke;
          c.lineWidth = f.width;
          c.stroke();
        }
      }
      if (hover) {
        const cl = pixels.find((p) => p.i === hover?.cloud)?.c;
        if (cl) {
          c.beginPath();
          markPath(c, cl.style.shape, hover.px, hover.py, 6);
          c.fillStyle = cl.style.stroke;
          c.fill();
        }
      }
      c.restore();
    },
    afterDatasetsDraw(chart) {
      const c = chart.ctx, a = chart.chartArea, sx = chart.scales.x, sy = chart.scales.y;
      const lines = linesOf(chart).map((l) => ({ l, xy: l.points.map((p) => [sx.getPixelForValue(p.x), sy.getPixelForValue(p.y)]) }));
      c.save();
      c.beginPath();
      c.rect(a.left, a.top, a.right - a.left, a.bottom - a.top);
      c.clip();
      c.lineWidth = 1.5;
      for (const { l, xy } of lines) {
        c.strokeStyle = l.color;
        c.setLineDash(l.dash);
        c.beginPath();
        xy.forEach(([x, y], k) => (k === 0 ? c.moveTo(x, y) : c.lineTo(x, y)));
        c.stroke();
      }
      c.restore();
      // The labels of the frontier points (parallelism, concurrency) inside the area.
      c.save();
      c.font = "10px sans-serif";
      c.fillStyle = theme === "dark" ? "#d8dde3" : "#333";
      for (const { l, xy } of lines) {
        l.points.forEach((p, k) => {
          const [x, y] = xy[k];
          if (p.label && x >= a.left && x <= a.right && y >= a.top && y <= a.bottom) c.fillText(p.label, x + 4, y - 4);
        });
      }
      c.restore();
    },
    afterEvent(chart, args) {
      const e = args.event as unknown as { type: string; x: number; y: number };
      if (e.type === "mouseout") {
        if (hover) {
          show(chart, null);
          args.changed = true;
        }
      } else if (e.type === "mousemove") {
        const hit = nearest(e.x, e.y);
        if (hit?.cloud !== hover?.cloud || hit?.index !== hover?.index) {
          show(chart, hit);
          args.changed = true;
        }
      } else if (e.type === "click" && !zoomDragged()) {
        const hit = nearest(e.x, e.y);
        const d = hit && pixels.find((p) => p.i === hit.cloud)?.c.points[hit.index];
        if (d) pick(d as T);
      }
    },
  };
}

/** Adds a marker of `shape` at (x, y) to the current path. */
function markPath(c: CanvasRenderingContext2D, shape: string, x: number, y: number, r: number): void {
  switch (shape) {
    case "rect":
      c.rect(x - r, y - r, 2 * r, 2 * r);
      break;
    case "rectRot":
      c.moveTo(x, y - r); c.lineTo(x + r, y); c.lineTo(x, y + r); c.lineTo(x - r, y); c.closePath();
      break;
    case "triangle":
      c.moveTo(x, y - r); c.lineTo(x + r * 0.866, y + r * 0.5); c.lineTo(x - r * 0.866, y + r * 0.5); c.closePath();
      break;
    default:
      c.moveTo(x + r, y);
      c.arc(x, y, r, 0, 2 * Math.PI);
  }
}
