//! The dashboard in a real headless Chromium: `servebench dashboard` over a seeded store (the
//! published InferenceMAX files and three nights of our own runs), driven through its UI by
//! `dashboard/e2e/run.mjs` (playwright-core), and every number it read from the pages checked
//! here against the analysis library. Screenshots land in target/e2e-artifacts/.
//!
//! Needs Chromium and the front end's npm packages (`scripts/web-up.sh`, which the test command
//! runs); `SERVEBENCH_TEST_CHROMIUM` names the browser. In CI a missing browser fails the test.

mod common;
#[path = "../../servebench-dashboard/tests/published/mod.rs"]
mod published;

use serde_json::{json, Value};
use servebench_analysis::economics::{
    dollars_per_million_tokens, joules_per_token, tokens_per_s_per_mw,
};
use servebench_analysis::grouping::Grouping;
use servebench_report::curves::AsOf;
use servebench_store::{
    import, Config, Eval, EvalOutcome, FailedJob, JobStat, Metrics, Point, Pool, Role, Run, Source,
    Store, Topology,
};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_servebench");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn published_dir() -> PathBuf {
    repo().join("data/inferencemax-v1-dashboard-2025-10-25")
}

/// Every published InferenceMAX v1 point, and three nights of gpt-oss-120b 1k/1k on H200 and
/// B200 (vLLM), H200 dropping 20% on the last.
fn seed(store: &str, log: &str) {
    let mut s = Store::open(store).unwrap();
    let (r, p) = import::inferencemax_v1(&published_dir()).unwrap();
    s.ingest(&r, &p).unwrap();
    for (night, h200) in [(1, 1.0), (2, 1.02), (3, 0.8)] {
        let run = Run {
            key: format!("nightly-{night}"),
            started_at: format!("2026112{}-020000", 5 + night),
            who: "ci".into(),
            recipes_commit: Some(format!("c0ffee{night}")),
            executor: "slurm".into(),
            source: Source::Own,
        };
        let mut points = Vec::new();
        for (hw, scale, tp) in [("h200", h200, 8u32), ("b200", 2.0, 8), ("b200", 1.5, 4)] {
            for (i, conc) in [4u32, 8, 16, 32, 64].into_iter().enumerate() {
                let tpot = [8.0, 9.5, 12.0, 16.0, 25.0][i];
                let tput = [700.0, 1250.0, 2100.0, 3300.0, 4600.0][i] * scale;
                points.push(Point {
                    config: Config {
                        hardware: hw.into(),
                        engine: "vllm".into(),
                        model: "gpt-oss-120b".into(),
                        precision: "fp4".into(),
                        spec_decoding: "none".into(),
                        // H200 is a disaggregated deployment: a TP4 prefill worker and a TP4
                        // decode worker.
                        disagg: hw == "h200",
                        topology: if hw == "h200" { "p1x4-d1x4".into() } else { format!("tp{tp}") },
                    },
                    isl: 1024,
                    osl: 1024,
                    conc,
                    num_gpus: tp,
                    deployment: (hw == "h200").then(h200_pools),
                    metrics: Metrics {
                        tput_per_gpu: Some(tput),
                        input_tput_per_gpu: Some(tput * 0.5),
                        output_tput_per_gpu: Some(tput * 0.5),
                        median_intvty: Some(1000.0 / tpot),
                        median_ttft_ms: Some(40.0 + conc as f64),
                        median_tpot_ms: Some(tpot),
                        median_e2el_ms: Some(40.0 + conc as f64 + 1023.0 * tpot),
                        p99_ttft_ms: Some(90.0 + conc as f64),
                        p99_tpot_ms: Some(tpot * 1.3),
                        p99_e2el_ms: Some(1.3 * 1023.0 * tpot),
                        completed: Some(conc as u64 * 10 - (hw == "h200") as u64 * (i as u64)),
                        failed: Some((hw == "h200") as u64 * i as u64),
                        measured_j_per_token: Some(0.2 + 0.01 * i as f64),
                    },
                    // B200 TP4 stands for simulated points (borrowed knobs, the held-out error).
                    // A new image every night; H200's recipe changes on the third.
                    // B200 TP8's third night carried over from the second (a sweep's --reuse;
                    // each night's image kept for the compare checks).
                    provenance: json!({"image": format!("vllm/vllm-openai:v0.1{night}.0"), "host": "node-1",
                                       "reused_from": if hw == "b200" && tp == 8 && night == 3 { json!({"run": "nightly-2", "point": 1}) } else { Value::Null },
                                       "recipe_fingerprint": if hw == "h200" && night == 3 { "f1e2d3c4b5a6978800112233" } else if hw == "h200" { "aa00bb11cc22dd33ee44ff55" } else { "b200b200b200b200b200b200" },
                                       "server_log_tail": log,
                                       "simulator": if tp == 4 { json!({"expected_error": {
                                           "basis": "leave one accelerator out", "within_35": 0.91,
                                           "median_tput_error": 0.11, "median_interactivity_error": 0.11,
                                           "left_out": ["spec-decoding mtp: simulated without speculation"],
                                           // From concurrency 32, of a kind no published point calibrates.
                                           "uncalibrated": if conc >= 32 { json!("disaggregated: no published point of this engine, accelerator and precision") } else { Value::Null }}}) }
                                           else { Value::Null }}),
                    // As a sweep stores it: the bench result, vLLM-style flat statistics and
                    // measured power, under "result".
                    result: json!({"result": {"mean_ttft_ms": 50.0, "median_ttft_ms": 48.0,
                        "p99_ttft_ms": 90.0 + conc as f64, "p99.9_ttft_ms": 95.0 + conc as f64,
                        "power": {"source": "nvml", "valid": true, "invalid_reasons": [],
                            "window_s": 60.0, "sample_hz": 10.0, "max_gap_s": 0.1,
                            "expected_gpus": (0..tp).collect::<Vec<u32>>(),
                            "avg_power_per_gpu_w": 600.0 + 10.0 * i as f64,
                            "avg_total_power_w": (600.0 + 10.0 * i as f64) * tp as f64,
                            "total_energy_j": (600.0 + 10.0 * i as f64) * tp as f64 * 60.0,
                            "counter_energy_j": null, "joules_per_request": null,
                            "joules_per_input_token": null,
                            "joules_per_output_token": 0.2 + 0.01 * i as f64,
                            "joules_per_total_token": null, "tokens_per_s_per_kw": null,
                            "output_tokens_per_s_per_kw": null},
                        // Each latency at every percent, and the server's KV gauge each second.
                        "distributions": seeded_distributions(conc, tpot),
                        "agentic": {"server_metrics": {"timeline": (0..5).map(|k| json!({
                            "t_s": k as f64, "gpu_kv_usage": 0.1 * k as f64 + 0.05 * i as f64, "cpu_kv_usage": null}))
                            .collect::<Vec<_>>()}}}}),
                });
            }
        }
        s.ingest(&run, &points).unwrap();
        // GSM8K at h200 tp8's two highest concurrencies (night 3 falls below 0.90), and at a
        // concurrency with no throughput point (an eval-only row).
        let evals: Vec<Eval> = [
            (32u32, 0.93),
            (64, if night == 3 { 0.85 } else { 0.92 }),
            (128, 0.91),
        ]
        .into_iter()
        .map(|(conc, score)| Eval {
            config: points[0].config.clone(),
            isl: 1024,
            osl: 1024,
            conc,
            outcome: EvalOutcome {
                task: "gsm8k".into(),
                score,
                stderr: (score * (1.0 - score) / 1318.0f64).sqrt(),
                n: 1319,
                n_failed: 0,
                threshold: Some(0.9),
                passed: Some(score >= 0.9),
            },
            data_sha256: "d".repeat(64),
            result: json!({"task": "gsm8k", "score": score}),
        })
        .collect();
        s.ingest_evals(&run, &evals).unwrap();
        // The night's jobs: H200 loses one more each night after the first, B200 one on the
        // third; each failed job kept with why (one reason quoting a credential, which no page
        // may show).
        let (h200_ok, b200_ok) = [(15, 10), (14, 10), (12, 9)][night - 1];
        let failed: Vec<FailedJob> = (0..(15 - h200_ok))
            .map(|k| FailedJob {
                config: points[0].config.clone(),
                isl: 1024,
                osl: 1024,
                conc: 128 + k as u32,
                attempts: 3,
                reason: format!("server exited (code 1): CUDA out of memory, Authorization: Bearer sk-night{night}"),
            })
            .chain((b200_ok < 10).then(|| FailedJob {
                config: points[5].config.clone(),
                isl: 1024,
                osl: 1024,
                conc: 256,
                attempts: 2,
                reason: "timed out waiting for the server".into(),
            }))
            .collect();
        let stats = [("h200", h200_ok, 15), ("b200", b200_ok, 10)].map(|(hw, ok, total)| JobStat {
            hardware: hw.into(),
            succeeded: ok,
            total,
        });
        s.ingest_jobs(&run, &stats, &failed).unwrap();
    }
}

/// A seeded point's latency percentiles 0..=100, ms: TTFT 40 + conc + i/5, TPOT from 0.9 to
/// 1.1 × its median, ITL from half to 1.5 × it, E2EL from 0.95 to 1.05 × the median.
fn seeded_distributions(conc: u32, tpot: f64) -> Value {
    let at = |f: &dyn Fn(f64) -> f64| (0..=100).map(|i| f(i as f64)).collect::<Vec<f64>>();
    let e2el = 40.0 + conc as f64 + 1023.0 * tpot;
    json!({
        "ttft_ms": at(&|i| 40.0 + conc as f64 + i / 5.0),
        "tpot_ms": at(&|i| tpot * (0.9 + i * 0.002)),
        "itl_ms": at(&|i| tpot * (0.5 + i * 0.01)),
        "e2el_ms": at(&|i| e2el * (0.95 + i * 0.001)),
    })
}

/// Two of InferenceX's AgentX rows as `servebench ingest` stores them: its Qwen3.5 TP8 row as
/// published (GPU KV usage 71.2 %), and the same deployment offloading to CPU memory, faster per
/// user and slower per GPU, so both are on the frontier.
fn seed_agentx(store: &str, dir: &Path) {
    let fixture = repo().join("crates/servebench-store/tests/fixtures/inferencex/qwen3.5_tp8_conc32_kvnone_fp8_sglang_tp8-pp1-dcp1-pcp1-ep1-dpafalse_disagg-false_spec-none_conc32_b300-nv_0.json");
    let row: Value = serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
    let mut dram = row.clone();
    dram["kv_offloading"] = "dram".into();
    dram["kv_offload_backend"] = json!({"name": "hicache"});
    dram["request_metrics"]["latency"]["e2e_norm_intvty"]["p90"] = 18.5.into();
    dram["request_metrics"]["throughput"]["per_gpu"]["total_tput_tps"] = 4000.0.into();
    dram["server_metrics"]["cache"]["overall_cache_hit_rate"] = 0.93.into();
    dram["server_metrics"]["kv_cache"]["gpu_usage_pct"] = 64.0.into();
    let file = dir.join("agg_bmk.json");
    std::fs::write(&file, serde_json::to_vec(&json!([row, dram])).unwrap()).unwrap();
    let o = Command::new(BIN)
        .args([
            "ingest",
            "--store",
            store,
            "--run",
            "inferencex-agentx",
            "--started-at",
            "2026-08-21",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The agentic step's frontier rows carry each point's cache figures as stored, and the
/// AgentX rows' own GPU KV usage.
fn check_agentic(view: &View, st: &Value) {
    let rows = st["frontier"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "both AgentX configs on the frontier: {st}");
    let mut kv: Vec<f64> = Vec::new();
    for r in rows {
        let id: i64 = r["point"].as_str().unwrap().parse().unwrap();
        let a = &view.point(&json!(id))["agentic"];
        for (cell, field) in [
            ("theory_hit", "theoretical_hit_rate"),
            ("server_hit", "server_hit_rate"),
            ("gpu_kv", "gpu_kv_usage_pct"),
        ] {
            assert_eq!(num(&r[cell]), num(&a[field]), "{cell} of {r}");
        }
        // The x the page drew is the row's own P90 E2E-normalised interactivity.
        assert!(close(
            num(&r["x"]).unwrap(),
            num(&a["e2e_norm_intvty_p90"]).unwrap()
        ));
        kv.push(num(&r["gpu_kv"]).unwrap());
    }
    kv.sort_by(f64::total_cmp);
    assert_eq!(kv, [64.0, 71.2]);
    assert_eq!(num(&rows[0]["theory_hit"]), Some(0.91223), "{}", rows[0]);
}

/// H200's deployment: one TP4 prefill worker and one TP4 decode worker behind Dynamo's router.
fn h200_pools() -> Topology {
    let pool = |role| Pool {
        role,
        workers: 1,
        tp: 4,
        pp: 1,
        dcp: 1,
        pcp: 1,
        ep: 1,
        dp_attn: false,
        gpus: 4,
    };
    Topology {
        pools: vec![pool(Role::Prefill), pool(Role::Decode)],
        router: Some("dynamo-router 0.5.1".into()),
        kv_transfer: Some("nixl".into()),
        draft_tokens: None,
        recipe_file: None,
    }
}

/// The browser scripts/web-up.sh set up; `None` (with a note) where services are not required
/// ([`common::require_service`]).
fn chromium() -> Option<String> {
    common::require_service("Chromium", "SERVEBENCH_TEST_CHROMIUM")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// A view's points as the API serves them, with their configs, and its figures per grouping.
struct View {
    configs: Vec<Value>,
    points: Vec<Value>,
    evals: Vec<Value>,
    figures: BTreeMap<String, Value>,
}

impl View {
    fn config(&self, p: &Value) -> &Value {
        &self.configs[p["config"].as_u64().unwrap() as usize]
    }
    fn point(&self, id: &Value) -> &Value {
        self.points.iter().find(|p| &p["id"] == id).unwrap()
    }
    /// The points a state shows (reliability): its source(s) and runs (`latest`: each
    /// config's latest run).
    fn selected(&self, st: &Value) -> Vec<&Value> {
        let source = st["source"].as_str().unwrap_or("own");
        let run = st["run"].as_str().unwrap_or("latest");
        let pts: Vec<&Value> = self
            .points
            .iter()
            .filter(|p| source == "both" || p["source"] == source)
            .collect();
        match run {
            "all" => pts,
            "latest" => {
                let key = |p: &Value| (p["source"].to_string(), p["config"].as_u64().unwrap());
                let mut latest: BTreeMap<(String, u64), (String, String)> = BTreeMap::new();
                for p in &pts {
                    let r = (
                        p["run_started_at"].as_str().unwrap().to_string(),
                        p["run"].as_str().unwrap().to_string(),
                    );
                    let e = latest.entry(key(p)).or_insert(r.clone());
                    if r > *e {
                        *e = r;
                    }
                }
                pts.into_iter()
                    .filter(|p| latest[&key(p)].1 == p["run"].as_str().unwrap())
                    .collect()
            }
            key => pts.into_iter().filter(|p| p["run"] == key).collect(),
        }
    }
    /// The series of a state's grouping it shows: its runs, source(s), and the series that
    /// have a ticked accelerator, engine and precision.
    fn series(&self, st: &Value, group: &str) -> Vec<&Value> {
        let list = |k: &str| -> Option<Vec<Value>> { st[k].as_array().cloned() };
        let meets = |s: &Value, k: &str, of: &str| {
            list(k).is_none_or(|l| {
                s[of]
                    .as_array()
                    .map_or(l.contains(&s[of]), |v| v.iter().any(|x| l.contains(x)))
            })
        };
        let source = st["source"].as_str().unwrap_or("own");
        let run = st["run"].as_str().unwrap_or("latest");
        self.figures[group]["series"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| match run {
                "latest" => s["run"].is_null(),
                "all" => !s["run"].is_null(),
                key => s["run"] == key,
            })
            .filter(|s| source == "both" || s["source"] == source)
            .filter(|s| {
                // The legend's toggles hide a series (`source/key`).
                let id = format!(
                    "{}/{}",
                    s["source"].as_str().unwrap(),
                    s["key"].as_str().unwrap()
                );
                !st["hidden"]
                    .as_array()
                    .is_some_and(|h| h.iter().any(|v| v == &id))
            })
            .filter(|s| {
                meets(s, "hw", "hardware")
                    && meets(s, "engine", "engines")
                    && meets(s, "prec", "precisions")
            })
            .collect()
    }
    /// The index of a target interactivity in the figures' grid.
    fn target(&self, group: &str, at: f64) -> usize {
        self.figures[group]["targets"]
            .as_array()
            .unwrap()
            .iter()
            .position(|t| num(t) == Some(at))
            .unwrap_or_else(|| panic!("{at} is not a target of the grid"))
    }
}

/// A series' value of `metric` at target `k`.
fn at(s: &Value, metric: &str, k: usize) -> Option<f64> {
    num(&s["at"][metric][k])
}

/// $/GPU-hour and all-in kW of an accelerator in a state (its tier, or the typed price).
fn economics(index: &Value, st: &Value, hw: &str) -> (f64, f64) {
    let h = &index["hardware"][hw];
    let tier = st["tier"].as_str().unwrap_or("hyperscaler");
    let price = match (tier, num(&st["price"])) {
        ("custom", Some(p)) => p,
        (t, _) => num(&h["dollars_per_gpu_hour"][t]).unwrap(),
    };
    (price, num(&h["all_in_kw_per_gpu"]).unwrap())
}

/// A point on a state's axes, from its metrics and the analysis library's economics (NaN
/// where it lacks the metric, or where a log axis cannot show it).
fn xy_of(p: &Value, index: &Value, st: &Value, hw: &str) -> (f64, f64) {
    let (x, y) = (st["x"].as_str().unwrap(), st["y"].as_str().unwrap());
    let (price, kw) = economics(index, st, hw);
    let pos = |v: Option<f64>| v.filter(|t| *t > 0.0);
    let total = pos(num(&p["tput_per_gpu"]));
    let input = pos(num(&p["input_tput_per_gpu"]));
    let output = pos(num(&p["output_tput_per_gpu"]));
    let xv = match x {
        "e2enorm" => num(&p["agentic"]["e2e_norm_intvty_p90"]),
        "e2el" => num(&p["median_e2el_ms"]),
        "ttft" => num(&p["median_ttft_ms"]),
        "p99ttft" => num(&p["p99_ttft_ms"]),
        _ => num(&p["median_intvty"]),
    };
    let t = match y.rsplit_once('_').map(|(_, k)| k) {
        Some("in") => input,
        Some("out") => output,
        _ => total,
    };
    // Measured W/GPU = J per output token × output tok/s/GPU.
    let watts = num(&p["measured_j_per_token"])
        .zip(output)
        .map(|(j, o)| j * o);
    let yv = match y {
        "tput" => total,
        "input" => input,
        "output" => output,
        "measured" => num(&p["measured_j_per_token"]),
        "measured_total" => watts.zip(total).map(|(w, t)| w / t),
        "measured_in" => watts.zip(input).map(|(w, t)| w / t),
        c if c.starts_with("cost") => t.map(|t| dollars_per_million_tokens(price, t)),
        m if m.starts_with("tpmw") => t.map(|t| tokens_per_s_per_mw(t, kw)),
        e if e.starts_with("energy") => t.map(|t| joules_per_token(kw, t)),
        other => panic!("y = {other}"),
    };
    let shown = |v: Option<f64>, scale: &str| v.filter(|v| scale != "log" || *v > 0.0);
    (
        shown(xv, st["xs"].as_str().unwrap_or("lin")).unwrap_or(f64::NAN),
        shown(yv, st["ys"].as_str().unwrap_or("lin")).unwrap_or(f64::NAN),
    )
}

/// The frontier a y metric is drawn with: $/M, tok/s/MW and modelled J/token order one
/// accelerator's points as the throughput of the same tokens does.
fn basis(y: &str) -> &str {
    match y {
        "cost" | "tpmw" | "energy" => "tput",
        "cost_in" | "tpmw_in" | "energy_in" => "input",
        "cost_out" | "tpmw_out" | "energy_out" => "output",
        y => y,
    }
}

/// The page's accuracy table: every eval of the view as stored, beside its point's x and y.
fn check_evals(view: &View, index: &Value, st: &Value) -> usize {
    let rows = st["evals"].as_array().unwrap();
    assert_eq!(rows.len(), view.evals.len(), "{}", st["step"]);
    for (r, e) in rows.iter().zip(&view.evals) {
        for k in ["config_key", "run", "task"] {
            assert_eq!(r[k], e[k], "{k} of {r}");
        }
        assert_eq!(num(&r["conc"]), num(&e["conc"]));
        for k in ["score", "stderr", "threshold"] {
            assert!(
                close(num(&r[k]).unwrap(), num(&e[k]).unwrap()),
                "{k} of {r}"
            );
        }
        assert_eq!(r["passed"].as_str(), Some(e["passed"].to_string().as_str()));
        match e["point_id"].as_i64() {
            None => assert!(
                r["point"].is_null() && r["x"].is_null() && r["y"].is_null(),
                "{r}"
            ),
            Some(id) => {
                let p = view.points.iter().find(|p| p["id"] == id).unwrap();
                let hw = view.config(p)["hardware"].as_str().unwrap();
                let (x, y) = xy_of(p, index, st, hw);
                assert_eq!(r["point"].as_str(), Some(id.to_string().as_str()));
                let same = |v: &Value, w: f64| num(v).map_or(w.is_nan(), |v| close(v, w));
                assert!(same(&r["x"], x) && same(&r["y"], y), "{r}: {x}, {y}");
            }
        }
    }
    rows.len()
}

/// The page's frontier rows are the figures' frontiers (the analysis library's) of the
/// series the state shows, each point at its own x and y.
fn check_inference(view: &View, index: &Value, st: &Value) -> usize {
    let (x, y) = (st["x"].as_str().unwrap(), st["y"].as_str().unwrap());
    // New points only: the figures of the points each run measured itself.
    let group = &match st["new_only"].as_bool() {
        Some(true) => format!("{}.new", st["group"].as_str().unwrap()),
        _ => st["group"].as_str().unwrap().to_string(),
    };
    let mut want: Vec<(String, String, f64, f64)> = Vec::new();
    let declared = view.figures[group]["metrics"]["y"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == y)
        .unwrap_or_else(|| panic!("the figures declare no y metric {y}"));
    assert_eq!(declared["frontier"], basis(y), "{declared}");
    for s in view.series(st, group) {
        for id in s["frontiers"][x][basis(y)].as_array().unwrap() {
            let p = view.point(id);
            let (xv, yv) = xy_of(p, index, st, s["hardware"].as_str().unwrap());
            if xv.is_finite() && yv.is_finite() {
                want.push((s["key"].as_str().unwrap().into(), id.to_string(), xv, yv));
            }
        }
    }
    let got: Vec<(String, String, f64, f64)> = st["frontier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["series"].as_str().unwrap().into(),
                r["point"].as_str().unwrap().into(),
                num(&r["x"]).unwrap(),
                num(&r["y"]).unwrap(),
            )
        })
        .collect();
    // A table of more than 100 frontier rows showed the first 100 and a button for the rest
    // (the rows above are all of them, read after pressing it).
    if want.len() > 100 {
        assert_eq!(
            (
                st["capped"]["shown"].as_u64(),
                st["capped"]["rest"].as_u64()
            ),
            (Some(100), Some(want.len() as u64 - 100)),
            "{}",
            st["step"]
        );
    } else {
        assert!(st["capped"].is_null(), "{}", st["step"]);
    }
    assert_eq!(
        got.iter().map(|r| (&r.0, &r.1)).collect::<Vec<_>>(),
        want.iter().map(|r| (&r.0, &r.1)).collect::<Vec<_>>(),
        "frontier points of {}",
        st["step"]
    );
    for (a, b) in got.iter().zip(&want) {
        assert!(
            close(a.2, b.2) && close(a.3, b.3),
            "{}: page {a:?}, library {b:?}",
            st["step"]
        );
    }
    // Simulated points are marked with the basis of their expected error, measured ones not.
    for r in st["frontier"].as_array().unwrap() {
        let id: i64 = r["point"].as_str().unwrap().parse().unwrap();
        let p = view.point(&json!(id));
        // Each frontier point's label: its parallelism (the config's topology), its
        // concurrency, both, or none.
        let topo = view.config(p)["topology"].as_str().unwrap();
        let conc = p["conc"].as_u64().unwrap();
        let want = match st["labels"].as_str().unwrap_or("par") {
            "par" => topo.to_string(),
            "conc" => format!("c{conc}"),
            "both" => format!("{topo} c{conc}"),
            _ => String::new(),
        };
        assert_eq!(r["label"].as_str().unwrap(), want, "{r}");
        assert_eq!(
            r["simulated"].as_str().unwrap(),
            p["simulated"]["basis"].as_str().unwrap_or(""),
            "{r}"
        );
        // And with what the simulator left out of their recipes.
        let left_out: Vec<&str> = p["simulated"]["left_out"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert_eq!(r["left_out"].as_str().unwrap(), left_out.join("; "), "{r}");
        // And whether a published point calibrates their kind of deployment.
        assert_eq!(
            r["uncalibrated"].as_str().unwrap(),
            p["simulated"]["uncalibrated"].as_str().unwrap_or(""),
            "{r}"
        );
    }
    want.len()
}

/// The inference view's controls did what they say: point labels, log axes, the legend's
/// search and toggles, the zoom, the pinned tooltip, the PNG, the CSV preamble, dark mode with
/// the high-contrast palette, and the narrow layout.
fn check_controls(inf: &[Value], last: &Value) {
    let step = |name: &str| {
        inf.iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no step '{name}'"))
    };
    // Labels (checked point by point in check_inference): both kinds were shown.
    assert_eq!(step("labels = concurrency")["labels"], "conc");
    assert_eq!(
        step("zoom: reset, labels = parallelism, linear")["labels"],
        "par"
    );
    // Log axes: the chart's scales are logarithmic (the frontier rows were checked with
    // non-positive values left out).
    let log = step("log y, y = cost");
    assert_eq!(log["axes"]["x"]["type"], "logarithmic");
    assert_eq!(log["axes"]["y"]["type"], "logarithmic");
    assert_eq!(step("x = intvty, y = tput")["axes"]["x"]["type"], "linear");
    // The legend: the search keeps the matching series listed; "only these" hides the rest
    // (from the chart: the frontier rows were checked against the shown series); show all.
    let only = step("legend: only these");
    let hidden: Vec<&str> = only["hidden"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!hidden.is_empty(), "{only}");
    assert!(hidden.iter().all(|h| !h.contains("b200")), "{hidden:?}");
    for item in only["legend"].as_array().unwrap() {
        assert!(item["id"].as_str().unwrap().contains("b200"), "{item}");
        assert_eq!(item["hidden"], "false");
    }
    assert!(only["frontier"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["series"].as_str().unwrap().contains("b200")));
    assert_eq!(step("legend: show all")["hidden"], json!([]));
    // Zoom: the dragged box is the chart's limits, in the URL.
    let z = step("zoom: drag a box");
    let zoom: Vec<f64> = z["zoom"]
        .as_array()
        .unwrap_or_else(|| panic!("no zoom: {z}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(zoom[0] < zoom[1] && zoom[2] < zoom[3], "{zoom:?}");
    let axes = &z["axes"];
    assert_eq!(
        [
            &axes["x"]["min"],
            &axes["x"]["max"],
            &axes["y"]["min"],
            &axes["y"]["max"]
        ]
        .map(|v| v.as_f64().unwrap()),
        [zoom[0], zoom[1], zoom[2], zoom[3]]
    );
    let params = hash_params(z["hash"].as_str().unwrap());
    assert_eq!(
        params["zoom"]
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect::<Vec<f64>>(),
        zoom
    );
    assert!(step("zoom: reset, labels = parallelism, linear")["zoom"].is_null());
    // The pinned tooltip links to its point, and comes back from the URL alone.
    let pinned = &last["pinned"];
    let href = format!("#/point/{}", pinned["point"].as_str().unwrap());
    assert_eq!(pinned["href"], href.as_str());
    assert_eq!(pinned["reloaded"], href.as_str());
    // Hovering the point (drawn by the page's clouds, not by Chart.js) showed its tooltip.
    let lines: Vec<&str> = pinned["tooltip"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let conc = format!("conc {} · ", pinned["conc"]);
    assert!(
        lines.iter().any(|l| l.starts_with(&conc))
            && lines.last() == Some(&"click: pin this tooltip, with a link to the point"),
        "{lines:?}"
    );
    // The PNG is a PNG of the chart's size.
    let png = &last["png"];
    assert_eq!(png["signature"], "89504e470d0a1a0a");
    assert!(
        png["width"].as_u64().unwrap() > 300 && png["height"].as_u64().unwrap() > 200,
        "{png}"
    );
    // The CSV says what it is, where it was exported from, and the sources' terms.
    let pre: Vec<&str> = last["csv"]["preamble"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        pre.iter()
            .any(|l| l.starts_with("# view: http://127.0.0.1:")),
        "{pre:?}"
    );
    assert!(
        pre.iter()
            .any(|l| l.contains("SemiAnalysis") && l.contains("Apache-2.0")),
        "{pre:?}"
    );
    assert!(pre.iter().any(|l| l.contains("catalog")), "{pre:?}");
    // Dark mode with the high-contrast palette: dark page, palette colours, kept in the links.
    let look = &last["look"];
    assert_eq!(look["theme"], "dark");
    assert_eq!(look["background"], "rgb(21, 25, 30)");
    let contrast = [
        "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#ffffff", "#F0E442",
        "#882255", "#44AA99",
    ];
    let colors = look["series"].as_array().unwrap();
    assert!(!colors.is_empty());
    for c in colors {
        assert!(contrast.contains(&c.as_str().unwrap()), "{c}");
    }
    let nav = hash_params(look["nav"].as_str().unwrap());
    assert_eq!(
        (nav["theme"].as_str(), nav["palette"].as_str()),
        ("dark", "contrast")
    );
    // Narrow: nothing wider than the screen.
    let narrow = &look["narrow"];
    assert!(
        narrow["scroll_width"].as_u64() <= narrow["width"].as_u64(),
        "{narrow}"
    );
}

/// Job reliability as seeded: H200 15, 14, 12 of 15 on the three nights, B200 10, 10, 9 of
/// 10; each failed job listed, its reason without the credential it quoted. From the 28th:
/// the last night. A static export lists every run, and says a range needs the server.
fn check_jobs(jobs: &Value, exported: bool) {
    let hw = |st: &Value, name: &str| -> (u64, u64, f64) {
        let r = st["hardware"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["hw"] == name)
            .unwrap_or_else(|| panic!("no {name}: {st}"));
        (
            r["succeeded"].as_u64().unwrap(),
            r["total"].as_u64().unwrap(),
            r["value"].as_f64().unwrap(),
        )
    };
    let all = &jobs["all"];
    // Drawn: a bar per accelerator at its rate, %.
    assert_eq!(all["chart"]["labels"], json!(["b200", "h200"]), "{all}");
    let bars: Vec<f64> = all["chart"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        close(bars[0], 2900.0 / 30.0) && close(bars[1], 4100.0 / 45.0),
        "{bars:?}"
    );
    assert_eq!(hw(all, "h200"), (41, 45, 41.0 / 45.0), "{all}");
    assert_eq!(hw(all, "b200"), (29, 30, 29.0 / 30.0), "{all}");
    assert_eq!(all["runs"].as_array().unwrap().len(), 6);
    let failed = all["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1 + 3 + 1, "{failed:?}");
    let reasons = all["reasons"].as_array().unwrap();
    assert!(reasons
        .iter()
        .any(|r| r.as_str().unwrap().contains("CUDA out of memory")));
    assert!(
        reasons
            .iter()
            .all(|r| !r.as_str().unwrap().contains("sk-night")),
        "{reasons:?}"
    );
    let from = &jobs["from_28"];
    if exported {
        assert!(
            from["error"]
                .as_str()
                .is_some_and(|e| e.contains("live server")),
            "{from}"
        );
        return;
    }
    assert_eq!(
        hash_params(from["hash"].as_str().unwrap())["from"],
        "2026-11-28"
    );
    assert_eq!(hw(from, "h200"), (12, 15, 12.0 / 15.0), "{from}");
    assert_eq!(hw(from, "b200"), (9, 10, 0.9), "{from}");
    assert_eq!(from["failed"].as_array().unwrap().len(), 3 + 1);
}

/// The evaluation page: GSM8K as seeded (h200 TP8 at conc 32, 64 and 128, three nights;
/// night 3 at conc 64 below the 0.90 threshold), each score a bar with its standard error.
fn check_evals_page(steps: &[Value]) {
    let se = |s: f64| (s * (1.0 - s) / 1318.0f64).sqrt();
    let rows = |st: &Value| -> Vec<(String, u64, f64, f64)> {
        let mut v: Vec<(String, u64, f64, f64)> = st["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r["task"], "gsm8k");
                (
                    r["run"].as_str().unwrap().to_string(),
                    r["conc"].as_u64().unwrap(),
                    r["score"].as_f64().unwrap(),
                    r["stderr"].as_f64().unwrap(),
                )
            })
            .collect();
        v.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        v
    };
    let latest = &steps[0];
    assert_eq!(latest["run"], "latest");
    let want: Vec<(String, u64, f64, f64)> = [(32, 0.93), (64, 0.85), (128, 0.91)]
        .map(|(c, s)| ("nightly-3".to_string(), c, s, se(s)))
        .to_vec();
    let got = rows(latest);
    assert_eq!(got.len(), 3, "{got:?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((&g.0, g.1), (&w.0, w.1));
        assert!(close(g.2, w.2) && close(g.3, w.3), "{g:?} != {w:?}");
    }
    // The chart: one bar per eval, its score, with the error-bar and threshold plugins.
    let chart = &latest["charts"][0];
    let mut values: Vec<f64> = chart["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    values.sort_by(f64::total_cmp);
    assert_eq!(values, [0.85, 0.91, 0.93]);
    let plugins = chart["plugins"].to_string();
    assert!(
        plugins.contains("errors") && plugins.contains("threshold"),
        "{plugins}"
    );
    let all = steps.iter().find(|s| s["run"] == "all").unwrap();
    assert_eq!(rows(all).len(), 9, "three nights × three concurrencies");
}

/// The GPU specs page shows the catalog's figures, each with its source.
fn check_gpus(steps: &[Value]) {
    let catalog = servebench_catalog::Catalog::builtin().unwrap();
    let open = &steps[0];
    let shown: Vec<&str> = open["accelerators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(shown.len(), catalog.accelerators.len());
    let mut checked = 0;
    for c in open["cells"].as_array().unwrap() {
        let a = catalog.accelerator(c["gpu"].as_str().unwrap()).unwrap();
        let want = match c["key"].as_str().unwrap() {
            "hbm_gb" => &a.hbm_gb,
            "hbm_tb_per_s" => &a.hbm_tb_per_s,
            "fp8_tflops" => &a.dense_tflops.fp8,
            "bf16_tflops" => &a.dense_tflops.bf16,
            "tdp_w" => &a.tdp_w,
            "all_in_kw" => &a.all_in_kw_per_gpu,
            "hyperscaler" => &a.dollars_per_gpu_hour.owned_hyperscaler,
            "rental" => &a.dollars_per_gpu_hour.rental_3y,
            _ => continue,
        };
        assert_eq!(
            c["value"].as_str().unwrap().parse::<f64>().unwrap(),
            want.value,
            "{c}"
        );
        assert_eq!(c["source"], want.source.as_str(), "{c}");
        checked += 1;
    }
    assert!(
        checked >= 8 * catalog.accelerators.len(),
        "{checked} figures checked"
    );
    if let Some(one) = steps.get(1) {
        let vendors: Vec<&str> = one["vendor"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for id in one["accelerators"].as_array().unwrap() {
            let a = catalog.accelerator(id.as_str().unwrap()).unwrap();
            assert!(vendors.contains(&a.vendor.as_str()), "{id}");
        }
        assert!(one["accelerators"].as_array().unwrap().len() < shown.len());
    }
}

/// The point page: each metric with its unit and a readable number; the seeded latency
/// percentiles drawn as the TTFT CDF; the ITL histogram (uniform as seeded: every bin 1/30);
/// the seeded KV gauge over the window.
fn check_point_figures(pt: &Value, conc: f64) {
    let want_unit = |k: &str| match k {
        "tput_per_gpu" | "input_tput_per_gpu" | "output_tput_per_gpu" => "tok/s/GPU",
        "median_intvty" => "tok/s/user",
        "completed" | "failed" => "requests",
        "measured_j_per_token" => "J/output token",
        k if k.ends_with("_ms") => "ms",
        k => panic!("metric {k}"),
    };
    let units = pt["units"].as_array().unwrap();
    assert!(units.len() >= 10, "{units:?}");
    for u in units {
        assert_eq!(u["unit"], want_unit(u["k"].as_str().unwrap()), "{u}");
    }
    for text in pt["shown"].as_array().unwrap() {
        let t = text.as_str().unwrap();
        let decimals = t
            .split('.')
            .nth(1)
            .map_or(0, |d| d.chars().take_while(char::is_ascii_digit).count());
        assert!(decimals <= 4, "'{t}' shows too many digits");
    }
    let cdf = &pt["cdf"];
    assert_eq!(
        (cdf["metric"].as_str(), cdf["mode"].as_str()),
        (Some("ttft_ms"), Some("cdf"))
    );
    let points = cdf["data"].as_array().unwrap();
    assert_eq!(points.len(), 101);
    for (i, p) in points.iter().enumerate() {
        assert_eq!(num(&p["y"]), Some(i as f64));
        assert!(
            close(num(&p["x"]).unwrap(), 40.0 + conc + i as f64 / 5.0),
            "{p}"
        );
    }
    let hist = &pt["hist"];
    assert_eq!(
        (hist["metric"].as_str(), hist["mode"].as_str()),
        (Some("itl_ms"), Some("hist"))
    );
    let bars = hist["data"].as_array().unwrap();
    assert_eq!(bars.len(), 30);
    for b in bars {
        assert!((num(b).unwrap() - 100.0 / 30.0).abs() < 1e-9, "{bars:?}");
    }
    let i = [4.0, 8.0, 16.0, 32.0, 64.0]
        .iter()
        .position(|c| *c == conc)
        .unwrap() as f64;
    let timeline = &pt["timeline"];
    assert_eq!(timeline["samples"], 5);
    for (k, p) in timeline["gpu"].as_array().unwrap().iter().enumerate() {
        assert_eq!(num(&p["x"]), Some(k as f64));
        assert!(
            close(num(&p["y"]).unwrap(), (0.1 * k as f64 + 0.05 * i) * 100.0),
            "{p}"
        );
    }
}

/// On a published view, the frontier the page draws for a metric InferenceMAX published roof
/// flags for is exactly its roof: every point of every shown series checked.
fn check_published_roofs(
    view: &View,
    st: &Value,
    scope: (&str, u64, u64),
    published: &[servebench_published::DashboardPoint],
) -> usize {
    let tier = st["tier"].as_str().unwrap();
    let metric = match st["y"].as_str().unwrap() {
        "tput" => "tpPerGpu",
        "tpmw" => "tpPerMw",
        "cost" if tier == "neocloud" => "costn",
        "cost" if tier == "rental" => "costr",
        "cost" => "costh",
        y => panic!("y = {y}"),
    };
    let on: Vec<&str> = st["frontier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["point"].as_str().unwrap())
        .collect();
    let mut n = 0;
    for s in view.series(st, "hwkey") {
        for id in s["points"].as_array().unwrap() {
            let p = view.point(id);
            let c = view.config(p);
            let q = published::record(published, scope, c, p);
            let flags = if st["x"] == "e2el" {
                &q.roof_e2e
            } else {
                &q.roof
            };
            assert_eq!(
                on.contains(&id.to_string().as_str()),
                flags[metric],
                "{}: {} on the page's frontier against the published {metric} roof",
                st["step"],
                q.hw_key
            );
            n += 1;
        }
    }
    n
}

/// The key of a view as of a day (or the latest): model, workload, day.
fn view_key(h: &BTreeMap<String, String>) -> String {
    format!(
        "{} {} {}",
        h["model"],
        h["wl"],
        h.get("asof").map_or("latest", String::as_str)
    )
}

/// A step's `name=value` hash parameters.
fn hash_params(hash: &str) -> BTreeMap<String, String> {
    hash.split_once('?')
        .map_or("", |(_, q)| q)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2C", ",").replace("%2F", "/")))
        .collect()
}

fn check_tco(view: &View, index: &Value, st: &Value) {
    let group = st["group"].as_str().unwrap_or("hardware");
    let k = view.target(group, num(&st["at"]).unwrap());
    let hash = hash_params(st["hash"].as_str().unwrap());
    let state = json!({"source": st["source"], "run": "latest"});
    let series = view.series(&state, group);
    // The throughput of the tokens chosen, and the metric's key for them.
    let tok = st["tok"].as_str().unwrap_or("total");
    let (tput_key, sfx) = match tok {
        "input" => ("input", "_in"),
        "output" => ("output", "_out"),
        _ => ("tput", ""),
    };
    let measured_key = match tok {
        "input" => "measured_in",
        "output" => "measured",
        _ => "measured_total",
    };
    let bars = st["bars"].as_array().unwrap();
    assert_eq!(bars.len(), series.len(), "a bar per series: {}", st["step"]);
    for (bar, s) in bars.iter().zip(&series) {
        let hw = bar["hw"].as_str().unwrap();
        assert_eq!(s["hardware"], hw);
        assert_eq!(bar["key"], s["key"]);
        let tput = at(s, tput_key, k);
        assert_eq!(num(&bar["tput"]), tput, "{hw}: {}", st["step"]);
        assert_eq!(num(&bar["measured"]), at(s, measured_key, k), "{bar}");
        let Some(tput) = tput else { continue };
        // The price: this accelerator's override, else the typed price, else the tier's.
        let (tier_price, kw) = economics(
            index,
            &json!({"tier": st["tier"], "price": st["price"]}),
            hw,
        );
        let price = hash
            .get(&format!("price.{hw}"))
            .map_or(tier_price, |p| p.parse().unwrap());
        let kw = hash
            .get(&format!("kw.{hw}"))
            .map_or(kw, |k| k.parse().unwrap());
        assert!(
            close(num(&bar["price"]).unwrap(), price) && close(num(&bar["kw"]).unwrap(), kw),
            "{bar}"
        );
        let cost = dollars_per_million_tokens(price, tput);
        let tpmw = tokens_per_s_per_mw(tput, kw);
        let energy = joules_per_token(kw, tput);
        assert!(close(num(&bar["cost"]).unwrap(), cost), "{bar}");
        assert!(close(num(&bar["tpmw"]).unwrap(), tpmw), "{bar}");
        assert!(close(num(&bar["energy"]).unwrap(), energy), "{bar}");
        // A catalog tier's $/M is the library's (`cost<sfx>.<tier>`), the same number.
        if !hash.contains_key(&format!("price.{hw}")) && st["tier"] != "custom" {
            let lib = at(s, &format!("cost{sfx}.{}", st["tier"].as_str().unwrap()), k).unwrap();
            assert!(close(lib, cost), "{bar}");
        }
        let want = match st["metric"].as_str().unwrap_or("cost") {
            "cost" => Some(cost),
            "tpmw" => Some(tpmw),
            "energy" => Some(energy),
            "tput" => Some(tput),
            _ => at(s, measured_key, k),
        };
        assert_eq!(num(&bar["value"]).is_some(), want.is_some(), "{bar}");
        if let (Some(v), Some(w)) = (num(&bar["value"]), want) {
            assert!(close(v, w), "{bar}: {w}");
        }
    }
    // Two bars side by side: the ratio of their values.
    if let (Some(a), Some(b)) = (st["a"].as_str(), st["b"].as_str()) {
        let v = |key: &str| num(&bars.iter().find(|x| x["key"] == key).unwrap()["value"]);
        match (v(a), v(b)) {
            (Some(x), Some(y)) => assert!(close(num(&st["ratio"]).unwrap(), x / y), "{st}"),
            _ => assert!(st["ratio"].is_null()),
        }
    }
}

/// What changed between the compared runs, as seeded: the image every night, H200's recipe on
/// the third.
fn check_changes(st: &Value) {
    let rows = st["changes"].as_array().unwrap();
    if st["a"] == st["b"] || rows.is_empty() {
        return;
    }
    let night = |run: &Value| {
        run.as_str()
            .unwrap()
            .strip_prefix("nightly-")
            .map(|n| n.to_string())
    };
    let (Some(a), Some(b)) = (night(&st["a"]), night(&st["b"])) else {
        return;
    };
    for r in rows {
        let h200 = r["config"].as_str().unwrap().starts_with("h200");
        assert_eq!(r["a_images"], format!("vllm/vllm-openai:v0.1{a}.0"), "{r}");
        assert_eq!(r["b_images"], format!("vllm/vllm-openai:v0.1{b}.0"), "{r}");
        assert_eq!(r["image_changed"], (a != b).to_string(), "{r}");
        let recipe = |n: &str| match (h200, n) {
            (true, "3") => "f1e2d3c4b5a6978800112233",
            (true, _) => "aa00bb11cc22dd33ee44ff55",
            _ => "b200b200b200b200b200b200",
        };
        assert_eq!(r["a_recipes"], recipe(&a), "{r}");
        assert_eq!(r["b_recipes"], recipe(&b), "{r}");
        assert_eq!(
            r["recipe_changed"],
            (recipe(&a) != recipe(&b)).to_string(),
            "{r}"
        );
    }
}

fn check_compare(view: &View, st: &Value) -> usize {
    check_changes(st);
    let k = view.target("config", num(&st["at"]).unwrap());
    let (a, b) = (st["a"].as_str().unwrap(), st["b"].as_str().unwrap());
    let series = |run: &str, key: &str| {
        view.figures["config"]["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["run"] == run && s["key"] == key)
            .unwrap()
            .clone()
    };
    let mut n = 0;
    for r in st["rows"].as_array().unwrap() {
        let key = r["config"].as_str().unwrap();
        let (va, vb) = (
            at(&series(a, key), "tput", k),
            at(&series(b, key), "tput", k),
        );
        assert_eq!((num(&r["a"]), num(&r["b"])), (va, vb), "{r}");
        if let (Some(va), Some(vb)) = (va, vb) {
            assert!(close(num(&r["value"]).unwrap(), va / vb), "{r}");
            // Same accelerator, same price: $/M goes as the inverse of tok/s/GPU.
            assert!(close(num(&r["cost_ratio"]).unwrap(), vb / va), "{r}");
            n += 1;
        }
    }
    n
}

fn check_history(view: &View, index: &Value, st: &Value) -> usize {
    let group = st["group"].as_str().unwrap();
    let at_ = num(&st["at"]).unwrap();
    let k = view.target(group, at_);
    let source = st["source"].as_str().unwrap();
    // The metric shown: tok/s/GPU by default; a $/M one in its tier.
    let y = st["y"].as_str().unwrap_or("tput");
    let metric = if y.starts_with("cost") {
        format!("{y}.{}", st["tier"].as_str().unwrap())
    } else {
        y.to_string()
    };
    // The date range: a run is in it by its start date.
    let day = |d: &str| -> String {
        let d: String = d.chars().filter(char::is_ascii_digit).take(8).collect();
        format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..8])
    };
    let in_range = |started: &str| {
        let d = day(started);
        st["from"].as_str().is_none_or(|f| d.as_str() >= f)
            && st["to"].as_str().is_none_or(|t| d.as_str() <= t)
    };
    let state = json!({"source": source, "run": "all"});
    let series: Vec<&Value> = view
        .series(&state, group)
        .into_iter()
        .filter(|s| in_range(s["run_started_at"].as_str().unwrap()))
        .collect();
    let rows = st["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        series.len(),
        "a row per series and run: {}",
        st["step"]
    );
    for r in rows {
        let s = series
            .iter()
            .find(|s| s["key"] == r["series"] && s["run"] == r["run"])
            .unwrap();
        // A one-run series carries throughputs, measured energies and $/M of all tokens; the
        // other $/M, tok/s/MW and J/token are the formula of its throughput at the target.
        let want = if s["at"].get(&metric).is_some() {
            at(s, &metric, k)
        } else {
            let tput = match y.rsplit_once('_').map(|(_, t)| t) {
                Some("in") => "input",
                Some("out") => "output",
                _ => "tput",
            };
            let (price, kw) = economics(index, st, s["hardware"].as_str().unwrap());
            at(s, tput, k).map(|t| match y.split('_').next().unwrap() {
                "cost" => dollars_per_million_tokens(price, t),
                "tpmw" => tokens_per_s_per_mw(t, kw),
                _ => joules_per_token(kw, t),
            })
        };
        match (num(&r["value"]), want) {
            (Some(a), Some(b)) => assert!(close(a, b), "{metric}: {r} vs {b}"),
            (a, b) => assert_eq!(a, b, "{metric}: {r}"),
        }
    }
    let threshold = num(&st["threshold"]).unwrap();
    let runs: Vec<&Value> = series.iter().map(|s| &s["run"]).collect();
    // The regressions, and every movement, of the figures at this target and threshold whose
    // runs are both shown; each with what changed, as the library said.
    let mut counts = [0; 2];
    for (n, list) in ["regressions", "movements"].into_iter().enumerate() {
        let want: Vec<&Value> = view.figures[group][list][threshold.to_string()]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| num(&r["interactivity"]) == Some(at_) && r["source"] == source)
            .filter(|r| runs.contains(&&r["before_run"]) && runs.contains(&&r["after_run"]))
            .collect();
        let got = st[list].as_array().unwrap();
        assert_eq!(
            got.len(),
            want.len(),
            "{list} {}: {got:?} vs {want:?}",
            st["step"]
        );
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g["series"] == w["key"]
                    && num(&g["before"]) == num(&w["before"])
                    && num(&g["after"]) == num(&w["after"])
                    && g["after_run"] == w["after_run"]
                    && g["why"] == w["why"],
                "{g} vs {w}"
            );
        }
        counts[n] = want.len();
    }
    // Every regression is a movement too.
    assert!(counts[1] >= counts[0], "{counts:?}");
    counts[0]
}

fn check_reliability(view: &View, st: &Value) {
    let mut by_hw: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for p in view.selected(st) {
        let Some(done) = p["completed"].as_u64() else {
            continue;
        };
        let e = by_hw
            .entry(view.config(p)["hardware"].as_str().unwrap().into())
            .or_default();
        e.0 += done;
        e.1 += p["failed"].as_u64().unwrap_or(0);
    }
    let got: BTreeMap<String, (u64, u64, f64)> = st["hardware"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["hw"].as_str().unwrap().into(),
                (
                    h["completed"].as_u64().unwrap(),
                    h["failed"].as_u64().unwrap(),
                    num(&h["value"]).unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(got.len(), by_hw.len(), "{}", st["step"]);
    for (hw, (c, f)) in by_hw {
        let g = got[&hw];
        assert_eq!((g.0, g.1), (c, f), "{hw}");
        assert!(close(g.2, c as f64 / (c + f) as f64), "{hw}");
    }
}

/// Serves the files below `root` over HTTP on loopback, as any static file server would.
fn static_server(root: PathBuf) -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = req
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .split('?')
                .next()
                .unwrap_or("/");
            let rel = path.trim_start_matches('/');
            let file = root.join(if rel.is_empty() { "index.html" } else { rel });
            let (status, body) = match std::fs::read(&file) {
                Ok(b) if !rel.contains("..") => ("200 OK", b),
                _ => ("404 Not Found", Vec::new()),
            };
            let ctype = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html",
                Some("js") => "text/javascript",
                Some("css") => "text/css",
                Some("json") => "application/json",
                _ => "application/octet-stream",
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    format!("http://{addr}/")
}

/// Runs the e2e scenario against `url`; its results.
fn scenario(url: &str, out: &Path, chromium: &str) -> Value {
    let _ = std::fs::remove_dir_all(out);
    let o = Command::new("node")
        .arg(repo().join("dashboard/e2e/run.mjs"))
        .args([
            "--url",
            url,
            "--out",
            out.to_str().unwrap(),
            "--chromium",
            chromium,
        ])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "the e2e scenario crashed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let results: Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(
        results["console_errors"],
        json!([]),
        "no console errors at {url}"
    );
    assert_eq!(
        results["problems"],
        json!([]),
        "the scenario went as planned at {url}"
    );
    for shot in [
        "inference",
        "compare",
        "tco",
        "history",
        "reliability",
        "point",
    ] {
        let png = std::fs::read(out.join(format!("{shot}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{shot}.png"
        );
    }
    results
}

/// `v` without its timings and the CSV preamble's URL and times (which differ run to run).
fn untimed(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| {
                    ![
                        "render_ms",
                        "chart_drawn_ms",
                        "rerender_y_cost_ms",
                        "preamble",
                    ]
                    .contains(&k.as_str())
                })
                .map(|(k, v)| (k.clone(), untimed(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(untimed).collect()),
        v => v.clone(),
    }
}

#[test]
fn the_dashboard_in_a_real_browser_shows_what_the_analysis_library_computes() {
    let Some(chromium) = chromium() else { return };
    let d = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", d.path().join("s.db").display());
    // As ingest keeps it: the log's tail as text.
    seed(
        &store,
        "INFO started\nINFO ready on 127.0.0.1:8000\nINFO 40 requests\n",
    );
    seed_agentx(&store, d.path());
    let mut server = Command::new(BIN)
        .args(["dashboard", "--store", &store, "--bind", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The server says where it listens once it does.
    let mut line = String::new();
    std::io::BufReader::new(server.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let results = scenario(
        &url,
        &repo().join("target/e2e-artifacts/dashboard"),
        &chromium,
    );
    let _ = server.kill();
    let _ = server.wait();

    // The static export, from a plain file server: the same pages show the same numbers.
    let site = d.path().join("site");
    let o = Command::new(BIN)
        .args([
            "export-site",
            "--store",
            &store,
            "--out",
            site.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let exported = scenario(
        &static_server(site),
        &repo().join("target/e2e-artifacts/dashboard-static"),
        &chromium,
    );
    assert_eq!(
        untimed(&exported["views"]),
        untimed(&results["views"]),
        "the exported site shows what the server does"
    );
    // Except a past day: a static export cannot answer one, and says so.
    assert_eq!(
        exported["as_of"]["supported"], false,
        "{}",
        exported["as_of"]
    );
    assert!(
        exported["as_of"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("static export") && e.contains("2026-11-27")),
        "{}",
        exported["as_of"]
    );

    // What the pages were given, from the API (the API tests check it against HTTP).
    let mut api = servebench_dashboard::api::Api::new(
        Store::open(&store).unwrap(),
        servebench_catalog::Catalog::builtin().unwrap(),
    );
    let index = api.index(None).unwrap();
    let mut views: BTreeMap<String, View> = BTreeMap::new();
    let mut view = |hash: &str| -> String {
        let h = hash_params(hash);
        let (model, wl) = (h["model"].clone(), h["wl"].clone());
        let as_of: Option<AsOf> = h.get("asof").map(|d| d.parse().unwrap());
        let key = view_key(&h);
        if !views.contains_key(&key) {
            let (isl, osl) = wl.split_once('x').unwrap();
            let (isl, osl) = (isl.parse().unwrap(), osl.parse().unwrap());
            let doc = serde_json::to_value(api.view_of(&model, isl, osl, as_of.as_ref()).unwrap())
                .unwrap();
            let figures = Grouping::ALL
                .into_iter()
                .flat_map(|g| [(g, false), (g, true)])
                .map(|(g, new_only)| {
                    let f = api
                        .figures_of(&model, isl, osl, g, as_of.as_ref(), new_only)
                        .unwrap();
                    let key = format!("{g}{}", if new_only { ".new" } else { "" });
                    (key, serde_json::to_value(f).unwrap())
                })
                .collect();
            views.insert(
                key.clone(),
                View {
                    configs: doc["configs"].as_array().unwrap().clone(),
                    points: published::point_rows(&doc),
                    evals: doc["evals"].as_array().unwrap().clone(),
                    figures,
                },
            );
        }
        key
    };
    let v = &results["views"];
    let steps = |name: &str| v[name]["steps"].as_array().unwrap().clone();
    for st in steps("inference")
        .iter()
        .chain(steps("tco").iter())
        .chain(steps("compare").iter())
        .chain(steps("history").iter())
        .chain(steps("reliability").iter())
    {
        assert_eq!(
            st["hash_ok"], true,
            "the URL holds the state after '{}'",
            st["step"]
        );
        view(st["hash"].as_str().unwrap());
    }
    let as_of = &results["as_of"];
    let as_of_hash = as_of["inference"]["hash"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    view(&as_of_hash);
    let get = |hash: &Value| &views[&view_key(&hash_params(hash.as_str().unwrap()))];

    // Inference: the default is the view with our own points; every state's frontiers.
    let inf = steps("inference");
    assert!(
        inf[0]["hash"]
            .as_str()
            .unwrap()
            .contains("model=gpt-oss-120b"),
        "{}",
        inf[0]["hash"]
    );
    assert_eq!(inf[0]["source"], "own");
    let mut frontier_points = 0;
    let mut eval_rows = 0;
    let mut roofs = 0;
    let published = servebench_published::load_v1_dashboard(&published_dir()).unwrap();
    for st in &inf {
        frontier_points += check_inference(get(&st["hash"]), &index, st);
        eval_rows += check_evals(get(&st["hash"]), &index, st);
        if st["step"].as_str().unwrap().starts_with("published: ") {
            roofs += check_published_roofs(
                get(&st["hash"]),
                st,
                ("gpt-oss-120b", 1024, 1024),
                &published,
            );
        }
    }
    assert!(eval_rows >= 4, "the seeded evals are shown");
    // New points only: B200 TP8's third night, carried over, is in no frontier then; it was
    // B200's frontier before (twice the throughput of TP4).
    let reused: Vec<String> = rusqlite::Connection::open(d.path().join("s.db"))
        .unwrap()
        .prepare("SELECT id FROM points WHERE reused_from IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|id| id.unwrap().to_string())
        .collect();
    assert_eq!(reused.len(), 5);
    let on_frontier = |step: &str| -> Vec<String> {
        let st = inf.iter().find(|s| s["step"] == step).unwrap();
        st["frontier"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["point"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(on_frontier("default").iter().any(|p| reused.contains(p)));
    let new = on_frontier("new points only");
    assert!(
        !new.is_empty() && new.iter().all(|p| !reused.contains(p)),
        "{new:?}"
    );
    assert_eq!(on_frontier("all points"), on_frontier("default"));
    let simulated_rows = inf
        .iter()
        .flat_map(|st| st["frontier"].as_array().unwrap())
        .filter(|r| r["simulated"] != "")
        .count();
    assert!(
        simulated_rows > 0,
        "the simulated B200 TP4 points are marked somewhere"
    );
    // And drawn as open diamonds, those of an uncalibrated kind as open triangles, every one.
    let drawn = &results["simulated_drawn"];
    let n = |k: &str| drawn[k].as_u64().unwrap();
    assert!(
        n("uncalibrated") > 0 && n("uncalibrated") < n("simulated"),
        "{drawn}"
    );
    assert_eq!(n("triangles"), n("uncalibrated"), "{drawn}");
    assert_eq!(n("diamonds"), n("simulated") - n("uncalibrated"), "{drawn}");
    assert!(
        frontier_points > 30,
        "{frontier_points} frontier points checked"
    );
    // Both x axes × tok/s/GPU, tok/s/MW, $/M in a typed price and the three tiers, on the
    // 150 published gpt-oss 1k/1k points.
    assert_eq!(
        roofs,
        2 * 6 * 150,
        "published roof flags checked in the page"
    );
    let ys: Vec<&str> = inf.iter().filter_map(|s| s["y"].as_str()).collect();
    for y in [
        "tput",
        "input",
        "output",
        "cost",
        "cost_in",
        "cost_out",
        "tpmw",
        "tpmw_in",
        "tpmw_out",
        "energy",
        "energy_in",
        "energy_out",
        "measured",
        "measured_total",
        "measured_in",
    ] {
        assert!(ys.contains(&y), "the scenario showed y = {y}");
    }
    check_controls(&inf, &v["inference"]);
    for x in ["intvty", "e2el", "ttft", "p99ttft"] {
        assert!(
            inf.iter().any(|s| s["x"] == x),
            "the scenario showed x = {x}"
        );
    }
    assert!(
        inf.iter().any(|s| s["source"] == "both") && inf.iter().any(|s| s["group"] == "config")
    );
    assert_eq!(
        v["inference"]["csv"]["rows"],
        v["inference"]["points_drawn"]
    );
    // The agentic-coding view: InferenceX's AgentX rows against E2E-normalised interactivity.
    let agentic: Vec<&Value> = inf
        .iter()
        .filter(|s| s["step"].as_str().unwrap().starts_with("agentic coding"))
        .collect();
    assert_eq!(agentic.len(), 1, "the scenario opened the agentic view");
    check_agentic(get(&agentic[0]["hash"]), agentic[0]);

    // TCO bars, compare ratios, history with the regression, reliability.
    let tco = steps("tco");
    for st in &tco {
        check_tco(get(&st["hash"]), &index, st);
    }
    let side = tco
        .iter()
        .find(|s| s["step"] == "click bar 2: A/B")
        .expect("two bars compared");
    assert!(
        side["a"].is_string() && side["b"].is_string() && side["a"] != side["b"],
        "{side}"
    );
    assert!(side["ratio"].is_number(), "{side}");
    assert!(tco
        .iter()
        .any(|s| s["metric"] == "tpmw" && s["tok"] == "output"));
    assert!(tco
        .iter()
        .any(|s| s["metric"] == "measured" && s["tok"] == "input"));
    let mut compared = 0;
    for st in steps("compare") {
        compared += check_compare(get(&st["hash"]), &st);
    }
    assert!(compared >= 3, "{compared} compare rows checked");
    let cmp = steps("compare");
    let changed = &cmp
        .iter()
        .find(|s| s["step"] == "a = nightly-3, b = nightly-1")
        .unwrap()["changes"];
    let flags = |k: &str| -> Vec<&str> {
        changed
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[k].as_str().unwrap())
            .collect()
    };
    assert_eq!(flags("config").len(), 3, "{changed}");
    assert!(flags("image_changed").iter().all(|f| *f == "true"));
    assert_eq!(
        flags("recipe_changed")
            .iter()
            .filter(|f| **f == "true")
            .count(),
        1,
        "only H200's recipe changed: {changed}"
    );
    let hist = steps("history");
    let flagged: usize = hist
        .iter()
        .map(|st| check_history(get(&st["hash"]), &index, st))
        .sum();
    assert!(flagged >= 1, "h200's 20% drop is flagged at some target");
    // It comes with what changed between nights 2 and 3: the image of every config (the seed
    // bumps it each night).
    let why: Vec<&str> = hist
        .iter()
        .flat_map(|st| st["regressions"].as_array().unwrap())
        .filter(|r| r["series"].as_str().unwrap().starts_with("h200"))
        .map(|r| r["why"].as_str().unwrap())
        .collect();
    assert!(
        !why.is_empty()
            && why.iter().all(|w| w.starts_with("image ")
                && w.contains("vllm/vllm-openai:v0.12.0 → vllm/vllm-openai:v0.13.0")),
        "{why:?}"
    );
    // The other metrics, a date range that leaves out the first night, and a log scale.
    let last = hist.last().unwrap();
    assert_eq!(
        (
            last["y"].as_str(),
            last["tier"].as_str(),
            last["from"].as_str(),
            last["ys"].as_str()
        ),
        (
            Some("cost_out"),
            Some("neocloud"),
            Some("2026-11-27"),
            Some("log")
        )
    );
    assert!(last["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["run"] != "nightly-1"));
    for st in steps("reliability") {
        check_reliability(get(&st["hash"]), &st);
    }
    check_evals_page(&steps("evals"));
    check_jobs(&results["jobs"], false);
    check_jobs(&exported["jobs"], true);
    // As of 2026-11-27: the third night had not run; the page drew the library's frontiers of
    // the store as it stood (nightly-2 the latest run), and history has no regression yet.
    assert_eq!(as_of["supported"], true, "{as_of}");
    let past = &as_of["inference"];
    assert_eq!(past["banner"], "2026-11-27");
    let rows = past["frontier"].as_array().unwrap();
    assert!(!rows.is_empty(), "{past}");
    assert!(rows.iter().all(|r| r["run"] != "nightly-3"), "{past}");
    check_inference(get(&past["hash"]), &index, past);
    let past_view = get(&past["hash"]);
    assert!(past_view.points.iter().all(|p| p["run"] != "nightly-3"));
    assert!(past_view.points.iter().any(|p| p["run"] == "nightly-2"));
    let hist = as_of["history"]["rows"].as_array().unwrap();
    assert!(
        !hist.is_empty() && hist.iter().all(|r| r["run"] != "nightly-3"),
        "{hist:?}"
    );
    assert_eq!(as_of["history"]["regressions"], 0);
    // And the jobs of the first two nights only: H200 15 + 14 of 30, B200 20 of 20.
    assert_eq!(
        as_of["jobs"],
        json!([{"hw": "b200", "succeeded": 20, "total": 20}, {"hw": "h200", "succeeded": 29, "total": 30}])
    );
    assert!(hash_params(as_of["history"]["hash"].as_str().unwrap())["asof"] == "2026-11-27");
    assert!(
        !as_of["cleared"].as_str().unwrap().contains("asof="),
        "{as_of}"
    );
    check_gpus(&steps("gpus"));

    // The point page shows the point as stored.
    let pt = &v["point"];
    let detail = api.point(&pt["id"].to_string()).unwrap();
    // Its run by name (a run key is not a secret, whatever its field is called).
    assert!(
        detail["run"]["key"]
            .as_str()
            .is_some_and(|k| k.starts_with("nightly-")),
        "{}",
        detail["run"]
    );
    let conc = detail["conc"].as_f64().unwrap();
    let p99 = pt["distributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["metric"] == "ttft_ms" && d["stat"] == "p99")
        .unwrap_or_else(|| {
            panic!(
                "the page shows the TTFT distribution: {}",
                pt["distributions"]
            )
        });
    assert_eq!(num(&p99["value"]), Some(90.0 + conc));
    assert_eq!(
        pt["server_log_lines"].as_u64().map(|n| n >= 3),
        Some(true),
        "{pt}"
    );
    for (k, val) in pt["metrics"].as_object().unwrap() {
        assert_eq!(num(val), num(&detail["metrics"][k]), "point metric {k}");
    }
    check_point_figures(pt, conc);
    // Its accuracy evals, as stored.
    let evals = pt["evals"].as_array().unwrap();
    assert!(
        !evals.is_empty(),
        "the page opened a point with an eval: {pt}"
    );
    assert_eq!(evals.len(), detail["evals"].as_array().unwrap().len());
    for (e, d) in evals.iter().zip(detail["evals"].as_array().unwrap()) {
        assert_eq!(e["task"], d["task"]);
        assert_eq!(e["passed"].as_str(), Some(d["passed"].to_string().as_str()));
        assert!(close(num(&e["score"]).unwrap(), num(&d["score"]).unwrap()));
    }
    // Its pools, GPUs per role, as seeded.
    let pools: Vec<(String, u64)> = pt["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["role"].as_str().unwrap().to_string(),
                p["gpus"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pools,
        [("prefill".to_string(), 4), ("decode".to_string(), 4)],
        "{pt}"
    );
    assert_eq!(
        detail["deployment"]["router"], "dynamo-router 0.5.1",
        "{detail}"
    );
    // Its measured power, as stored, with its validity.
    assert_eq!(pt["power"]["valid"], "true", "{pt}");
    let shown = pt["power"]["values"].as_object().unwrap();
    assert!(shown.len() >= 6, "{pt}");
    for (k, val) in shown {
        assert_eq!(num(val), num(&detail["power"][k]), "power {k}");
    }
    assert_eq!(
        num(&detail["power"]["joules_per_output_token"]),
        num(&detail["metrics"]["measured_j_per_token"])
    );
}
