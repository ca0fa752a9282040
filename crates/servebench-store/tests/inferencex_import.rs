//! InferenceX's result artifacts (`agg_bmk.json`, `agg_eval_all.json`, an AgentX result) as
//! servebench imports them: real-shaped fixtures in `fixtures/inferencex/` (their rows are
//! described in the README there), every mapped value checked against one computed by hand.

use serde_json::{json, Value};
use servebench_store::import::{self, RowKind, Skipped};
use servebench_store::{Point, Run, Source, Store};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const MODEL: &str = "deepseek-ai/DeepSeek-R1-0528";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inferencex")
        .join(name)
}

const AGENTIC: &str = "qwen3.5_tp8_conc32_kvnone_fp8_sglang_tp8-pp1-dcp1-pcp1-ep1-dpafalse_disagg-false_spec-none_conc32_b300-nv_0.json";

fn rows(name: &str) -> Vec<Value> {
    match serde_json::from_slice(&std::fs::read(fixture(name)).unwrap()).unwrap() {
        Value::Array(a) => a,
        v => vec![v],
    }
}

/// `a` equals `b` up to the rounding of a unit conversion.
fn near(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
}

fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
    p
}

/// A minimal fixed-seq row, to vary one thing at a time.
fn base_row(extra: Value) -> Value {
    let mut row = json!({"hw": "h200", "conc": 16, "model": MODEL, "infmax_model_prefix": "dsr1",
        "framework": "vllm", "precision": "fp8", "spec_decoding": "none", "isl": 8192,
        "osl": 1024, "is_multinode": false, "tp": 8, "ep": 1, "dp_attention": "false"});
    row.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    row
}

fn point(row: Value) -> Point {
    import::inferencex_agg_row(&row, Path::new("agg_bmk.json"))
        .unwrap()
        .expect("not a failed run")
}

#[test]
fn benchmark_rows_map_as_inferencex_ingests_them() {
    let file = fixture("agg_bmk.json");
    let rows = rows("agg_bmk.json");
    let ix = import::inferencex_file(&file).unwrap();
    assert!(ix.evals.is_empty());
    assert_eq!(ix.points.len(), 4, "rows 4 and 5 are failed runs");

    // Row 0, single node: TP8 × EP8 with DP attention (a "true" string), 8 GPUs, power valid.
    let p = &ix.points[0];
    assert_eq!(
        p.config.natural_key(),
        format!("b200|sglang|{MODEL}|fp8|mtp|agg|tp8-ep8-dpa")
    );
    assert_eq!((p.isl, p.osl, p.conc, p.num_gpus), (8192, 1024, 64, 8));
    let m = &p.metrics;
    assert_eq!(m.tput_per_gpu, Some(2304.5));
    assert_eq!(m.input_tput_per_gpu, Some(2048.45));
    assert_eq!(m.output_tput_per_gpu, Some(256.05));
    assert_eq!(m.median_intvty, Some(35.17411));
    // Seconds in the row, milliseconds in the store.
    assert!(near(m.median_ttft_ms, 1731.2), "{m:?}");
    assert!(near(m.p99_ttft_ms, 3401.7));
    assert!(near(m.median_tpot_ms, 28.43));
    assert!(near(m.p99_tpot_ms, 33.88));
    assert!(near(m.median_e2el_ms, 30854.3));
    assert!(near(m.p99_e2el_ms, 36127.4));
    // Fixed-seq rows carry no request counts.
    assert_eq!((m.completed, m.failed), (None, None));
    // power_valid 1: the row's J per output token.
    assert_eq!(m.measured_j_per_token, Some(1.56621));
    assert_eq!(p.provenance["image"], "lmsysorg/sglang:v0.5.9-cu130");
    assert_eq!(p.provenance["engine_version"], "sglang v0.5.9-cu130");
    assert_eq!(p.provenance["runner"], "b200");
    assert_eq!(p.provenance["model_prefix"], "dsr1");
    assert_eq!(
        p.provenance["recipe_fingerprint"],
        rows[0]["recipe_fingerprint"]
    );
    assert_eq!(p.result, rows[0], "the whole row is kept");

    // Row 1, GB200 Dynamo-TRT disaggregated: 3 prefill workers of DEP4, 1 decode worker of
    // DEP32; 12 + 32 GPUs; power valid with per-role energy (kept in the result).
    let p = &ix.points[1];
    assert_eq!(
        p.config.natural_key(),
        format!("gb200|dynamo-trt|{MODEL}|fp4|mtp|disagg|p3x4ep4dpa-d1x32ep32dpa")
    );
    assert_eq!((p.conc, p.num_gpus), (180, 44));
    assert_eq!(p.metrics.tput_per_gpu, Some(3120.25));
    assert_eq!(p.metrics.output_tput_per_gpu, Some(1372.5));
    assert!(near(p.metrics.median_ttft_ms, 2913.4));
    assert!(near(p.metrics.p99_tpot_ms, 23.77));
    assert_eq!(p.metrics.measured_j_per_token, Some(0.72131));
    for k in [
        "prefill_gpu_energy_j",
        "decode_gpu_energy_j",
        "prefill_avg_power_w",
        "decode_avg_power_w",
        "prefill_joules_per_input_token",
        "decode_joules_per_output_token",
        "avg_power_w",
        "total_gpu_energy_j",
    ] {
        assert_eq!(p.result[k], rows[1][k], "{k}");
    }
    assert_eq!(p.result["decode_gpu_energy_j"], 23472000.0);
    // The artifact-encoded image name, restored.
    assert_eq!(
        p.provenance["image"],
        "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:0.8.1.post2"
    );
    assert_eq!(p.provenance["engine_version"], "dynamo-trt 0.8.1.post2");
    assert_eq!(
        p.provenance["router"],
        json!({"name": "dynamo-router", "version": "0.8.1.post2"})
    );
    assert_eq!(p.provenance["kv_p2p_transfer"], "nixl");

    // Row 2, AMD: runner label mi355x-disagg, sglang-disagg is mori-sglang (disaggregated),
    // MXFP4 is FP4, an empty spec method is none; power_valid 0: no energy.
    let p = &ix.points[2];
    assert_eq!(
        p.config.natural_key(),
        format!("mi355x|mori-sglang|{MODEL}|fp4|none|disagg|p1x8ep8dpa-d2x8ep8dpa")
    );
    assert_eq!(p.num_gpus, 24);
    assert_eq!(p.metrics.measured_j_per_token, None);
    assert_eq!(p.provenance["framework"], "sglang-disagg");
    assert_eq!(p.provenance["kv_p2p_transfer"], "mori");

    // Row 3, aggregated multi-node: no decode workers, so one pool of 2 × DEP8, 16 GPUs, and
    // the explicit disagg false wins over the legacy dynamo-* rule.
    let p = &ix.points[3];
    assert_eq!(
        p.config.natural_key(),
        format!("b200|dynamo-sglang|{MODEL}|fp8|none|agg|2x8ep8dpa")
    );
    assert_eq!((p.conc, p.num_gpus), (512, 16));
    assert_eq!(p.metrics.measured_j_per_token, Some(1.59302));
    assert_eq!(p.provenance["runner"], "b200-multinode");

    // Rows 4 and 5 are failed runs: skipped, and said so.
    assert_eq!(
        ix.skipped,
        [
            Skipped {
                row: 4,
                reason: "num_requests_successful 0 of num_requests_total 2560".into()
            },
            Skipped {
                row: 5,
                reason: "benchmark_outcome.status \"failed\"".into()
            }
        ]
    );
    assert_eq!(
        import::inferencex_agg_row(&rows[4], &file).unwrap(),
        None,
        "a failed row is no point"
    );
    // The benchmark-only importer reads the same points.
    assert_eq!(import::inferencex_agg(&file).unwrap(), ix.points);
}

#[test]
fn eval_rows_become_evals_with_inferencex_verdicts() {
    let file = fixture("agg_eval_all.json");
    let rows = rows("agg_eval_all.json");
    assert!(rows.iter().all(|r| RowKind::of(r) == RowKind::Eval));
    let ix = import::inferencex_file(&file).unwrap();
    assert!(ix.points.is_empty() && ix.skipped.is_empty());
    assert_eq!(ix.evals, import::inferencex_eval_agg(&file).unwrap());
    let bmk = import::inferencex_file(&fixture("agg_bmk.json")).unwrap();
    let e = &ix.evals;
    assert_eq!(e.len(), 3);

    // Row 0: the single-node B200 deployment of agg_bmk.json's row 0 (hw upper-cased there),
    // so it is stored beside that point.
    assert_eq!(e[0].config, bmk.points[0].config);
    assert_eq!((e[0].isl, e[0].osl, e[0].conc), (8192, 1024, 64));
    let o = &e[0].outcome;
    assert_eq!(o.task, "gsm8k");
    assert_eq!(
        (o.score, o.stderr, o.n, o.n_failed),
        (0.95375, 0.00578, 1319, 0)
    );
    // dsr1's own GSM8K floor.
    assert_eq!((o.threshold, o.passed), (Some(0.91), Some(true)));
    assert_eq!(e[0].result, rows[0]);
    assert_eq!(
        e[0].data_sha256,
        hex::encode(Sha256::digest(serde_json::to_vec(&rows[0]).unwrap()))
    );

    // Row 1: multi-node, no disagg field: disaggregated by its decode pool; the GB200 point.
    assert_eq!(e[1].config, bmk.points[1].config);
    assert_eq!(
        e[1].config.natural_key(),
        format!("gb200|dynamo-trt|{MODEL}|fp4|mtp|disagg|p3x4ep4dpa-d1x32ep32dpa")
    );
    assert_eq!(e[1].conc, 180);
    assert_eq!(
        (e[1].outcome.score, e[1].outcome.stderr, e[1].outcome.n),
        (0.94617, 0.00622, 1319)
    );
    assert_eq!(e[1].outcome.passed, Some(true));

    // Row 2: GPQA below its default floor of 0.30.
    assert_eq!(
        e[2].config.natural_key(),
        format!("mi355x|sglang|{MODEL}|fp8|none|agg|tp8")
    );
    let o = &e[2].outcome;
    assert_eq!(o.task, "gpqa_diamond_cot_n_shot");
    assert_eq!((o.score, o.stderr, o.n), (0.28283, 0.03207, 198));
    assert_eq!((o.threshold, o.passed), (Some(0.30), Some(false)));
}

#[test]
fn eval_scores_fall_back_and_every_exact_match_is_gated() {
    let base = rows("agg_eval_all.json")[0].clone();
    let eval = |changes: Value| {
        let mut r = base.clone();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                r.as_object_mut().unwrap().remove(k);
            } else {
                r[k] = v.clone();
            }
        }
        import::inferencex_eval_row(&r, Path::new("agg_eval_all.json"))
    };
    // No score: the strict exact match and its standard error.
    let o = eval(json!({"score": null, "score_se": null, "score_name": null}))
        .unwrap()
        .outcome;
    assert_eq!((o.score, o.stderr), (0.95375, 0.00578));
    // Only a flexible exact match.
    let o = eval(json!({"score": null, "score_se": null, "em_strict": null, "em_strict_se": null}))
        .unwrap()
        .outcome;
    assert_eq!((o.score, o.stderr), (0.95527, 0.0057));
    // A strict score over dsr1's 0.91 with a flexible one under it fails, as InferenceX's gate
    // checks every exact-match score.
    let o = eval(json!({"em_flexible": 0.905})).unwrap().outcome;
    assert_eq!((o.score, o.passed), (0.95375, Some(false)));
    // qwen3.5's floor is 0.94; a model without its own has the task's default.
    let o = eval(json!({"model_prefix": "qwen3.5"})).unwrap().outcome;
    assert_eq!(o.threshold, Some(0.94));
    let o = eval(json!({"model_prefix": "kimik3", "em_flexible": 0.905}))
        .unwrap()
        .outcome;
    assert_eq!((o.threshold, o.passed), (Some(0.90), Some(true)));
    // SWE-bench Lite's default floor; no n_eff, no standard error.
    let o = eval(
        json!({"task": "swebench_lite", "score": 0.54, "score_se": null,
                        "em_strict": 0.54, "em_strict_se": null, "em_flexible": null,
                        "em_flexible_se": null, "n_eff": null}),
    )
    .unwrap()
    .outcome;
    assert_eq!(
        (o.score, o.stderr, o.n, o.threshold, o.passed),
        (0.54, 0.0, 0, Some(0.50), Some(true))
    );
    // Scores are fractions.
    let e = eval(json!({"score": 95.4})).unwrap_err().to_string();
    assert!(
        e.contains("agg_eval_all.json: score 95.4: expected a fraction in [0, 1]"),
        "{e}"
    );
}

#[test]
fn topologies_gpus_aliases_and_power_of_single_rows() {
    // Pools with PP, PCP and DCP: GPUs per pool are workers × TP × PP × PCP (DCP reuses the TP
    // GPUs), from the pools when the row has no GPU counts.
    let p = point(base_row(json!({
        "hw": "cluster:b300-nv", "framework": "dynamo-trtllm", "precision": "nvfp4",
        "spec_decoding": "MTP", "is_multinode": true, "disagg": "true",
        "prefill_num_workers": 1, "prefill_tp": 8, "prefill_pp": 2, "prefill_dcp_size": 1,
        "prefill_pcp_size": 2, "prefill_ep": 1, "prefill_dp_attention": false,
        "decode_num_workers": 1, "decode_tp": 8, "decode_pp": 1, "decode_dcp_size": 4,
        "decode_pcp_size": 1, "decode_ep": 8, "decode_dp_attention": "true"
    })));
    assert_eq!(
        p.config.natural_key(),
        format!("b300|dynamo-trt|{MODEL}|fp4|mtp|disagg|p1x8pp2pcp2-d1x8dcp4ep8dpa")
    );
    assert_eq!(p.num_gpus, 8 * 2 * 2 + 8);
    // The row's GPU counts win over the pools'.
    let mut row = base_row(json!({"is_multinode": true, "prefill_num_workers": 1,
        "prefill_tp": 8, "decode_num_workers": 1, "decode_tp": 8,
        "num_prefill_gpu": 8, "num_decode_gpu": 16}));
    assert_eq!(point(row.clone()).num_gpus, 24);
    // Without disagg, a multi-node row with a decode pool is disaggregated.
    assert!(point(row.clone()).config.disagg);
    row["num_decode_gpu"] = json!(0);
    let p = point(row);
    assert_eq!((p.config.topology.as_str(), p.num_gpus), ("1x8", 8));
    assert!(!p.config.disagg);

    // Single node: PP and PCP multiply GPUs, DCP does not; DP attention as a bool.
    let p = point(base_row(
        json!({"framework": "trtllm", "tp": 4, "pp": 2, "dcp_size": 2,
        "pcp_size": 1, "ep": 4, "dp_attention": true}),
    ));
    assert_eq!(p.config.topology, "tp4-pp2-dcp2-ep4-dpa");
    assert_eq!((p.config.engine.as_str(), p.num_gpus), ("trt", 8));
    // Legacy dynamo-* rows without disagg are disaggregated; mori-* always are.
    assert!(
        point(base_row(json!({"framework": "dynamo-sglang"})))
            .config
            .disagg
    );
    assert!(
        point(base_row(
            json!({"framework": "mori-sglang", "disagg": false})
        ))
        .config
        .disagg
    );
    assert!(!point(base_row(json!({}))).config.disagg);
    // No spec method: none.
    assert_eq!(
        point(base_row(json!({"spec_decoding": null})))
            .config
            .spec_decoding,
        "none"
    );

    // Power: valid as true too; power_valid 0 keeps no energy even where the row has some.
    let j = json!({"joules_per_output_token": 2.5});
    let mut valid = base_row(j.clone());
    valid["power_valid"] = json!(true);
    assert_eq!(point(valid).metrics.measured_j_per_token, Some(2.5));
    let mut invalid = base_row(j);
    invalid["power_valid"] = json!(0);
    assert_eq!(point(invalid).metrics.measured_j_per_token, None);

    // Request counts where the row has them; interactivity from TPOT where it has none.
    let p = point(base_row(
        json!({"num_requests_total": 640, "num_requests_successful": 632,
        "median_tpot": 0.025}),
    ));
    assert_eq!(
        (p.metrics.completed, p.metrics.failed),
        (Some(632), Some(8))
    );
    assert!(near(p.metrics.median_intvty, 40.0));
    assert!(near(p.metrics.median_tpot_ms, 25.0));
}

#[test]
fn agentic_rows_import_as_points_of_the_agentic_workload() {
    let tmp = tempfile::tempdir().unwrap();
    let agentic = fixture(AGENTIC);
    let arow = rows(AGENTIC).remove(0);
    assert_eq!(RowKind::of(&arow), RowKind::Agentic);
    // By content, whatever the file's name; the figures are the row's own (seconds to ms).
    let got = import::inferencex_by_content(&agentic)
        .unwrap()
        .expect("an InferenceX file");
    assert_eq!(got.points.len(), 1);
    let p = &got.points[0];
    assert_eq!((p.isl, p.osl), servebench_store::AGENTIC_WORKLOAD);
    assert_eq!((p.conc, p.num_gpus), (32, 8));
    assert_eq!(
        (p.config.hardware.as_str(), p.config.topology.as_str()),
        ("b300", "tp8")
    );
    assert!(near(p.metrics.tput_per_gpu, 5088.64));
    assert!(near(p.metrics.output_tput_per_gpu, 66.6275));
    assert!(near(p.metrics.median_ttft_ms, 1104.42));
    assert!(near(p.metrics.p99_e2el_ms, 80331.9));
    assert!(near(p.metrics.median_intvty, 50.3018));
    assert_eq!(
        (p.metrics.completed, p.metrics.failed),
        (Some(1181), Some(6))
    );
    let a = servebench_store::AgenticPoint::of(&p.result).unwrap();
    assert_eq!(a.kv_offloading, "none");
    assert_eq!(
        a.trace.as_deref(),
        Some("semianalysisai/cc-traces-weka-062126")
    );
    assert_eq!(a.theoretical_hit_rate, Some(0.91223));
    assert_eq!(
        (a.server_hit_rate, a.server_gpu_hit_rate),
        (Some(0.87311), Some(0.87311))
    );
    assert_eq!(a.e2e_norm_intvty_p90, Some(14.6021));
    assert_eq!(a.duration_s, Some(1800.0));

    // With KV offload to CPU memory it is another deployment.
    let mut dram = arow.clone();
    dram["kv_offloading"] = "dram".into();
    dram["kv_offload_backend"] = json!({"name": "hicache"});
    let d = import::inferencex_agg_row(&dram, &agentic)
        .unwrap()
        .unwrap();
    assert_eq!(d.config.topology, "tp8-kvdram-hicache");

    // agg_bmk.json gathers both kinds of benchmark rows.
    let bmk = rows("agg_bmk.json");
    let mixed = write(
        tmp.path(),
        "agg_bmk.json",
        &json!([bmk[0], arow, bmk[1], dram]),
    );
    let pts = import::inferencex_agg(&mixed).unwrap();
    let agentic_pts = pts.iter().filter(|p| p.isl == 0 && p.osl == 0).count();
    assert_eq!((pts.len(), agentic_pts), (4, 2));
    // Eval rows among benchmark rows are still refused.
    let evals = rows("agg_eval_all.json");
    let mixed = write(tmp.path(), "agg_bmk.json", &json!([bmk[0], arow, evals[0]]));
    let e = import::inferencex_file(&mixed).unwrap_err().to_string();
    assert!(
        e.contains("mixes kinds of rows: 1 fixed-seq benchmark rows (the first is row 0), 1 agentic rows (the first is row 1), 1 eval rows (the first is row 2)"),
        "{e}"
    );
    // Another scenario type is named.
    let mut other = arow.clone();
    other["scenario_type"] = "agentic-browsing".into();
    let e = import::inferencex_agg_row(&other, &agentic)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("scenario_type \"agentic-browsing\": expected \"agentic-coding\""),
        "{e}"
    );
}

#[test]
fn bad_rows_name_the_file_and_the_row() {
    let tmp = tempfile::tempdir().unwrap();
    let bmk = rows("agg_bmk.json");
    let check = |name: &str, v: Value, says: &str| {
        let f = write(tmp.path(), name, &v);
        let e = import::inferencex_file(&f).unwrap_err().to_string();
        assert!(e.starts_with(&f.display().to_string()), "{e}");
        assert!(e.contains(says), "{e}");
    };
    let mut r = bmk[1].clone();
    r["prefill_tp"] = json!("four");
    check(
        "agg_bmk.json",
        json!([bmk[0], r]),
        "row 1: prefill_tp: expected a non-negative integer up to 4294967295, got \"four\"",
    );
    let mut r = bmk[1].clone();
    r.as_object_mut().unwrap().remove("decode_num_workers");
    check(
        "agg_bmk.json",
        json!([r]),
        "row 0: decode_num_workers: expected a non-negative integer",
    );
    let mut r = bmk[0].clone();
    r["dp_attention"] = json!("maybe");
    check(
        "agg_x.json",
        r,
        "row 0: dp_attention: expected true or false, got \"maybe\"",
    );
    let mut r = bmk[0].clone();
    r["conc"] = json!(1u64 << 40);
    check(
        "agg_bmk.json",
        json!([r]),
        "row 0: conc: expected a non-negative integer up to 4294967295",
    );
    let mut r = bmk[0].clone();
    r["tp"] = json!(0);
    check(
        "agg_bmk.json",
        json!([r]),
        "row 0: the deployment has no GPUs",
    );
    // agg_eval_all.json holds eval rows only.
    check(
        "agg_eval_all.json",
        json!([rows("agg_eval_all.json")[0], bmk[0]]),
        "row 1: not an eval row",
    );
    let mut r = rows("agg_eval_all.json")[1].clone();
    r.as_object_mut().unwrap().remove("prefill_tp");
    check(
        "agg_eval_all.json",
        json!([r]),
        "row 0: prefill_tp: expected a non-negative integer",
    );
    check(
        "agg_bmk.json",
        json!(3),
        "expected an InferenceX row or an array",
    );
}

#[test]
fn inferencex_files_are_found_by_content_and_others_are_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    // agg_bmk.json's rows under another name.
    let renamed = write(
        tmp.path(),
        "results.json",
        &serde_json::from_slice(&std::fs::read(fixture("agg_bmk.json")).unwrap()).unwrap(),
    );
    let ix = import::inferencex_by_content(&renamed).unwrap().unwrap();
    assert_eq!((ix.points.len(), ix.skipped.len()), (4, 2));
    let evals = write(
        tmp.path(),
        "evals.json",
        &serde_json::from_slice(&std::fs::read(fixture("agg_eval_all.json")).unwrap()).unwrap(),
    );
    assert_eq!(
        import::inferencex_by_content(&evals)
            .unwrap()
            .unwrap()
            .evals
            .len(),
        3
    );
    // A vllm bench serve result, and bytes that are not JSON, are not InferenceX's.
    let vllm = write(
        tmp.path(),
        "vllm.json",
        &json!([{"backend": "vllm", "model_id": MODEL, "max_concurrency": 16,
                 "total_token_throughput": 8000.0, "output_throughput": 800.0}]),
    );
    assert_eq!(import::inferencex_by_content(&vllm).unwrap(), None);
    let text = tmp.path().join("notes.json");
    std::fs::write(&text, "not json").unwrap();
    assert_eq!(import::inferencex_by_content(&text).unwrap(), None);
}

#[test]
fn points_and_evals_of_one_inferencex_run_are_stored_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let run = Run {
        key: "inferencex-run-1".into(),
        started_at: "unknown".into(),
        who: String::new(),
        recipes_commit: None,
        executor: "inferencex".into(),
        source: Source::Reference,
    };
    let points = import::inferencex_file(&fixture("agg_bmk.json"))
        .unwrap()
        .points;
    let evals = import::inferencex_file(&fixture("agg_eval_all.json"))
        .unwrap()
        .evals;
    let mut s = Store::open(&format!("sqlite:{}", tmp.path().join("s.db").display())).unwrap();
    assert_eq!(s.ingest(&run, &points).unwrap().inserted, 4);
    assert_eq!(s.ingest_evals(&run, &evals).unwrap().inserted, 3);
    let view = s.view(MODEL, 8192, 1024, None, Source::Reference).unwrap();
    assert_eq!(view.len(), 4);
    assert_eq!(s.count_points(Some(Source::Own)).unwrap(), 0);
    let gb200 = view.iter().find(|p| p.config.hardware == "gb200").unwrap();
    assert_eq!(gb200.metrics.measured_j_per_token, Some(0.72131));
    let stored = s.point(gb200.id).unwrap().unwrap();
    assert_eq!(
        stored.point.result["decode_joules_per_output_token"],
        0.53444
    );
    assert_eq!(stored.evals.len(), 1, "its eval, beside it");
    assert_eq!(stored.evals[0].outcome.score, 0.94617);
    let all = s.view_evals(MODEL, 8192, 1024, Source::Reference).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all.iter().filter(|e| e.point_id.is_some()).count(),
        2,
        "the MI355X eval has no point"
    );
}
