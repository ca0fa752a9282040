// Reading the API (relative paths, so the site works under any base path and from a static
// file server) and the selections every view shares.

const cache = new Map<string, Promise<unknown>>();

class HttpError extends Error {}

/** GET `api/v1/<path>` once. `path` may already start with `api/v1/` or `/api/v1/`. */
function api<T>(path: string): Promise<T> {
  const p = path.replace(/^\//, "");
  const url = p.startsWith("api/v1/") ? p : `api/v1/${p}`;
  let r = cache.get(url);
  if (!r) {
    r = fetch(url).then(async (res) => {
      if (!res.ok) {
        let msg = `${res.status} ${res.statusText}`;
        try { msg = ((await res.json()) as { error?: string }).error ?? msg; } catch { /* not JSON */ }
        throw new HttpError(`${url}: ${msg}`);
      }
      return res.json();
    });
    r.catch(() => cache.delete(url));
    cache.set(url, r);
  }
  return r as Promise<T>;
}

const views = new Map<string, Promise<ViewFile>>();
const ids = new WeakMap<ViewFile, Map<string, ViewPoint>>();

/** A view's points by id, built once per view. */
function byIdOf(view: ViewFile): Map<string, ViewPoint> {
  let m = ids.get(view);
  if (!m) {
    m = new Map(view.points.map((p) => [String(p.id), p]));
    ids.set(view, m);
  }
  return m;
}

/** A view's points as rows, fetched and converted once per page load. */
function viewFile(path: string): Promise<ViewFile> {
  let v = views.get(path);
  if (!v) {
    v = api<ViewDoc>(path).then(viewOf);
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

const METRIC_FIELDS = ["tput_per_gpu", "input_tput_per_gpu", "output_tput_per_gpu", "median_intvty", "median_ttft_ms", "median_tpot_ms",
  "median_e2el_ms", "p99_ttft_ms", "p99_tpot_ms", "p99_e2el_ms", "measured_j_per_token"] as const;

/** A view's points as rows, from the columns the API serves. */
function viewOf(doc: ViewDoc): ViewFile {
  const c = doc.points;
  const ykeys = Object.keys(c.y);
  const col = (k: string): (number | null)[] => c.metrics[k] ?? [];
  const cols = METRIC_FIELDS.map((k) => [k, col(k)] as const);
  const points: ViewPoint[] = new Array(c.n);
  for (let i = 0; i < c.n; i++) {
    const y: Record<string, number | null> = {};
    for (const k of ykeys) y[k] = c.y[k][i];
    const run = doc.runs[c.run[i]];
    const img = c.image[i];
    const p = {
      id: c.id[i], config: c.config[i], source: c.source[i], run: run.key, run_started_at: run.started_at,
      conc: c.conc[i], num_gpus: c.num_gpus[i], completed: c.completed[i], failed: c.failed[i], image: img === null ? null : doc.images[img],
      simulated: c.simulated[String(i)] ?? null, agentic: c.agentic[String(i)], y, detail: `points/${c.id[i]}.json`,
    } as Record<string, unknown>;
    for (const [k, v] of cols) p[k] = v[i] ?? null;
    points[i] = p as unknown as ViewPoint;
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

/** The figures document of a view (`views/<slug>.json` → `figures/<slug>/<group>.json`). */
function figuresPath(summary: ViewSummary, group: Group): string {
  return summary.path.replace(/^views\//, "figures/").replace(/\.json$/, `/${group}.json`);
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
