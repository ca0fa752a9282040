// #/compare: two runs of the same configs overlaid, and A against B at a target interactivity,
// each run's frontier and values as the Rust library computed them (one series per config).

/** Points and frontier of one side as two scatter datasets. */
function curveSets(label: string, s: SeriesFigures, byId: Map<string, ViewPoint>, color: string, dashed: boolean, style: string): ChartConfig["data"]["datasets"] {
  const xy = (id: number | string): { x: number; y: number } | null => {
    const p = byId.get(String(id));
    return p && p.median_intvty !== null && p.tput_per_gpu !== null ? { x: p.median_intvty, y: p.tput_per_gpu } : null;
  };
  const pts = s.points.map(xy).filter((d): d is { x: number; y: number } => d !== null);
  const f = (s.frontiers.intvty?.tput ?? []).map(xy).filter((d): d is { x: number; y: number } => d !== null).sort((a, b) => a.x - b.x);
  return [
    { label, data: pts, pointStyle: style as "circle", pointRadius: 3, borderColor: color, backgroundColor: dashed ? "transparent" : color, borderWidth: dashed ? 1.2 : 0 },
    { label: `${label} frontier`, data: f, showLine: true, pointRadius: 0, pointHitRadius: 0, borderColor: color, borderWidth: 2, borderDash: dashed ? [6, 4] : [] },
  ];
}

function renderCompare(ctx: Ctx): Rendered {
  const { route, view } = ctx;
  const figures = ctx.figures as Figures;
  const P = route.params;
  const runs = runsOf(view);
  const keys = runs.map((r) => r.key);
  const a = keys.includes(P.get("a") ?? "") ? (P.get("a") as string) : keys[keys.length - 1] ?? "";
  const b = keys.includes(P.get("b") ?? "") ? (P.get("b") as string) : keys[keys.length - 2] ?? a;
  const at = snap(num(P.get("at")) ?? 50, figures.targets);
  const k = figures.targets.indexOf(at);
  const tier = tierOf(P.get("tier"));
  const price = num(P.get("price"));
  const params: Params = [["a", a], ["b", b], ["at", at], ["tier", tier], ["price", price]];
  const set = setter("compare", ctx, params);

  const byId = new Map(view.points.map((p) => [String(p.id), p]));
  const A = new Map(seriesOf(figures, a).map((s) => [`${s.source}\u001f${s.key}`, s]));
  const B = new Map(seriesOf(figures, b).map((s) => [`${s.source}\u001f${s.key}`, s]));
  const common = [...A.keys()].filter((c) => B.has(c)).sort((x, y) => (A.get(x) as SeriesFigures).label.localeCompare((B.get(y) as SeriesFigures).label));
  const datasets: ChartConfig["data"]["datasets"] = [];
  const rows: Row[] = [];
  const state: Record<string, unknown>[] = [];
  const csvRows: CsvValue[][] = [];
  const shade = shader();
  for (const key of common) {
    const sa = A.get(key) as SeriesFigures, sb = B.get(key) as SeriesFigures;
    const color = shade(sa.hardware, sa.key);
    datasets.push(...curveSets(`${sa.label} A`, sa, byId, color, false, "circle"), ...curveSets(`${sb.label} B`, sb, byId, color, true, "triangle"));
    const ta = sa.at.tput?.[k] ?? null, tb = sb.at.tput?.[k] ?? null;
    // A typed price goes through the live formula; a catalog tier's cost comes computed.
    const cost = (s: SeriesFigures, t: number | null): number | null =>
      tier === "custom" ? (t !== null && price !== null ? liveDollarsPerMillion(price, t) : null) : s.at[`cost.${tier}`]?.[k] ?? null;
    const ca = cost(sa, ta), cb = cost(sb, tb);
    const ratio = ta !== null && tb !== null ? ta / tb : null;
    const costRatio = ca !== null && cb !== null ? ca / cb : null;
    rows.push({
      attrs: { "data-testid": "compare-row", "data-config": sa.key, "data-source": sa.source, "data-a": raw(ta), "data-b": raw(tb), "data-value": raw(ratio), "data-cost-ratio": raw(costRatio) },
      cells: [sa.label, numCell(ta), numCell(tb), numCell(ratio, 3), numCell(ca, 3), numCell(cb, 3), numCell(costRatio, 3)],
    });
    state.push({ config: sa.key, a: ta, b: tb, ratio, cost_ratio: costRatio });
    for (const [side, s] of [["A", sa], ["B", sb]] as [string, SeriesFigures][]) {
      for (const id of s.points) {
        const p = byId.get(String(id));
        if (p) csvRows.push([side, side === "A" ? a : b, s.key, p.id, p.conc, p.median_intvty, p.tput_per_gpu]);
      }
    }
  }
  const runOpts = runs.map((r): [string, string] => [r.key, `${r.key} (${date10(r.started_at)}, ${r.source})`]);
  const controls = h("div", { class: "controls" },
    labelled("A", select("a", a, runOpts, (v) => set([["a", v]]))),
    labelled("B", select("b", b, runOpts, (v) => set([["b", v]]))),
    labelled("at tok/s/user", targetSelect(at, figures.targets, (v) => set([["at", v]]))),
    labelled("cost tier", select("tier", tier, [["hyperscaler", "owned, hyperscaler"], ["neocloud", "owned, neocloud"], ["rental", "3-year rental"], ["custom", "my price"]], (v) => set([["tier", v]]))),
    labelled("$/GPU-hour", numberInput("price", price, (v) => set([["price", v], ["tier", v === null ? tier : "custom"]]), { min: "0", placeholder: "custom" })),
  );
  const config: ChartConfig = {
    type: "scatter",
    data: { datasets },
    plugins: [targetLine(at)],
    options: {
      parsing: false,
      plugins: {
        legend: { position: "bottom", onClick: () => undefined, labels: { filter: (i) => !i.text.endsWith(" frontier"), usePointStyle: true } },
        tooltip: { filter: (i) => !(i.dataset.label ?? "").endsWith(" frontier") },
      },
      scales: {
        x: { type: "linear", title: { display: true, text: "interactivity, tok/s/user" } },
        y: { type: "linear", title: { display: true, text: "throughput, tok/s/GPU" } },
      },
    },
  };
  const el = h("section", { "data-testid": "view-compare" }, controls,
    chartBox("compare", config, () => ({ header: ["side", "run", "config", "point", "conc", "median_intvty", "tput_per_gpu"], rows: csvRows })),
    h("p", { class: "note" }, `A (solid) = ${a}, B (dashed) = ${b}. Ratios at ${at} tok/s/user along each run's frontier; n/a outside a run's measured range.`),
    table("compare-table", [["config", "config"], ["a", "A tok/s/GPU"], ["b", "B tok/s/GPU"], ["ratio", "A/B tok/s/GPU"], ["a_cost", "A $/M"], ["b_cost", "B $/M"], ["cost_ratio", "A/B $/M"]], rows),
    common.length ? null : h("p", { class: "empty" }, "The two runs share no config."));
  return { el, params, state: { a, b, at, tier, price, rows: state } };
}
