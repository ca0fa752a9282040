//! InferenceX's CI priority over its own matrix: scores computed by hand from the policy's
//! terms (reference §8.3), the order jobs run in, and the file's errors.

use servebench_sweep::plan::{plan, Evals, Job, PlanOptions, Topology, Workload};
use servebench_sweep::priority::{parse_text, Context, Policy};
use servebench_sweep::{load_recipe_texts, load_runners, INFERENCEX_TODAY};
use std::path::{Path, PathBuf};

/// InferenceX's configs/ci-priority.yaml as of this writing.
const POLICY: &str = "\
version: 1

# Higher scores run first.
base-score: 1.0

adjustments:
  event:
    push: 2.0
  multi-node: 1.25
  agentic: 1.0
  eval-only: 0.0
  precision:
    fp4: 0.75
  spec-decoding:
    mtp: 0.75
    eagle: 0.75
    eagle3: 0.75
  framework-prefix:
    sglang: 0.5
    vllm: 0.5
    dynamo-sglang: 0.5
    dynamo-vllm: 0.5
  model-prefix:
    glm5: 0.75
    glm5.1: 0.75
    kimik2.5: 0.75
    dsv4: 0.75
    minimaxm3: 0.75
    qwen3.5: 0.75
    dsr1: 0.75

labels:
  skip-queue:
    name: skip_queue
  checklist-complete:
    names: [ci-checklist-complete]
    adjustment: 0.25
  patchwork:
    names: [ci-patchwork, engine-patch]
    score: 0.0
    waived-by: [ci-patchwork-waived]
";

fn policy(text: &str) -> Result<Policy, String> {
    parse_text(Path::new("ci-priority.yaml"), text).map_err(|e| e.to_string())
}

/// Every job of InferenceX's shipped matrix, with its runners (agentic rows size their CPU
/// memory from them).
fn today() -> Vec<Job> {
    let texts: Vec<(PathBuf, String)> = INFERENCEX_TODAY
        .iter()
        .map(|(n, t)| (n.into(), t.to_string()))
        .collect();
    let runners = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/inferencex-configs-843c6254/runners.yaml");
    let opts = PlanOptions {
        evals: Evals::None,
        ..PlanOptions::default()
    };
    let recipes = load_recipe_texts(&texts).unwrap();
    plan(&recipes, &load_runners(&runners).unwrap(), &opts).unwrap()
}

fn ctx(event: &str, labels: &[&str]) -> Context {
    Context {
        event: event.into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
    }
}

/// The policy's terms, added up by hand for one job.
fn by_hand(j: &Job, push: bool) -> f64 {
    let multi = matches!(j.topology, Topology::Multi { .. });
    let agentic = matches!(j.workload, Workload::Agentic { .. });
    let framework = ["sglang", "vllm", "dynamo-sglang", "dynamo-vllm"]
        .iter()
        .any(|p| j.framework == *p || j.framework.starts_with(&format!("{p}-")));
    let model = [
        "glm5",
        "glm5.1",
        "kimik2.5",
        "dsv4",
        "minimaxm3",
        "qwen3.5",
        "dsr1",
    ]
    .contains(&j.model_prefix.as_str());
    let spec = ["mtp", "eagle", "eagle3"].contains(&j.spec_decoding.as_str());
    1.0 + [
        (push, 2.0),
        (multi, 1.25),
        (agentic, 1.0),
        (j.precision == "fp4", 0.75),
        (spec, 0.75),
        (framework, 0.5),
        (model, 0.75),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, v)| v)
    .sum::<f64>()
}

#[test]
fn every_job_of_inferencex_today_scores_its_terms() {
    let p = policy(POLICY).unwrap();
    let jobs = today();
    assert!(jobs.len() > 1000, "{}", jobs.len());
    for push in [false, true] {
        let c = ctx(if push { "push" } else { "schedule" }, &[]);
        for j in &jobs {
            let want = format!("{:.3}", by_hand(j, push));
            assert_eq!(p.score(j, &c).to_string(), want, "{}", j.config_key);
        }
    }
    // The reference's worked example: a push-to-main multi-node agentic dynamo-vllm FP4 MTP
    // DeepSeek-V4 row scores 1 + 2 + 1.25 + 1 + 0.75 + 0.75 + 0.5 + 0.75.
    let top = jobs
        .iter()
        .find(|j| {
            j.is_multinode()
                && matches!(j.workload, Workload::Agentic { .. })
                && j.framework == "dynamo-vllm"
                && j.precision == "fp4"
                && j.spec_decoding.as_str() == "mtp"
                && j.model_prefix == "dsv4"
        })
        .expect("InferenceX today has such a row");
    assert_eq!(p.score(top, &ctx("push", &[])).to_string(), "8.000");
}

#[test]
fn labels_force_or_add_and_the_order_is_highest_first_then_the_plans() {
    let p = policy(POLICY).unwrap();
    let jobs = today();
    let j = &jobs[0];
    let plain = p.score(j, &ctx("", &[]));
    assert_eq!(p.score(j, &ctx("", &["ci-patchwork"])).to_string(), "0.000");
    assert_eq!(
        p.score(j, &ctx("", &["engine-patch", "ci-patchwork-waived"])),
        plain
    );
    let more = p.score(j, &ctx("", &["ci-checklist-complete"])).to_string();
    assert_eq!(more, format!("{:.3}", by_hand(j, false) + 0.25));

    let mut ordered = jobs.clone();
    p.order(&mut ordered, &ctx("", &[]));
    let scores: Vec<_> = ordered.iter().map(|j| p.score(j, &ctx("", &[]))).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]));
    // Ties keep the plan's order.
    let pos = |j: &Job| jobs.iter().position(|x| x == j).unwrap();
    for w in ordered.windows(2) {
        if scores[ordered.iter().position(|x| x == &w[0]).unwrap()] == p.score(&w[1], &ctx("", &[]))
        {
            assert!(pos(&w[0]) < pos(&w[1]));
        }
    }
}

#[test]
fn scores_are_exact_decimals_rounded_half_up() {
    let jobs = today();
    let with_base = |b: &str| {
        let p = policy(&format!("version: 1\nbase-score: {b}\n")).unwrap();
        p.score(&jobs[0], &Context::default()).to_string()
    };
    assert_eq!(with_base("0.0005"), "0.001");
    assert_eq!(with_base("0.0004"), "0.000");
    assert_eq!(with_base("-0.0005"), "-0.001");
    assert_eq!(with_base("0.1"), "0.100");
    assert_eq!(with_base("2"), "2.000");
}

#[test]
fn a_bad_policy_is_refused_with_its_place() {
    for (text, want) in [
        (
            "version: 2\nbase-score: 1\n",
            "ci-priority.yaml:1:1: version: 2: expected 1",
        ),
        (
            "version: 1\nbase-score: 1\nadjustments:\n  gpu: 1\n",
            "ci-priority.yaml:4:3",
        ),
        ("version: 1\n", "missing field `base-score`"),
        ("version: 1\nbase-score: high\n", "ci-priority.yaml:2"),
    ] {
        let e = policy(text).unwrap_err();
        assert!(e.contains(want), "{text}: {e}");
    }
}
