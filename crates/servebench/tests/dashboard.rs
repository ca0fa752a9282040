//! The dashboard in a real headless Chromium: `servebench dashboard` over a seeded store (the
//! published InferenceMAX files and three nights of our own runs), driven through its UI by
//! `dashboard/e2e/run.mjs` (playwright-core), and every number it read from the pages checked
//! here against the analysis library. Screenshots land in target/e2e-artifacts/.
//!
//! Needs Chromium and the front end's npm packages (`scripts/web-up.sh`, which the test command
//! runs); `SERVEBENCH_TEST_CHROMIUM` names the browser. In CI a missing browser fails the test.

mod common;

use serde_json::{json, Value};
use servebench_analysis::economics::{
    dollars_per_million_tokens, joules_per_token, tokens_per_s_per_mw,
};
use servebench_analysis::history::{history, regressions, RunCurve};
use servebench_analysis::interp::Steffen;
use servebench_analysis::pareto::{frontier, Better};
use servebench_store::{import, Config, Eval, EvalOutcome, Metrics, Point, Run, Source, Store};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_servebench");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Three nights of gpt-oss-120b 1k/1k on H200 and B200 (vLLM), H200 dropping 20% on the last.
fn seed(store: &str, log: &str) {
    let mut s = Store::open(store).unwrap();
    let (r, p) = import::inferencemax_v1(
        &repo().join("crates/servebench-store/tests/fixtures/inferencemax-v1"),
    )
    .unwrap();
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
                        disagg: false,
                        topology: format!("tp{tp}"),
                    },
                    isl: 1024,
                    osl: 1024,
                    conc,
                    num_gpus: tp,
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
                    provenance: json!({"image": format!("vllm/vllm-openai:v0.1{night}.0"), "host": "node-1",
                                       "server_log_tail": log}),
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
                            "output_tokens_per_s_per_kw": null}}}),
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

/// A view's points as the API serves them, with their configs.
struct View {
    configs: Vec<Value>,
    points: Vec<Value>,
    evals: Vec<Value>,
}

impl View {
    fn config(&self, p: &Value) -> &Value {
        &self.configs[p["config"].as_u64().unwrap() as usize]
    }
    /// The points a state shows: its source(s), precisions, accelerators, engines and runs
    /// (`latest`: each config's latest run).
    fn selected(&self, st: &Value) -> Vec<&Value> {
        let list = |k: &str| -> Option<Vec<String>> {
            st[k].as_array().map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
        };
        let source = st["source"].as_str().unwrap_or("own");
        let run = st["run"].as_str().unwrap_or("latest");
        let keep = |p: &&Value| {
            let c = self.config(p);
            (source == "both" || p["source"] == source)
                && list("prec")
                    .is_none_or(|l| l.is_empty() || l.iter().any(|x| c["precision"] == x.as_str()))
                && list("hw")
                    .is_none_or(|l| l.is_empty() || l.iter().any(|x| c["hardware"] == x.as_str()))
                && list("engine")
                    .is_none_or(|l| l.is_empty() || l.iter().any(|x| c["engine"] == x.as_str()))
        };
        let pts: Vec<&Value> = self.points.iter().filter(keep).collect();
        match run {
            "all" => pts,
            "latest" => {
                let mut latest: BTreeMap<(String, u64), (String, String)> = BTreeMap::new();
                for p in &pts {
                    let k = (
                        p["source"].as_str().unwrap().to_string(),
                        p["config"].as_u64().unwrap(),
                    );
                    let r = (
                        p["run_started_at"].as_str().unwrap().to_string(),
                        p["run"].as_str().unwrap().to_string(),
                    );
                    let e = latest.entry(k).or_insert(r.clone());
                    if r > *e {
                        *e = r;
                    }
                }
                pts.into_iter()
                    .filter(|p| {
                        let k = (
                            p["source"].as_str().unwrap().to_string(),
                            p["config"].as_u64().unwrap(),
                        );
                        latest[&k].1 == p["run"].as_str().unwrap()
                    })
                    .collect()
            }
            key => pts.into_iter().filter(|p| p["run"] == key).collect(),
        }
    }
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

/// The (tok/s/user, tok/s/GPU) frontier of points, as a spline.
fn spline(points: &[&Value]) -> Option<Steffen> {
    let xy: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((num(&p["median_intvty"])?, num(&p["tput_per_gpu"])?)))
        .collect();
    let f = frontier(&xy, Better::Higher, Better::Higher);
    Steffen::new(&f.iter().map(|&i| xy[i]).collect::<Vec<_>>())
}

/// A point on a state's axes, as the library computes them (NaN where it lacks the metric).
fn xy_of(p: &Value, index: &Value, st: &Value, hw: &str) -> (f64, f64) {
    let (x, y) = (st["x"].as_str().unwrap(), st["y"].as_str().unwrap());
    let (price, kw) = economics(index, st, hw);
    let t = num(&p["tput_per_gpu"]);
    let xv = num(&p[if x == "e2el" {
        "median_e2el_ms"
    } else {
        "median_intvty"
    }]);
    let yv = match y {
        "tput" => t,
        "input" => num(&p["input_tput_per_gpu"]),
        "output" => num(&p["output_tput_per_gpu"]),
        "cost" => t.map(|t| dollars_per_million_tokens(price, t)),
        "tpmw" => t.map(|t| tokens_per_s_per_mw(t, kw)),
        "energy" => t.map(|t| joules_per_token(kw, t)),
        other => panic!("y = {other}"),
    };
    (xv.unwrap_or(f64::NAN), yv.unwrap_or(f64::NAN))
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
                assert!(
                    close(num(&r["x"]).unwrap(), x) && close(num(&r["y"]).unwrap(), y),
                    "{r}"
                );
            }
        }
    }
    rows.len()
}

fn check_inference(view: &View, index: &Value, st: &Value) -> usize {
    let x = st["x"].as_str().unwrap();
    let y = st["y"].as_str().unwrap();
    let mut groups: BTreeMap<(String, String, String), Vec<&Value>> = BTreeMap::new();
    for p in view.selected(st) {
        let c = view.config(p);
        groups
            .entry((
                p["source"].as_str().unwrap().into(),
                c["hardware"].as_str().unwrap().into(),
                c["engine"].as_str().unwrap().into(),
            ))
            .or_default()
            .push(p);
    }
    let mut want: Vec<(String, f64, f64)> = Vec::new();
    for ((_, hw, _), pts) in &groups {
        let xy: Vec<(f64, f64)> = pts.iter().map(|p| xy_of(p, index, st, hw)).collect();
        let dx = if x == "e2el" {
            Better::Lower
        } else {
            Better::Higher
        };
        let dy = if matches!(y, "cost" | "energy") {
            Better::Lower
        } else {
            Better::Higher
        };
        for i in frontier(&xy, dx, dy) {
            want.push((pts[i]["id"].to_string(), xy[i].0, xy[i].1));
        }
    }
    let got: Vec<(String, f64, f64)> = st["frontier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["point"]
                    .as_str()
                    .map_or(r["point"].to_string(), String::from),
                num(&r["x"]).unwrap(),
                num(&r["y"]).unwrap(),
            )
        })
        .collect();
    let mut w = want.clone();
    let mut g = got.clone();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    g.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        g.iter().map(|r| &r.0).collect::<Vec<_>>(),
        w.iter().map(|r| &r.0).collect::<Vec<_>>(),
        "frontier points of {}",
        st["step"]
    );
    for (a, b) in g.iter().zip(&w) {
        assert!(
            close(a.1, b.1) && close(a.2, b.2),
            "{}: page {a:?}, library {b:?}",
            st["step"]
        );
    }
    want.len()
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

/// The points of one config (by key) in one run.
fn curve<'a>(view: &'a View, config: &str, run: &str) -> Vec<&'a Value> {
    view.points
        .iter()
        .filter(|p| view.config(p)["key"] == config && p["run"] == run)
        .collect()
}

fn check_tco(view: &View, index: &Value, st: &Value) {
    let at = num(&st["at"]).unwrap();
    let hash = hash_params(st["hash"].as_str().unwrap());
    let state = json!({"source": st["source"], "run": "latest"});
    let mut by_hw: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for p in view.selected(&state) {
        by_hw
            .entry(view.config(p)["hardware"].as_str().unwrap().into())
            .or_default()
            .push(p);
    }
    let bars = st["bars"].as_array().unwrap();
    assert_eq!(
        bars.len(),
        by_hw.len(),
        "a bar per accelerator: {}",
        st["step"]
    );
    for bar in bars {
        let hw = bar["hw"].as_str().unwrap();
        let tput = spline(&by_hw[hw]).and_then(|s| s.at(at));
        assert_eq!(
            tput.is_some(),
            bar["tput"].is_number(),
            "{hw} at {at}: {}",
            st["step"]
        );
        let Some(tput) = tput else { continue };
        assert!(
            close(num(&bar["tput"]).unwrap(), tput),
            "{hw}: {bar} vs {tput}"
        );
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
        assert!(
            close(
                num(&bar["value"]).unwrap(),
                dollars_per_million_tokens(price, tput)
            ),
            "{bar}"
        );
        assert!(
            close(num(&bar["tpmw"]).unwrap(), tokens_per_s_per_mw(tput, kw)),
            "{bar}"
        );
        assert!(
            close(num(&bar["energy"]).unwrap(), joules_per_token(kw, tput)),
            "{bar}"
        );
    }
}

fn check_compare(view: &View, st: &Value) -> usize {
    let at = num(&st["at"]).unwrap();
    let (a, b) = (st["a"].as_str().unwrap(), st["b"].as_str().unwrap());
    let mut n = 0;
    for r in st["rows"].as_array().unwrap() {
        let key = r["config"].as_str().unwrap();
        let va = spline(&curve(view, key, a)).and_then(|s| s.at(at));
        let vb = spline(&curve(view, key, b)).and_then(|s| s.at(at));
        assert_eq!(
            (num(&r["a"]).is_some(), num(&r["b"]).is_some()),
            (va.is_some(), vb.is_some()),
            "{r}"
        );
        if let (Some(va), Some(vb)) = (va, vb) {
            assert!(
                close(num(&r["a"]).unwrap(), va) && close(num(&r["b"]).unwrap(), vb),
                "{r}"
            );
            let ratio = num(&r["value"]).or(num(&r["ratio"])).unwrap();
            assert!(close(ratio, va / vb), "{r}");
            // Same accelerator, same price: $/M goes as the inverse of tok/s/GPU.
            assert!(close(num(&r["cost_ratio"]).unwrap(), vb / va), "{r}");
            n += 1;
        }
    }
    n
}

fn check_history(view: &View, st: &Value) -> usize {
    let at = num(&st["at"]).unwrap();
    let threshold = num(&st["threshold"]).unwrap();
    let source = st["source"].as_str().unwrap();
    // Per config: its runs, oldest first.
    let mut runs: BTreeMap<String, BTreeMap<(String, String), Vec<&Value>>> = BTreeMap::new();
    for p in view.points.iter().filter(|p| p["source"] == source) {
        runs.entry(view.config(p)["key"].as_str().unwrap().into())
            .or_default()
            .entry((
                p["run_started_at"].as_str().unwrap().into(),
                p["run"].as_str().unwrap().into(),
            ))
            .or_default()
            .push(p);
    }
    for r in st["rows"].as_array().unwrap() {
        let key = r["config"].as_str().unwrap();
        let pts = &runs[key]
            .iter()
            .find(|((_, run), _)| r["run"] == run.as_str())
            .unwrap()
            .1;
        let want = spline(pts).and_then(|s| s.at(at));
        match want {
            Some(w) => assert!(close(num(&r["value"]).unwrap(), w), "{r} vs {w}"),
            None => assert!(r["value"].is_null(), "{r}"),
        }
    }
    let mut want = Vec::new();
    for (key, by_run) in &runs {
        let rc: Vec<RunCurve> = by_run
            .iter()
            .map(|((date, run), pts)| RunCurve {
                date: format!("{date} {run}"),
                points: pts
                    .iter()
                    .filter_map(|p| Some((num(&p["median_intvty"])?, num(&p["tput_per_gpu"])?)))
                    .collect(),
            })
            .collect();
        for r in regressions(&rc, &[at], threshold) {
            want.push((key.clone(), r.before, r.after));
        }
        let _ = history(&rc, &[at]);
    }
    let got: Vec<(String, f64, f64)> = st["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["config"].as_str().unwrap().to_string(),
                num(&r["before"]).unwrap(),
                num(&r["after"]).unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), want.len(), "{}: {got:?} vs {want:?}", st["step"]);
    for (g, w) in got.iter().zip(&want) {
        assert!(
            g.0 == w.0 && close(g.1, w.1) && close(g.2, w.2),
            "{g:?} vs {w:?}"
        );
    }
    want.len()
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

/// `v` without its timings (which differ run to run).
fn untimed(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| {
                    !["render_ms", "chart_drawn_ms", "rerender_y_cost_ms"].contains(&k.as_str())
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

    // What the pages were given, from the API (the API tests check it against HTTP).
    let mut api = servebench_dashboard::api::Api {
        store: Store::open(&store).unwrap(),
        catalog: servebench_catalog::Catalog::builtin().unwrap(),
    };
    let index = api.index().unwrap();
    let mut views: BTreeMap<String, View> = BTreeMap::new();
    let mut view = |hash: &str| -> String {
        let h = hash_params(hash);
        let (model, wl) = (h["model"].clone(), h["wl"].clone());
        let key = format!("{model} {wl}");
        if !views.contains_key(&key) {
            let (isl, osl) = wl.split_once('x').unwrap();
            let doc = serde_json::to_value(
                api.view_of(&model, isl.parse().unwrap(), osl.parse().unwrap())
                    .unwrap(),
            )
            .unwrap();
            views.insert(
                key.clone(),
                View {
                    configs: doc["configs"].as_array().unwrap().clone(),
                    points: doc["points"].as_array().unwrap().clone(),
                    evals: doc["evals"].as_array().unwrap().clone(),
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
    let get = |hash: &Value| {
        &views[&{
            let h = hash_params(hash.as_str().unwrap());
            format!("{} {}", h["model"], h["wl"])
        }]
    };

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
    for st in &inf {
        frontier_points += check_inference(get(&st["hash"]), &index, st);
        eval_rows += check_evals(get(&st["hash"]), &index, st);
    }
    assert!(eval_rows >= 4, "the seeded evals are shown");
    assert!(
        frontier_points > 30,
        "{frontier_points} frontier points checked"
    );
    let ys: Vec<&str> = inf.iter().filter_map(|s| s["y"].as_str()).collect();
    for y in ["tput", "cost", "tpmw", "energy", "output"] {
        assert!(ys.contains(&y), "the scenario showed y = {y}");
    }
    assert!(inf.iter().any(|s| s["x"] == "e2el") && inf.iter().any(|s| s["source"] == "both"));
    assert_eq!(
        v["inference"]["csv"]["rows"],
        v["inference"]["points_drawn"]
    );

    // TCO bars, compare ratios, history with the regression, reliability.
    for st in steps("tco") {
        check_tco(get(&st["hash"]), &index, &st);
    }
    let mut compared = 0;
    for st in steps("compare") {
        compared += check_compare(get(&st["hash"]), &st);
    }
    assert!(compared >= 3, "{compared} compare rows checked");
    let hist = steps("history");
    let flagged: usize = hist
        .iter()
        .map(|st| check_history(get(&st["hash"]), st))
        .sum();
    assert!(flagged >= 1, "h200's 20% drop is flagged at some target");
    for st in steps("reliability") {
        check_reliability(get(&st["hash"]), &st);
    }

    // The point page shows the point as stored.
    let pt = &v["point"];
    let detail = api.point(&pt["id"].to_string()).unwrap();
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
