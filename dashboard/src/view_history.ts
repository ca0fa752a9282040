// #/history: each series' value of a metric (tok/s/GPU by default) at the target
// interactivity, run by run, over a date range, on a linear or log scale; regressions of
// the latest run against the one before and every run that moved a frontier (history.rs:
// beyond the threshold and the noise), each with what changed between the two runs (images,
// changelog entries), as the Rust library computed them.

function renderHistory(ctx: Ctx): Rendered {
  const { route } = ctx;
  const figures = ctx.figures as Figures;
  const P = route.params;
  const at = snap(num(P.get("at")) ?? 50, figures.targets);
  const k = figures.targets.indexOf(at);
  const threshold = snap(num(P.get("threshold")) ?? 0.05, figures.thresholds);
  const group = groupOf(P.get("group"));
  const source = sourceOf(P.get("source"), ctx.summary, true);
  const ym = figures.metrics.y.find((m) => m.key === P.get("y")) ?? figures.metrics.y[0];
  const tier = tierOf(P.get("tier")) === "custom" ? "hyperscaler" : tierOf(P.get("tier"));
  // A $/M metric is read in a catalog tier; the others take none.
  const atKey = ym.unit === "$/M tokens" ? `${ym.key}.${tier}` : ym.key;
  // A one-run series carries its throughputs, measured energies and $/M of all tokens; the
  // other price- and power-derived metrics are the live-input formula of its throughput at the
  // target, with its accelerator's catalog price and power (live.ts, golden-tested).
  const tputKey = ym.tokens === "input" ? "input" : ym.tokens === "output" ? "output" : "tput";
  const valueAt = (s: SeriesFigures): number | null => {
    const v = s.at[atKey]?.[k];
    if (v !== undefined) return v;
    const t = s.at[tputKey]?.[k] ?? null;
    if (t === null) return null;
    const kind = ym.key.split("_")[0];
    const kw = kwOf(ctx.index, s.hardware), price = priceOf(ctx.index, s.hardware, tier, null);
    if (kind === "cost") return price === null ? null : liveDollarsPerMillion(price, t);
    if (kind === "tpmw") return kw === null ? null : liveTokensPerMw(t, kw);
    if (kind === "energy") return kw === null ? null : liveJoulesPerToken(kw, t);
    return null;
  };
  const from = dayParam(P.get("from")), to = dayParam(P.get("to"));
  const inRange = (started: string): boolean => (from === null || date10(started) >= from) && (to === null || date10(started) <= to);
  const yScale = P.get("ys") === "log" ? "log" : "lin";
  const params: Params = [["group", group], ["y", ym.key], ["tier", tier], ["at", at], ["threshold", threshold], ["source", source], ["from", from], ["to", to], ["ys", yScale]];
  const set = setter("history", ctx, params);

  // (source, series key) → its runs, oldest first (the figures list them so).
  const groups = new Map<string, SeriesFigures[]>();
  for (const s of seriesOf(figures, "all")) {
    if (!sourceMatches(source, s.source) || !inRange(s.run_started_at)) continue;
    const key = `${s.source}\u001f${s.key}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  // A regression is shown when both of its runs are in the range.
  const inRangeRun = (run: string): boolean => [...groups.values()].flat().some((s) => s.run === run);
  const shown = (list: RegressionFigure[] | undefined): RegressionFigure[] => (list ?? []).filter((r) => r.interactivity === at && sourceMatches(source, r.source) && inRangeRun(r.before_run) && inRangeRun(r.after_run));
  const flagged = shown(figures.regressions[String(threshold)]);
  const moved = shown(figures.movements[String(threshold)]);
  const labels = sorted([...groups.values()].flat().map((s) => `${s.run_started_at}\u001f${s.run}`));
  const datasets: ChartConfig["data"]["datasets"] = [];
  const rows: Row[] = [], regRows: Row[] = [], moveRows: Row[] = [];
  const series: Record<string, unknown>[] = [];
  const csvRows: CsvValue[][] = [];
  const shade = shader();
  for (const key of [...groups.keys()].sort()) {
    const runs = (groups.get(key) as SeriesFigures[]).slice().sort((a, b) => (`${a.run_started_at}\u001f${a.run}` < `${b.run_started_at}\u001f${b.run}` ? -1 : 1));
    const first = runs[0];
    const reg = flagged.find((r) => r.source === first.source && r.key === first.key) ?? null;
    const values = new Map(runs.map((s) => [`${s.run_started_at}\u001f${s.run}`, valueAt(s)]));
    const last = runs[runs.length - 1];
    const lastDate = `${last.run_started_at}\u001f${last.run}`;
    const color = shade(first.hardware, first.key);
    datasets.push({
      type: "line", label: first.label, data: labels.map((l) => values.get(l) ?? null), spanGaps: true,
      borderColor: color, backgroundColor: color, borderDash: first.source === "reference" ? [6, 4] : [],
      pointRadius: labels.map((l) => (reg && l === lastDate ? 8 : 3)),
      pointStyle: labels.map((l) => (reg && l === lastDate ? "triangle" : "circle")),
      pointRotation: labels.map((l) => (reg && l === lastDate ? 180 : 0)),
      pointBackgroundColor: labels.map((l) => (reg && l === lastDate ? "#d00" : color)),
    });
    const runState: Record<string, unknown>[] = [];
    for (const s of runs) {
      const value = valueAt(s);
      const isFlagged = reg !== null && s === last;
      runState.push({ run: s.run, started_at: s.run_started_at, value });
      csvRows.push([s.source, s.key, s.run, s.run_started_at, at, value, isFlagged]);
      rows.push({
        attrs: { "data-testid": "history-row", "data-series": s.key, "data-source": s.source, "data-run": s.run ?? "", "data-date": s.run_started_at, "data-value": raw(value), "data-regression": isFlagged ? "1" : "0", class: isFlagged ? "regression" : "" },
        cells: [s.label, s.run ?? "", date10(s.run_started_at), numCell(value, digitsOf(ym)), isFlagged ? "▼ regression" : ""],
      });
    }
    if (reg) regRows.push(movementRow("regression-row", reg));
    for (const m of moved.filter((m) => m.source === first.source && m.key === first.key)) moveRows.push(movementRow("movement-row", m));
    series.push({ series: first.key, source: first.source, runs: runState, regression: reg });
  }
  const controls = h("div", { class: "controls" },
    labelled("frontiers per", select("group", group, GROUPS, (v) => set([["group", v]]))),
    labelled("metric", select("y", ym.key, figures.metrics.y.map((m): [string, string] => [m.key, m.label]), (v) => set([["y", v]]))),
    labelled("cost tier", select("tier", tier, [["hyperscaler", "owned, hyperscaler"], ["neocloud", "owned, neocloud"], ["rental", "3-year rental"]], (v) => set([["tier", v]]))),
    labelled("at tok/s/user", targetSelect(at, figures.targets, (v) => set([["at", v]]))),
    labelled("from", dateInput("from", from, (v) => set([["from", v]]))),
    labelled("to", dateInput("to", to, (v) => set([["to", v]]))),
    labelled("scale", select("ys", yScale, [["lin", "linear"], ["log", "log"]], (v) => set([["ys", v]]))),
    labelled("threshold", select("threshold", String(threshold), figures.thresholds.map((t) => [String(t), `${t * 100}%`]), (v) => set([["threshold", Number(v)]]))),
    labelled("source", select("source", source, [["own", "own runs"], ["reference", "published (reference)"], ["both", "both, side by side"]], (v) => set([["source", v]]))),
  );
  const config: ChartConfig = {
    type: "line",
    data: { labels: labels.map((l) => { const [d, r] = l.split("\u001f"); return `${date10(d)} ${r}`; }), datasets },
    options: {
      plugins: { legend: { position: "bottom" } },
      scales: { y: { type: yScale === "log" ? "logarithmic" : "linear", title: { display: true, text: `${ym.label} at ${at} tok/s/user${yScale === "log" ? " (log)" : ""}` } }, x: { title: { display: true, text: "run" } } },
    },
  };
  const el = h("section", { "data-testid": "view-history" }, controls,
    chartBox("history", config, () => ({ header: ["source", "series", "run", "run_started_at", "at", atKey, "regression"], rows: csvRows })),
    h("p", { class: "note" }, `A regression (▼) is a drop of the latest run against the one before of more than ${(threshold * 100).toFixed(1)}% and more than the earlier runs' run-to-run noise (std-dev ÷ mean).`),
    h("h3", {}, "Regressions"),
    regRows.length ? table("regressions-table", MOVEMENT_COLUMNS, regRows)
      : h("p", { "data-testid": "no-regressions" }, "None."),
    h("h3", {}, "What moved, and why"),
    h("p", { class: "note" }, "Every run whose frontier moved either way beyond the threshold and the noise of the runs before it, with what changed between the two runs: images, the changelog entries kept in between, configs added or gone."),
    moveRows.length ? table("movements-table", MOVEMENT_COLUMNS, moveRows)
      : h("p", { "data-testid": "no-movements" }, "None."),
    h("h3", {}, "Runs"),
    table("history-table", [["series", "series"], ["run", "run"], ["date", "started"], ["value", `${ym.unit} @${at}`], ["flag", ""]], rows));
  return { el, params, state: { group, y: ym.key, tier, metric: atKey, at, threshold, source, from, to, ys: yScale, series } };
}

const MOVEMENT_COLUMNS: [string, string][] = [["series", "series"], ["before_run", "before"], ["after_run", "after"], ["before", "tok/s/GPU before"], ["after", "tok/s/GPU after"], ["change", "change %"], ["noise", "noise %"], ["why", "what changed"]];

/** A regression's or a movement's row: its numbers, and what changed (flagged where nothing did). */
function movementRow(testid: string, m: RegressionFigure): Row {
  return {
    attrs: { "data-testid": testid, "data-series": m.key, "data-source": m.source, "data-before-run": m.before_run, "data-after-run": m.after_run, "data-before": raw(m.before), "data-after": raw(m.after), "data-change": raw(m.change), "data-noise": raw(m.noise), "data-why": m.why, class: m.explained ? "" : "unexplained" },
    cells: [m.label, m.before_run, m.after_run, numCell(m.before), numCell(m.after), numCell(m.change * 100, 1), numCell(m.noise * 100, 1), m.why],
  };
}
