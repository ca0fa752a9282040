//! The files InferenceX's own multi-node launchers read, as servebench reads them from an
//! InferenceX checkout (`servebench_sweep::{amd, llmd, tilert}`) through
//! `cluster::{nodes_needed, deployment}`: the first byte picks the file (AMD SGLang's
//! `models.yaml`, ATOM's `models_atom.yaml`, an llm-d recipe, a TileRT wrapper script), the
//! rest is its contents; each launcher's row is rendered against it. No panic; rendering is
//! deterministic; no process on a node the job does not have.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_fuzz::write;
use servebench_sweep::cluster::{deployment, nodes_needed, LaunchRecipes, Node};
use servebench_sweep::engine::{Engines, Launch};
use servebench_sweep::plan::{plan, Job, PlanOptions};
use std::sync::OnceLock;

/// One row per launcher, with the settings each one sizes its workers from.
fn rows() -> Vec<Job> {
    let row = |key: &str, model: &str, fw: &str, runner: &str, p: &str, d: &str| {
        format!(
            "{key}:\n  image: i\n  model: {model}\n  model-prefix: x\n  precision: fp8\n  framework: {fw}\n  runner: {runner}\n  multinode: true\n  disagg: true\n  kv-p2p-transfer: nixl\n  scenarios:\n    fixed-seq-len:\n    - isl: 1024\n      osl: 1024\n      search-space:\n      - conc-list: [4, 64]\n        prefill: {p}\n        decode: {d}\n"
        )
    };
    let text = [
        row(
            "sg",
            "amd/DeepSeek-R1-0528-MXFP4-v2",
            "sglang-disagg",
            "mi355x",
            "{num-worker: 2, tp: 8, ep: 8, dp-attn: true, additional-settings: [PREFILL_NODES=2]}",
            "{num-worker: 1, tp: 8, ep: 8, dp-attn: true, additional-settings: [DECODE_NODES=1, DECODE_MTP_SIZE=2]}",
        ),
        row(
            "at",
            "deepseek-ai/DeepSeek-V4-Pro",
            "atom-disagg",
            "mi355x",
            "{num-worker: 1, tp: 8, ep: 1, dp-attn: true, additional-settings: [PREFILL_NODES=1]}",
            "{num-worker: 1, tp: 8, ep: 1, dp-attn: false, additional-settings: [DECODE_NODES=1, DECODE_MTP_SIZE=1]}",
        ),
        row(
            "ld",
            "deepseek-ai/DeepSeek-V4-Pro",
            "llmd-vllm",
            "gb200",
            "{num-worker: 1, tp: 1, ep: 8, dp-attn: true, additional-settings: [PREFILL_NODES=2, GPUS_PER_NODE=4, CONFIG_FILE=r.yaml]}",
            "{num-worker: 1, tp: 1, ep: 8, dp-attn: true, additional-settings: [DECODE_NODES=2, GPUS_PER_NODE=4]}",
        ),
        row(
            "tl",
            "zai-org/GLM-5.1-FP8",
            "tilert",
            "b200-multinode",
            "{num-worker: 1, tp: 8, ep: 1, dp-attn: false, additional-settings: [PREFILL_NODES=1, PREFILL_IMAGE=v]}",
            "{num-worker: 1, tp: 8, ep: 1, dp-attn: false, additional-settings: [DECODE_NODES=1]}",
        ),
    ]
    .concat();
    let file = write("ix/master.yaml", text.as_bytes());
    let r = servebench_sweep::load_recipes(&[file]).expect("the fuzz rows load");
    let o = PlanOptions {
        single_node: false,
        multi_node: true,
        ..Default::default()
    };
    plan(&r, &Default::default(), &o).expect("the fuzz rows plan")
}

fuzz_target!(|data: &[u8]| {
    static SETUP: OnceLock<(Vec<Job>, Vec<Node>)> = OnceLock::new();
    let (jobs, nodes) = SETUP.get_or_init(|| {
        let nodes = (0..16)
            .map(|i| Node {
                name: format!("n{i}"),
                addr: format!("10.0.0.{i}"),
            })
            .collect();
        (rows(), nodes)
    });
    let Some((&which, contents)) = data.split_first() else {
        return;
    };
    let path = match which % 4 {
        0 => "ix/checkout/benchmarks/multi_node/amd_utils/models.yaml",
        1 => "ix/checkout/benchmarks/multi_node/amd_utils/models_atom.yaml",
        2 => "ix/checkout/benchmarks/multi_node/llm-d-recipes/r.yaml",
        _ => "ix/checkout/benchmarks/multi_node/x_fp8_b200_tilert-disagg.sh",
    };
    write(path, contents);
    for env in ["env.sh", "env_atom.sh"] {
        write(
            &format!("ix/checkout/benchmarks/multi_node/amd_utils/{env}"),
            b"",
        );
    }
    let checkout = write("ix/checkout/benchmarks/llm-d/envoy.yaml", b"admin: {}\n")
        .ancestors()
        .nth(3)
        .unwrap()
        .to_path_buf();
    let l = Launch {
        engines: Engines::Recipe,
        host: "10.0.0.0".into(),
        port: 0,
        servebench: "servebench".into(),
        tokenizer: "cl100k_base".into(),
        sim_time_scale: None,
        recipes: LaunchRecipes {
            srt: Vec::new(),
            inferencex: Some(checkout),
        },
    };
    for job in jobs {
        let Ok(n) = nodes_needed(job, Engines::Recipe, &l.recipes) else {
            continue;
        };
        let n = (n as usize).min(nodes.len());
        let mut port = 30000;
        let mut next = || {
            port += 1;
            Ok(port)
        };
        let first = deployment(job, &l, &nodes[..n], &mut next);
        let mut port = 30000;
        let again = deployment(job, &l, &nodes[..n], || {
            port += 1;
            Ok(port)
        });
        assert_eq!(first.is_ok(), again.is_ok(), "deterministic");
        if let (Ok(a), Ok(b)) = (first, again) {
            assert_eq!(a, b, "deterministic");
            for p in a.infra.iter().chain(&a.workers).chain([&a.router]) {
                let _ = p.command.redacted_line();
                assert!(
                    p.nodes.iter().all(|&i| i < n),
                    "a process on a node the job lacks"
                );
            }
        }
    }
});
