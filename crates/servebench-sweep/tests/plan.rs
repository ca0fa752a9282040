//! Recipes expanded into jobs: hand-written configs with the job lists InferenceX's generator
//! gives for them.

use serde_json::json;
use servebench_sweep::plan::{ladder, plan, PlanOptions, Topology, Workload};
use servebench_sweep::{load_recipes, load_runners};
use std::path::PathBuf;

const RUNNERS: &str = "\
labels:
  h200: [h200-a_01, h200-a_02]
  b200-multinode: [b200-mn_01]
  cluster:b300-nv: [b300-nv_01]
hardware:
  cluster:b300-nv:
    available-cpu-dram-mib: 2_964_436
    gpus-per-node: 8
";

const SINGLE: &str = "\
llama-fp8-h200-vllm:
  image: vllm/vllm-openai:v0.11.0
  model: meta-llama/Llama-3.3-70B-Instruct
  model-prefix: llama
  precision: fp8
  framework: vllm
  runner: h200
  multinode: false
  router: {name: none-router, version: \"1.0\"}
  scenarios:
    fixed-seq-len:
    - isl: 8192
      osl: 1024
      search-space:
      - {tp: 8, conc-start: 4, conc-end: 48}
      - {tp: 4, ep: 4, dp-attn: true, conc-list: [16, 64]}
    - isl: 1024
      osl: 1024
      search-space:
      - {tp: 2, conc-list: [3]}
";

const MULTI: &str = "\
dsr1-fp4-b200-dynamo-trt:
  image: nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:0.8.1
  model: deepseek-r1-fp4
  model-prefix: dsr1
  precision: fp4
  framework: dynamo-trt
  runner: b200-multinode
  multinode: true
  disagg: true
  kv-p2p-transfer: nixl
  scenarios:
    fixed-seq-len:
    - isl: 8192
      osl: 1024
      search-space:
      - spec-decoding: mtp
        conc-start: 8
        conc-end: 40
        prefill: {num-worker: 1, tp: 4, ep: 4, dp-attn: true, additional-settings: [\"CONFIG_FILE=a.yaml\"]}
        decode: {num-worker: 2, tp: 8, ep: 8, dp-attn: false}
";

const AGENTIC: &str = "\
glm-fp8-b300-sglang-agentic:
  image: lmsysorg/sglang:v0.5
  model: zai-org/GLM-5
  model-prefix: glm5
  precision: fp8
  framework: sglang
  runner: cluster:b300-nv
  multinode: false
  scenarios:
    agentic-coding:
    - dram-utilization: 0.8
      search-space:
      - {tp: 4, kv-offloading: dram, kv-offload-backend: {name: hicache}, conc-list: [8]}
      - {tp: 8, kv-offloading: dram, kv-offload-backend: {name: hicache}, conc-list: [8]}
      - {tp: 8, kv-offloading: none, spec-decoding: mtp, conc-start: 1, conc-end: 4}
";

fn files(contents: &[(&str, &str)]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let d = tempfile::tempdir().unwrap();
    let paths = contents
        .iter()
        .map(|(name, text)| {
            let p = d.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect();
    (d, paths)
}

fn rows(configs: &[(&str, &str)], o: &PlanOptions) -> Vec<serde_json::Value> {
    let (d, paths) = files(configs);
    let rp = d.path().join("runners.yaml");
    std::fs::write(&rp, RUNNERS).unwrap();
    let recipes = load_recipes(&paths).unwrap();
    let runners = load_runners(&rp).unwrap();
    plan(&recipes, &runners, o)
        .unwrap()
        .iter()
        .map(|j| j.ix_row())
        .collect()
}

#[test]
fn the_concurrency_ladder_always_ends_at_conc_end() {
    assert_eq!(ladder(4, 128, 2), [4, 8, 16, 32, 64, 128]);
    assert_eq!(ladder(4, 48, 2), [4, 8, 16, 32, 48]);
    assert_eq!(ladder(1, 1, 2), [1]);
    assert_eq!(ladder(3, 100, 4), [3, 12, 48, 100]);
}

#[test]
fn single_node_rows_one_per_concurrency_with_defaults_and_evals() {
    let r = rows(&[("a.yaml", SINGLE)], &PlanOptions::default());
    let conc: Vec<_> = r.iter().map(|x| x["conc"].as_u64().unwrap()).collect();
    assert_eq!(conc, [4, 8, 16, 32, 48, 16, 64, 3]);
    let first = &r[0];
    let mut expect = json!({
        "image": "vllm/vllm-openai:v0.11.0", "model": "meta-llama/Llama-3.3-70B-Instruct",
        "model-prefix": "llama", "precision": "fp8", "framework": "vllm", "runner": "h200",
        "isl": 8192, "osl": 1024, "tp": 8, "pp": 1, "dcp-size": 1, "pcp-size": 1, "conc": 4,
        "max-model-len": 9472, "ep": 1, "dp-attn": false, "spec-decoding": "none",
        "exp-name": "llama_8k1k", "disagg": false, "run-eval": false,
        "router": {"name": "none-router", "version": "1.0"},
    });
    let fp = first["recipe-fingerprint"].as_str().unwrap();
    // The same hash InferenceX's process_changelog.recipe_fingerprint gives this row.
    assert_eq!(
        fp,
        "c56c37413a5a6cac085292f6af8795a20463fe833e6a468473b7dffdcc8901cf"
    );
    expect["recipe-fingerprint"] = json!(fp);
    assert_eq!(first, &expect);
    // The fingerprint ignores the concurrency: one recipe, one fingerprint.
    assert_eq!(r[1]["recipe-fingerprint"], r[0]["recipe-fingerprint"]);
    assert_eq!(
        (r[5]["ep"].clone(), r[5]["dp-attn"].clone()),
        (json!(4), json!(true))
    );
    assert_eq!(r[7]["exp-name"], "llama_1k1k");
    assert_eq!(r[7]["max-model-len"], 2304);
    // 8k/1k evals per (model, runner, framework, precision, spec, dp-attn), concurrency >= 16:
    // TP8's group {16, 32, 48} → the highest (48) and the median (32); TP4 with dp-attn is its
    // own group {16, 64} → 64 and the median, 64.
    let evals: Vec<(u64, u64)> = r
        .iter()
        .filter(|x| x["run-eval"] == true)
        .map(|x| (x["tp"].as_u64().unwrap(), x["conc"].as_u64().unwrap()))
        .collect();
    assert_eq!(evals, [(8, 32), (8, 48), (4, 64)]);
}

#[test]
fn filters_move_the_ladder_and_clamp() {
    let o = PlanOptions {
        min_conc: Some(10),
        max_conc: Some(40),
        max_ep: Some(2),
        evals: servebench_sweep::plan::Evals::None,
        ..Default::default()
    };
    let r = rows(&[("a.yaml", SINGLE)], &o);
    let got: Vec<(u64, u64, u64)> = r
        .iter()
        .map(|x| {
            (
                x["tp"].as_u64().unwrap(),
                x["ep"].as_u64().unwrap(),
                x["conc"].as_u64().unwrap(),
            )
        })
        .collect();
    // TP8 ladder restarts at 10 and stops at 40; TP4's list keeps 16 (64 is above the max) with
    // EP clamped to 2; the 1k/1k list [3] is below the minimum.
    assert_eq!(got, [(8, 1, 10), (8, 1, 20), (8, 1, 40), (4, 2, 16)]);
    let o = PlanOptions {
        max_conc: Some(2),
        seq_lens: vec![(8192, 1024)],
        max_tp: Some(4),
        ..Default::default()
    };
    let r = rows(&[("a.yaml", SINGLE)], &o);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0]["tp"].clone(), r[0]["conc"].clone()),
        (json!(4), json!(2))
    );
}

#[test]
fn multi_node_rows_carry_their_concurrency_list_and_worker_defaults() {
    let r = rows(&[("m.yaml", MULTI)], &PlanOptions::default());
    assert_eq!(r.len(), 1);
    let x = &r[0];
    assert_eq!(x["conc"], json!([8, 16, 32, 40]));
    assert_eq!(
        x["prefill"],
        json!({"num-worker": 1, "tp": 4, "pp": 1, "dcp-size": 1, "pcp-size": 1, "ep": 4,
               "dp-attn": true, "additional-settings": ["CONFIG_FILE=a.yaml"]})
    );
    assert_eq!(x["decode"]["num-worker"], 2);
    assert!(x["decode"].get("additional-settings").is_none());
    assert_eq!(x["kv-p2p-transfer"], "nixl");
    assert_eq!(x["disagg"], true);
    assert_eq!(x["spec-decoding"], "mtp");
    assert_eq!(x["exp-name"], "dsr1_8k1k");
    assert_eq!(
        (x["run-eval"].clone(), x["eval-conc"].clone()),
        (json!(true), json!(40))
    );
    assert!(x.get("tp").is_none());
}

#[test]
fn agentic_rows_get_the_dram_budget_and_their_names() {
    let (d, paths) = files(&[("g.yaml", AGENTIC), ("runners.yaml", RUNNERS)]);
    let recipes = load_recipes(&paths[..1]).unwrap();
    let runners = load_runners(&paths[1]).unwrap();
    let jobs = plan(&recipes, &runners, &PlanOptions::default()).unwrap();
    drop(d);
    let dram: Vec<u64> = jobs
        .iter()
        .map(|j| match &j.workload {
            Workload::Agentic {
                total_cpu_dram_gb, ..
            } => *total_cpu_dram_gb,
            Workload::Fixed { .. } => panic!("agentic only"),
        })
        .collect();
    // InferenceX's worked example: B300, 80% of (capped) DRAM, TP4 → 1,199 GB, TP8 → 2,399 GB.
    assert_eq!(dram, [1199, 2399, 0, 0, 0]);
    let names: Vec<&str> = jobs.iter().map(|j| j.exp_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "glm5_tp4_conc8_kvdram-hicache",
            "glm5_tp8_conc8_kvdram-hicache",
            "glm5_tp8_conc1_kvnone_spec-mtp",
            "glm5_tp8_conc2_kvnone_spec-mtp",
            "glm5_tp8_conc4_kvnone_spec-mtp",
        ]
    );
    assert!(matches!(jobs[0].topology, Topology::Single { tp: 4, .. }));
    let row = jobs[0].ix_row();
    assert_eq!(row["scenario-type"], "agentic-coding");
    assert_eq!(row["duration"], 3600);
    assert_eq!(row["kv-offload-backend"], json!({"name": "hicache"}));
    assert!(row.get("isl").is_none() && row.get("disagg").is_none());
}

#[test]
fn config_key_globs_select_and_unknown_patterns_are_errors() {
    let o = PlanOptions {
        config_keys: vec!["dsr1-*-b200-*".into()],
        ..Default::default()
    };
    let r = rows(&[("a.yaml", SINGLE), ("m.yaml", MULTI)], &o);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["model-prefix"], "dsr1");
    let (d, paths) = files(&[("a.yaml", SINGLE)]);
    let recipes = load_recipes(&paths).unwrap();
    let o = PlanOptions {
        config_keys: vec!["nothing-*".into()],
        ..Default::default()
    };
    let e = plan(&recipes, &Default::default(), &o).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config key pattern 'nothing-*' matches no recipe"
    );
    drop(d);
}

#[test]
fn runner_types_are_checked_against_the_runner_config_or_else_the_recipes() {
    let o = |r: &str| PlanOptions {
        runner_type: vec![r.into()],
        multi_node: true,
        ..Default::default()
    };
    let r = rows(
        &[("a.yaml", SINGLE), ("m.yaml", MULTI)],
        &o("b200-multinode"),
    );
    assert!(!r.is_empty() && r.iter().all(|r| r["runner"] == "b200-multinode"));
    let (d, paths) = files(&[("a.yaml", SINGLE), ("m.yaml", MULTI)]);
    let recipes = load_recipes(&paths).unwrap();
    // Without a runner config, the labels the recipes use are the known ones.
    let jobs = plan(&recipes, &Default::default(), &o("h200")).unwrap();
    assert!(!jobs.is_empty() && jobs.iter().all(|j| j.runner == "h200"));
    let e = plan(&recipes, &Default::default(), &o("h100")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown runner type(s) [\"h100\"]; the recipes use {\"b200-multinode\", \"h200\"}"
    );
    let runners = load_runners(&{
        let p = d.path().join("runners.yaml");
        std::fs::write(&p, RUNNERS).unwrap();
        p
    })
    .unwrap();
    let e = plan(&recipes, &runners, &o("h100")).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("the runner config has {\"b200-multinode\", \"cluster:b300-nv\", \"h200\"}"),
        "{e}"
    );
}

#[test]
fn evals_only_all_evals_and_runner_node_filter() {
    use servebench_sweep::plan::Evals;
    let o = PlanOptions {
        evals: Evals::Only,
        ..Default::default()
    };
    let r = rows(&[("a.yaml", SINGLE)], &o);
    let got: Vec<(u64, u64)> = r
        .iter()
        .map(|x| (x["tp"].as_u64().unwrap(), x["conc"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, [(8, 32), (8, 48), (4, 64)]);
    assert!(r
        .iter()
        .all(|x| x["eval-only"] == true && x["run-eval"] == true));

    let o = PlanOptions {
        evals: Evals::All,
        ..Default::default()
    };
    let r = rows(&[("a.yaml", SINGLE), ("m.yaml", MULTI)], &o);
    // Every 8k/1k single-node row (5 + 2), none of 1k/1k; the multi-node row as one eval of
    // all its concurrencies.
    assert_eq!(r.len(), 8);
    let mn = r.last().unwrap();
    assert_eq!(mn["conc"], json!([8, 16, 32, 40]));
    assert_eq!(mn["eval-all-concs"], true);
    assert!(mn.get("eval-conc").is_none());

    let o = PlanOptions {
        runner_node_filter: Some("a_0".into()),
        evals: Evals::None,
        seq_lens: vec![(1024, 1024)],
        ..Default::default()
    };
    let r = rows(&[("a.yaml", SINGLE)], &o);
    let runners: Vec<&str> = r.iter().map(|x| x["runner"].as_str().unwrap()).collect();
    assert_eq!(runners, ["h200-a_01", "h200-a_02"]);
    let o = PlanOptions {
        runner_node_filter: Some("nowhere".into()),
        ..Default::default()
    };
    assert!(rows(&[("a.yaml", SINGLE)], &o).is_empty());
}

/// A multi-node job's GPUs are those its launcher starts, as InferenceX counts them in its
/// result names: vLLM writes a data-parallel expert-parallel worker as `tp: 1, ep: 8`, eight
/// GPUs. Oracle: llm-d's `(PREFILL_NODES + DECODE_NODES) × GPUS_PER_NODE` from each row's own
/// settings (2+2, 2+2 and 6+2 GB200 nodes of 4), and a Dynamo vLLM row's workers × 8.
#[test]
fn multi_node_gpus_count_expert_parallel_workers_whole() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/inferencex-configs-843c6254");
    let r = load_recipes(&[dir.join("nvidia-master.yaml")]).unwrap();
    let runners = load_runners(&dir.join("runners.yaml")).unwrap();
    let gpus = |key: &str| -> Vec<u32> {
        let o = PlanOptions {
            single_node: false,
            multi_node: true,
            agentic: false,
            config_keys: vec![key.into()],
            ..Default::default()
        };
        plan(&r, &runners, &o)
            .unwrap()
            .iter()
            .map(|j| j.gpus())
            .collect()
    };
    assert_eq!(gpus("dsv4-fp4-gb200-llmd-vllm"), [16, 16, 32]);
    // dsv4-fp4-b200-dynamo-vllm-mtp, its rows in order: DEP8 + TP8, DEP8 + 2×DEP8,
    // DEP8 + DEP8, 2×DEP8 + DEP8, 3×DEP8 + DEP8.
    assert_eq!(gpus("dsv4-fp4-b200-dynamo-vllm-mtp"), [16, 24, 16, 24, 32]);
}

/// servebench's own engine settings (engine-args, env) are in the fingerprint, so a changed flag
/// is a changed deployment, but never in the row (an environment value is not written out); a
/// recipe without them keeps InferenceX's fingerprint.
#[test]
fn own_engine_settings_change_the_fingerprint_and_stay_out_of_the_row() {
    let with = |extra: &str| {
        let r = rows(
            &[("a.yaml", &format!("{SINGLE}  {extra}\n"))],
            &PlanOptions::default(),
        );
        r[0].clone()
    };
    let plain = rows(&[("a.yaml", SINGLE)], &PlanOptions::default())[0].clone();
    let flag = with("engine-args: [--max-num-seqs, '64']");
    let other = with("engine-args: [--max-num-seqs, '128']");
    let secret = with("env: {HF_TOKEN: hf_s3cret}");
    let fp = |r: &serde_json::Value| r["recipe-fingerprint"].as_str().unwrap().to_string();
    assert_eq!(fp(&with("engine-args: []")), fp(&plain));
    let all = [fp(&plain), fp(&flag), fp(&other), fp(&secret)];
    for (i, a) in all.iter().enumerate() {
        assert!(all[i + 1..].iter().all(|b| a != b), "{all:?}");
    }
    for r in [&flag, &secret] {
        let mut r = r.clone();
        r["recipe-fingerprint"] = plain["recipe-fingerprint"].clone();
        assert_eq!(r, plain, "the row is InferenceX's");
    }
    assert!(!secret.to_string().contains("s3cret"));
}
