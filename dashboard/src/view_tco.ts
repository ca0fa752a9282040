// #/tco, the calculator: per series of a grouping (each accelerator's best by default, or per
// hardware key, engine, precision or config), its frontier read at the target interactivity by
// the Rust library, in the metric and token type chosen ($/M, tok/s/MW, J/token modelled or
// measured, or tok/s/GPU; all, input or output tokens), with per-accelerator price and power
// overrides, and two bars side by side as a ratio.

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

type CalcMetric = "cost" | "tpmw" | "energy" | "measured" | "tput";
const CALC_METRICS: [CalcMetric, string][] = [["cost", "cost, $ per million tokens"], ["tpmw", "tokens/s per all-in MW"], ["energy", "modelled energy, J/token"], ["measured", "measured energy, J/token"], ["tput", "throughput, tok/s/GPU"]];
type TokenType = "total" | "input" | "output";

/** The y metric key of a calculator metric for a token type (the library's names). */
function calcKey(m: CalcMetric, tok: TokenType): string {
  const suffix = tok === "input" ? "_in" : tok === "output" ? "_out" : "";
  switch (m) {
    case "tput": return tok === "total" ? "tput" : tok;
    case "measured": return tok === "total" ? "measured_total" : tok === "input" ? "measured_in" : "measured";
    default: return `${m}${suffix}`;
  }
}

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
  const group = GROUPS.some(([g]) => g === P.get("group")) ? (P.get("group") as Group) : "hardware";
  const metric = CALC_METRICS.find(([m]) => m === P.get("m"))?.[0] ?? "cost";
  const tok: TokenType = P.get("tok") === "input" || P.get("tok") === "output" ? (P.get("tok") as TokenType) : "total";
  const key = calcKey(metric, tok);
  const meta = figures.metrics.y.find((m) => m.key === key) as MetricInfo;
  const tputKey = calcKey("tput", tok);
  // Each series' latest points together; one bar per series.
  const series = seriesOf(figures, "latest").filter((x) => x.source === source);
  const keys = series.map((x) => x.key);
  const a = keys.includes(P.get("a") ?? "") ? (P.get("a") as string) : null;
  const b = keys.includes(P.get("b") ?? "") ? (P.get("b") as string) : null;
  const overrides: Params = [];
  for (const hw of sorted(series.map((x) => x.hardware))) {
    for (const o of [`price.${hw}`, `kw.${hw}`]) {
      const v = num(P.get(o));
      if (v !== null) overrides.push([o, v]);
    }
  }
  const params: Params = [["group", group], ["m", metric], ["tok", tok], ["at", at], ["tier", tier], ["price", price], ["source", source], ["a", a], ["b", b], ...overrides];
  const set = setter("tco", ctx, params);
  const over = (o: string): number | null => num(P.get(o));

  const bars: Record<string, unknown>[] = [];
  const rows: Row[] = [];
  for (const x of series) {
    const hw = x.hardware;
    const read = (m: string): number | null => x.at[m]?.[k] ?? null;
    const t = read(tputKey);
    const tierCost = (tr: Tier): number | null => read(`${calcKey("cost", tok)}.${tr}`);
    // A typed price or power goes through the live formula; the catalog's come computed.
    const typedPrice = over(`price.${hw}`) ?? (tier === "custom" ? price : null);
    const typedKw = over(`kw.${hw}`);
    const dollars = typedPrice ?? priceOf(index, hw, tier, price);
    const kw = typedKw ?? kwOf(index, hw);
    const cost = typedPrice !== null ? (t !== null ? liveDollarsPerMillion(typedPrice, t) : null) : tierCost(tier);
    const tpmw = typedKw !== null ? (t !== null ? liveTokensPerMw(t, typedKw) : null) : read(calcKey("tpmw", tok));
    const energy = typedKw !== null ? (t !== null ? liveJoulesPerToken(typedKw, t) : null) : read(calcKey("energy", tok));
    const measured = read(calcKey("measured", tok));
    const value = { cost, tpmw, energy, measured, tput: t }[metric];
    bars.push({ key: x.key, label: x.label, hw, value, tput: t, price: dollars, kw, cost, tpmw, energy, measured,
      hyperscaler: tierCost("hyperscaler"), neocloud: tierCost("neocloud"), rental: tierCost("rental") });
    rows.push({
      attrs: { "data-testid": "tco-row", "data-key": x.key, "data-hw": hw, "data-value": raw(value), "data-tput": raw(t), "data-price": raw(dollars), "data-kw": raw(kw), "data-cost": raw(cost), "data-tpmw": raw(tpmw), "data-energy": raw(energy), "data-measured": raw(measured) },
      cells: [x.label, numCell(t), numCell(cost, 3), numCell(tierCost("hyperscaler"), 3), numCell(tierCost("neocloud"), 3), numCell(tierCost("rental"), 3),
        numCell(tpmw, 0), numCell(energy, 3), numCell(measured, 3),
        { text: numberInput(`price-${hw}`, dollars, (v) => set([[`price.${hw}`, v]]), { min: "0", class: "small" }) },
        { text: numberInput(`kw-${hw}`, kw, (v) => set([[`kw.${hw}`, v]]), { min: "0", class: "small" }) }],
    });
  }
  // Side by side: A's value over B's, in the metric shown.
  const va = bars.find((x) => x.key === a)?.value as number | null | undefined;
  const vb = bars.find((x) => x.key === b)?.value as number | null | undefined;
  const ratio = va !== null && va !== undefined && vb !== null && vb !== undefined && vb !== 0 ? va / vb : null;
  const title = `${meta.label} at ${at} tok/s/user${metric === "cost" ? ` (${tier === "custom" ? `$${price ?? "?"}/GPU-hour` : tier})` : ""}`;
  const config: ChartConfig = {
    type: "bar",
    data: {
      labels: series.map((x) => x.label),
      datasets: [{ label: title, data: bars.map((x) => x.value as number | null), backgroundColor: series.map((x) => colorOf(x.hardware)),
        borderColor: series.map((x) => (x.key === a || x.key === b ? (theme === "dark" ? "#fff" : "#000") : "transparent")), borderWidth: 2 }],
    },
    plugins: [naLabels],
    options: {
      plugins: { legend: { display: false }, title: { display: true, text: title } },
      scales: { y: { beginAtZero: true, title: { display: true, text: meta.unit } } },
      // A click on a bar makes it A, and the previous A becomes B.
      onClick: (_e, els) => {
        const el = els[0];
        if (el) set([["a", series[el.index].key], ["b", a !== null && a !== series[el.index].key ? a : b]]);
      },
    },
  };
  const opts = series.map((x): [string, string] => [x.key, x.label]);
  const controls = h("div", { class: "controls" },
    labelled("metric", select("m", metric, CALC_METRICS, (v) => set([["m", v]]))),
    labelled("tokens", select("tok", tok, [["total", "all tokens"], ["input", "input tokens"], ["output", "output tokens"]], (v) => set([["tok", v]]))),
    labelled("bars per", select("group", group, GROUPS, (v) => set([["group", v], ["a", null], ["b", null]]))),
    labelled("at tok/s/user", targetSelect(at, figures.targets, (v) => set([["at", v]]))),
    labelled("cost tier", select("tier", tier, [["hyperscaler", "owned, hyperscaler"], ["neocloud", "owned, neocloud"], ["rental", "3-year rental"], ["custom", "my price"]], (v) => set([["tier", v]]))),
    labelled("$/GPU-hour (all)", numberInput("price", price, (v) => set([["price", v], ["tier", v === null ? tier : "custom"]]), { min: "0", placeholder: "custom" })),
    labelled("source", select("source", source, [["own", "own runs"], ["reference", "published (reference)"]], (v) => set([["source", v]]))),
  );
  const compare = h("div", { class: "controls", "data-testid": "tco-compare", "data-a": a ?? "", "data-b": b ?? "", "data-ratio": raw(ratio) },
    labelled("A", select("a", a ?? "", [["", "(click a bar)"], ...opts], (v) => set([["a", v || null]]))),
    labelled("B", select("b", b ?? "", [["", "(click another)"], ...opts], (v) => set([["b", v || null]]))),
    h("span", { "data-testid": "tco-ratio" }, ratio === null ? "A ÷ B: n/a" : `A ÷ B = ${fmt(ratio, 3)} (${meta.better === "lower" ? "below 1: A is better" : "above 1: A is better"})`));
  const el = h("section", { "data-testid": "view-tco" }, controls,
    chartBox("tco", config, () => ({
      header: ["series", "hardware", "at", "tokens", "tput_per_gpu", "dollars_per_gpu_hour", "dollars_per_mtok", "all_in_kw_per_gpu", "tokens_per_s_per_mw", "joules_per_token", "measured_joules_per_token"],
      rows: bars.map((x) => [x.key as string, x.hw as string, at, tok, x.tput as number, x.price as number, x.cost as number, x.kw as number, x.tpmw as number, x.energy as number, x.measured as number]),
    }), series.length > 12),
    compare,
    h("p", { class: "note" }, "Each bar: the frontier of its series' latest points together, read at the target with the monotone spline by servebench's analysis library; $/M, tok/s/MW and J/token re-derived from the interpolated throughput of the tokens chosen; n/a outside its measured range. Price and power are the catalog's unless overridden below (then the live-input formula is applied to the library's throughput). Click a bar to compare it with the one clicked before."),
    table("tco-table", [["series", "series"], ["tput", `tok/s/GPU (${tok})`], ["cost", `$/M (${tier})`], ["hyperscaler", "$/M hyperscaler"], ["neocloud", "$/M neocloud"], ["rental", "$/M rental"],
      ["tpmw", "tok/s/MW"], ["energy", "J/token"], ["measured", "J/token meas."], ["price", "$/GPU-hour"], ["kw", "all-in kW/GPU"]], rows));
  return { el, params, state: { group, metric, tok, key, at, tier, price, source, a, b, ratio, bars } };
}
