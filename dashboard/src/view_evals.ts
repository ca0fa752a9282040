// #/evals: accuracy per deployment, one chart per task: the score of each config's eval as a
// bar with its standard error as error bars, and the task's pass threshold, as stored.

/** Error bars on a bar chart: `errors[i]` is ± around bar i. */
function errorBars(errors: (number | null)[]): ChartPlugin {
  return {
    id: "errors",
    afterDatasetsDraw(chart) {
      const meta = chart.getDatasetMeta(0);
      const sy = chart.scales.y;
      const data = chart.data.datasets[0]?.data ?? [];
      const c = chart.ctx;
      c.save();
      c.strokeStyle = theme === "dark" ? "#e8e8e8" : "#222";
      c.lineWidth = 1.2;
      meta.data.forEach((el, i) => {
        const v = data[i] as number | null, e = errors[i];
        if (v === null || e === null || e === undefined) return;
        const x = (el as unknown as { x: number }).x;
        const lo = sy.getPixelForValue(v - e), hi = sy.getPixelForValue(v + e);
        c.beginPath();
        c.moveTo(x, lo);
        c.lineTo(x, hi);
        c.moveTo(x - 5, lo);
        c.lineTo(x + 5, lo);
        c.moveTo(x - 5, hi);
        c.lineTo(x + 5, hi);
        c.stroke();
      });
      c.restore();
    },
  };
}

/** A horizontal dashed line at `y` (the pass threshold). */
function thresholdLine(y: number | null): ChartPlugin {
  return {
    id: "threshold",
    afterDatasetsDraw(chart) {
      if (y === null) return;
      const sy = chart.scales.y, a = chart.chartArea;
      const py = sy.getPixelForValue(y);
      const c = chart.ctx;
      c.save();
      c.strokeStyle = "#c01818";
      c.setLineDash([5, 4]);
      c.beginPath();
      c.moveTo(a.left, py);
      c.lineTo(a.right, py);
      c.stroke();
      c.restore();
    },
  };
}

function renderEvals(ctx: Ctx): Rendered {
  const { route, view } = ctx;
  const P = route.params;
  const runs = sorted(view.evals.map((e) => e.run));
  const run = P.get("run") === "all" || runs.includes(P.get("run") ?? "") ? (P.get("run") as string) : "latest";
  const params: Params = [["run", run]];
  const set = setter("evals", ctx, params);
  const configs = new Map(view.configs.map((c) => [c.key, c]));
  const byId = new Map(view.points.map((p) => [String(p.id), p]));
  // `latest`: each config's and task's evals of its latest run (by the run's start).
  const started = new Map(view.points.map((p) => [p.run, p.run_started_at]));
  const order = (r: string): string => `${started.get(r) ?? ""}\u001f${r}`;
  const latest = new Map<string, string>();
  for (const e of view.evals) {
    const k = `${e.config_key}\u001f${e.task}`;
    if (!latest.has(k) || order(e.run) > order(latest.get(k) as string)) latest.set(k, e.run);
  }
  const picked = view.evals.filter((e) => run === "all" || (run === "latest" ? latest.get(`${e.config_key}\u001f${e.task}`) === e.run : e.run === run));
  const tasks = sorted(picked.map((e) => e.task));
  const sections: HTMLElement[] = [];
  const state: Record<string, unknown>[] = [];
  for (const task of tasks) {
    const evs = picked.filter((e) => e.task === task)
      .sort((a, b) => (a.config_key + a.conc + a.run < b.config_key + b.conc + b.run ? -1 : 1));
    const name = (e: EvalRecord): string => {
      const c = configs.get(e.config_key);
      const p = e.point_id === null ? undefined : byId.get(String(e.point_id));
      return `${c ? labelOf(c, p?.source ?? "own") : e.config_key} @${e.conc}${run === "all" ? ` ${e.run}` : ""}`;
    };
    const thresholds = sorted(evs.flatMap((e) => (e.threshold === null ? [] : [String(e.threshold)])));
    const threshold = thresholds.length === 1 ? Number(thresholds[0]) : null;
    const config: ChartConfig = {
      type: "bar",
      data: {
        labels: evs.map(name),
        datasets: [{ label: `${task} score`, data: evs.map((e) => e.score), backgroundColor: evs.map((e) => colorOf(configs.get(e.config_key)?.hardware ?? "")) }],
      },
      plugins: [errorBars(evs.map((e) => e.stderr)), thresholdLine(threshold)],
      options: {
        plugins: { legend: { display: false }, title: { display: true, text: `${task}: score ± 1 standard error${threshold !== null ? `; pass threshold ${threshold}` : ""}` } },
        scales: { y: { min: 0, max: 1, title: { display: true, text: "score" } } },
      },
    };
    const rows: Row[] = evs.map((e) => ({
      attrs: { "data-testid": "evals-row", "data-task": task, "data-config": e.config_key, "data-run": e.run, "data-conc": String(e.conc), "data-score": raw(e.score), "data-stderr": raw(e.stderr), "data-passed": String(e.passed) },
      cells: [name(e), e.run, String(e.conc), numCell(e.score, 3), numCell(e.stderr, 3), String(e.n), String(e.n_failed), numCell(e.threshold, 2),
        { text: e.passed === null ? "-" : e.passed ? "pass" : "FAIL", attrs: { class: e.passed === false ? "warn" : "" } },
        e.point_id === null ? "-" : { text: h("a", { href: `#/point/${encodeURIComponent(String(e.point_id))}` }, "point") }],
    }));
    sections.push(h("div", { "data-testid": "evals-task", "data-task": task },
      h("h3", {}, task),
      chartBox(`evals-${task}`, config, () => ({ header: ["config", "run", "conc", "task", "score", "stderr", "n", "threshold", "passed"], rows: evs.map((e) => [e.config_key, e.run, e.conc, task, e.score, e.stderr, e.n, e.threshold, e.passed]) }), evs.length > 12),
      table(`evals-table-${task}`, [["config", "config"], ["run", "run"], ["conc", "conc"], ["score", "score"], ["stderr", "± s.e."], ["n", "questions"], ["failed", "failed"], ["threshold", "threshold"], ["verdict", "verdict"], ["point", ""]], rows)));
    state.push({ task, bars: evs.map((e) => ({ config: e.config_key, run: e.run, conc: e.conc, score: e.score, stderr: e.stderr })), threshold });
  }
  const controls = h("div", { class: "controls" },
    labelled("runs", select("run", run, [["latest", "latest of each config"], ["all", "all"], ...runs.map((r): [string, string] => [r, r])], (v) => set([["run", v]]))));
  const el = h("section", { "data-testid": "view-evals" }, controls, ...sections,
    sections.length ? h("p", { class: "note" }, "Scores and standard errors as the eval harness reported them (docs/evals.md); the dashed line is the task's pass threshold.")
      : h("p", { class: "empty", "data-testid": "no-evals" }, "No accuracy evals for this view (sweep --eval-task)."));
  return { el, params, state: { run, tasks: state } };
}
