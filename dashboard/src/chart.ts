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

function colorOf(hw: string, shade = 0): string {
  const i = Math.max(0, hwNames.indexOf(hw));
  const hue = Math.round((i * 360) / Math.max(1, hwNames.length) + 12) % 360;
  return `hsl(${hue}, 70%, ${42 + 14 * (shade % 3)}%)`;
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

/** A chart in a box with its CSV button; marks `sb:chart-drawn` after its first draw. */
function chartBox(name: string, config: ChartConfig, csv: () => { header: string[]; rows: CsvValue[][] }, tall = false): HTMLElement {
  const canvas = h("canvas", { "data-testid": `chart-${name}`, role: "img", "aria-label": name });
  const box = h("div", { class: tall ? "chart tall" : "chart" }, canvas);
  const wrap = h("div", { class: "chartbox" }, h("div", { class: "chartbar" }, csvButton(name, csv)), box);
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
