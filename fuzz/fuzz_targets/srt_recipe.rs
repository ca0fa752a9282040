//! srt-slurm recipes (`servebench_sweep::srt`): the file a real-engine multi-node row names,
//! read (a plain recipe or one variant of a file of variants), checked against its row, and,
//! where it loads, the deployment's processes on the nodes it asks for. The input is the
//! recipe, then optionally a NUL and the variant to name (`override_x`, `zip_override_x[1]`).
//! No panic; reading is deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_fuzz::{split_nul, write};
use servebench_sweep::cluster::{deployment, nodes_needed, LaunchRecipes, Node};
use servebench_sweep::engine::{Engines, Launch};
use servebench_sweep::plan::{plan, Job, PlanOptions};
use std::sync::OnceLock;

/// Rows naming the fuzzed recipe: disaggregated 1 × 4 + 1 × 4 GPUs, and aggregated 1 × 8.
fn rows(variant: &str) -> Vec<Job> {
    let cf = if variant.is_empty() {
        "recipes/r.yaml".to_string()
    } else {
        format!("recipes/r.yaml:{variant}")
    };
    let row = |key: &str, disagg: bool, decode: u32| {
        format!(
            "{key}:\n  image: i\n  model: m/x\n  model-prefix: x\n  precision: fp8\n  framework: dynamo-sglang\n  runner: gb200\n  multinode: true\n  disagg: {disagg}\n  kv-p2p-transfer: nixl\n  scenarios:\n    fixed-seq-len:\n    - isl: 1024\n      osl: 128\n      search-space:\n      - conc-list: [4]\n        prefill: {{num-worker: 1, tp: {p}, ep: 1, dp-attn: false, additional-settings: [\"CONFIG_FILE={cf}\"]}}\n        decode: {{num-worker: {decode}, tp: 4, ep: 1, dp-attn: false}}\n",
            p = if disagg { 4 } else { 8 }
        )
    };
    let text = row("pd", true, 1) + &row("agg", false, 0);
    let file = write("srt/master.yaml", text.as_bytes());
    let Ok(r) = servebench_sweep::load_recipes(&[file]) else {
        return Vec::new(); // a variant name that breaks the row's YAML
    };
    let o = PlanOptions {
        single_node: false,
        multi_node: true,
        ..Default::default()
    };
    plan(&r, &Default::default(), &o).unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    static NODES: OnceLock<Vec<Node>> = OnceLock::new();
    let nodes = NODES.get_or_init(|| {
        (0..64)
            .map(|i| Node {
                name: format!("n{i}"),
                addr: format!("10.0.0.{i}"),
            })
            .collect()
    });
    let (recipe, variant) = split_nul(data);
    let variant: String = variant
        .map(|v| {
            String::from_utf8_lossy(v)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "_[]".contains(*c))
                .take(40)
                .collect()
        })
        .unwrap_or_default();
    let dir = write("srt/recipes/r.yaml", recipe)
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let recipes = LaunchRecipes {
        srt: vec![dir],
        inferencex: None,
    };
    for job in rows(&variant) {
        let first = nodes_needed(&job, Engines::Recipe, &recipes);
        assert_eq!(
            first,
            nodes_needed(&job, Engines::Recipe, &recipes),
            "deterministic"
        );
        let Ok(n) = first else { continue };
        let l = Launch {
            engines: Engines::Recipe,
            host: "10.0.0.0".into(),
            port: 0,
            servebench: "servebench".into(),
            tokenizer: "cl100k_base".into(),
            sim_time_scale: None,
            recipes: recipes.clone(),
        };
        let n = (n as usize).min(nodes.len());
        if let Ok(d) = deployment(&job, &l, &nodes[..n], || Ok(1)) {
            for p in d.workers.iter().chain(&d.frontends).chain([&d.router]) {
                let _ = p.command.redacted_line();
                assert!(
                    p.nodes.iter().all(|&i| i < n),
                    "a process on a node the job does not have"
                );
            }
        }
    }
});
