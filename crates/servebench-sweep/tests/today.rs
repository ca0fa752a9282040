//! InferenceX's current master configs (shipped: data/inferencex-configs-843c6254) on the
//! simulator: every single-node fixed-length job simulates, each point is its own result file.

use servebench_catalog::Catalog;
use servebench_sweep::plan::{plan, Evals, PlanOptions};
use servebench_sweep::{load_recipe_texts, virtual_time, INFERENCEX_TODAY};
use std::path::PathBuf;

fn today_jobs() -> Vec<servebench_sweep::plan::Job> {
    plan_today(PlanOptions {
        multi_node: false,
        agentic: false,
        evals: Evals::None,
        ..PlanOptions::default()
    })
}

#[test]
fn every_single_node_fixed_length_job_of_inferencex_today_simulates() {
    let jobs = today_jobs();
    // InferenceX's own generator gives 690 single-node fixed-length rows (docs/recipes.md).
    let points: usize = jobs.iter().map(|j| j.conc.len()).sum();
    assert_eq!(points, 690);
    let catalog = Catalog::builtin().unwrap();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let results = virtual_time::run(&jobs, &catalog, threads, &|_, _| {});
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    let ok: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    // Every model of these jobs is one of today's three, each point served completely.
    let models: std::collections::BTreeSet<&str> = ok.iter().map(|m| m.model.as_str()).collect();
    assert_eq!(
        models.into_iter().collect::<Vec<_>>(),
        ["deepseek-r1-0528", "deepseek-v4-pro", "qwen3.5-397b-a17b"]
    );
    for m in &ok {
        assert_eq!(m.failed, 0, "{m:?}");
        assert!(m.tput_per_gpu > 0.0 && m.median_intvty > 0.0, "{m:?}");
        // Unfitted models carry a held-out error, never the in-sample one.
        if m.model != "deepseek-r1-0528" {
            assert_ne!(
                m.info.expected_error.as_ref().unwrap().basis,
                "in sample",
                "{m:?}"
            );
        }
    }
    // ATOM keeps its name beside vLLM on MI355X, and MTP rows say they ran without speculation.
    assert!(ok
        .iter()
        .any(|m| m.engine == "atom" && m.info.engine == "vllm"));
    let mtp = ok
        .iter()
        .filter(|m| jobs[m.job].spec_decoding.as_str() == "mtp")
        .inspect(|m| {
            assert_eq!(
                m.info.expected_error.as_ref().unwrap().left_out[0],
                "spec-decoding mtp: simulated without speculation"
            )
        })
        .count();
    assert_eq!(mtp, 308);
}

#[test]
fn an_mxfp4_checkpoint_reads_fewer_weight_bytes_than_nvfp4() {
    // AMD's MXFP4 Qwen3.5 (4.25 bit) against the model's NVFP4 figure (4.5 bit), by hand.
    let c = Catalog::builtin().unwrap();
    let m = c.model("qwen3.5-397b-a17b").unwrap().clone();
    let p = servebench_catalog::Precision::Fp4;
    let nv = m.weight_bytes(p).unwrap();
    let mx = m
        .with_checkpoint("amd/Qwen3.5-397B-A17B-MXFP4")
        .weight_bytes(p)
        .unwrap();
    assert_eq!(nv, 397e9 * 0.5625);
    assert_eq!(mx, 397e9 * 0.53125);
}

/// Every `model` and `model-prefix` of every recipe in the shipped configs (single- and
/// multi-node, fixed-length and agentic) names a catalog model, read from the files themselves.
#[test]
fn every_model_the_shipped_configs_name_resolves() {
    let catalog = Catalog::builtin().unwrap();
    let mut names = std::collections::BTreeSet::new();
    for (_, text) in INFERENCEX_TODAY {
        let doc: serde_norway::Value = serde_norway::from_str(text).unwrap();
        for (_, recipe) in doc.as_mapping().unwrap() {
            for field in ["model", "model-prefix"] {
                names.insert(recipe[field].as_str().unwrap().to_string());
            }
        }
    }
    assert_eq!(names.len(), 29, "{names:?}");
    let unresolved: Vec<&String> = names
        .iter()
        .filter(|n| catalog.model_id(n).is_none())
        .collect();
    assert!(unresolved.is_empty(), "{unresolved:?}");
}

#[test]
fn a_workload_longer_than_the_models_context_is_refused() {
    let mut job = today_jobs()
        .into_iter()
        .find(|j| j.model_prefix == "qwen3.5")
        .unwrap();
    // Qwen3.5's native context is 262,144 tokens.
    job.workload = servebench_sweep::plan::Workload::Fixed {
        isl: 262_000,
        osl: 1024,
    };
    job.conc = vec![1];
    let r = virtual_time::run(&[job], &Catalog::builtin().unwrap(), 1, &|_, _| {});
    let e = r[0].as_ref().unwrap_err();
    assert!(
        e.ends_with("262000 + 1024 tokens exceed qwen3.5-397b-a17b's context of 262144"),
        "{e}"
    );
}

fn plan_today(opts: PlanOptions) -> Vec<servebench_sweep::plan::Job> {
    let texts: Vec<(PathBuf, String)> = INFERENCEX_TODAY
        .iter()
        .map(|(n, t)| (n.into(), t.to_string()))
        .collect();
    plan(
        &load_recipe_texts(&texts).unwrap(),
        &Default::default(),
        &opts,
    )
    .unwrap()
}

/// A disaggregated GB200 NVL72 row (InferenceX's worked example: 3 prefill workers of TP4 and
/// one decode worker of TP32): throughput per GPU over all 44 GPUs, input over the 12 prefill
/// GPUs, output over the 32 decode GPUs, as InferenceX's process_result.py computes them.
#[test]
fn a_disaggregated_row_simulates_with_inferencexs_gpu_accounting() {
    let jobs = plan_today(PlanOptions {
        config_keys: vec!["dsr1-fp4-gb200-dynamo-trt*".into()],
        conc: vec![180],
        single_node: false,
        agentic: false,
        evals: Evals::None,
        ..PlanOptions::default()
    });
    assert_eq!(jobs.len(), 1);
    let r = virtual_time::run(&jobs, &Catalog::builtin().unwrap(), 2, &|_, _| {});
    let m = r[0].as_ref().unwrap();
    assert_eq!((m.num_gpus, m.conc, m.completed), (44, 180, 1800));
    let total = m.tput_per_gpu * 44.0;
    let parts = m.input_tput_per_gpu * 12.0 + m.output_tput_per_gpu * 32.0;
    assert!((total / parts - 1.0).abs() < 1e-9, "{total} vs {parts}");
    assert!(
        m.input_tput_per_gpu > m.output_tput_per_gpu,
        "8k in, 1k out"
    );
    let left_out = &m.info.expected_error.as_ref().unwrap().left_out;
    assert!(
        left_out.iter().any(|l| l.starts_with("multi-node:")),
        "{left_out:?}"
    );
    // H100's TP16 workers span two 8-GPU NVLink domains: refused with the reason.
    let h100 = plan_today(PlanOptions {
        config_keys: vec!["dsr1-fp8-h100-dynamo-trt".into()],
        single_node: false,
        agentic: false,
        evals: Evals::None,
        ..PlanOptions::default()
    });
    let r = virtual_time::run(&h100[..1], &Catalog::builtin().unwrap(), 1, &|_, _| {});
    let e = r[0].as_ref().unwrap_err();
    assert!(
        e.ends_with("tp 16 exceeds the 8-GPU scale-up domain of h100"),
        "{e}"
    );
}

/// Where InferenceX pins the acceptance (`SYNTHETIC_ACCEPTANCE_LENGTH`), the simulator
/// speculates with it, the draft length read off the model's committed curve (DeepSeek-V4 MTP:
/// AL 2.27 is 2 draft tokens); the point no longer says it ran without speculation, and it
/// decodes faster than the same deployment without it.
#[test]
fn pinned_acceptance_is_simulated_with_the_committed_curve() {
    let catalog = Catalog::builtin().unwrap();
    let curve = &catalog.acceptance[&("deepseek-v4-pro".to_string(), "mtp".to_string())];
    assert_eq!(curve.draft_tokens_for(2.27), Some(2));
    assert_eq!(curve.draft_tokens_for(2.49), Some(3));
    assert_eq!(curve.draft_tokens_for(2.4), None);
    let jobs = plan_today(PlanOptions {
        config_keys: vec!["dsv4-fp4-gb200-dynamo-vllm-mtp2".into()],
        single_node: false,
        agentic: false,
        evals: Evals::None,
        ..PlanOptions::default()
    });
    let mut job = jobs
        .into_iter()
        .find(|j| j.conc.contains(&64))
        .expect("a row at concurrency 64");
    job.conc = vec![64];
    let with = virtual_time::run(std::slice::from_ref(&job), &catalog, 1, &|_, _| {});
    let with = with[0].as_ref().unwrap();
    let left_out = &with.info.expected_error.as_ref().unwrap().left_out;
    assert!(
        !left_out.iter().any(|l| l.starts_with("spec-decoding")),
        "{left_out:?}"
    );
    // The same row without the pinned acceptance.
    let servebench_sweep::plan::Topology::Multi { prefill, decode } = &mut job.topology else {
        panic!("a multi-node row")
    };
    for w in [prefill, decode] {
        if let Some(s) = &mut w.additional_settings {
            s.retain(|s| !s.starts_with("SYNTHETIC_ACCEPTANCE_LENGTH="));
        }
    }
    let without = virtual_time::run(&[job], &catalog, 1, &|_, _| {});
    let without = without[0].as_ref().unwrap();
    assert!(
        with.median_intvty > 1.3 * without.median_intvty,
        "{} vs {}",
        with.median_intvty,
        without.median_intvty
    );
}
