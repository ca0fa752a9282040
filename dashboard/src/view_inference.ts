// #/inference: every point of the view and the frontiers of the chosen grouping (InferenceMAX's
// hardware keys by default), as the Rust library computed them (figures/<slug>/<group>.json).

type XKey = "intvty" | "e2el" | "ttft" | "e2enorm";
type YKey = "tput" | "input" | "output" | "cost" | "tpmw" | "energy" | "measured";

const X_META: Record<XKey, { label: string; of: (p: ViewPoint) => number | null }> = {
  intvty: { label: "interactivity, tok/s/user", of: (p) => p.median_intvty },
  e2el: { label: "median end-to-end latency, ms", of: (p) => p.median_e2el_ms },
  ttft: { label: "median time to first token, ms", of: (p) => p.median_ttft_ms },
  e2enorm: { label: "E2E-normalised interactivity (P90), tok/s/user", of: (p) => p.agentic?.e2e_norm_intvty_p90 ?? null },
};

const Y_META: Record<YKey, { label: string; digits: number }> = {
  tput: { label: "throughput, tok/s/GPU (total)", digits: 1 },
  input: { label: "input throughput, tok/s/GPU", digits: 1 },
  output: { label: "output throughput, tok/s/GPU", digits: 1 },
  cost: { label: "cost, $ per million tokens", digits: 3 },
  tpmw: { label: "tokens/s per all-in MW", digits: 0 },
  energy: { label: "modelled energy, J/token", digits: 3 },
  measured: { label: "measured energy, J/output token", digits: 3 },
};

/**
 * A point's y: its measured metric, or its economics as the API computed them; only a price
 * the user typed goes through the live formula (throughput must be positive, as in Rust).
 */
function yOf(y: YKey, p: ViewPoint, tier: Tier, price: number | null): number | null {
  const pos = (v: number | null): number | null => (v !== null && v > 0 ? v : null);
  switch (y) {
    case "tput": return pos(p.tput_per_gpu);
    case "input": return pos(p.input_tput_per_gpu);
    case "output": return pos(p.output_tput_per_gpu);
    case "cost": {
      if (tier !== "custom") return p.dollars_per_mtok?.[tier] ?? null;
      const t = pos(p.tput_per_gpu);
      return t !== null && price !== null ? liveDollarsPerMillion(price, t) : null;
    }
    case "tpmw": return p.tokens_per_s_per_mw;
    case "energy": return p.joules_per_token;
    case "measured": return p.measured_j_per_token;
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
}

function renderInference(ctx: Ctx): Rendered {
  const { route, view } = ctx;
  const figures = ctx.figures as Figures;
  const P = route.params;
  // Agentic views are drawn against InferenceX's agentic axis unless asked otherwise.
  const agentic = view.points.some((p) => p.agentic);
  const x: XKey = (Object.keys(X_META) as XKey[]).find((k) => k === P.get("x")) ?? (agentic ? "e2enorm" : "intvty");
  const y: YKey = (Object.keys(Y_META) as YKey[]).find((k) => k === P.get("y")) ?? "tput";
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
  const params: Params = [
    ["group", group], ["prec", prec.join(",")], ["x", x], ["y", y], ["tier", tier], ["price", price],
    ["source", source], ["run", run], ["hw", hw.join(",")], ["engine", engine.join(",")],
    ["frontier", frontierOnly ? "1" : "0"],
  ];
  const setMany = setter("inference", ctx, params);
  const set = (k: string, v: string | number | null): void => setMany([[k, v]]);

  // The filters show or hide whole series: a frontier is always its whole series'.
  const byId = new Map(view.points.map((p) => [String(p.id), p]));
  const shownSeries = seriesOf(figures, run).filter((s) => sourceMatches(source, s.source) && hw.includes(s.hardware) &&
    s.engines.some((e) => engine.includes(e)) && s.precisions.some((v) => prec.includes(v)));
  const datum = (id: number | string): Datum | null => {
    const p = byId.get(String(id));
    if (!p) return null;
    const xv = X_META[x].of(p), yv = yOf(y, p, tier, price);
    return xv !== null && yv !== null && Number.isFinite(xv) && Number.isFinite(yv) ? { x: xv, y: yv, p } : null;
  };
  const datasets: ChartConfig["data"]["datasets"] = [];
  const rows: Row[] = [];
  const drawn: { d: Datum; front: boolean; s: SeriesFigures }[] = [];
  let missing = 0;
  const frontierState: { series: string; source: string; run: string; points: { id: string; x: number; y: number }[] }[] = [];
  const shade = shader();
  for (const s of shownSeries) {
    const runName = s.run ?? "latest";
    const onF = new Set((s.frontiers[x]?.[y] ?? []).map(String));
    const data = s.points.map(datum);
    const fd = (s.frontiers[x]?.[y] ?? []).map(datum).filter((d): d is Datum => d !== null);
    const color = shade(s.hardware, s.key);
    const ref = s.source === "reference";
    const label = s.run === null ? s.label : `${s.label} ${s.run}`;
    data.forEach((d) => (d ? drawn.push({ d, front: onF.has(String(d.p.id)), s }) : missing++));
    const shown = data.filter((d): d is Datum => d !== null && (!frontierOnly || onF.has(String(d.p.id))));
    // Simulated points are drawn as open diamonds: their figures carry the simulator's error;
    // open triangles where no published point calibrates their kind of deployment.
    const sim = (d: Datum): boolean => d.p.simulated !== null && d.p.simulated !== undefined;
    const uncal = (d: Datum): boolean => Boolean(d.p.simulated?.uncalibrated);
    datasets.push({
      label, data: shown, pointRadius: 3, pointHoverRadius: 6, borderColor: color,
      pointStyle: shown.map((d) => (uncal(d) ? "triangle" : sim(d) ? "rectRot" : styleOf(s.engines[0] ?? ""))),
      backgroundColor: shown.map((d) => (ref || sim(d) ? "transparent" : color)),
      borderWidth: shown.map((d) => (sim(d) ? 1.5 : ref ? 1.2 : 0)),
    });
    datasets.push({
      label: `${label} frontier`, data: fd.slice().sort((a, b) => a.x - b.x), showLine: true, pointRadius: 0, pointHitRadius: 0,
      borderColor: color, backgroundColor: color, borderWidth: 1.5, borderDash: ref ? [6, 4] : [],
    });
    frontierState.push({ series: s.key, source: s.source, run: runName, points: fd.map((d) => ({ id: String(d.p.id), x: d.x, y: d.y })) });
    for (const d of fd) {
      const c = view.configs[d.p.config];
      const a = d.p.agentic;
      // An agentic view also shows how each point's caches did.
      const caches = agentic ? [numCell(a?.theoretical_hit_rate ?? null, 3), numCell(a?.server_hit_rate ?? null, 3), numCell(a?.gpu_kv_usage_pct ?? null, 1)] : [];
      const cacheAttrs = agentic ? { "data-theory-hit": raw(a?.theoretical_hit_rate ?? null), "data-server-hit": raw(a?.server_hit_rate ?? null), "data-gpu-kv": raw(a?.gpu_kv_usage_pct ?? null) } : {};
      rows.push({
        attrs: { "data-testid": "frontier-row", "data-series": s.key, "data-source": s.source, "data-run": runName, "data-point": String(d.p.id), "data-config": c.key, "data-x": raw(d.x), "data-y": raw(d.y), "data-simulated": d.p.simulated?.basis ?? "", "data-left-out": (d.p.simulated?.left_out ?? []).join("; "), "data-uncalibrated": d.p.simulated?.uncalibrated ?? "", ...cacheAttrs },
        cells: [label, labelOf(c, s.source), String(d.p.conc), String(d.p.num_gpus), numCell(d.x, 1), numCell(d.y, Y_META[y].digits), ...caches, date10(d.p.run_started_at),
          d.p.simulated ? { text: d.p.simulated.uncalibrated ? "simulated, uncalibrated kind" : "simulated", attrs: { title: simulatedText(d.p.simulated) } } : "measured",
          { text: h("a", { href: `#/point/${encodeURIComponent(String(d.p.id))}`, "data-testid": "point-link" }, "detail") }],
      });
    }
  }

  const pinned = h("div", { class: "pinned", "data-testid": "pinned" }, "Click a point to pin its config and a link to its detail.");
  const pin = (d: Datum): void => {
    const c = view.configs[d.p.config];
    pinned.replaceChildren(h("ul", {}, ...describe(d.p, c).map((l) => h("li", {}, l))),
      h("a", { href: `#/point/${encodeURIComponent(String(d.p.id))}`, "data-testid": "pinned-link" }, `point ${d.p.id} in full →`));
  };
  const config: ChartConfig = {
    type: "scatter",
    data: { datasets },
    options: {
      parsing: false,
      normalized: false,
      plugins: {
        decimation: { enabled: false },
        legend: { position: "bottom", onClick: () => undefined, labels: { filter: (item) => !item.text.endsWith(" frontier"), usePointStyle: true } },
        tooltip: {
          filter: (item) => !(item.dataset.label ?? "").endsWith(" frontier"),
          callbacks: {
            title: () => "",
            label: (item: TooltipItem) => {
              const d = item.raw as Datum;
              return [...describe(d.p, view.configs[d.p.config]), `${X_META[x].label}: ${fmt(d.x, 2)}`, `${Y_META[y].label}: ${fmt(d.y, Y_META[y].digits)}`, "click: pin, with a link to the point"];
            },
          },
        },
      },
      onClick: (_e, els, chart) => {
        const el = els[0];
        if (el) pin(chart.data.datasets[el.datasetIndex].data[el.index] as unknown as Datum);
      },
      scales: {
        x: { type: "linear", title: { display: true, text: X_META[x].label } },
        y: { type: "linear", title: { display: true, text: Y_META[y].label } },
      },
    },
  };
  const csv = () => ({
    header: ["point", "series", "source", "hardware", "engine", "config", "precision", "topology", "run", "run_started_at", "conc", "num_gpus", x, y, "on_frontier"],
    rows: drawn.map(({ d, front, s }) => {
      const c = view.configs[d.p.config];
      return [String(d.p.id), s.key, d.p.source, c.hardware, c.engine, c.key, c.precision, c.topology, d.p.run, d.p.run_started_at, d.p.conc, d.p.num_gpus, d.x, d.y, front];
    }),
  });
  const runs = runsOf(view);
  const controls = h("div", { class: "controls" },
    labelled("frontiers per", select("group", group, GROUPS, (v) => set("group", v))),
    labelled("x", select("x", x, [["intvty", "interactivity (tok/s/user)"], ["e2el", "E2E latency (ms)"], ["ttft", "time to first token (ms)"], ...(agentic ? [["e2enorm", "E2E-normalised interactivity P90 (tok/s/user)"] as [string, string]] : [])], (v) => set("x", v))),
    labelled("y", select("y", y, (Object.keys(Y_META) as YKey[]).map((k) => [k, Y_META[k].label]), (v) => set("y", v))),
    labelled("cost tier", select("tier", tier, [["hyperscaler", "owned, hyperscaler"], ["neocloud", "owned, neocloud"], ["rental", "3-year rental"], ["custom", "my price"]], (v) => set("tier", v))),
    labelled("$/GPU-hour", numberInput("price", price, (v) => setMany([["price", v], ["tier", v === null ? tier : "custom"]]), { min: "0", placeholder: "custom" })),
    labelled("source", select("source", source, [["own", "own runs"], ["reference", "published (reference)"], ["both", "both, side by side"]], (v) => set("source", v))),
    labelled("runs", select("run", run, [["latest", "latest of each config"], ["all", "all"], ...runs.map((r): [string, string] => [r.key, `${r.key} (${date10(r.started_at)})`])], (v) => set("run", v))),
    labelled("precision", checks("prec", allPrec, prec, (v) => set("prec", v.join(",")))),
    labelled("accelerators", checks("hw", allHw, hw, (v) => set("hw", v.join(",")))),
    labelled("engines", checks("engine", allEngine, engine, (v) => set("engine", v.join(",")))),
    labelled("frontier only", h("input", { type: "checkbox", "data-testid": "frontier", checked: frontierOnly, onchange: (e: Event) => set("frontier", (e.target as HTMLInputElement).checked ? "1" : "0") })),
  );
  const sources = sorted(shownSeries.flatMap((s) => hardwareOf(ctx.index, s.hardware)?.sources?.map((x) => `${x.id} (${x.date})`) ?? []));
  const note = h("p", { class: "note" },
    y === "cost" ? (tier === "custom" ? `$${price ?? "?"}/GPU-hour given. ` : `Cost tier ${tier}. `) : "",
    ["cost", "tpmw", "energy"].includes(y) ? `Prices and all-in power: catalog ${sources.join(", ") || "n/a"}. ` : "",
    `Frontiers per ${GROUPS.find(([g]) => g === group)?.[1]}, computed by servebench's analysis library; the filters show or hide whole series. Published points are hollow with dashed frontiers, never blended with own runs; simulated points are open diamonds.`);
  const simulated = drawn.filter(({ d }) => d.p.simulated).length;
  const count = h("p", { "data-testid": "inference-count", "data-value": drawn.length, "data-frontier": rows.length, "data-missing": missing, "data-simulated": simulated },
    `${drawn.length} points drawn, ${rows.length} on frontiers`,
    simulated ? `; ${simulated} of them simulated (their tooltips and the table say what error to expect)` : "",
    missing ? `; ${missing} not drawn: they lack this metric (or the catalog lacks their accelerator's price or power).` : ".");
  // Accuracy beside throughput: each eval with the point measured at the same deployment,
  // concurrency and run, read on the chart's axes.
  const configByKey = new Map(view.configs.map((c) => [c.key, c]));
  const evals = view.evals ?? [];
  const evalRows: Row[] = evals.map((e) => {
    const p = e.point_id === null ? undefined : byId.get(String(e.point_id));
    const c = configByKey.get(e.config_key);
    const source = p ? p.source : "own";
    const verdict = e.passed === null ? "-" : e.passed ? "pass" : "FAIL";
    return {
      attrs: { "data-testid": "eval-row", "data-config": e.config_key, "data-run": e.run, "data-conc": String(e.conc), "data-task": e.task, "data-point": e.point_id === null ? "" : String(e.point_id), "data-passed": String(e.passed) },
      cells: [c ? labelOf(c, source) : e.config_key, e.run, String(e.conc), e.task,
        numCell(e.score, 3, { "data-metric": "score" }), numCell(e.stderr, 3, { "data-metric": "stderr" }), String(e.n),
        numCell(e.threshold, 2, { "data-metric": "threshold" }), { text: verdict, attrs: { class: e.passed === false ? "warn" : "" } },
        numCell(p ? X_META[x].of(p) : null, 1, { "data-metric": "x" }),
        numCell(p ? yOf(y, p, tier, price) : null, Y_META[y].digits, { "data-metric": "y" }),
        p ? { text: h("a", { href: `#/point/${encodeURIComponent(String(p.id))}`, "data-testid": "eval-point-link" }, "detail") } : "-"],
    };
  });
  const el = h("section", { "data-testid": "view-inference" }, controls,
    chartBox("inference", config, csv, true), note, pinned, count,
    h("h3", {}, "Frontier points"),
    table("inference-table", [["series", "series"], ["config", "config"], ["conc", "conc"], ["gpus", "GPUs"], ["x", X_META[x].label], ["y", Y_META[y].label],
      ...(agentic ? [["theory", "theory hit"], ["server", "server hit"], ["kv", "GPU KV max %"]] as [string, string][] : []), ["date", "run date"], ["kind", "measured?"], ["link", ""]], rows),
    h("h3", {}, "Accuracy beside throughput"),
    evals.length
      ? table("eval-table", [["config", "config"], ["run", "run"], ["conc", "conc"], ["task", "task"], ["score", "score"], ["stderr", "± s.e."], ["n", "questions"], ["threshold", "threshold"], ["verdict", "verdict"], ["x", X_META[x].label], ["y", Y_META[y].label], ["link", ""]], evalRows)
      : h("p", { class: "empty", "data-testid": "no-evals" }, "No accuracy evals for this view (sweep --eval-task, at the points the plan marks)."));
  return {
    el, params,
    state: { group, x, y, tier, price, source, run, prec, hw, engine, frontier_only: frontierOnly, points_drawn: drawn.length, frontiers: frontierState },
  };
}
