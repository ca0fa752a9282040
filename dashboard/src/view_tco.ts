// #/tco: per accelerator, the best of its frontiers (its configs' latest points together) read
// at the target interactivity, and what that throughput costs and takes in power.

/** Writes "n/a" where a bar has no value. */
const naLabels: ChartPlugin = {
  id: "na",
  afterDatasetsDraw(chart) {
    const sx = chart.scales.x, sy = chart.scales.y;
    const data = chart.data.datasets[0]?.data ?? [];
    const c = chart.ctx;
    c.save();
    c.fillStyle = "#888";
    c.textAlign = "center";
    data.forEach((v, i) => {
      if (v === null) c.fillText("n/a", sx.getPixelForValue(i), sy.bottom - 6);
    });
    c.restore();
  },
};

function renderTco(ctx: Ctx): Rendered {
  const { index, route } = ctx;
  const figures = ctx.figures as Figures;
  const P = route.params;
  const at = snap(num(P.get("at")) ?? 50, figures.targets);
  const k = figures.targets.indexOf(at);
  const tier = tierOf(P.get("tier"));
  const price = num(P.get("price"));
  const s = sourceOf(P.get("source"), ctx.summary, false);
  const source: SourcePick = s === "both" ? "own" : s;
  // Per accelerator: the frontier of all its configs' latest points together.
  const series = seriesOf(figures, "latest").filter((x) => x.source === source);
  const hws = series.map((x) => x.hardware);
  const overrides: Params = [];
  for (const hw of hws) {
    for (const key of [`price.${hw}`, `kw.${hw}`]) {
      const v = num(P.get(key));
      if (v !== null) overrides.push([key, v]);
    }
  }
  const params: Params = [["at", at], ["tier", tier], ["price", price], ["source", source], ...overrides];
  const set = setter("tco", ctx, params);
  const over = (key: string): number | null => num(P.get(key));

  const bars: Record<string, unknown>[] = [];
  const rows: Row[] = [];
  for (const x of series) {
    const hw = x.hardware;
    const read = (m: string): number | null => x.at[m]?.[k] ?? null;
    const t = read("tput");
    const tierCost = (tr: Tier): number | null => read(`cost.${tr}`);
    // A typed price or power goes through the live formula; the catalog's come computed.
    const typedPrice = over(`price.${hw}`) ?? (tier === "custom" ? price : null);
    const typedKw = over(`kw.${hw}`);
    const dollars = typedPrice ?? priceOf(index, hw, tier, price);
    const kw = typedKw ?? kwOf(index, hw);
    const value = typedPrice !== null ? (t !== null ? liveDollarsPerMillion(typedPrice, t) : null) : tierCost(tier);
    const tpmw = typedKw !== null ? (t !== null ? liveTokensPerMw(t, typedKw) : null) : read("tpmw");
    const energy = typedKw !== null ? (t !== null ? liveJoulesPerToken(typedKw, t) : null) : read("energy");
    const measured = read("measured");
    bars.push({ hw, value, tput: t, price: dollars, kw, tpmw, energy, measured_j_per_output_token: measured,
      hyperscaler: tierCost("hyperscaler"), neocloud: tierCost("neocloud"), rental: tierCost("rental") });
    rows.push({
      attrs: { "data-testid": "tco-row", "data-hw": hw, "data-value": raw(value), "data-tput": raw(t), "data-price": raw(dollars), "data-kw": raw(kw), "data-tpmw": raw(tpmw), "data-energy": raw(energy) },
      cells: [hw, numCell(t), numCell(value, 3), numCell(tierCost("hyperscaler"), 3), numCell(tierCost("neocloud"), 3), numCell(tierCost("rental"), 3),
        numCell(tpmw, 0), numCell(energy, 3), numCell(measured, 3),
        { text: numberInput(`price-${hw}`, dollars, (v) => set([[`price.${hw}`, v]]), { min: "0", class: "small" }) },
        { text: numberInput(`kw-${hw}`, kw, (v) => set([[`kw.${hw}`, v]]), { min: "0", class: "small" }) }],
    });
  }
  const config: ChartConfig = {
    type: "bar",
    data: {
      labels: hws,
      datasets: [{ label: `$ per million tokens at ${at} tok/s/user`, data: bars.map((b) => b.value as number | null), backgroundColor: hws.map((hw) => colorOf(hw)) }],
    },
    plugins: [naLabels],
    options: {
      plugins: { legend: { display: false }, title: { display: true, text: `$ per million tokens at ${at} tok/s/user (${tier === "custom" ? `$${price ?? "?"}/GPU-hour` : tier})` } },
      scales: { y: { beginAtZero: true, title: { display: true, text: "$ per million tokens" } } },
    },
  };
  const controls = h("div", { class: "controls" },
    labelled("at tok/s/user", targetSelect(at, figures.targets, (v) => set([["at", v]]))),
    labelled("cost tier", select("tier", tier, [["hyperscaler", "owned, hyperscaler"], ["neocloud", "owned, neocloud"], ["rental", "3-year rental"], ["custom", "my price"]], (v) => set([["tier", v]]))),
    labelled("$/GPU-hour (all)", numberInput("price", price, (v) => set([["price", v], ["tier", v === null ? tier : "custom"]]), { min: "0", placeholder: "custom" })),
    labelled("source", select("source", source, [["own", "own runs"], ["reference", "published (reference)"]], (v) => set([["source", v]]))),
  );
  const el = h("section", { "data-testid": "view-tco" }, controls,
    chartBox("tco", config, () => ({
      header: ["hardware", "at", "tput_per_gpu", "dollars_per_gpu_hour", "dollars_per_mtok", "all_in_kw_per_gpu", "tokens_per_s_per_mw", "joules_per_token"],
      rows: bars.map((b) => [b.hw as string, at, b.tput as number, b.price as number, b.value as number, b.kw as number, b.tpmw as number, b.energy as number]),
    })),
    h("p", { class: "note" }, "Each accelerator: the frontier of all its configs' latest points together, read at the target with the monotone spline by servebench's analysis library; n/a outside its measured range. Price and power are the catalog's unless overridden below (then $/M, tok/s/MW and J/token are the live-input formula applied to the library's throughput)."),
    table("tco-table", [["hw", "accelerator"], ["tput", "tok/s/GPU"], ["value", "$/M"], ["hyperscaler", "$/M hyperscaler"], ["neocloud", "$/M neocloud"], ["rental", "$/M rental"],
      ["tpmw", "tok/s/MW"], ["energy", "J/token"], ["measured", "J/out token meas."], ["price", "$/GPU-hour"], ["kw", "all-in kW/GPU"]], rows));
  return { el, params, state: { at, tier, price, source, bars } };
}
