// End-to-end scenario of the servebench dashboard, driven through its UI with playwright-core.
//
//   node dashboard/e2e/run.mjs --url http://127.0.0.1:PORT/ --out DIR [--chromium /usr/bin/chromium]
//        [--perf MODEL:ISLxOSL] [--timeout-ms 15000]
//
// It loads every view, changes filters by clicking and typing in the page (never by writing the
// URL, except the first load), reads what the page shows from its data tables (data-testid /
// data-* attributes holding full-precision numbers), checks that the URL hash carries the state
// after every change, takes a full-page screenshot per view (DIR/inference.png, compare.png,
// tco.png, history.png, reliability.png, point.png), saves the inference chart's CSV
// (DIR/inference.csv), and writes DIR/results.json. It exits non-zero only when it crashes
// (no browser, no page); judging the numbers is the caller's job (a Rust test compares them
// with servebench-analysis).
//
// DIR/results.json:
// {
//   "url": "<the --url>",
//   "console_errors": ["console: ...", "pageerror: ...", "requestfailed: <url> <why>", "http 404: <url>"],
//   "problems": ["<step>: <what went wrong in the scenario: a timeout, a hash that lacks the state>"],
//   "views": {
//     "<view>": {
//       "steps": [Step, ...],          // one per state the scenario put the view in, in order
//       ...the last step's fields      // so views.tco.at, views.tco.bars, ... read the final state
//     }
//   },
//   "perf": null | {"hash", "points_drawn", "chart_drawn_ms", "render_ms", "rerender_y_cost_ms",
//     "filter_ms": [re-render after unticking/ticking an accelerator, ×3, and frontier only/all]},
//   "simulated_drawn": {"simulated": points drawn that carry an expected error (frontiers per
//     config, both sources, every run, every accelerator), "diamonds": those drawn as open
//     diamonds, "uncalibrated": those of a kind no published point calibrates, "triangles":
//     those drawn as open triangles}
// }
// Every Step has {"step": "<what was done>", "hash": "<location.hash after it>", "hash_ok": bool,
// "render_ms": <ms from the hash change to the charts built>, "state": <body[data-state], the
// view's own account of its state>} and, per view (numbers are JSON numbers or null for "n/a"):
//
// - inference: {"group": "hwkey"|..., "x": "intvty"|"e2el"|"ttft",
//     "y": "tput"|"input"|"output"|"cost"|"tpmw"|"energy"|"measured",
//     "tier", "price": number|null, "source": "own"|"reference"|"both", "run": "latest"|"all"|KEY,
//     "prec": [..], "hw": [..], "engine": [..], "frontier_only": bool, "new_only": bool, "points_drawn": n,
//     "frontier": [{"series", "source", "run", "point": "<id>", "config": "<config key>", "x", "y",
//                   "simulated": "<the basis of its expected error>" | "" (measured)}]}
//     frontier rows are each shown series' frontier points, best x first (the API's figures).
//     views.inference.csv = {"file": "inference.csv", "header": [..], "rows": n}.
//     "evals": [{"config_key", "run", "conc", "task", "point", "passed", "score", "stderr",
//     "threshold", "x", "y"}]: the accuracy table's rows.
// - point: {"id", "metrics": {name: value}, "distributions": [{"metric", "stat", "value"}],
//     "power": null | {"valid": "true"|"false", "values": {name: value}},
//     "evals": [{"task", "passed", "score", "stderr", "threshold"}], "server_log_lines": n}
// - compare: {"model", "wl", "a": RUN, "b": RUN, "at", "tier",
//     "rows": [{"config", "source", "a": tok/s/GPU of A at `at`, "b": ..., "value": a/b,
//               "cost_ratio": A $/M ÷ B $/M}]}
// - tco: {"model", "wl", "at", "tier", "source", "price": custom $/GPU-hour|null,
//     "bars": [{"hw", "value": $/M at `at` (tier or override price), "tput": tok/s/GPU at `at`,
//               "price": $/GPU-hour used, "kw": all-in kW/GPU used, "tpmw", "energy": J/token}]}
//     a bar is the frontier of all the accelerator's configs' latest points together, read at `at`.
// - history: {"model", "wl", "at", "threshold", "source",
//     "rows": [{"series", "source", "run", "date", "value": tok/s/GPU at `at`, "regression": bool}],
//     "regressions": [{"series", "source", "before_run", "after_run", "before", "after", "change", "noise", "why"}],
//     "movements": [the same, for every run that moved a frontier either way]}
// - reliability: {"model", "wl", "source", "run",
//     "hardware": [{"hw", "completed", "failed", "value": completed/(completed+failed)}],
//     "configs": [{"hw", "config", "source", "completed", "failed", "value"}]}
import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";

const argv = process.argv.slice(2);
const opt = (k, d) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : d; };
const base = opt("--url");
const out = opt("--out");
if (!base || !out) {
  console.error("usage: run.mjs --url http://127.0.0.1:PORT/ --out DIR [--chromium PATH] [--perf MODEL:ISLxOSL]");
  process.exit(2);
}
const timeout = Number(opt("--timeout-ms", "15000"));
mkdirSync(out, { recursive: true });

const results = { url: base, console_errors: [], problems: [], views: {}, perf: null, simulated_drawn: null, as_of: null, jobs: null };
const browser = await chromium.launch({
  executablePath: opt("--chromium", "/usr/bin/chromium"),
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(timeout);
page.on("console", (m) => { if (m.type() === "error") results.console_errors.push(`console: ${m.text()}`); });
page.on("pageerror", (e) => results.console_errors.push(`pageerror: ${e.message}`));
page.on("requestfailed", (r) => results.console_errors.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
page.on("response", (r) => { if (r.status() >= 400) results.console_errors.push(`http ${r.status()}: ${r.url()}`); });

// ---- helpers --------------------------------------------------------------------------------

const seqNow = () => page.evaluate(() => Number(document.body.dataset.seq ?? 0));
const numOrNull = (s) => (s === undefined || s === null || s === "" ? null : Number(s));

/**
 * Runs `action` (a click, a selection, typing) and waits until the page has rendered the hash
 * it ends on and that hash holds `expect` (key → value); a timeout is noted as a problem.
 */
async function act(step, action, expect = {}) {
  const before = await seqNow();
  await action();
  try {
    await page.waitForFunction(([s, exp]) => {
      const b = document.body.dataset;
      if (!(Number(b.seq ?? 0) > s) || b.hash !== location.hash) return false;
      const q = new URLSearchParams(location.hash.split("?")[1] ?? "");
      return Object.entries(exp).every(([k, v]) => q.get(k) === String(v));
    }, [before, expect]);
  } catch (e) {
    results.problems.push(`${step}: the page did not render a hash with ${JSON.stringify(expect)}: ${e.message.split("\n")[0]}`);
  }
  return snapshot(step);
}

async function snapshot(step) {
  const s = await page.evaluate(() => ({
    hash: location.hash, state: JSON.parse(document.body.dataset.state ?? "null"),
    render_ms: Number(document.body.dataset.renderMs), view: document.body.dataset.view,
  }));
  return { step, hash: s.hash, hash_ok: true, render_ms: s.render_ms, state: s.state };
}

function hashParams(hash) {
  const q = hash.includes("?") ? hash.slice(hash.indexOf("?") + 1) : "";
  return Object.fromEntries(q.split("&").filter(Boolean).map((kv) => {
    const i = kv.indexOf("=");
    return [decodeURIComponent(kv.slice(0, i)), decodeURIComponent(kv.slice(i + 1))];
  }));
}

/** Checks that the hash holds `expect` (key → value); notes a problem otherwise. */
function expectHash(s, expect) {
  const p = hashParams(s.hash);
  for (const [k, v] of Object.entries(expect)) {
    if (p[k] !== String(v)) {
      s.hash_ok = false;
      results.problems.push(`${s.step}: hash has ${k}=${p[k]}, expected ${v} (${s.hash})`);
    }
  }
  return s;
}

/** Rows matching `sel`: the attributes named, numbers parsed where `nums` lists them. */
async function rows(sel, attrs, nums = []) {
  return page.$$eval(sel, (els, [attrs, nums]) => els.map((e) => {
    const o = {};
    for (const [k, a] of attrs) {
      const v = e.getAttribute(a);
      o[k] = nums.includes(k) ? (v === null || v === "" ? null : Number(v)) : v;
    }
    return o;
  }), [attrs, nums]);
}

const record = (view, s, extra) => {
  const step = { ...s, ...extra };
  const v = (results.views[view] ??= { steps: [] });
  v.steps.push(step);
  const { steps } = v;
  results.views[view] = { ...step, steps };
  return step;
};

async function guarded(view, f) {
  try {
    await f();
  } catch (e) {
    results.problems.push(`${view}: ${e.message.split("\n")[0]}`);
    try { await page.screenshot({ path: join(out, `${view}.png`), fullPage: true }); } catch { /* none */ }
  }
}

async function typeInto(sel, value) {
  const i = page.locator(sel).first();
  await i.fill(String(value));
  await i.press("Tab");
}

// From the top: sticky table headers drawn where a scrolled viewport left them would cover rows.
const shot = async (name) => {
  await page.evaluate(() => window.scrollTo(0, 0));
  return page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
};

// ---- inference ------------------------------------------------------------------------------

async function inference(step) {
  const s = await snapshot(step);
  const st = s.state;
  // A long frontier table shows its first rows and a button for the rest: how many it
  // showed, then all of them.
  let capped = null;
  const more = await page.$('[data-testid="inference-table-more"]');
  if (more) {
    capped = { shown: await page.$$eval('[data-testid="frontier-row"]', (els) => els.length), rest: Number(await more.getAttribute("data-rest")) };
    await more.click();
    await page.waitForFunction(() => !document.querySelector('[data-testid="inference-table-more"]'));
    // Clicking scrolled the page to the button: back to the top, where the next steps point.
    await page.evaluate(() => window.scrollTo(0, 0));
  }
  const frontier = await rows('[data-testid="frontier-row"]',
    [["series", "data-series"], ["source", "data-source"], ["run", "data-run"], ["point", "data-point"], ["config", "data-config"], ["x", "data-x"], ["y", "data-y"], ["label", "data-label"], ["simulated", "data-simulated"], ["left_out", "data-left-out"], ["uncalibrated", "data-uncalibrated"],
      ["theory_hit", "data-theory-hit"], ["server_hit", "data-server-hit"], ["gpu_kv", "data-gpu-kv"]], ["x", "y", "theory_hit", "server_hit", "gpu_kv"]);
  const drawn = numOrNull(await page.getAttribute('[data-testid="inference-count"]', "data-value"));
  // The accuracy table: each eval's attributes and its numeric cells (score, s.e., threshold,
  // and its point's x and y).
  const evals = await page.$$eval('[data-testid="eval-row"]', (els) => els.map((e) => {
    const o = { config_key: e.dataset.config, run: e.dataset.run, conc: Number(e.dataset.conc), task: e.dataset.task, point: e.dataset.point || null, passed: e.dataset.passed };
    for (const td of e.querySelectorAll("td[data-metric]")) {
      const v = td.getAttribute("data-value");
      o[td.dataset.metric] = v === null || v === "" ? null : Number(v);
    }
    return o;
  }));
  // What the chart itself was configured with: its axes' types and limits.
  const axes = await page.evaluate(() => {
    const ch = window.Chart.getChart(document.querySelector('[data-testid="chart-inference"]'));
    const a = (k) => ({ type: ch.options.scales[k].type, min: ch.options.scales[k].min ?? null, max: ch.options.scales[k].max ?? null });
    return { x: a("x"), y: a("y") };
  });
  const legend = await rows('[data-testid="legend-item"]', [["id", "data-series"], ["hidden", "data-hidden"]]);
  const pinned = await page.evaluate(() => {
    const b = document.querySelector('[data-testid="pinned"]');
    return b && !b.hidden ? b.querySelector('[data-testid="pinned-link"]')?.getAttribute("href") ?? null : null;
  });
  return { s, fields: { group: st.group, x: st.x, y: st.y, tier: st.tier, price: st.price, source: st.source, run: st.run, prec: st.prec, hw: st.hw, engine: st.engine, frontier_only: st.frontier_only, new_only: st.new_only, points_drawn: drawn, frontier, capped, evals,
    xs: st.xs, ys: st.ys, labels: st.labels, hidden: st.hidden, q: st.q, zoom: st.zoom, pin: st.pin, axes, legend, pinned } };
}

await page.goto(new URL("#/inference", base).href);
await page.waitForFunction(() => document.body.dataset.seq !== undefined);

await guarded("inference", async () => {
  const rec = async (label, expect, action) => {
    if (action) await act(label, action, expect);
    const { s, fields } = await inference(label);
    return record("inference", expectHash(s, expect), fields);
  };
  await rec("default", { x: "intvty", y: "tput" });
  // What each run measured itself, then every point again.
  await rec("new points only", { new: "1" }, () => page.click('[data-testid="new-only"]'));
  await rec("all points", {}, async () => {
    await page.click('[data-testid="new-only"]');
    await page.waitForFunction(() => !location.hash.includes("new=1") && document.body.dataset.state?.includes('"new_only":false'));
  });
  const hws = await page.$$eval('[data-testid="hw"] input', (els) => els.map((e) => e.value));
  if (hws.length >= 2) {
    const left = hws.slice(1).join(",");
    await rec(`untick accelerator ${hws[0]}`, { hw: left }, () => page.click(`[data-testid="hw-${hws[0]}"]`));
  }
  await rec("y = cost", { y: "cost" }, () => page.selectOption('[data-testid="y"]', "cost"));
  await rec("tier = neocloud", { y: "cost", tier: "neocloud" }, () => page.selectOption('[data-testid="tier"]', "neocloud"));
  await rec("custom price 2.5 $/GPU-hour", { tier: "custom", price: "2.5" }, () => typeInto('[data-testid="price"]', "2.5"));
  await rec("y = tpmw", { y: "tpmw" }, () => page.selectOption('[data-testid="y"]', "tpmw"));
  await rec("y = energy", { y: "energy" }, () => page.selectOption('[data-testid="y"]', "energy"));
  await rec("y = output", { y: "output" }, () => page.selectOption('[data-testid="y"]', "output"));
  await rec("x = e2el, y = tput", { x: "e2el", y: "tput" }, async () => {
    await page.selectOption('[data-testid="x"]', "e2el");
    await page.waitForFunction(() => location.hash.includes("x=e2el") && document.body.dataset.state?.includes('"x":"e2el"'));
    await page.selectOption('[data-testid="y"]', "tput");
  });
  await rec("source = both", { source: "both" }, () => page.selectOption('[data-testid="source"]', "both"));
  await rec("frontier only", { frontier: "1" }, () => page.click('[data-testid="frontier"]'));
  await rec("x = intvty, all frontier points", { x: "intvty", frontier: "0" }, async () => {
    await page.click('[data-testid="frontier"]');
    await page.waitForFunction(() => location.hash.includes("frontier=0") && document.body.dataset.state?.includes('"frontier_only":false'));
    await page.selectOption('[data-testid="x"]', "intvty");
  });
  await rec("frontiers per config", { group: "config" }, () => page.selectOption('[data-testid="group"]', "config"));
  await rec("x = ttft, y = measured", { x: "ttft", y: "measured" }, async () => {
    await page.selectOption('[data-testid="x"]', "ttft");
    await page.waitForFunction(() => location.hash.includes("x=ttft") && document.body.dataset.state?.includes('"x":"ttft"'));
    await page.selectOption('[data-testid="y"]', "measured");
  });
  await rec("runs = all", { run: "all" }, () => page.selectOption('[data-testid="run"]', "all"));
  // InferenceX's other y metrics: per input and output token, and the measured ones.
  for (const y of ["cost_in", "cost_out", "tpmw_in", "tpmw_out", "energy_in", "energy_out", "measured_total", "measured_in", "input"]) {
    await rec(`y = ${y}`, { y }, () => page.selectOption('[data-testid="y"]', y));
  }
  await rec("x = p99ttft", { x: "p99ttft" }, () => page.selectOption('[data-testid="x"]', "p99ttft"));
  await rec("x = intvty, y = tput", { x: "intvty", y: "tput" }, async () => {
    await page.selectOption('[data-testid="x"]', "intvty");
    await page.waitForFunction(() => location.hash.includes("x=intvty"));
    await page.selectOption('[data-testid="y"]', "tput");
  });
  await rec("log x", { xs: "log" }, () => page.selectOption('[data-testid="xs"]', "log"));
  await rec("log y, y = cost", { ys: "log", y: "cost" }, async () => {
    await page.selectOption('[data-testid="ys"]', "log");
    await page.waitForFunction(() => location.hash.includes("ys=log"));
    await page.selectOption('[data-testid="y"]', "cost");
  });
  await rec("labels = concurrency", { labels: "conc" }, () => page.selectOption('[data-testid="labels"]', "conc"));
  // The legend: search, keep only the matching series, bring one back, then all.
  await rec("legend search b200", { q: "b200" }, () => typeInto('[data-testid="legend-search"]', "b200"));
  await rec("legend: only these", { q: "b200" }, () => page.click('[data-testid="legend-only"]'));
  const hiddenOne = await page.$$eval('[data-testid="legend-item"][data-hidden="false"] input', (els) => els.map((e) => e.dataset.series));
  if (hiddenOne.length) {
    await rec(`legend: hide ${hiddenOne[0]}`, {}, () => page.click(`[data-testid="legend-toggle"][data-series="${hiddenOne[0]}"]`));
  }
  await rec("legend: show all", {}, async () => {
    await typeInto('[data-testid="legend-search"]', "");
    await page.waitForFunction(() => !location.hash.includes("q="));
    await page.click('[data-testid="legend-all"]');
  });
  // Zoom: drag a box over the middle of the plot.
  const box = await page.evaluate(() => {
    const c = document.querySelector('[data-testid="chart-inference"]');
    const ch = window.Chart.getChart(c);
    const r = c.getBoundingClientRect(), a = ch.chartArea;
    return { x0: r.left + a.left + (a.right - a.left) * 0.2, x1: r.left + a.left + (a.right - a.left) * 0.7, y0: r.top + a.top + (a.bottom - a.top) * 0.2, y1: r.top + a.top + (a.bottom - a.top) * 0.8 };
  });
  const zoomed = await act("zoom: drag a box", async () => {
    await page.mouse.move(box.x0, box.y0);
    await page.mouse.down();
    await page.mouse.move((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2, { steps: 4 });
    await page.mouse.move(box.x1, box.y1, { steps: 4 });
    await page.mouse.up();
  });
  {
    const { fields } = await inference("zoom: drag a box");
    record("inference", zoomed, fields);
  }
  await rec("zoom: reset, labels = parallelism, linear", { labels: "par", xs: "lin", ys: "lin", x: "ttft", y: "measured" }, async () => {
    await page.click('[data-testid="zoom-reset"]');
    await page.waitForFunction(() => !location.hash.includes("zoom="));
    await page.selectOption('[data-testid="labels"]', "par");
    await page.waitForFunction(() => location.hash.includes("labels=par"));
    await page.selectOption('[data-testid="xs"]', "lin");
    await page.waitForFunction(() => location.hash.includes("xs=lin"));
    await page.selectOption('[data-testid="ys"]', "lin");
    await page.waitForFunction(() => location.hash.includes("ys=lin"));
    await page.selectOption('[data-testid="x"]', "ttft");
    await page.waitForFunction(() => location.hash.includes("x=ttft"));
    await page.selectOption('[data-testid="y"]', "measured");
  });
  // The published points on every axis and metric InferenceMAX published roofs for: every
  // accelerator ticked, hardware keys, each config's latest (the published run).
  const unticked = await page.$$eval('[data-testid="hw"] input:not(:checked)', (els) => els.map((e) => e.value));
  for (const hw of unticked) await rec(`tick accelerator ${hw}`, {}, () => page.click(`[data-testid="hw-${hw}"]`));
  // How the chart draws simulated points (results.simulated_drawn).
  results.simulated_drawn = await page.evaluate(() => {
    const ch = window.Chart.getChart(document.querySelector('[data-testid="chart-inference"]'));
    let simulated = 0, diamonds = 0, uncalibrated = 0, triangles = 0;
    for (const ds of ch.data.datasets) {
      if (String(ds.label).endsWith(" frontier")) continue;
      ds.data.forEach((d, i) => {
        if (!d.p.simulated) return;
        simulated++;
        const style = Array.isArray(ds.pointStyle) ? ds.pointStyle[i] : ds.pointStyle;
        const fill = Array.isArray(ds.backgroundColor) ? ds.backgroundColor[i] : ds.backgroundColor;
        if (d.p.simulated.uncalibrated) uncalibrated++;
        if (style === "rectRot" && fill === "transparent") diamonds++;
        if (style === "triangle" && fill === "transparent") triangles++;
      });
    }
    return { simulated, diamonds, uncalibrated, triangles };
  });
  await rec("published, hardware keys", { source: "reference", group: "hwkey", run: "latest" }, async () => {
    await page.selectOption('[data-testid="source"]', "reference");
    await page.waitForFunction(() => location.hash.includes("source=reference"));
    await page.selectOption('[data-testid="group"]', "hwkey");
    await page.waitForFunction(() => location.hash.includes("group=hwkey"));
    await page.selectOption('[data-testid="run"]', "latest");
  });
  for (const x of ["intvty", "e2el"]) {
    await rec(`published: x = ${x}, y = tput`, { x, y: "tput" }, async () => {
      await page.selectOption('[data-testid="x"]', x);
      await page.waitForFunction((x) => location.hash.includes(`x=${x}`), x);
      await page.selectOption('[data-testid="y"]', "tput");
    });
    await rec(`published: x = ${x}, y = tpmw`, { x, y: "tpmw" }, () => page.selectOption('[data-testid="y"]', "tpmw"));
    await rec(`published: x = ${x}, y = cost`, { x, y: "cost" }, () => page.selectOption('[data-testid="y"]', "cost"));
    for (const tier of ["hyperscaler", "neocloud", "rental"]) {
      await rec(`published: x = ${x}, y = cost, ${tier}`, { x, y: "cost", tier }, () => page.selectOption('[data-testid="tier"]', tier));
    }
  }
  // The first model with an agentic-coding workload, drawn by default against E2E-normalised
  // interactivity with each point's cache figures; then back where the scenario was.
  const back = await page.evaluate(() => location.hash);
  const models = await page.$$eval('[data-testid="model"] option', (els) => els.map((e) => e.value));
  for (const m of models) {
    await act(`model ${m}`, () => page.goto(new URL(`#/inference?model=${encodeURIComponent(m)}`, base).href), { model: m });
    const wls = await page.$$eval('[data-testid="wl"] option', (els) => els.map((e) => e.value));
    if (!wls.includes("0x0")) continue;
    await rec(`agentic coding: ${m}`, { model: m, wl: "0x0", x: "e2enorm" }, () => page.selectOption('[data-testid="wl"]', "0x0"));
    break;
  }
  await rec("back", hashParams(back), () => page.goto(new URL(back, base).href));
  // Hover the first drawn point (its tooltip), then click it: the pinned panel links to it.
  // The scatter's points are drawn by the page's scatter plugin (the chart's `data.clouds`),
  // outside Chart.js: the first point of the first cloud, where the scales put it.
  const pt = await page.evaluate(() => {
    const c = document.querySelector('[data-testid="chart-inference"]');
    const ch = window.Chart.getChart(c);
    const r = c.getBoundingClientRect();
    for (const cl of ch.data.clouds ?? []) {
      const d = cl.points[0];
      if (d) return { x: r.left + ch.scales.x.getPixelForValue(d.x), y: r.top + ch.scales.y.getPixelForValue(d.y), id: String(d.p.id), conc: d.p.conc };
    }
    return null;
  });
  if (pt) {
    await page.mouse.move(pt.x, pt.y);
    await page.waitForFunction(() => !document.querySelector('[data-testid="tooltip"]')?.hidden);
    const tooltip = await page.$$eval('[data-testid="tooltip"] li', (els) => els.map((e) => e.textContent));
    await act("pin a point", () => page.mouse.click(pt.x, pt.y), { pin: pt.id });
    const href = await page.getAttribute('[data-testid="pinned-link"]', "href").catch(() => null);
    // The pin is URL state: a fresh load of the URL shows the same pinned tooltip.
    const url = await page.evaluate(() => location.href);
    await page.goto("about:blank");
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.seq !== undefined && !document.querySelector('[data-testid="pinned"]')?.hidden);
    const reloaded = await page.getAttribute('[data-testid="pinned-link"]', "href").catch(() => null);
    results.views.inference.pinned = { point: pt.id, conc: pt.conc, tooltip, href, reloaded };
    if (href !== `#/point/${encodeURIComponent(pt.id)}` || reloaded !== href) results.problems.push(`inference: clicking point ${pt.id} pinned ${href}, reloaded ${reloaded}`);
  }
  await shot("inference");
  // The chart as a PNG, drawn in the browser.
  {
    const [png] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="png-inference"]')]);
    const file = join(out, "inference-chart.png");
    await png.saveAs(file);
    const b = readFileSync(file);
    results.views.inference.png = { file: "inference-chart.png", bytes: b.length, signature: b.subarray(0, 8).toString("hex"), width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="csv-inference"]')]);
  const file = join(out, "inference.csv");
  await dl.saveAs(file);
  const all = readFileSync(file, "utf8").trimEnd().split("\n");
  const preamble = all.filter((l) => l.startsWith("# "));
  const lines = all.filter((l) => !l.startsWith("#"));
  results.views.inference.csv = { file: "inference.csv", preamble, header: lines[0].split(","), rows: lines.length - 1 };
  if (lines.length - 1 !== results.views.inference.points_drawn) {
    results.problems.push(`inference: the CSV has ${lines.length - 1} rows, the chart ${results.views.inference.points_drawn} points`);
  }
  // Dark mode with the high-contrast palette, kept in the URL and across views; then a narrow
  // screen: the page must not scroll sideways (tables scroll in their own box).
  const look = await act("dark, high contrast", async () => {
    await page.selectOption('[data-testid="theme"]', "dark");
    await page.waitForFunction(() => location.hash.includes("theme=dark"));
    await page.selectOption('[data-testid="palette"]', "contrast");
  }, { theme: "dark", palette: "contrast" });
  const colors = await page.evaluate(() => ({
    theme: document.documentElement.dataset.theme,
    background: getComputedStyle(document.body).backgroundColor,
    // The series' colours: their points and frontiers (drawn by the page's scatter plugin),
    // and any Chart.js dataset (simulated points).
    series: (() => {
      const ch = window.Chart.getChart(document.querySelector('[data-testid="chart-inference"]'));
      return [...(ch.data.clouds ?? []).map((c) => c.style.stroke), ...(ch.data.lines ?? []).map((l) => l.color), ...ch.data.datasets.map((d) => d.borderColor)];
    })(),
    nav: document.querySelector('[data-testid="nav-tco"]').getAttribute("href"),
  }));
  await shot("inference-dark");
  await page.setViewportSize({ width: 420, height: 900 });
  // Chart.js resizes its canvas when it observes the new width; until then it is the old one.
  await page.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, null, { timeout: 5000 }).catch(() => undefined);
  const narrow = await page.evaluate(() => ({ width: window.innerWidth, scroll_width: document.documentElement.scrollWidth }));
  await shot("inference-narrow");
  await page.setViewportSize({ width: 1400, height: 900 });
  results.views.inference.look = { hash: look.hash, ...colors, narrow };
  await act("light, default palette", async () => {
    await page.selectOption('[data-testid="theme"]', "light");
    await page.waitForFunction(() => location.hash.includes("theme=light"));
    await page.selectOption('[data-testid="palette"]', "default");
  }, { theme: "light", palette: "default" });
});

// ---- point ----------------------------------------------------------------------------------

await guarded("point", async () => {
  // A point with an accuracy eval beside it when the view has one, else a frontier point.
  const withEval = (await page.locator('[data-testid="eval-point-link"]').count()) > 0;
  const link = page.locator(withEval ? '[data-testid="eval-point-link"]' : '[data-testid="point-link"]').first();
  const href = await link.getAttribute("href");
  const s = await act("open a frontier point", () => link.click());
  if (s.hash !== href) results.problems.push(`point: hash ${s.hash}, link ${href}`);
  const metrics = Object.fromEntries((await rows('[data-testid="metrics"] > tbody > tr', [["k", "data-key"], ["v", "data-value"]], ["v"])).map((r) => [r.k, r.v]));
  const distributions = await rows('[data-testid="distributions-table"] td[data-stat]', [["metric", "data-metric"], ["stat", "data-stat"], ["value", "data-value"]], ["value"]);
  const log = await page.textContent('[data-testid="server-log"]');
  const hasPower = (await page.locator('[data-testid="power-valid"]').count()) > 0;
  const power = hasPower ? {
    valid: await page.getAttribute('[data-testid="power-valid"]', "data-valid"),
    values: Object.fromEntries((await rows('[data-testid="power"] > tbody > tr[data-value]', [["k", "data-key"], ["v", "data-value"]], ["v"])).map((r) => [r.k, r.v])),
  } : null;
  const evals = await page.$$eval('[data-testid="point-eval-row"]', (els) => els.map((e) => {
    const o = { task: e.dataset.task, passed: e.dataset.passed };
    for (const td of e.querySelectorAll("td[data-metric]")) o[td.dataset.metric] = Number(td.getAttribute("data-value"));
    return o;
  }));
  const pools = await rows('[data-testid="point-pool"]', [["role", "data-role"], ["gpus", "data-gpus"]], ["gpus"]);
  // Each metric's unit and its shown text (sensible precision, not the stored digits).
  const units = await rows('[data-testid="metrics"] > tbody > tr[data-value]', [["k", "data-key"], ["unit", "data-unit"], ["v", "data-value"]], ["v"]);
  const shown = await page.$$eval('[data-testid="metrics"] > tbody > tr[data-value] > td', (els) => els.map((e) => e.textContent));
  // The latency CDF as drawn, then the ITL histogram; the server's gauge over the window.
  const latency = async () => page.evaluate(() => {
    const l = document.querySelector('[data-testid="latency"]');
    const ch = l ? window.Chart.getChart(document.querySelector('[data-testid="chart-latency"]')) : null;
    return l ? { metric: l.dataset.metric, mode: l.dataset.mode, data: ch.data.datasets[0].data, labels: ch.data.labels ?? null } : null;
  });
  const cdf = await latency();
  await act("ITL", () => page.selectOption('[data-testid="lat"]', "itl_ms"), { lat: "itl_ms" });
  await act("ITL histogram", () => page.selectOption('[data-testid="mode"]', "hist"), { lat: "itl_ms", mode: "hist" });
  const hist = await latency();
  const timeline = await page.evaluate(() => {
    const t = document.querySelector('[data-testid="server-timeline"]');
    if (!t) return null;
    const ch = window.Chart.getChart(document.querySelector('[data-testid="chart-server-timeline"]'));
    return { samples: Number(t.dataset.samples), gpu: ch.data.datasets[0].data };
  });
  record("point", { ...s, hash_ok: s.hash === href }, { id: s.state.id, metrics, distributions, power, evals, pools, server_log_lines: log ? log.split("\n").length : 0, units, shown, cdf, hist, timeline });
  await shot("point");
});

// ---- compare --------------------------------------------------------------------------------

const scope = (st) => ({ model: hashParams(st.hash).model, wl: hashParams(st.hash).wl });

await guarded("compare", async () => {
  const read = async (label, expect, action) => {
    const s = expectHash(action ? await act(label, action, expect) : await snapshot(label), expect);
    const r = await rows('[data-testid="compare-row"]', [["config", "data-config"], ["source", "data-source"], ["a", "data-a"], ["b", "data-b"], ["value", "data-value"], ["cost_ratio", "data-cost-ratio"]], ["a", "b", "value", "cost_ratio"]);
    // What changed between the runs: filled in once both runs' builds arrive.
    await page.waitForSelector('[data-testid="changes"][data-ready="1"]');
    const changes = await rows('[data-testid="change-row"]', [["config", "data-config"], ["image_changed", "data-image-changed"], ["recipe_changed", "data-recipe-changed"],
      ["a_images", "data-a-images"], ["b_images", "data-b-images"], ["a_recipes", "data-a-recipes"], ["b_recipes", "data-b-recipes"]]);
    record("compare", s, { ...scope(s), a: s.state.a, b: s.state.b, at: s.state.at, tier: s.state.tier, rows: r, changes });
  };
  await read("open", {}, () => page.click('[data-testid="nav-compare"]'));
  const runs = await page.$$eval('[data-testid="b"] option', (els) => els.map((e) => e.value));
  const cur = results.views.compare;
  const other = runs.find((r) => r !== cur.a && r !== cur.b);
  if (other) await read(`b = ${other}`, { b: other }, () => page.selectOption('[data-testid="b"]', other));
  await read("at = 100", { at: "100" }, () => page.selectOption('[data-testid="at"]', "100"));
  await read("a = nightly-3, b = nightly-1", { a: "nightly-3", b: "nightly-1" }, async () => {
    await page.selectOption('[data-testid="a"]', "nightly-3");
    await page.waitForFunction(() => location.hash.includes("a=nightly-3"));
    await page.selectOption('[data-testid="b"]', "nightly-1");
  });
  await read("a = nightly-2, b = nightly-1", { a: "nightly-2", b: "nightly-1" }, () => page.selectOption('[data-testid="a"]', "nightly-2"));
  await shot("compare");
});

// ---- tco ------------------------------------------------------------------------------------

await guarded("tco", async () => {
  const read = async (label, expect, action) => {
    const s = expectHash(action ? await act(label, action, expect) : await snapshot(label), expect);
    const bars = await rows('[data-testid="tco-row"]', [["key", "data-key"], ["hw", "data-hw"], ["value", "data-value"], ["tput", "data-tput"], ["price", "data-price"], ["kw", "data-kw"], ["cost", "data-cost"], ["tpmw", "data-tpmw"], ["energy", "data-energy"], ["measured", "data-measured"]], ["value", "tput", "price", "kw", "cost", "tpmw", "energy", "measured"]);
    const cmp = await page.$eval('[data-testid="tco-compare"]', (e) => ({ a: e.dataset.a, b: e.dataset.b, ratio: e.dataset.ratio }));
    record("tco", s, { ...scope(s), at: s.state.at, tier: s.state.tier, source: s.state.source, price: s.state.price, group: s.state.group, metric: s.state.metric, tok: s.state.tok, bars,
      a: cmp.a || null, b: cmp.b || null, ratio: cmp.ratio === "" ? null : Number(cmp.ratio) });
  };
  await read("open (at 50)", { at: "50" }, () => page.click('[data-testid="nav-tco"]'));
  await read("tier = rental", { tier: "rental" }, () => page.selectOption('[data-testid="tier"]', "rental"));
  const hw = (await page.$$eval('[data-testid="tco-row"]', (els) => els.map((e) => e.getAttribute("data-hw"))))[0];
  if (hw) {
    await read(`price of ${hw} = 2.1`, { [`price.${hw}`]: "2.1" }, () => typeInto(`[data-testid="price-${hw}"]`, "2.1"));
    await read(`all-in kW of ${hw} = 1.9`, { [`kw.${hw}`]: "1.9" }, () => typeInto(`[data-testid="kw-${hw}"]`, "1.9"));
  }
  await read("at = 100", { at: "100" }, () => page.selectOption('[data-testid="at"]', "100"));
  await read("custom price 3 $/GPU-hour, at = 50", { tier: "custom", price: "3", at: "50" }, async () => {
    await typeInto('[data-testid="price"]', 3);
    await page.waitForFunction(() => location.hash.includes("price=3&"));
    await page.selectOption('[data-testid="at"]', "50");
  });
  // The calculator's other metrics and token types, bars per config, two bars side by side.
  await read("metric = tok/s/MW, output tokens", { m: "tpmw", tok: "output" }, async () => {
    await page.selectOption('[data-testid="m"]', "tpmw");
    await page.waitForFunction(() => location.hash.includes("m=tpmw"));
    await page.selectOption('[data-testid="tok"]', "output");
  });
  await read("metric = measured J, input tokens", { m: "measured", tok: "input" }, async () => {
    await page.selectOption('[data-testid="m"]', "measured");
    await page.waitForFunction(() => location.hash.includes("m=measured"));
    await page.selectOption('[data-testid="tok"]', "input");
  });
  await read("metric = $/M, input tokens, bars per config", { m: "cost", tok: "input", group: "config" }, async () => {
    await page.selectOption('[data-testid="m"]', "cost");
    await page.waitForFunction(() => location.hash.includes("m=cost"));
    await page.selectOption('[data-testid="group"]', "config");
  });
  // Click the first bar, then the second: A is the second, B the first.
  const barAt = async (i) => page.evaluate((i) => {
    const c = document.querySelector('[data-testid="chart-tco"]');
    const ch = window.Chart.getChart(c);
    const r = c.getBoundingClientRect(), el = ch.getDatasetMeta(0).data[i];
    return el ? { x: r.left + el.x, y: r.top + (el.y + el.base) / 2 } : null;
  }, i);
  const b0 = await barAt(0), b1 = await barAt(1);
  if (b0 && b1) {
    await act("click bar 1", () => page.mouse.click(b0.x, b0.y));
    await read("click bar 2: A/B", {}, () => page.mouse.click(b1.x, b1.y));
  }
  await shot("tco");
});

// ---- history --------------------------------------------------------------------------------

await guarded("history", async () => {
  const read = async (label, expect, action) => {
    const s = expectHash(action ? await act(label, action, expect) : await snapshot(label), expect);
    const r = await rows('[data-testid="history-row"]', [["series", "data-series"], ["source", "data-source"], ["run", "data-run"], ["date", "data-date"], ["value", "data-value"], ["regression", "data-regression"]], ["value"]);
    r.forEach((x) => { x.regression = x.regression === "1"; });
    const moves = (testid) => rows(`[data-testid="${testid}"]`, [["series", "data-series"], ["source", "data-source"], ["before_run", "data-before-run"], ["after_run", "data-after-run"], ["before", "data-before"], ["after", "data-after"], ["change", "data-change"], ["noise", "data-noise"], ["why", "data-why"]], ["before", "after", "change", "noise"]);
    const regressions = await moves("regression-row");
    const movements = await moves("movement-row");
    record("history", s, { ...scope(s), group: s.state.group, y: s.state.y, tier: s.state.tier, from: s.state.from, to: s.state.to, ys: s.state.ys, at: s.state.at, threshold: s.state.threshold, source: s.state.source, rows: r, regressions, movements });
  };
  await read("open (at 50)", { at: "50", threshold: "0.05" }, () => page.click('[data-testid="nav-history"]'));
  await read("at = 30", { at: "30" }, () => page.selectOption('[data-testid="at"]', "30"));
  await read("threshold = 0.02", { threshold: "0.02" }, () => page.selectOption('[data-testid="threshold"]', "0.02"));
  await read("at = 60", { at: "60", threshold: "0.02" }, () => page.selectOption('[data-testid="at"]', "60"));
  await read("frontiers per config", { group: "config" }, () => page.selectOption('[data-testid="group"]', "config"));
  await read("metric = $/M output tokens", { y: "cost_out" }, () => page.selectOption('[data-testid="y"]', "cost_out"));
  await read("tier = neocloud", { tier: "neocloud" }, () => page.selectOption('[data-testid="tier"]', "neocloud"));
  await read("from 2026-11-27", { from: "2026-11-27" }, () => typeInto('[data-testid="from"]', "2026-11-27"));
  await read("log scale", { ys: "log" }, () => page.selectOption('[data-testid="ys"]', "log"));
  await shot("history");
});

// ---- reliability ----------------------------------------------------------------------------

await guarded("reliability", async () => {
  const read = async (label, expect, action) => {
    const s = expectHash(action ? await act(label, action, expect) : await snapshot(label), expect);
    const hardware = await rows('[data-testid="reliability-hw-row"]', [["hw", "data-hw"], ["completed", "data-completed"], ["failed", "data-failed"], ["value", "data-value"]], ["completed", "failed", "value"]);
    const configs = await rows('[data-testid="reliability-row"]', [["hw", "data-hw"], ["config", "data-config"], ["source", "data-source"], ["completed", "data-completed"], ["failed", "data-failed"], ["value", "data-value"]], ["completed", "failed", "value"]);
    record("reliability", s, { ...scope(s), source: s.state.source, run: s.state.run, hardware, configs });
  };
  await read("open", { run: "all" }, () => page.click('[data-testid="nav-reliability"]'));
  // Jobs per accelerator: every run, then from the third night (a date range needs the live
  // server: a static export says so).
  const jobs = async () => {
    await page.waitForSelector('[data-testid="jobs"][data-ready="1"]');
    return {
      hardware: await rows('[data-testid="jobs-hw-row"]', [["hw", "data-hw"], ["succeeded", "data-succeeded"], ["total", "data-total"], ["value", "data-value"], ["runs", "data-runs"]], ["succeeded", "total", "value", "runs"]),
      runs: await rows('[data-testid="jobs-run-row"]', [["run", "data-run"], ["hw", "data-hw"], ["succeeded", "data-succeeded"], ["total", "data-total"]], ["succeeded", "total"]),
      failed: await rows('[data-testid="failed-job-row"]', [["run", "data-run"], ["config", "data-config"], ["conc", "data-conc"], ["attempts", "data-attempts"]], ["conc", "attempts"]),
      reasons: await page.$$eval('[data-testid="failed-job-row"] td.reason', (els) => els.map((e) => e.textContent)),
      // Read at once: the section is complete when ready (a locator would wait for an error).
      error: await page.$('[data-testid="jobs-error"]').then((e) => (e ? e.textContent() : null)),
      // The chart as drawn: each accelerator's success rate, %.
      chart: await page.evaluate(() => {
        const c = document.querySelector('[data-testid="chart-jobs"]');
        const ch = c ? window.Chart.getChart(c) : null;
        return ch ? { labels: ch.data.labels, values: ch.data.datasets[0].data } : null;
      }),
    };
  };
  results.jobs = { all: await jobs() };
  await act("jobs from 2026-11-28", () => typeInto('[data-testid="from"]', "2026-11-28"), { from: "2026-11-28" });
  results.jobs.from_28 = { hash: await page.evaluate(() => location.hash), ...(await jobs()) };
  await shot("reliability-jobs");
  await act("jobs: every run", () => typeInto('[data-testid="from"]', ""));
  await read("runs = latest", { run: "latest" }, () => page.selectOption('[data-testid="run"]', "latest"));
  await shot("reliability");
  const models = await page.$$eval('[data-testid="model"] option', (els) => els.map((e) => e.value));
  const cur = hashParams(await page.evaluate(() => location.hash)).model;
  const other = models.find((m) => m !== cur);
  if (other) await read(`model = ${other}`, { model: other }, () => page.selectOption('[data-testid="model"]', other));
});

// ---- evaluation -----------------------------------------------------------------------------

await guarded("evals", async () => {
  const read = async (label, expect, action) => {
    const s = expectHash(action ? await act(label, action, expect) : await snapshot(label), expect);
    const bars = await rows('[data-testid="evals-row"]', [["task", "data-task"], ["config", "data-config"], ["run", "data-run"], ["conc", "data-conc"], ["score", "data-score"], ["stderr", "data-stderr"], ["passed", "data-passed"]], ["conc", "score", "stderr"]);
    // The error bars as the chart holds them: each bar's value and its ± from the plugin's data.
    const charts = await page.$$eval('[data-testid^="chart-evals-"]', (els) => els.map((c) => {
      const ch = window.Chart.getChart(c);
      return { labels: ch.data.labels, values: ch.data.datasets[0].data, plugins: ch.config.plugins.map((p) => p.id) };
    }));
    record("evals", s, { ...scope(s), run: s.state.run, rows: bars, charts });
  };
  await act("open", () => page.click('[data-testid="nav-evals"]'));
  // The view with the seeded evals (the reliability scenario ended on another model).
  await read("gpt-oss-120b, latest runs", { model: "gpt-oss-120b", run: "latest" }, () => page.selectOption('[data-testid="model"]', "gpt-oss-120b"));
  await shot("evals");
  await read("runs = all", { run: "all" }, () => page.selectOption('[data-testid="run"]', "all"));
});

// ---- GPU specs -------------------------------------------------------------------------------

await guarded("gpus", async () => {
  const read = async (label, expect, action) => {
    const s = expectHash(action ? await act(label, action, expect) : await snapshot(label), expect);
    const cells = await rows('[data-testid="gpu-cell"]', [["gpu", "data-gpu"], ["key", "data-key"], ["value", "data-value"], ["source", "data-source"]]);
    record("gpus", s, { vendor: s.state.vendor, accelerators: s.state.accelerators, cells });
  };
  await read("open", {}, () => page.click('[data-testid="nav-gpus"]'));
  await shot("gpus");
  const vendors = await page.$$eval('[data-testid="vendor"] input', (els) => els.map((e) => e.value));
  if (vendors.length >= 2) await read(`untick ${vendors[0]}`, { vendor: vendors.slice(1).join(",") }, () => page.click(`[data-testid="vendor-${vendors[0]}"]`));
});

// ---- as of a past day ------------------------------------------------------------------------

await guarded("as_of", async () => {
  await act("inference", () => page.click('[data-testid="nav-inference"]'));
  await act("gpt-oss-120b", () => page.selectOption('[data-testid="model"]', "gpt-oss-120b"), { model: "gpt-oss-120b" });
  const supported = !(await page.locator('[data-testid="asof"]').isDisabled());
  results.as_of = { supported };
  if (!supported) {
    // A static export says it cannot, rather than showing today's data as the past's.
    const url = await page.evaluate(() => location.href);
    await page.goto(url.replace("#/inference?", "#/inference?asof=2026-11-27&"));
    await page.waitForSelector('[data-testid="error"]');
    results.as_of.error = await page.textContent('[data-testid="error"]');
    return;
  }
  const s = await act("as of 2026-11-27", () => typeInto('[data-testid="asof"]', "2026-11-27"), { asof: "2026-11-27" });
  const { fields } = await inference("as of 2026-11-27");
  const banner = await page.getAttribute('[data-testid="asof-banner"]', "data-date");
  results.as_of.inference = { ...s, ...fields, banner };
  const hist = await act("history as of 2026-11-27", () => page.click('[data-testid="nav-history"]'), { asof: "2026-11-27" });
  results.as_of.history = { hash: hist.hash, rows: await rows('[data-testid="history-row"]', [["series", "data-series"], ["run", "data-run"], ["value", "data-value"]], ["value"]),
    regressions: await page.locator('[data-testid="regression-row"]').count() };
  await shot("history-asof");
  await act("reliability as of 2026-11-27", () => page.click('[data-testid="nav-reliability"]'), { asof: "2026-11-27" });
  await page.waitForSelector('[data-testid="jobs"][data-ready="1"]');
  results.as_of.jobs = await rows('[data-testid="jobs-hw-row"]', [["hw", "data-hw"], ["succeeded", "data-succeeded"], ["total", "data-total"]], ["succeeded", "total"]);
  const cleared = await act("latest again", () => typeInto('[data-testid="asof"]', ""));
  results.as_of.cleared = cleared.hash;
});

// ---- a large view's first draw ----------------------------------------------------------------

const perf = opt("--perf");
if (perf) {
  await guarded("perf", async () => {
    const [model, wl] = perf.split(":");
    const p2 = await context.newPage();
    await p2.goto(new URL(`#/inference?model=${encodeURIComponent(model)}&wl=${wl}&run=all&source=both`, base).href);
    await p2.waitForFunction(() => document.body.dataset.seq !== undefined && performance.getEntriesByName("sb:chart-drawn").length > 0, null, { timeout });
    results.perf = await p2.evaluate(() => ({
      hash: location.hash,
      points_drawn: Number(document.querySelector('[data-testid="inference-count"]')?.getAttribute("data-value")),
      chart_drawn_ms: performance.getEntriesByName("sb:chart-drawn")[0].startTime,
      render_ms: Number(document.body.dataset.renderMs),
    }));
    // A change re-renders from the cached view: time each from its hash change to the chart
    // built (body[data-render-ms]).
    const timed = async (change) => {
      const seq = await p2.evaluate(() => Number(document.body.dataset.seq));
      await change();
      await p2.waitForFunction((s) => Number(document.body.dataset.seq) > s, seq);
      return p2.evaluate(() => Number(document.body.dataset.renderMs));
    };
    results.perf.rerender_y_cost_ms = await timed(() => p2.selectOption('[data-testid="y"]', "cost"));
    const hw = await p2.$$eval('[data-testid="hw"] input', (els) => els.map((e) => e.value));
    results.perf.filter_ms = [];
    for (const x of hw.slice(0, 3)) {
      results.perf.filter_ms.push(await timed(() => p2.click(`[data-testid="hw-${x}"]`)));
      results.perf.filter_ms.push(await timed(() => p2.click(`[data-testid="hw-${x}"]`)));
    }
    // Frontier points only, and back.
    results.perf.filter_ms.push(await timed(() => p2.click('[data-testid="frontier"]')));
    results.perf.filter_ms.push(await timed(() => p2.click('[data-testid="frontier"]')));
    await p2.screenshot({ path: join(out, "perf.png"), fullPage: false });
    await p2.close();
  });
}

await browser.close();
writeFileSync(join(out, "results.json"), JSON.stringify(results, null, 2) + "\n");
console.log(`e2e: ${Object.keys(results.views).length} views, ${results.console_errors.length} console errors, ${results.problems.length} problems; ${join(out, "results.json")}`);
