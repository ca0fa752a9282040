//! InferenceX's llm-d rows (`llmd-vllm`, GB200) on real engines: the processes InferenceX's
//! llm-d launcher starts (`benchmarks/multi_node/llm-d`), from the files of an InferenceX
//! checkout (`tests/fixtures/ix-llmd/checkout`: its llm-d recipes, Envoy and EPP
//! configurations at 843c6254, unchanged).

mod ix;

use servebench_sweep::cluster::{nodes_needed, ClusterDeployment, LaunchRecipes};
use servebench_sweep::engine::Engines;
use servebench_sweep::plan::Job;
use std::path::Path;

/// The jobs of InferenceX's llm-d row, in its search-space order.
fn llmd_jobs() -> Vec<Job> {
    ix::ix_jobs("nvidia-master.yaml", "dsv4-fp4-gb200-llmd-vllm")
}

fn render_in(job: &Job, checkout: &Path) -> Result<ClusterDeployment, String> {
    ix::render(job, checkout)
}

fn render(job: &Job) -> ClusterDeployment {
    render_in(job, &ix::fixtures("ix-llmd").join("checkout")).unwrap()
}

/// A process's script (`bash -c SCRIPT …`), or its command line.
fn script(d: &ClusterDeployment, name: &str) -> String {
    let p = d
        .workers
        .iter()
        .chain(&d.infra)
        .chain([&d.router])
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no process {name}"));
    match p.command.program.as_str() {
        "bash" => p.command.args[1].clone(),
        _ => p.command.shell_line(),
    }
}

/// The low-latency row as InferenceX's llm-d README lays it out: ranks 0-1 one prefill DEP8
/// engine (each node its API server over its 4 local DP ranks), ranks 2-3 one decode TP8
/// engine (leader and headless follower), the sidecar in front of the decode leader only, the
/// EPP and Envoy on the decode leader, and the endpoints: both prefill nodes' vLLM and the
/// decode leader's sidecar.
#[test]
fn low_latency_row_lays_out_as_inferencex_llm_d_does() {
    let d = render(&llmd_jobs()[0]);
    assert_eq!(d.nodes_wanted, 4);
    let placed: Vec<(&str, usize, Option<u16>)> = d
        .workers
        .iter()
        .map(|w| (w.name.as_str(), w.nodes[0], w.port))
        .collect();
    assert_eq!(
        placed,
        [
            ("prefill-0.0", 0, Some(8200)),
            ("prefill-0.1", 1, Some(8200)),
            ("decode-0.0", 2, Some(8200)),
            ("decode-0.0-sidecar", 2, Some(8000)),
            // A headless follower serves no API.
            ("decode-0.1", 3, None),
        ]
    );
    let p1 = script(&d, "prefill-0.1");
    for says in [
        "exec vllm serve deepseek-ai/DeepSeek-V4-Pro --port 8200 --served-model-name deepseek-ai/DeepSeek-V4-Pro",
        "--tensor-parallel-size 1 --kv_transfer_config '{\"kv_connector\":\"NixlConnector\",\"kv_role\":\"kv_producer\",\"kv_load_failure_policy\":\"fail\"}'",
        "--enable-expert-parallel --data-parallel-size 8 --data-parallel-hybrid-lb --data-parallel-size-local 4 --data-parallel-address 10.0.0.0 --data-parallel-rpc-port 5555 --data-parallel-start-rank 4",
        // The recipe's flags last, its environment first, server.sh's fixed settings after.
        "--max-model-len 9280 --max-num-seqs 16",
        "export NVSHMEM_REMOTE_TRANSPORT=none;",
        "export VLLM_NIXL_SIDE_CHANNEL_HOST=10.0.0.1;",
        "export NVSHMEM_REMOTE_TRANSPORT=${NVSHMEM_REMOTE_TRANSPORT:-ibgda}",
    ] {
        assert!(p1.contains(says), "{says} not in {p1}");
    }
    let lead = script(&d, "decode-0.0");
    assert!(
        lead.contains("--tensor-parallel-size 8 --kv_transfer_config")
            && lead.contains("kv_consumer")
            && lead
                .contains("--master-addr 10.0.0.2 --nnodes 2 --node-rank 0 --kv-cache-dtype fp8")
            && !lead.contains("--enable-expert-parallel"),
        "{lead}"
    );
    assert!(script(&d, "decode-0.1")
        .contains("--master-addr 10.0.0.2 --nnodes 2 --node-rank 1 --headless"));
    assert_eq!(d.infra[0].nodes, [2]);
    assert_eq!(d.router.nodes, [2]);
    let files = &d.infra[0].command.files;
    let endpoints: serde_norway::Value = serde_norway::from_str(&files[0].contents).unwrap();
    let listed: Vec<(String, String, String)> = endpoints["endpoints"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            (s("name"), s("address"), s("port"))
        })
        .collect();
    let t = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        listed,
        [
            t("prefill-0", "10.0.0.0", "8200"),
            t("prefill-1", "10.0.0.1", "8200"),
            t("decode-0", "10.0.0.2", "8000"),
        ]
    );
    // The EPP gets the recipe's scheduling configuration and nothing else of it.
    let epp: serde_norway::Value = serde_norway::from_str(&files[1].contents).unwrap();
    let keys: Vec<&str> = epp
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "apiVersion",
            "kind",
            "plugins",
            "schedulingProfiles",
            "dataLayer"
        ]
    );
    // Envoy's access log beside its configuration, not in InferenceX's /benchmark_logs mount.
    let envoy = &d.router.command.files[0].contents;
    assert!(
        envoy.contains("path: envoy_access.log") && !envoy.contains("/benchmark_logs"),
        "{envoy}"
    );
    assert_eq!(d.router.port, Some(8080));
}

/// The high-throughput row: three prefill DEP8 engines of two nodes each (ranks 0-5), a decode
/// DEP8 engine on ranks 6-7 with a sidecar on each of its nodes; 32 GPUs in all.
#[test]
fn three_prefill_engines_and_a_wide_decode() {
    let job = &llmd_jobs()[2];
    assert_eq!(job.gpus(), 32);
    let d = render(job);
    assert_eq!(d.nodes_wanted, 8);
    let names: Vec<&str> = d.workers.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "prefill-0.0",
            "prefill-0.1",
            "prefill-1.0",
            "prefill-1.1",
            "prefill-2.0",
            "prefill-2.1",
            "decode-0.0",
            "decode-0.0-sidecar",
            "decode-0.1",
            "decode-0.1-sidecar",
        ]
    );
    // Each prefill engine's ranks join their own leader.
    assert!(script(&d, "prefill-2.1").contains("--data-parallel-address 10.0.0.4 --data-parallel-rpc-port 5555 --data-parallel-start-rank 4"));
    assert!(script(&d, "decode-0.1").contains("--enable-expert-parallel --data-parallel-size 8"));
}

/// What InferenceX's llm-d launcher would run other than the row says, or cannot start from
/// the checkout, fails the job before anything starts, saying why.
#[test]
fn rows_the_llm_d_launcher_would_change_are_refused() {
    let base = llmd_jobs().remove(1);
    let with = |f: &dyn Fn(&mut Job)| {
        let mut j = base.clone();
        f(&mut j);
        j
    };
    fn settings(j: &mut Job, role: usize) -> &mut Vec<String> {
        let servebench_sweep::plan::Topology::Multi { prefill, decode } = &mut j.topology else {
            unreachable!()
        };
        let w = if role == 0 { prefill } else { decode };
        w.additional_settings.get_or_insert_with(Vec::new)
    }
    let checkout = ix::fixtures("ix-llmd").join("checkout");
    let cases: Vec<(Job, &str)> = vec![
        (
            with(&|j| settings(j, 0).retain(|s| !s.starts_with("PREFILL_NODES"))),
            "names no PREFILL_NODES=",
        ),
        (
            with(&|j| settings(j, 0).push("PREFILL_WORKERS=2".into())),
            "PREFILL_WORKERS=2 over PREFILL_NODES=2: not the row's 1 prefill workers on whole nodes each",
        ),
        (
            with(&|j| {
                for r in [0, 1] {
                    settings(j, r).retain(|s| !s.starts_with("GPUS_PER_NODE"));
                    settings(j, r).push("GPUS_PER_NODE=8".into());
                }
            }),
            "GPUS_PER_NODE=8, but a gb200 node has 4",
        ),
        (
            with(&|j| {
                let s = settings(j, 0);
                s.retain(|s| !s.starts_with("CONFIG_FILE"));
                s.push("CONFIG_FILE=../../etc/passwd".into());
            }),
            "not a file name in llm-d-recipes",
        ),
        (
            with(&|j| {
                let s = settings(j, 0);
                s.retain(|s| !s.starts_with("CONFIG_FILE"));
                s.push("CONFIG_FILE=missing.yaml".into());
            }),
            "missing.yaml not found",
        ),
        (
            with(&|j| {
                let servebench_sweep::plan::Topology::Multi { decode, .. } = &mut j.topology else {
                    unreachable!()
                };
                decode.tp = 8;
                decode.ep = 1;
                decode.dp_attn = false;
            }),
            "the recipe's decode runs tp 1 with expert parallelism on, the row's tp 8 ep 1",
        ),
    ];
    for (job, says) in cases {
        let e = render_in(&job, &checkout).unwrap_err();
        assert!(e.contains(says), "{says} not in {e}");
    }
    // Without a checkout, the flag to pass is named.
    let e = nodes_needed(&base, Engines::Recipe, &LaunchRecipes::default()).unwrap_err();
    assert!(e.contains("pass it with --inferencex DIR"), "{e}");
}

/// argv with what servebench sets on purpose made the same: the model path (`vllm serve`'s
/// positional), where the EPP's and Envoy's configurations are.
fn normalized(argv: &[String]) -> Vec<String> {
    let mut out: Vec<String> = argv.to_vec();
    if out.len() > 2 && out[0] == "vllm" {
        out[2] = "MODEL".into();
    }
    for i in 0..out.len() {
        if out[i].starts_with("--config-file=") {
            out[i] = "--config-file=CONFIG".into();
        }
        if i > 0 && out[0] == "envoy" && out[i - 1] == "-c" {
            out[i] = "CONFIG".into();
        }
    }
    out
}

/// The variables vLLM, NCCL, UCX, NVSHMEM and the sidecar read: what the comparison holds
/// equal (not the launcher's own bookkeeping variables).
fn engine_env(
    env: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    const PREFIXES: &[&str] = &[
        "VLLM_",
        "NCCL_",
        "UCX_",
        "NVSHMEM_",
        "GLOO_",
        "NVIDIA_",
        "TORCH_",
        "TILELANG_",
        "LIBRARY_PATH",
    ];
    ix::env_with(env, PREFIXES)
}

/// Our deployment of the fixture's row against InferenceX's own launch of it, process by
/// process (node and program), and the files its EPP reads.
fn check(index: usize) {
    use serde_json::Value;
    let file = ix::fixtures("ix-llmd").join(format!("dsv4-fp4-gb200-llmd-vllm-{index}.json"));
    let o: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let job = &llmd_jobs()[index];
    let conc: Vec<u64> = o["conc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(
        job.conc.iter().map(|&c| u64::from(c)).collect::<Vec<_>>(),
        conc
    );
    let d = render(job);
    assert_eq!(
        d.nodes_wanted as usize,
        o["node_ips"].as_array().unwrap().len()
    );
    // Ours in their order: per node, vLLM, its sidecar, then the EPP and Envoy on the leader.
    let mut ours: Vec<(usize, &str, &servebench_sweep::cluster::WorkerProcess)> = Vec::new();
    for w in &d.workers {
        let program = if w.name.ends_with("-sidecar") {
            "pd-sidecar"
        } else {
            "vllm"
        };
        ours.push((w.nodes[0], program, w));
    }
    ours.push((d.infra[0].nodes[0], "epp", &d.infra[0]));
    ours.push((d.router.nodes[0], "envoy", &d.router));
    let rank_of = |role: &str| {
        ["vllm", "pd-sidecar", "epp", "envoy"]
            .iter()
            .position(|r| *r == role)
    };
    ours.sort_by_key(|(node, role, _)| (*node, rank_of(role)));
    let theirs = o["processes"].as_array().unwrap();
    let placed: Vec<(usize, &str)> = ours.iter().map(|(n, r, _)| (*n, *r)).collect();
    let their_placed: Vec<(usize, &str)> = theirs
        .iter()
        .map(|p| {
            (
                p["rank"].as_u64().unwrap() as usize,
                p["role"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(placed, their_placed, "index {index}: processes by node");
    let rec = ix::recorder(&["vllm", "pd-sidecar", "epp", "envoy"]);
    let endpoints = rec.path().join("endpoints.yaml");
    let endpoints_text = endpoints.display().to_string();
    // The EPP's endpoints file written here, not to this machine's /tmp.
    let replace = [("/tmp/endpoints.yaml", endpoints_text.as_str())];
    for (i, ((_, role, p), t)) in ours.iter().zip(theirs).enumerate() {
        let out = rec.path().join(format!("p{i}"));
        let (argv, env) = ix::run_recorded(&p.command, &[], rec.path(), &out, &replace);
        let their_argv = ix::strings(&t["argv"]);
        assert_eq!(
            normalized(&argv),
            normalized(&their_argv),
            "index {index}: {}'s argv",
            p.name
        );
        let their_env = ix::string_map(&t["env"]);
        assert_eq!(
            engine_env(&env),
            engine_env(&their_env),
            "index {index}: {} ({role})'s environment",
            p.name
        );
    }
    // The endpoints file the EPP found, and its configuration, as InferenceX's.
    let yaml = |s: &str| serde_norway::from_str::<serde_norway::Value>(s).unwrap();
    let files = &o["files"];
    assert_eq!(
        yaml(&std::fs::read_to_string(&endpoints).unwrap()),
        yaml(files["/tmp/endpoints.yaml"].as_str().unwrap())
    );
    assert_eq!(
        yaml(&d.infra[0].command.files[1].contents),
        yaml(files["/tmp/epp-config-from-recipe.yaml"].as_str().unwrap())
    );
}

#[test]
fn low_latency_row_matches_inferencex_own_launch() {
    check(0);
}

#[test]
fn mid_curve_row_matches_inferencex_own_launch() {
    check(1);
}

#[test]
fn high_throughput_row_matches_inferencex_own_launch() {
    check(2);
}
