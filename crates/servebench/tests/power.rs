//! Measured GPU power end to end: `bench --power` and `sweep --power` against the simulated
//! engine (whose board power is modelled exactly), and the nvidia-smi and amd-smi samplers
//! reading stand-in programs that print what those tools print.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn run_ok(args: &[&str], dir: &Path, path: Option<&Path>) -> (Value, String) {
    let mut c = Command::new(BIN);
    c.args(args).arg("--no-progress").current_dir(dir);
    if let Some(p) = path {
        let old = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{old}", p.display()));
    }
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{args:?}: {err}");
    (
        read_json(&dir.join("r.json")),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

fn rel(a: f64, b: f64) -> f64 {
    (a / b - 1.0).abs()
}

#[test]
fn bench_measures_the_simulated_engines_power_as_its_model_has_it() {
    // 8 × H200 at 5× real time, sampled at 10 Hz over /sim/power.
    let mut args = common::LLAMA_FP8_H200.to_vec();
    args.extend([
        "--tp",
        "8",
        "--time-scale",
        "5",
        "--tokenizer",
        "cl100k_base",
    ]);
    let sim = Sim::start(&args);
    let dir = tempfile::tempdir().unwrap();
    let (r, out) = run_ok(
        &[
            "bench",
            "--base-url",
            &sim.url,
            "--concurrency",
            "4,16",
            "--isl",
            "256",
            "--osl",
            "64",
            "--num-gpus",
            "8",
            "--tokenizer",
            "cl100k_base",
            "--power",
            "sim",
            "--out",
            "r.json",
        ],
        dir.path(),
        None,
    );
    assert!(out.contains("Measured GPU power (sim)"), "{out}");
    // The same deployment and workload in virtual time: the engine's own energy accounting.
    let o = Command::new(BIN)
        .arg("simulate")
        .args(LLAMA_FP8_H200)
        .args([
            "--tp",
            "8",
            "--concurrency",
            "4,16",
            "--isl",
            "256",
            "--osl",
            "64",
            "--json",
        ])
        .output()
        .unwrap();
    let modelled: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (p, m) in r.as_array().unwrap().iter().zip(&modelled) {
        let w = &p["power"];
        assert_eq!(w["source"], "sim");
        assert_eq!(w["valid"], true, "{w}");
        assert_eq!(
            w["expected_gpus"],
            serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7])
        );
        assert!(w["sample_hz"].as_f64().unwrap() >= 9.0, "{w}");
        let total = w["total_energy_j"].as_f64().unwrap();
        let counter = w["counter_energy_j"].as_f64().unwrap();
        // The engine's power is constant within each step; 10 Hz samples see it closely,
        // its energy counter exactly.
        assert!(rel(total, counter) < 0.05, "{total} vs {counter}");
        let window = w["window_s"].as_f64().unwrap();
        assert!(rel(window, p["duration"].as_f64().unwrap()) < 1e-6);
        assert!(rel(w["avg_total_power_w"].as_f64().unwrap(), total / window) < 1e-9);
        let out_tokens = p["total_output_tokens"].as_f64().unwrap();
        assert!(
            rel(
                w["joules_per_output_token"].as_f64().unwrap(),
                total / out_tokens
            ) < 1e-9
        );
        // Measured at 5× speed, energy per token is 5× smaller than the modelled GPUs'.
        let measured = counter / out_tokens * 5.0;
        let model = m["joules_per_output_token"].as_f64().unwrap();
        assert!(
            rel(measured, model) < 0.05,
            "measured {measured} J/token, modelled {model}"
        );
        let per_gpu = w["avg_power_per_gpu_w"].as_f64().unwrap();
        assert!(
            rel(per_gpu, m["avg_power_per_gpu_w"].as_f64().unwrap()) < 0.1,
            "{per_gpu}"
        );
    }
}

#[test]
fn an_expected_gpu_never_seen_makes_the_point_invalid_and_require_power_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args([
            "bench",
            "--concurrency",
            "2",
            "--isl",
            "64",
            "--osl",
            "16",
            "--sim-time-scale",
            "5",
            "--power",
            "sim",
            "--power-gpus",
            "0,1,2,3,4,5,6,7,8",
            "--require-power",
            "--no-progress",
            "--out",
            "r.json",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("power measurement at c=2 is invalid"), "{err}");
    let r = read_json(&dir.path().join("r.json"));
    let w = &r["power"];
    assert_eq!(w["valid"], false);
    assert_eq!(w["invalid_reasons"][0]["code"], "expected_gpu_missing");
    assert_eq!(w["joules_per_output_token"], Value::Null);
    assert_eq!(
        w["per_gpu"].as_array().unwrap().len(),
        8,
        "the GPUs seen still integrate"
    );
    // A source that cannot work says so before anything runs.
    let o = Command::new(BIN)
        .args([
            "bench",
            "--concurrency",
            "1",
            "--power",
            "sim:http://127.0.0.1:1",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("power source sim:http://127.0.0.1:1"),
        "{err}"
    );
}

/// A 2-GPU bench against the embedded fixed-timing server (40 requests at concurrency 4),
/// with the stand-in programs of `bin` first on the PATH and `power` flags: its result.
fn bench_reading(bin: &tempfile::TempDir, dir: &Path, power: &[&str]) -> Value {
    let mut args = vec![
        "bench",
        "--concurrency",
        "4",
        "--num-prompts",
        "40",
        "--isl",
        "64",
        "--osl",
        "32",
        "--sim-ttft-ms",
        "20",
        "--sim-itl-ms",
        "5",
        "--num-gpus",
        "2",
        "--out",
        "r.json",
    ];
    args.extend(power);
    run_ok(&args, dir, Some(bin.path())).0
}

/// A stand-in program `name` in `dir` running `script`.
fn stand_in(dir: &Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/bash\n{script}")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn nvidia_smi_is_read_in_its_loop_mode() {
    // What nvidia-smi prints for two GPUs at 250 W and 150 W, with their energy counters in mJ
    // since the stand-in started; it refuses any other query.
    let bin = tempfile::tempdir().unwrap();
    stand_in(
        bin.path(),
        "nvidia-smi",
        r#"[[ "$*" == "--query-gpu=index,power.draw,total_energy_consumption --format=csv,noheader,nounits -lms=50" ]] || { echo "unexpected: $*" >&2; exit 2; }
t0=$(date +%s%N)
while true; do
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "0, 250.00, $(( 1000000 + ms * 250 ))"
  echo "1, 150.00, [N/A]"
  sleep 0.05
done
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let r = bench_reading(
        &bin,
        dir.path(),
        &["--power", "nvidia-smi", "--power-hz", "20"],
    );
    let w = &r["power"];
    assert_eq!(w["source"], "nvidia-smi");
    assert_eq!(w["valid"], true, "{w}");
    assert_eq!(w["seen_gpus"], serde_json::json!([0, 1]));
    let window = w["window_s"].as_f64().unwrap();
    assert!(
        rel(w["total_energy_j"].as_f64().unwrap(), 400.0 * window) < 1e-6,
        "{w}"
    );
    assert!(rel(w["avg_power_per_gpu_w"].as_f64().unwrap(), 200.0) < 1e-6);
    // GPU 0's counter (mJ → J) agrees with its power; GPU 1 has none, so no total by counter.
    let g0 = &w["per_gpu"][0];
    assert!(
        rel(g0["counter_energy_j"].as_f64().unwrap(), 250.0 * window) < 0.05,
        "{g0}"
    );
    assert_eq!(w["per_gpu"][1]["counter_energy_j"], Value::Null);
    assert_eq!(w["counter_energy_j"], Value::Null);
    assert!(w["sample_hz"].as_f64().unwrap() > 10.0, "{w}");
}

#[test]
fn amd_smi_is_polled_for_power_and_energy() {
    // What amd-smi metric --power --energy --json prints (ROCm 6.3 layout) for GPUs 0 and 1 at
    // 500 W, energy accumulators in µJ growing at that rate.
    let bin = tempfile::tempdir().unwrap();
    let start = bin.path().join("t0");
    std::fs::write(&start, "").unwrap();
    stand_in(
        bin.path(),
        "amd-smi",
        &format!(
            r#"[[ "$*" == "metric --power --energy --json" ]] || exit 2
t0=$(stat -c %Y {t0})000000000
us=$(( ($(date +%s%N) - t0) / 1000 ))
e=$(( us * 500 ))
echo '{{"gpu_data": ['
echo '{{"gpu": 0, "power": {{"socket_power": {{"value": 500, "unit": "W"}}}}, "energy": {{"total_energy_consumption": {{"value": '$e', "unit": "uJ"}}}}}},'
echo '{{"gpu": 1, "power": {{"socket_power": {{"value": 500, "unit": "W"}}}}, "energy": {{"total_energy_consumption": {{"value": '$e', "unit": "uJ"}}}}}}'
echo ']}}'
"#,
            t0 = start.display()
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let r = bench_reading(&bin, dir.path(), &["--power", "amd-smi"]);
    let w = &r["power"];
    assert_eq!(w["source"], "amd-smi");
    assert_eq!(w["valid"], true, "{w}");
    let window = w["window_s"].as_f64().unwrap();
    assert!(
        rel(w["total_energy_j"].as_f64().unwrap(), 1000.0 * window) < 1e-6,
        "{w}"
    );
    // Each reading is stamped at the middle of its call: the counters agree within the calls'
    // own spread.
    assert!(
        rel(w["counter_energy_j"].as_f64().unwrap(), 1000.0 * window) < 0.1,
        "{w}"
    );
}

#[test]
fn a_sweep_measures_every_point_and_the_store_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.yaml"),
        sim_recipe(
            "--time-scale, \"20\"",
            256,
            32,
            "{tp: 4, conc-list: [2, 8]}",
        ),
    )
    .unwrap();
    let o = Command::new(BIN)
        .args([
            "sweep",
            "--config-files",
            "r.yaml",
            "--out",
            "results",
            "--power",
            "sim",
            "--no-progress",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(BIN)
        .args(["ingest", "--store", "sqlite:s.db", "results"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut store =
        servebench_store::Store::open(&format!("sqlite:{}", dir.path().join("s.db").display()))
            .unwrap();
    let view = store
        .view(
            "llama-3.3-70b",
            256,
            32,
            None,
            servebench_store::Source::Own,
        )
        .unwrap();
    assert_eq!(view.len(), 2);
    for v in &view {
        let p = store.point(v.id).unwrap().unwrap();
        let w = p.power.expect("measured power stored with the point");
        assert!(w.valid, "{w:?}");
        assert_eq!(w.source, "sim");
        assert_eq!(w.expected_gpus, [0, 1, 2, 3], "the job's TP-4 GPUs");
        // The view's J per output token is the measured one.
        assert_eq!(v.metrics.measured_j_per_token, w.joules_per_output_token);
        assert!(w.joules_per_output_token.unwrap() > 0.0);
    }
}
