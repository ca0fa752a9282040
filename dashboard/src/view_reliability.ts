// #/reliability: success rate = completed ÷ (completed + failed), per accelerator and config.
// Points without a `completed` count are left out; a missing `failed` counts as none.

function renderReliability(ctx: Ctx): Rendered {
  const { route, view } = ctx;
  const P = route.params;
  const source = sourceOf(P.get("source"), ctx.summary, true);
  const run = P.get("run") || "all";
  const params: Params = [["source", source], ["run", run]];
  const set = setter("reliability", ctx, params);

  type Tally = { completed: number; failed: number; points: number };
  const byConfig = new Map<string, Tally & { c: ConfigEntry; source: string }>();
  const byHw = new Map<string, Tally>();
  for (const p of pickRuns(view.points, run)) {
    if (!sourceMatches(source, p.source) || p.completed === null) continue;
    const c = view.configs[p.config];
    const k = `${c.hardware}\u001f${p.source}\u001f${c.key}`;
    const t = byConfig.get(k) ?? { c, source: p.source, completed: 0, failed: 0, points: 0 };
    const hw = byHw.get(c.hardware) ?? { completed: 0, failed: 0, points: 0 };
    for (const x of [t, hw]) {
      x.completed += p.completed;
      x.failed += p.failed ?? 0;
      x.points += 1;
    }
    byConfig.set(k, t);
    byHw.set(c.hardware, hw);
  }
  const rate = (t: Tally): number | null => (t.completed + t.failed > 0 ? t.completed / (t.completed + t.failed) : null);
  const keys = [...byConfig.keys()].sort();
  const hwRows: Row[] = [...byHw.keys()].sort().map((hw) => {
    const t = byHw.get(hw) as Tally;
    return {
      attrs: { "data-testid": "reliability-hw-row", "data-hw": hw, "data-value": raw(rate(t)), "data-completed": t.completed, "data-failed": t.failed },
      cells: [hw, String(t.points), String(t.completed), String(t.failed), numCell(rate(t) === null ? null : (rate(t) as number) * 100, 2)],
    };
  });
  const cfgRows: Row[] = keys.map((k) => {
    const t = byConfig.get(k) as Tally & { c: ConfigEntry; source: string };
    return {
      attrs: { "data-testid": "reliability-row", "data-hw": t.c.hardware, "data-config": t.c.key, "data-source": t.source, "data-value": raw(rate(t)), "data-completed": t.completed, "data-failed": t.failed },
      cells: [labelOf(t.c, t.source), String(t.points), String(t.completed), String(t.failed), numCell(rate(t) === null ? null : (rate(t) as number) * 100, 2)],
    };
  });
  const cfgs = keys.map((k) => byConfig.get(k) as Tally & { c: ConfigEntry; source: string });
  const config: ChartConfig = {
    type: "bar",
    data: {
      labels: cfgs.map((t) => labelOf(t.c, t.source)),
      datasets: [{ label: "success rate, %", data: cfgs.map((t) => { const r = rate(t); return r === null ? null : r * 100; }), backgroundColor: cfgs.map((t) => colorOf(t.c.hardware)) }],
    },
    options: {
      indexAxis: "y",
      plugins: { legend: { display: false } },
      scales: { x: { min: 0, max: 100, title: { display: true, text: "success rate, % of requests" } } },
    },
  };
  const runs = runsOf(view);
  const controls = h("div", { class: "controls" },
    labelled("source", select("source", source, [["own", "own runs"], ["reference", "published (reference)"], ["both", "both"]], (v) => set([["source", v]]))),
    labelled("runs", select("run", run, [["all", "all"], ["latest", "latest of each config"], ...runs.map((r): [string, string] => [r.key, `${r.key} (${date10(r.started_at)})`])], (v) => set([["run", v]]))),
  );
  const cols: [string, string][] = [["name", "accelerator"], ["points", "points"], ["completed", "completed"], ["failed", "failed"], ["rate", "success %"]];
  const el = h("section", { "data-testid": "view-reliability" }, controls,
    chartBox("reliability", config, () => ({
      header: ["hardware", "source", "config", "points", "completed", "failed", "success_rate"],
      rows: cfgs.map((t) => [t.c.hardware, t.source, t.c.key, t.points, t.completed, t.failed, rate(t)]),
    }), cfgs.length > 12),
    h("h3", {}, "Per accelerator"), table("reliability-hw-table", cols, hwRows),
    h("h3", {}, "Per config"), table("reliability-table", [["config", "config"], ...cols.slice(1)], cfgRows),
    cfgs.length ? null : h("p", { class: "empty" }, "No point of this selection counts its requests."));
  return {
    el, params,
    state: {
      source, run,
      hardware: [...byHw.entries()].sort().map(([hw, t]) => ({ hw, completed: t.completed, failed: t.failed, rate: rate(t) })),
      configs: cfgs.map((t) => ({ config: t.c.key, hw: t.c.hardware, source: t.source, completed: t.completed, failed: t.failed, rate: rate(t) })),
    },
  };
}
