// The router: every view's state lives in the URL hash (docs/dashboard.md, "Views").

type Params = [string, string | number | null | undefined][];

/** What a view hands the router. */
interface Rendered {
  el: HTMLElement;
  /** Its full state as URL parameters (written back to the hash, so every URL is explicit). */
  params: Params;
  /** Its state for tests (body[data-state]). */
  state: Record<string, unknown>;
}

interface Ctx {
  index: IndexFile;
  route: Route;
  summary: ViewSummary;
  view: ViewFile;
  /** The figures the view draws (null for a view that draws none). */
  figures: Figures | null;
}

/** Which grouping's figures a view draws: its `group` parameter (inference, history), every
 * accelerator's best (tco), or each config (compare). */
function groupFor(view: string, params: Map<string, string>): Group | null {
  switch (view) {
    case "inference":
    case "history": return groupOf(params.get("group"));
    case "tco": return GROUPS.some(([g]) => g === params.get("group")) ? (params.get("group") as Group) : "hardware";
    case "compare": return "config";
    default: return null;
  }
}

type ViewFn = (ctx: Ctx) => Rendered;

const VIEWS: [string, string, ViewFn][] = [
  ["inference", "Inference", renderInference],
  ["compare", "Compare", renderCompare],
  ["tco", "Calculator", renderTco],
  ["history", "History", renderHistory],
  ["evals", "Evaluation", renderEvals],
  ["reliability", "Reliability", renderReliability],
];

/** Pages of the whole store, with no model or workload. */
const PAGES: [string, string][] = [["gpus", "GPU specs"]];

/** Replaces one parameter (or adds it at the end). */
function withParam(p: Params, key: string, value: string | number | null | undefined): Params {
  const out = p.map(([k, v]): [string, string | number | null | undefined] => [k, k === key ? value : v]);
  if (!p.some(([k]) => k === key)) out.push([key, value]);
  return out;
}

/** The parameters every view keeps (look and date), from the route. */
let globals: Params = [];

function globalsOf(r: Route): Params {
  const theme = r.params.get("theme") === "dark" ? "dark" : "light";
  const palette = r.params.get("palette") === "contrast" ? "contrast" : "default";
  return [["theme", theme], ["palette", palette], ["asof", dayParam(r.params.get("asof"))]];
}

/** The day every view is shown as of, or null for the latest. */
function asOf(): string | null {
  const v = globals.find(([k]) => k === "asof")?.[1];
  return typeof v === "string" ? v : null;
}

/** An API path as of the day asked (the live server filters; see index.as_of). */
function dated(path: string): string {
  const d = asOf();
  return d === null ? path : `${path}?asof=${d}`;
}

/** Navigates to `view` with the scope, `params`, and the changes `kv`. */
function setter(view: string, ctx: Ctx, params: Params): (kv: Params) => void {
  const base: Params = [["model", ctx.summary.model], ["wl", wlOf(ctx.summary)], ...params, ...globals];
  return (kv) => go(view, kv.reduce((acc, [k, v]) => withParam(acc, k, v), base));
}

function go(view: string, params: Params): void {
  const next = hashOf(view, params);
  if (next !== location.hash) location.hash = next;
}

let seq = 0;

function nav(index: IndexFile, route: Route, summary: ViewSummary | null): HTMLElement {
  const scope: Params = summary ? [["model", summary.model], ["wl", wlOf(summary)], ...globals] : globals;
  const links = [...VIEWS, ...PAGES].map(([name, title]) =>
    h("a", { href: hashOf(name, name === "gpus" ? globals : scope), class: name === route.view ? "on" : "", "data-testid": `nav-${name}` }, title));
  const bar = h("nav", {}, ...links);
  // The look, kept in every URL: the current hash with one parameter changed.
  const look = (k: string, v: string): void => {
    const r = parseHash(location.hash);
    if (v === "") r.params.delete(k);
    else r.params.set(k, v);
    const next = r.view === "point" && r.id !== null ? `#/point/${encodeURIComponent(r.id)}?${[...r.params].map(([a, b]) => `${encodeURIComponent(a)}=${encodeURIComponent(b)}`).join("&")}` : hashOf(r.view, [...r.params]);
    location.hash = next;
  };
  const g = new Map(globals.map(([k, v]) => [k, String(v)]));
  const supported = index.as_of?.supported === true;
  const day = dateInput("asof", asOf(), (v) => look("asof", v ?? ""));
  day.disabled = !supported;
  day.title = supported ? "show every view as it stood on this day" : "a static export holds the latest data only";
  bar.append(
    labelled("as of", day),
    labelled("theme", select("theme", g.get("theme") ?? "light", [["light", "light"], ["dark", "dark"]], (v) => look("theme", v))),
    labelled("palette", select("palette", g.get("palette") ?? "default", [["default", "default"], ["contrast", "high contrast"]], (v) => look("palette", v))),
  );
  if (summary) {
    const models = sorted(index.views.map((v) => v.model));
    const wls = index.views.filter((v) => v.model === summary.model).map(wlOf);
    const to = (model: string, wl: string | null): void => {
      const w = wl ?? wlOf(index.views.find((v) => v.model === model) ?? summary);
      go(route.view === "point" ? "inference" : route.view, [["model", model], ["wl", w], ...globals]);
    };
    bar.append(
      labelled("model", select("model", summary.model, models.map((m) => [m, m]), (m) => to(m, null))),
      labelled("ISL×OSL", select("wl", wlOf(summary), wls.map((w) => [w, wlLabel(w)]), (w) => to(summary.model, w))),
    );
  }
  return bar;
}

async function route(): Promise<void> {
  const my = ++seq;
  resetDrawMark();
  performance.mark(`sb:route-${my}`);
  const app = document.getElementById("app") as HTMLElement;
  const head = document.getElementById("head") as HTMLElement;
  const r = parseHash(location.hash);
  globals = globalsOf(r);
  setLook(String(globals[1][1]), String(globals[0][1]));
  let rendered: Rendered;
  try {
    const latest = normalizeIndex(await api<IndexFile>("index.json"));
    if (asOf() !== null && latest.as_of?.supported !== true) {
      throw new Error(`as of ${asOf()}: this is a static export, which holds the latest data only; serve the store with servebench dashboard to see a past day`);
    }
    const index = asOf() === null ? latest : normalizeIndex(await api<IndexFile>(dated("index.json")));
    setPalette(index);
    setCsvPreamble(() => preamble(index));
    if (r.view === "gpus") {
      const g = await api<GpusFile>("gpus.json");
      if (my !== seq) return;
      head.replaceChildren(nav(index, r, null));
      destroyCharts();
      rendered = renderGpus(g, r.params);
      rendered.params = [...rendered.params, ...globals];
    } else if (r.view === "point" && r.id !== null) {
      const pf = await api<PointFile>(`points/${encodeURIComponent(r.id)}.json`);
      if (my !== seq) return;
      head.replaceChildren(nav(index, r, null));
      destroyCharts();
      rendered = renderPoint(pf, r.id, r.params);
    } else {
      const summary = scopeOf(index, r);
      const fn = VIEWS.find(([n]) => n === r.view)?.[2];
      if (!fn) throw new Error(`no view '${r.view}'`);
      if (!summary) throw new Error("the store holds no results yet");
      const group = groupFor(r.view, r.params);
      const [view, figures] = await Promise.all([
        viewFile(dated(summary.path)),
        group === null ? Promise.resolve(null) : api<Figures>(dated(figuresPath(summary, group, r.view === "inference" && r.params.get("new") === "1"))),
      ]);
      if (my !== seq) return;
      head.replaceChildren(nav(index, r, summary));
      destroyCharts();
      performance.mark(`sb:data-${my}`);
      rendered = fn({ index, route: r, summary, view, figures });
      performance.mark(`sb:built-${my}`);
      rendered.params = [["model", summary.model], ["wl", wlOf(summary)], ...rendered.params, ...globals];
    }
  } catch (e) {
    if (my !== seq) return;
    destroyCharts();
    rendered = { el: h("div", { class: "error", "data-testid": "error" }, String(e instanceof Error ? e.message : e)), params: [], state: { error: String(e) } };
  }
  const d = asOf();
  app.replaceChildren(...(d !== null && r.view !== "gpus" ? [h("p", { class: "asof", "data-testid": "asof-banner", "data-date": d }, `As of ${d}: the store as it stood then (runs started by the end of that day). Clear the date for the latest.`)] : []), rendered.el);
  if (r.view !== "point" && rendered.params.length > 0) {
    const canonical = hashOf(r.view, rendered.params);
    if (canonical !== location.hash) history.replaceState(null, "", canonical);
  }
  performance.mark(`sb:placed-${my}`);
  flushCharts();
  performance.mark(`sb:rendered-${my}`);
  // Where the time went (for the perf scenario): data ready, view built, DOM placed, charts drawn.
  const at = (m: string): number => performance.getEntriesByName(`sb:${m}-${my}`)[0]?.startTime ?? NaN;
  document.body.dataset.phases = JSON.stringify({ data: at("data") - at("route"), build: at("built") - at("data"), place: at("placed") - at("built"), charts: at("rendered") - at("placed") });
  const ms = performance.measure(`sb:render-${my}`, `sb:route-${my}`, `sb:rendered-${my}`).duration;
  document.body.dataset.view = r.view;
  document.body.dataset.state = JSON.stringify(rendered.state);
  document.body.dataset.renderMs = String(ms);
  document.body.dataset.hash = location.hash;
  document.body.dataset.seq = String(my);
}

/** The CSV preamble: what, where, when, and the sources' terms. */
function preamble(index: IndexFile): string[] {
  const prices = sorted(index.hardware.flatMap((a) => a.sources?.map((s) => `${s.id} (${s.date}): ${s.ref}`) ?? []));
  return [
    "servebench dashboard export",
    `view: ${location.href}`,
    `exported: ${new Date().toISOString()}; store as of ${index.generated_at ?? "n/a"}`,
    "source own: runs measured by servebench (this store); simulated points say so in their rows",
    "source reference: published by SemiAnalysis (InferenceMAX / InferenceX dashboard data; the InferenceX project is Apache-2.0); attribute SemiAnalysis when you reuse them",
    `prices and all-in power: servebench catalog (data/catalog), from ${prices.join("; ") || "n/a"}`,
    "frontiers, values at targets and economics: servebench's analysis library (docs/analysis.md)",
  ];
}

window.addEventListener("hashchange", () => void route());
void route();
