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
    // One recipe does not fit as the simulator lays it out: DP attention keeps DeepSeek-V4's
    // non-expert weights whole on every GPU, and the catalog's FP8 checkpoint (~1.05 TB, as
    // the MI300X path loads it) leaves no room for them on H200 (docs/sim.md).
    let (failed, ok): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_err);
    let failed: Vec<String> = failed.into_iter().filter_map(Result::err).collect();
    assert_eq!(failed.len(), 18, "{failed:?}");
    for f in &failed {
        assert!(
            f.starts_with("dsv4-fp8-h200-vllm")
                && f.contains(": deepseek-v4-pro in fp8 at tp 8 needs"),
            "{f}"
        );
    }
    let ok: Vec<_> = ok.into_iter().map(Result::unwrap).collect();
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
    // ATOM keeps its name beside vLLM on MI355X, and MTP rows speculate: each at the draft
    // length its launch script sets, read off the model's acceptance curve.
    assert!(ok
        .iter()
        .any(|m| m.engine == "atom" && m.info.engine == "vllm"));
    let mtp = ok
        .iter()
        .filter(|m| jobs[m.job].spec_decoding.as_str() == "mtp")
        .inspect(|m| {
            let left_out = &m.info.expected_error.as_ref().unwrap().left_out;
            assert!(
                !left_out.iter().any(|l| l.starts_with("spec-decoding")),
                "{m:?}"
            )
        })
        .count();
    // 308 MTP points, less the 9 of dsv4-fp8-h200-vllm-mtp that do not fit (above).
    assert_eq!(mtp, 299);
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

/// The fixed-length jobs of one config key of today's configs, multi-node or single-node.
fn jobs_of(key: &str, multi_node: bool) -> Vec<servebench_sweep::plan::Job> {
    plan_today(PlanOptions {
        config_keys: vec![key.into()],
        single_node: !multi_node,
        multi_node,
        agentic: false,
        evals: Evals::None,
        ..PlanOptions::default()
    })
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
    // The recipe's router and KV-transfer library are named where the simulator stands in.
    let (router, kv) = (
        jobs[0].router.as_ref().unwrap(),
        jobs[0].kv_p2p_transfer.as_ref().unwrap(),
    );
    assert!(
        left_out
            .iter()
            .any(|l| l.starts_with(&format!("router {} {}", router.name, router.version))),
        "{left_out:?}"
    );
    assert!(
        left_out
            .iter()
            .any(|l| l.starts_with(&format!("kv-p2p-transfer {kv}"))),
        "{left_out:?}"
    );
    // H100's TP16 workers span two 8-GPU NVLink domains: their collectives cross the NIC, and
    // every GPU of both pools counts.
    let h100 = jobs_of("dsr1-fp8-h100-dynamo-trt", true);
    let servebench_sweep::plan::Topology::Multi { prefill, decode } = &h100[0].topology else {
        panic!("a multi-node row")
    };
    let want = 16 * (prefill.num_worker + decode.num_worker);
    let r = virtual_time::run(&h100[..1], &Catalog::builtin().unwrap(), 1, &|_, _| {});
    let m = r[0].as_ref().unwrap();
    assert_eq!((m.num_gpus, m.failed), (want, 0), "{m:?}");
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
    let jobs = jobs_of("dsv4-fp4-gb200-dynamo-vllm-mtp2", true);
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
    // The same row without the pinned acceptance, nor a recipe file naming its draft length.
    let servebench_sweep::plan::Topology::Multi { prefill, decode } = &mut job.topology else {
        panic!("a multi-node row")
    };
    for w in [prefill, decode] {
        if let Some(s) = &mut w.additional_settings {
            s.retain(|s| {
                !s.starts_with("SYNTHETIC_ACCEPTANCE_LENGTH=") && !s.starts_with("CONFIG_FILE=")
            });
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

/// A single-node MTP row speculates at the draft length its launch script sets
/// (`dsr1_fp4_b200_trt_mtp.sh`: 3, or 1 with DP attention), read off DeepSeek-R1's curve (AL
/// 2.82 at 3, 1.92 at 1): the sweep's point is the simulator's for that deployment built by
/// hand, and differs from the other draft length's.
#[test]
fn a_single_node_mtp_row_speculates_at_its_scripts_draft_length() {
    use servebench_sim::perf::{Deployment, PerfModel, SpecDecode};
    use servebench_sim::virtual_time::{simulate, VirtualPoint};
    let catalog = Catalog::builtin().unwrap();
    let jobs = jobs_of("dsr1-fp4-b200-trt-mtp", false);
    let by_hand = |dp: bool, conc: usize, spec: Option<(u32, f64)>| {
        let mut d = Deployment::from_catalog(
            &catalog,
            "b200",
            "deepseek-r1-0528",
            "trt",
            servebench_catalog::Precision::Fp4,
            8,
        )
        .unwrap();
        d.model = d.model.with_checkpoint("nvidia/DeepSeek-R1-0528-FP4-V2");
        (d.ep, d.dp_attention) = (if dp { 8 } else { 1 }, dp);
        d.spec = spec.map(|(draft_tokens, acceptance_length)| SpecDecode {
            draft_tokens,
            acceptance_length,
        });
        let perf = PerfModel::new(d).unwrap();
        simulate(&perf, &VirtualPoint::inferencex(conc, 8192, 1024)).median_interactivity()
    };
    for (dp, conc, draft, al, other) in [
        (false, 4, 3, 2.82, (1, 1.92)),
        (true, 64, 1, 1.92, (3, 2.82)),
    ] {
        let mut job = jobs
            .iter()
            .find(|j| {
                matches!(j.topology, servebench_sweep::plan::Topology::Single { tp: 8, dp_attn, .. }
                    if dp_attn == dp)
                    && j.conc.contains(&conc)
            })
            .unwrap()
            .clone();
        job.conc = vec![conc];
        let r = virtual_time::run(std::slice::from_ref(&job), &catalog, 1, &|_, _| {});
        let got = r[0].as_ref().unwrap().median_intvty;
        let want = by_hand(dp, conc as usize, Some((draft, al)));
        assert!((got / want - 1.0).abs() < 1e-9, "{got} vs {want}");
        let (plain, wrong) = (
            by_hand(dp, conc as usize, None),
            by_hand(dp, conc as usize, Some(other)),
        );
        assert!(got > 1.3 * plain, "{got} vs {plain} without speculation");
        assert!(
            (got / wrong - 1.0).abs() > 0.02,
            "{got} vs {wrong} at the other length"
        );
    }
}
