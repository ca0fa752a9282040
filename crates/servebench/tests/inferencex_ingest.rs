//! `servebench ingest` of InferenceX's result artifacts through the real binary, into an
//! SQLite store, read back with `servebench report` and the Store API: the fixtures of
//! `crates/servebench-store/tests/fixtures/inferencex/` (agg_bmk.json: four points and two
//! failed runs; agg_eval_all.json: three evals; an AgentX result), and bad input refused with
//! the file and row named.

use serde_json::Value;
use servebench_store::{Source, Store};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_servebench");
/// The catalog's id for the rows' deepseek-ai/DeepSeek-R1-0528 (model prefix dsr1).
const MODEL: &str = "deepseek-r1-0528";
const RUN: &str = "inferencex-2026-08-21";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../servebench-store/tests/fixtures/inferencex")
        .join(name)
}

fn sb(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("SERVEBENCH_STORE")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", stderr(o));
    stderr(o)
}

fn ingest(store: &str, file: &Path) -> Output {
    sb(&[
        "ingest",
        "--store",
        store,
        "--run",
        RUN,
        "--started-at",
        "2026-08-21",
        file.to_str().unwrap(),
    ])
}

fn report(store: &str, args: &[&str]) -> Value {
    let mut all = vec![
        "report",
        "--store",
        store,
        "--model",
        MODEL,
        "--isl",
        "8192",
        "--osl",
        "1024",
        "--source",
        "reference",
        "--format",
        "json",
    ];
    all.extend_from_slice(args);
    let o = sb(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn row<'a>(v: &'a Value, column: &str, value: &str) -> &'a Value {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[column] == value)
        .unwrap_or_else(|| panic!("no row with {column} {value} in {v}"))
}

#[test]
fn inferencex_points_and_evals_ingest_as_a_reference_run() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("ix.db");
    let store = format!("sqlite:{}", db.display());

    // The benchmark rows: four points; the two failed runs skipped, and said so.
    let said = ok(&ingest(&store, &fixture("agg_bmk.json")));
    assert!(
        said.contains("agg_bmk.json: 2 failed runs skipped, as InferenceX's ingest skips them: row 4 (num_requests_successful 0 of num_requests_total 2560), row 5 (benchmark_outcome.status \"failed\")"),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "run {RUN} (reference): 4 points stored, 0 already stored"
        )),
        "{said}"
    );
    // The eval rows: no points, three evals, in the same run.
    let said = ok(&ingest(&store, &fixture("agg_eval_all.json")));
    assert!(
        said.contains(&format!(
            "run {RUN} (reference): 3 evals stored, 0 already stored"
        )),
        "{said}"
    );
    // Again: nothing new.
    let said = ok(&ingest(&store, &fixture("agg_bmk.json")));
    assert!(said.contains("0 points stored, 4 already stored"), "{said}");
    let said = ok(&ingest(&store, &fixture("agg_eval_all.json")));
    assert!(said.contains("0 evals stored, 3 already stored"), "{said}");

    // Accuracy beside throughput: the B200 and GB200 evals sit beside their points.
    let v = report(&store, &["accuracy"]);
    assert_eq!(v["rows"].as_array().unwrap().len(), 3, "{v}");
    let rows = v["rows"].as_array().unwrap();
    let at = |task: &str, conc: f64| {
        rows.iter()
            .find(|r| r["task"] == task && r["conc"].as_f64() == Some(conc))
            .unwrap_or_else(|| panic!("no {task} at {conc} in {v}"))
    };
    let r = at("gsm8k", 64.0);
    assert_eq!(r["run"], RUN);
    assert_eq!(r["score"], 0.95375);
    assert_eq!(r["stderr"], 0.00578);
    assert_eq!(r["questions"].as_f64(), Some(1319.0));
    assert_eq!(r["threshold"], 0.91);
    assert_eq!(r["verdict"], "pass");
    assert_eq!(r["interactivity"], 35.17411);
    assert_eq!(r["tput_per_gpu"], 2304.5);
    let r = at("gsm8k", 180.0);
    assert_eq!(
        (r["score"].as_f64(), r["verdict"].as_str()),
        (Some(0.94617), Some("pass"))
    );
    assert_eq!(r["tput_per_gpu"], 3120.25);
    let r = at("gpqa_diamond_cot_n_shot", 64.0);
    assert_eq!(r["threshold"], 0.3);
    assert_eq!(r["verdict"], "FAIL");
    assert_eq!(r["tput_per_gpu"], Value::Null, "no MI355X point");

    // Frontiers of measured energy: J per output token of the valid windows only.
    let v = report(&store, &["frontier", "--y", "measured-energy"]);
    let p = row(
        &v,
        "config",
        "gb200 dynamo-trt fp4 p3x4ep4dpa-d1x32ep32dpa mtp disagg [published]",
    );
    assert_eq!(p["measured_joules_per_output_token"], 0.72131);
    assert_eq!(p["num_gpus"].as_f64(), Some(44.0));
    assert_eq!(
        p["median_ttft_ms"].as_f64().map(|x| (x * 10.0).round()),
        Some(29134.0)
    );
    let p = row(&v, "config", "b200 dynamo-sglang fp8 2x8ep8dpa [published]");
    assert_eq!(p["num_gpus"].as_f64(), Some(16.0));

    // The Store API: one reference run of InferenceX's, the catalog's model id, and the rows.
    let mut s = Store::open_read_only(&store).unwrap();
    let runs = s.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (
            runs[0].key.as_str(),
            runs[0].executor.as_str(),
            runs[0].source
        ),
        (RUN, "inferencex", Source::Reference)
    );
    assert_eq!(
        runs[0].started_at, "2026-08-21",
        "the date the rows lack, as given"
    );
    let view = s.view(MODEL, 8192, 1024, None, Source::Reference).unwrap();
    let mut keys: Vec<(String, u32, Option<f64>)> = view
        .iter()
        .map(|p| {
            (
                p.config_key.to_string(),
                p.num_gpus,
                p.metrics.measured_j_per_token,
            )
        })
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        keys,
        [
            (
                format!("b200|dynamo-sglang|{MODEL}|fp8|none|agg|2x8ep8dpa"),
                16,
                Some(1.59302)
            ),
            (
                format!("b200|sglang|{MODEL}|fp8|mtp|agg|tp8-ep8-dpa"),
                8,
                Some(1.56621)
            ),
            (
                format!("gb200|dynamo-trt|{MODEL}|fp4|mtp|disagg|p3x4ep4dpa-d1x32ep32dpa"),
                44,
                Some(0.72131)
            ),
            (
                format!("mi355x|mori-sglang|{MODEL}|fp4|none|disagg|p1x8ep8dpa-d2x8ep8dpa"),
                24,
                None
            ),
        ]
    );
    let mi = view.iter().find(|p| p.config.hardware == "mi355x").unwrap();
    let full = s.point(mi.id).unwrap().unwrap();
    assert_eq!(
        full.point.provenance["served_model"],
        "deepseek-ai/DeepSeek-R1-0528"
    );
    assert_eq!(full.point.provenance["runner"], "mi355x-disagg");
    assert_eq!(full.point.result["power_valid"], 0);
    assert_eq!(full.point.result["framework"], "sglang-disagg");
    assert!(full.evals.is_empty());
    assert_eq!(
        s.view_evals(MODEL, 8192, 1024, Source::Own).unwrap(),
        [],
        "nothing of the user's own"
    );
}

#[test]
fn bad_inferencex_input_is_refused_naming_the_file_and_row() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("never.db");
    let store = format!("sqlite:{}", db.display());
    let fail = |file: &Path, says: &[&str]| {
        let o = ingest(&store, file);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains(&file.display().to_string()), "{e}");
        for s in says {
            assert!(e.contains(s), "{s}: {e}");
        }
        assert!(!e.contains("panicked"), "{e}");
    };
    let bmk: Vec<Value> =
        serde_json::from_slice(&std::fs::read(fixture("agg_bmk.json")).unwrap()).unwrap();
    let evals: Vec<Value> =
        serde_json::from_slice(&std::fs::read(fixture("agg_eval_all.json")).unwrap()).unwrap();
    let write = |name: &str, v: Value| {
        let p = d.path().join(name);
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        p
    };
    // An agg_bmk.json mixing benchmark and eval rows.
    fail(
        &write(
            "agg_bmk.json",
            serde_json::json!([bmk[0], bmk[1], evals[0]]),
        ),
        &[
            "mixes kinds of rows: 2 fixed-seq benchmark rows (the first is row 0), 1 eval rows (the first is row 2); nothing is imported",
        ],
    );
    // A broken row.
    let mut broken = bmk[1].clone();
    broken["prefill_num_workers"] = serde_json::json!(-3);
    fail(
        &write("agg_bmk.json", serde_json::json!([bmk[0], broken])),
        &["agg_bmk.json: row 1: prefill_num_workers: expected a non-negative integer up to 4294967295, got -3"],
    );
    // Failed runs alone hold nothing to store.
    fail(
        &write("agg_bmk.json", serde_json::json!([bmk[4], bmk[5]])),
        &[
            "2 failed runs skipped",
            "holds no results to store: all its 2 rows are failed runs",
        ],
    );
    // Nothing was stored: the store was never created.
    assert!(!db.exists());
}

#[test]
fn a_served_name_the_catalog_does_not_know_is_named_by_its_model_prefix() {
    let d = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", d.path().join("ix.db").display());
    let bmk: Vec<Value> =
        serde_json::from_slice(&std::fs::read(fixture("agg_bmk.json")).unwrap()).unwrap();
    let mut row = bmk[0].clone();
    row["model"] = "/models/dsr1-fp8".into();
    let file = d.path().join("agg_dsr1_fp8_b200.json");
    std::fs::write(&file, serde_json::to_vec(&row).unwrap()).unwrap();
    ok(&ingest(&store, &file));
    let mut s = Store::open_read_only(&store).unwrap();
    let view = s.view(MODEL, 8192, 1024, None, Source::Reference).unwrap();
    assert_eq!(view.len(), 1);
    let full = s.point(view[0].id).unwrap().unwrap();
    assert_eq!(full.point.provenance["served_model"], "/models/dsr1-fp8");
}

#[test]
fn agentx_rows_ingest_and_report_against_e2e_normalised_interactivity() {
    let d = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", d.path().join("ix.db").display());
    let name = "qwen3.5_tp8_conc32_kvnone_fp8_sglang_tp8-pp1-dcp1-pcp1-ep1-dpafalse_disagg-false_spec-none_conc32_b300-nv_0.json";
    let row: Value = serde_json::from_slice(&std::fs::read(fixture(name)).unwrap()).unwrap();
    // The same deployment offloading to CPU memory: a second config, faster at P90.
    let mut dram = row.clone();
    dram["kv_offloading"] = "dram".into();
    dram["kv_offload_backend"] = serde_json::json!({"name": "hicache"});
    dram["allocated_cpu_dram_gb"] = 2399.into();
    dram["request_metrics"]["latency"]["e2e_norm_intvty"]["p90"] = 18.5.into();
    dram["server_metrics"]["cache"]["cpu_cache_hit_rate"] = 0.061.into();
    let file = d.path().join("agg_bmk.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&serde_json::json!([row, dram])).unwrap(),
    )
    .unwrap();
    ok(&ingest(&store, &file));
    let o = sb(&[
        "report",
        "frontier",
        "--store",
        &store,
        "--model",
        "qwen3.5-397b-a17b",
        "--agentic",
        "--source",
        "reference",
        "--group",
        "config",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    assert!(
        v["title"]
            .as_str()
            .unwrap()
            .contains("E2E-normalised interactivity (P90)"),
        "{v}"
    );
    let none = row_of(&v, "tp8");
    let kv = row_of(&v, "tp8-kvdram-hicache");
    // The row's own figures, as InferenceX wrote them.
    assert_eq!(none["e2e_norm_intvty_p90"], 14.6021);
    assert_eq!(kv["e2e_norm_intvty_p90"], 18.5);
    assert_eq!(none["theoretical_hit_rate"], 0.91223);
    assert_eq!(none["server_hit_rate"], 0.87311);
    assert_eq!(kv["server_cpu_hit_rate"], 0.061);
    // The server's GPU KV-cache usage, as InferenceX's row gives it.
    assert_eq!(none["gpu_kv_usage_pct"], 71.2);
    assert_eq!(none["tput_per_gpu"], 5088.64);
    assert_eq!(none["conc"].as_f64(), Some(32.0));
}

/// The frontier row whose config label contains `topology` as its last part.
fn row_of<'a>(v: &'a Value, topology: &str) -> &'a Value {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["config"]
                .as_str()
                .is_some_and(|c| c.split_whitespace().any(|w| w == topology))
        })
        .unwrap_or_else(|| panic!("no row of {topology} in {v}"))
}
