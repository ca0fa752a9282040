// #/reliability: jobs that succeeded per accelerator over a date range (InferenceX's run_stats,
// failed jobs kept with why), computed by the report library; and this view's request success
// rate = completed ÷ (completed + failed), per accelerator and config. Points without a
// `completed` count are left out; a missing `failed` counts as none.

function renderReliability(ctx: Ctx): Rendered {
  const { route, view } = ctx;
  const P = route.params;
  const source = sourceOf(P.get("source"), ctx.summary, true);
  const run = P.get("run") || "all";
  const from = dayParam(P.get("from")), to = dayParam(P.get("to"));
  const params: Params = [["source", source], ["run", run], ["from", from], ["to", to]];
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
  const jobs = jobsSection(ctx.index, from, to, (k, v) => set([[k, v]]));
  const el = h("section", { "data-testid": "view-reliability" },
    h("h3", {}, "Jobs per accelerator"), jobs,
    h("h3", {}, "Requests of this view"), controls,
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
      source, run, from, to,
      hardware: [...byHw.entries()].sort().map(([hw, t]) => ({ hw, completed: t.completed, failed: t.failed, rate: rate(t) })),
      configs: cfgs.map((t) => ({ config: t.c.key, hw: t.c.hardware, source: t.source, completed: t.completed, failed: t.failed, rate: rate(t) })),
    },
  };
}

/** Job success per accelerator over [from, to] (the report library's figures), the runs, and
 * the failed jobs with why; filled in once fetched (`data-ready`). */
function jobsSection(index: IndexFile, from: string | null, to: string | null, set: (k: string, v: string | null) => void): HTMLElement {
  const box = h("div", { "data-testid": "jobs", "data-ready": "0" }, h("p", { class: "loading" }, "Loading the jobs…"));
  const controls = h("div", { class: "controls" },
    labelled("from", dateInput("from", from, (v) => set("from", v))),
    labelled("to", dateInput("to", to, (v) => set("to", v))));
  const done = (...children: Child[]): void => {
    box.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
    // The router built the page's charts before this arrived: build this one now it is placed.
    if (box.isConnected) flushCharts();
    box.dataset.ready = "1";
  };
  const range = from !== null || to !== null || asOf() !== null;
  if (range && index.as_of?.supported !== true) {
    done(h("p", { class: "error", "data-testid": "jobs-error" }, "A date range needs the live server (servebench dashboard); this static export holds every run's jobs only."));
    return h("div", {}, controls, box);
  }
  // As of a past day, no run after it counts.
  const d = asOf();
  const until = d !== null && (to === null || d < to) ? d : to;
  const q = [from ? `from=${from}` : "", until ? `to=${until}` : ""].filter((x) => x).join("&");
  void api<ReliabilityFile>(`reliability.json${q ? `?${q}` : ""}`).then((r) => {
    if (r.hardware.length === 0) {
      done(h("p", { class: "empty", "data-testid": "no-jobs" }, "No job records in this range (servebench ingest of a sweep directory, or of InferenceX's run_stats.json)."));
      return;
    }
    const config: ChartConfig = {
      type: "bar",
      data: { labels: r.hardware.map((x) => x.hardware), datasets: [{ label: "jobs succeeded, %", data: r.hardware.map((x) => (x.rate === null ? null : x.rate * 100)), backgroundColor: r.hardware.map((x) => colorOf(x.hardware)) }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { min: 0, max: 100, title: { display: true, text: "jobs succeeded, %" } } } },
    };
    const hwRows: Row[] = r.hardware.map((x) => ({
      attrs: { "data-testid": "jobs-hw-row", "data-hw": x.hardware, "data-succeeded": x.succeeded, "data-total": x.total, "data-value": raw(x.rate), "data-runs": x.runs },
      cells: [x.hardware, String(x.runs), String(x.succeeded), String(x.total), numCell(x.rate === null ? null : x.rate * 100, 1)],
    }));
    const runRows: Row[] = r.runs.map((x) => ({
      attrs: { "data-testid": "jobs-run-row", "data-run": x.run, "data-hw": x.hardware, "data-succeeded": x.succeeded, "data-total": x.total },
      cells: [x.run, date10(x.started_at), x.source, x.hardware, String(x.succeeded), String(x.total), numCell(x.rate === null ? null : x.rate * 100, 1)],
    }));
    const failedRows: Row[] = r.failed.map((f) => ({
      attrs: { "data-testid": "failed-job-row", "data-run": f.run, "data-config": f.config_key, "data-conc": f.conc, "data-attempts": f.attempts },
      cells: [f.run, date10(f.started_at), f.config_key.replace(/\|/g, " "), f.isl === 0 && f.osl === 0 ? "agentic" : `${f.isl}×${f.osl}`, String(f.conc), String(f.attempts), { text: f.reason, attrs: { class: "reason" } }],
    }));
    done(
      chartBox("jobs", config, () => ({ header: ["hardware", "runs", "succeeded", "total", "rate"], rows: r.hardware.map((x) => [x.hardware, x.runs, x.succeeded, x.total, x.rate]) })),
      table("jobs-hw-table", [["hw", "accelerator"], ["runs", "runs"], ["succeeded", "succeeded"], ["total", "jobs"], ["rate", "success %"]], hwRows),
      h("h3", {}, "Runs"),
      table("jobs-run-table", [["run", "run"], ["date", "started"], ["source", "source"], ["hw", "accelerator"], ["succeeded", "succeeded"], ["total", "jobs"], ["rate", "success %"]], runRows),
      h("h3", {}, "Failed jobs"),
      failedRows.length ? table("failed-jobs-table", [["run", "run"], ["date", "started"], ["config", "config"], ["wl", "workload"], ["conc", "conc"], ["attempts", "attempts"], ["reason", "why"]], failedRows)
        : h("p", { class: "empty", "data-testid": "no-failed-jobs" }, "None in this range."));
  }, (e: unknown) => done(h("p", { class: "error", "data-testid": "jobs-error" }, String(e instanceof Error ? e.message : e))));
  return h("div", {}, controls, box);
}
