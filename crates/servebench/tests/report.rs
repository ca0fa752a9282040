//! `servebench ingest` and `servebench report` end to end, on an SQLite file and on a real
//! PostgreSQL server (when `SERVEBENCH_TEST_POSTGRES_URL` names one; CI requires it): three
//! nights of results on two accelerators plus published InferenceMAX files, every report
//! checked against hand-computed values and the two backends against each other.

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

#[path = "../../servebench-store/tests/backends/mod.rs"]
mod backends;

const BIN: &str = env!("CARGO_BIN_EXE_servebench");
const MODEL: &str = "test/model-70b";

fn sb(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// tok/s/user (1000 / TPOT) and tok/s/GPU (of 8 GPUs) at c4..c32, before scaling.
const TPOT_MS: [f64; 4] = [10.0, 12.0, 15.0, 20.0];
const TPUT_PER_GPU: [f64; 4] = [500.0, 875.0, 1375.0, 2000.0];

/// A night of `vllm bench serve` results of one deployment.
fn night(dir: &Path, hw: &str, n: usize, scale: f64) -> std::path::PathBuf {
    let rows: Vec<Value> = (0..4)
        .map(|i| {
            let total = TPUT_PER_GPU[i] * scale * 8.0;
            json!({"date": format!("2026112{}-020000", 5 + n), "backend": "vllm", "model_id": MODEL,
                   "max_concurrency": 4 << i, "completed": 40 << i, "failed": 0,
                   "total_token_throughput": total, "output_throughput": total / 2.0,
                   "median_tpot_ms": TPOT_MS[i], "median_ttft_ms": 50.0,
                   "median_e2el_ms": 50.0 + 1023.0 * TPOT_MS[i]})
        })
        .collect();
    let p = dir.join(format!("{hw}-night{n}.json"));
    std::fs::write(&p, serde_json::to_vec(&rows).unwrap()).unwrap();
    p
}

fn fill(store: &str, dir: &Path) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../servebench-store/tests/fixtures/inferencemax-v1");
    ok(&sb(&[
        "ingest",
        "--store",
        store,
        fixtures.to_str().unwrap(),
    ]));
    for (n, h200, b200) in [(1, 1.0, 2.0), (2, 1.01, 2.0), (3, 0.8, 2.0)] {
        for (hw, scale) in [("h200", h200), ("b200", b200)] {
            let f = night(dir, hw, n, scale);
            ok(&sb(&[
                "ingest",
                "--store",
                store,
                "--run",
                &format!("nightly-{n}"),
                "--hardware",
                hw,
                "--precision",
                "fp8",
                "--tp",
                "8",
                f.to_str().unwrap(),
            ]));
        }
    }
}

fn report(store: &str, args: &[&str]) -> (Value, Output) {
    let mut all = vec!["report", "--store", store, "--format", "json"];
    if !args.contains(&"--model") {
        all.extend(["--model", MODEL]);
    }
    all.extend_from_slice(args);
    let o = sb(&all);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (v, o)
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a / b - 1.0).abs() < 1e-9)
}

/// The rows whose `column` is `value` (`series` for per-series reports, `config` for a
/// frontier's points).
fn rows<'a>(v: &'a Value, column: &str, value: &str) -> Vec<&'a Value> {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r[column] == value)
        .collect()
}

#[test]
fn reports_from_both_backends_are_right_and_identical() {
    let d = tempfile::tempdir().unwrap();
    let mut outputs: Vec<Vec<String>> = Vec::new();
    for t in backends::stores("report_cli") {
        let store = t.url.as_str();
        fill(store, d.path());
        let mut texts = Vec::new();

        // At targets, on the latest night: h200 dropped to 0.8x.
        let (v, o) = report(store, &["--at", "50,100,120", "--tier", "2"]);
        texts.push(ok(&o));
        // One deployment per accelerator: its hardware key's series is that config's curve.
        let h = rows(&v, "series", "h200");
        assert_eq!(h.len(), 3);
        assert_eq!(h[0]["run"], "nightly-3");
        assert!(close(&h[0]["tput_per_gpu"], 1600.0), "{}", h[0]);
        assert!(close(&h[1]["tput_per_gpu"], 400.0));
        assert!(close(&h[1]["output_tput_per_gpu"], 200.0));
        assert!(close(
            &h[1]["dollars_per_mtok"],
            2.0 / (400.0 * 3600.0 / 1e6)
        ));
        assert!(close(
            &h[1]["dollars_per_mtok_output"],
            2.0 / (200.0 * 3600.0 / 1e6)
        ));
        // h200's all-in 1.73 kW per GPU (catalog).
        assert!(close(&h[1]["tokens_per_s_per_mw"], 400.0 * 1000.0 / 1.73));
        assert!(close(&h[1]["joules_per_token"], 1.73 * 1000.0 / 400.0));
        assert!(close(&h[1]["median_e2el_ms"], 50.0 + 1023.0 * 10.0));
        assert_eq!(
            h[2]["tput_per_gpu"],
            Value::Null,
            "120 is beyond the measured range"
        );

        // A against B at equal interactivity, same price: the tok/s/GPU ratio, inverse $/M.
        let (v, o) = report(
            store,
            &[
                "compare",
                "--a",
                "h200",
                "--b",
                "hardware=b200",
                "--at",
                "50,75",
                "--tier",
                "2",
            ],
        );
        texts.push(ok(&o));
        for r in v["rows"].as_array().unwrap() {
            assert!(close(&r["tput_ratio"], 0.4), "{r}");
            assert!(close(&r["cost_ratio"], 2.5), "{r}");
        }
        let e = sb(&[
            "report", "compare", "--store", store, "--model", MODEL, "--a", "mi355x", "--b", "h200",
        ]);
        assert!(!e.status.success());
        assert!(String::from_utf8_lossy(&e.stderr).contains("'mi355x' matches no config"));

        // History, night by night.
        let (v, o) = report(store, &["history", "--at", "50"]);
        texts.push(ok(&o));
        let h = rows(&v, "series", "h200");
        let got: Vec<(&str, f64)> = h
            .iter()
            .map(|r| {
                (
                    r["run"].as_str().unwrap(),
                    r["tput_per_gpu_at_50"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got.iter().map(|g| g.0).collect::<Vec<_>>(),
            ["nightly-1", "nightly-2", "nightly-3"]
        );
        assert!((got[1].1 - 2020.0).abs() < 1e-6 && (got[2].1 - 1600.0).abs() < 1e-6);
        // Night 2's +1% is within 5%; night 3's drop (1600 / 2020 − 1) moved the frontier, and
        // nothing the store knows of explains it (these runs keep no image, no changelog).
        let moved: Vec<(&str, &str)> = h
            .iter()
            .map(|r| (r["moved"].as_str().unwrap(), r["why"].as_str().unwrap()))
            .collect();
        assert_eq!(
            moved,
            [
                ("", ""),
                ("", ""),
                (
                    "-20.8% @50",
                    "unexplained: no image or changelog entry changed"
                )
            ]
        );

        // Regressions: h200's 21% drop at both targets, nothing on b200; the exit status says so.
        let (v, o) = report(
            store,
            &["regressions", "--at", "50,100", "--fail-on-regression"],
        );
        assert_eq!(o.status.code(), Some(1));
        texts.push(String::from_utf8_lossy(&o.stdout).into_owned());
        let r = v["rows"].as_array().unwrap();
        assert_eq!(r.len(), 2, "{v}");
        assert!(r
            .iter()
            .all(|r| r["series"] == "h200" && r["after_run"] == "nightly-3"));
        assert!(close(&r[0]["change_pct"], (1600.0 / 2020.0 - 1.0) * 100.0));
        assert!(r
            .iter()
            .all(|r| r["why"] == "unexplained: no image or changelog entry changed"));

        // Frontiers of cost against E2E latency, beside the published ones, with charts.
        let svg = d.path().join("f.svg");
        let png = d.path().join("f.png");
        let (v, o) = report(
            store,
            &[
                "frontier",
                "--x",
                "e2el",
                "--y",
                "cost",
                "--source",
                "both",
                "--chart",
                svg.to_str().unwrap(),
            ],
        );
        texts.push(ok(&o));
        let mine = rows(&v, "config", "b200 vllm fp8 tp8");
        assert_eq!(
            mine.len(),
            4,
            "cost falls and latency rises with concurrency: all on it"
        );
        let s = std::fs::read_to_string(&svg).unwrap();
        assert!(
            s.contains("data-name=\"b200\"") && s.contains("<svg"),
            "one series per hardware key"
        );
        ok(&sb(&[
            "report",
            "--store",
            store,
            "--model",
            "gpt-oss-120b",
            "--source",
            "reference",
            "--chart",
            png.to_str().unwrap(),
        ]));
        assert!(std::fs::read(&png)
            .unwrap()
            .starts_with(b"\x89PNG\r\n\x1a\n"));
        // The published view: a known point read at its own interactivity gives its throughput.
        let (v, o) = report(
            store,
            &[
                "--model",
                "gpt-oss-120b",
                "--source",
                "reference",
                "--at",
                "131.061",
                "--group",
                "config",
            ],
        );
        texts.push(ok(&o));
        let mi = rows(&v, "series", "mi300x vllm fp4 tp4 [published]");
        assert!(close(&mi[0]["tput_per_gpu"], 980.389), "{v}");
        outputs.push(texts);
    }
    if outputs.len() == 2 {
        assert_eq!(outputs[0], outputs[1], "SQLite and PostgreSQL answer alike");
    }
}

/// `servebench report frontier` prints InferenceMAX's roofs: on the published DeepSeek-R1 1k/1k
/// files, for $/M (neocloud) against end-to-end latency and tok/s/MW against interactivity,
/// its rows are exactly the points the files flag `roof: true`.
#[test]
fn report_frontier_prints_the_published_roofs() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/inferencemax-v1-dashboard-2025-10-25");
    let d = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", d.path().join("s.db").display());
    ok(&sb(&["ingest", "--store", &store, data.to_str().unwrap()]));
    let published = servebench_published::load_v1_dashboard(&data).unwrap();
    for (x, y, tier, metric) in [
        ("e2el", "cost", "neocloud", "costn"),
        ("interactivity", "tpmw", "hyperscaler", "tpPerMw"),
    ] {
        let (v, o) = report(
            &store,
            &[
                "frontier",
                "--model",
                "deepseek-r1-0528",
                "--source",
                "reference",
                "--x",
                x,
                "--y",
                y,
                "--tier",
                tier,
            ],
        );
        ok(&o);
        let mut got: Vec<(String, u64)> = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["config"].as_str().unwrap().to_string(),
                    r["conc"].as_f64().unwrap() as u64,
                )
            })
            .collect();
        let mut want: Vec<(String, u64)> = published
            .iter()
            .filter(|p| p.model == "deepseek-r1-0528" && (p.isl, p.osl) == (1024, 1024))
            .filter(|p| {
                let roofs = if x == "e2el" { &p.roof_e2e } else { &p.roof };
                roofs[metric]
            })
            .map(|p| {
                let mut label =
                    format!("{} {} {} tp{}", p.accelerator, p.engine, p.precision, p.tp);
                if p.spec_decoding != "none" {
                    label.push_str(&format!(" {}", p.spec_decoding));
                }
                if p.disagg {
                    label.push_str(" disagg");
                }
                (format!("{label} [published]"), p.conc as u64)
            })
            .collect();
        got.sort();
        want.sort();
        assert!(want.len() > 20, "{}", want.len());
        assert_eq!(got, want, "{metric} against {x}");
    }
}

/// `servebench retract`: night 3's h200 drop came from a bad run; retracted, it leaves the
/// reports (the latest h200 run is night 2 again, no regression) and stays in the store.
#[test]
fn a_retracted_run_leaves_every_report_and_stays_stored() {
    let d = tempfile::tempdir().unwrap();
    for t in backends::stores("retract_cli") {
        let store = t.url.as_str();
        fill(store, d.path());
        let at_50 = |store: &str| {
            let (v, o) = report(store, &["--at", "50"]);
            ok(&o);
            rows(&v, "series", "h200")[0]["tput_per_gpu"]
                .as_f64()
                .unwrap()
        };
        assert!((at_50(store) - 1600.0).abs() < 1e-6);

        let o = sb(&[
            "retract",
            "--store",
            store,
            "--run",
            "nightly-3",
            "--reason",
            "h200 nodes throttled",
            "--who",
            "ops",
        ]);
        ok(&o);
        let said = String::from_utf8_lossy(&o.stderr);
        // night 3: 4 concurrencies on each of two accelerators.
        assert!(
            said.contains("run 'nightly-3' retracted (8 points hidden"),
            "{said}"
        );
        assert!((at_50(store) - 2020.0).abs() < 1e-6, "night 2: 2000 × 1.01");
        let (v, o) = report(
            store,
            &["regressions", "--at", "50,100", "--fail-on-regression"],
        );
        assert_eq!(o.status.code(), Some(0), "{v}");
        assert_eq!(v["rows"].as_array().unwrap().len(), 0, "{v}");

        // Again: refused, nothing changes; a run the store lacks: refused.
        for (run, want) in [
            ("nightly-3", "run 'nightly-3' is already retracted"),
            ("nightly-9", "no run 'nightly-9' in the store"),
        ] {
            let o = sb(&["retract", "--store", store, "--run", run, "--reason", "x"]);
            assert_eq!(o.status.code(), Some(2));
            let e = String::from_utf8_lossy(&o.stderr);
            assert!(e.contains(want), "{e}");
        }
        // Without a reason, or without saying what: refused by the argument parser.
        let o = sb(&["retract", "--store", store, "--run", "nightly-2"]);
        assert_eq!(o.status.code(), Some(2));
        let o = sb(&["retract", "--store", store, "--reason", "x"]);
        assert_eq!(o.status.code(), Some(2));
    }
}
