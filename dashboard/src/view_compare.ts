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
  const changes = whatChanged(ctx, a, b, common.map((c) => (A.get(c) as SeriesFigures).key));
  const el = h("section", { "data-testid": "view-compare" }, controls,
    chartBox("compare", config, () => ({ header: ["side", "run", "config", "point", "conc", "median_intvty", "tput_per_gpu"], rows: csvRows })),
    h("p", { class: "note" }, `A (solid) = ${a}, B (dashed) = ${b}. Ratios at ${at} tok/s/user along each run's frontier; n/a outside a run's measured range.`),
    table("compare-table", [["config", "config"], ["a", "A tok/s/GPU"], ["b", "B tok/s/GPU"], ["ratio", "A/B tok/s/GPU"], ["a_cost", "A $/M"], ["b_cost", "B $/M"], ["cost_ratio", "A/B $/M"]], rows),
    common.length ? null : h("p", { class: "empty" }, "The two runs share no config."),
    h("h3", {}, "What changed between A and B"), changes);
  return { el, params, state: { a, b, at, tier, price, rows: state } };
}

/** What each config of A and B deployed (images, recipe fingerprints), fetched after the page
 * is drawn; `data-ready` is set once it is filled in. */
function whatChanged(ctx: Ctx, a: string, b: string, keys: string[]): HTMLElement {
  const box = h("div", { "data-testid": "changes", "data-ready": "0" }, h("p", { class: "loading" }, "Loading what each run deployed…"));
  const idOf = (run: string): string | undefined => ctx.view.runs.find((r) => r.key === run)?.id;
  const path = (id: string): string => ctx.summary.path.replace(/^views\//, "builds/").replace(/\.json$/, `/${id}.json`);
  const ia = idOf(a), ib = idOf(b);
  if (ia === undefined || ib === undefined) {
    box.replaceChildren(h("p", { class: "empty" }, "Pick two runs."));
    box.dataset.ready = "1";
    return box;
  }
  void Promise.all([api<BuildsFile>(path(ia)), api<BuildsFile>(path(ib))]).then(([fa, fb]) => {
    const of = (f: BuildsFile, k: string) => f.builds.find((x) => x.config_key === k) ?? { config_key: k, images: [], recipe_fingerprints: [] };
    const same = (x: string[], y: string[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
    const short = (v: string[]): string => (v.length ? v.map((f) => (f.length > 16 ? `${f.slice(0, 12)}…` : f)).join(", ") : "n/a");
    const rows: Row[] = keys.map((k) => {
      const x = of(fa, k), y = of(fb, k);
      const image = !same(x.images, y.images), recipe = !same(x.recipe_fingerprints, y.recipe_fingerprints);
      return {
        attrs: { "data-testid": "change-row", "data-config": k, "data-image-changed": String(image), "data-recipe-changed": String(recipe),
          "data-a-images": x.images.join(" "), "data-b-images": y.images.join(" "), "data-a-recipes": x.recipe_fingerprints.join(" "), "data-b-recipes": y.recipe_fingerprints.join(" ") },
        cells: [labelOf(ctx.view.configs.find((c) => c.key === k) ?? ({ label: k } as ConfigEntry), "own").replace(/ \[published\]$/, ""),
          x.images.join(", ") || "n/a", y.images.join(", ") || "n/a", { text: image ? "changed" : "same", attrs: { class: image ? "warn" : "" } },
          { text: short(x.recipe_fingerprints), attrs: { title: x.recipe_fingerprints.join(", ") } }, { text: short(y.recipe_fingerprints), attrs: { title: y.recipe_fingerprints.join(", ") } },
          { text: recipe ? "changed" : "same", attrs: { class: recipe ? "warn" : "" } }],
      };
    });
    box.replaceChildren(rows.length
      ? table("changes-table", [["config", "config"], ["a_image", "A image"], ["b_image", "B image"], ["image", "image"], ["a_recipe", "A recipe fingerprint"], ["b_recipe", "B recipe fingerprint"], ["recipe", "recipe"]], rows)
      : h("p", { class: "empty" }, "The two runs share no config."));
    box.dataset.ready = "1";
  }, (e: unknown) => {
    box.replaceChildren(h("p", { class: "error" }, String(e instanceof Error ? e.message : e)));
    box.dataset.ready = "1";
  });
  return box;
}
