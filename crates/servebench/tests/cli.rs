//! The real `servebench` binary, end to end over loopback.

mod common;

use common::*;
use std::process::{Command, Output};

fn bench(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.arg("bench").args(args).arg("--no-progress");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn bench_against_sim_binary_writes_results_and_never_leaks_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.jsonl");
    let sim = Sim::start(&[
        "--ttft-ms",
        "5",
        "--itl-ms",
        "1",
        "--record",
        record.to_str().unwrap(),
    ]);
    let out = dir.path().join("r.json");
    let reqs = dir.path().join("r.jsonl");
    let o = bench(
        &[
            "--base-url",
            &sim.url,
            "--isl",
            "64",
            "--osl",
            "16",
            "--concurrency",
            "2,4",
            "--num-gpus",
            "2",
            "--goodput",
            "ttft:1000,tpot:100",
            "--out",
            out.to_str().unwrap(),
            "--requests-out",
            reqs.to_str().unwrap(),
        ],
        &[("OPENAI_API_KEY", "sk-very-secret-123")],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("Serving Benchmark Result (concurrency 2)"));
    assert!(stdout.contains("Serving Benchmark Result (concurrency 4)"));
    let v = read_json(&out);
    let arr = v
        .as_array()
        .expect("a list of concurrency values gives an array");
    assert_eq!(arr.len(), 2);
    for (r, c) in arr.iter().zip([2u64, 4]) {
        assert_eq!(r["max_concurrency"], c);
        assert_eq!(r["completed"], 10 * c);
        assert_eq!(r["num_prompts"], 10 * c);
        assert_eq!(r["warmups"], 2 * c);
        assert_eq!(r["failed"], 0);
        assert_eq!(r["schema_version"], 1);
        assert_eq!(r["backend"], "openai");
        assert_eq!(r["model_id"], "servebench-sim");
        assert_eq!(r["num_gpus"], 2);
        for k in [
            "mean_ttft_ms",
            "median_tpot_ms",
            "p99_itl_ms",
            "p99.9_e2el_ms",
            "request_throughput",
            "output_throughput",
            "total_token_throughput",
            "benchmark_start_time_unix",
            "median_intvty",
            "tput_per_gpu",
        ] {
            assert!(r[k].as_f64().is_some_and(|x| x > 0.0), "{k} = {}", r[k]);
        }
        assert!(r["mean_ttft_ms"].as_f64().unwrap() >= 5.0);
        assert_eq!(r["request_goodput"], r["request_throughput"]);
        assert_eq!(r["config"]["api_key_present"], true);
        assert_eq!(r["config"]["api_key_env"], "OPENAI_API_KEY");
        assert_eq!(r["provenance"]["tokenizer"]["name"], "cl100k_base");
        assert_eq!(r["tokens"]["output_count_disagreements"], 0);
    }
    // One line per request, warmups flagged.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&reqs)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), (20 + 4) + (40 + 8));
    assert_eq!(lines.iter().filter(|l| l["warmup"] == true).count(), 12);
    assert!(lines.iter().all(|l| l["ok"] == true));
    assert!(lines
        .iter()
        .all(|l| l["itl_ms"].as_array().unwrap().len() as u64 + 1
            == l["output_tokens"].as_u64().unwrap()));
    // The key is sent (the server accepted every request) but never written or printed.
    for text in [
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        std::fs::read_to_string(&out).unwrap(),
        std::fs::read_to_string(&reqs).unwrap(),
    ] {
        assert!(!text.contains("sk-very-secret"));
    }
    assert!(sim.stop().success());
    let n = std::fs::read_to_string(&record).unwrap().lines().count();
    assert_eq!(
        n, 72,
        "the server recorded every request, flushed on SIGTERM"
    );
}

#[test]
fn failures_are_counted_and_gate_the_exit_code_after_writing_results() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(&["--fail-503", "0.2", "--reset-mid-stream", "0.1"]);
    let out = dir.path().join("r.json");
    let args = [
        "--base-url",
        &sim.url,
        "--isl",
        "32",
        "--osl",
        "8",
        "--concurrency",
        "4",
        "--num-prompts",
        "100",
        "--warmups",
        "0",
        "--out",
        out.to_str().unwrap(),
    ];
    let o = bench(&args, &[]);
    assert_eq!(o.status.code(), Some(1), "over 5% failed");
    let r = read_json(&out);
    let by = &r["failures"]["by_category"];
    let (http, reset) = (
        by["http_status"].as_u64().unwrap(),
        by["reset"].as_u64().unwrap(),
    );
    assert!(
        (17..=23).contains(&http) && (8..=12).contains(&reset),
        "{by}"
    );
    assert_eq!(r["failures"]["http_status"]["503"].as_u64().unwrap(), http);
    assert_eq!(r["failed"].as_u64().unwrap(), http + reset);
    assert_eq!(r["completed"].as_u64().unwrap() + http + reset, 100);
    assert!(String::from_utf8_lossy(&o.stdout).contains("http_status:"));
    // The same run passes when the gate allows it.
    let mut relaxed = args.to_vec();
    relaxed.extend(["--max-failure-rate", "0.5"]);
    assert_eq!(bench(&relaxed, &[]).status.code(), Some(0));
}

#[test]
fn embedded_default_runs_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = bench(
        &[
            "--concurrency",
            "2",
            "--isl",
            "32",
            "--osl",
            "8",
            "--sim-ttft-ms",
            "3",
            "--sim-itl-ms",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("embedded simulated server"));
    let r = read_json(&out);
    assert!(r.is_object(), "one concurrency value gives one object");
    assert_eq!(r["completed"], 20);
    assert!(r["mean_ttft_ms"].as_f64().unwrap() >= 3.0);
    // Outputs of 6 to 8 tokens, the last one due at TTFT + (n − 1) × 1 ms or later.
    assert!(r["median_e2el_ms"].as_f64().unwrap() >= 8.0);
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(&[]);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--goodput".into(), "latency:5".into()],
            "unknown metric 'latency'",
        ),
        (
            vec!["--range-ratio".into(), "1.5".into()],
            "--range-ratio 1.5",
        ),
        (vec!["--concurrency".into(), "0".into()], "at least 1"),
        (
            vec!["--request-rate".into(), "fast".into()],
            "expected a positive number of requests per second or 'inf'",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["--base-url".to_string(), sim.url.clone()];
        args.extend(extra);
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let o = bench(&a, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        assert!(err.contains(want), "{a:?}: {err}");
    }
    let o = bench(&["--base-url", "https://127.0.0.1:1"], &[]);
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("cannot reach the server: https://127.0.0.1:1/v1/models: cannot connect"));
    let o = bench(&["--base-url", "http://127.0.0.1:1", "--model", "m"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    // The cause once, not repeated by every layer.
    assert!(
        err.contains(
            "cannot reach the server: http://127.0.0.1:1/v1/models: cannot connect: Connection refused\n"
        ) && err.matches("refused").count() == 1,
        "{err}"
    );
    // A dataset error names the file, the line and the field.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"prompt\":\"ok\"}\n{\"prompt\":7}\n").unwrap();
    let o = bench(
        &[
            "--base-url",
            &sim.url,
            "--dataset",
            "jsonl",
            "--dataset-path",
            bad.to_str().unwrap(),
            "--concurrency",
            "1",
            "--num-prompts",
            "2",
            "--warmups",
            "0",
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("bad.jsonl:2") && err.contains("\"prompt\""),
        "{err}"
    );
}

#[test]
fn every_fault_kind_ends_in_a_counted_failure_and_a_written_result() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--ttft-ms", "1", "--itl-ms", "0.5", "--stall-ms", "3000"];
    for f in [
        "--fail-429",
        "--fail-500",
        "--fail-503",
        "--reset-before-headers",
        "--reset-mid-stream",
        "--malformed-chunk",
        "--missing-done",
        "--stall",
        "--error-mid-stream",
    ] {
        args.extend([f, "0.05"]);
    }
    let sim = Sim::start(&args);
    let out = dir.path().join("r.json");
    let o = bench(
        &[
            "--base-url",
            &sim.url,
            "--isl",
            "32",
            "--osl",
            "16",
            "--concurrency",
            "8",
            "--num-prompts",
            "200",
            "--warmups",
            "0",
            "--idle-timeout",
            "0.3",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let r = read_json(&out);
    let by = r["failures"]["by_category"].as_object().unwrap();
    let mut cats: Vec<&str> = by.keys().map(|k| k.as_str()).collect();
    cats.sort();
    assert_eq!(
        cats,
        [
            "http_status",
            "incomplete",
            "parse",
            "reset",
            "server_error",
            "timeout"
        ]
    );
    let total: u64 = by.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(total, r["failed"].as_u64().unwrap());
    assert!(
        (80..=100).contains(&total),
        "45% of 200 ± rounding: {total}"
    );
    assert_eq!(r["completed"].as_u64().unwrap() + total, 200);
    let codes = r["failures"]["http_status"].as_object().unwrap();
    assert_eq!(codes.len(), 3, "{codes:?}");
    // Successful requests are whole, and latency statistics come from them alone.
    assert_eq!(r["tokens"]["output_lengths"]["mismatched"], 0);
    assert!(
        r["failures"]["all_requests_e2el_ms"]["max"]
            .as_f64()
            .unwrap()
            >= 300.0
    );
}

#[test]
fn open_loop_defaults_have_no_cap() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = bench(
        &[
            "--request-rate",
            "200",
            "--burstiness",
            "0.5",
            "--num-prompts",
            "30",
            "--isl",
            "32",
            "--osl",
            "8",
            "--sim-ttft-ms",
            "2",
            "--sim-itl-ms",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out);
    assert_eq!(r["max_concurrency"], serde_json::Value::Null);
    assert_eq!(r["request_rate"], 200.0);
    assert_eq!(r["burstiness"], 0.5);
    assert_eq!(r["warmups"], 10);
    assert_eq!(r["completed"], 30);
}

#[test]
fn simulate_prints_points_from_the_catalog() {
    let o = Command::new(BIN)
        .arg("simulate")
        .args(common::LLAMA_FP8_H200)
        .args([
            "--tp",
            "8",
            "--concurrency",
            "1,16",
            "--osl",
            "256",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pts: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(pts.len(), 2);
    assert_eq!(pts[1]["requests"], 160);
    let t = |i: usize, k: &str| pts[i][k].as_f64().unwrap();
    assert!(t(1, "tput_per_gpu") > t(0, "tput_per_gpu"));
    assert!(t(1, "median_intvty") < t(0, "median_intvty"));
    // Unknown ids list what the catalog has.
    let o = Command::new(BIN)
        .args([
            "simulate",
            "--gpu",
            "tpu",
            "--model",
            "llama-3.3-70b",
            "--precision",
            "fp8",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("unknown accelerator 'tpu'") && err.contains("mi355x"),
        "{err}"
    );
}

#[test]
fn calibrate_compares_published_points() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Llama_3_3_70B_Instruct_1K_1K_interactivity.json"),
        r#"{"metadata":{},"data":[
          {"x":125.9,"y":120.5,"conc":4,"tp":8,"hwKey":"h200","precision":"fp8","tpPerGpu":{"y":120.5,"roof":false}},
          {"x":77.5,"y":1195.9,"conc":64,"tp":8,"hwKey":"h200","precision":"fp8","tpPerGpu":{"y":1195.9,"roof":false}}]}"#,
    )
    .unwrap();
    let out = dir.path().join("cmp.json");
    let o = Command::new(BIN)
        .args(["calibrate", "--published"])
        .arg(dir.path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("2 single-node published points: 2 simulated")
    );
    let v = read_json(&out);
    let pts = v.as_array().unwrap();
    assert_eq!(pts.len(), 2);
    for p in pts {
        let (sim, publ) = (
            p["sim_tput_per_gpu"].as_f64().unwrap(),
            p["tput_per_gpu"].as_f64().unwrap(),
        );
        assert!((p["tput_error"].as_f64().unwrap() - (sim / publ - 1.0)).abs() < 1e-9);
    }
}

/// InferenceMAX v1's 65 GB200 Dynamo points, each simulated on its own deployment from the v1
/// recipes: the run reproduces the committed report (`docs/calibration-v1-gb200.csv`, written by
/// `servebench calibrate --published DIR --disagg-csv docs/calibration-v1-gb200.csv`), which
/// holds every published point, and the shipped GB200 fits keep 74% of them within ±35%.
#[test]
fn calibrate_simulates_the_gb200_dynamo_points_on_their_deployments() {
    let repo = || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("gb200.csv");
    let o = Command::new(BIN)
        .args(["calibrate", "--published"])
        .arg(repo().join("data/inferencemax-v1-dashboard-2025-10-25"))
        .args(["--only", "gb200,gb200_mtp", "--disagg-csv"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("all               65 points"), "{out}");
    let rows = |text: &str| -> Vec<Vec<String>> {
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("model,isl,osl,hw_key,"));
        lines
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect()
    };
    let got = rows(&std::fs::read_to_string(&csv).unwrap());
    let want =
        rows(&std::fs::read_to_string(repo().join("docs/calibration-v1-gb200.csv")).unwrap());
    // The dashboard data's GB200 points: 35 at 1k/1k, 30 at 8k/1k.
    let published: Vec<(String, u64)> = ["1K_1K", "8K_1K"]
        .iter()
        .flat_map(|w| {
            let f = repo().join(format!(
                "data/inferencemax-v1-dashboard-2025-10-25/DeepSeek_R1_0528_{w}_interactivity.json"
            ));
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["hwKey"].as_str().unwrap().starts_with("gb200"))
                .map(|p| {
                    (
                        p["hwKey"].as_str().unwrap().to_owned(),
                        p["conc"].as_u64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(published.len(), 65);
    assert_eq!(got.len(), 65);
    for (hw, conc) in &published {
        assert!(
            got.iter().any(|r| &r[3] == hw && r[7] == conc.to_string()),
            "{hw} at {conc} not simulated"
        );
    }
    // Simulated exactly as the committed report says (the simulation is deterministic).
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g[..9], w[..9], "the same point");
        let close = |a: &str, b: &str| {
            let (a, b): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
            (a / b - 1.0).abs() < 0.002
        };
        assert!(
            close(&g[9], &w[9]) && close(&g[12], &w[12]),
            "the simulator changed; regenerate docs/calibration-v1-gb200.csv: {g:?} vs {w:?}"
        );
    }
    // Within ±35% on both tok/s/GPU and tok/s/user: 48 of 65 (the goal is all).
    let within = got
        .iter()
        .filter(|r| {
            let e = |k: usize| r[k].parse::<f64>().unwrap().abs();
            e(10) <= 0.35 && e(13) <= 0.35
        })
        .count();
    assert!(within >= 48, "{within} of 65");
}

#[test]
fn sim_with_a_gpu_serves_the_simulated_engine() {
    let sim = Sim::start(&[
        "--gpu",
        "h100",
        "--model",
        "llama-3.3-70b",
        "--precision",
        "fp8",
        "--tp",
        "4",
        "--time-scale",
        "20",
        "--tokenizer",
        "cl100k_base",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = bench(
        &[
            "--base-url",
            &sim.url,
            "--concurrency",
            "4",
            "--isl",
            "256",
            "--osl",
            "32",
            "--num-gpus",
            "4",
            "--tokenizer",
            "cl100k_base",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out);
    let p = &r; // one concurrency value: one result object
                // The served name is the catalog model's Hugging Face id, found by bench on /v1/models.
    assert_eq!(p["model_id"], "meta-llama/Llama-3.3-70B-Instruct");
    assert_eq!(p["completed"], 40);
    let stats: serde_json::Value = serde_json::from_str(&http_get(&sim.url, "/sim/stats")).unwrap();
    assert_eq!(stats["engine"]["running"], 0);
    assert!(stats["engine"]["steps"].as_u64().unwrap() >= 32 * 12 / 4);
    let csv = http_get(&sim.url, "/sim/power.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "index, power.draw [W], total_energy_consumption [J]"
    );
    assert_eq!(lines.len(), 5, "a line per GPU: {csv}");
    assert!(sim.stop().success());

    // The engine profile without a GPU says what it needs.
    let o = Command::new(BIN)
        .args(["sim", "--profile", "engine", "--port", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("needs --gpu"), "{err}");
}

#[test]
fn plan_expands_recipes_and_refuses_bad_ones_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("my-master.yaml");
    std::fs::write(
        &cfg,
        "llama-fp8-h200-sim:
  image: none
  model: meta-llama/Llama-3.3-70B-Instruct
  model-prefix: llama
  precision: fp8
  framework: sim
  runner: h200
  multinode: false
  scenarios:
    fixed-seq-len:
    - isl: 1024
      osl: 1024
      search-space:
      - {tp: 8, conc-start: 4, conc-end: 64}
      - {tp: 4, conc-list: [2]}
    - isl: 8192
      osl: 1024
      search-space:
      - {tp: 8, conc-start: 16, conc-end: 64}
",
    )
    .unwrap();
    let plan = |extra: &[&str]| {
        Command::new(BIN)
            .args(["plan", "--config-files"])
            .arg(&cfg)
            .args(extra)
            .output()
            .unwrap()
    };
    let o = plan(&[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.len(), 5 + 1 + 3);
    assert_eq!(rows[4]["conc"], 64);
    assert_eq!(rows[4]["exp-name"], "llama_1k1k");
    assert_eq!(rows[8]["run-eval"], true);
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 recipes, 9 jobs in"));
    let o = plan(&["--count"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("single_node.1k1k") && out.contains("single_node.8k1k"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["total", "9", "9", "2"]),
        "{out}"
    );
    let o = plan(&["--format", "table", "--seq-lens", "8k1k"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), 1 + 3, "{out}");
    assert!(out.lines().last().unwrap().ends_with("64  eval"), "{out}");

    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("conc-start: 16", "conc-start: 128"),
    )
    .unwrap();
    let o = plan(&[]);
    assert_eq!(o.status.code(), Some(2), "a usage error");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "{}:19:17: llama-fp8-h200-sim.scenarios.fixed-seq-len[1].search-space[0].conc-start: conc-start (128) must be <= conc-end (64)",
            cfg.display()
        )),
        "{err}"
    );
}

#[test]
fn calibrate_holds_out_each_accelerator_and_writes_the_figures() {
    // Two published gpt-oss points each on H100 and H200 (Hopper siblings).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gpt-oss_120B_1K_1K_interactivity.json"),
        r#"{"metadata":{},"data":[
          {"x":131.061,"y":980.389,"conc":16,"tp":4,"hwKey":"h100","precision":"fp4","tpPerGpu":{"y":980.389,"roof":true}},
          {"x":60.0,"y":2400.0,"conc":64,"tp":4,"hwKey":"h100","precision":"fp4","tpPerGpu":{"y":2400.0,"roof":true}},
          {"x":140.0,"y":1200.0,"conc":16,"tp":4,"hwKey":"h200","precision":"fp4","tpPerGpu":{"y":1200.0,"roof":true}},
          {"x":70.0,"y":3000.0,"conc":64,"tp":4,"hwKey":"h200","precision":"fp4","tpPerGpu":{"y":3000.0,"roof":true}}]}"#,
    )
    .unwrap();
    let file = dir.path().join("holdout.yaml");
    let o = Command::new(BIN)
        .args(["calibrate", "--published"])
        .arg(dir.path())
        .args(["--hold-out", "accelerator", "--holdout-file"])
        .arg(&file)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.starts_with("Leave one accelerator out"), "{out}");
    for held in ["h100 ", "h200 ", "all held out "] {
        assert!(
            out.lines().any(|l| l.starts_with(held) && l.contains("%")),
            "{held}: {out}"
        );
    }
    assert!(
        out.contains(
            "h100: vllm h100 fp4: borrowed (same family, same precision: median of h200 fp4)"
        ),
        "{out}"
    );
    // The file is a catalog hold-out file: four points, shares and errors in range.
    let text = std::fs::read_to_string(&file).unwrap();
    let cat = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(cat.path().join("calibration")).unwrap();
    std::fs::write(cat.path().join("calibration/holdout.yaml"), &text).unwrap();
    let mut c = servebench_catalog::Catalog::builtin().unwrap();
    c.load_dir(cat.path()).unwrap();
    let h = c.holdout.unwrap();
    assert_eq!(h.fitted_models, ["gpt-oss-120b"]);
    let held = h.leave_one_accelerator_out.unwrap();
    assert_eq!((h.in_sample.points.value, held.points.value), (4.0, 4.0));
    assert!((0.0..=1.0).contains(&held.within_35.value));
    assert!(held.median_tput_error.value > 0.0);
    // The other hold-out's section is kept from the catalog's own file.
    assert_eq!(
        h.leave_one_model_out.is_some(),
        servebench_catalog::Catalog::builtin()
            .unwrap()
            .holdout
            .unwrap()
            .leave_one_model_out
            .is_some()
    );
}

#[test]
fn simulate_says_where_the_knobs_come_from_and_what_to_expect() {
    let run = |gpu: &str| {
        let o = Command::new(BIN)
            .args([
                "simulate",
                "--gpu",
                gpu,
                "--model",
                "deepseek-r1-0528",
                "--precision",
                "fp4",
            ])
            .args(["--engine", "sglang", "--tp", "8", "--concurrency", "4"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let b200 = run("b200");
    assert!(b200.contains("engine knobs: fitted\n"), "{b200}");
    assert!(b200.contains("(in sample, "), "{b200}");
    let b300 = run("b300");
    assert!(
        b300.contains("engine knobs: borrowed (same family, same precision: median of b200 fp4)"),
        "{b300}"
    );
    assert!(b300.contains("(leave one accelerator out, "), "{b300}");
    // B300 has B200's memory and NVLink: at low concurrency (memory bound) it is no faster.
    let tput = |s: &str| -> f64 {
        s.lines()
            .find(|l| l.trim_start().starts_with("4 "))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    };
    let ratio = tput(&b300) / tput(&b200);
    assert!((0.9..1.15).contains(&ratio), "B300 / B200 at c4: {ratio}");
    // A model the fits never saw, by InferenceX's name for it: the leave-one-model-out error.
    let o = Command::new(BIN)
        .args([
            "simulate",
            "--gpu",
            "b200",
            "--model",
            "kimik2.6",
            "--precision",
            "fp4",
        ])
        .args(["--concurrency", "4"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("(leave one model out, "), "{out}");
}
