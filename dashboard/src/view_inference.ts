// #/inference: every point of the view and the frontiers of the chosen grouping (InferenceMAX's
// hardware keys by default), as the Rust library computed them (figures/<slug>/<group>.json).

/** A point's x: the stored metric the key names. */
const X_OF: Record<string, (p: ViewPoint) => number | null> = {
  intvty: (p) => p.median_intvty,
  e2el: (p) => p.median_e2el_ms,
  ttft: (p) => p.median_ttft_ms,
  p99ttft: (p) => p.p99_ttft_ms,
  e2enorm: (p) => p.agentic?.e2e_norm_intvty_p90 ?? null,
};

/** Decimals for a metric's unit. */
function digitsOf(m: MetricInfo): number {
  switch (m.unit) {
    case "tok/s/MW": return 0;
    case "$/M tokens":
    case "J/token": return 3;
    default: return 1;
  }
}

/** The tok/s/GPU of the tokens a metric counts. */
function tputOf(p: ViewPoint, tokens: MetricInfo["tokens"]): number | null {
  const t = tokens === "input" ? p.input_tput_per_gpu : tokens === "output" ? p.output_tput_per_gpu : p.tput_per_gpu;
  return t !== null && t > 0 ? t : null;
}

/** An accelerator's $/GPU-hour in the tier asked for (or the typed price) and all-in kW. */
interface Econ {
  price: number | null;
  kw: number | null;
}

/**
 * A point's y: a stored metric, a measured one the library computed (`y`), or $/M, tok/s/MW
 * and modelled J/token from its throughput with the live-input formula (live.ts, golden-tested
 * bit for bit against the library's functions) and its accelerator's catalog price and power
 * (throughput must be positive, as in Rust).
 */
function yOf(m: MetricInfo, p: ViewPoint, e: Econ): number | null {
  return yFn(m)(p, e);
}

/** [`yOf`] for one metric, its kind read once (a view of 100,000 points calls it per point). */
function yFn(m: MetricInfo): (p: ViewPoint, e: Econ) => number | null {
  const kind = m.key.split("_")[0];
  if (kind === "measured") return m.key === "measured" ? (p) => p.measured_j_per_token : (p) => p.y[m.key] ?? null;
  return (p, e) => {
    const t = tputOf(p, m.tokens);
    if (t === null) return null;
    switch (kind) {
      case "cost": return e.price === null ? null : liveDollarsPerMillion(e.price, t);
      case "tpmw": return e.kw === null ? null : liveTokensPerMw(t, e.kw);
      case "energy": return e.kw === null ? null : liveJoulesPerToken(e.kw, t);
      default: return t;
    }
  };
}

/** Each accelerator's economics in a tier (a typed price for every one with `custom`). */
function econs(index: IndexFile, tier: Tier, price: number | null): (hw: string) => Econ {
  const memo = new Map<string, Econ>();
  return (hw) => {
    let e = memo.get(hw);
    if (!e) {
      e = { price: priceOf(index, hw, tier, price), kw: kwOf(index, hw) };
      memo.set(hw, e);
    }
    return e;
  };
}

/** The label a point carries on the chart: its parallelism, its concurrency, or both. */
function pointLabel(mode: string, p: ViewPoint, c: ConfigEntry): string {
  const par = c.topology;
  switch (mode) {
    case "par": return par;
    case "conc": return `c${p.conc}`;
    case "both": return `${par} c${p.conc}`;
    default: return "";
  }
}

/** The full config of a point, for tooltips and the pinned panel. */
function describe(p: ViewPoint, c: ConfigEntry): string[] {
  const d = c.deployment;
  // Per-role GPUs where the deployment has more than one pool (or an aggregated multi-node one).
  const pools = d && (d.pools.length > 1 || d.pools.some((x) => x.role === "workers")) ? d.pools.map(poolText) : [];
  return [
    labelOf(c, p.source),
    `conc ${p.conc} · ${p.num_gpus} GPUs · ${c.precision}`,
    `topology ${c.topology}${c.disagg ? " (disaggregated)" : ""}${c.spec_decoding && c.spec_decoding !== "none" ? ` · spec ${c.spec_decoding}` : ""}`,
    ...pools,
    ...(d ? deploymentExtras(d) : []),
    ...(p.agentic ? [agenticText(p.agentic)] : []),
    `image ${p.image ?? "n/a"}`,
    `run ${p.run} (${date10(p.run_started_at)})`,
    ...(p.simulated ? [simulatedText(p.simulated)] : []),
  ];
}

/** How an agentic point's caches did, as stored. */
function agenticText(a: NonNullable<ViewPoint["agentic"]>): string {
  const f = (v: number | null, d = 3): string => (v === null ? "n/a" : v.toFixed(d));
  const offload = a.kv_offloading === "none" ? "no KV offload" : `KV offload ${a.kv_offloading}${a.kv_offload_backend ? ` (${a.kv_offload_backend})` : ""}${a.cpu_dram_gb !== null ? `, ${a.cpu_dram_gb} GB` : ""}`;
  return `prefix-cache hits: theory ${f(a.theoretical_hit_rate)} · server ${f(a.server_hit_rate)} (GPU ${f(a.server_gpu_hit_rate)}, CPU ${f(a.server_cpu_hit_rate)}) · GPU KV max ${f(a.gpu_kv_usage_pct, 1)}% · ${offload}`;
}

/** What to expect of a simulated point, as the Rust library measured it (hold-out error). */
function simulatedText(e: NonNullable<ViewPoint["simulated"]>): string {
  const pct = (v: number): string => `${Math.round(v * 100)}%`;
  const left = e.left_out?.length ? `; left out of its recipe: ${e.left_out.join("; ")}` : "";
  const uncal = e.uncalibrated ? `; uncalibrated kind: ${e.uncalibrated}` : "";
  return `simulated: expect the ${e.basis} error (${pct(e.within_35)} within ±35%, median ${pct(e.median_tput_error)} tok/s/GPU, ${pct(e.median_interactivity_error)} tok/s/user)${left}${uncal}`;
}

interface Datum {
  x: number;
  y: number;
  p: ViewPoint;
  /** The label drawn beside it (empty: none). */
  label: string;
}

/** The legend's id of a series: its source and key (a series' runs share it). */
/** Frontier rows shown before "show all". */
const FRONTIER_ROWS = 100;

function legendId(s: SeriesFigures): string {
  return `${s.source}/${s.key}`;
}

function renderInference(ctx: Ctx): Rendered {
  const { route, view } = ctx;
  const figures = ctx.figures as Figures;
  const P = route.params;
  // Agentic views are drawn against InferenceX's agentic axis unless asked otherwise.
  const agentic = view.points.some((p) => p.agentic);
  const xs = figures.metrics.x.filter((m) => m.only !== "agentic" || agentic);
  const xm = xs.find((m) => m.key === P.get("x")) ?? xs.find((m) => m.key === (agentic ? "e2enorm" : "intvty")) ?? xs[0];
  const ym = figures.metrics.y.find((m) => m.key === P.get("y")) ?? figures.metrics.y[0];
  const x = xm.key, y = ym.key;
  const group = groupOf(P.get("group"));
  const tier = tierOf(P.get("tier"));
  const price = num(P.get("price"));
  const source = sourceOf(P.get("source"), ctx.summary, true);
  const run = P.get("run") || "latest";
  const allPrec = sorted(view.configs.map((c) => c.precision));
  const allHw = sorted(view.configs.map((c) => c.hardware));
  const allEngine = sorted(view.configs.map((c) => c.engine));
  const prec = list(P.get("prec"))?.filter((v) => allPrec.includes(v)) ?? allPrec;
  const hw = list(P.get("hw"))?.filter((v) => allHw.includes(v)) ?? allHw;
  const engine = list(P.get("engine"))?.filter((v) => allEngine.includes(v)) ?? allEngine;
  const frontierOnly = P.get("frontier") === "1";
  // Only the points each run measured itself: the figures of them (`<group>.new.json`).
  const newOnly = P.get("new") === "1";
  const xScale = P.get("xs") === "log" ? "log" : "lin";
  const yScale = P.get("ys") === "log" ? "log" : "lin";
  const labels = ["none", "par", "conc", "both"].includes(P.get("labels") ?? "") ? (P.get("labels") as string) : "par";
  const hidden = new Set((P.get("hide") ?? "").split("\n").filter((v) => v !== ""));
  const query = P.get("q") ?? "";
  const zoom = zoomOf(P.get("zoom"));
  const pinId = P.get("pin") ?? "";
  const params: Params = [
    ["group", group], ["prec", prec.join(",")], ["x", x], ["y", y], ["tier", tier], ["price", price],
    ["source", source], ["run", run], ["hw", hw.join(",")], ["engine", engine.join(",")],
    ["frontier", frontierOnly ? "1" : "0"], ["new", newOnly ? "1" : null], ["xs", xScale], ["ys", yScale], ["labels", labels],
    ["hide", hidden.size ? [...hidden].sort().join("\n") : null], ["q", query || null],
    ["zoom", zoom ? zoom.join(",") : null], ["pin", pinId || null],
  ];
  const setMany = setter("inference", ctx, params);
  const set = (k: string, v: string | number | null): void => setMany([[k, v]]);

  // The filters show or hide whole series: a frontier is always its whole series'.
  const byId = byIdOf(view);
  const econ = econs(ctx.index, tier, price);
  const filtered = seriesOf(figures, run).filter((s) => sourceMatches(source, s.source) && hw.includes(s.hardware) &&
    s.engines.some((e) => engine.includes(e)) && s.precisions.some((v) => prec.includes(v)));
  const shownSeries = filtered.filter((s) => !hidden.has(legendId(s)));
  const positive = (v: number, scale: string): boolean => scale === "lin" || v > 0;
  const xf = X_OF[x], yf = yFn(ym);
  const econOf = view.configs.map((c) => econ(c.hardware));
  const datum = (id: number | string, withLabel: boolean): Datum | null => {
    const p = byId.get(Number(id));
    if (!p) return null;
    const xv = xf(p), yv = yf(p, econOf[p.config]);
    if (xv === null || yv === null || !Number.isFinite(xv) || !Number.isFinite(yv) || !positive(xv, xScale) || !positive(yv, yScale)) return null;
    return { x: xv, y: yv, p, label: withLabel ? pointLabel(labels, p, view.configs[p.config]) : "" };
  };
  const datasets: ChartConfig["data"]["datasets"] = [];
  // The points of each series with one marker style, and every frontier, drawn by the
  // scatter plugin: the axes must span their points, which Chart.js does not see.
  const cloudList: Cloud[] = [];
  const lineList: Line[] = [];
  const bounds = extent();
  const rows: (() => Row)[] = [];
  // Each shown series' drawable points (a filter change copies none of them).
  const drawn: { s: SeriesFigures; points: Datum[]; onF: Set<string> }[] = [];
  let drawnCount = 0, simulated = 0;
  let missing = 0;
  const frontierState: { series: string; source: string; run: string; points: { id: string; x: number; y: number }[] }[] = [];
  const legend: { id: string; label: string; color: string; hidden: boolean; points: number }[] = [];
  const shade = shader();
  const colorFor = new Map<string, string>();
  for (const s of filtered) colorFor.set(legendId(s), colorFor.get(legendId(s)) ?? shade(s.hardware, s.key));
  for (const s of filtered) {
    if (!legend.some((l) => l.id === legendId(s))) {
      legend.push({ id: legendId(s), label: s.source === "reference" ? `${s.label} [published]` : s.label, color: colorFor.get(legendId(s)) as string, hidden: hidden.has(legendId(s)), points: 0 });
    }
  }
  for (const s of shownSeries) {
    const runName = s.run ?? "latest";
    const fids = s.frontiers[x]?.[ym.frontier] ?? [];
    const onF = new Set(fids.map(String));
    const data = cloudOf(view, `${legendId(s)}|${s.run}|${x}|${y}|${tier}|${price}|${xScale}|${yScale}`, () => s.points.map((id) => datum(id, false)));
    const fd = fids.map((id) => datum(id, true)).filter((d): d is Datum => d !== null);
    const color = colorFor.get(legendId(s)) as string;
    const ref = s.source === "reference";
    const label = s.run === null ? s.label : `${s.label} ${s.run}`;
    drawn.push({ s, points: data.points, onF });
    drawnCount += data.points.length;
    missing += data.missing;
    simulated += data.simulated;
    const entry = legend.find((l) => l.id === legendId(s));
    if (entry) entry.points += data.points.length;
    const shown = frontierOnly ? data.points.filter((d) => onF.has(String(d.p.id))) : data.points;
    // Simulated points are drawn as open diamonds: their figures carry the simulator's error;
    // open triangles where no published point calibrates their kind of deployment.
    const sim = (d: Datum): boolean => d.p.simulated !== null && d.p.simulated !== undefined;
    const uncal = (d: Datum): boolean => Boolean(d.p.simulated?.uncalibrated);
    // One style for the whole dataset where no point is simulated: Chart.js then shares its
    // options between the points instead of resolving them point by point.
    const anySim = shown.some(sim);
    const style = styleOf(s.engines[0] ?? "");
    if (anySim) {
      datasets.push({
        label, data: shown, pointRadius: 3, pointHoverRadius: 6, borderColor: color,
        pointStyle: shown.map((d) => (uncal(d) ? "triangle" : sim(d) ? "rectRot" : style)),
        backgroundColor: shown.map((d) => (ref || sim(d) ? "transparent" : color)),
        borderWidth: shown.map((d) => (sim(d) ? 1.5 : ref ? 1.2 : 0)),
      });
    } else {
      // One style for the whole series: its points drawn, hovered and clicked by the scatter
      // plugin, outside Chart.js.
      cloudList.push({ style: { shape: style, fill: ref ? "transparent" : color, stroke: color, width: ref ? 1.2 : 0, radius: 3 }, points: shown });
      if (frontierOnly) for (const d of shown) bounds.add(d);
      else bounds.span(data.extent);
    }
    // The frontier line carries the points' labels (parallelism, concurrency).
    lineList.push({ color, dash: ref ? [6, 4] : [], points: fd.slice().sort((a, b) => a.x - b.x) });
    frontierState.push({ series: s.key, source: s.source, run: runName, points: fd.map((d) => ({ id: String(d.p.id), x: d.x, y: d.y })) });
    for (const d of fd) rows.push(() => {
      const c = view.configs[d.p.config];
      const a = d.p.agentic;
      // An agentic view also shows how each point's caches did.
      const caches = agentic ? [numCell(a?.theoretical_hit_rate ?? null, 3), numCell(a?.server_hit_rate ?? null, 3), numCell(a?.gpu_kv_usage_pct ?? null, 1)] : [];
      const cacheAttrs = agentic ? { "data-theory-hit": raw(a?.theoretical_hit_rate ?? null), "data-server-hit": raw(a?.server_hit_rate ?? null), "data-gpu-kv": raw(a?.gpu_kv_usage_pct ?? null) } : {};
      return {
        attrs: { "data-testid": "frontier-row", "data-series": s.key, "data-source": s.source, "data-run": runName, "data-point": String(d.p.id), "data-config": c.key, "data-x": raw(d.x), "data-y": raw(d.y), "data-label": d.label, "data-simulated": d.p.simulated?.basis ?? "", "data-left-out": (d.p.simulated?.left_out ?? []).join("; "), "data-uncalibrated": d.p.simulated?.uncalibrated ?? "", ...cacheAttrs },
        cells: [label, labelOf(c, s.source), String(d.p.conc), String(d.p.num_gpus), numCell(d.x, digitsOf(xm)), numCell(d.y, digitsOf(ym)), ...caches, date10(d.p.run_started_at),
          d.p.simulated ? { text: d.p.simulated.uncalibrated ? "simulated, uncalibrated kind" : "simulated", attrs: { title: simulatedText(d.p.simulated) } } : "measured",
          { text: h("a", { href: `#/point/${encodeURIComponent(String(d.p.id))}`, "data-testid": "point-link" }, "detail") }],
      };
    });
  }

  // A pinned tooltip: the clicked point's config, kept over the chart (and in the URL) until closed.
  const pinnedDatum = pinId ? drawn.flatMap(({ points }) => points.find((d) => String(d.p.id) === pinId) ?? [])[0] ?? null : null;
  const pinBox = h("div", { class: "pinned-tip", "data-testid": "pinned", hidden: pinnedDatum === null });
  if (pinnedDatum) {
    const c = view.configs[pinnedDatum.p.config];
    pinBox.append(
      h("button", { type: "button", class: "close", "data-testid": "unpin", "aria-label": "unpin", onclick: () => set("pin", null) }, "×"),
      h("ul", {}, ...describe(pinnedDatum.p, c).map((l) => h("li", {}, l)),
        h("li", {}, `${xm.label}: ${fmt(pinnedDatum.x, digitsOf(xm))}`), h("li", {}, `${ym.label}: ${fmt(pinnedDatum.y, digitsOf(ym))}`)),
      h("a", { href: `#/point/${encodeURIComponent(String(pinnedDatum.p.id))}`, "data-testid": "pinned-link" }, `point ${pinnedDatum.p.id} in full →`));
  }
  const tipOf = (d: Datum): string[] =>
    [...describe(d.p, view.configs[d.p.config]), `${xm.label}: ${fmt(d.x, digitsOf(xm))}`, `${ym.label}: ${fmt(d.y, digitsOf(ym))}`, "click: pin this tooltip, with a link to the point"];
  const tipBox = h("div", { class: "pinned-tip hover-tip", "data-testid": "tooltip", hidden: true });
  const axis = (m: MetricInfo, scale: string, lim: [number, number] | null, span: [number, number] | null): Record<string, unknown> => ({
    type: scale === "log" ? "logarithmic" : "linear",
    title: { display: true, text: `${m.label}${scale === "log" ? " (log)" : ""}` },
    ...(lim ? { min: lim[0], max: lim[1] } : span ? { suggestedMin: span[0], suggestedMax: span[1] } : {}),
  });
  const config: ChartConfig = {
    type: "scatter",
    data: { datasets, clouds: cloudList, lines: lineList } as ChartConfig["data"],
    plugins: [scatter<Datum>(tipBox, tipOf, (d) => set("pin", String(d.p.id))), zoomBox((z) => set("zoom", z.map((v) => Number(v.toPrecision(6))).join(","))),
      pinAnchor(pinnedDatum, pinBox)],
    options: {
      parsing: false,
      normalized: false,
      events: ["mousemove", "mouseout", "click", "mousedown", "mouseup", "touchstart", "touchmove"],
      plugins: {
        decimation: { enabled: false },
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: () => "",
            label: (item: TooltipItem) => tipOf(item.raw as Datum),
          },
        },
      },
      onClick: (_e, els, chart) => {
        const el = els[0];
        if (el && !zoomDragged()) set("pin", String((chart.data.datasets[el.datasetIndex].data[el.index] as unknown as Datum).p.id));
      },
      scales: {
        x: axis(xm, xScale, zoom ? [zoom[0], zoom[1]] : null, bounds.x()),
        y: axis(ym, yScale, zoom ? [zoom[2], zoom[3]] : null, bounds.y()),
      },
    },
  };
  const csv = () => ({
    header: ["point", "series", "source", "hardware", "engine", "config", "precision", "topology", "run", "run_started_at", "conc", "num_gpus", x, y, "on_frontier"],
    rows: drawn.flatMap(({ s, points, onF }) => points.map((d) => {
      const front = onF.has(String(d.p.id));
      const c = view.configs[d.p.config];
      return [String(d.p.id), s.key, d.p.source, c.hardware, c.engine, c.key, c.precision, c.topology, d.p.run, d.p.run_started_at, d.p.conc, d.p.num_gpus, d.x, d.y, front];
    })),
  });
  const runs = runsOf(view);
  // The y menu in InferenceX's groups, as the library names them.
  const yGroups = [...new Set(figures.metrics.y.map((m) => m.group))];
  const ySelect = h("select", { "data-testid": "y" }, ...yGroups.map((g) => h("optgroup", { label: g },
    ...figures.metrics.y.filter((m) => m.group === g).map((m) => h("option", { value: m.key, selected: m.key === y }, m.label)))));
  ySelect.value = y;
  ySelect.addEventListener("change", () => set("y", ySelect.value));
  const scaleSel = (k: string, v: string): HTMLSelectElement => select(k, v, [["lin", "linear"], ["log", "log"]], (nv) => set(k, nv));
  const controls = h("div", { class: "controls" },
    labelled("frontiers per", select("group", group, GROUPS, (v) => set("group", v))),
    labelled("x", select("x", x, xs.map((m): [string, string] => [m.key, m.label]), (v) => set("x", v))),
    labelled("x scale", scaleSel("xs", xScale)),
    labelled("y", ySelect),
    labelled("y scale", scaleSel("ys", yScale)),
    labelled("cost tier", select("tier", tier, [["hyperscaler", "owned, hyperscaler"], ["neocloud", "owned, neocloud"], ["rental", "3-year rental"], ["custom", "my price"]], (v) => set("tier", v))),
    labelled("$/GPU-hour", numberInput("price", price, (v) => setMany([["price", v], ["tier", v === null ? tier : "custom"]]), { min: "0", placeholder: "custom" })),
    labelled("source", select("source", source, [["own", "own runs"], ["reference", "published (reference)"], ["both", "both, side by side"]], (v) => set("source", v))),
    labelled("runs", select("run", run, [["latest", "latest of each config"], ["all", "all"], ...runs.map((r): [string, string] => [r.key, `${r.key} (${date10(r.started_at)})`])], (v) => set("run", v))),
    labelled("labels", select("labels", labels, [["par", "parallelism"], ["conc", "concurrency"], ["both", "both"], ["none", "hide labels"]], (v) => set("labels", v))),
    labelled("precision", checks("prec", allPrec, prec, (v) => set("prec", v.join(",")))),
    labelled("accelerators", checks("hw", allHw, hw, (v) => set("hw", v.join(",")))),
    labelled("engines", checks("engine", allEngine, engine, (v) => set("engine", v.join(",")))),
    labelled("frontier only", h("input", { type: "checkbox", "data-testid": "frontier", checked: frontierOnly, onchange: (e: Event) => set("frontier", (e.target as HTMLInputElement).checked ? "1" : "0") })),
    labelled("new points only", h("input", { type: "checkbox", "data-testid": "new-only", title: "Leave out the points a run carried over unchanged from an earlier run (sweep --reuse): what each run measured itself", checked: newOnly, onchange: (e: Event) => set("new", (e.target as HTMLInputElement).checked ? "1" : null) })),
  );
  const legendEl = legendBox(legend, query, hidden, (hide, q) => setMany([["hide", hide.size ? [...hide].sort().join("\n") : null], ["q", q || null]]));
  const sources = sorted(shownSeries.flatMap((s) => hardwareOf(ctx.index, s.hardware)?.sources?.map((x) => `${x.id} (${x.date})`) ?? []));
  const economic = ym.unit !== "tok/s/GPU" && !ym.key.startsWith("measured");
  const note = h("p", { class: "note" },
    ym.unit === "$/M tokens" ? (tier === "custom" ? `$${price ?? "?"}/GPU-hour given. ` : `Cost tier ${tier}. `) : "",
    economic ? `Prices and all-in power: catalog ${sources.join(", ") || "n/a"}. ` : "",
    `Frontiers per ${GROUPS.find(([g]) => g === group)?.[1]}, computed by servebench's analysis library; the filters and the legend show or hide whole series. Published points are hollow with dashed frontiers, never blended with own runs; simulated points are open diamonds. Drag on the chart to zoom; labels mark frontier points.`);
  const count = h("p", { "data-testid": "inference-count", "data-value": drawnCount, "data-frontier": rows.length, "data-missing": missing, "data-simulated": simulated },
    `${drawnCount} points drawn, ${rows.length} on frontiers`,
    simulated ? `; ${simulated} of them simulated (their tooltips and the table say what error to expect)` : "",
    missing ? `; ${missing} not drawn: they lack this metric (or the catalog lacks their accelerator's price or power${xScale === "log" || yScale === "log" ? ", or a log axis cannot show them" : ""}).` : ".");
  // Accuracy beside throughput: each eval with the point measured at the same deployment,
  // concurrency and run, read on the chart's axes.
  const configByKey = new Map(view.configs.map((c) => [c.key, c]));
  const evals = view.evals ?? [];
  const evalRows: Row[] = evals.map((e) => {
    const p = e.point_id === null ? undefined : byId.get(Number(e.point_id));
    const c = configByKey.get(e.config_key);
    const source = p ? p.source : "own";
    const verdict = e.passed === null ? "-" : e.passed ? "pass" : "FAIL";
    return {
      attrs: { "data-testid": "eval-row", "data-config": e.config_key, "data-run": e.run, "data-conc": String(e.conc), "data-task": e.task, "data-point": e.point_id === null ? "" : String(e.point_id), "data-passed": String(e.passed) },
      cells: [c ? labelOf(c, source) : e.config_key, e.run, String(e.conc), e.task,
        numCell(e.score, 3, { "data-metric": "score" }), numCell(e.stderr, 3, { "data-metric": "stderr" }), String(e.n),
        numCell(e.threshold, 2, { "data-metric": "threshold" }), { text: verdict, attrs: { class: e.passed === false ? "warn" : "" } },
        numCell(p ? X_OF[x](p) : null, 1, { "data-metric": "x" }),
        numCell(p ? yOf(ym, p, econ(view.configs[p.config].hardware)) : null, digitsOf(ym), { "data-metric": "y" }),
        p ? { text: h("a", { href: `#/point/${encodeURIComponent(String(p.id))}`, "data-testid": "eval-point-link" }, "detail") } : "-"],
    };
  });
  const zoomReset = zoom ? h("button", { type: "button", "data-testid": "zoom-reset", onclick: () => set("zoom", null) }, "reset zoom") : null;
  const el = h("section", { "data-testid": "view-inference" }, controls,
    h("div", { class: "chart-legend" }, chartBox("inference", config, csv, true, [zoomReset, pinBox, tipBox]), legendEl),
    note, count,
    h("h3", {}, "Frontier points"),
    longTable("inference-table", [["series", "series"], ["config", "config"], ["conc", "conc"], ["gpus", "GPUs"], ["x", xm.label], ["y", ym.label],
      ...(agentic ? [["theory", "theory hit"], ["server", "server hit"], ["kv", "GPU KV max %"]] as [string, string][] : []), ["date", "run date"], ["kind", "measured?"], ["link", ""]], rows, FRONTIER_ROWS),
    h("h3", {}, "Accuracy beside throughput"),
    evals.length
      ? table("eval-table", [["config", "config"], ["run", "run"], ["conc", "conc"], ["task", "task"], ["score", "score"], ["stderr", "± s.e."], ["n", "questions"], ["threshold", "threshold"], ["verdict", "verdict"], ["x", xm.label], ["y", ym.label], ["link", ""]], evalRows)
      : h("p", { class: "empty", "data-testid": "no-evals" }, "No accuracy evals for this view (sweep --eval-task, at the points the plan marks)."));
  return {
    el, params,
    state: {
      group, x, y, tier, price, source, run, prec, hw, engine, frontier_only: frontierOnly, new_only: figures.new_only, points_drawn: drawnCount, frontiers: frontierState,
      xs: xScale, ys: yScale, labels, hidden: [...hidden].sort(), q: query, zoom, pin: pinnedDatum ? pinId : null,
      legend: legend.map((l) => ({ id: l.id, label: l.label, hidden: l.hidden, points: l.points })),
    },
  };
}

/** A series' points that can be drawn on the chart's axes, how many cannot (they lack the
 * metric, or a log axis cannot show them), how many are simulated, and their extent. */
interface Placed {
  points: Datum[];
  missing: number;
  simulated: number;
  extent: [number, number, number, number] | null;
}

const placed = new WeakMap<ViewFile, Map<string, Placed>>();

/** A series' points on the chart's axes, computed once per view and axes (a filter change
 * redraws them without recomputing them). */
function cloudOf(view: ViewFile, key: string, make: () => (Datum | null)[]): Placed {
  let m = placed.get(view);
  if (!m) {
    m = new Map();
    placed.set(view, m);
  }
  let d = m.get(key);
  if (!d) {
    const all = make();
    const points = all.filter((p): p is Datum => p !== null);
    const e = extent();
    for (const p of points) e.add(p);
    const [x, y] = [e.x(), e.y()];
    d = { points, missing: all.length - points.length, simulated: points.filter((p) => p.p.simulated).length, extent: x && y ? [x[0], x[1], y[0], y[1]] : null };
    m.set(key, d);
  }
  return d;
}

/** `x0,x1,y0,y1` from the URL, or null. */
function zoomOf(v: string | undefined): [number, number, number, number] | null {
  const z = (v ?? "").split(",").map(Number);
  return z.length === 4 && z.every(Number.isFinite) && z[0] < z[1] && z[2] < z[3] ? (z as [number, number, number, number]) : null;
}

/** The legend: a search box, a toggle per series, and show/hide of the matching ones. */
function legendBox(items: { id: string; label: string; color: string; hidden: boolean; points: number }[], query: string, hidden: Set<string>,
  apply: (hide: Set<string>, q: string) => void): HTMLElement {
  const q = query.toLowerCase();
  const matching = items.filter((i) => i.label.toLowerCase().includes(q));
  const search = h("input", { type: "search", "data-testid": "legend-search", placeholder: "search the legend", value: query });
  search.addEventListener("change", () => apply(hidden, search.value));
  const toggled = (id: string, on: boolean): Set<string> => {
    const next = new Set(hidden);
    if (on) next.delete(id);
    else next.add(id);
    return next;
  };
  const only = (): void => apply(new Set(items.filter((i) => !matching.includes(i)).map((i) => i.id)), query);
  const showAll = (): void => apply(new Set(), query);
  return h("div", { class: "legend", "data-testid": "legend" },
    search,
    h("div", { class: "legend-actions" },
      h("button", { type: "button", "data-testid": "legend-only", onclick: only }, "only these"),
      h("button", { type: "button", "data-testid": "legend-all", onclick: showAll }, "show all")),
    h("ul", {}, ...matching.map((i) => {
      const box = h("input", { type: "checkbox", checked: !i.hidden, "data-testid": "legend-toggle", "data-series": i.id });
      box.addEventListener("change", () => apply(toggled(i.id, box.checked), query));
      const swatch = h("span", { class: "swatch", "data-color": i.color });
      // Through the CSSOM: the policy allows no inline style attribute.
      swatch.style.backgroundColor = i.color;
      return h("li", { "data-testid": "legend-item", "data-series": i.id, "data-hidden": String(i.hidden), class: i.hidden ? "off" : "" },
        h("label", {}, box, swatch, i.label));
    })),
    matching.length < items.length ? h("p", { class: "note" }, `${items.length - matching.length} of ${items.length} series not matching the search (still drawn unless hidden).`) : null);
}
