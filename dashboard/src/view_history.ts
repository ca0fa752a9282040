// #/history: each config's tok/s/GPU at the target interactivity, run by run; regressions of
// the latest run against the one before (history.rs: beyond the threshold and the noise).

function renderHistory(ctx: Ctx): Rendered {
  const { route, view } = ctx;
  const P = route.params;
  const at = num(P.get("at")) ?? 50;
  const threshold = num(P.get("threshold")) ?? 0.05;
  const source = sourceOf(P.get("source"), ctx.summary, true);
  const params: Params = [["at", at], ["threshold", threshold], ["source", source]];
  const set = setter("history", ctx, params);

  // (source, config) → run → points, as reports.rs by_config groups them.
  const groups = new Map<string, { c: ConfigEntry; source: string; runs: Map<string, { run: string; started: string; pts: XY[] }> }>();
  for (const p of view.points) {
    if (!sourceMatches(source, p.source)) continue;
    const c = view.configs[p.config];
    const k = `${p.source}\u001f${c.key}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { c, source: p.source, runs: new Map() }));
    const date = `${p.run_started_at}\u001f${p.run}`;
    let r = g.runs.get(date);
    if (!r) g.runs.set(date, (r = { run: p.run, started: p.run_started_at, pts: [] }));
    if (p.median_intvty !== null && p.tput_per_gpu !== null) r.pts.push([p.median_intvty, p.tput_per_gpu]);
  }
  const labels = sorted([...groups.values()].flatMap((g) => [...g.runs.keys()]));
  const datasets: ChartConfig["data"]["datasets"] = [];
  const rows: Row[] = [], regRows: Row[] = [];
  const series: Record<string, unknown>[] = [];
  const csvRows: CsvValue[][] = [];
  const shade = shader();
  for (const k of [...groups.keys()].sort()) {
    const g = groups.get(k) as { c: ConfigEntry; source: string; runs: Map<string, { run: string; started: string; pts: XY[] }> };
    const rc: RunCurve[] = [...g.runs.entries()].map(([date, r]) => ({ date, points: r.pts }));
    const hist = historyOf(rc, [at]);
    const reg = regressionsOf(rc, [at], threshold)[0] ?? null;
    const label = labelOf(g.c, g.source);
    const values = new Map(hist.map((e) => [e.date, e.values[0]]));
    const last = hist[hist.length - 1].date;
    const color = shade(g.c.hardware, g.c.key);
    datasets.push({
      type: "line", label, data: labels.map((l) => values.get(l) ?? null), spanGaps: true,
      borderColor: color, backgroundColor: color, borderDash: g.source === "reference" ? [6, 4] : [],
      pointRadius: labels.map((l) => (reg && l === last ? 8 : 3)),
      pointStyle: labels.map((l) => (reg && l === last ? "triangle" : "circle")),
      pointRotation: labels.map((l) => (reg && l === last ? 180 : 0)),
      pointBackgroundColor: labels.map((l) => (reg && l === last ? "#d00" : color)),
    });
    const runs: Record<string, unknown>[] = [];
    for (const e of hist) {
      const r = g.runs.get(e.date) as { run: string; started: string };
      const flagged = reg !== null && e.date === last;
      runs.push({ run: r.run, started_at: r.started, value: e.values[0] });
      csvRows.push([g.source, g.c.key, r.run, r.started, at, e.values[0], flagged]);
      rows.push({
        attrs: { "data-testid": "history-row", "data-config": g.c.key, "data-source": g.source, "data-run": r.run, "data-date": r.started, "data-value": raw(e.values[0]), "data-regression": flagged ? "1" : "0", class: flagged ? "regression" : "" },
        cells: [label, r.run, date10(r.started), numCell(e.values[0]), flagged ? "▼ regression" : ""],
      });
    }
    if (reg) {
      const before = hist[hist.length - 2].date;
      const br = (g.runs.get(before) as { run: string }).run, ar = (g.runs.get(last) as { run: string }).run;
      regRows.push({
        attrs: { "data-testid": "regression-row", "data-config": g.c.key, "data-source": g.source, "data-before-run": br, "data-after-run": ar, "data-before": raw(reg.before), "data-after": raw(reg.after), "data-change": raw(reg.change), "data-noise": raw(reg.noise) },
        cells: [label, br, ar, numCell(reg.before), numCell(reg.after), numCell(reg.change * 100, 1), numCell(reg.noise * 100, 1)],
      });
    }
    series.push({ config: g.c.key, source: g.source, runs, regression: reg });
  }
  const controls = h("div", { class: "controls" },
    labelled("at tok/s/user", numberInput("at", at, (v) => set([["at", v]]), { min: "0" })),
    labelled("threshold", numberInput("threshold", threshold, (v) => set([["threshold", v]]), { min: "0", step: "0.01" })),
    labelled("source", select("source", source, [["own", "own runs"], ["reference", "published (reference)"], ["both", "both, side by side"]], (v) => set([["source", v]]))),
  );
  const config: ChartConfig = {
    type: "line",
    data: { labels: labels.map((l) => { const [d, r] = l.split("\u001f"); return `${date10(d)} ${r}`; }), datasets },
    options: {
      plugins: { legend: { position: "bottom" } },
      scales: { y: { title: { display: true, text: `tok/s/GPU at ${at} tok/s/user` } }, x: { title: { display: true, text: "run" } } },
    },
  };
  const el = h("section", { "data-testid": "view-history" }, controls,
    chartBox("history", config, () => ({ header: ["source", "config", "run", "run_started_at", "at", "tput_per_gpu", "regression"], rows: csvRows })),
    h("p", { class: "note" }, `A regression (▼) is a drop of the latest run against the one before of more than ${(threshold * 100).toFixed(1)}% and more than the earlier runs' run-to-run noise (std-dev ÷ mean).`),
    h("h3", {}, "Regressions"),
    regRows.length ? table("regressions-table", [["config", "config"], ["before_run", "before"], ["after_run", "after"], ["before", "tok/s/GPU before"], ["after", "tok/s/GPU after"], ["change", "change %"], ["noise", "noise %"]], regRows)
      : h("p", { "data-testid": "no-regressions" }, "None."),
    h("h3", {}, "Runs"),
    table("history-table", [["config", "config"], ["run", "run"], ["date", "started"], ["value", `tok/s/GPU @${at}`], ["flag", ""]], rows));
  return { el, params, state: { at, threshold, source, series } };
}
