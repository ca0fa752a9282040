//! `servebench eval` end to end against `servebench sim --answers`: the simulated server
//! replies with scripted answers in tricky formats, and every score is checked against the
//! verdicts worked out by hand below.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn eval(sim: &Sim, task: &str, dir: &Path, extra: &[&str]) -> (Output, Value, Vec<Value>) {
    let data = eval_fixtures().join(format!("{task}.jsonl"));
    let o = Command::new(BIN)
        .args(["eval", "--base-url", &sim.url, "--task", task, "--data"])
        .arg(&data)
        .args([
            "--out",
            "r.json",
            "--samples-out",
            "s.jsonl",
            "--no-progress",
        ])
        .args(extra)
        .current_dir(dir)
        .output()
        .unwrap();
    let r = read_json(&dir.join("r.json"));
    (o, r, jsonl(&dir.join("s.jsonl")))
}

fn close(a: &Value, b: f64) -> bool {
    (a.as_f64().unwrap() - b).abs() < 1e-9
}

/// sqrt(p(1 − p)/(n − 1)).
fn se(p: f64, n: f64) -> f64 {
    (p * (1.0 - p) / (n - 1.0)).sqrt()
}

#[test]
fn gsm8k_five_shot_scored_strict_and_flexible() {
    let sim = answering_sim("gsm8k", &[]);
    let dir = tempfile::tempdir().unwrap();
    let train = eval_fixtures().join("gsm8k-train.jsonl");
    let (o, r, s) = eval(
        &sim,
        "gsm8k",
        dir.path(),
        &[
            "--fewshot-data",
            train.to_str().unwrap(),
            "--concurrency",
            "3",
        ],
    );
    // Verdicts, strict (#### n) / flexible (last number):
    //   24 "#### 24" ✓/✓; 315 "#### 315.00" ✓/✓; 20 "…is $20." ✗/✓; 44 ✓/✓;
    //   250 "#### 1,250" ✗/✗; -7 after a <think> block that says 7 ✓/✓;
    //   82 "not sure" ✗/✗ (nothing to extract); 300 unscripted words ✗/✗ (nothing).
    let strict = [true, true, false, true, false, true, false, false];
    let flexible = [true, true, true, true, false, true, false, false];
    assert_eq!(s.len(), 8);
    for (i, rec) in s.iter().enumerate() {
        assert_eq!(rec["correct"], strict[i], "{rec}");
        assert_eq!(rec["flexible_correct"], flexible[i], "{rec}");
        assert_eq!(
            rec["messages"].as_array().unwrap().len(),
            11,
            "5 shots, then the question"
        );
        assert_eq!(rec["attempts"], 1);
    }
    assert_eq!(s[4]["extracted"], "1250");
    assert_eq!(s[2]["flexible"], "20");
    assert!(
        close(&r["score"], 0.5) && close(&r["stderr"], se(0.5, 8.0)),
        "{r}"
    );
    assert!(close(&r["flexible_score"], 0.625) && close(&r["flexible_stderr"], se(0.625, 8.0)));
    assert_eq!(r["score_name"], "exact_match,strict-match");
    assert_eq!(
        (r["n"].as_u64(), r["n_failed"].as_u64()),
        (Some(8), Some(0))
    );
    assert_eq!(r["n_unextracted"], 3);
    assert_eq!(r["num_fewshot"], 5);
    assert_eq!(
        r["model"], "servebench-sim",
        "the server's own model, from /v1/models"
    );
    // The catalog's default GSM8K threshold (0.90) fails the eval: exit 1, results written.
    assert_eq!(r["threshold"]["value"], 0.9);
    assert_eq!(r["threshold"]["source"], "catalog: ix-eval-thresholds");
    assert_eq!(r["passed"], false);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("exact_match,strict-match        0.5000 ± 0.1890"),
        "{out}"
    );
    assert!(
        out.contains("threshold 0.9 (catalog: ix-eval-thresholds): FAIL"),
        "{out}"
    );
}

#[test]
fn gsm8k_few_shot_from_the_data_itself_are_not_scored() {
    let sim = answering_sim("gsm8k", &[]);
    let dir = tempfile::tempdir().unwrap();
    let (_, r, s) = eval(
        &sim,
        "gsm8k",
        dir.path(),
        &["--num-fewshot", "2", "--threshold", "0.25"],
    );
    // The first two questions serve as examples; the six others are scored.
    let ids: Vec<&str> = s.iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["line 3", "line 4", "line 5", "line 6", "line 7", "line 8"]
    );
    // Strict on lines 3-8: ✗ ✓ ✗ ✓ ✗ ✗ = 2/6.
    assert!(close(&r["score"], 2.0 / 6.0), "{r}");
    assert_eq!(r["passed"], true, "2/6 ≥ 0.25");
    assert!(r["fewshot_source"]
        .as_str()
        .unwrap()
        .ends_with("gsm8k.jsonl (its first 2, not scored)"));
}

#[test]
fn math500_boxed_answers_normalised() {
    let sim = answering_sim("math500", &[]);
    let dir = tempfile::tempdir().unwrap();
    let (o, r, s) = eval(&sim, "math500", dir.path(), &["--threshold", "0.6"]);
    // \dfrac{1}{2} ≡ \frac{1}{2} ✓; "x = 7" ✓; 120^\circ ✓; 2\sqrt3 ≡ 2\sqrt{3} ✓;
    // (3, 4) ≢ (4,3) ✗; no \boxed ✗.
    let verdicts: Vec<bool> = s.iter().map(|x| x["correct"].as_bool().unwrap()).collect();
    assert_eq!(verdicts, [true, true, true, true, false, false]);
    assert_eq!(s[4]["extracted"], "(3, 4)");
    assert_eq!(s[5]["extracted"], Value::Null);
    assert_eq!(s[0]["id"], "own/algebra/1.json");
    assert!(close(&r["score"], 4.0 / 6.0) && close(&r["stderr"], se(4.0 / 6.0, 6.0)));
    assert_eq!(r["num_fewshot"], 0);
    assert_eq!(r["passed"], true);
    assert!(o.status.success());
    // Without --threshold, MATH-500 has none: nothing to pass or fail.
    let (o, r, _) = eval(&sim, "math500", dir.path(), &[]);
    assert_eq!(r["passed"], Value::Null);
    assert!(o.status.success());
}

#[test]
fn gpqa_diamond_option_letters() {
    let sim = answering_sim("gpqa-diamond", &[]);
    let dir = tempfile::tempdir().unwrap();
    let (o, r, s) = eval(&sim, "gpqa-diamond", dir.path(), &[]);
    // "(B)" for B ✓; "**Answer:** C" for A ✗; "D" alone on the last line for D ✓;
    // no letter ("A careful reading…" is not option A) for C ✗.
    let got: Vec<(Value, Value)> = s
        .iter()
        .map(|x| (x["extracted"].clone(), x["correct"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            (Value::from("B"), Value::from(true)),
            (Value::from("C"), Value::from(false)),
            (Value::from("D"), Value::from(true)),
            (Value::Null, Value::from(false)),
        ]
    );
    assert_eq!(s[2]["target"], "D", "answer 3 is D");
    assert!(close(&r["score"], 0.5) && close(&r["stderr"], se(0.5, 4.0)));
    // The catalog's GPQA-Diamond default is 0.30.
    assert_eq!(r["threshold"]["value"], 0.3);
    assert_eq!(r["passed"], true);
    assert!(o.status.success());
}

#[test]
fn failed_calls_are_retried_and_a_question_that_never_gets_an_answer_fails_the_eval() {
    // A quarter of the server's answers are 503s.
    let sim = answering_sim("math500", &["--fail-503", "0.25"]);
    let dir = tempfile::tempdir().unwrap();
    let (o, r, s) = eval(
        &sim,
        "math500",
        dir.path(),
        &["--threshold", "0.5", "--concurrency", "1"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(r["n_failed"], 0);
    assert!(r["calls"].as_u64().unwrap() > 6, "{r}");
    assert!(s.iter().any(|x| x["attempts"].as_u64().unwrap() > 1));
    assert!(
        close(&r["score"], 4.0 / 6.0),
        "retried answers score as before"
    );
    // Without retries, the questions that met a 503 fail, count as wrong and fail the eval.
    let (o, r, s) = eval(
        &sim,
        "math500",
        dir.path(),
        &["--threshold", "0.1", "--retries", "0"],
    );
    let failed: Vec<&Value> = s.iter().filter(|x| !x["error"].is_null()).collect();
    assert!(!failed.is_empty());
    assert!(failed
        .iter()
        .all(|x| x["error"].as_str().unwrap().starts_with("HTTP 503")));
    assert_eq!(r["n_failed"].as_u64(), Some(failed.len() as u64));
    assert_eq!(r["passed"], false);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bad_input_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.jsonl"), "{\"question\": \"q\"}\n").unwrap();
    let o = Command::new(BIN)
        .args([
            "eval",
            "--base-url",
            "http://127.0.0.1:9",
            "--model",
            "m",
            "--task",
            "gsm8k",
            "--data",
            "bad.jsonl",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("bad.jsonl:1: field \"answer\": expected a string"),
        "{err}"
    );
    let o = Command::new(BIN)
        .args([
            "eval",
            "--base-url",
            "http://127.0.0.1:9",
            "--model",
            "m",
            "--task",
            "mmlu",
            "--data",
            "x",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unknown task 'mmlu': expected gsm8k, math500 or gpqa-diamond"),
        "{err}"
    );
}

#[test]
fn a_sweep_runs_the_eval_at_the_points_the_plan_marks_and_the_store_links_them() {
    // 8k/1k at concurrency 16 and 32 on one deployment: InferenceX's rule marks the highest
    // (32) and the median (sorted[n/2] = 32) concurrency ≥ 16, so one eval, at 32.
    let dir = tempfile::tempdir().unwrap();
    let f = eval_fixtures();
    std::fs::write(
        dir.path().join("r.yaml"),
        sim_recipe(
            &format!(
                "--time-scale, \"200\", --answers, {}",
                f.join("answers-gsm8k.jsonl").display()
            ),
            8192,
            1024,
            "{tp: 8, conc-list: [16, 32]}",
        ),
    )
    .unwrap();
    let sweep = |extra: &[&str]| {
        Command::new(BIN)
            .args([
                "sweep",
                "--config-files",
                "r.yaml",
                "--out",
                "results",
                "--no-progress",
            ])
            .args(["--eval-task", "gsm8k", "--eval-data"])
            .arg(f.join("gsm8k.jsonl"))
            .arg("--eval-fewshot-data")
            .arg(f.join("gsm8k-train.jsonl"))
            .args(extra)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let o = sweep(&[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("2 points: 2 measured"), "{err}");
    assert!(
        err.contains("gsm8k evals: 1 run, 0 already stored, 0 could not run, 1 below threshold"),
        "{err}"
    );
    let evals: Vec<PathBuf> =
        std::fs::read_dir(dir.path().join("results/evals/llama-fp8-h200-sim"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    assert_eq!(
        evals.len(),
        2,
        "the result and its per-question records: {evals:?}"
    );
    let stored = evals
        .iter()
        .find(|p| p.to_string_lossy().ends_with("_c32.gsm8k.json"))
        .unwrap();
    let e = read_json(stored);
    assert_eq!(e["concurrency"], 32);
    assert!(close(&e["result"]["score"], 0.5));
    assert_eq!(e["result"]["model"], "meta-llama/Llama-3.3-70B-Instruct");
    // A rerun measures nothing and runs no eval again.
    let err = String::from_utf8_lossy(&sweep(&[]).stderr).into_owned();
    assert!(
        err.contains("gsm8k evals: 0 run, 1 already stored"),
        "{err}"
    );

    // Stored beside its point, under the catalog's model id.
    let o = Command::new(BIN)
        .args(["ingest", "--store", "sqlite:s.db", "results"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("1 evals stored"), "{err}");
    let mut store =
        servebench_store::Store::open(&format!("sqlite:{}", dir.path().join("s.db").display()))
            .unwrap();
    let view = store
        .view(
            "llama-3.3-70b",
            8192,
            1024,
            None,
            servebench_store::Source::Own,
        )
        .unwrap();
    let id32 = view.iter().find(|p| p.conc == 32).unwrap().id;
    let got = store
        .view_evals("llama-3.3-70b", 8192, 1024, servebench_store::Source::Own)
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].point_id, got[0].outcome.passed, got[0].outcome.n),
        (Some(id32), Some(false), 8)
    );
    assert_eq!(got[0].outcome.score, 0.5);

    // The report beside throughput: the eval and the point measured with it.
    let o = Command::new(BIN)
        .args(["report", "accuracy", "--store", "sqlite:s.db", "--model"])
        .args([
            "meta-llama/Llama-3.3-70B-Instruct",
            "--isl",
            "8192",
            "--osl",
            "1024",
        ])
        .args(["--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    let p32 = view.iter().find(|p| p.conc == 32).unwrap();
    let r = &rows[0];
    assert_eq!(
        (&r["config"], &r["task"], &r["verdict"]),
        (
            &Value::from("h200 sim fp8 tp8"),
            &Value::from("gsm8k"),
            &Value::from("FAIL")
        )
    );
    assert!(close(&r["score"], 0.5) && close(&r["threshold"], 0.9) && close(&r["conc"], 32.0));
    assert!(close(
        &r["interactivity"],
        p32.metrics.median_intvty.unwrap()
    ));
    assert!(close(&r["tput_per_gpu"], p32.metrics.tput_per_gpu.unwrap()));
    assert_eq!(v["notes"][0], "1 evals: 0 pass, 1 below threshold");
}
