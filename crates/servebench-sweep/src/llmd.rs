//! InferenceX's llm-d deployments (`framework: llmd-vllm`, GB200) as processes, from the files
//! of an InferenceX checkout (`--inferencex`).
//!
//! InferenceX launches these rows with its own scripts (`benchmarks/multi_node/llm-d`):
//! `submit.sh` sizes the engines from the row's settings, `job.slurm` starts a container per
//! node, and `server.sh` there starts vLLM on every node (an engine of several nodes as
//! data-parallel ranks behind each node's API server, or tensor-parallel with headless
//! followers), llm-d's `pd-sidecar` in front of each decode node's vLLM, and, on the decode
//! leader, writes the endpoints file and starts llm-d's endpoint picker (EPP) and Envoy, the
//! router the client talks to. The row's `CONFIG_FILE` (`benchmarks/multi_node/llm-d-recipes`)
//! gives each role's vLLM flags and environment and the EPP's scheduling configuration.
//! servebench starts the same processes with the same flags and environment as steps of one
//! Slurm allocation, and measures Envoy with its own client. Where it deliberately differs
//! (`docs/recipes.md`, "llm-d"): the model path is the row's model, served under its name
//! (InferenceX's path is `/models` in its container); Envoy writes its access log beside its
//! configuration in the job's logs (InferenceX's `/benchmark_logs` mount); the node's address
//! is the allocation's (InferenceX's script asks the kernel's routing). Ports are InferenceX's:
//! its Envoy configuration fixes them.

use crate::amd::PyText;
use crate::cluster::{ClientSettings, ClusterDeployment, Node, Probe, Ready, WorkerProcess};
use crate::engine::{ServerCommand, ServerFile};
use crate::plan::{Job, Topology};
use crate::recipe::Worker;
use crate::RecipeError;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_norway::Value;
use servebench_core::shell::quote;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LlmdError {
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    #[error("{0}")]
    Unsupported(String),
}

/// `server.sh`'s ports.
const VLLM_PORT: u16 = 8200;
const SIDECAR_PORT: u16 = 8000;
const ENVOY_PORT: u16 = 8080;
const ENVOY_ADMIN_PORT: u16 = 9901;
const EPP_GRPC_PORT: u16 = 9002;
const DP_RPC_PORT: u16 = 5555;

/// An llm-d recipe (`llm-d-recipes/<CONFIG_FILE>`): the EPP's configuration and each role's
/// vLLM settings; `slurm` and anything else is read past, as `server.sh` does.
#[derive(Debug, Clone, Deserialize)]
pub struct LlmdRecipe {
    #[serde(default)]
    prefill: RoleConfig,
    #[serde(default)]
    decode: RoleConfig,
    #[serde(flatten)]
    rest: IndexMap<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RoleConfig {
    /// Tensor parallelism (default 1).
    tp: Option<u32>,
    /// Expert parallelism with data parallelism over the engine's GPUs (default on).
    #[serde(rename = "enable-expert-parallel")]
    enable_expert_parallel: Option<bool>,
    /// Appended to `vllm serve`, split as the shell splits an unquoted variable.
    #[serde(rename = "extra-args")]
    extra_args: Option<String>,
    /// Exported before vLLM starts.
    #[serde(default)]
    env: IndexMap<String, PyText>,
}

/// The keys of a recipe `server.sh` hands the EPP as its configuration.
const EPP_KEYS: [&str; 5] = [
    "apiVersion",
    "kind",
    "plugins",
    "schedulingProfiles",
    "dataLayer",
];

/// What a deployment is rendered from.
pub(crate) type Render<'a> = crate::cluster::IxRender<'a>;

/// One role's engines as `submit.sh` and `server.sh` size them.
#[derive(Debug, Clone)]
struct Pool {
    role: &'static str,
    /// The role's first node in the allocation.
    first: usize,
    nodes: u32,
    workers: u32,
    /// Nodes of one engine (`LWS_GROUP_SIZE`).
    group: u32,
    /// `*_DP_SIZE`: the GPUs of one engine.
    dp: u32,
    tp: u32,
    ep: bool,
    extra_args: Vec<String>,
    env: Vec<(String, String)>,
}

/// `NAME=value` of a pool's `additional-settings`, or of either pool's (the workflow exports
/// both pools' settings).
fn setting<'a>(job: &'a Job, w: Option<&'a Worker>, name: &str) -> Option<&'a str> {
    let Topology::Multi { prefill, decode } = &job.topology else {
        return None;
    };
    let pools = match w {
        Some(w) => vec![w],
        None => vec![prefill, decode],
    };
    pools
        .into_iter()
        .flat_map(|w| w.additional_settings.iter().flatten())
        .find_map(|s| s.strip_prefix(name)?.strip_prefix('='))
}

fn number(job: &Job, w: Option<&Worker>, name: &str) -> Result<Option<u32>, String> {
    setting(job, w, name)
        .map(|v| {
            v.parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name}={v} is not a positive whole number"))
        })
        .transpose()
}

/// The row's recipe file, read: `None` where the row names none.
fn recipe(job: &Job, benchmarks: &Path) -> Result<Option<(PathBuf, LlmdRecipe)>, LlmdError> {
    let Some(name) = setting(job, None, "CONFIG_FILE") else {
        return Ok(None);
    };
    let bad =
        |m: String| LlmdError::Unsupported(format!("{}: CONFIG_FILE={name}: {m}", job.config_key));
    if name.is_empty() || name.contains(['/', '\\']) || name == ".." {
        return Err(bad("not a file name in llm-d-recipes".into()));
    }
    let file = benchmarks.join("multi_node/llm-d-recipes").join(name);
    if !file.is_file() {
        return Err(bad(format!("{} not found", file.display())));
    }
    let text = crate::read(&file)?;
    let locations = crate::locate::Locations::index(&text);
    let recipe = crate::parse(&file, &text, &locations)?;
    Ok(Some((file, recipe)))
}

/// Both roles' engines: the row's settings checked against what `server.sh` would start.
fn pools(job: &Job, recipe: Option<&LlmdRecipe>) -> Result<[Pool; 2], String> {
    let Topology::Multi { prefill, decode } = &job.topology else {
        return Err("not a multi-node job".into());
    };
    let gpn = number(job, None, "GPUS_PER_NODE")?.unwrap_or(4);
    let runner_gpn = crate::cluster::gpus_per_node(&job.runner);
    if gpn != runner_gpn {
        return Err(format!(
            "GPUS_PER_NODE={gpn}, but a {} node has {runner_gpn}",
            job.runner
        ));
    }
    let mut first = 0;
    let mut pool = |role: &'static str, w: &Worker, cfg: RoleConfig| -> Result<Pool, String> {
        let key = role.to_uppercase();
        let nodes = number(job, Some(w), &format!("{key}_NODES"))?
            .ok_or_else(|| format!("its {role} names no {key}_NODES= in its additional-settings, which InferenceX's llm-d launcher sizes it from"))?;
        let workers = number(job, None, &format!("{key}_WORKERS"))?.unwrap_or(w.num_worker);
        if workers != w.num_worker || !nodes.is_multiple_of(workers) {
            return Err(format!("{key}_WORKERS={workers} over {key}_NODES={nodes}: not the row's {} {role} workers on whole nodes each", w.num_worker));
        }
        let group = nodes / workers;
        let dp = group * gpn;
        if w.deployed_gpus() != dp {
            return Err(format!("InferenceX's llm-d launcher gives each {role} engine {group} nodes of {gpn} GPUs ({dp}), the row's workers have {}", w.deployed_gpus()));
        }
        let tp = cfg.tp.unwrap_or(1);
        let ep = cfg.enable_expert_parallel.unwrap_or(true);
        if tp != w.tp || ep != (w.ep > 1) {
            return Err(format!("the recipe's {role} runs tp {tp} with expert parallelism {}, the row's tp {} ep {}", if ep { "on" } else { "off" }, w.tp, w.ep));
        }
        if !ep && group > 1 && role == "prefill" {
            return Err("a tensor-parallel prefill engine over nodes: InferenceX's llm-d launcher would list its headless followers as endpoints".into());
        }
        let extra_args = cfg
            .extra_args
            .as_deref()
            .map(shell_split)
            .transpose()?
            .unwrap_or_default();
        let env = cfg
            .env
            .into_iter()
            .map(|(k, PyText(v))| (k, v))
            .collect::<Vec<_>>();
        if let Some((k, _)) = env.iter().find(|(k, _)| !crate::is_env_name(k)) {
            return Err(format!("{role}.env: `{k}` is not a variable name"));
        }
        let p = Pool {
            role,
            first,
            nodes,
            workers,
            group,
            dp,
            tp,
            ep,
            extra_args,
            env,
        };
        first += nodes as usize;
        Ok(p)
    };
    let role_cfg = |f: fn(&LlmdRecipe) -> &RoleConfig| recipe.map(f).cloned().unwrap_or_default();
    let p = pool("prefill", prefill, role_cfg(|r| &r.prefill))?;
    let d = pool("decode", decode, role_cfg(|r| &r.decode))?;
    if d.workers > 1 {
        return Err("more than one decode engine: InferenceX's llm-d launcher starts the endpoint picker, Envoy and its client on every decode engine's leader".into());
    }
    Ok([p, d])
}

/// `extra-args` split on whitespace, as the unquoted `$ROLE_EXTRA_ARGS` is; what the shell
/// would expand there is refused.
fn shell_split(s: &str) -> Result<Vec<String>, String> {
    if let Some(c) = s.chars().find(|c| "*?[$`".contains(*c)) {
        return Err(format!(
            "extra-args: `{c}` would be expanded by the shell, not passed to vLLM"
        ));
    }
    Ok(s.split_whitespace().map(str::to_string).collect())
}

/// Nodes the deployment takes: both roles' nodes.
pub fn nodes_wanted(job: &Job, benchmarks: &Path) -> Result<u32, LlmdError> {
    let r = recipe(job, benchmarks)?;
    let [p, d] = pools(job, r.as_ref().map(|(_, r)| r))
        .map_err(|e| LlmdError::Unsupported(format!("{}: {e}", job.config_key)))?;
    Ok(p.nodes + d.nodes)
}

/// Every process of `r.job`'s deployment on `r.nodes`.
pub fn deployment(r: &Render) -> Result<ClusterDeployment, LlmdError> {
    let job = r.job;
    let fail = |e: String| LlmdError::Unsupported(format!("{}: {e}", job.config_key));
    let recipe = recipe(job, r.benchmarks)?;
    let pools = pools(job, recipe.as_ref().map(|(_, r)| r)).map_err(fail)?;
    let wanted = (pools[0].nodes + pools[1].nodes) as usize;
    if r.nodes.len() < wanted {
        return Err(fail(format!(
            "needs {wanted} nodes, the allocation has {}",
            r.nodes.len()
        )));
    }
    let envoy_file = r.benchmarks.join("llm-d/envoy.yaml");
    let envoy = envoy_config(&envoy_file).map_err(fail)?;
    let epp_config = match &recipe {
        Some((_, recipe)) => epp_config(recipe).map_err(fail)?,
        None => {
            std::fs::read_to_string(r.benchmarks.join("llm-d/epp-config.yaml")).map_err(|e| {
                fail(format!(
                    "{}: {e}",
                    r.benchmarks.join("llm-d/epp-config.yaml").display()
                ))
            })?
        }
    };
    let mut workers = Vec::new();
    for pool in &pools {
        for rank in 0..pool.nodes as usize {
            workers.extend(node_processes(job, pool, rank, r.nodes));
        }
    }
    let leader = pools[1].first;
    let endpoints = endpoints(&pools, r.nodes);
    let on_leader = (&pools[1], &r.nodes[leader]);
    Ok(ClusterDeployment {
        infra: vec![epp(on_leader, endpoints, epp_config)],
        workers,
        frontends: Vec::new(),
        router: envoy_process(on_leader, envoy),
        nodes_wanted: wanted as u32,
        ready: Ready::Probes {
            workers: Probe::Ok("/health"),
            router: "/ready",
            router_port: Some(ENVOY_ADMIN_PORT),
        },
        served_model: None,
        client: ClientSettings::default(),
        srun_options: Vec::new(),
        mounts: Vec::new(),
    })
}

/// vLLM on the `rank`-th node of `pool`, and on a decode node its `pd-sidecar`.
fn node_processes(job: &Job, pool: &Pool, rank: usize, nodes: &[Node]) -> Vec<WorkerProcess> {
    let node = pool.first + rank;
    let index = rank as u32 % pool.group; // LWS_WORKER_INDEX
    let leader = &nodes[pool.first + rank / pool.group as usize * pool.group as usize];
    let headless = !pool.ep && pool.group > 1 && index > 0;
    let engine = rank / pool.group as usize;
    let name = if pool.group > 1 {
        format!("{}-{engine}.{index}", pool.role)
    } else {
        format!("{}-{engine}", pool.role)
    };
    let mut out = vec![WorkerProcess {
        name: name.clone(),
        nodes: vec![node],
        tasks_per_node: 1,
        mpi: false,
        // A headless follower serves no API: its leader's answers for the engine.
        port: (!headless).then_some(VLLM_PORT),
        command: vllm(job, pool, index, &leader.addr, &nodes[node]),
        image: None,
    }];
    if pool.role == "decode" && (pool.ep || index == 0) {
        let sidecar = format!(
            "exec pd-sidecar --port={SIDECAR_PORT} --vllm-port={VLLM_PORT} --kv-connector=nixlv2 --secure-proxy=false --enable-prefiller-sampling"
        );
        out.push(WorkerProcess {
            name: format!("{name}-sidecar"),
            nodes: vec![node],
            tasks_per_node: 1,
            mpi: false,
            port: Some(SIDECAR_PORT),
            command: with_node_env(pool, &nodes[node], &sidecar, &[]),
            image: None,
        });
    }
    out
}

/// The environment every process of a node starts in: the recipe's role environment, then
/// `server.sh`'s.
fn node_env(pool: &Pool, node: &Node) -> Vec<String> {
    let mut lines: Vec<String> = pool
        .env
        .iter()
        .map(|(k, v)| format!("export {k}={}", quote(v)))
        .collect();
    lines.extend(server_env(pool.group, &node.addr));
    lines
}

/// `bash -c` of the node's environment then `last` (its arguments `$0`, `$1`… `args`).
fn with_node_env(pool: &Pool, node: &Node, last: &str, args: &[&str]) -> ServerCommand {
    let mut lines = node_env(pool, node);
    lines.push(last.to_string());
    let mut a = vec!["-c".to_string(), lines.join("; ")];
    a.extend(args.iter().map(|s| s.to_string()));
    ServerCommand {
        program: "bash".into(),
        args: a,
        env: Vec::new(),
        files: Vec::new(),
    }
}

/// `vllm serve` on one node: the node's environment, then the engine.
fn vllm(job: &Job, pool: &Pool, index: u32, leader: &str, node: &Node) -> ServerCommand {
    let mut lines = node_env(pool, node);
    let kv_role = if pool.role == "prefill" {
        "kv_producer"
    } else {
        "kv_consumer"
    };
    let transfer = format!(
        r#"{{"kv_connector":"NixlConnector","kv_role":"{kv_role}","kv_load_failure_policy":"fail"}}"#
    );
    let mut a: Vec<String> = [
        "vllm",
        "serve",
        &job.model,
        "--port",
        &VLLM_PORT.to_string(),
    ]
    .map(String::from)
    .to_vec();
    a.extend(
        [
            "--served-model-name",
            &job.model,
            "--trust-remote-code",
            "--disable-access-log-for-endpoints=/health,/metrics",
            "--tensor-parallel-size",
            &pool.tp.to_string(),
            "--kv_transfer_config",
            &transfer,
        ]
        .map(String::from),
    );
    let mut words: Vec<String> = a.iter().map(|w| quote(w)).collect();
    if pool.ep {
        words.push(r#"--api-server-count "${LLMD_API_SERVER_COUNT:-4}""#.into());
        words.extend([
            "--enable-expert-parallel".into(),
            "--data-parallel-size".into(),
            pool.dp.to_string(),
        ]);
        if pool.group > 1 {
            let local = pool.dp / pool.group;
            words.extend([
                "--data-parallel-hybrid-lb".to_string(),
                "--data-parallel-size-local".into(),
                local.to_string(),
                "--data-parallel-address".into(),
                quote(leader),
                "--data-parallel-rpc-port".into(),
                DP_RPC_PORT.to_string(),
                "--data-parallel-start-rank".into(),
                (index * local).to_string(),
            ]);
        }
    } else if pool.group > 1 {
        words.extend([
            "--master-addr".to_string(),
            quote(leader),
            "--nnodes".into(),
            pool.group.to_string(),
            "--node-rank".into(),
            index.to_string(),
        ]);
        if index > 0 {
            words.push("--headless".into());
        }
    }
    words.extend(pool.extra_args.iter().map(|w| quote(w)));
    lines.push(format!("exec {}", words.join(" ")));
    ServerCommand {
        program: "bash".into(),
        args: vec!["-c".into(), lines.join("; ")],
        env: Vec::new(),
        files: Vec::new(),
    }
}

/// What `server.sh` exports after the recipe's environment: its defaults where the recipe or
/// the operator set none, its fixed settings over them.
fn server_env(group: u32, host: &str) -> Vec<String> {
    let mut lines = vec![
        // The default route's interface, as server.sh reads /proc/net/route.
        r#"DEFAULT_IFACE=$(awk '$2 == "00000000" {print $1; exit}' /proc/net/route 2>/dev/null); DEFAULT_IFACE=${DEFAULT_IFACE:-eth0}"#.to_string(),
        r#"export GLOO_SOCKET_IFNAME=${GLOO_SOCKET_IFNAME:-$DEFAULT_IFACE}"#.into(),
        r#"export NCCL_SOCKET_IFNAME=${NCCL_SOCKET_IFNAME:-$DEFAULT_IFACE}"#.into(),
        "export VLLM_SKIP_P2P_CHECK=1".into(),
        r#"export VLLM_RANDOMIZE_DP_DUMMY_INPUTS=${VLLM_RANDOMIZE_DP_DUMMY_INPUTS:-1}"#.into(),
        "export VLLM_USE_DEEP_GEMM=1".into(),
        r#"export VLLM_ENGINE_READY_TIMEOUT_S=${VLLM_ENGINE_READY_TIMEOUT_S:-1800}"#.into(),
        r#"case "$(uname -m)" in aarch64|arm64) _NCT_LIB=/usr/lib/aarch64-linux-gnu ;; *) _NCT_LIB=/usr/lib/x86_64-linux-gnu ;; esac"#.into(),
        r#"export LIBRARY_PATH=/usr/local/cuda/compat:${_NCT_LIB}:${LIBRARY_PATH:-}"#.into(),
        format!("export VLLM_NIXL_SIDE_CHANNEL_HOST={}", quote(host)),
        r#"export VLLM_LOGGING_LEVEL=${VLLM_LOGGING_LEVEL:-INFO}"#.into(),
        r#"export UCX_TLS=${UCX_TLS:-cuda_copy,cuda_ipc,rc}"#.into(),
    ];
    if group > 1 {
        lines.extend(
            [
                "export NVIDIA_GDRCOPY=enabled",
                r#"export NVSHMEM_REMOTE_TRANSPORT=${NVSHMEM_REMOTE_TRANSPORT:-ibgda}"#,
                r#"export NVSHMEM_IB_ENABLE_IBGDA=${NVSHMEM_IB_ENABLE_IBGDA:-true}"#,
                r#"export NVSHMEM_SYMMETRIC_SIZE=${NVSHMEM_SYMMETRIC_SIZE:-16G}"#,
                r#"export NVSHMEM_BOOTSTRAP_UID_SOCK_IFNAME=${NVSHMEM_BOOTSTRAP_UID_SOCK_IFNAME:-$DEFAULT_IFACE}"#,
                r#"if [ -n "${NVSHMEM_HCA_PE_MAPPING:-}" ]; then unset NVSHMEM_HCA_LIST; fi"#,
            ]
            .map(String::from),
        );
    }
    lines
}

/// The endpoints file the EPP discovers backends from: every prefill node's vLLM, and the
/// sidecar of every decode engine's serving node(s), as `server.sh` writes it.
fn endpoints(pools: &[Pool; 2], nodes: &[Node]) -> String {
    #[derive(serde::Serialize)]
    struct Endpoint {
        address: String,
        labels: IndexMap<&'static str, &'static str>,
        name: String,
        namespace: &'static str,
        port: String,
    }
    let mut list = Vec::new();
    for p in pools {
        let (port, step) = match p.role {
            "prefill" => (VLLM_PORT, 1),
            _ => (SIDECAR_PORT, if p.ep { 1 } else { p.group as usize }),
        };
        let ips = nodes[p.first..p.first + p.nodes as usize]
            .iter()
            .step_by(step);
        for (i, n) in ips.enumerate() {
            list.push(Endpoint {
                address: n.addr.clone(),
                labels: IndexMap::from([("llm-d.ai/role", p.role)]),
                name: format!("{}-{i}", p.role),
                namespace: "inferencex",
                port: port.to_string(),
            });
        }
    }
    #[derive(serde::Serialize)]
    struct File {
        endpoints: Vec<Endpoint>,
    }
    serde_norway::to_string(&File { endpoints: list }).expect("plain data serializes")
}

/// The EPP's configuration from the recipe: its `EPP_KEYS`, as `server.sh` extracts them.
fn epp_config(recipe: &LlmdRecipe) -> Result<String, String> {
    let kept: IndexMap<&String, &Value> = recipe
        .rest
        .iter()
        .filter(|(k, _)| EPP_KEYS.contains(&k.as_str()))
        .collect();
    serde_norway::to_string(&kept).map_err(|e| format!("the EPP configuration: {e}"))
}

/// llm-d's endpoint picker on the decode leader, after the endpoints file is where the
/// configuration's file-discovery plugin reads it (`/tmp/endpoints.yaml`, as `server.sh`
/// writes it).
fn epp((pool, node): (&Pool, &Node), endpoints: String, config: String) -> WorkerProcess {
    let script = [
        r#"cp "$0" /tmp/endpoints.yaml"#,
        r#"exec epp --pool-name=epp --pool-namespace=inferencex --config-file="$1" --grpc-port=9002 --grpc-health-port=9003 --metrics-port=9090 --secure-serving=false"#,
    ]
    .join(" && ");
    let mut command = with_node_env(pool, node, &script, &["endpoints.yaml", "epp-config.yaml"]);
    command.files = vec![
        ServerFile {
            arg: 2,
            name: "endpoints.yaml".into(),
            contents: endpoints,
        },
        ServerFile {
            arg: 3,
            name: "epp-config.yaml".into(),
            contents: config,
        },
    ];
    WorkerProcess {
        name: "epp".into(),
        nodes: vec![pool.first],
        tasks_per_node: 1,
        mpi: false,
        port: Some(EPP_GRPC_PORT),
        command,
        image: None,
    }
}

/// InferenceX's Envoy configuration with its log files beside it (they are written under
/// `/benchmark_logs/` in InferenceX's container).
fn envoy_config(file: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut v: Value =
        serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    fn relocate(v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some(rest) = s.strip_prefix("/benchmark_logs/") {
                    *s = rest.to_string();
                }
            }
            Value::Sequence(items) => items.iter_mut().for_each(relocate),
            Value::Mapping(m) => m.values_mut().for_each(relocate),
            Value::Tagged(t) => relocate(&mut t.value),
            _ => {}
        }
    }
    relocate(&mut v);
    serde_norway::to_string(&v).map_err(|e| format!("{}: {e}", file.display()))
}

/// Envoy on the decode leader, in front of the EPP, run from its configuration's folder.
fn envoy_process((pool, node): (&Pool, &Node), config: String) -> WorkerProcess {
    let script = r#"cd "$(dirname "$0")" && exec envoy -c "$0""#;
    let mut command = with_node_env(pool, node, script, &["envoy.yaml"]);
    command.files = vec![ServerFile {
        arg: 2,
        name: "envoy.yaml".into(),
        contents: config,
    }];
    WorkerProcess {
        name: "envoy".into(),
        nodes: vec![pool.first],
        tasks_per_node: 1,
        mpi: false,
        port: Some(ENVOY_PORT),
        command,
        image: None,
    }
}
