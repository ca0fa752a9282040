// #/point/ID: one point in full: config, run, metrics, measured power, accuracy, provenance, the per-request
// distributions of its result (any numeric statistics found), and its server log's tail.

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A key/value table of an object; nested objects nest twice, deeper ones show as JSON;
 * numbers with sensible precision and, where `units` names one, their unit (full precision in
 * data-value). */
function kv(testid: string, v: unknown, depth = 0, units: Record<string, string> = {}): HTMLElement {
  if (!isObj(v)) return h("pre", { "data-testid": testid }, v === null || v === undefined ? "n/a" : typeof v === "string" ? v : JSON.stringify(v, null, 2));
  const rows = Object.entries(v).map(([k, x]) =>
    h("tr", { "data-key": k, ...(typeof x === "number" ? { "data-value": raw(x), "data-unit": units[k] ?? "" } : {}) }, h("th", {}, k),
      h("td", { class: typeof x === "number" ? "num" : "" }, isObj(x) && depth < 2 ? kv(`${testid}-${k}`, x, depth + 1, units)
        : Array.isArray(x) || isObj(x) ? h("code", {}, JSON.stringify(x)) : x === null ? "n/a"
          : typeof x === "number" ? `${fmtSig(x)}${units[k] ? ` ${units[k]}` : ""}` : String(x))));
  return h("table", { class: "kv", "data-testid": testid }, h("tbody", {}, ...rows));
}

const LATENCIES: [string, string][] = [["ttft_ms", "time to first token"], ["tpot_ms", "time per output token"], ["itl_ms", "inter-token latency"], ["e2el_ms", "end-to-end latency"]];

/** The latency distributions of the point: a CDF or a histogram of one latency, from the
 * percentiles its result kept (histogram bins by the analysis library). */
function latencyCharts(pf: PointFile, id: string, P: Map<string, string>): { el: HTMLElement; state: Record<string, unknown> } {
  const lat = pf.latency ?? null;
  if (!lat || Object.keys(lat).length === 0) {
    return { el: h("p", { class: "empty", "data-testid": "no-latency" }, "The result kept no per-request latency distribution (results of servebench bench and sweep do; published ones do not)."), state: { latency: null } };
  }
  const have = LATENCIES.filter(([k]) => lat[k]);
  const metric = have.find(([k]) => k === P.get("lat"))?.[0] ?? have[0][0];
  const mode = P.get("mode") === "hist" ? "hist" : "cdf";
  const go_ = (kv: Params): void => go(`point/${encodeURIComponent(id)}`, [["lat", metric], ["mode", mode], ...globals].map(([k, v]) => [k, kv.find(([q]) => q === k)?.[1] ?? v]));
  const d = lat[metric];
  const label = LATENCIES.find(([k]) => k === metric)?.[1] ?? metric;
  const config: ChartConfig = mode === "cdf"
    ? {
      type: "scatter",
      data: { datasets: [{ label: `${label}, CDF`, data: d.percentiles.map((x, i) => ({ x, y: i })), showLine: true, pointRadius: 0, borderColor: colorOf("", 0), borderWidth: 2 }] },
      options: { parsing: false, plugins: { legend: { display: false } },
        scales: { x: { type: "linear", title: { display: true, text: `${label}, ms` } }, y: { min: 0, max: 100, title: { display: true, text: "% of requests at or below" } } } },
    }
    : {
      type: "bar",
      data: { labels: (d.histogram?.edges.slice(0, -1) ?? []).map((e, i) => `${fmtSig(e)}–${fmtSig(d.histogram?.edges[i + 1])}`),
        datasets: [{ label: `${label}, % of requests`, data: (d.histogram?.shares ?? []).map((s) => s * 100), backgroundColor: colorOf("", 0) }] },
      options: { plugins: { legend: { display: false } }, scales: { x: { title: { display: true, text: `${label}, ms` } }, y: { beginAtZero: true, title: { display: true, text: "% of requests" } } } },
    };
  const csv = (): { header: string[]; rows: CsvValue[][] } => mode === "cdf"
    ? { header: ["percentile", `${metric}`], rows: d.percentiles.map((x, i) => [i, x]) }
    : { header: ["from_ms", "to_ms", "share"], rows: (d.histogram?.shares ?? []).map((s, i) => [d.histogram?.edges[i], d.histogram?.edges[i + 1], s]) };
  const el = h("div", { "data-testid": "latency", "data-metric": metric, "data-mode": mode },
    h("div", { class: "controls" },
      labelled("latency", select("lat", metric, have, (v) => go_([["lat", v]]))),
      labelled("as", select("mode", mode, [["cdf", "CDF"], ["hist", "histogram"]], (v) => go_([["mode", v]])))),
    chartBox("latency", config, csv),
    h("p", { class: "note" }, "From each request's latency as the client measured it, kept at ingest as the result's percentiles (0 to 100); a replay's come from its sketches, within 0.05%."));
  return { el, state: { latency: { metric, mode, percentiles: d.percentiles, histogram: d.histogram } } };
}

/** The server's KV-cache usage over the point's window, where a replay scraped /metrics. */
function serverTimeline(pf: PointFile): HTMLElement {
  const t = pf.server_timeline ?? null;
  if (!t || t.length === 0) return h("p", { class: "empty", "data-testid": "no-server-timeline" }, "No gauges over the window (a trace replay with --server-metrics-url scrapes them every second).");
  const series = (k: "gpu_kv_usage" | "cpu_kv_usage") => t.filter((s) => s[k] !== null).map((s) => ({ x: s.t_s, y: (s[k] as number) * 100 }));
  const config: ChartConfig = {
    type: "scatter",
    data: { datasets: [
      { label: "GPU KV cache used, %", data: series("gpu_kv_usage"), showLine: true, pointRadius: 1.5, borderColor: colorOf("", 0), backgroundColor: colorOf("", 0) },
      { label: "CPU KV cache used, %", data: series("cpu_kv_usage"), showLine: true, pointRadius: 1.5, borderColor: colorOf("", 1), backgroundColor: colorOf("", 1) },
    ] },
    options: { parsing: false, plugins: { legend: { position: "bottom" } },
      scales: { x: { type: "linear", title: { display: true, text: "seconds into the window" } }, y: { min: 0, max: 100, title: { display: true, text: "% of capacity" } } } },
  };
  return h("div", { "data-testid": "server-timeline", "data-samples": String(t.length) },
    chartBox("server-timeline", config, () => ({ header: ["t_s", "gpu_kv_usage", "cpu_kv_usage"], rows: t.map((s) => [s.t_s, s.gpu_kv_usage, s.cpu_kv_usage]) })));
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

function renderPoint(pf: PointFile, id: string, P: Map<string, string> = new Map()): Rendered {
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
  const latency = latencyCharts(pf, String(pf.id ?? id), P);
  const c = isObj(pf.config) ? pf.config : {};
  const title = typeof c.label === "string" ? c.label : [c.hardware, c.engine, c.precision, c.topology].filter((x) => typeof x === "string").join(" ");
  const el = h("section", { "data-testid": "view-point", "data-point": String(pf.id ?? id) },
    h("h2", {}, `Point ${pf.id ?? id}`, title ? ` — ${title}` : ""),
    h("div", { class: "cols" },
      h("div", {}, h("h3", {}, "Config"), kv("config", pf.config), h("h3", {}, "Deployment"), deployment, h("h3", {}, "Run"), kv("run", pf.run)),
      h("div", {}, h("h3", {}, "Metrics"), kv("metrics", pf.metrics, 0, pf.units ?? {}))),
    h("h3", {}, "Measured power"), power,
    h("h3", {}, "Accuracy"), accuracy,
    h("h3", {}, "Latency distributions"), latency.el,
    h("h3", {}, "The server over the window"), serverTimeline(pf),
    h("h3", {}, "Statistics"),
    ms.length ? chartBox("distributions", config, () => ({ header: ["metric", ...stats], rows: metrics.map((m) => [m, ...stats.map((s) => dist.get(m)?.get(s) ?? null)]) })) : null,
    metrics.length ? table("distributions-table", [["metric", "metric"], ...stats.map((s): [string, string] => [s, s])], rows)
      : h("p", { class: "empty", "data-testid": "no-distributions" }, "The result holds no per-request statistics."),
    h("h3", {}, "Provenance"), kv("provenance", pf.provenance),
    h("h3", {}, "Server log (tail)"),
    logText !== null ? h("pre", { class: "log", "data-testid": "server-log" }, logText.split("\n").slice(-400).join("\n"))
      : h("p", { class: "empty", "data-testid": "server-log" }, "The store does not know this point's server log."));
  return { el, params: [], state: { id: pf.id ?? id, metrics: isObj(pf.metrics) ? pf.metrics : null, power_valid: pw ? pw.valid === true : null, distributions: Object.fromEntries([...dist].map(([m, s]) => [m, Object.fromEntries(s)])), ...latency.state, server_samples: pf.server_timeline?.length ?? 0 } };
}
