// #/point/ID: one point in full: config, run, metrics, measured power, accuracy, provenance, the per-request
// distributions of its result (any numeric statistics found), and its server log's tail.

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A key/value table of an object; nested objects nest twice, deeper ones show as JSON. */
function kv(testid: string, v: unknown, depth = 0): HTMLElement {
  if (!isObj(v)) return h("pre", { "data-testid": testid }, v === null || v === undefined ? "n/a" : typeof v === "string" ? v : JSON.stringify(v, null, 2));
  const rows = Object.entries(v).map(([k, x]) =>
    h("tr", { "data-key": k, ...(typeof x === "number" ? { "data-value": raw(x) } : {}) }, h("th", {}, k),
      h("td", {}, isObj(x) && depth < 2 ? kv(`${testid}-${k}`, x, depth + 1)
        : Array.isArray(x) || isObj(x) ? h("code", {}, JSON.stringify(x)) : x === null ? "n/a" : String(x))));
  return h("table", { class: "kv", "data-testid": testid }, h("tbody", {}, ...rows));
}

const STAT_RE = /^(mean|median|std|min|max|p\d+(?:\.\d+)?)_(.+)$/;
const STAT_ORDER = ["count", "mean", "std", "min", "median", "p50", "p90", "p95", "p99", "p99.9", "max"];

/** metric → stat → value, from `result.result` or `result`: vLLM-style flat keys and stats objects. */
function distributions(result: unknown): Map<string, Map<string, number>> {
  const src = isObj(result) && isObj(result.result) ? result.result : result;
  const out = new Map<string, Map<string, number>>();
  const put = (metric: string, stat: string, v: number): void => {
    if (!out.has(metric)) out.set(metric, new Map());
    (out.get(metric) as Map<string, number>).set(stat, v);
  };
  if (!isObj(src)) return out;
  for (const [k, v] of Object.entries(src)) {
    const m = STAT_RE.exec(k);
    if (typeof v === "number" && m) put(m[2], m[1], v);
    else if (isObj(v) && Object.keys(v).some((s) => STAT_ORDER.includes(s) && s !== "count" && typeof v[s] === "number")) {
      for (const [s, x] of Object.entries(v)) if (typeof x === "number" && (STAT_ORDER.includes(s) || /^p\d+(\.\d+)?$/.test(s))) put(k, s, x);
    }
  }
  return out;
}

function renderPoint(pf: PointFile, id: string): Rendered {
  const dist = distributions(pf.result);
  const metrics = [...dist.keys()];
  const stats = [...new Set([...dist.values()].flatMap((m) => [...m.keys()]))]
    .sort((a, b) => (STAT_ORDER.indexOf(a) + 1 || 99) - (STAT_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const rows: Row[] = metrics.map((m) => ({
    attrs: { "data-testid": "distribution-row", "data-metric": m },
    cells: [m, ...stats.map((s) => numCell(dist.get(m)?.get(s) ?? null, 2, { "data-metric": m, "data-stat": s }))],
  }));
  const ms = metrics.filter((m) => m.endsWith("_ms"));
  const shown = ["median", "p90", "p99", "p99.9"].filter((s) => ms.some((m) => dist.get(m)?.has(s)));
  const config: ChartConfig = {
    type: "bar",
    data: {
      labels: ms,
      datasets: shown.map((s, i) => ({ label: s, data: ms.map((m) => dist.get(m)?.get(s) ?? null), backgroundColor: `hsl(${210 - i * 40}, 60%, ${40 + i * 10}%)` })),
    },
    options: { scales: { y: { type: "logarithmic", title: { display: true, text: "ms" } } }, plugins: { legend: { position: "bottom" } } },
  };
  const log = pf.server_log;
  const logText = typeof log === "string" ? log
    : isObj(log) ? String(log.tail ?? log.text ?? log.lines ?? JSON.stringify(log, null, 2)) : null;
  const pw = isObj(pf.power) ? pf.power : null;
  const reasons = pw && Array.isArray(pw.invalid_reasons)
    ? pw.invalid_reasons.map((r) => (isObj(r) ? `${String(r.code)}: ${String(r.detail)}` : String(r))) : [];
  const power = pw
    ? h("div", {},
      h("p", { class: pw.valid ? "ok" : "warn", "data-testid": "power-valid", "data-valid": String(pw.valid === true) },
        pw.valid ? `Valid, from ${String(pw.source)}: measured board power, apart from the modelled all-in figures.`
          : `Invalid (${reasons.join("; ")}): no per-token figure is given.`),
      kv("power", pw))
    : h("p", { class: "empty", "data-testid": "no-power" }, "Power was not measured for this point (bench or sweep --power).");
  const evs: EvalRecord[] = Array.isArray(pf.evals) ? pf.evals : [];
  const accuracy = evs.length
    ? table("point-evals", [["task", "task"], ["score", "score"], ["stderr", "± s.e."], ["n", "questions"], ["failed", "failed"], ["threshold", "threshold"], ["verdict", "verdict"]],
      evs.map((e) => ({
        attrs: { "data-testid": "point-eval-row", "data-task": e.task, "data-passed": String(e.passed) },
        cells: [e.task, numCell(e.score, 3, { "data-metric": "score" }), numCell(e.stderr, 3, { "data-metric": "stderr" }), String(e.n), String(e.n_failed),
          numCell(e.threshold, 2, { "data-metric": "threshold" }), e.passed === null ? "-" : e.passed ? "pass" : "FAIL"],
      })))
    : h("p", { class: "empty", "data-testid": "no-point-evals" }, "No accuracy eval ran at this point.");
  const dep = pf.deployment && Array.isArray(pf.deployment.pools) ? pf.deployment : null;
  const deployment = dep
    ? h("div", {},
      table("point-pools", [["role", "role"], ["workers", "workers"], ["tp", "TP"], ["pp", "PP"], ["ep", "EP"], ["dp_attn", "DP attention"], ["gpus", "GPUs"]],
        dep.pools.map((p) => ({
          attrs: { "data-testid": "point-pool", "data-role": p.role, "data-gpus": String(p.gpus) },
          cells: [p.role, String(p.workers), String(p.tp), String(p.pp), String(p.ep), p.dp_attn ? "yes" : "no", String(p.gpus)],
        }))),
      ...[...deploymentExtras(dep), dep.recipe_file ? `recipe file ${dep.recipe_file}` : ""].filter((s) => s !== "")
        .map((s) => h("p", { "data-testid": "point-deployment-extra" }, s)))
    : h("p", { class: "empty", "data-testid": "no-point-pools" }, "The source gave this point's topology as a label only.");
  const c = isObj(pf.config) ? pf.config : {};
  const title = typeof c.label === "string" ? c.label : [c.hardware, c.engine, c.precision, c.topology].filter((x) => typeof x === "string").join(" ");
  const el = h("section", { "data-testid": "view-point", "data-point": String(pf.id ?? id) },
    h("h2", {}, `Point ${pf.id ?? id}`, title ? ` — ${title}` : ""),
    h("div", { class: "cols" },
      h("div", {}, h("h3", {}, "Config"), kv("config", pf.config), h("h3", {}, "Deployment"), deployment, h("h3", {}, "Run"), kv("run", pf.run)),
      h("div", {}, h("h3", {}, "Metrics"), kv("metrics", pf.metrics))),
    h("h3", {}, "Measured power"), power,
    h("h3", {}, "Accuracy"), accuracy,
    h("h3", {}, "Distributions"),
    ms.length ? chartBox("distributions", config, () => ({ header: ["metric", ...stats], rows: metrics.map((m) => [m, ...stats.map((s) => dist.get(m)?.get(s) ?? null)]) })) : null,
    metrics.length ? table("distributions-table", [["metric", "metric"], ...stats.map((s): [string, string] => [s, s])], rows)
      : h("p", { class: "empty", "data-testid": "no-distributions" }, "The result holds no per-request statistics."),
    h("h3", {}, "Provenance"), kv("provenance", pf.provenance),
    h("h3", {}, "Server log (tail)"),
    logText !== null ? h("pre", { class: "log", "data-testid": "server-log" }, logText.split("\n").slice(-400).join("\n"))
      : h("p", { class: "empty", "data-testid": "server-log" }, "The store does not know this point's server log."));
  return { el, params: [], state: { id: pf.id ?? id, metrics: isObj(pf.metrics) ? pf.metrics : null, power_valid: pw ? pw.valid === true : null, distributions: Object.fromEntries([...dist].map(([m, s]) => [m, Object.fromEntries(s)])) } };
}
