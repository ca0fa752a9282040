//! `servebench sweep` end to end with the local executor and simulated engines: a 3 × 3
//! recipe, kill -9 and resume, and failing servers.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_servebench");

/// Three TP sizes × concurrencies 1, 2, 4 on a simulated H200 deployment, 20× real time.
const RECIPE: &str = "\
llama-fp8-h200-sim:
  image: none
  model: meta-llama/Llama-3.3-70B-Instruct
  model-prefix: llama
  precision: fp8
  framework: sim
  runner: h200
  multinode: false
  engine-args: [--time-scale, \"20\"]
  health-timeout: 60
  scenarios:
    fixed-seq-len:
    - isl: 256
      osl: 32
      search-space:
      - {tp: 2, conc-start: 1, conc-end: 4}
      - {tp: 4, conc-start: 1, conc-end: 4}
      - {tp: 8, conc-start: 1, conc-end: 4}
";

fn write_recipe(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("sim-master.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

fn sweep(recipe: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .args(["sweep", "--no-progress", "--config-files"])
        .arg(recipe)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn points(out: &Path) -> Vec<(PathBuf, serde_json::Value)> {
    let dir = out.join("points/llama-fp8-h200-sim");
    let mut v: Vec<(PathBuf, serde_json::Value)> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .map(|p| {
                    let j = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                    (p, j)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn a_3x3_sim_recipe_runs_end_to_end_and_its_curves_have_the_right_shape() {
    let d = tempfile::tempdir().unwrap();
    let recipe = write_recipe(d.path(), RECIPE);
    let out = d.path().join("results");
    let o = sweep(&recipe, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("9 points: 9 measured, 0 already stored, 0 failed, 0 not run"),
        "{err}"
    );
    let pts = points(&out);
    assert_eq!(pts.len(), 9);
    // (tp, conc) → (tok/s/GPU, tok/s/user)
    let mut by = std::collections::BTreeMap::new();
    for (_, p) in &pts {
        let r = &p["result"];
        assert_eq!(r["completed"], 10 * p["concurrency"].as_u64().unwrap());
        assert_eq!(r["failed"], 0);
        let tp = p["job"]["tp"].as_u64().unwrap();
        assert_eq!(r["num_gpus"], tp);
        assert!(p["server_command"]
            .as_str()
            .unwrap()
            .contains(&format!("--tp {tp}")));
        assert_eq!(p["job"]["exp-name"], "llama_256_32");
        by.insert(
            (tp, p["concurrency"].as_u64().unwrap()),
            (
                r["tput_per_gpu"].as_f64().unwrap(),
                r["median_intvty"].as_f64().unwrap(),
            ),
        );
    }
    for tp in [2, 4, 8] {
        assert!(
            by[&(tp, 4)].0 > by[&(tp, 1)].0,
            "more concurrency, more tok/s/GPU"
        );
        assert!(
            by[&(tp, 4)].1 < by[&(tp, 1)].1,
            "more concurrency, less tok/s/user"
        );
    }
    assert!(
        by[&(8, 1)].1 > by[&(2, 1)].1,
        "bigger TP, more tok/s/user at low concurrency"
    );
    // One server per deployment, not per point.
    let logs = std::fs::read_dir(out.join("logs/llama-fp8-h200-sim"))
        .unwrap()
        .count();
    assert_eq!(logs, 3);
    // The run's record: written when the sweep started, with its executor and recipes.
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        (info["executor"].as_str(), info["engines"].as_str()),
        (Some("local"), Some("sim"))
    );
    assert!(info["recipe_files"][0].as_str().unwrap().ends_with(".yaml"));
    // Into the store, once.
    let db = format!("sqlite:{}", d.path().join("results.db").display());
    for want in [
        "9 points stored, 0 already stored",
        "0 points stored, 9 already stored",
    ] {
        let o = Command::new(BIN)
            .args(["ingest", "--store", &db, "--run", "nightly-1"])
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() && err.contains(want), "{err}");
    }
    // A report from the store: TP2's frontier read at its c2 point's interactivity gives that
    // point's throughput, and its cost at $2/GPU-hour.
    let (tput, intv) = by[&(2, 2)];
    let o = Command::new(BIN)
        .args([
            "report",
            "--store",
            &db,
            "--model",
            "meta-llama/Llama-3.3-70B-Instruct",
        ])
        .args([
            "--isl", "256", "--osl", "32", "--tier", "2", "--format", "json", "--group", "config",
        ])
        .arg(format!("--at={intv}"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "one row per config");
    assert_eq!(rows[0]["run"], "nightly-1");
    let tp2 = rows
        .iter()
        .find(|r| r["series"].as_str().unwrap().ends_with(" tp2"))
        .unwrap();
    assert!((tp2["tput_per_gpu"].as_f64().unwrap() / tput - 1.0).abs() < 1e-9);
    let cost = tp2["dollars_per_mtok"].as_f64().unwrap();
    assert!((cost - 2.0 / (tput * 3600.0 / 1e6)).abs() < 1e-9);
}

#[test]
fn killed_with_sigkill_and_rerun_it_loses_nothing_and_repeats_nothing() {
    let d = tempfile::tempdir().unwrap();
    let recipe = write_recipe(d.path(), RECIPE);
    let out = d.path().join("results");
    let mut child = Command::new(BIN)
        .args(["sweep", "--no-progress", "--config-files"])
        .arg(&recipe)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the third point to be stored (the sweep's own output), then kill -9.
    let deadline = Instant::now() + Duration::from_secs(120);
    while points(&out).len() < 3 {
        assert!(Instant::now() < deadline, "no points stored");
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended early");
        std::thread::yield_now();
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = points(&out);
    assert!(before.len() >= 3 && before.len() < 9, "{}", before.len());
    let stamps: Vec<_> = before
        .iter()
        .map(|(p, _)| (p.clone(), std::fs::read(p).unwrap()))
        .collect();
    // No half-written point: every file parsed above; no temporary file is taken for one.
    let o = sweep(&recipe, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "9 points: {} measured, {} already stored, 0 failed",
            9 - before.len(),
            before.len()
        )),
        "{err}"
    );
    assert_eq!(points(&out).len(), 9);
    for (p, bytes) in stamps {
        assert_eq!(
            std::fs::read(&p).unwrap(),
            bytes,
            "{} was measured again",
            p.display()
        );
    }
}

/// A recipe whose server cannot start (an unknown flag), before one TP of the good recipe.
fn broken_then_good() -> String {
    let broken = "\
broken-fp8-h200-sim:
  image: none
  model: meta-llama/Llama-3.3-70B-Instruct
  model-prefix: broken
  precision: fp8
  framework: sim
  runner: h200
  multinode: false
  engine-args: [--no-such-flag]
  scenarios:
    fixed-seq-len:
    - isl: 256
      osl: 32
      search-space:
      - {tp: 8, conc-list: [1]}
";
    let good = RECIPE.replace(
        "      - {tp: 4, conc-start: 1, conc-end: 4}\n      - {tp: 8, conc-start: 1, conc-end: 4}\n",
        "",
    );
    format!("{broken}{good}")
}

#[test]
fn a_server_that_never_gets_healthy_is_recorded_and_the_sweep_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let recipe = write_recipe(d.path(), &broken_then_good());
    let out = d.path().join("results");
    let o = sweep(&recipe, &out, &["--retries", "1"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("4 points: 3 measured, 0 already stored, 1 failed, 0 not run"),
        "{err}"
    );
    let failed: Vec<_> = std::fs::read_dir(out.join("failed/broken-fp8-h200-sim"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(failed.len(), 1);
    let f: serde_json::Value = serde_json::from_slice(&std::fs::read(&failed[0]).unwrap()).unwrap();
    assert_eq!(f["attempts"], 2);
    assert!(
        f["reason"]
            .as_str()
            .unwrap()
            .starts_with("the server exited"),
        "{f}"
    );
    assert!(
        f["log_tail"].as_str().unwrap().contains("--no-such-flag"),
        "{f}"
    );
    assert_eq!(points(&out).len(), 3);
    // Ingested, the run keeps its jobs: 3 of 4 succeeded on H200, and the failed one with why.
    let db = format!("sqlite:{}", d.path().join("s.db").display());
    let o = Command::new(BIN)
        .args(["ingest", "--store", &db, "--run", "night-1"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("3 of 4 jobs succeeded; 1 failed jobs stored"),
        "{err}"
    );
    let mut store = servebench_store::Store::open_read_only(&db).unwrap();
    let stats = store.job_stats().unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(
        (
            stats[0].stat.hardware.as_str(),
            stats[0].stat.succeeded,
            stats[0].stat.total
        ),
        ("h200", 3, 4)
    );
    let jobs = store.failed_jobs().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!((jobs[0].conc, jobs[0].attempts), (1, 2));
    assert_eq!(
        jobs[0].model, "llama-3.3-70b",
        "stored under the catalog's model id"
    );
    assert_eq!(
        jobs[0].config_key,
        "h200|sim|llama-3.3-70b|fp8|none|agg|tp8"
    );
    assert_eq!(jobs[0].reason, f["reason"].as_str().unwrap());
}

#[test]
fn fail_fast_and_a_failed_canary_stop_the_sweep() {
    let d = tempfile::tempdir().unwrap();
    let recipe = write_recipe(d.path(), &broken_then_good());
    for flag in ["--fail-fast", "--canary"] {
        let out = d.path().join(flag.trim_start_matches('-'));
        let o = sweep(&recipe, &out, &[flag]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("4 points: 0 measured, 0 already stored, 1 failed, 3 not run"),
            "{flag}: {err}"
        );
        assert!(points(&out).is_empty());
    }
}

/// The SLURM cluster scripts/test.sh started (`SERVEBENCH_TEST_SLURM_CONF`); `None` (the test
/// then says it did not run) where services are not required ([`common::require_service`]).
fn slurm_conf() -> Option<String> {
    common::require_service("SLURM", "SERVEBENCH_TEST_SLURM_CONF")
}

/// `sweep --executor slurm` of `recipe` into `out` on the cluster `conf` names, polled every
/// 0.2 s, with `extra` arguments.
fn slurm_sweep(recipe: &Path, out: &Path, conf: &str, extra: &[&OsStr]) -> Output {
    let mut args: Vec<&OsStr> = ["--executor", "slurm", "--poll-interval", "0.2"]
        .map(OsStr::new)
        .to_vec();
    args.extend_from_slice(extra);
    Command::new(BIN)
        .args(["sweep", "--no-progress", "--config-files"])
        .arg(recipe)
        .arg("--out")
        .arg(out)
        .args(args)
        .env("SLURM_CONF", conf)
        .output()
        .unwrap()
}

#[test]
fn a_slurm_sweep_runs_as_one_job_array_on_a_real_cluster_and_resumes() {
    let Some(conf) = slurm_conf() else { return };
    let d = tempfile::tempdir().unwrap();
    let recipe = write_recipe(d.path(), &broken_then_good());
    let out = d.path().join("results");
    let run = || slurm_sweep(&recipe, &out, &conf, &[]);
    let o = run();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("4 points: 3 measured, 0 already stored, 1 failed, 0 not run"),
        "{err}"
    );
    assert_eq!(points(&out).len(), 3);
    // One array of 4 tasks (one per job), each task's log collected.
    let scripts: Vec<PathBuf> = std::fs::read_dir(out.join("slurm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sbatch"))
        .collect();
    assert_eq!(scripts.len(), 1);
    assert!(std::fs::read_to_string(&scripts[0])
        .unwrap()
        .contains("#SBATCH --array=0-3\n"));
    let logs = std::fs::read_dir(out.join("logs/slurm")).unwrap().count();
    assert_eq!(logs, 4);
    let failed = out.join("failed/broken-fp8-h200-sim");
    assert_eq!(std::fs::read_dir(failed).unwrap().count(), 1);
    // Rerun: the stored points are not submitted again; only the failed job's task is.
    let o = run();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("4 points: 0 measured, 3 already stored, 1 failed"),
        "{err}"
    );
    let arrays = std::fs::read_dir(out.join("slurm"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sbatch")
        })
        .count();
    assert_eq!(arrays, 2);
}

#[test]
fn a_real_engine_recipe_runs_locally_on_the_simulated_engine_by_default() {
    let d = tempfile::tempdir().unwrap();
    let recipe = write_recipe(
        d.path(),
        "\
llama-fp8-h100-vllm:
  image: vllm/vllm-openai:v0.11.0
  model: meta-llama/Llama-3.3-70B-Instruct
  model-prefix: llama
  precision: fp8
  framework: vllm
  runner: h100
  multinode: false
  engine-args: [--kv-cache-dtype, fp8]
  scenarios:
    fixed-seq-len:
    - isl: 256
      osl: 16
      search-space:
      - {tp: 4, conc-list: [2]}
",
    );
    let out = d.path().join("results");
    let o = sweep(&recipe, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let dir = out.join("points/llama-fp8-h100-vllm");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let cmd = p["server_command"].as_str().unwrap();
    assert!(
        cmd.contains(" sim ") && cmd.contains("--gpu h100") && cmd.contains("--engine vllm"),
        "{cmd}"
    );
    assert!(
        !cmd.contains("--kv-cache-dtype"),
        "vLLM's own arguments stay with vLLM: {cmd}"
    );
    assert_eq!(p["result"]["completed"], 20);
    assert_eq!(p["result"]["model_id"], "meta-llama/Llama-3.3-70B-Instruct");
    // With the real engine asked for where it is not installed, the point fails with the
    // reason and the command, and the sweep says so in its exit code.
    let out = d.path().join("real");
    let o = Command::new(BIN)
        .args([
            "sweep",
            "--no-progress",
            "--engines",
            "real",
            "--config-files",
        ])
        .arg(&recipe)
        .arg("--out")
        .arg(&out)
        .env("PATH", d.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("1 points: 0 measured, 0 already stored, 1 failed"),
        "{err}"
    );
    let failed = std::fs::read_dir(out.join("failed/llama-fp8-h100-vllm"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let f: serde_json::Value = serde_json::from_slice(&std::fs::read(failed).unwrap()).unwrap();
    let reason = f["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("cannot start the server: 'vllm' is not installed here")
            && reason.contains(
                "command: vllm serve meta-llama/Llama-3.3-70B-Instruct --host 127.0.0.1 --port "
            )
            && reason.ends_with("--kv-cache-dtype fp8"),
        "{reason}"
    );
}

#[test]
fn a_slurm_sweep_passes_power_and_evals_on_to_its_tasks() {
    let Some(conf) = slurm_conf() else { return };
    let d = tempfile::tempdir().unwrap();
    let evals = common::eval_fixtures();
    let recipe = write_recipe(
        d.path(),
        &common::sim_recipe(
            &format!(
                "--time-scale, \"200\", --answers, {}",
                evals.join("answers-gsm8k.jsonl").display()
            ),
            8192,
            1024,
            "{tp: 8, conc-list: [16]}",
        ),
    );
    let out = d.path().join("results");
    let (data, fewshot) = (evals.join("gsm8k.jsonl"), evals.join("gsm8k-train.jsonl"));
    let mut extra: Vec<&OsStr> = ["--power", "sim", "--eval-task", "gsm8k", "--eval-data"]
        .map(OsStr::new)
        .to_vec();
    extra.extend([
        data.as_os_str(),
        OsStr::new("--eval-fewshot-data"),
        fewshot.as_os_str(),
    ]);
    let o = slurm_sweep(&recipe, &out, &conf, &extra);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("1 points: 1 measured"), "{err}");
    assert!(
        err.contains(
            "gsm8k evals: 1 stored by the cluster's tasks, 0 could not run, 1 below threshold"
        ),
        "{err}"
    );
    // The task measured power over its point's window and ran the eval at the marked point.
    let (_, p) = points(&out).remove(0);
    assert_eq!(
        p["result"]["power"]["valid"], true,
        "{}",
        p["result"]["power"]
    );
    assert_eq!(
        p["result"]["power"]["expected_gpus"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    let script = std::fs::read_dir(out.join("slurm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "sbatch"))
        .unwrap();
    let script = std::fs::read_to_string(script).unwrap();
    assert!(
        script.contains(" --eval-task gsm8k --eval-data /") && script.contains(" --power sim "),
        "{script}"
    );
}

#[test]
fn the_virtual_time_executor_writes_a_local_sweeps_results_from_the_engine_model() {
    let d = tempfile::tempdir().unwrap();
    let recipe = write_recipe(d.path(), RECIPE);
    let out = d.path().join("results");
    let o = sweep(&recipe, &out, &["--executor", "virtual-time"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("9 points: 9 simulated in virtual time"),
        "{err}"
    );
    let pts = points(&out);
    assert_eq!(pts.len(), 9);
    // TP2 at concurrency 4, against `simulate` (the engine model's own aggregation): the
    // records the sweep built and the client's metrics give the same figures.
    let (_, p) = pts
        .iter()
        .find(|(_, p)| p["job"]["tp"] == 2 && p["concurrency"] == 4)
        .unwrap();
    let o = Command::new(BIN)
        .arg("simulate")
        .args(common::LLAMA_FP8_H200)
        .args([
            "--tp",
            "2",
            "--concurrency",
            "4",
            "--isl",
            "256",
            "--osl",
            "32",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &p["result"];
    let close = |a: &serde_json::Value, b: &serde_json::Value| {
        let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
        (a / b - 1.0).abs() < 1e-6
    };
    assert!(close(&r["tput_per_gpu"], &s["tput_per_gpu"]), "{r} vs {s}");
    assert!(
        close(&r["median_intvty"], &s["median_intvty"]),
        "{r} vs {s}"
    );
    assert_eq!(r["completed"], 40);
    assert_eq!(r["max_concurrency"], 4);
    // What the simulator says of itself: vLLM's H200 FP8 fit, and the in-sample error.
    assert_eq!(p["simulator"]["knobs"]["kind"], "fitted");
    assert!(
        p["simulator"]["simulated_joules_per_output_token"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(p["simulator"]["expected_error"]["basis"], "in sample");
    assert_eq!(p["server_command"], "(none: simulated in virtual time)");
    // Run again: nothing to do. Then into the store and a report, as a local sweep's.
    let o = sweep(&recipe, &out, &["--executor", "virtual-time"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("0 simulated in virtual time") && err.contains("9 already stored"),
        "{err}"
    );
    let db = format!("sqlite:{}", d.path().join("s.db").display());
    let o = Command::new(BIN)
        .args(["ingest", "--store", &db])
        .arg(&out)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("9 points stored"));
    let mut store = servebench_store::Store::open_read_only(&db).unwrap();
    let v = store
        .view(
            "llama-3.3-70b",
            256,
            32,
            None,
            servebench_store::Source::Own,
        )
        .unwrap();
    let detail = store.point(v[0].id).unwrap().unwrap();
    assert_eq!(detail.point.provenance["simulator"]["gpu"], "h200");
    assert_eq!(store.runs().unwrap()[0].executor, "virtual-time");
    assert_eq!(v[0].simulated.as_ref().unwrap()["basis"], "in sample");
    // Reports say which points are simulated and what error to expect of them.
    let o = Command::new(BIN)
        .args([
            "report",
            "frontier",
            "--store",
            &db,
            "--model",
            "llama-3.3-70b",
        ])
        .args(["--isl", "256", "--osl", "32", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("simulated points: 9 expecting the in sample error (100% within ±35%"),
        "{notes}"
    );
    // Points the simulator cannot run fail one by one, saying why (BF16 Llama-70B on one
    // H200: 141 GB of weights), and the others are stored.
    let bad = write_recipe(
        d.path(),
        &RECIPE
            .replace("precision: fp8", "precision: bf16")
            .replace("{tp: 2,", "{tp: 1,"),
    );
    let o = sweep(&bad, &d.path().join("bad"), &["--executor", "virtual-time"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("6 simulated in virtual time") && err.contains("3 failed"),
        "{err}"
    );
    assert!(
        err.contains("not simulated: ") && err.contains("needs 141"),
        "{err}"
    );
}

/// A sweep of one point that failed (exit 1, the summary says so): its failure record.
fn one_failed_point(o: &Output, dir: &Path) -> serde_json::Value {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("1 points: 0 measured, 0 already stored, 1 failed"),
        "{err}"
    );
    only_json(dir)
}

/// The one JSON file in `dir` (a job's one point, or its one failure).
/// Why each failed point of a sweep failed (its recorded reason and log tail), for messages.
fn failure_reasons(out: &Path) -> String {
    let mut files = Vec::new();
    let mut dirs = vec![out.join("failed")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
    }
    let mut text = String::new();
    for f in files {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&f).unwrap_or_default()).unwrap_or_default();
        text += &format!("\n{}: {} {}", f.display(), v["reason"], v["log_tail"]);
    }
    text
}

fn only_json(dir: &Path) -> serde_json::Value {
    let file = std::fs::read_dir(dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
}

/// A multi-node job on the real test cluster: one allocation whose workers are Slurm steps
/// (`srun`) on its node, health-checked, behind the router; the point measured through them
/// equals the same deployment simulated in virtual time on the client's exact requests.
#[test]
fn a_multi_node_job_runs_its_workers_as_slurm_steps_and_matches_virtual_time() {
    use servebench_sim::disagg::{simulate_disagg_lengths, Disagg, KvLink, Pool};
    use servebench_sim::perf::{Deployment, PerfModel};
    let Some(conf) = slurm_conf() else { return };
    let d = tempfile::tempdir().unwrap();
    let recipe = write_recipe(d.path(), &common::multi_node_recipe("8"));
    let out = d.path().join("results");
    let scale = 4.0;
    let extra = [
        "--engines",
        "sim",
        "--sim-time-scale",
        "4",
        "--slurm-max-nodes",
        "1",
    ];
    let o = slurm_sweep(&recipe, &out, &conf, &extra.map(OsStr::new));
    let err = String::from_utf8_lossy(&o.stderr);
    let why = failure_reasons(&out);
    assert!(o.status.success(), "{err}{why}");
    assert!(err.contains("1 points: 1 measured"), "{err}{why}");
    let p = only_json(&out.join("points/llama-fp8-h200-dynamo-vllm"));
    // The router here, each worker a step on the allocation's node.
    let cmds: Vec<&str> = p["server_command"].as_str().unwrap().lines().collect();
    assert_eq!(cmds.len(), 4, "{cmds:?}");
    assert!(cmds[0].contains("sim --role router --prefill http://"));
    for (c, role, tp) in [
        (cmds[1], "prefill", 2),
        (cmds[2], "prefill", 2),
        (cmds[3], "decode", 4),
    ] {
        assert!(c.starts_with("srun --overlap --nodes=1 --ntasks=1"), "{c}");
        assert!(c.contains(&format!("sim --role {role} ")) && c.contains(&format!("--tp {tp} ")));
    }
    assert!(cmds[3].contains("--kv-link scale-up"));
    let logs = out.join("logs/llama-fp8-h200-dynamo-vllm");
    let mut names: Vec<String> = std::fs::read_dir(logs)
        .unwrap()
        .map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.rsplit_once("_c8.").unwrap().1.to_string()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "decode-0.log",
            "prefill-0.log",
            "prefill-1.log",
            "router.log"
        ]
    );

    // The same requests in virtual time.
    let r = &p["result"];
    let lens: Vec<(u64, u64)> = (r["input_lens"].as_array().unwrap().iter())
        .zip(r["output_lens"].as_array().unwrap())
        .map(|(i, o)| (i.as_u64().unwrap(), o.as_u64().unwrap()))
        .collect();
    assert_eq!(lens.len(), 80);
    let c = servebench_catalog::Catalog::builtin().unwrap();
    let perf = |tp| {
        let d = Deployment::from_catalog(
            &c,
            "h200",
            "llama-3.3-70b",
            "vllm",
            servebench_catalog::Precision::Fp8,
            tp,
        );
        PerfModel::new(d.unwrap()).unwrap()
    };
    let (pre, dec) = (perf(2), perf(4));
    let dis = Disagg {
        prefill: Pool {
            perf: &pre,
            workers: 2,
        },
        decode: Pool {
            perf: &dec,
            workers: 1,
        },
        link: KvLink::between(&dec.dep, 8).unwrap(),
    };
    let v = simulate_disagg_lengths(&dis, 8, &lens[..16], &lens);
    let (vt, vi) = (v.tput_per_gpu(8), v.median_interactivity());
    let rt = r["tput_per_gpu"].as_f64().unwrap() / scale;
    let ri = r["median_intvty"].as_f64().unwrap() / scale;
    eprintln!("through slurm: tput {rt:.1} intv {ri:.1}; virtual time: tput {vt:.1} intv {vi:.1}");
    assert!(
        (rt / vt - 1.0).abs() < 0.05,
        "throughput per GPU {rt:.1} vs {vt:.1}"
    );
    assert!(
        (ri / vi - 1.0).abs() < 0.05,
        "median interactivity {ri:.1} vs {vi:.1}"
    );
}

/// A multi-node job whose worker cannot start (the real-time simulated engine runs no
/// pipeline stages) is recorded as failed, naming the worker and with its log's tail; the
/// sweep goes on.
#[test]
fn a_multi_node_worker_that_never_gets_healthy_fails_its_job_with_the_reason() {
    let d = tempfile::tempdir().unwrap();
    let recipe = write_recipe(
        d.path(),
        &common::multi_node_recipe("8").replace(
            "decode: {num-worker: 1, tp: 4, ep: 1, dp-attn: false}",
            "decode: {num-worker: 1, tp: 4, pp: 2, ep: 1, dp-attn: false}",
        ),
    );
    let out = d.path().join("results");
    let o = sweep(&recipe, &out, &["--sim-time-scale", "4"]);
    let f = one_failed_point(&o, &out.join("failed/llama-fp8-h200-dynamo-vllm"));
    let reason = f["reason"].as_str().unwrap();
    assert!(reason.starts_with("decode-0 exited"), "{reason}");
    assert!(f["log_tail"].as_str().unwrap().contains("--pp 2"), "{f}");
}

/// An aggregated multi-node row of real engines (Dynamo SGLang) naming its srt-slurm recipe.
const REAL_MULTI_NODE: &str = "\
dsr1-fp8-h200-dynamo-sglang:
  image: none
  model: deepseek-ai/DeepSeek-R1-0528
  model-prefix: dsr1
  precision: fp8
  framework: dynamo-sglang
  runner: h200
  multinode: true
  disagg: false
  scenarios:
    fixed-seq-len:
    - isl: 1024
      osl: 128
      search-space:
      - conc-list: [8]
        prefill:
          num-worker: 1
          tp: 8
          ep: 1
          dp-attn: false
          additional-settings: [\"CONFIG_FILE=recipes/agg.yaml\"]
        decode: {num-worker: 0, tp: 8, ep: 1, dp-attn: false}
";

const AGG_RECIPE: &str = "\
name: agg
resources: {gpu_type: h200, gpus_per_node: 8, agg_nodes: 1, agg_workers: 1}
backend:
  type: sglang
  aggregated_environment: {SGLANG_TEST_SETTING: \"1\"}
  sglang_config:
    aggregated: {tensor-parallel-size: 8, served-model-name: deepseek-ai/DeepSeek-R1}
";

/// A real-engine multi-node row on the test cluster: its recipe found where `--srt-recipes`
/// says; etcd and NATS started for real as steps of the allocation and ready on their ports;
/// the worker and Dynamo's frontend started as steps with the recipe's commands. Dynamo is not
/// installed here, so the deployment never comes up: the job fails with what exited and
/// Python's own words for why, and its processes are gone afterwards.
#[test]
fn a_real_engine_multi_node_job_starts_its_recipes_processes_as_slurm_steps() {
    let Some(conf) = slurm_conf() else { return };
    let Some(_) = common::require_service("etcd, NATS and nginx", "SERVEBENCH_TEST_DYNAMO_INFRA")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let recipe = write_recipe(d.path(), REAL_MULTI_NODE);
    let recipes = d.path().join("srt-slurm");
    std::fs::create_dir_all(recipes.join("recipes")).unwrap();
    std::fs::write(recipes.join("recipes/agg.yaml"), AGG_RECIPE).unwrap();
    let out = d.path().join("results");
    let extra = [
        OsStr::new("--health-timeout"),
        OsStr::new("120"),
        OsStr::new("--srt-recipes"),
        recipes.as_os_str(),
    ];
    let o = slurm_sweep(&recipe, &out, &conf, &extra);
    let f = one_failed_point(&o, &out.join("failed/dsr1-fp8-h200-dynamo-sglang"));
    let reason = f["reason"].as_str().unwrap();
    assert!(
        // The worker or the frontend, whichever exits first (not etcd or NATS).
        (reason.starts_with("aggregated-0 exited (exit status: 1) before ")
            || reason.starts_with("frontend exited (exit status: 1) before "))
            && reason.ends_with(": 0 of 0 prefill and 0 of 1 decode workers registered"),
        "{reason}"
    );
    let tail = f["log_tail"].as_str().unwrap();
    assert!(tail.contains("No module named 'dynamo'"), "{tail}");
    // Each process's log, the infra's showing it served.
    let logs = out.join("logs/dsr1-fp8-h200-dynamo-sglang");
    let log = |suffix: &str| -> String {
        let f = std::fs::read_dir(&logs)
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix} log in {}", logs.display()));
        std::fs::read_to_string(f.path()).unwrap()
    };
    // The process that exited first logged why; the other may have been torn down with the
    // job before its own import failed, but it was started and has its log.
    let (first, other) = if reason.starts_with("aggregated-0") {
        ("aggregated-0", "frontend")
    } else {
        ("frontend", "aggregated-0")
    };
    for (process, says) in [
        ("nats", "Server is ready"),
        // etcd takes its address from the allocation (NodeAddr).
        ("etcd", "advertise client URLs = http://127.0.0.1:2379"),
        (first, "No module named 'dynamo'"),
    ] {
        let text = log(&format!(".{process}.log"));
        assert!(text.contains(says), "{process}: {text}");
    }
    log(&format!(".{other}.log"));
    // Torn down with the job: etcd's and NATS's ports are free again.
    for port in [2379, 4222] {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still open"
        );
    }
}

/// The nginx a real-engine deployment puts in front of several Dynamo frontends, run for real
/// with the configuration servebench generates: two `servebench sim` servers stand in for the
/// frontends, at the addresses and port the deployment gave them (nodes on 127.0.0.2 and
/// 127.0.0.3). Every request reaches one of them, both get their share, and tokens stream
/// through as they come: the first arrives well before the last.
#[test]
fn the_nginx_in_front_of_several_frontends_balances_and_streams() {
    use servebench_sweep::cluster::{deployment, Node};
    use servebench_sweep::engine::{Engines, Launch};
    let Some(_) = common::require_service("etcd, NATS and nginx", "SERVEBENCH_TEST_DYNAMO_INFRA")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let recipes = d.path().join("srt");
    std::fs::create_dir_all(&recipes).unwrap();
    std::fs::write(
        recipes.join("p1d2.yaml"),
        "name: p1d2
resources: {gpu_type: h200, gpus_per_node: 8, prefill_nodes: 1, prefill_workers: 1, decode_nodes: 2, decode_workers: 2}
backend: {type: sglang}
",
    )
    .unwrap();
    let row = REAL_MULTI_NODE
        .replace("disagg: false", "disagg: true\n  kv-p2p-transfer: nixl")
        .replace("recipes/agg.yaml", "recipes/p1d2.yaml")
        .replace("decode: {num-worker: 0", "decode: {num-worker: 2");
    let master = write_recipe(d.path(), &row);
    let r = servebench_sweep::load_recipes(&[master]).unwrap();
    let o = servebench_sweep::plan::PlanOptions {
        single_node: false,
        multi_node: true,
        ..Default::default()
    };
    let job = servebench_sweep::plan::plan(&r, &Default::default(), &o)
        .unwrap()
        .remove(0);
    let nodes: Vec<Node> = (1..=3)
        .map(|i| Node {
            name: format!("n{i}"),
            addr: format!("127.0.0.{i}"),
        })
        .collect();
    let l = Launch {
        engines: Engines::Recipe,
        host: "127.0.0.1".into(),
        port: 0,
        servebench: BIN.into(),
        tokenizer: "cl100k_base".into(),
        sim_time_scale: None,
        recipes: servebench_sweep::cluster::LaunchRecipes {
            srt: vec![recipes],
            inferencex: None,
        },
    };
    let dep = deployment(&job, &l, &nodes, || unreachable!()).unwrap();
    assert_eq!(dep.frontends.len(), 2);
    // The frontends' stand-ins, where the deployment put the frontends.
    let sims: Vec<common::Sim> = dep
        .frontends
        .iter()
        .map(|f| {
            let (host, port) = (&nodes[f.node()].addr, f.port.unwrap().to_string());
            let mut args = vec!["sim", "--host", host, "--port", &port];
            args.extend(common::LLAMA_FP8_H200);
            args.extend([
                "--tp",
                "8",
                "--time-scale",
                "4",
                "--tokenizer",
                "cl100k_base",
            ]);
            common::Sim::start_with(&args, None)
        })
        .collect();
    let mut nginx = dep.router.command.clone();
    nginx.place_files(d.path()).unwrap();
    let mut child = Command::new(&nginx.program)
        .args(&nginx.args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let listen = dep.router.port.unwrap();
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", listen)).is_err() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "nginx exited: {}",
            nginx.shell_line()
        );
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "nginx not listening"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = d.path().join("r.json");
    let b = Command::new(BIN)
        .args([
            "bench",
            "--no-progress",
            "--base-url",
            &format!("http://127.0.0.1:{listen}"),
        ])
        .args([
            "--isl",
            "256",
            "--osl",
            "64",
            "--concurrency",
            "4",
            "--num-prompts",
            "24",
        ])
        .args([
            "--warmups",
            "0",
            "--tokenizer",
            "cl100k_base",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let r = common::read_json(&out);
    assert_eq!(
        (r["completed"].as_u64(), r["failed"].as_u64()),
        (Some(24), Some(0)),
        "{r}"
    );
    let accepted: Vec<u64> = sims
        .iter()
        .map(|s| {
            let stats: serde_json::Value =
                serde_json::from_str(&common::http_get(&s.url, "/sim/stats")).unwrap();
            stats["accepted"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(accepted.iter().sum::<u64>(), 24, "{accepted:?}");
    assert!(accepted.iter().all(|&n| n > 0), "{accepted:?}");
    let (ttft, e2e) = (
        r["median_ttft_ms"].as_f64().unwrap(),
        r["median_e2el_ms"].as_f64().unwrap(),
    );
    assert!(
        ttft < 0.5 * e2e,
        "TTFT {ttft} ms of {e2e} ms: tokens did not stream"
    );
}

/// `plan --format commands`: a dry run of a real-engine multi-node row, its processes on the
/// nodes srt-slurm puts them (the SGLang low-latency recipe srt-slurm's own rendering of is
/// in servebench-sweep's fixtures: prefill on node00, a decode worker on each of node01–04,
/// nginx on node00 in front of a frontend on each of node01–04), and a row it cannot run
/// with the reason; exit 1 for that one.
#[test]
fn plan_shows_what_a_real_multi_node_job_would_start() {
    let d = tempfile::tempdir().unwrap();
    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../servebench-sweep/tests/fixtures/srt-slurm"
    );
    let row = REAL_MULTI_NODE
        .replace(
            "dsr1-fp8-h200-dynamo-sglang",
            "dsr1-fp4-gb200-dynamo-sglang",
        )
        .replace("runner: h200", "runner: gb200")
        .replace("disagg: false", "disagg: true\n  kv-p2p-transfer: nixl")
        .replace("tp: 8", "tp: 4")
        .replace(
            "recipes/agg.yaml",
            "recipes/sglang-dsr1-fp4-gb200-low-latency.yaml",
        )
        .replace(
            "decode: {num-worker: 0, tp: 4",
            "decode: {num-worker: 4, tp: 4",
        );
    let missing = REAL_MULTI_NODE.replace("recipes/agg.yaml", "recipes/missing.yaml");
    let master = write_recipe(d.path(), &(row + &missing));
    let o = Command::new(BIN)
        .args(["plan", "--format", "commands", "--config-files"])
        .arg(&master)
        .args(["--srt-recipes", fixtures])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let line = |start: &str| {
        out.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting {start:?} in\n{out}"))
    };
    assert!(line("node00 nats: ").contains("nats-server -js"));
    assert!(line("node00 etcd: ").contains("--advertise-client-urls http://node00:2379"));
    let prefill = line("node00 prefill-0: ");
    assert!(
        prefill.contains("python3 -m dynamo.sglang")
            && prefill.contains("--disaggregation-mode prefill"),
        "{prefill}"
    );
    for (i, node) in ["node01", "node02", "node03", "node04"].iter().enumerate() {
        assert!(line(&format!("{node} decode-{i}: ")).contains("--disaggregation-mode decode"));
        assert!(line(&format!("{node} frontend-{i}: ")).contains("python3 -m dynamo.frontend"));
    }
    assert!(line("node00 nginx [reads nginx.conf]: ").contains("nginx -c nginx.conf"));
    assert!(
        line("# cannot run: ").contains("CONFIG_FILE=recipes/missing.yaml: not found under"),
        "{out}"
    );
}

/// An AMD disaggregated SGLang row (InferenceX's `sglang-disagg`) shown with the processes
/// InferenceX's own launcher starts for it, from the `models.yaml` and `env.sh` of
/// `--inferencex`; without that flag, the job says which flag it needs.
#[test]
fn plan_shows_an_amd_disaggregated_sglang_job_from_an_inferencex_checkout() {
    let d = tempfile::tempdir().unwrap();
    let checkout = d.path().join("InferenceX");
    let utils = checkout.join("benchmarks/multi_node/amd_utils");
    std::fs::create_dir_all(&utils).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../servebench-sweep/tests/fixtures/ix-amd/models.yaml"
        ),
        utils.join("models.yaml"),
    )
    .unwrap();
    std::fs::write(utils.join("env.sh"), "export IBDEVICES=rdma0\n").unwrap();
    let row = "\
dsr1-fp4-mi355x-sglang-disagg:
  image: img
  model: amd/DeepSeek-R1-0528-MXFP4-v2
  model-prefix: dsr1
  runner: mi355x
  precision: fp4
  framework: sglang-disagg
  multinode: true
  disagg: true
  kv-p2p-transfer: mori
  scenarios:
    fixed-seq-len:
    - isl: 8192
      osl: 1024
      search-space:
      - conc-list: [512, 128]
        prefill: {num-worker: 1, tp: 8, ep: 8, dp-attn: true, additional-settings: [PREFILL_NODES=1]}
        decode: {num-worker: 1, tp: 8, ep: 8, dp-attn: true, additional-settings: [DECODE_NODES=1, DECODE_MTP_SIZE=1]}
";
    let master = write_recipe(d.path(), row);
    let plan = |extra: &[&OsStr]| {
        let o = Command::new(BIN)
            .args(["plan", "--format", "commands", "--config-files"])
            .arg(&master)
            .args(extra)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, out) = plan(&[OsStr::new("--inferencex"), checkout.as_os_str()]);
    assert_eq!(code, Some(0), "{out}");
    let line = |start: &str| {
        out.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting {start:?} in\n{out}"))
            .to_string()
    };
    let env_sh = utils.join("env.sh").canonicalize().unwrap();
    let prefill = line("node00 prefill-0: ");
    // DP attention with EP: the row's largest concurrency caps both roles (server_sglang.sh),
    // and 512 / 8 ranks dispatch tokens per decode rank, twice that as the switch threshold;
    // MTP 1 doubles the decode's (hand-computed: 512 / 8 = 64, × 2 = 128).
    for says in [
        "python3 -m sglang.launch_server --model-path amd/DeepSeek-R1-0528-MXFP4-v2 --disaggregation-mode prefill",
        "--tp-size 8 --ep-size 8 --dp-size 8 ",
        "--max-running-requests 512 ",
        "--chunked-prefill-size \"$(( ${MORI_MAX_DISPATCH_TOKENS_PREFILL:?",
        "export SGLANG_MORI_DISPATCH_INTER_KERNEL_SWITCH_THRESHOLD=128",
        "--speculative-num-steps 1 --speculative-num-draft-tokens 2",
        &env_sh.display().to_string(),
    ] {
        assert!(prefill.contains(says), "{says} not in {prefill}");
    }
    let decode = line("node01 decode-0: ");
    for says in [
        "MORI_MAX_DISPATCH_TOKENS_DECODE=64; ",
        "MORI_MAX_DISPATCH_TOKENS_DECODE=$((MORI_MAX_DISPATCH_TOKENS_DECODE * 2))",
        "--disaggregation-mode decode",
        "--max-running-requests 512 ",
    ] {
        assert!(decode.contains(says), "{says} not in {decode}");
    }
    let router = line("node00 router: ");
    assert!(
        router.contains("exec python -m sglang_router.launch_router --pd-disaggregation")
            && router.contains("--prefill http://node00:30000 --decode http://node01:30001'"),
        "{router}"
    );
    let (code, out) = plan(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("# cannot run: dsr1-fp4-mi355x-sglang-disagg: a sglang-disagg row is launched by InferenceX's own scripts, from the files of its checkout (benchmarks/): pass it with --inferencex DIR"),
        "{out}"
    );
}

/// Runs `servebench` with `args`; its standard output, once it succeeded.
fn run_ok(args: &[&OsStr]) -> Vec<u8> {
    let o = Command::new(BIN).args(args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

/// `report frontier --agentic` of the Llama agentic sweep's points in `store`, one frontier
/// per config, as JSON.
fn agentic_frontier(store: &str, source: &str) -> serde_json::Value {
    let args = [
        "report",
        "frontier",
        "--store",
        store,
        "--model",
        "meta-llama/Llama-3.3-70B-Instruct",
        "--agentic",
        "--group",
        "config",
        "--source",
        source,
        "--format",
        "json",
    ]
    .map(OsStr::new);
    serde_json::from_slice(&run_ok(&args)).unwrap()
}

/// InferenceX's agentic shape on the simulated engine: one row without and one with KV
/// offload to CPU memory, each replaying generated coding-agent sessions for a few seconds.
const AGENTIC: &str = "\
llama-fp8-h200-sim-agentic:
  image: none
  model: meta-llama/Llama-3.3-70B-Instruct
  model-prefix: llama
  precision: fp8
  framework: sim
  runner: cluster:h200-dgxc
  multinode: false
  health-timeout: 60
  scenarios:
    agentic-coding:
    - dram-utilization: 0.8
      search-space:
      - {tp: 8, kv-offloading: none, conc-list: [2]}
      - {tp: 8, kv-offloading: dram, kv-offload-backend: {name: native}, conc-list: [2]}
";

#[test]
fn agentic_rows_replay_sessions_on_the_simulated_engine_with_and_without_offload() {
    let d = tempfile::tempdir().unwrap();
    let recipe = d.path().join("agentic-master.yaml");
    std::fs::write(&recipe, AGENTIC).unwrap();
    let runners = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/inferencex-configs-843c6254/runners.yaml");
    let out = d.path().join("out");
    let o = sweep(
        &recipe,
        &out,
        &[
            "--runner-config",
            runners.to_str().unwrap(),
            "--agentic-profile",
            "claude-code-042026",
            "--agentic-sessions",
            "8",
            "--agentic-duration",
            "4",
            "--sim-time-scale",
            "20",
            "--agentic-warmups-per-lane",
            "1",
            "--agentic-pause-cap",
            "0.2",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = out.join("points/llama-fp8-h200-sim-agentic");
    let mut seen = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
        assert_eq!(p["job"]["scenario-type"], "agentic-coding");
        let offload = p["job"]["kv-offloading"].as_str().unwrap().to_string();
        let r = &p["result"];
        assert!(r["completed"].as_u64().unwrap() > 0);
        let a = &r["agentic"];
        // The server's own hit counters against the trace's theoretical hits on the same turns
        // (an unbounded cache: this deployment's KV holds every session).
        let (server, theory) = (
            a["server_cache_hit_rate"].as_f64().unwrap(),
            a["theoretical_hit_rate_same_turns"].as_f64().unwrap(),
        );
        assert!((server - theory).abs() < 0.01, "{server} vs {theory}");
        assert!(
            theory > 0.8,
            "coding sessions resend their context: {theory}"
        );
        // Llama 3.3 70B's context is 131,072 tokens: longer turns are left out, not sent.
        let longest = r["tokens"]["input_lengths"]["max"].as_u64().unwrap();
        assert!(longest > 0 && longest <= 131_072, "{longest}");
        let cmd = p["server_command"].as_str().unwrap();
        let metrics = p["server_metrics"]["delta"].as_object().unwrap();
        let external = metrics
            .keys()
            .any(|k| k.starts_with("vllm:external_prefix_cache_queries_total"));
        // The bench read the engine's /metrics over its window too: the same hits, and KV use.
        let w = &a["server_metrics"];
        let gpu_hits = w["gpu_cache_hit_rate"].as_f64().unwrap();
        assert!((gpu_hits - theory).abs() < 0.01, "{w}");
        let gpu_kv = w["gpu_kv_usage"]["max"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&gpu_kv), "{w}");
        if offload == "dram" {
            // InferenceX's budget: 1,471,356 MiB on h200-dgxc × 0.8 × 8 of 8 GPUs = 1,234 GB.
            assert!(cmd.contains("--kv-offload-gb 1234"), "{cmd}");
            assert!(external, "{metrics:?}");
            // Blocks written through to CPU memory stay there: in use at the window's end.
            assert!(w["cpu_kv_usage"]["max"].as_f64().unwrap() > 0.0, "{w}");
        } else {
            assert!(!cmd.contains("--kv-offload-gb"), "{cmd}");
            assert!(!external);
            assert!(w.get("cpu_kv_usage").is_none(), "{w}");
        }
        seen.push(offload);
    }
    seen.sort();
    assert_eq!(seen, ["dram", "none"]);

    // Ingested, they are two configs of the agentic-coding workload, reported against
    // E2E-normalised interactivity with their cache-hit rates.
    let store = format!("sqlite:{}", d.path().join("s.db").display());
    run_ok(&[
        OsStr::new("ingest"),
        OsStr::new("--store"),
        OsStr::new(&store),
        out.as_os_str(),
    ]);
    let v = agentic_frontier(&store, "own");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    let mut configs: Vec<String> = rows
        .iter()
        .map(|r| r["config"].as_str().unwrap().to_string())
        .collect();
    configs.sort();
    assert!(configs[0].ends_with("tp8"), "{configs:?}");
    assert!(configs[1].ends_with("tp8-kvdram-native"), "{configs:?}");
    for r in rows {
        let (theory, server) = (
            r["theoretical_hit_rate"].as_f64().unwrap(),
            r["server_hit_rate"].as_f64().unwrap(),
        );
        assert!((theory - server).abs() < 0.01, "{r}");
        assert!(r["e2e_norm_intvty_p90"].as_f64().unwrap() > 0.0, "{r}");
    }

    // Each point also as InferenceX's AgentX row: ingested as InferenceX's, the same figures.
    let ix: Vec<PathBuf> = std::fs::read_dir(out.join("inferencex/llama-fp8-h200-sim-agentic"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(ix.len(), 2);
    let ix_store = format!("sqlite:{}", d.path().join("ix.db").display());
    let mut ingest: Vec<&OsStr> = [
        "ingest",
        "--store",
        &ix_store,
        "--run",
        "ix",
        "--started-at",
        "2026-12-06",
    ]
    .map(OsStr::new)
    .to_vec();
    ingest.extend(ix.iter().map(|p| p.as_os_str()));
    run_ok(&ingest);
    let w = agentic_frontier(&ix_store, "reference");
    let figures = |v: &serde_json::Value| -> Vec<(String, i64, i64, i64, i64)> {
        let mut f: Vec<_> = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let config = r["config"].as_str().unwrap();
                let topology = config.split_whitespace().find(|w| w.starts_with("tp8"));
                let topology = topology.unwrap_or_else(|| panic!("{config}"));
                let at = |k: &str| (r[k].as_f64().unwrap() * 1e3).round() as i64;
                (
                    topology.to_string(),
                    at("e2e_norm_intvty_p90"),
                    at("tput_per_gpu"),
                    at("theoretical_hit_rate"),
                    at("gpu_kv_usage_pct"),
                )
            })
            .collect();
        f.sort();
        f
    };
    assert_eq!(figures(&w), figures(&v));
}

#[test]
fn agentic_rows_run_as_slurm_tasks_with_the_replay_settings_passed_on() {
    let Some(conf) = slurm_conf() else { return };
    let d = tempfile::tempdir().unwrap();
    let recipe = d.path().join("agentic-master.yaml");
    std::fs::write(&recipe, AGENTIC).unwrap();
    let runners = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/inferencex-configs-843c6254/runners.yaml");
    let out = d.path().join("results");
    let extra: Vec<&OsStr> = [
        "--engines",
        "sim",
        "--runner-config",
        runners.to_str().unwrap(),
        "--agentic-profile",
        "claude-code-042026",
        "--agentic-sessions",
        "8",
        "--agentic-duration",
        "3",
        "--sim-time-scale",
        "20",
        "--agentic-warmups-per-lane",
        "1",
        "--agentic-pause-cap",
        "0.2",
    ]
    .map(OsStr::new)
    .to_vec();
    let o = slurm_sweep(&recipe, &out, &conf, &extra);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("2 points: 2 measured"), "{err}");
    // Each task got the replay settings, not the defaults (3,600 s, 393 agentx sessions).
    let script = std::fs::read_dir(out.join("slurm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "sbatch"))
        .unwrap();
    let script = std::fs::read_to_string(script).unwrap();
    for arg in [
        "--agentic-duration 3",
        "--agentic-profile claude-code-042026",
        "--agentic-sessions 8",
    ] {
        assert!(script.contains(arg), "{arg}: {script}");
    }
    for dir in ["points", "inferencex"] {
        let n = std::fs::read_dir(out.join(dir).join("llama-fp8-h200-sim-agentic"))
            .unwrap()
            .count();
        assert_eq!(n, 2, "{dir}");
    }
}

#[test]
fn a_multi_node_agentic_row_replays_through_the_router_with_prefill_offload() {
    let configs =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/inferencex-configs-843c6254");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let (master, runners) = (
        configs.join("nvidia-master.yaml"),
        configs.join("runners.yaml"),
    );
    // Short sessions (contexts of a few thousand tokens) keep the debug build's tokenizing
    // quick; the coding-agent profiles' contexts reach 200k tokens.
    let trace = d.path().join("sessions.jsonl");
    let session = |id: usize| {
        let ids = |n: usize| {
            (id * 100..id * 100 + n)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        format!(
            r#"{{"id":"s{id}","block_size":64,"turns":[{{"t":0,"in":1024,"out":8,"hash_ids":[{}]}},{{"t":1,"in":2048,"out":8,"hash_ids":[{}],"think":0.05}},{{"t":2,"in":3072,"out":8,"hash_ids":[{}],"think":0.05}}]}}"#,
            ids(16),
            ids(32),
            ids(48)
        )
    };
    let sessions: Vec<String> = (0..8).map(session).collect();
    std::fs::write(&trace, sessions.join("\n") + "\n").unwrap();
    let args: Vec<&OsStr> = [
        OsStr::new("sweep"),
        OsStr::new("--no-progress"),
        OsStr::new("--config-files"),
        master.as_os_str(),
        OsStr::new("--runner-config"),
        runners.as_os_str(),
        OsStr::new("--scenario-type"),
        OsStr::new("agentic-coding"),
        OsStr::new("--config-keys"),
        OsStr::new("qwen3.5-fp4-gb300-dynamo-sglang-agentic-disagg"),
        OsStr::new("--min-conc"),
        OsStr::new("8"),
        OsStr::new("--max-conc"),
        OsStr::new("8"),
        OsStr::new("--agentic-trace"),
        trace.as_os_str(),
        OsStr::new("--agentic-trace-format"),
        OsStr::new("sessions"),
        OsStr::new("--agentic-duration"),
        OsStr::new("3"),
        OsStr::new("--sim-time-scale"),
        OsStr::new("20"),
        OsStr::new("--agentic-warmups-per-lane"),
        OsStr::new("1"),
        OsStr::new("--out"),
        out.as_os_str(),
    ]
    .to_vec();
    run_ok(&args);
    let dir = out.join("points/qwen3.5-fp4-gb300-dynamo-sglang-agentic-disagg");
    let points: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(points.len(), 1);
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&points[0]).unwrap()).unwrap();
    assert!(p["result"]["completed"].as_u64().unwrap() > 0);
    // Each turn resends the one before: 16 of its 32 blocks, 32 of 48.
    let theory = p["result"]["agentic"]["theoretical_cache_hit_rate"]
        .as_f64()
        .unwrap();
    assert!(theory > 0.4, "{theory}");
    // One prefill and one decode worker (TP4 each) behind the router; only the prefill worker
    // offloads, with InferenceX's budget for it: gb300-nv's 860,160 MiB × 0.9
    // (dram-utilization) × 4 of 4 GPUs per node = 811 GB.
    let cmd = p["server_command"].as_str().unwrap();
    let line = |role: &str| {
        cmd.lines()
            .find(|l| l.contains(&format!("--role {role}")))
            .unwrap_or_else(|| panic!("no {role} in {cmd}"))
            .to_string()
    };
    assert!(line("prefill").contains("--kv-offload-gb 811"), "{cmd}");
    assert!(!line("decode").contains("--kv-offload-gb"), "{cmd}");
    // Served at the model's native context.
    assert!(line("router").contains("--max-model-len 262144"), "{cmd}");
    // The router counts no cache hits: the replay read its workers' /metrics with its own,
    // and the prefill worker's hits are the trace's.
    let w = &p["result"]["agentic"]["server_metrics"];
    let gpu = w["gpu_cache_hit_rate"].as_f64().unwrap();
    assert!((gpu - theory).abs() < 0.05, "{gpu} vs {theory}: {w}");
    // The KV gauges came from the workers (the router has none); what they held depends on
    // when the 1 s samples fell.
    let kv = w["gpu_kv_usage"]["max"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&kv), "{w}");
}
