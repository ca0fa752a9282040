// #/compare: two runs of the same configs overlaid, and A against B at a target interactivity.

/** Points and frontier of one side as two scatter datasets. */
function curveSets(label: string, pts: ViewPoint[], color: string, dashed: boolean, style: string): ChartConfig["data"]["datasets"] {
  const xy = pts.filter((p) => p.median_intvty !== null && p.tput_per_gpu !== null).map((p) => ({ x: p.median_intvty as number, y: p.tput_per_gpu as number }));
  const f = frontier(xy.map((d) => [d.x, d.y]), "higher", "higher").map((i) => xy[i]).sort((a, b) => a.x - b.x);
  return [
    { label, data: xy, pointStyle: style as "circle", pointRadius: 3, borderColor: color, backgroundColor: dashed ? "transparent" : color, borderWidth: dashed ? 1.2 : 0 },
    { label: `${label} frontier`, data: f, showLine: true, pointRadius: 0, pointHitRadius: 0, borderColor: color, borderWidth: 2, borderDash: dashed ? [6, 4] : [] },
  ];
}

function renderCompare(ctx: Ctx): Rendered {
  const { index, route, view } = ctx;
  const P = route.params;
  const runs = runsOf(view);
  const keys = runs.map((r) => r.key);
  const a = keys.includes(P.get("a") ?? "") ? (P.get("a") as string) : keys[keys.length - 1] ?? "";
  const b = keys.includes(P.get("b") ?? "") ? (P.get("b") as string) : keys[keys.length - 2] ?? a;
  const at = num(P.get("at")) ?? 50;
  const tier = tierOf(P.get("tier"));
  const price = num(P.get("price"));
  const params: Params = [["a", a], ["b", b], ["at", at], ["tier", tier], ["price", price]];
  const set = setter("compare", ctx, params);

  const byRun = (run: string): Map<number, ViewPoint[]> => {
    const m = new Map<number, ViewPoint[]>();
    for (const p of view.points) if (p.run === run) m.set(p.config, [...(m.get(p.config) ?? []), p]);
    return m;
  };
  const A = byRun(a), B = byRun(b);
  const common = [...A.keys()].filter((c) => B.has(c)).sort((x, y) => view.configs[x].label.localeCompare(view.configs[y].label));
  const datasets: ChartConfig["data"]["datasets"] = [];
  const rows: Row[] = [];
  const state: Record<string, unknown>[] = [];
  const csvRows: CsvValue[][] = [];
  const shade = shader();
  for (const cid of common) {
    const c = view.configs[cid];
    const pa = A.get(cid) as ViewPoint[], pb = B.get(cid) as ViewPoint[];
    const color = shade(c.hardware, c.key);
    datasets.push(...curveSets(`${c.label} A`, pa, color, false, "circle"), ...curveSets(`${c.label} B`, pb, color, true, "triangle"));
    const sa = new Along(pa).spline((p) => p.tput_per_gpu), sb = new Along(pb).spline((p) => p.tput_per_gpu);
    const ta = sa?.at(at) ?? null, tb = sb?.at(at) ?? null;
    const d = priceOf(index, c.hardware, tier, price);
    const ca = ta !== null && d !== null ? dollarsPerMillion(d, ta) : null;
    const cb = tb !== null && d !== null ? dollarsPerMillion(d, tb) : null;
    const ratio = ta !== null && tb !== null ? ta / tb : null;
    const costRatio = ca !== null && cb !== null ? ca / cb : null;
    rows.push({
      attrs: { "data-testid": "compare-row", "data-config": c.key, "data-source": pa[0].source, "data-a": raw(ta), "data-b": raw(tb), "data-value": raw(ratio), "data-cost-ratio": raw(costRatio) },
      cells: [c.label, numCell(ta), numCell(tb), numCell(ratio, 3), numCell(ca, 3), numCell(cb, 3), numCell(costRatio, 3)],
    });
    state.push({ config: c.key, a: ta, b: tb, ratio, cost_ratio: costRatio });
    for (const [side, pts] of [["A", pa], ["B", pb]] as [string, ViewPoint[]][]) {
      for (const p of pts) csvRows.push([side, side === "A" ? a : b, c.key, p.id, p.conc, p.median_intvty, p.tput_per_gpu]);
    }
  }
  const runOpts = runs.map((r): [string, string] => [r.key, `${r.key} (${date10(r.started_at)}, ${r.source})`]);
  const controls = h("div", { class: "controls" },
    labelled("A", select("a", a, runOpts, (v) => set([["a", v]]))),
    labelled("B", select("b", b, runOpts, (v) => set([["b", v]]))),
    labelled("at tok/s/user", numberInput("at", at, (v) => set([["at", v]]), { min: "0" })),
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
