//! InferenceX's AMD disaggregated rows (SGLang and ATOM) on real engines, against InferenceX's
//! own launcher run in its dry-run mode on the same rows (`tests/fixtures/ix-amd`, README
//! there).
//!
//! Each command servebench generates is run here by bash, as a Slurm step would run it, with
//! the engines' and routers' programs recording what they were started with, and an
//! environment file that exports what InferenceX's exported on the oracle's node: the argv
//! and the environment of every server and of the router must be InferenceX's. Where
//! servebench differs on purpose (`servebench_sweep::amd`'s module comments) the comparison
//! leaves out exactly that: the ports, the model path, the router's `--host`.

mod ix;

use ix::{launch, nodes, render, strings};
use serde_json::Value;
use servebench_sweep::cluster::{deployment, nodes_needed, LaunchRecipes};
use servebench_sweep::engine::Engines;
use servebench_sweep::plan::Job;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where an InferenceX checkout has its AMD launchers' files.
fn utils_of(checkout: &Path) -> PathBuf {
    checkout.join("benchmarks/multi_node/amd_utils")
}

/// An InferenceX checkout whose `amd_utils` has InferenceX's models files (the fixture's
/// copies) and environment files (`env.sh`, `env_atom.sh`) exporting `exports` (unsetting the
/// null ones) and saying they ran.
fn amd_utils(exports: &serde_json::Map<String, Value>) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let utils = utils_of(d.path());
    std::fs::create_dir_all(&utils).unwrap();
    for models in ["models.yaml", "models_atom.yaml"] {
        std::fs::copy(ix::fixtures("ix-amd").join(models), utils.join(models)).unwrap();
    }
    let mut sh = String::from("echo \"$0 sourced for $MODEL_NAME\" >&2\n");
    for (k, v) in exports {
        match v.as_str() {
            Some(v) => sh.push_str(&format!("export {k}={}\n", quote(v))),
            None => sh.push_str(&format!("unset {k}\n")),
        }
    }
    for env in ["env.sh", "env_atom.sh"] {
        std::fs::write(utils.join(env), &sh).unwrap();
    }
    d
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// argv with what servebench sets on purpose made the same: ports, the model path, the
/// router's listening address.
fn normalized(argv: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        match a.as_str() {
            "--port" | "--server-port" => {
                out.extend([a.clone(), "PORT".into()]);
                i += 2;
                continue;
            }
            "--model-path" | "--model" => {
                out.extend([a.clone(), "MODEL".into()]);
                i += 2;
                continue;
            }
            _ if i == 0 => {
                // The program as named: `atomesh` by its path in ATOM's image.
                out.push(a.rsplit('/').next().unwrap_or(a).to_string());
                i += 1;
                continue;
            }
            "--host"
                if argv.get(i + 1).map(String::as_str) == Some("0.0.0.0")
                    && argv.iter().any(|w| w == "sglang_router.launch_router") =>
            {
                i += 2;
                continue;
            }
            _ => {}
        }
        out.push(match a.strip_prefix("http://") {
            Some(url) => format!("http://{}:PORT", url.rsplit_once(':').unwrap().0),
            None => a.clone(),
        });
        i += 1;
    }
    out
}

/// The variables an engine reads: what the comparison holds equal (not `SGLANG_WS_PATH`, where
/// InferenceX's container has its scripts, which only they read).
fn engine_env(env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    const PREFIXES: &[&str] = &[
        "SGLANG_",
        "MORI_",
        "NCCL_",
        "GLOO_",
        "IBDEVICES",
        "AITER_",
        "HSA_",
        "GPU_",
        "TORCH_",
        "PYTHONPATH",
        "PYTHONDONTWRITEBYTECODE",
        "HICACHE_",
        "MC_",
        "ROCM_",
        "SAFETENSORS_",
        "NO_COLOR",
    ];
    let mut kept = ix::env_with(env, PREFIXES);
    kept.remove("SGLANG_WS_PATH");
    kept
}

/// Our deployment of the fixture's row against InferenceX's own launch of it.
fn check(fixture: &str) {
    let text = std::fs::read_to_string(ix::fixtures("ix-amd").join(fixture)).unwrap();
    let o: Value = serde_json::from_str(&text).unwrap();
    let conc: Vec<u32> = o["conc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap() as u32)
        .collect();
    let row = o["row"].as_str().unwrap();
    let job = if o["scenario"] == "agentic-coding" {
        // An agentic row is a job per concurrency; InferenceX's launch of its list starts the
        // servers once, as each of those jobs does.
        ix::ix_agentic_jobs("amd-master.yaml", row)
            .into_iter()
            .find(|j| j.conc.iter().all(|c| conc.contains(c)))
    } else {
        ix::ix_jobs("amd-master.yaml", row).into_iter().find(|j| {
            let (mut a, mut b) = (j.conc.clone(), conc.clone());
            a.sort_unstable();
            b.sort_unstable();
            a == b
        })
    }
    .unwrap_or_else(|| panic!("{row}: no job of concurrencies {conc:?}"));
    let utils = amd_utils(o["env_sh"].as_object().unwrap());
    let l = launch(Some(utils.path().to_path_buf()));
    let n = nodes_needed(&job, Engines::Recipe, &l.recipes).unwrap();
    let ips = strings(&o["node_ips"]);
    assert_eq!(n as usize, ips.len(), "{fixture}: nodes");
    let mut port = 8000;
    let d = deployment(&job, &l, &nodes(n), || {
        port += 1;
        Ok(port)
    })
    .unwrap();
    let theirs = o["processes"].as_array().unwrap();
    let ours: Vec<_> = d.workers.iter().chain([&d.router]).collect();
    assert_eq!(ours.len(), theirs.len(), "{fixture}: processes");
    let rec = ix::recorder(&["python3", "python", "atomesh"]);
    // The operator's environment: InferenceX's MI355X runner exports IBDEVICES, which
    // job.slurm hands ATOM's containers (and not SGLang's, whose env.sh detects it).
    let operator: Vec<(String, String)> = match job.framework.as_str() {
        "atom-disagg" => vec![(
            "IBDEVICES".into(),
            theirs[0]["env"]["IBDEVICES"].as_str().unwrap().into(),
        )],
        _ => Vec::new(),
    };
    for (i, (p, t)) in ours.iter().zip(theirs).enumerate() {
        let role = t["role"].as_str().unwrap();
        assert!(
            p.name.starts_with(role),
            "{fixture}: {} is not {role}",
            p.name
        );
        assert_eq!(
            p.nodes,
            vec![t["rank"].as_u64().unwrap() as usize],
            "{fixture}: {}'s node",
            p.name
        );
        let out = rec.path().join(format!("p{i}"));
        // atomesh, which the command names by its path in ATOM's image, found on the PATH.
        let atomesh = [("exec /usr/local/bin/atomesh ", "exec atomesh ")];
        let (argv, env) = ix::run_recorded(&p.command, &operator, rec.path(), &out, &atomesh);
        assert_eq!(
            normalized(&argv),
            normalized(&strings(&t["argv"])),
            "{fixture}: {}'s argv",
            p.name
        );
        let their_env = ix::string_map(&t["env"]);
        assert_eq!(
            engine_env(&env),
            engine_env(&their_env),
            "{fixture}: {}'s environment",
            p.name
        );
    }
}

#[test]
fn dsv4_fp4_agentic_with_hicache_and_mtp() {
    check("dsv4-fp4-mi355x-sglang-disagg-agentic-hicache-mtp-0.json");
    // The replay reads each prefill server's /metrics and each decode server's KV use, where
    // InferenceX's SERVER_METRICS_URLS point (port 8000 there, servebench's ports here).
    let row = "dsv4-fp4-mi355x-sglang-disagg-agentic-hicache-mtp";
    let job = ix::ix_agentic_jobs("amd-master.yaml", row).remove(0);
    let utils = plain_utils();
    let l = launch(Some(utils.path().to_path_buf()));
    let mut port = 8000;
    let d = deployment(&job, &l, &nodes(2), || {
        port += 1;
        Ok(port)
    })
    .unwrap();
    assert_eq!(d.client.metrics_urls, ["http://10.0.0.0:8001"]);
    assert_eq!(d.client.gauge_urls, ["http://10.0.0.1:8002"]);
    // Another model has no entry script of InferenceX's to follow.
    let mut other = job.clone();
    other.model_prefix = "dsr1".into();
    let e = deployment(&other, &l, &nodes(2), || Ok(9000)).unwrap_err();
    assert!(e.contains("no agentic entry script for dsr1 fp4"), "{e}");
}

#[test]
fn dsr1_fp4_one_prefill_one_decode_tp8() {
    check("dsr1-fp4-mi355x-sglang-disagg-0.json");
}

#[test]
fn dsr1_fp4_two_dep8_prefills_one_dep8_decode() {
    check("dsr1-fp4-mi355x-sglang-disagg-5.json");
}

#[test]
fn dsr1_fp4_mtp3() {
    check("dsr1-fp4-mi355x-sglang-disagg-mtp-0.json");
}

#[test]
fn dsv4_fp4_dep8_with_its_own_environment() {
    check("dsv4-fp4-mi355x-sglang-disagg-1.json");
}

#[test]
fn dsr1_fp8_tp4_prefill() {
    check("dsr1-fp8-mi355x-sglang-disagg-2.json");
}

#[test]
fn dsr1_fp8_mtp2_two_decode_workers() {
    check("dsr1-fp8-mi355x-sglang-disagg-mtp-1.json");
}

/// A row of InferenceX's master config with its pools' settings changed.
fn row(prefill: &str, decode: &str) -> Job {
    let text = format!(
        "r:\n  image: img\n  model: amd/DeepSeek-R1-0528-MXFP4-v2\n  model-prefix: dsr1\n  runner: mi355x\n  precision: fp4\n  framework: sglang-disagg\n  multinode: true\n  disagg: true\n  kv-p2p-transfer: mori\n  scenarios:\n    fixed-seq-len:\n    - isl: 8192\n      osl: 1024\n      search-space:\n      - conc-list: [8, 64]\n        prefill: {prefill}\n        decode: {decode}\n"
    );
    ix::plan_row(&text)
}

const P1: &str =
    "{num-worker: 1, tp: 8, ep: 1, dp-attn: false, additional-settings: [PREFILL_NODES=1]}";
const D1: &str =
    "{num-worker: 1, tp: 8, ep: 1, dp-attn: false, additional-settings: [DECODE_NODES=1]}";

/// A checkout with the fixture's models files and environment files setting nothing.
fn plain_utils() -> tempfile::TempDir {
    amd_utils(&serde_json::Map::new())
}

/// What the launcher would change or cannot start fails the job before anything starts,
/// saying why.
#[test]
fn rows_the_launcher_would_change_are_refused_with_the_reason() {
    let utils = plain_utils();
    let cases = [
        (
            row(&P1.replace("PREFILL_NODES=1", "X=1"), D1),
            "names no PREFILL_NODES=",
        ),
        (
            row(&P1.replace("PREFILL_NODES=1", "PREFILL_NODES=2"), D1),
            "would give each prefill worker TP 16 (PREFILL_NODES 2 × tp 8 / 1 workers), not the row's tp 8",
        ),
        (
            row(P1, &D1.replace("ep: 1", "ep: 4")),
            "(ep = tp 8); the decode asks for ep 4",
        ),
        (
            row(&P1.replace("ep: 1,", "ep: 1, pp: 2,"), D1),
            "no pipeline or context parallelism",
        ),
        (
            row(P1, &D1.replace("DECODE_NODES=1", "DECODE_NODES=1, DECODE_MTP_SIZE=x")),
            "DECODE_MTP_SIZE=x is not a number",
        ),
    ];
    for (job, says) in cases {
        let e = render(&job, utils.path()).unwrap_err();
        assert!(e.starts_with("r: ") && e.contains(says), "{e}");
    }
    // Without --inferencex, the flag to pass is named.
    let e = nodes_needed(&row(P1, D1), Engines::Recipe, &LaunchRecipes::default()).unwrap_err();
    assert!(e.contains("--inferencex DIR"), "{e}");
    // A model models.yaml has no entry for.
    let other = row(P1, D1);
    let other = Job {
        model: "org/Unknown-Model".into(),
        ..other
    };
    let e = render(&other, utils.path()).unwrap_err();
    assert!(
        e.contains("has neither Unknown-Model-DI nor Unknown-Model"),
        "{e}"
    );
}

/// `models.yaml` text the shell would run rather than pass on is refused; a bad value names
/// the file, line and key.
#[test]
fn models_yaml_is_read_strictly() {
    let job = row(P1, D1);
    let d = tempfile::tempdir().unwrap();
    let utils = utils_of(d.path());
    std::fs::create_dir_all(&utils).unwrap();
    std::fs::write(utils.join("env.sh"), "").unwrap();
    let write = |text: &str| std::fs::write(utils.join("models.yaml"), text).unwrap();
    write("DeepSeek-R1-0528-MXFP4-v2:\n  base_flags: \"--log-level warning $(reboot)\"\n");
    let e = render(&job, d.path()).unwrap_err();
    assert!(
        e.contains("base_flags: `$` would be run by the shell"),
        "{e}"
    );
    write(
        "DeepSeek-R1-0528-MXFP4-v2:\n  decode:\n    no_dp:\n      cuda_graph_bs_range: \"1-x\"\n",
    );
    let e = render(&job, d.path()).unwrap_err();
    assert!(
        e.contains("models.yaml:4:")
            && e.contains("DeepSeek-R1-0528-MXFP4-v2.decode.no_dp.cuda_graph_bs_range")
            && e.contains("START-END"),
        "{e}"
    );
    write("DeepSeek-R1-0528-MXFP4-v2:\n  prefill:\n    no_dp:\n      chunked_prefill_size: \"A / 2\"\n");
    let e = render(&job, d.path()).unwrap_err();
    assert!(
        e.contains("prefill.no_dp.chunked_prefill_size") && e.contains("found `/`"),
        "{e}"
    );
    // Defaults where the entry says nothing, as server_sglang.sh's own.
    write("DeepSeek-R1-0528-MXFP4-v2: {}\n");
    let dep = render(&job, d.path()).unwrap();
    let decode = &dep.workers[1].command.args[1];
    assert!(
        decode.contains(
            "--mem-fraction-static 0.85 --max-running-requests 128 --cuda-graph-bs 1 2 3"
        ) && decode.contains(" 127 128 --prefill-round-robin-balance"),
        "{decode}"
    );
}

/// A worker larger than a node takes whole nodes, its ranks after the first joining the
/// leader; each worker's processes on their own nodes; the router on the first, in front of
/// the leaders.
#[test]
fn a_worker_of_two_nodes_gets_both() {
    let utils = plain_utils();
    let p =
        "{num-worker: 1, tp: 16, ep: 1, dp-attn: false, additional-settings: [PREFILL_NODES=1]}";
    let dep = render(&row(p, D1), utils.path()).unwrap();
    let names: Vec<(&str, &[usize])> = dep
        .workers
        .iter()
        .map(|w| (w.name.as_str(), w.nodes.as_slice()))
        .collect();
    assert_eq!(
        names,
        [
            ("prefill-0.0", &[0][..]),
            ("prefill-0.1", &[1]),
            ("decode-0", &[2])
        ]
    );
    let script = |i: usize| dep.workers[i].command.args[1].clone();
    assert!(script(0).ends_with("--dist-init-addr 10.0.0.0:20000 --nnodes 2 --node-rank 0"));
    assert!(script(1).ends_with("--dist-init-addr 10.0.0.0:20000 --nnodes 2 --node-rank 1"));
    assert!(script(0).contains("--tp-size 16 "));
    // The leader serves HTTP and is waited for; the second rank is not.
    assert_eq!(dep.workers[1].port, None);
    let router = &dep.router.command.args[1];
    assert!(
        router.ends_with("--prefill http://10.0.0.0:8001 --decode http://10.0.0.2:8003"),
        "{router}"
    );
    assert_eq!(dep.router.nodes, [0]);
    assert_eq!(dep.nodes_wanted, 3);
}

/// An ATOM row of the same shape (`atom-disagg`, DeepSeek-V4-Pro).
fn atom_row(prefill: &str, decode: &str) -> Job {
    let j = row(prefill, decode);
    Job {
        framework: "atom-disagg".into(),
        model: "deepseek-ai/DeepSeek-V4-Pro".into(),
        kv_p2p_transfer: Some("mooncake".into()),
        ..j
    }
}

/// What InferenceX's ATOM launcher would run other than the row says is refused: a worker
/// larger than a node (each of its nodes would start a whole server), EP without DP attention
/// (the launcher drops EP). A model without an entry in `models_atom.yaml` runs with the
/// launcher's defaults, as there.
#[test]
fn atom_rows_the_launcher_would_change_are_refused() {
    let utils = plain_utils();
    let wide =
        "{num-worker: 1, tp: 16, ep: 1, dp-attn: false, additional-settings: [PREFILL_NODES=1]}";
    let e = render(&atom_row(wide, D1), utils.path()).unwrap_err();
    assert!(e.contains("starts a whole server on every node of a worker, so a prefill worker of 16 GPUs never forms there"), "{e}");
    let e = render(&atom_row(P1, &D1.replace("ep: 1", "ep: 8")), utils.path()).unwrap_err();
    assert!(e.contains("only with DP attention (it drops EP otherwise); the row's decode asks for EP without it"), "{e}");
    let unknown = Job {
        model: "org/Unknown-Model".into(),
        ..atom_row(P1, D1)
    };
    let dep = render(&unknown, utils.path()).unwrap();
    let decode = &dep.workers[1].command.args[1];
    // server_atom.sh's defaults, the row's largest concurrency as the decode's sequences, and
    // InferenceX's max-model-len for 8k/1k (8192 + 1024 + 256).
    assert!(
        decode.contains("-tp 8 --block-size 16 --gpu-memory-utilization 0.85 --max-num-seqs 64 --max-model-len 9472 --no-enable_prefix_caching"),
        "{decode}"
    );
    let prefill = &dep.workers[0].command.args[1];
    assert!(prefill.contains("--max-num-seqs 256 "), "{prefill}");
    assert_eq!(
        dep.workers[0].command.args[2],
        utils_of(utils.path())
            .join("env_atom.sh")
            .display()
            .to_string()
    );
}

#[test]
fn atom_dsv4_two_dp_attention_prefills_one_decode() {
    check("dsv4-fp4-mi355x-atom-disagg-0.json");
}

#[test]
fn atom_dsv4_one_prefill_one_decode_tp8() {
    check("dsv4-fp4-mi355x-atom-disagg-1.json");
}
