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
    case "tco": return "hardware";
    case "compare": return "config";
    default: return null;
  }
}

type ViewFn = (ctx: Ctx) => Rendered;

const VIEWS: [string, string, ViewFn][] = [
  ["inference", "Inference", renderInference],
  ["compare", "Compare", renderCompare],
  ["tco", "TCO", renderTco],
  ["history", "History", renderHistory],
  ["reliability", "Reliability", renderReliability],
];

/** Replaces one parameter (or adds it at the end). */
function withParam(p: Params, key: string, value: string | number | null | undefined): Params {
  const out = p.map(([k, v]): [string, string | number | null | undefined] => [k, k === key ? value : v]);
  if (!p.some(([k]) => k === key)) out.push([key, value]);
  return out;
}

/** Navigates to `view` with the scope, `params`, and the changes `kv`. */
function setter(view: string, ctx: Ctx, params: Params): (kv: Params) => void {
  const base: Params = [["model", ctx.summary.model], ["wl", wlOf(ctx.summary)], ...params];
  return (kv) => go(view, kv.reduce((acc, [k, v]) => withParam(acc, k, v), base));
}

function go(view: string, params: Params): void {
  const next = hashOf(view, params);
  if (next !== location.hash) location.hash = next;
}

let seq = 0;

function nav(index: IndexFile, route: Route, summary: ViewSummary | null): HTMLElement {
  const scope: Params = summary ? [["model", summary.model], ["wl", wlOf(summary)]] : [];
  const links = VIEWS.map(([name, title]) =>
    h("a", { href: hashOf(name, scope), class: name === route.view ? "on" : "", "data-testid": `nav-${name}` }, title));
  const bar = h("nav", {}, ...links);
  if (summary) {
    const models = sorted(index.views.map((v) => v.model));
    const wls = index.views.filter((v) => v.model === summary.model).map(wlOf);
    const to = (model: string, wl: string | null): void => {
      const w = wl ?? wlOf(index.views.find((v) => v.model === model) ?? summary);
      go(route.view === "point" ? "inference" : route.view, [["model", model], ["wl", w]]);
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
  let rendered: Rendered;
  try {
    const index = normalizeIndex(await api<IndexFile>("index.json"));
    setPalette(index);
    if (r.view === "point" && r.id !== null) {
      const pf = await api<PointFile>(`points/${encodeURIComponent(r.id)}.json`);
      if (my !== seq) return;
      head.replaceChildren(nav(index, r, null));
      destroyCharts();
      rendered = renderPoint(pf, r.id);
    } else {
      const summary = scopeOf(index, r);
      const fn = VIEWS.find(([n]) => n === r.view)?.[2];
      if (!fn) throw new Error(`no view '${r.view}'`);
      if (!summary) throw new Error("the store holds no results yet");
      const group = groupFor(r.view, r.params);
      const [view, figures] = await Promise.all([
        api<ViewFile>(summary.path),
        group === null ? Promise.resolve(null) : api<Figures>(figuresPath(summary, group)),
      ]);
      if (my !== seq) return;
      head.replaceChildren(nav(index, r, summary));
      destroyCharts();
      rendered = fn({ index, route: r, summary, view, figures });
      rendered.params = [["model", summary.model], ["wl", wlOf(summary)], ...rendered.params];
    }
  } catch (e) {
    if (my !== seq) return;
    destroyCharts();
    rendered = { el: h("div", { class: "error", "data-testid": "error" }, String(e instanceof Error ? e.message : e)), params: [], state: { error: String(e) } };
  }
  app.replaceChildren(rendered.el);
  if (r.view !== "point" && rendered.params.length > 0) {
    const canonical = hashOf(r.view, rendered.params);
    if (canonical !== location.hash) history.replaceState(null, "", canonical);
  }
  flushCharts();
  performance.mark(`sb:rendered-${my}`);
  const ms = performance.measure(`sb:render-${my}`, `sb:route-${my}`, `sb:rendered-${my}`).duration;
  document.body.dataset.view = r.view;
  document.body.dataset.state = JSON.stringify(rendered.state);
  document.body.dataset.renderMs = String(ms);
  document.body.dataset.hash = location.hash;
  document.body.dataset.seq = String(my);
}

window.addEventListener("hashchange", () => void route());
void route();
