// Reading the API (relative paths, so the site works under any base path and from a static
// file server) and the selections every view shares.

const cache = new Map<string, Promise<unknown>>();

class HttpError extends Error {}

/** `api/v1/<path>`: `path` may already start with `api/v1/` or `/api/v1/`. */
function apiUrl(path: string): string {
  const p = path.replace(/^\//, "");
  return p.startsWith("api/v1/") ? p : `api/v1/${p}`;
}

/** GET `url`, or the API's error. */
async function fetchOk(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try { msg = ((await res.json()) as { error?: string }).error ?? msg; } catch { /* not JSON */ }
    throw new HttpError(`${url}: ${msg}`);
  }
  return res;
}

/** GET `api/v1/<path>` once. */
function api<T>(path: string): Promise<T> {
  const url = apiUrl(path);
  let r = cache.get(url);
  if (!r) {
    r = fetchOk(url).then((res) => res.json());
    r.catch(() => cache.delete(url));
    cache.set(url, r);
  }
  return r as Promise<T>;
}

const ARRAYS = { f64: Float64Array, u32: Uint32Array, i32: Int32Array, u8: Uint8Array } as const;

/** A view read from its binary columns (`views/<slug>.bin`, docs/dashboard.md): the header's
 * JSON and a typed array over each column, nothing copied or parsed per point. */
async function viewBin(url: string): Promise<ViewDoc> {
  const buf = await (await fetchOk(url)).arrayBuffer();
  const bad = (why: string): Error => new Error(`${url}: not a view in binary columns (${why})`);
  if (buf.byteLength < 8 || new TextDecoder().decode(new Uint8Array(buf, 0, 4)) !== "SBV1") throw bad("no SBV1 mark");
  const len = new DataView(buf).getUint32(4, true);
  if (8 + len > buf.byteLength) throw bad("header past the end");
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, len))) as Omit<ViewDoc, "points"> & {
    n: number; columns: { name: string; type: keyof typeof ARRAYS }[];
    simulated: ViewDoc["points"]["simulated"]; agentic: ViewDoc["points"]["agentic"];
  };
  const cols: Record<string, ArrayLike<number>> = {};
  let at = 8 + len;
  for (const c of head.columns) {
    const A = ARRAYS[c.type];
    at = Math.ceil(at / 8) * 8;
    if (!A || at + head.n * A.BYTES_PER_ELEMENT > buf.byteLength) throw bad(`column ${c.name}`);
    cols[c.name] = new A(buf, at, head.n);
    at += head.n * A.BYTES_PER_ELEMENT;
  }
  const named = (prefix: string): Record<string, ArrayLike<number>> =>
    Object.fromEntries(Object.entries(cols).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const { n, columns: _, simulated, agentic, ...doc } = head;
  return { ...doc, points: { n, id: cols.id, config: cols.config, source: cols.source, run: cols.run, conc: cols.conc, num_gpus: cols.num_gpus,
    completed: cols.completed, failed: cols.failed, image: cols.image, metrics: named("metrics."), y: named("y."), simulated, agentic } } as ViewDoc;
}

const views = new Map<string, Promise<ViewFile>>();
const ids = new WeakMap<ViewFile, Map<number, ViewPoint>>();

/** A view's points by id (a number: the binary columns' `id`), built once per view. */
function byIdOf(view: ViewFile): Map<number, ViewPoint> {
  let m = ids.get(view);
  if (!m) {
    m = new Map();
    for (const p of view.points) m.set(Number(p.id), p);
    ids.set(view, m);
  }
  return m;
}

/** A view's points as rows, fetched and converted once per page load. */
function viewFile(path: string): Promise<ViewFile> {
  let v = views.get(path);
  if (!v) {
    v = viewBin(apiUrl(path).replace(/\.json(\?|$)/, ".bin$1")).then(viewOf);
    v.catch(() => views.delete(path));
    views.set(path, v);
  }
  return v;
}

/** index.json's `hardware` as a list with ids: the API may give a map keyed by catalog id. */
function normalizeIndex(index: IndexFile): IndexFile {
  const hw = index.hardware as unknown;
  if (hw && typeof hw === "object" && !Array.isArray(hw)) {
    index.hardware = Object.entries(hw as Record<string, HardwareInfo>).map(([id, a]) => ({ ...a, id }));
  }
  index.hardware ??= [];
  return index;
}

/** A number of a binary column: NaN is null. */
function num0(v: number | undefined): number | null {
  return v === undefined || Number.isNaN(v) ? null : v;
}

/** The `y` of a point whose library y metrics are all null (most points: no measured power). */
const NO_Y: Record<string, number | null> = Object.freeze({});

/** A view's points as rows, from the columns the API serves: one object literal per point
 * (one shape), the metrics read straight from their columns. */
function viewOf(doc: ViewDoc): ViewFile {
  const c = doc.points;
  const ykeys = Object.keys(c.y);
  const m = (k: string): ArrayLike<number> => c.metrics[k] ?? [];
  const [tput, inTput, outTput, intvty, ttft, tpot, e2el, p99Ttft, p99Tpot, p99E2el, jPerTok] = ["tput_per_gpu", "input_tput_per_gpu",
    "output_tput_per_gpu", "median_intvty", "median_ttft_ms", "median_tpot_ms", "median_e2el_ms", "p99_ttft_ms", "p99_tpot_ms", "p99_e2el_ms",
    "measured_j_per_token"].map(m);
  const SOURCES = ["own", "reference"];
  const anySim = Object.keys(c.simulated).length > 0, anyAgentic = Object.keys(c.agentic).length > 0;
  const points: ViewPoint[] = new Array(c.n);
  for (let i = 0; i < c.n; i++) {
    let y = NO_Y;
    for (const k of ykeys) {
      const v = num0(c.y[k][i]);
      if (v === null) continue;
      if (y === NO_Y) y = {};
      y[k] = v;
    }
    const run = doc.runs[c.run[i]];
    const img = c.image[i];
    points[i] = {
      id: c.id[i], config: c.config[i], source: SOURCES[c.source[i]], run: run.key, run_started_at: run.started_at,
      conc: c.conc[i], num_gpus: c.num_gpus[i], completed: num0(c.completed[i]), failed: num0(c.failed[i]), image: img < 0 ? null : doc.images[img],
      simulated: anySim ? c.simulated[String(i)] ?? null : null, agentic: anyAgentic ? c.agentic[String(i)] : undefined, y,
      tput_per_gpu: num0(tput[i]), input_tput_per_gpu: num0(inTput[i]), output_tput_per_gpu: num0(outTput[i]), median_intvty: num0(intvty[i]),
      median_ttft_ms: num0(ttft[i]), median_tpot_ms: num0(tpot[i]), median_e2el_ms: num0(e2el[i]), p99_ttft_ms: num0(p99Ttft[i]),
      p99_tpot_ms: num0(p99Tpot[i]), p99_e2el_ms: num0(p99E2el[i]), measured_j_per_token: num0(jPerTok[i]),
    } as ViewPoint;
  }
  return { model: doc.model, isl: doc.isl, osl: doc.osl, configs: doc.configs, runs: doc.runs, points, evals: doc.evals };
}

/** The workload of a view as the URL writes it: `1024x1024`. */
function wlOf(v: { isl: number; osl: number }): string {
  return `${v.isl}x${v.osl}`;
}
/** A workload as the menus name it: `1024 × 1024`, or the agentic-coding workload (stored at 0 × 0). */
function wlLabel(wl: string): string {
  return wl === "0x0" ? "agentic coding" : wl.replace("x", " × ");
}

/** The view of `model` at `wl`; when not given or unknown, the first view with the user's own
 * points (else the first the index lists): one's own results come before the published ones. */
function scopeOf(index: IndexFile, r: Route): ViewSummary | null {
  const model = r.params.get("model"), wl = r.params.get("wl");
  const ofModel = index.views.filter((v) => v.model === model);
  const own = index.views.find((v) => v.sources.includes("own"));
  return ofModel.find((v) => wlOf(v) === wl) ?? ofModel[0] ?? own ?? index.views[0] ?? null;
}

/** Price and power of an accelerator from the catalog (null when the catalog lacks it). */
function hardwareOf(index: IndexFile, hw: string): HardwareInfo | null {
  return index.hardware.find((a) => (a.id ?? a.name) === hw || a.name === hw) ?? null;
}

type Tier = "hyperscaler" | "neocloud" | "rental" | "custom";
const TIERS: Tier[] = ["hyperscaler", "neocloud", "rental", "custom"];

function tierOf(v: string | undefined): Tier {
  return (TIERS as string[]).includes(v ?? "") ? (v as Tier) : "hyperscaler";
}

/** $/GPU-hour of `hw` in a tier (a custom price applies to every accelerator). */
function priceOf(index: IndexFile, hw: string, tier: Tier, custom: number | null): number | null {
  if (tier === "custom") return custom;
  return hardwareOf(index, hw)?.dollars_per_gpu_hour[tier] ?? null;
}

function kwOf(index: IndexFile, hw: string): number | null {
  return hardwareOf(index, hw)?.all_in_kw_per_gpu ?? null;
}

type SourcePick = "own" | "reference" | "both";

/** The source asked for, or the view's own points when it has them, else the reference. */
function sourceOf(v: string | undefined, summary: ViewSummary, both: boolean): SourcePick {
  if (v === "own" || v === "reference" || (both && v === "both")) return v;
  return summary.sources.includes("own") || summary.sources.length === 0 ? "own" : "reference";
}

function sourceMatches(pick: SourcePick, source: string): boolean {
  return pick === "both" || source === pick;
}

/**
 * Points of the runs asked for: `latest` keeps each (source, config)'s latest run (by start
 * time, then key), as `servebench report` does by default; `all` keeps every run; anything
 * else is a run key.
 */
function pickRuns(points: readonly ViewPoint[], run: string): ViewPoint[] {
  if (run === "all") return points.slice();
  if (run !== "latest") return points.filter((p) => p.run === run);
  const latest = new Map<string, string>();
  const order = (p: ViewPoint): string => `${p.run_started_at}\u001f${p.run}`;
  for (const p of points) {
    const k = `${p.source}|${p.config}`;
    const cur = latest.get(k);
    if (cur === undefined || order(p) > cur) latest.set(k, order(p));
  }
  return points.filter((p) => latest.get(`${p.source}|${p.config}`) === order(p));
}

type Group = "hwkey" | "hardware" | "engine" | "precision" | "config";
const GROUPS: [Group, string][] = [
  ["hwkey", "hardware key (InferenceMAX)"],
  ["hardware", "accelerator"],
  ["engine", "accelerator × engine"],
  ["precision", "hardware key × precision"],
  ["config", "config"],
];

function groupOf(v: string | undefined): Group {
  return GROUPS.find(([g]) => g === v)?.[0] ?? "hwkey";
}

/** The figures document of a view (`views/<slug>.json` → `figures/<slug>/<group>.json`; of
 * the points each run measured itself: `<group>.new.json`). */
function figuresPath(summary: ViewSummary, group: Group, newOnly = false): string {
  return summary.path.replace(/^views\//, "figures/").replace(/\.json$/, `/${group}${newOnly ? ".new" : ""}.json`);
}

/** The series of the runs asked for: `latest` (each config's latest run pooled), `all` (one
 * per run), or one run's. */
function seriesOf(f: Figures, run: string): SeriesFigures[] {
  if (run === "latest") return f.series.filter((s) => s.run === null);
  if (run === "all") return f.series.filter((s) => s.run !== null);
  return f.series.filter((s) => s.run === run);
}

/** The grid target nearest `at`. */
function snap(at: number, targets: readonly number[]): number {
  let best = targets[0] ?? at;
  for (const t of targets) if (Math.abs(t - at) < Math.abs(best - at)) best = t;
  return best;
}

/** A selection of the figures' target interactivities. */
function targetSelect(at: number, targets: readonly number[], onchange: (v: number) => void): HTMLSelectElement {
  return select("at", String(at), targets.map((t) => [String(t), `${t} tok/s/user`]), (v) => onchange(Number(v)));
}

/** Runs that have points in a view, oldest first. */
function runsOf(view: ViewFile): { key: string; started_at: string; source: string }[] {
  const m = new Map<string, { key: string; started_at: string; source: string }>();
  for (const p of view.points) if (!m.has(p.run)) m.set(p.run, { key: p.run, started_at: p.run_started_at, source: p.source });
  return [...m.values()].sort((a, b) => (a.started_at + a.key < b.started_at + b.key ? -1 : 1));
}

/** A config's label, marked when the points are published ones. */
function labelOf(c: ConfigEntry, source: string): string {
  return source === "reference" ? `${c.label} [published]` : c.label;
}

function sorted(v: Iterable<string>): string[] {
  return [...new Set(v)].sort();
}
