//! The store on both backends (an SQLite file, and a real PostgreSQL server when
//! `SERVEBENCH_TEST_POSTGRES_URL` names one): idempotent, atomic, concurrent ingest; the
//! importers on real-shaped files.

use serde_json::json;
use servebench_store::{import, Config, Metrics, Point, Retract, Run, Source, Store};

mod backends;
use backends::{stores, TestStore};

fn run(key: &str, source: Source) -> Run {
    Run {
        key: key.into(),
        started_at: "2026-11-28".into(),
        who: "test".into(),
        recipes_commit: Some("abc123".into()),
        executor: "local".into(),
        source,
    }
}

fn point(hw: &str, conc: u32, tput: f64) -> Point {
    Point {
        config: Config {
            hardware: hw.into(),
            engine: "vllm".into(),
            model: "llama-3.3-70b".into(),
            precision: "fp8".into(),
            spec_decoding: "none".into(),
            disagg: false,
            topology: "tp8".into(),
        },
        isl: 1024,
        osl: 1024,
        conc,
        num_gpus: 8,
        deployment: None,
        metrics: Metrics {
            tput_per_gpu: Some(tput),
            median_intvty: Some(1000.0 / conc as f64),
            ..Default::default()
        },
        provenance: json!({"image": "img"}),
        result: json!({"completed": 10}),
    }
}

#[test]
fn the_same_results_ingested_twice_are_stored_once() {
    for t in stores("twice") {
        twice(&t);
    }
}

fn twice(t: &TestStore) {
    let url = &t.url;
    let mut s = Store::open(url).unwrap();
    let pts: Vec<Point> = [4, 8, 16]
        .iter()
        .map(|&c| point("h200", c, 100.0 * c as f64))
        .collect();
    let r = run("run-1", Source::Own);
    let a = s.ingest(&r, &pts).unwrap();
    assert_eq!((a.inserted, a.duplicates), (3, 0));
    let b = s.ingest(&r, &pts).unwrap();
    assert_eq!((b.inserted, b.duplicates), (0, 3));
    // Reopened (migrations run once), the same answer; another run is another point set.
    drop(s);
    let mut s = Store::open(url).unwrap();
    assert_eq!(s.count_points(None).unwrap(), 3);
    s.ingest(&run("run-2", Source::Own), &pts[..1]).unwrap();
    assert_eq!(s.count_points(None).unwrap(), 4);
    let view = s
        .view("llama-3.3-70b", 1024, 1024, None, Source::Own)
        .unwrap();
    let got: Vec<(String, u32, Option<f64>)> = view
        .iter()
        .map(|p| (p.run.to_string(), p.conc, p.metrics.tput_per_gpu))
        .collect();
    assert_eq!(
        got,
        [
            ("run-1".into(), 4, Some(400.0)),
            ("run-1".into(), 8, Some(800.0)),
            ("run-1".into(), 16, Some(1600.0)),
            ("run-2".into(), 4, Some(400.0))
        ]
    );
    assert_eq!(
        s.run("run-1").unwrap().unwrap().recipes_commit.as_deref(),
        Some("abc123")
    );
    assert!(s.run("nope").unwrap().is_none());
}

#[test]
fn a_batch_that_fails_midway_leaves_nothing_behind() {
    for t in stores("midway") {
        let mut s = Store::open(&t.url).unwrap();
        // A fault injected after the first points of the batch are written.
        t.fail_inserts_where_conc_is(999);
        let pts = vec![
            point("h200", 4, 1.0),
            point("h200", 8, 2.0),
            point("h200", 999, 3.0),
        ];
        let e = s
            .ingest(&run("r", Source::Own), &pts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("injected failure"), "{}: {e}", t.url);
        assert_eq!(s.count_points(None).unwrap(), 0);
        assert!(s.run("r").unwrap().is_none(), "not even the run");
        // The store is still usable after the rolled-back batch.
        s.ingest(&run("r", Source::Own), &pts[..2]).unwrap();
        assert_eq!(s.count_points(None).unwrap(), 2);
    }
}

/// The generation a reader sees (another connection, read-only, as the dashboard's) moves
/// with each committed write and only then: not on reads, not on a rolled-back batch.
#[test]
fn the_generation_moves_with_each_committed_write() {
    for t in stores("generation") {
        let mut w = Store::open(&t.url).unwrap();
        let mut r = Store::open_read_only(&t.url).unwrap();
        let g0 = r.generation().unwrap();
        assert_eq!(r.generation().unwrap(), g0, "{}: a read is no write", t.url);
        w.ingest(&run("a", Source::Own), &[point("h200", 4, 1.0)])
            .unwrap();
        let g1 = r.generation().unwrap();
        assert_eq!(g1, g0 + 1, "{}", t.url);
        r.view("llama-3.3-70b", 1024, 1024, None, Source::Own)
            .unwrap();
        assert_eq!(r.generation().unwrap(), g1, "{}", t.url);
        t.fail_inserts_where_conc_is(999);
        w.ingest(&run("b", Source::Own), &[point("h200", 999, 1.0)])
            .unwrap_err();
        assert_eq!(r.generation().unwrap(), g1, "{}: rolled back", t.url);
        w.ingest_jobs(&run("c", Source::Own), &[], &[]).unwrap();
        assert_eq!(r.generation().unwrap(), g1 + 1, "{}", t.url);
    }
}

#[test]
fn concurrent_writers_all_land() {
    for t in stores("concurrent") {
        concurrent(&t.url);
    }
}

fn concurrent(url: &str) {
    // The first open of each writer races with the others' migrations too.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let url = url.to_string();
            std::thread::spawn(move || {
                let mut s = Store::open(&url).unwrap();
                for b in 0..20 {
                    // Every writer also writes the same shared points: stored once.
                    let mut pts: Vec<Point> = (0..50)
                        .map(|i| point(&format!("gpu{t}"), b * 50 + i + 1, 1.0))
                        .collect();
                    pts.push(point("shared", b + 1, 1.0));
                    s.ingest(&run(&format!("run-{t}"), Source::Own), &pts)
                        .unwrap();
                    s.ingest(&run("shared", Source::Own), &pts[50..]).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        Store::open(url).unwrap().count_points(None).unwrap(),
        4 * 20 * 51 + 20
    );
}

#[test]
fn importers_on_real_shaped_files_keep_references_apart() {
    let d = tempfile::tempdir().unwrap();
    let dump = d.path().join("dump");
    std::fs::create_dir(&dump).unwrap();
    std::fs::write(
        dump.join("DeepSeek_R1_0528_8K_1K_interactivity.json"),
        r#"{"metadata":{"timestamp":"2025-10-25T01:00:12.3"},"data":[
          {"x":71.946,"y":139.664,"conc":8,"tp":8,"hwKey":"mi355x","precision":"fp4","tpPerGpu":{"y":139.664,"roof":true},
           "tpPerMw":{"y":52703.415},"costh":{"y":2.944},"costn":{"y":3.779},"costr":{"y":4.177}},
          {"x":30.0,"y":900.0,"conc":64,"tp":36,"hwKey":"gb200_mtp","precision":"fp4","tpPerGpu":{"y":900.0}}]}"#,
    )
    .unwrap();
    let (r, pts) = import::inferencemax_v1(&dump).unwrap();
    assert_eq!(r.key, "inferencemax-v1-2025-10-25");
    assert_eq!(r.source, Source::Reference);
    assert_eq!(pts.len(), 2);
    assert_eq!(
        pts[0].config.natural_key(),
        "mi355x|sglang|deepseek-r1-0528|fp4|none|agg|tp8"
    );
    assert_eq!(
        pts[1].config.natural_key(),
        "gb200|dynamo-trt|deepseek-r1-0528|fp4|mtp|disagg|tp36"
    );
    assert_eq!((pts[0].isl, pts[0].osl, pts[0].conc), (8192, 1024, 8));
    assert_eq!(pts[0].metrics.median_intvty, Some(71.946));

    let sweep = d.path().join("sweep");
    let pdir = sweep.join("points/k");
    std::fs::create_dir_all(&pdir).unwrap();
    std::fs::write(
        pdir.join("a_c4.json"),
        serde_json::to_vec(&json!({
            "config_key": "k",
            "job": {"image": "img", "model": "m", "model-prefix": "m", "precision": "fp8",
                    "framework": "sim", "runner": "h200", "spec-decoding": "none", "tp": 8, "pp": 1,
                    "dcp-size": 1, "pcp-size": 1, "ep": 8, "dp-attn": true, "isl": 1024, "osl": 128,
                    "conc": 4, "disagg": false, "recipe-fingerprint": "ff"},
            "concurrency": 4,
            "server_command": "servebench sim --gpu h200",
            "result": {"tput_per_gpu": 123.5, "median_intvty": 80.0, "num_gpus": 8, "completed": 40,
                       "failed": 0, "date": "20261128-120000", "tokenizer_id": "cl100k_base",
                       "config": {"seed": 0}, "provenance": {"servebench_version": "0.1.0", "host": "h",
                       "dataset_sha256": "d5", "tokenizer": {"sha256": "t5"}}}
        }))
        .unwrap(),
    )
    .unwrap();
    let (r2, pts2) = import::sweep_dir(&sweep, "my-run", "me").unwrap();
    assert_eq!(
        (r2.source, r2.started_at.as_str()),
        (Source::Own, "20261128-120000")
    );
    assert_eq!(pts2[0].config.topology, "tp8-ep8-dpa");
    assert_eq!(pts2[0].metrics.tput_per_gpu, Some(123.5));
    assert_eq!(
        pts2[0].provenance["server_command"],
        "servebench sim --gpu h200"
    );
    assert_eq!(pts2[0].provenance["dataset_sha256"], "d5");
    assert_eq!(pts2[0].provenance["tokenizer_sha256"], "t5");
    assert!(pts2[0].provenance["engine_version"]
        .as_str()
        .unwrap()
        .starts_with("sim (servebench "));
    // With the sweep's run record: when, who, executor and the recipes' commit come from it.
    std::fs::write(
        sweep.join("run.json"),
        r#"{"started_at": "20261128-115959", "who": "ops", "host": "n1", "executor": "slurm",
            "engines": "real", "recipe_files": ["/r/master.yaml"], "recipes_commit": "abc123",
            "recipes_dirty": true, "servebench_version": "0.1.0", "command": []}"#,
    )
    .unwrap();
    let (r3, _) = import::sweep_dir(&sweep, "my-run", "").unwrap();
    assert_eq!(
        (
            r3.started_at.as_str(),
            r3.who.as_str(),
            r3.executor.as_str(),
            r3.recipes_commit.as_deref()
        ),
        ("20261128-115959", "ops", "slurm", Some("abc123-dirty"))
    );

    for t in stores("importers") {
        let mut s = Store::open(&t.url).unwrap();
        s.ingest(&r, &pts).unwrap();
        s.ingest(&r2, &pts2).unwrap();
        assert_eq!(s.count_points(Some(Source::Reference)).unwrap(), 2);
        assert_eq!(s.count_points(Some(Source::Own)).unwrap(), 1);
    }
    // A directory of neither kind says what it expected.
    let e = import::sweep_dir(&dump, "x", "y").unwrap_err().to_string();
    assert!(e.contains("no points/"), "{e}");
}

#[test]
fn inferencex_aggregated_rows_and_bench_results() {
    assert_eq!(import::hardware_of_runner("b200-multinode-slurm"), "b200");
    assert_eq!(import::hardware_of_runner("mi355x-amds_03"), "mi355x");
    assert_eq!(import::hardware_of_runner("cluster:gb200-nv"), "gb200");
    assert_eq!(import::hardware_of_runner("h100"), "h100");
    let d = tempfile::tempdir().unwrap();
    // agg_bmk.json: a single-node and a multi-node row, latencies in seconds.
    let bmk = d.path().join("agg_bmk.json");
    std::fs::write(
        &bmk,
        serde_json::to_vec(&json!([
            {"hw": "h200-dgxc_1", "conc": 64, "image": "lmsysorg/sglang:v0.5", "model": "deepseek-ai/DeepSeek-R1-0528",
             "infmax_model_prefix": "dsr1", "framework": "sglang", "precision": "fp8", "spec_decoding": "none",
             "disagg": false, "recipe_fingerprint": "ab", "isl": 8192, "osl": 1024, "is_multinode": false,
             "tp": 8, "pp": 1, "dcp_size": 1, "pcp_size": 1, "ep": 8, "dp_attention": true,
             "tput_per_gpu": 1642.0, "output_tput_per_gpu": 180.0, "input_tput_per_gpu": 1462.0,
             "median_ttft": 1.25, "median_tpot": 0.0427, "median_e2el": 45.0, "median_intvty": 23.4},
            {"hw": "gb200-nv_4", "conc": 512, "image": "dynamo", "model": "deepseek-r1-fp4", "framework": "dynamo-trt",
             "precision": "fp4", "spec_decoding": "mtp", "disagg": true, "isl": 1024, "osl": 1024,
             "is_multinode": true, "prefill_tp": 4, "prefill_ep": 4, "prefill_dp_attention": "true",
             "prefill_num_workers": 2, "decode_tp": 16, "decode_ep": 16, "decode_dp_attention": "true",
             "decode_num_workers": 1, "num_prefill_gpu": 8, "num_decode_gpu": 16, "tput_per_gpu": 3000.0,
             "median_intvty": 60.0}
        ]))
        .unwrap(),
    )
    .unwrap();
    let pts = import::inferencex_agg(&bmk).unwrap();
    assert_eq!(pts.len(), 2);
    assert_eq!(
        pts[0].config.natural_key(),
        "h200|sglang|deepseek-ai/DeepSeek-R1-0528|fp8|none|agg|tp8-ep8-dpa"
    );
    assert_eq!(pts[0].num_gpus, 8);
    assert_eq!(pts[0].metrics.median_ttft_ms, Some(1250.0));
    assert!((pts[0].metrics.median_tpot_ms.unwrap() - 42.7).abs() < 1e-9);
    assert_eq!(
        pts[1].config.natural_key(),
        "gb200|dynamo-trt|deepseek-r1-fp4|fp4|mtp|disagg|p2x4ep4dpa-d1x16ep16dpa"
    );
    assert_eq!(pts[1].num_gpus, 24);
    // A bad row says which and why.
    std::fs::write(&bmk, r#"[{"hw": "h100", "conc": 4}]"#).unwrap();
    let e = import::inferencex_agg(&bmk).unwrap_err().to_string();
    assert!(
        e.contains("row 0") && e.contains("framework: expected a string"),
        "{e}"
    );

    // A vllm bench serve result (one per concurrency, as an array) with its deployment.
    let v = d.path().join("vllm.json");
    std::fs::write(
        &v,
        serde_json::to_vec(&json!([{"date": "20261128-101010", "backend": "vllm", "model_id": "meta-llama/Llama-3.3-70B-Instruct",
            "tokenizer_id": "meta-llama/Llama-3.3-70B-Instruct", "max_concurrency": 16, "completed": 160, "failed": 0,
            "total_token_throughput": 8000.0, "output_throughput": 800.0, "median_tpot_ms": 20.0, "median_ttft_ms": 90.0}]))
        .unwrap(),
    )
    .unwrap();
    let dep = import::Deployment {
        hardware: "h100".into(),
        engine: "vllm".into(),
        precision: "fp8".into(),
        topology: "tp4".into(),
        num_gpus: 4,
        isl: 1024,
        osl: 1024,
    };
    let p = import::bench_results(&v, &dep).unwrap();
    assert_eq!(p[0].conc, 16);
    assert_eq!(p[0].metrics.tput_per_gpu, Some(2000.0));
    assert_eq!(p[0].metrics.output_tput_per_gpu, Some(200.0));
    assert_eq!(p[0].metrics.input_tput_per_gpu, Some(1800.0));
    assert_eq!(p[0].metrics.median_intvty, Some(50.0));
}

#[test]
fn measured_power_is_stored_beside_its_point() {
    for t in stores("power") {
        let mut s = Store::open(&t.url).unwrap();
        let power = json!({
            "source": "nvml", "valid": true, "invalid_reasons": [], "window_s": 10.0,
            "expected_gpus": [0, 1], "seen_gpus": [0, 1, 2], "sample_hz": 10.0,
            "max_gap_s": 0.1, "per_gpu": [], "total_energy_j": 12000.0,
            "counter_energy_j": 11900.0, "avg_power_per_gpu_w": 600.0,
            "avg_total_power_w": 1200.0, "joules_per_request": 120.0,
            "joules_per_input_token": 1.2, "joules_per_output_token": 2.4,
            "joules_per_total_token": 0.8, "tokens_per_s_per_kw": 1250.0,
            "output_tokens_per_s_per_kw": 416.7
        });
        let mut invalid = power.clone();
        invalid["valid"] = json!(false);
        invalid["invalid_reasons"] =
            json!([{"code": "sampling_gap_exceeded", "detail": "GPU 1: 1.2 s"}]);
        for k in [
            "joules_per_request",
            "joules_per_input_token",
            "joules_per_output_token",
            "joules_per_total_token",
            "tokens_per_s_per_kw",
            "output_tokens_per_s_per_kw",
        ] {
            invalid[k] = json!(null);
        }
        let mut pts = vec![
            point("h100", 4, 100.0),
            point("h100", 8, 150.0),
            point("h100", 16, 200.0),
        ];
        pts[0].result = json!({"completed": 100, "power": power});
        pts[1].result = json!({"completed": 100, "power": invalid});
        let r = run("run-p", Source::Own);
        s.ingest(&r, &pts).unwrap();
        // Ingesting again adds nothing and keeps the first.
        s.ingest(&r, &pts).unwrap();
        let view = s
            .view("llama-3.3-70b", 1024, 1024, None, Source::Own)
            .unwrap();
        let id = |conc: u32| view.iter().find(|p| p.conc == conc).unwrap().id;
        let p4 = s.point(id(4)).unwrap().unwrap().power.expect("measured");
        assert!(p4.valid);
        assert_eq!(p4.source, "nvml");
        assert_eq!(p4.expected_gpus, [0, 1]);
        assert_eq!(p4.total_energy_j, 12000.0);
        assert_eq!(p4.counter_energy_j, Some(11900.0));
        assert_eq!(p4.avg_power_per_gpu_w, 600.0);
        assert_eq!(p4.joules_per_input_token, Some(1.2));
        assert_eq!(p4.joules_per_output_token, Some(2.4));
        assert_eq!(p4.joules_per_total_token, Some(0.8));
        assert_eq!(p4.tokens_per_s_per_kw, Some(1250.0));
        let p8 = s
            .point(id(8))
            .unwrap()
            .unwrap()
            .power
            .expect("measured, invalid");
        assert!(!p8.valid);
        assert_eq!(p8.invalid_reasons[0]["code"], "sampling_gap_exceeded");
        assert_eq!(p8.joules_per_output_token, None);
        assert_eq!(p8.total_energy_j, 12000.0);
        assert_eq!(
            s.point(id(16)).unwrap().unwrap().power,
            None,
            "not measured"
        );
    }
}

#[test]
fn evals_are_stored_once_and_linked_to_their_points() {
    use servebench_store::{Eval, EvalOutcome};
    for t in stores("evals") {
        let mut s = Store::open(&t.url).unwrap();
        let r = run("run-e", Source::Own);
        let pts = vec![point("h100", 16, 100.0), point("h100", 32, 150.0)];
        s.ingest(&r, &pts).unwrap();
        let eval = |conc: u32, score: f64| Eval {
            config: pts[0].config.clone(),
            isl: 1024,
            osl: 1024,
            conc,
            outcome: EvalOutcome {
                task: "gsm8k".into(),
                score,
                stderr: 0.01,
                n: 1319,
                n_failed: 0,
                threshold: Some(0.9),
                passed: Some(score >= 0.9),
            },
            data_sha256: "ab".repeat(32),
            result: json!({"task": "gsm8k", "score": score}),
        };
        // One beside the conc-32 point, one at a concurrency with no point (an eval row).
        let evals = [eval(32, 0.93), eval(64, 0.88)];
        let a = s.ingest_evals(&r, &evals).unwrap();
        assert_eq!((a.inserted, a.duplicates), (2, 0));
        let b = s.ingest_evals(&r, &evals).unwrap();
        assert_eq!((b.inserted, b.duplicates), (0, 2));
        let view = s
            .view("llama-3.3-70b", 1024, 1024, None, Source::Own)
            .unwrap();
        let id32 = view.iter().find(|p| p.conc == 32).unwrap().id;
        let got = s
            .view_evals("llama-3.3-70b", 1024, 1024, Source::Own)
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].conc, got[0].point_id, got[0].outcome.passed),
            (32, Some(id32), Some(true))
        );
        assert_eq!(
            (got[1].conc, got[1].point_id, got[1].outcome.passed),
            (64, None, Some(false))
        );
        assert_eq!(got[0].config_key, pts[0].config.natural_key());
        assert_eq!(
            (
                got[0].outcome.score,
                got[0].outcome.n,
                got[0].outcome.threshold
            ),
            (0.93, 1319, Some(0.9))
        );
        assert!(s
            .view_evals("llama-3.3-70b", 1024, 1024, Source::Reference)
            .unwrap()
            .is_empty());
        assert!(s
            .view_evals("llama-3.3-70b", 8192, 1024, Source::Own)
            .unwrap()
            .is_empty());
        let p = s.point(id32).unwrap().unwrap();
        assert_eq!(p.evals.len(), 1);
        assert_eq!(p.evals[0].outcome.score, 0.93);
        let id16 = view.iter().find(|p| p.conc == 16).unwrap().id;
        assert!(s.point(id16).unwrap().unwrap().evals.is_empty());
    }
}

#[test]
fn simulated_points_carry_their_expected_error_into_views() {
    for t in stores("simulated") {
        let mut s = Store::open(&t.url).unwrap();
        let mut sim = point("b300", 4, 400.0);
        let expected = json!({"basis": "leave one accelerator out", "within_35": 0.9142,
                              "median_tput_error": 0.1063, "median_interactivity_error": 0.1069,
                              "points": 1328.0, "against": "InferenceMAX v1"});
        sim.provenance = json!({"image": "img", "simulator": {"gpu": "b300",
                               "knobs": {"kind": "borrowed"}, "expected_error": expected}});
        s.ingest(&run("sim", Source::Own), &[sim, point("h200", 4, 300.0)])
            .unwrap();
        let v = s
            .view("llama-3.3-70b", 1024, 1024, None, Source::Own)
            .unwrap();
        let by = |hw: &str| v.iter().find(|p| p.config.hardware == hw).unwrap();
        assert_eq!(by("b300").simulated.as_deref(), Some(&expected));
        assert_eq!(by("h200").simulated, None, "a measured point");
    }
}

#[test]
fn a_store_from_before_simulated_views_is_migrated_and_backfilled() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("s.db");
    let url = format!("sqlite:{}", path.display());
    let mut sim = point("b300", 4, 400.0);
    sim.provenance = json!({"simulator": {"expected_error": {"basis": "in sample"}}});
    let mut measured = vec![point("h200", 64, 900.0), point("h200", 8, 500.0)];
    measured[0].provenance = json!({"image": "vllm/vllm-openai:v0.11.0",
                                    "recipe_fingerprint": "9f2c"});
    // A sweep point's file names the master-config key it was planned from.
    measured[0].result = json!({"config_key": "llama70b-fp8-h200-vllm"});
    let mut s = Store::open(&url).unwrap();
    s.ingest(&run("sim", Source::Own), &[sim]).unwrap();
    s.ingest(&run("measured", Source::Own), &measured).unwrap();
    drop(s);
    // Back to schema version 8: no `simulated` column, no stored deployments, no agentic
    // figures, no job records, no generation, no curve columns, no recipe keys,
    // fingerprints, reuse, retractions, changelog or deferred points.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "DROP TABLE deferred_points;
         DROP TABLE changelog_configs;
         DROP TABLE changelog;
         DROP TABLE retractions;
         ALTER TABLE points DROP COLUMN recipe_key;
         ALTER TABLE points DROP COLUMN fingerprint;
         ALTER TABLE points DROP COLUMN reused_from;
         DROP TABLE curve_columns;
         DROP TABLE store_generation;
         DROP TABLE job_stats;
         DROP TABLE failed_jobs;
         DROP TABLE point_agentic;
         DROP INDEX points_view;
         ALTER TABLE points DROP COLUMN simulated;
         CREATE INDEX points_view ON points(config_id, isl, osl, run_id);
         DROP TABLE config_pools;
         ALTER TABLE configs DROP COLUMN router;
         ALTER TABLE configs DROP COLUMN kv_transfer;
         ALTER TABLE configs DROP COLUMN draft_tokens;
         ALTER TABLE configs DROP COLUMN recipe_file;
         ALTER TABLE configs DROP COLUMN described;
         DELETE FROM schema_version WHERE version >= 9;",
    )
    .unwrap();
    drop(c);
    let e = match Store::open_read_only(&url) {
        Ok(_) => panic!("an old schema opened read-only"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("schema version 8, this servebench reads version 18"),
        "{e}"
    );
    let mut s = Store::open(&url).unwrap();
    assert_eq!(s.schema_version().unwrap(), 18);
    let v = s
        .view("llama-3.3-70b", 1024, 1024, None, Source::Own)
        .unwrap();
    // Every curve's points read back from the columns the migration filled: by config
    // (b300 before h200), then concurrency, each with its own image and metrics.
    let got: Vec<_> = v
        .iter()
        .map(|p| {
            (
                p.config.hardware.as_str(),
                p.conc,
                p.metrics.tput_per_gpu,
                p.image.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("b300", 4, Some(400.0), None),
            ("h200", 8, Some(500.0), Some("img")),
            ("h200", 64, Some(900.0), Some("vllm/vllm-openai:v0.11.0")),
        ]
    );
    assert_eq!(
        v[0].simulated.as_deref(),
        Some(&json!({"basis": "in sample"}))
    );
    assert_eq!(v[1].simulated, None);
    // Each point's recipe key and fingerprint, from its result and provenance.
    drop(s);
    let c = rusqlite::Connection::open(&path).unwrap();
    let mut q = c
        .prepare("SELECT conc, recipe_key, fingerprint FROM points ORDER BY conc")
        .unwrap();
    let got: Vec<(u32, Option<String>, Option<String>)> = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        got,
        [
            (4, None, None),
            (8, None, None),
            (
                64,
                Some("llama70b-fp8-h200-vllm".into()),
                Some("9f2c".into())
            )
        ]
    );
}

/// A sweep's multi-node point: its InferenceX row as the planner writes it.
fn multi_node_point(dir: &std::path::Path, name: &str, config_file: &str) -> std::path::PathBuf {
    let job = json!({
        "image": "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:0.5.1", "model": "nvidia/DeepSeek-R1-0528-FP4-v2",
        "model-prefix": "dsr1", "precision": "fp4", "framework": "dynamo-trt", "runner": "gb200",
        "spec-decoding": "mtp", "isl": 1024, "osl": 1024, "conc": [4, 8], "disagg": true,
        "prefill": {"num-worker": 1, "tp": 4, "pp": 1, "dcp-size": 1, "pcp-size": 1, "ep": 4, "dp-attn": true,
                    "additional-settings": [format!("CONFIG_FILE={config_file}")]},
        "decode": {"num-worker": 4, "tp": 8, "pp": 1, "dcp-size": 1, "pcp-size": 1, "ep": 8, "dp-attn": false,
                   "additional-settings": [format!("CONFIG_FILE={config_file}")]},
        "router": {"name": "dynamo-router", "version": "0.5.1"},
        "kv-p2p-transfer": "nixl",
    });
    let p = dir.join(format!("points/dsr1/{name}.json"));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let v = json!({"config_key": "dsr1-fp4-gb200-dynamo-trt", "job": job, "concurrency": 8,
                   "server_command": "x",
                   "result": {"num_gpus": 36, "tput_per_gpu": 1000.0, "median_intvty": 50.0,
                              "completed": 80, "failed": 0}});
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    p
}

/// A multi-node deployment is stored pool by pool (workers, parallelism, GPUs per role) with
/// its router, KV transfer, MTP draft length and recipe file; two deployments of one pool
/// shape from different recipe files stay two configs.
#[test]
fn a_multi_node_deployment_is_stored_pool_by_pool() {
    use servebench_store::{Pool, Role};
    let d = tempfile::tempdir().unwrap();
    let a = multi_node_point(
        d.path(),
        "a",
        "recipes/trtllm/gb200-fp4/1k1k/mtp/ctx1_gen4_tep8_batch32_eplb0_mtp3.yaml",
    );
    let b = multi_node_point(d.path(), "b", "recipes/trtllm/gb200-fp4/1k1k/mtp/ctx1_gen4_tep8_batch64_eplb0_mtp1.yaml:zip_override_x[1]");
    let pts = vec![
        import::sweep_point(d.path(), &a).unwrap(),
        import::sweep_point(d.path(), &b).unwrap(),
    ];
    assert_eq!(
        pts[0].config.topology,
        "p1x4ep4dpa-d4x8ep8@ctx1_gen4_tep8_batch32_eplb0_mtp3"
    );
    assert_eq!(
        pts[1].config.topology,
        "p1x4ep4dpa-d4x8ep8@ctx1_gen4_tep8_batch64_eplb0_mtp1:zip_override_x[1]"
    );
    let pool = |role, workers, tp, ep, dp_attn, gpus| Pool {
        role,
        workers,
        tp,
        pp: 1,
        dcp: 1,
        pcp: 1,
        ep,
        dp_attn,
        gpus,
    };
    // MTP depth and a pinned acceptance length the row states are part of the deployment.
    let mut j = pts[0].result["job"].clone();
    j["prefill"]["additional-settings"] = json!(["SYNTHETIC_ACCEPTANCE_LENGTH=2.49"]);
    j["decode"]["additional-settings"] = json!(["DECODE_MTP_SIZE=2"]);
    assert_eq!(import::topology(&j), "p1x4ep4dpa-d4x8ep8-mtp2-sal2.49");
    // The same deployment with another image, in the same run: not stored, and said so.
    let mut other = pts[0].clone();
    other.provenance["image"] = json!("nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:0.6.0");
    let mut with_other = pts.clone();
    with_other.push(other);
    for t in stores("pools") {
        let mut s = Store::open(&t.url).unwrap();
        let n = s.ingest(&run("night", Source::Own), &with_other).unwrap();
        assert_eq!((n.inserted, n.duplicates, n.collided), (2, 0, 1));
        let tops = s.topologies("nvidia/DeepSeek-R1-0528-FP4-v2").unwrap();
        assert_eq!(tops.len(), 2, "two configs, not one");
        let got = &tops[&pts[0].config.natural_key()];
        assert_eq!(
            got.pools,
            [
                pool(Role::Prefill, 1, 4, 4, true, 4),
                pool(Role::Decode, 4, 8, 8, false, 32)
            ]
        );
        assert_eq!((got.gpus(Role::Prefill), got.gpus(Role::Decode)), (4, 32));
        assert_eq!(got.router.as_deref(), Some("dynamo-router 0.5.1"));
        assert_eq!(got.kv_transfer.as_deref(), Some("nixl"));
        assert_eq!(got.draft_tokens, Some(3));
        assert_eq!(tops[&pts[1].config.natural_key()].draft_tokens, Some(1));
        // The point page has it too.
        let view = s
            .view(
                "nvidia/DeepSeek-R1-0528-FP4-v2",
                1024,
                1024,
                None,
                Source::Own,
            )
            .unwrap();
        let rec = s.point(view[0].id).unwrap().unwrap();
        assert_eq!(rec.point.deployment.as_ref(), Some(got));
    }
}

/// InferenceX's multi-node rows import with their pools: GPUs per role as the orchestrator
/// counted them, the router and the KV transfer.
#[test]
fn inferencex_multi_node_rows_keep_their_pools() {
    use servebench_store::Role;
    let d = tempfile::tempdir().unwrap();
    let bmk = d.path().join("agg_bmk.json");
    let row = json!([{"hw": "gb200-nv_4", "conc": 512, "image": "dynamo", "model": "deepseek-r1-fp4",
        "framework": "dynamo-sglang", "precision": "fp4", "spec_decoding": "none", "disagg": true,
        "isl": 1024, "osl": 1024, "is_multinode": true, "prefill_tp": 4, "prefill_ep": 4,
        "prefill_dp_attention": "true", "prefill_num_workers": 2, "decode_tp": 16, "decode_ep": 16,
        "decode_dp_attention": "true", "decode_num_workers": 1, "num_prefill_gpu": 8,
        "num_decode_gpu": 16, "tput_per_gpu": 3000.0, "median_intvty": 60.0,
        "router": {"name": "sglang-router", "version": "0.3.2"}, "kv_p2p_transfer": "mooncake"}]);
    std::fs::write(&bmk, serde_json::to_vec(&row).unwrap()).unwrap();
    let pts = import::inferencex_agg(&bmk).unwrap();
    let t = pts[0].deployment.as_ref().unwrap();
    assert_eq!(t.pools.len(), 2);
    assert_eq!(
        (t.pools[0].role, t.pools[0].workers, t.pools[0].tp),
        (Role::Prefill, 2, 4)
    );
    assert!(t.pools[0].dp_attn && t.pools[1].dp_attn);
    assert_eq!((t.gpus(Role::Prefill), t.gpus(Role::Decode)), (8, 16));
    assert_eq!(t.router.as_deref(), Some("sglang-router 0.3.2"));
    assert_eq!(t.kv_transfer.as_deref(), Some("mooncake"));
    for ts in stores("ix_pools") {
        let mut s = Store::open(&ts.url).unwrap();
        s.ingest(&run("ix", Source::Reference), &pts).unwrap();
        let tops = s.topologies("deepseek-r1-fp4").unwrap();
        assert_eq!(tops[&pts[0].config.natural_key()], *t);
    }
}

/// A sweep's failed jobs and InferenceX's run_stats.json: read, stored and read back as they
/// were, on every backend; re-ingesting a run replaces its counts and keeps each failed job
/// once.
#[test]
fn jobs_per_accelerator_and_failed_jobs_are_kept() {
    let d = tempfile::tempdir().unwrap();
    let sweep = d.path().join("sweep");
    let job = |runner: &str, conc: u32| {
        json!({"image": "img", "model": "m", "model-prefix": "m", "precision": "fp8",
               "framework": "vllm", "runner": runner, "spec-decoding": "none", "tp": 8, "pp": 1,
               "dcp-size": 1, "pcp-size": 1, "ep": 1, "dp-attn": false, "isl": 1024, "osl": 1024,
               "conc": conc, "disagg": false})
    };
    // Every job of this sweep failed: no points/, two failed/ records.
    std::fs::create_dir_all(sweep.join("failed/k")).unwrap();
    for (name, runner, conc, reason) in [
        (
            "a_c4.json",
            "h200",
            4,
            json!("server exited (code 1); curl http://u:hunter2@10.0.0.1/x"),
        ),
        ("b_c8.json", "b200", 8, json!({"kind": "timeout"})),
    ] {
        std::fs::write(
            sweep.join("failed/k").join(name),
            serde_json::to_vec(&json!({"config_key": "k", "job": job(runner, conc),
                "concurrency": conc, "attempts": 3, "reason": reason, "log_tail": "..."}))
            .unwrap(),
        )
        .unwrap();
    }
    let (run, points) = import::sweep_dir(&sweep, "all-failed", "me").unwrap();
    assert!(points.is_empty());
    let (stats, failed) = import::sweep_jobs(&sweep, &points).unwrap();
    let counts: Vec<(&str, u64, u64)> = stats
        .iter()
        .map(|s| (s.hardware.as_str(), s.succeeded, s.total))
        .collect();
    assert_eq!(counts, [("b200", 0, 1), ("h200", 0, 1)]);
    assert_eq!(failed.len(), 2);
    assert_eq!((failed[0].conc, failed[0].attempts), (4, 3));
    assert!(failed[0].reason.starts_with("server exited (code 1)"));
    assert!(
        !failed[0].reason.contains("hunter2"),
        "{}",
        failed[0].reason
    );
    assert_eq!(failed[1].reason, r#"{"kind":"timeout"}"#);

    // InferenceX's run_stats.json: runner labels read as accelerators, one accelerator summed.
    let rs = d.path().join("run_stats.json");
    std::fs::write(
        &rs,
        r#"{"b200-nv_0": {"n_success": 9, "total": 10}, "b200-nv_1": {"n_success": 5, "total": 5},
            "mi355x-amds_03": {"n_success": 3, "total": 4}}"#,
    )
    .unwrap();
    let ix = import::inferencex_run_stats(&rs).unwrap();
    let ix_counts: Vec<(&str, u64, u64)> = ix
        .iter()
        .map(|s| (s.hardware.as_str(), s.succeeded, s.total))
        .collect();
    assert_eq!(ix_counts, [("b200", 14, 15), ("mi355x", 3, 4)]);
    std::fs::write(&rs, r#"{"b200": {"n_success": 11, "total": 10}}"#).unwrap();
    let e = import::inferencex_run_stats(&rs).unwrap_err().to_string();
    assert!(
        e.contains("run_stats.json") && e.contains("more than total"),
        "{e}"
    );
    std::fs::write(&rs, r#"{"b200": {"n_success": -1, "total": 10}}"#).unwrap();
    let e = import::inferencex_run_stats(&rs).unwrap_err().to_string();
    assert!(
        e.contains("b200.n_success: expected a non-negative integer"),
        "{e}"
    );

    for t in stores("jobs") {
        let mut s = Store::open(&t.url).unwrap();
        assert_eq!(s.ingest_jobs(&run, &stats, &failed).unwrap(), 2);
        // Again: the counts are replaced, the failed jobs not doubled.
        let mut more = stats.clone();
        more[0].total = 2;
        assert_eq!(s.ingest_jobs(&run, &more, &failed).unwrap(), 0);
        let back = s.job_stats().unwrap();
        let got: Vec<(&str, &str, u64, u64)> = back
            .iter()
            .map(|r| {
                (
                    r.run.as_str(),
                    r.stat.hardware.as_str(),
                    r.stat.succeeded,
                    r.stat.total,
                )
            })
            .collect();
        assert_eq!(
            got,
            [("all-failed", "b200", 0, 2), ("all-failed", "h200", 0, 1)]
        );
        let f = s.failed_jobs().unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].hardware.as_str(), f[0].conc), ("b200", 8));
        assert_eq!(f[1].reason, failed[0].reason);
    }
}

#[test]
fn a_curve_whose_stored_columns_are_damaged_is_an_error_naming_it() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("s.db");
    let url = format!("sqlite:{}", path.display());
    let mut s = Store::open(&url).unwrap();
    s.ingest(&run("r", Source::Own), &[point("h200", 8, 500.0)])
        .unwrap();
    drop(s);
    // A store's contents are untrusted: cut the curve's value short, inside its first point
    // (the mark, 1 image "img" with its length, the number of points: 19 bytes).
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("UPDATE curve_columns SET columns = substr(columns, 1, 20)")
        .unwrap();
    let (config, run_id): (i64, i64) = c
        .query_row("SELECT config_id, run_id FROM curves", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    drop(c);
    let view_error = || {
        Store::open_read_only(&url)
            .unwrap()
            .view("llama-3.3-70b", 1024, 1024, None, Source::Own)
            .unwrap_err()
            .to_string()
    };
    let e = view_error();
    assert!(
        e.contains(&format!(
            "the curve of config {config} and run {run_id}: a curve's stored columns do not \
             read at byte 19: expected a point id"
        )),
        "{e}"
    );
    // And with its row gone.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("DELETE FROM curve_columns")
        .unwrap();
    let e = view_error();
    assert!(
        e.contains(&format!(
            "the curve of config {config} and run {run_id} has no row in curve_columns"
        )),
        "{e}"
    );
}

/// A retracted run or point leaves every view (and so every frontier and history built on
/// one) and the views' counts; it stays in the store with its reason.
#[test]
fn retracted_runs_and_points_are_hidden_not_deleted() {
    for t in stores("retract") {
        let mut s = Store::open(&t.url).unwrap();
        s.ingest(
            &run("night1", Source::Own),
            &[point("h200", 4, 100.0), point("h200", 8, 180.0)],
        )
        .unwrap();
        s.ingest(
            &run("night2", Source::Own),
            &[point("h200", 4, 50.0), point("b300", 4, 300.0)],
        )
        .unwrap();
        let seen = |s: &mut Store| -> Vec<(String, String, u32)> {
            s.view("llama-3.3-70b", 1024, 1024, None, Source::Own)
                .unwrap()
                .iter()
                .map(|p| (p.run.to_string(), p.config.hardware.clone(), p.conc))
                .collect()
        };
        let counted = |s: &mut Store| s.views().unwrap()[0].points;
        assert_eq!(seen(&mut s).len(), 4, "{}", t.url);
        assert_eq!(counted(&mut s), 4);

        let hidden = s
            .retract(
                &Retract::Run("night2".into()),
                "image pulled the wrong driver",
                "ops",
                "2026-12-06T21:00:00Z",
            )
            .unwrap();
        assert_eq!(hidden, 2);
        assert_eq!(
            seen(&mut s),
            [
                ("night1".to_string(), "h200".to_string(), 4),
                ("night1".to_string(), "h200".to_string(), 8)
            ],
            "{}",
            t.url
        );
        assert_eq!(counted(&mut s), 2);

        // One point of night 1, by the row id its point page shows.
        let id = s
            .view("llama-3.3-70b", 1024, 1024, None, Source::Own)
            .unwrap()[1]
            .id;
        assert_eq!(
            s.retract(
                &Retract::Point(id),
                "thermal throttling",
                "ops",
                "2026-12-06T21:05:00Z"
            )
            .unwrap(),
            1
        );
        assert_eq!(
            seen(&mut s),
            [("night1".to_string(), "h200".to_string(), 4)]
        );
        assert_eq!(counted(&mut s), 1);

        // Nothing was deleted, and each retraction keeps its reason.
        assert_eq!(s.count_points(None).unwrap(), 4);
        let r = s.retractions().unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].run.as_str(), r[0].point, r[0].reason.as_str()),
            ("night2", None, "image pulled the wrong driver")
        );
        assert_eq!(
            (r[1].run.as_str(), r[1].point, r[1].who.as_str()),
            ("night1", Some(id), "ops")
        );

        // Errors say what is wrong.
        let e = |s: &mut Store, what: Retract, reason: &str| {
            s.retract(&what, reason, "ops", "2026-12-06T21:10:00Z")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e(&mut s, Retract::Run("night2".into()), "again"),
            "run 'night2' is already retracted"
        );
        assert_eq!(
            e(&mut s, Retract::Run("night9".into()), "x"),
            "no run 'night9' in the store"
        );
        assert_eq!(
            e(&mut s, Retract::Point(999_999), "x"),
            "no point 999999 in the store"
        );
        assert!(e(&mut s, Retract::Point(id + 1), " ").starts_with("a retraction needs a reason"));
    }
}

/// The changelog is kept once per entry, with the run that first recorded it and the configs
/// stored under a recipe key it touches; a later run keeps only what is new.
#[test]
fn the_changelog_is_kept_once_per_entry_with_the_configs_it_touches() {
    for t in stores("changelog") {
        let mut s = Store::open(&t.url).unwrap();
        let keyed = |hw: &str, key: &str| {
            let mut p = point(hw, 4, 100.0);
            p.provenance = json!({"image": "img", "recipe_key": key});
            p
        };
        let n1 = [keyed("h200", "llama-h200"), keyed("b200", "llama-b200")];
        s.ingest(&run("n1", Source::Own), &n1).unwrap();
        let entry = |text: &str| json!({"config-keys": ["x"], "description": [text]});
        let (all, h200) = (entry("all of them"), entry("h200 only"));
        let first = [("d1".to_string(), all.clone()), ("d2".to_string(), h200)];
        // d1 touches every key, d2 only llama-h200 (the caller's pattern match).
        let touches = |i: usize, key: &str| i == 0 || key == "llama-h200";
        assert_eq!(s.record_changelog("n1", &first, touches).unwrap(), 2);
        let mut later = run("n2", Source::Own);
        later.started_at = "2026-11-29".into();
        s.ingest(&later, &n1).unwrap();
        let again = [
            ("d1".to_string(), all),
            ("d3".to_string(), entry("a new one")),
        ];
        assert_eq!(s.record_changelog("n2", &again, |_, _| false).unwrap(), 1);
        let kept = s.changelog().unwrap();
        let seen: Vec<(&str, &str, Vec<&str>)> = kept
            .iter()
            .map(|c| {
                let configs = c.configs.iter().map(|k| &k[..4]).collect();
                (c.digest.as_str(), c.run.as_str(), configs)
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("d1", "n1", vec!["b200", "h200"]),
                ("d2", "n1", vec!["h200"]),
                ("d3", "n2", vec![]),
            ],
            "{}",
            t.url
        );
        assert_eq!(kept[1].entry["description"][0], "h200 only");
        assert_eq!(kept[2].run_started_at, "2026-11-29");
        let e = s.record_changelog("n9", &again, |_, _| true).unwrap_err();
        assert_eq!(e.to_string(), "no run 'n9' in the store");
    }
}
