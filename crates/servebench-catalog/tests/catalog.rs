//! The built-in catalog loads, its derived figures match the published ones, and bad files get
//! errors that name the file, line and field.

use servebench_catalog::{Catalog, CatalogError, Precision};

#[test]
fn builtin_has_the_inferencemax_accelerators_and_models() {
    let c = Catalog::builtin().unwrap();
    let ids: Vec<&str> = c.accelerators.keys().map(|s| s.as_str()).collect();
    assert_eq!(
        ids,
        [
            "b200",
            "b300",
            "gb200",
            "gb300",
            "h100",
            "h200",
            "mi300x",
            "mi325x",
            "mi355x",
            "rtx6000pro"
        ]
    );
    let engines: Vec<&str> = c.engines.keys().map(|s| s.as_str()).collect();
    assert_eq!(engines, ["sglang", "trt", "vllm"]);
    assert_eq!(
        c.engine("vllm").unwrap().max_num_batched_tokens.value,
        8192.0
    );
    let models: Vec<&str> = c.models.keys().map(|s| s.as_str()).collect();
    assert_eq!(
        models,
        [
            "deepseek-r1-0528",
            "deepseek-v4-pro",
            "glm-5.1",
            "gpt-oss-120b",
            "kimi-k2.6",
            "llama-3.3-70b",
            "minimax-m3",
            "qwen3.5-397b-a17b"
        ]
    );
    let cards: Vec<&str> = c.model_cards.keys().map(|s| s.as_str()).collect();
    assert_eq!(cards, ["glm-5.2", "kimi-k3"]);
    // Every name InferenceX's configs use for Kimi-K2.6 resolves to it.
    for name in [
        "kimik2.6",
        "nvidia/Kimi-K2.6-NVFP4",
        "KIMIK2.5",
        "kimik2.7-code",
    ] {
        assert_eq!(
            c.find_model(name).map(|m| m.id.as_str()),
            Some("kimi-k2.6"),
            "{name}"
        );
    }
    // MLA: one latent of 512 + 64 rope dims per layer and token, 61 layers, FP8 KV.
    let kimi = c.model("kimi-k2.6").unwrap();
    assert_eq!(kimi.kv_bytes_per_token(Precision::Fp4), Some(61.0 * 576.0));
    let h200 = c.accelerator("H200").unwrap();
    assert_eq!(h200.hbm_bytes(), 141e9);
    assert_eq!(h200.flops(Precision::Fp8), Some(1979e12));
    assert_eq!(h200.flops(Precision::Fp4), None);
    assert_eq!(h200.dollars_per_gpu_hour.rental_3y.value, 1.60);
    // Every built-in accelerator names its scale-up link; scale-out where a source gives it.
    for a in c.accelerators.values() {
        assert!(a.scale_up.interconnect.is_some(), "{}", a.id);
    }
    let b300 = c.accelerator("b300").unwrap();
    assert_eq!(
        b300.scale_out.as_ref().unwrap().gbit_per_s_per_gpu.value,
        800.0
    );
    assert!(
        c.accelerator("gb300").unwrap().scale_out.is_none(),
        "one NVL72 domain"
    );
    assert_eq!(
        c.accelerator("mi355x").unwrap().all_in_kw_per_gpu.value,
        2.65
    );
    // Every figure's source has a reference and a date.
    for s in c.sources.values() {
        assert!(!s.reference.is_empty() && s.date.len() == 10, "{s:?}");
    }
}

#[test]
fn kv_bytes_per_token_match_the_reference_table() {
    let c = Catalog::builtin().unwrap();
    let llama = c.model("llama-3.3-70b").unwrap();
    assert_eq!(llama.kv_bytes_per_token(Precision::Bf16), Some(327_680.0));
    assert_eq!(llama.kv_bytes_per_token(Precision::Fp8), Some(163_840.0));
    let dsr1 = c.model("deepseek-r1-0528").unwrap();
    assert_eq!(dsr1.kv_bytes_per_token(Precision::Fp8), Some(35_136.0));
    assert_eq!(
        dsr1.kv_bytes_per_token(Precision::Bf16),
        None,
        "not served in bf16"
    );
    let oss = c.model("gpt-oss-120b").unwrap();
    // Full-attention layers only (18 of 36); the sliding layers hold ≤ 128 tokens per sequence.
    assert_eq!(oss.kv_bytes_per_token(Precision::Fp4), Some(18_432.0));
    assert_eq!(
        oss.sliding_kv_bytes_per_seq(Precision::Fp4, 8192.0),
        2_359_296.0
    );
    assert_eq!(
        oss.sliding_kv_bytes_per_seq(Precision::Fp4, 64.0),
        1_179_648.0
    );
    // Weights: 70.55 B × 1 byte in fp8; gpt-oss's checkpoint ≈ 60.8 GiB.
    assert_eq!(llama.weight_bytes(Precision::Fp8), Some(70.55e9));
    let gib = oss.weight_bytes(Precision::Fp4).unwrap() / (1u64 << 30) as f64;
    assert!((gib - 60.8).abs() < 0.1, "{gib}");
}

fn user_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (p, text) in files {
        let path = d.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    d
}

const MY_GPU: &str = "kind: accelerator
id: my-gpu
name: My GPU
vendor: me
family: {value: mine, source: mine}
hbm_gb: {value: 96, source: mine}
hbm_tb_per_s: {value: 4, source: mine}
dense_tflops:
  bf16: {value: 500, source: mine}
  fp8: {value: 1000, source: mine}
tdp_w: {value: 600, source: mine}
idle_w: {value: 80, source: mine}
scale_up:
  domain_gpus: {value: 4, source: mine}
  gb_per_s_per_gpu: {value: 300, source: mine}
all_in_kw_per_gpu: {value: 1.5, source: mine}
dollars_per_gpu_hour:
  owned_hyperscaler: {value: 1.0, source: mine}
  owned_neocloud: {value: 1.2, source: mine}
  rental_3y: {value: 1.1, source: mine}
";

const MY_SOURCES: &str = "mine:\n  ref: my lab's measurements\n  date: 2026-11-01\n";

#[test]
fn users_add_an_accelerator_by_writing_a_file() {
    let d = user_dir(&[
        ("sources.yaml", MY_SOURCES),
        ("accelerators/my-gpu.yaml", MY_GPU),
    ]);
    let mut c = Catalog::builtin().unwrap();
    c.load_dir(d.path()).unwrap();
    assert_eq!(c.accelerator("my-gpu").unwrap().hbm_gb.value, 96.0);
    assert_eq!(c.accelerators.len(), 11);
    // Replacing a built-in by id.
    let mine = MY_GPU.replace("id: my-gpu", "id: h100");
    let d = user_dir(&[
        ("sources.yaml", MY_SOURCES),
        ("accelerators/h100.yaml", &mine),
    ]);
    c.load_dir(d.path()).unwrap();
    assert_eq!(c.accelerator("h100").unwrap().hbm_gb.value, 96.0);
}

fn load_err(files: &[(&str, &str)]) -> String {
    let d = user_dir(files);
    let mut c = Catalog::builtin().unwrap();
    let e: CatalogError = c.load_dir(d.path()).unwrap_err();
    e.to_string()
}

#[test]
fn bad_files_name_file_line_and_field() {
    // An unknown key, on line 6.
    let typo = MY_GPU.replace("hbm_gb:", "hbm_gib:");
    let e = load_err(&[("sources.yaml", MY_SOURCES), ("accelerators/x.yaml", &typo)]);
    assert!(e.contains("accelerators/x.yaml:6:"), "{e}");
    assert!(e.contains("unknown field `hbm_gib`"), "{e}");
    // A figure without a source.
    let nosrc = MY_GPU.replace("tdp_w: {value: 600, source: mine}", "tdp_w: {value: 600}");
    let e = load_err(&[
        ("sources.yaml", MY_SOURCES),
        ("accelerators/x.yaml", &nosrc),
    ]);
    assert!(
        e.contains("accelerators/x.yaml:11:") && e.contains("missing field `source`"),
        "{e}"
    );
    // A source nobody defined.
    let e = load_err(&[("accelerators/x.yaml", MY_GPU)]);
    assert!(
        e.contains("field hbm_gb: source 'mine' is not defined"),
        "{e}"
    );
    // A negative figure.
    let neg = MY_GPU.replace("{value: 1.5, source: mine}", "{value: -1.5, source: mine}");
    let e = load_err(&[("sources.yaml", MY_SOURCES), ("accelerators/x.yaml", &neg)]);
    assert!(
        e.contains("field all_in_kw_per_gpu: expected a non-negative number"),
        "{e}"
    );
    // A wrong kind.
    let e = load_err(&[
        ("sources.yaml", MY_SOURCES),
        ("models/x.yaml", "kind: gpu\n"),
    ]);
    assert!(
        e.contains("field kind: expected 'accelerator', 'model', 'engine', 'calibration', 'holdout', 'acceptance' or 'eval-thresholds'"),
        "{e}"
    );
    // A model contradicting itself.
    let builtin = include_str!("../../../catalog/models/gpt-oss-120b.yaml");
    let bad = builtin.replace(
        "experts_per_token: {value: 4, source: hf-gpt-oss-120b}",
        "experts_per_token: {value: 400, source: hf-gpt-oss-120b}",
    );
    let e = load_err(&[("models/gpt-oss-120b.yaml", &bad)]);
    assert!(
        e.contains("field ffn.experts_per_token: 400 experts per token but only 128"),
        "{e}"
    );
}

#[test]
fn unknown_ids_list_what_exists() {
    let c = Catalog::builtin().unwrap();
    let e = c.accelerator("tpu-v5").unwrap_err().to_string();
    assert!(
        e.contains("unknown accelerator 'tpu-v5'") && e.contains("h200"),
        "{e}"
    );
    assert!("fp5".parse::<Precision>().is_err());
    assert_eq!("MXFP4".parse::<Precision>(), Ok(Precision::Fp4));
}

#[test]
fn engine_efficiencies_must_be_fractions() {
    let vllm = include_str!("../../../catalog/engines/vllm.yaml");
    let bad = vllm.replace(
        "memory_efficiency: {value: 0.80,",
        "memory_efficiency: {value: 1.5,",
    );
    assert_ne!(bad, vllm);
    let e = load_err(&[("engines/vllm.yaml", &bad)]);
    assert!(
        e.contains(
            "engines/vllm.yaml: field memory_efficiency: expected a fraction in (0, 1], got 1.5"
        ),
        "{e}"
    );
}

#[test]
fn calibration_files_replace_engine_knobs_per_accelerator_and_precision() {
    let cal = "kind: calibration
engine: vllm
against: my runs
accelerators:
  h200:
    fp8:
      compute_efficiency: {value: 0.3, source: mine}
      memory_efficiency: {value: 0.4, source: mine}
      step_overhead_us: {value: 5000, source: mine}
";
    let d = user_dir(&[("sources.yaml", MY_SOURCES), ("calibration/vllm.yaml", cal)]);
    let mut c = Catalog::builtin().unwrap();
    c.load_dir(d.path()).unwrap();
    // The pooled knobs apply to every model, the built-in per-model ones of the same
    // combination included (the file replaced them).
    for model in [None, Some("llama-3.3-70b"), Some("gpt-oss-120b")] {
        let e = c.engine_on("vllm", model, "h200", Precision::Fp8).unwrap();
        assert_eq!(
            (
                e.compute_efficiency.value,
                e.memory_efficiency.value,
                e.step_overhead_us.value
            ),
            (0.3, 0.4, 5000.0)
        );
    }
    // Another precision or accelerator keeps what it had.
    let before = Catalog::builtin().unwrap();
    for (a, p) in [("h200", Precision::Fp4), ("b200", Precision::Fp8)] {
        assert_eq!(
            c.engine_on("vllm", Some("llama-3.3-70b"), a, p).unwrap(),
            before
                .engine_on("vllm", Some("llama-3.3-70b"), a, p)
                .unwrap()
        );
    }
    // Per-model knobs take precedence over the pooled ones for that model only.
    let per_model = format!(
        "{cal}models:
  gpt-oss-120b:
    h200:
      fp8:
        compute_efficiency: {{value: 0.5, source: mine}}
        memory_efficiency: {{value: 0.6, source: mine}}
        step_overhead_us: {{value: 700, source: mine}}
        allreduce_latency_us: {{value: 12, source: mine}}
"
    );
    let d = user_dir(&[
        ("sources.yaml", MY_SOURCES),
        ("calibration/vllm.yaml", &per_model),
    ]);
    let mut c = Catalog::builtin().unwrap();
    c.load_dir(d.path()).unwrap();
    let oss = c
        .engine_on("vllm", Some("gpt-oss-120b"), "h200", Precision::Fp8)
        .unwrap();
    assert_eq!(
        (oss.memory_efficiency.value, oss.allreduce_latency_us.value),
        (0.6, 12.0)
    );
    let llama = c
        .engine_on("vllm", Some("llama-3.3-70b"), "h200", Precision::Fp8)
        .unwrap();
    assert_eq!(llama.memory_efficiency.value, 0.4);
    // A calibration citing an unknown source is refused like any figure.
    let bad = cal.replace(
        "source: mine}\n      memory",
        "source: nowhere}\n      memory",
    );
    let e = load_err(&[
        ("sources.yaml", MY_SOURCES),
        ("calibration/vllm.yaml", &bad),
    ]);
    assert!(
        e.contains("field compute_efficiency: source 'nowhere' is not defined"),
        "{e}"
    );
}

#[test]
fn eval_thresholds_resolve_by_model_name_and_bad_ones_are_refused() {
    let c = Catalog::builtin().unwrap();
    let t = |task: &str, model: &str| c.eval_threshold(task, model).map(|f| f.value);
    // gpt-oss-120b has its own GSM8K floor, under any of its names; others the default.
    assert_eq!(t("gsm8k", "openai/gpt-oss-120b"), Some(0.91));
    assert_eq!(t("gsm8k", "gptoss"), Some(0.91));
    assert_eq!(t("gsm8k", "meta-llama/Llama-3.3-70B-Instruct"), Some(0.90));
    assert_eq!(t("gsm8k", "some/unknown-model"), Some(0.90));
    assert_eq!(t("gpqa-diamond", "gpt-oss-120b"), Some(0.30));
    assert_eq!(t("math500", "gpt-oss-120b"), None, "no published threshold");
    // Today's models, by their InferenceX prefixes (utils/evals/thresholds.yaml at 843c6254):
    // dsv4 0.91, qwen3.5 0.94, glm5.1 0.93; glm5.2, kimik3 and minimaxm3 take the default.
    for (prefix, want) in [
        ("dsv4", 0.91),
        ("qwen3.5", 0.94),
        ("glm5.1", 0.93),
        ("glm5.2", 0.90),
        ("kimik3", 0.90),
        ("minimaxm3", 0.90),
    ] {
        assert_eq!(t("gsm8k", prefix), Some(want), "{prefix}");
    }
    assert_eq!(
        c.eval_threshold("gsm8k", "dsr1").unwrap().source,
        "ix-eval-thresholds"
    );
    let bad = |body: &str| {
        load_err(&[
            ("sources.yaml", MY_SOURCES),
            ("evals/t.yaml", &format!("kind: eval-thresholds\n{body}")),
        ])
    };
    let e = bad("default:\n  mmlu: {value: 0.5, source: mine}\n");
    assert!(e.contains("field default.mmlu: unknown task 'mmlu'"), "{e}");
    let e = bad("default:\n  gsm8k: {value: 90, source: mine}\n");
    assert!(
        e.contains("field default.gsm8k: expected a score in [0, 1], got 90"),
        "{e}"
    );
    let e = bad("models:\n  gpt-5:\n    gsm8k: {value: 0.9, source: mine}\n");
    assert!(
        e.contains("field models.gpt-5: not a catalog model id"),
        "{e}"
    );
    let e = bad("default:\n  gsm8k: {value: 0.9, source: nowhere}\n");
    assert!(e.contains("source 'nowhere' is not defined"), "{e}");
}

#[test]
fn an_accelerator_without_a_fit_borrows_by_the_family_rule() {
    use servebench_catalog::{DeploymentKind, Figure, Knobs, KnobsOrigin};
    let mut c = Catalog::builtin().unwrap();
    c.calibrations.clear();
    let knobs = |ce: f64, me: f64, ov: f64| {
        let f = |v: f64| Figure {
            value: v,
            source: "mine".into(),
        };
        Knobs {
            compute_efficiency: f(ce),
            memory_efficiency: f(me),
            step_overhead_us: f(ov),
            allreduce_latency_us: None,
            link_efficiency: None,
            alltoall_latency_us: None,
            kinds: vec![DeploymentKind::SingleNode],
        }
    };
    let mut fit = |a: &str, p: Precision, m: Option<&str>, k: Knobs| {
        c.calibrations
            .insert(("vllm".into(), a.into(), p, m.map(String::from)), k);
    };
    fit("b200", Precision::Fp4, None, knobs(0.2, 0.6, 4000.0));
    fit("h100", Precision::Fp4, None, knobs(0.1, 0.5, 3000.0));
    fit("h200", Precision::Fp4, None, knobs(0.3, 0.7, 5000.0));
    fit("h100", Precision::Fp8, None, knobs(0.2, 0.5, 1000.0));
    fit("h200", Precision::Fp8, None, knobs(0.4, 0.9, 2000.0));
    // A per-model fit is the model's own, never borrowed.
    fit(
        "b200",
        Precision::Fp4,
        Some("gpt-oss-120b"),
        knobs(0.9, 0.9, 9.0),
    );
    let got = |a: &str, p: Precision| {
        let (e, o) = c.engine_knobs("vllm", Some("llama-3.3-70b"), a, p).unwrap();
        let rule = match &o {
            KnobsOrigin::Borrowed { rule, from } => format!("{rule}: {}", from.join(", ")),
            o => o.to_string(),
        };
        (
            e.compute_efficiency.value,
            e.memory_efficiency.value,
            e.step_overhead_us.value,
            rule,
        )
    };
    // B300 is Blackwell: B200's fit, at the same precision, then at another.
    assert_eq!(
        got("b300", Precision::Fp4),
        (
            0.2,
            0.6,
            4000.0,
            "same family, same precision: b200 fp4".into()
        )
    );
    assert_eq!(
        got("b300", Precision::Fp8),
        (
            0.2,
            0.6,
            4000.0,
            "same family, any precision: b200 fp4".into()
        )
    );
    // RTX PRO 6000 has a family of its own: the median over NVIDIA's fits, of three and of two.
    assert_eq!(
        got("rtx6000pro", Precision::Fp4),
        (
            0.2,
            0.6,
            4000.0,
            "same vendor, same precision: b200 fp4, h100 fp4, h200 fp4".into()
        )
    );
    let (ce, me, ov, rule) = got("rtx6000pro", Precision::Fp8);
    assert!((ce - 0.3).abs() < 1e-12 && (me - 0.7).abs() < 1e-12 && ov == 1500.0);
    assert_eq!(rule, "same vendor, same precision: h100 fp8, h200 fp8");
    // No AMD fit: any accelerator at the precision; nothing at all: the defaults.
    assert_eq!(
        got("mi355x", Precision::Fp4).3,
        "any accelerator, same precision: b200 fp4, h100 fp4, h200 fp4"
    );
    let defaults = c.engine("vllm").unwrap().compute_efficiency.value;
    assert_eq!(
        got("mi355x", Precision::Bf16),
        (
            defaults,
            c.engine("vllm").unwrap().memory_efficiency.value,
            c.engine("vllm").unwrap().step_overhead_us.value,
            "uncalibrated defaults".into()
        )
    );
    // An engine fitted nowhere takes the other engines' fits: here first, then anywhere.
    let other = |a: &str| {
        let (e, o) = c.engine_knobs("sglang", None, a, Precision::Fp4).unwrap();
        (e.compute_efficiency.value, o.to_string())
    };
    assert_eq!(
        other("b200"),
        (
            0.2,
            "borrowed (other engines, same accelerator, same precision: median of vllm b200 fp4)"
                .into()
        )
    );
    assert_eq!(
        other("mi355x").1,
        "borrowed (other engines, any accelerator, same precision: median of vllm b200 fp4, vllm h100 fp4, vllm h200 fp4)"
    );
    // A fitted combination is its own.
    assert_eq!(got("h200", Precision::Fp4).3, "fitted");
    let (e, o) = c
        .engine_knobs("vllm", Some("gpt-oss-120b"), "b200", Precision::Fp4)
        .unwrap();
    assert_eq!(
        (e.compute_efficiency.value, o.to_string()),
        (0.9, "fitted (gpt-oss-120b)".into())
    );
    // A fit of disaggregated points only (GB200's) is its accelerator's own, and says which
    // kinds of deployment it calibrates; it is lent to no other accelerator.
    let mut disagg = knobs(0.99, 0.44, 2100.0);
    disagg.kinds = vec![DeploymentKind::Disaggregated];
    c.calibrations.insert(
        ("vllm".into(), "gb200".into(), Precision::Fp4, None),
        disagg,
    );
    let (e, o) = c
        .engine_knobs("vllm", None, "gb200", Precision::Fp4)
        .unwrap();
    assert_eq!(e.compute_efficiency.value, 0.99);
    assert_eq!(o.uncalibrated(DeploymentKind::Disaggregated), None);
    assert_eq!(
        o.uncalibrated(DeploymentKind::SingleNode).as_deref(),
        Some("single-node: its knobs were fitted to disaggregated points only")
    );
    // Borrowed knobs calibrate no kind at all.
    let (_, b300) = c
        .engine_knobs("vllm", None, "b300", Precision::Fp4)
        .unwrap();
    assert_eq!(
        b300.to_string(),
        "borrowed (same family, same precision: median of b200 fp4)"
    );
    assert!(b300
        .uncalibrated(DeploymentKind::SingleNode)
        .unwrap()
        .starts_with(
        "single-node: no published point of this engine, accelerator and precision; knobs borrowed"
    ));
}

#[test]
fn the_shipped_hold_out_file_says_what_to_expect_of_borrowed_knobs() {
    use servebench_catalog::KnobsOrigin;
    let c = Catalog::builtin().unwrap();
    let h = c
        .holdout
        .as_ref()
        .expect("catalog/calibration/holdout.yaml");
    assert_eq!(
        h.fitted_models,
        ["deepseek-r1-0528", "gpt-oss-120b", "llama-3.3-70b"]
    );
    let held = h.leave_one_accelerator_out.as_ref().unwrap();
    // Held out is no better than in sample, and both are shares and errors.
    assert!(held.within_35.value <= h.in_sample.within_35.value);
    assert!(held.median_tput_error.value >= h.in_sample.median_tput_error.value);
    for f in [&h.in_sample, held] {
        assert!((0.0..=1.0).contains(&f.within_35.value));
        assert!(f.points.value > 1000.0);
    }
    let (_, b300) = c
        .engine_knobs("sglang", Some("deepseek-r1-0528"), "b300", Precision::Fp4)
        .unwrap();
    let e = c.expected_error(&b300, "deepseek-r1-0528").unwrap();
    assert_eq!(e.basis, "leave one accelerator out");
    assert_eq!(e.within_35, held.within_35.value);
    let fitted = KnobsOrigin::Fitted {
        model: None,
        kinds: vec![servebench_catalog::DeploymentKind::SingleNode],
    };
    assert_eq!(
        c.expected_error(&fitted, "llama-3.3-70b").unwrap().basis,
        "in sample"
    );
    // A model never fitted on a fitted accelerator: the model hold-out; on a borrowing one,
    // the worse of the two (the model hold-out: 69% against 91% within ±35%).
    let by_model = h.leave_one_model_out.as_ref().unwrap();
    assert!(by_model.within_35.value < held.within_35.value);
    for origin in [&fitted, &b300] {
        let e = c.expected_error(origin, "deepseek-v4-pro").unwrap();
        assert_eq!(e.basis, "leave one model out");
        assert_eq!(e.within_35, by_model.within_35.value);
    }
}

/// Every model prefix and checkpoint in InferenceX's master configs (843c6254, 2026-08-21:
/// `model-prefix` and `model` of every recipe) names a catalog model.
#[test]
fn every_model_of_inferencex_today_resolves() {
    let c = Catalog::builtin().unwrap();
    let names = [
        ("dsr1", "deepseek-r1-0528"),
        ("deepseek-ai/DeepSeek-R1-0528", "deepseek-r1-0528"),
        ("nvidia/DeepSeek-R1-0528-FP4-V2", "deepseek-r1-0528"),
        ("amd/DeepSeek-R1-0528-MXFP4", "deepseek-r1-0528"),
        ("amd/DeepSeek-R1-0528-MXFP4-Preview", "deepseek-r1-0528"),
        ("dsv4", "deepseek-v4-pro"),
        ("deepseek-ai/DeepSeek-V4-Pro", "deepseek-v4-pro"),
        ("qwen3.5", "qwen3.5-397b-a17b"),
        ("Qwen/Qwen3.5-397B-A17B-FP8", "qwen3.5-397b-a17b"),
        ("nvidia/Qwen3.5-397B-A17B-NVFP4", "qwen3.5-397b-a17b"),
        ("nvidia/Qwen3.5-397B-A17B-NVFP4-V2", "qwen3.5-397b-a17b"),
        ("amd/Qwen3.5-397B-A17B-MXFP4", "qwen3.5-397b-a17b"),
        ("glm5.1", "glm-5.1"),
        ("zai-org/GLM-5.1-FP8", "glm-5.1"),
        ("glm5.2", "glm-5.2"),
        ("zai-org/GLM-5.2-FP8", "glm-5.2"),
        ("nvidia/GLM-5.2-NVFP4", "glm-5.2"),
        ("amd/GLM-5.2-MXFP4", "glm-5.2"),
        ("kimik3", "kimi-k3"),
        ("moonshotai/Kimi-K3", "kimi-k3"),
        ("kimik2.6", "kimi-k2.6"),
        ("nvidia/Kimi-K2.6-NVFP4", "kimi-k2.6"),
        ("minimaxm3", "minimax-m3"),
        ("MiniMaxAI/MiniMax-M3-MXFP8", "minimax-m3"),
        ("nvidia/MiniMax-M3-NVFP4", "minimax-m3"),
        ("amd/MiniMax-M3-MXFP4", "minimax-m3"),
    ];
    for (name, id) in names {
        assert_eq!(c.model_id(name), Some(id), "{name}");
    }
}

#[test]
fn a_model_with_unknown_figures_names_them_instead_of_simulating() {
    let c = Catalog::builtin().unwrap();
    let e = c
        .simulated_model("moonshotai/Kimi-K3")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("model kimi-k3 cannot be simulated: catalog/models/kimi-k3.yaml states 8 of its figures as not known"),
        "{e}"
    );
    for field in [
        "hidden_size",
        "attention",
        "linear_attention",
        "params_active_b",
    ] {
        assert!(e.contains(field), "{e}");
    }
    assert!(c
        .model("glm-5.2")
        .unwrap_err()
        .to_string()
        .contains("glm-5.2.yaml"));
    // A known figure in such a file still cites a defined source; an unknown says why.
    let head = "kind: model\nid: m\nname: M\nhf_id: x/m\n";
    let e = load_err(&[(
        "models/m.yaml",
        &format!(
            "{head}layers: {{value: 3, source: nowhere}}\nhidden_size: {{unknown: not stated}}\n"
        ),
    )]);
    assert!(
        e.ends_with("m.yaml: field layers: source 'nowhere' is not defined in any sources.yaml"),
        "{e}"
    );
    let e = load_err(&[(
        "models/m.yaml",
        &format!("{head}hidden_size: {{unknown: ''}}\n"),
    )]);
    assert!(
        e.ends_with("field hidden_size: expected {unknown: <why it is not known>}"),
        "{e}"
    );
}

/// Cache sizes of today's attention kinds, by hand from the model files' figures.
#[test]
fn cache_bytes_of_compressed_sparse_and_linear_attention() {
    let c = Catalog::builtin().unwrap();
    let groups = |id: &str, p| c.model(id).unwrap().attention_groups(p).unwrap();
    // DeepSeek-V4-Pro, FP8 KV: CSA 30 layers × (512 + 128 indexer) / 4, HCA 31 × 512 / 128.
    let dsv4 = c.model("deepseek-v4-pro").unwrap();
    assert_eq!(dsv4.kv_bytes_per_token(Precision::Fp4), Some(4_924.0));
    let g = groups("deepseek-v4-pro", Precision::Fp4);
    let held: f64 = g.iter().map(|g| g.held_bytes(8192.0)).sum();
    // CSA 30 × (512 × (2048 + 128) + 128 × 2048); HCA 31 × 512 × (64 + 128).
    assert_eq!(held, 41_287_680.0 + 3_047_424.0);
    // A decoding query reads the top 1,024 CSA entries, not all 2,048.
    let read: f64 = g.iter().map(|g| g.decode_bytes(8192.0)).sum();
    assert_eq!(read, 30.0 * (512.0 * 1152.0 + 128.0 * 2048.0) + 3_047_424.0);
    // Qwen3.5: 15 GQA layers × 2 × 2 KV heads × 256; 45 Gated DeltaNet layers of fixed state:
    // (64 × 128 × 128 + (2 × 16 × 128 + 64 × 128) × 3) × 2 bytes each.
    let qwen = c.model("qwen3.5-397b-a17b").unwrap();
    assert_eq!(qwen.kv_bytes_per_token(Precision::Fp8), Some(15_360.0));
    let g = groups("qwen3.5-397b-a17b", Precision::Fp8);
    let held = |len: f64| g.iter().map(|g| g.held_bytes(len)).sum::<f64>();
    assert_eq!(held(0.0), 45.0 * 2_170_880.0);
    assert_eq!(held(1000.0) - held(0.0), 15_360_000.0);
    // GLM-5.1, BF16 KV: 78 × ((512 + 64) + 128 indexer) × 2. MiniMax-M3: 3 dense layers of
    // 2 × 4 × 128 × 2, 57 sparse ones with a 128-wide indexer key besides.
    let glm = c.model("glm-5.1").unwrap();
    assert_eq!(glm.kv_bytes_per_token(Precision::Fp8), Some(109_824.0));
    let mm = c.model("minimax-m3").unwrap();
    assert_eq!(
        mm.kv_bytes_per_token(Precision::Fp8),
        Some(3.0 * 2048.0 + 57.0 * 2304.0)
    );
    // Sparse attention: a query attends to at most (16 + 1) blocks of 128 tokens.
    let g = groups("minimax-m3", Precision::Fp8);
    let sparse = g.iter().find(|g| g.top_k.is_finite()).unwrap();
    assert_eq!(sparse.top_k, 17.0 * 128.0);
}

/// A prefill chunk's attention FLOPs in closed form equal the per-query sum, term by term.
#[test]
fn chunk_flops_are_the_sum_of_their_queries() {
    let c = Catalog::builtin().unwrap();
    for (id, p) in [
        ("deepseek-v4-pro", Precision::Fp4),
        ("qwen3.5-397b-a17b", Precision::Fp8),
        ("minimax-m3", Precision::Fp8),
        ("llama-3.3-70b", Precision::Fp8),
    ] {
        for g in c.model(id).unwrap().attention_groups(p).unwrap() {
            for (from, n) in [(0u32, 1u32), (0, 300), (4000, 700), (4095, 2), (9000, 64)] {
                let brute: f64 = (from..from + n).map(|i| g.query_flops(i as f64)).sum();
                let closed = g.chunk_flops(from as f64, n as f64);
                assert!(
                    (closed - brute).abs() <= 1e-9 * brute.max(1.0),
                    "{id} {from}+{n}: {closed} vs {brute}"
                );
            }
        }
    }
}

#[test]
fn acceptance_curves_are_checked() {
    let c = Catalog::builtin().unwrap();
    let q = &c.acceptance[&("qwen3.5-397b-a17b".to_string(), "mtp".to_string())];
    // InferenceX's golden_al_distribution/qwen3.5_mtp.yaml: 3 draft tokens accept 3.39.
    assert_eq!(q.thinking_on[&3], 3.39);
    assert_eq!(q.draft_tokens_for(3.39), Some(3));
    let curve = |model: &str, al: &str| {
        format!("kind: acceptance\nmodel: {model}\nmethod: mtp\nsource: mine\nthinking_on: {{2: {al}}}\n")
    };
    let e = load_err(&[
        ("sources.yaml", MY_SOURCES),
        ("speculative/x.yaml", &curve("deepseek-v4-pro", "3.5")),
    ]);
    assert!(
        e.ends_with(
            "x.yaml: field thinking_on.2: expected an acceptance length in [1, 3], got 3.5"
        ),
        "{e}"
    );
    let e = load_err(&[
        ("sources.yaml", MY_SOURCES),
        ("speculative/x.yaml", &curve("nobody", "2.0")),
    ]);
    assert!(
        e.ends_with("field model: 'nobody' is no catalog model"),
        "{e}"
    );
}
