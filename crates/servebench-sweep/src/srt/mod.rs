//! srt-slurm recipes: the file an InferenceX multi-node row names in its `CONFIG_FILE`
//! setting, read into one typed model, and the processes of its deployment on real engines.
//!
//! InferenceX hands these files to NVIDIA's srt-slurm (`srtctl`), which starts on one Slurm
//! allocation: etcd and NATS on the infra node, every worker with its framework's command
//! (`dynamo.sglang`, `dynamo.vllm`, `dynamo.trtllm` through `trtllm-llmapi-launch`), a Dynamo
//! frontend, and then its own benchmark client. servebench starts the same processes with the
//! same engine settings (`docs/recipes.md`, "Real engines on several nodes"), and measures the
//! frontend with its own client. Where it deliberately differs from srt-slurm:
//! - Dynamo must be in the image: nothing is `pip install`ed at run time (`dynamo.version`);
//! - a launcher-set flag is given once, with the recipe's value where the recipe sets it
//!   (srt-slurm appends the recipe's after its own, and argparse takes the last);
//! - GPUs of a node shared by several workers are given by `CUDA_VISIBLE_DEVICES`;
//! - a mapping in an engine's settings becomes JSON, not Python's `str()` of a dict.
//!
//! Everything else a recipe can say that would change what runs (recipe inheritance,
//! override sets, srt-slurm's own setup scripts, KV stores, co-location, heterogeneous jobs)
//! is refused with the reason, before any process starts.

use crate::cluster::{ClientSettings, ClusterDeployment, Node, Ready, WorkerProcess};
use crate::engine::{ServerCommand, ServerFile};
use crate::plan::{Job, Topology};
use crate::recipe::Worker;
use crate::RecipeError;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_norway::Value;
use std::path::{Component, Path, PathBuf};

mod variants;

#[derive(Debug, thiserror::Error)]
pub enum SrtError {
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    #[error("CONFIG_FILE={name}: {message}")]
    Locate { name: String, message: String },
    /// The recipe asks for what servebench does not launch, or contradicts its row.
    #[error("{}: {message}", file.display())]
    Unsupported { file: PathBuf, message: String },
}

/// The typed part of an srt-slurm recipe; keys that only steer srt-slurm's bookkeeping or
/// batch options (`identity`, `slurm`, `sbatch_directives`, `health_check`, `profiling`, …)
/// are read past, and of its `benchmark` only what servebench's client takes over.
#[derive(Debug, Clone, Deserialize)]
pub struct SrtRecipe {
    #[serde(default)]
    pub name: String,
    pub resources: Resources,
    #[serde(default)]
    pub backend: Backend,
    #[serde(default)]
    pub frontend: Frontend,
    #[serde(default)]
    pub dynamo: Dynamo,
    #[serde(default)]
    pub infra: Infra,
    /// Exported to every worker and the frontend.
    #[serde(default)]
    pub environment: IndexMap<String, Value>,
    /// Extra `srun` options of every worker step.
    #[serde(default)]
    pub srun_options: IndexMap<String, Value>,
    /// A script of srt-slurm's `configs/` folder every worker and frontend runs first.
    pub setup_script: Option<String>,
    #[serde(default)]
    pub benchmark: Benchmark,
    #[serde(flatten)]
    other: IndexMap<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    pub gpu_type: String,
    pub gpus_per_node: u32,
    pub prefill_nodes: Option<u32>,
    pub prefill_workers: Option<u32>,
    pub gpus_per_prefill: Option<u32>,
    pub decode_nodes: Option<u32>,
    pub decode_workers: Option<u32>,
    pub gpus_per_decode: Option<u32>,
    pub agg_nodes: Option<u32>,
    pub agg_workers: Option<u32>,
    pub gpus_per_agg: Option<u32>,
    #[serde(default)]
    pub het_jobs: Option<Value>,
    #[serde(default)]
    pub spread_workers: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// srt-slurm's default when `backend.type` is left out.
    #[default]
    Sglang,
    Vllm,
    Trtllm,
}

/// Settings per role: `prefill`, `decode`, `aggregated`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfigs {
    pub prefill: Option<serde_norway::Mapping>,
    pub decode: Option<serde_norway::Mapping>,
    pub aggregated: Option<serde_norway::Mapping>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Backend {
    #[serde(rename = "type", default)]
    pub kind: BackendKind,
    #[serde(default)]
    pub prefill_environment: IndexMap<String, Value>,
    #[serde(default)]
    pub decode_environment: IndexMap<String, Value>,
    #[serde(default)]
    pub aggregated_environment: IndexMap<String, Value>,
    pub sglang_config: Option<RoleConfigs>,
    pub vllm_config: Option<RoleConfigs>,
    pub trtllm_config: Option<RoleConfigs>,
    /// vLLM's KV connector between prefill and decode: `nixl` unless set; `null` for none
    /// (the role settings then carry their own `kv-transfer-config`).
    #[serde(default = "nixl", deserialize_with = "nullable")]
    pub connector: Option<String>,
    /// vLLM data parallelism: one process per node (`per_node`, srt-slurm's default today)
    /// or per GPU (`per_gpu`).
    pub dp_launch_mode: Option<String>,
    #[serde(default)]
    pub publish_events_and_metrics: bool,
    #[serde(flatten)]
    other: IndexMap<String, Value>,
}

fn nixl() -> Option<String> {
    Some("nixl".into())
}

/// `null` read as `None`, not as "left out".
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frontend {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `--<key> <value>` in file order, keys as written.
    #[serde(default)]
    pub args: IndexMap<String, Value>,
    #[serde(default)]
    pub env: IndexMap<String, Value>,
    /// Several frontends behind nginx (srt-slurm's default) or one.
    pub enable_multiple_frontends: Option<bool>,
    /// Frontends beside the first (srt-slurm's default: 9), one per node after the head.
    pub num_additional_frontends: Option<u32>,
    /// nginx's image; an srt-slurm alias (no `:` or `/`) means its default image.
    pub nginx_container: Option<String>,
    /// nginx hashes this header (default `X-Dynamo-Session-ID`) to pick a frontend, so a
    /// session stays on one.
    #[serde(default)]
    pub nginx_session_affinity: bool,
    pub nginx_session_affinity_header: Option<String>,
    /// Idle timeout of client and upstream connections (srt-slurm's default 600s).
    pub nginx_keepalive_timeout: Option<String>,
    #[serde(default)]
    pub nginx_raise_ulimit: bool,
    /// trtllm-serve's orchestrator and a dedicated frontend node: refused, not launched.
    pub ctx_router: Option<Value>,
    pub gen_router: Option<Value>,
    pub server_config_extra: Option<Value>,
    pub orchestrator_placement: Option<String>,
    pub dedicated_node: Option<bool>,
}

/// The recipe's own benchmark stage: servebench runs its client instead, taking from an
/// agentic one (`type: custom`, InferenceX's `agentic_srt.sh`) the AIPerf switches that change
/// what the server sees.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Benchmark {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub env: IndexMap<String, Value>,
}

impl SrtRecipe {
    /// The client settings of an agentic replay against this deployment (but its workers'
    /// metrics endpoints, which the layout gives), as AIPerf gets them:
    /// the session id always in `X-Correlation-ID` (AIPerf's correlation id), in
    /// `X-Dynamo-Session-ID` / `X-Session-ID` where the benchmark's environment switches them
    /// on, and in nginx's affinity header; the context limit from `AIPERF_MAX_CONTEXT_LENGTH`.
    pub fn client_settings(&self, file: &Path) -> Result<ClientSettings, SrtError> {
        let env = &self.benchmark.env;
        let on = |k: &str| {
            env.get(k)
                .is_some_and(|v| matches!(text(v).to_ascii_lowercase().as_str(), "1" | "true"))
        };
        let mut headers = vec!["X-Correlation-ID".to_string()];
        for (switch, header) in [
            (
                "AIPERF_HTTP_X_DYNAMO_SESSION_ID_FROM_CORRELATION_ID",
                "X-Dynamo-Session-ID",
            ),
            (
                "AIPERF_HTTP_X_SESSION_ID_FROM_CORRELATION_ID",
                "X-Session-ID",
            ),
        ] {
            if on(switch) {
                headers.push(header.to_string());
            }
        }
        if self.frontend.nginx_session_affinity {
            headers.push(self.frontend.affinity_header().to_string());
        }
        let mut seen = std::collections::HashSet::new();
        headers.retain(|h| seen.insert(h.to_ascii_lowercase()));
        let max_context =
            match env.get("AIPERF_MAX_CONTEXT_LENGTH") {
                None => None,
                Some(v) => Some(text(v).parse::<u32>().ok().filter(|&n| n > 0).ok_or_else(
                    || SrtError::Unsupported {
                        file: file.to_path_buf(),
                        message: format!(
                        "benchmark.env.AIPERF_MAX_CONTEXT_LENGTH '{}': expected a positive integer",
                        text(v)
                    ),
                    },
                )?),
            };
        Ok(ClientSettings {
            session_headers: headers,
            max_context,
            ..Default::default()
        })
    }
}

impl Frontend {
    fn affinity_header(&self) -> &str {
        self.nginx_session_affinity_header
            .as_deref()
            .unwrap_or("X-Dynamo-Session-ID")
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Dynamo {
    pub version: Option<String>,
    pub wheel: Option<String>,
    pub request_plane: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Infra {
    #[serde(default)]
    pub etcd_nats_dedicated_node: bool,
    pub nats_max_payload_mb: Option<u32>,
}

/// Where a row's `CONFIG_FILE` lies, and the variant it names after the file (`:<variant>`):
/// `dirs` in order, each tried as the root of an srt-slurm checkout (`recipes/…`) and as a
/// folder of recipes (the path without its leading `recipes/`, as InferenceX's
/// `benchmarks/multi_node/srt-slurm-recipes` is copied in).
pub fn locate(config_file: &str, dirs: &[PathBuf]) -> Result<(PathBuf, Option<String>), SrtError> {
    let fail = |message: String| SrtError::Locate {
        name: config_file.to_string(),
        message,
    };
    let (path, variant) = match config_file.split_once(".yaml:") {
        Some((p, v)) => (format!("{p}.yaml"), Some(v.to_string())),
        None => (config_file.to_string(), None),
    };
    let rel = Path::new(&path);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(fail(
            "is not a relative path inside a recipes folder".into(),
        ));
    }
    if dirs.is_empty() {
        return Err(fail(
            "no recipes folder given: pass your srt-slurm checkout (and InferenceX's benchmarks/multi_node/srt-slurm-recipes) with --srt-recipes DIR".into(),
        ));
    }
    let short = rel.strip_prefix("recipes").unwrap_or(rel);
    let file = dirs
        .iter()
        .flat_map(|d| [d.join(rel), d.join(short)])
        .find(|p| p.is_file())
        .ok_or_else(|| {
            let tried: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            fail(format!("not found under {}", tried.join(", ")))
        })?;
    Ok((file, variant))
}

/// Reads and checks an srt-slurm recipe: the file itself, or its variant `variant` where the
/// file holds a base recipe and variants of it ([`variants`]).
pub fn load(file: &Path, variant: Option<&str>) -> Result<SrtRecipe, SrtError> {
    let text = crate::read(file)?;
    let locations = crate::locate::Locations::index(&text);
    let refuse = |message: String| SrtError::Unsupported {
        file: file.to_path_buf(),
        message,
    };
    let raw: Value = crate::parse(file, &text, &locations)?;
    let recipe: SrtRecipe = if raw.get("base").is_some() {
        let v = variants::select(&raw, variant).map_err(refuse)?;
        from_value(file, v, &locations)?
    } else if let Some(v) = variant {
        return Err(refuse(format!(
            "names the variant '{v}', but the recipe has no `base` to vary"
        )));
    } else {
        crate::parse(file, &text, &locations)?
    };
    check(&recipe).map_err(refuse)?;
    Ok(recipe)
}

/// A merged variant read into the model; errors point at the base's key where it has it.
fn from_value(
    file: &Path,
    v: Value,
    locations: &crate::locate::Locations,
) -> Result<SrtRecipe, SrtError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let (line, column) = locations.find(&format!("base.{path}")).unwrap_or((1, 1));
        SrtError::Recipe(RecipeError::Invalid {
            file: file.to_path_buf(),
            line,
            column,
            path,
            message: e.into_inner().to_string(),
        })
    })
}

/// What a recipe may ask for that servebench does not launch: the reason.
fn check(recipe: &SrtRecipe) -> Result<(), String> {
    if let Some(k) = recipe
        .other
        .keys()
        .find(|k| k.starts_with("zip_override") || k.starts_with("override"))
    {
        return Err(format!(
            "the recipe holds the variant '{k}' but no `base` for it to vary"
        ));
    }
    if recipe.frontend.args.contains_key("http-port") {
        return Err("frontend.args.http-port: the frontends' ports are the launcher's (nginx and the readiness check use them)".into());
    }
    if let Some(s) = &recipe.setup_script {
        if !is_file_name(s) {
            return Err(format!(
                "setup_script '{s}': expected the name of a script in srt-slurm's configs folder"
            ));
        }
    }
    let b = &recipe.backend;
    for key in ["mooncake_kv_store", "kv_events_config"] {
        if b.other.contains_key(key) {
            return Err(format!("backend.{key} is not launched by servebench"));
        }
    }
    for key in [
        "allow_prefill_decode_colocation",
        "allow_prefill_decode_colocation_across_nodes",
    ] {
        if b.other.get(key).is_some_and(|v| v.as_bool() == Some(true)) {
            return Err(format!(
                "backend.{key}: prefill and decode workers sharing nodes is not laid out by servebench"
            ));
        }
    }
    if recipe
        .resources
        .het_jobs
        .as_ref()
        .is_some_and(|v| !v.is_null() && v.as_bool() != Some(false))
    {
        return Err(
            "resources.het_jobs: heterogeneous Slurm jobs are not launched by servebench".into(),
        );
    }
    if recipe.resources.spread_workers == Some(true) {
        return Err(
            "resources.spread_workers: workers spread over nodes are not laid out by servebench"
                .into(),
        );
    }
    let f = &recipe.frontend;
    for (key, set) in [
        ("ctx_router", f.ctx_router.is_some()),
        ("gen_router", f.gen_router.is_some()),
        ("server_config_extra", f.server_config_extra.is_some()),
        (
            "orchestrator_placement",
            f.orchestrator_placement
                .as_deref()
                .is_some_and(|p| p != "head"),
        ),
        ("dedicated_node", f.dedicated_node == Some(true)),
    ] {
        if set {
            return Err(format!("frontend.{key} is not launched by servebench"));
        }
    }
    let valid_header = |h: &str| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !valid_header(f.affinity_header()) {
        return Err(format!(
            "frontend.nginx_session_affinity_header '{}': expected a header name",
            f.affinity_header()
        ));
    }
    if let Some(t) = f
        .nginx_keepalive_timeout
        .as_deref()
        .filter(|t| !nginx_time(t))
    {
        return Err(format!(
            "frontend.nginx_keepalive_timeout '{t}': expected an nginx time such as 600s"
        ));
    }
    match recipe.frontend.kind.as_deref() {
        None | Some("dynamo") => {}
        Some(other) => {
            return Err(format!(
                "frontend.type {other}: servebench launches Dynamo's frontend (type dynamo) only so far"
            ))
        }
    }
    if let Some(m) = b
        .dp_launch_mode
        .as_deref()
        .filter(|m| !["per_node", "per_gpu"].contains(m))
    {
        return Err(format!(
            "backend.dp_launch_mode {m}: expected per_node or per_gpu"
        ));
    }
    if let Some(c) = b.connector.as_deref().filter(|c| *c != "nixl") {
        return Err(format!(
            "backend.connector {c}: servebench knows the nixl connector only (or null, with the role's own kv-transfer-config)"
        ));
    }
    Ok(())
}

/// A pool of the recipe: its role, workers and GPUs per worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pool {
    role: Role,
    workers: u32,
    gpus: u32,
    nodes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Prefill,
    Decode,
    Aggregated,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Prefill => "prefill",
            Role::Decode => "decode",
            Role::Aggregated => "aggregated",
        }
    }
}

impl SrtRecipe {
    /// The recipe's pools, GPUs per worker given or shared out of the pool's nodes.
    fn pools(&self, file: &Path) -> Result<Vec<Pool>, SrtError> {
        let r = &self.resources;
        let fail = |message: String| SrtError::Unsupported {
            file: file.to_path_buf(),
            message,
        };
        if !(1..=64).contains(&r.gpus_per_node) {
            return Err(fail(format!(
                "resources.gpus_per_node {}: expected 1 to 64",
                r.gpus_per_node
            )));
        }
        let gpn = u64::from(r.gpus_per_node);
        let pool = |role: Role, nodes: Option<u32>, workers: Option<u32>, gpus: Option<u32>| {
            let (workers, nodes) = (
                u64::from(workers.unwrap_or(0)),
                u64::from(nodes.unwrap_or(0)),
            );
            if workers == 0 {
                return Ok(None);
            }
            let gpus = gpus.map_or(nodes * gpn / workers, u64::from);
            if gpus == 0 {
                return Err(fail(format!(
                    "resources: the {} workers are given no GPUs",
                    role.name()
                )));
            }
            // As [`layout`] places them: a worker of a node or more on whole nodes of its own,
            // smaller ones as many to a node as fit.
            let laid_out = if gpus >= gpn {
                workers.saturating_mul(gpus.div_ceil(gpn))
            } else {
                workers.div_ceil(gpn / gpus)
            };
            let nodes = nodes.max(laid_out);
            if nodes > MAX_NODES {
                return Err(fail(format!(
                    "resources: the {} workers take {nodes} nodes, more than {MAX_NODES}",
                    role.name()
                )));
            }
            // Bounded by the nodes: workers × GPUs ≤ nodes × 64.
            let (workers, gpus, nodes) = (workers as u32, gpus as u32, nodes as u32);
            Ok(Some(Pool {
                role,
                workers,
                gpus,
                nodes,
            }))
        };
        let pools: Vec<Pool> = [
            pool(
                Role::Prefill,
                r.prefill_nodes,
                r.prefill_workers,
                r.gpus_per_prefill,
            )?,
            pool(
                Role::Decode,
                r.decode_nodes,
                r.decode_workers,
                r.gpus_per_decode,
            )?,
            pool(Role::Aggregated, r.agg_nodes, r.agg_workers, r.gpus_per_agg)?,
        ]
        .into_iter()
        .flatten()
        .collect();
        let shape: Vec<Role> = pools.iter().map(|p| p.role).collect();
        if shape != [Role::Prefill, Role::Decode] && shape != [Role::Aggregated] {
            return Err(SrtError::Unsupported {
                file: file.to_path_buf(),
                message:
                    "resources: expected prefill and decode workers, or aggregated workers only"
                        .into(),
            });
        }
        Ok(pools)
    }
}

/// The recipe against its InferenceX row: the same workers and GPUs per worker.
fn check_row(job: &Job, pools: &[Pool], file: &Path) -> Result<(), SrtError> {
    let Topology::Multi { prefill, decode } = &job.topology else {
        unreachable!("srt recipes are read for multi-node rows only");
    };
    let row: Vec<(&str, &Worker)> = if decode.num_worker == 0 {
        vec![("aggregated", prefill)]
    } else {
        vec![("prefill", prefill), ("decode", decode)]
    };
    for ((role, w), p) in row.iter().zip(pools) {
        // A data-parallel-attention worker is written tp 1, ep N: N GPUs.
        let gpus = w.tp.max(w.ep).max(1).saturating_mul(w.pp.max(1));
        if p.role.name() != *role || p.workers != w.num_worker || p.gpus != gpus {
            return Err(SrtError::Unsupported {
                file: file.to_path_buf(),
                message: format!(
                    "has {} {} workers of {} GPUs, but the row {} says {} {role} workers of {} GPUs",
                    p.workers,
                    p.role.name(),
                    p.gpus,
                    job.config_key,
                    w.num_worker,
                    gpus
                ),
            });
        }
    }
    Ok(())
}

/// Where one worker runs: its nodes (allocation indices) and the GPUs it has on each.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Placement {
    nodes: Vec<usize>,
    /// GPU indices on its node when it shares one with other workers.
    devices: Option<Vec<u32>>,
}

/// srt-slurm's layout: the infra node first when it is dedicated, then each pool's nodes in
/// turn (prefill first); a worker of a node or more takes whole nodes, smaller ones share.
fn layout(pools: &[Pool], gpus_per_node: u32, first: usize) -> Vec<Vec<Placement>> {
    let mut base = first;
    pools
        .iter()
        .map(|p| {
            let placements = (0..p.workers)
                .map(|i| {
                    if p.gpus >= gpus_per_node {
                        let span = p.gpus.div_ceil(gpus_per_node) as usize;
                        let start = base + i as usize * span;
                        Placement {
                            nodes: (start..start + span).collect(),
                            devices: None,
                        }
                    } else {
                        let per_node = gpus_per_node / p.gpus;
                        let slot = i % per_node;
                        Placement {
                            nodes: vec![base + (i / per_node) as usize],
                            devices: Some((slot * p.gpus..(slot + 1) * p.gpus).collect()),
                        }
                    }
                })
                .collect();
            base += p.nodes as usize;
            placements
        })
        .collect()
}

/// What the deployment needs from the launcher.
pub struct Render<'a> {
    pub job: &'a Job,
    pub file: &'a Path,
    pub nodes: &'a [Node],
    /// The `--srt-recipes` folders: a setup script is looked for in their `configs/`.
    pub dirs: &'a [PathBuf],
}

/// What a port is for: each kind has its own range, spaced for the ports an engine derives
/// from it (SGLang binds a range above its `--dist-init-addr` port, vLLM's NIXL connector one
/// side-channel port per local data-parallel rank), as srt-slurm keeps them apart.
#[derive(Debug, Clone, Copy)]
enum PortKind {
    /// HTTP: SGLang's `--port`, Dynamo's frontends, nginx.
    Http,
    /// Dynamo's system server (`DYN_SYSTEM_PORT`).
    System,
    /// SGLang's prefill bootstrap server.
    Bootstrap,
    /// SGLang's `--dist-init-addr`: it binds up to `+5 + dp` above.
    DistInit,
    /// vLLM's NIXL side channel: one port per local rank above.
    NixlSide,
    /// vLLM's data-parallel RPC.
    DpRpc,
}

impl PortKind {
    /// (first port, step between two of its ports, how many there are)
    fn range(self) -> (u32, u32, u32) {
        match self {
            PortKind::Http => (6100, 1, 1000),
            PortKind::System => (7500, 1, 800),
            PortKind::Bootstrap => (9300, 1, 700),
            PortKind::DistInit => (40000, 100, 200),
            PortKind::NixlSide => (10000, 16, 600),
            PortKind::DpRpc => (20000, 16, 600),
        }
    }
}

/// Ports handed out one by one, none twice in a job and none in another kind's range.
#[derive(Default)]
struct Ports {
    used: [u32; 6],
    exhausted: bool,
}

impl Ports {
    fn next(&mut self, kind: PortKind) -> u16 {
        let (first, step, count) = kind.range();
        let n = &mut self.used[kind as usize];
        if *n >= count {
            self.exhausted = true;
        }
        let port = first + step * (*n).min(count - 1);
        *n += 1;
        port as u16
    }
}

/// Nodes one deployment may take (the largest InferenceX rows take 18).
const MAX_NODES: u64 = 4096;

/// Dynamo's log filter srt-slurm gives workers that set none.
const DYN_LOG: &str = "info,dynamo_runtime::pipeline::network::ingress::push_handler=warn";

/// The recipe's setup script in the first `configs/` (or `configs/patches/`) of the
/// `--srt-recipes` folders that has it, as srt-slurm looks in its `/configs` mount.
fn setup_script(recipe: &SrtRecipe, r: &Render) -> Result<Option<PathBuf>, SrtError> {
    let Some(name) = &recipe.setup_script else {
        return Ok(None);
    };
    r.dirs
        .iter()
        .flat_map(|d| {
            [
                d.join("configs").join(name),
                d.join("configs/patches").join(name),
            ]
        })
        .find(|p| p.is_file())
        .map(|p| Some(std::path::absolute(&p).unwrap_or(p)))
        .ok_or_else(|| SrtError::Unsupported {
            file: r.file.to_path_buf(),
            message: format!(
                "setup_script {name}: not in the configs folder of any --srt-recipes folder"
            ),
        })
}

/// `cmd` run after `script` (with bash), in the same process: `bash -c 'bash "$0" && exec
/// "$@"' SCRIPT CMD...`.
fn with_setup(cmd: &ServerCommand, script: &Path) -> ServerCommand {
    let mut args = vec![
        "-c".to_string(),
        r#"bash "$0" && exec "$@""#.to_string(),
        script.display().to_string(),
        cmd.program.clone(),
    ];
    let shift = args.len();
    args.extend(cmd.args.iter().cloned());
    ServerCommand {
        program: "bash".into(),
        args,
        env: cmd.env.clone(),
        files: cmd
            .files
            .iter()
            .map(|f| ServerFile {
                arg: f.arg + shift,
                ..f.clone()
            })
            .collect(),
    }
}

/// A plain file name: no folder, nothing that climbs out of one.
fn is_file_name(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '\\']) && s != "." && s != ".."
}

/// The ports srt-slurm's infra processes listen on.
pub const NATS_PORT: u16 = 4222;
pub const ETCD_PORT: u16 = 2379;

/// Every process of `recipe`'s deployment of `job` on `nodes`.
pub fn deployment(recipe: &SrtRecipe, r: &Render) -> Result<ClusterDeployment, SrtError> {
    let pools = recipe.pools(r.file)?;
    check_row(r.job, &pools, r.file)?;
    let infra_only = usize::from(recipe.infra.etcd_nats_dedicated_node);
    let gpn = recipe.resources.gpus_per_node;
    let wanted = infra_only + pools.iter().map(|p| p.nodes as usize).sum::<usize>();
    if r.nodes.len() < wanted {
        return Err(SrtError::Unsupported {
            file: r.file.to_path_buf(),
            message: format!(
                "needs {wanted} nodes of {gpn} GPUs (its workers{}), the allocation has {}",
                if infra_only == 1 {
                    " and a node for etcd and NATS"
                } else {
                    ""
                },
                r.nodes.len()
            ),
        });
    }
    let infra = &r.nodes[0];
    let head = infra_only;
    // srt-slurm's default request plane (TCP); recipes written for older Dynamo say nats.
    let plane = recipe
        .dynamo
        .request_plane
        .clone()
        .unwrap_or_else(|| "tcp".into());
    let mut ports = Ports::default();
    let mut workers = Vec::new();
    for (pool, places) in pools.iter().zip(layout(&pools, gpn, head)) {
        for (i, place) in places.iter().enumerate() {
            let w = Worker_ {
                recipe,
                r,
                pool,
                index: i,
                place,
                plane: &plane,
                infra,
                head,
            };
            workers.extend(w.processes(&mut ports)?);
        }
    }
    let expect = expected_instances(recipe, &pools, &workers);
    let worker_nodes: Vec<usize> = (head..wanted).collect();
    let (mut frontends, mut router) =
        frontends(recipe, r.nodes, &worker_nodes, infra, &plane, &mut ports);
    if ports.exhausted {
        return Err(SrtError::Unsupported {
            file: r.file.to_path_buf(),
            message: "more processes than one job has ports for".into(),
        });
    }
    let mut mounts = Vec::new();
    if let Some(script) = setup_script(recipe, r)? {
        // Every worker and Dynamo frontend runs it first, in its own container.
        let dynamo_router = frontends.is_empty().then_some(&mut router);
        for p in workers
            .iter_mut()
            .chain(&mut frontends)
            .chain(dynamo_router)
        {
            p.command = with_setup(&p.command, &script);
        }
        mounts.extend(script.parent().map(Path::to_path_buf));
    }
    let client = recipe
        .client_settings(r.file)?
        .endpoints(system_servers(&workers, r.nodes));
    Ok(ClusterDeployment {
        infra: infra_processes(recipe, infra),
        workers,
        frontends,
        router,
        nodes_wanted: wanted as u32,
        ready: Ready::DynamoInstances {
            prefill: expect.0,
            decode: expect.1,
        },
        served_model: Some(served_model(recipe, r.job)),
        client,
        mounts,
        srun_options: recipe
            .srun_options
            .iter()
            .filter_map(|(k, v)| match v {
                Value::Bool(false) | Value::Null => None,
                Value::Bool(true) => Some(format!("--{k}")),
                v => Some(format!("--{k}={}", text(v))),
            })
            .collect(),
    })
}

/// The name the frontend serves the model under: the recipe's `served-model-name`
/// (TensorRT-LLM's workers take the model path's), else the row's model.
fn served_model(recipe: &SrtRecipe, job: &Job) -> String {
    if recipe.backend.kind == BackendKind::Trtllm {
        return job.model.clone();
    }
    [Role::Prefill, Role::Aggregated, Role::Decode]
        .into_iter()
        .find_map(|r| recipe.role_config(r).get("served-model-name").map(text))
        .unwrap_or_else(|| job.model.clone())
}

impl SrtRecipe {
    fn role_configs(&self) -> Option<&RoleConfigs> {
        let b = &self.backend;
        match b.kind {
            BackendKind::Sglang => b.sglang_config.as_ref(),
            BackendKind::Vllm => b.vllm_config.as_ref(),
            BackendKind::Trtllm => b.trtllm_config.as_ref(),
        }
    }

    fn role_config(&self, role: Role) -> serde_norway::Mapping {
        let c = self.role_configs();
        let m = match role {
            Role::Prefill => c.and_then(|c| c.prefill.as_ref()),
            Role::Decode => c.and_then(|c| c.decode.as_ref()),
            Role::Aggregated => c.and_then(|c| c.aggregated.as_ref()),
        };
        let m = m.cloned().unwrap_or_default();
        if self.backend.kind == BackendKind::Trtllm {
            return m; // a settings file, keys as they are
        }
        // Flags: `served_model_name` is `--served-model-name`, as srt-slurm writes it, and is
        // the key the launcher looks for.
        m.into_iter()
            .map(|(k, v)| match k.as_str() {
                Some(name) if name.contains('_') => (Value::String(name.replace('_', "-")), v),
                _ => (k, v),
            })
            .collect()
    }

    fn role_environment(&self, role: Role) -> &IndexMap<String, Value> {
        let b = &self.backend;
        match role {
            Role::Prefill => &b.prefill_environment,
            Role::Decode => &b.decode_environment,
            Role::Aggregated => &b.aggregated_environment,
        }
    }
}

/// How many `generate` instances of each kind Dynamo's `/health` lists once every worker has
/// registered: one per worker, or per process for vLLM's data-parallel ranks launched apart.
fn expected_instances(recipe: &SrtRecipe, pools: &[Pool], workers: &[WorkerProcess]) -> (u32, u32) {
    let count = |role: Role| -> u32 {
        let Some(p) = pools.iter().find(|p| p.role == role) else {
            return 0;
        };
        let dp = recipe.role_config(role).contains_key("data-parallel-size");
        if recipe.backend.kind == BackendKind::Vllm && dp {
            workers
                .iter()
                .filter(|w| w.name.starts_with(role.name()))
                .count() as u32
        } else {
            p.workers
        }
    };
    let decode = count(Role::Decode) + count(Role::Aggregated);
    (count(Role::Prefill), decode)
}

/// A YAML scalar as srt-slurm writes it into a command or the environment (Python's `str()`).
fn text(v: &Value) -> String {
    match v {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn env_pairs(m: &IndexMap<String, Value>) -> impl Iterator<Item = (String, String)> + '_ {
    m.iter().map(|(k, v)| (k.clone(), text(v)))
}

/// An engine's settings as flags, srt-slurm's way: keys sorted, `_` as `-`, `true` a bare
/// flag, `false` and `null` left out, a list its values after the flag.
fn config_flags(config: &serde_norway::Mapping) -> Vec<String> {
    let mut keys: Vec<(String, &Value)> = config
        .iter()
        .filter_map(|(k, v)| k.as_str().map(|k| (k.replace('_', "-"), v)))
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (k, v) in keys {
        match v {
            Value::Bool(false) | Value::Null => {}
            Value::Bool(true) => out.push(format!("--{k}")),
            Value::Sequence(items) => {
                out.push(format!("--{k}"));
                out.extend(items.iter().map(text));
            }
            Value::Mapping(_) => {
                out.push(format!("--{k}"));
                out.push(serde_json::to_string(v).unwrap_or_default());
            }
            v => out.extend([format!("--{k}"), text(v)]),
        }
    }
    out
}

/// One worker of a pool, to be rendered into its processes.
struct Worker_<'a> {
    recipe: &'a SrtRecipe,
    r: &'a Render<'a>,
    pool: &'a Pool,
    index: usize,
    place: &'a Placement,
    plane: &'a str,
    infra: &'a Node,
    /// The job's head node: its first worker node.
    head: usize,
}

impl Worker_<'_> {
    fn name(&self) -> String {
        format!("{}-{}", self.pool.role.name(), self.index)
    }

    fn leader(&self) -> &Node {
        &self.r.nodes[self.place.nodes[0]]
    }

    /// What every worker process is given, then the role's and the recipe's own.
    fn environment(&self, sys_port: u16, plane: bool) -> Vec<(String, String)> {
        let mut env = vec![
            (
                "HEAD_NODE_IP".to_string(),
                self.r.nodes[self.head].addr.clone(),
            ),
            (
                "ETCD_ENDPOINTS".into(),
                format!("http://{}:{ETCD_PORT}", self.infra.addr),
            ),
            (
                "NATS_SERVER".into(),
                format!("nats://{}:{NATS_PORT}", self.infra.addr),
            ),
            ("DYN_SYSTEM_PORT".into(), sys_port.to_string()),
        ];
        if plane {
            env.push(("DYN_REQUEST_PLANE".into(), self.plane.to_string()));
        }
        env.push(("DYN_SKIP_SGLANG_LOG_FORMATTING".into(), "1".into()));
        let role_env = self.recipe.role_environment(self.pool.role);
        if !role_env.contains_key("DYN_LOG") {
            // srt-slurm's default: the request plane's per-request lines at warn.
            env.push(("DYN_LOG".into(), DYN_LOG.into()));
        }
        env.extend(env_pairs(role_env));
        env.extend(env_pairs(&self.recipe.environment));
        if let Some(d) = &self.place.devices {
            let list: Vec<String> = d.iter().map(u32::to_string).collect();
            env.push(("CUDA_VISIBLE_DEVICES".into(), list.join(",")));
        }
        env
    }

    fn processes(&self, ports: &mut Ports) -> Result<Vec<WorkerProcess>, SrtError> {
        match self.recipe.backend.kind {
            BackendKind::Sglang => self.sglang(ports),
            BackendKind::Vllm => self.vllm(ports),
            BackendKind::Trtllm => Ok(vec![self.trtllm(ports)?]),
        }
    }

    /// The recipe's settings for this role without the keys the launcher sets, checking that
    /// it does not set them otherwise.
    fn settings(&self, managed: &[&str]) -> Result<serde_norway::Mapping, SrtError> {
        let mut config = self.recipe.role_config(self.pool.role);
        let mode = match self.pool.role {
            Role::Aggregated => None,
            r => Some(r.name()),
        };
        if let Some(v) = config.remove("disaggregation-mode") {
            if v.as_str() != mode {
                return Err(self.unsupported(format!(
                    "{} settings set disaggregation-mode {}",
                    self.pool.role.name(),
                    text(&v)
                )));
            }
        }
        if let Some(v) = config.remove("request-plane") {
            if v.as_str() != Some(self.plane) {
                return Err(self.unsupported(format!(
                    "{} settings set request-plane {}, but the deployment's (dynamo.request_plane) is {}",
                    self.pool.role.name(),
                    text(&v),
                    self.plane
                )));
            }
        }
        for k in managed {
            config.remove(*k);
        }
        Ok(config)
    }

    fn unsupported(&self, message: String) -> SrtError {
        SrtError::Unsupported {
            file: self.r.file.to_path_buf(),
            message,
        }
    }

    fn process(&self, suffix: &str, node: usize, command: ServerCommand) -> WorkerProcess {
        WorkerProcess {
            name: format!("{}{suffix}", self.name()),
            nodes: vec![node],
            tasks_per_node: 1,
            mpi: false,
            port: None,
            command,
            image: None,
        }
    }

    fn disagg_mode(&self) -> Vec<String> {
        match self.pool.role {
            Role::Aggregated => Vec::new(),
            r => vec!["--disaggregation-mode".into(), r.name().into()],
        }
    }

    /// `dynamo.sglang` on each node of the worker, ranks after the first joining the leader.
    fn sglang(&self, ports: &mut Ports) -> Result<Vec<WorkerProcess>, SrtError> {
        let mut config = self.settings(&[
            "model-path",
            "host",
            "port",
            "dist-init-addr",
            "nnodes",
            "node-rank",
        ])?;
        let served = config
            .remove("served-model-name")
            .map_or_else(|| self.r.job.model.clone(), |v| text(&v));
        // A prefill worker's bootstrap port is the launcher's unless its settings name one; a
        // decode worker's, where set, names its prefill workers'.
        let bootstrap = if self.pool.role == Role::Prefill {
            config.remove("disaggregation-bootstrap-port")
        } else {
            None
        };
        let (dist_port, nnodes) = (ports.next(PortKind::DistInit), self.place.nodes.len());
        let mut out = Vec::new();
        for (rank, &node) in self.place.nodes.iter().enumerate() {
            let (port, sys) = (ports.next(PortKind::Http), ports.next(PortKind::System));
            let mut a: Vec<String> = ["-m", "dynamo.sglang", "--model-path"]
                .map(String::from)
                .to_vec();
            a.extend([
                self.r.job.model.clone(),
                "--served-model-name".into(),
                served.clone(),
            ]);
            a.extend(["--host".into(), "0.0.0.0".into(), "--port".into()]);
            a.push(if rank == 0 {
                port.to_string()
            } else {
                "0".into()
            });
            a.extend(self.disagg_mode());
            if self.pool.role == Role::Prefill {
                let b = bootstrap
                    .as_ref()
                    .map_or_else(|| ports.next(PortKind::Bootstrap).to_string(), text);
                a.extend(["--disaggregation-bootstrap-port".into(), b]);
            }
            if nnodes > 1 {
                a.extend([
                    "--dist-init-addr".into(),
                    format!("{}:{dist_port}", self.leader().addr),
                    "--nnodes".into(),
                    nnodes.to_string(),
                    "--node-rank".into(),
                    rank.to_string(),
                ]);
            }
            a.extend(["--request-plane".into(), self.plane.to_string()]);
            a.extend(config_flags(&config));
            let command = ServerCommand {
                program: "python3".into(),
                args: a,
                env: self.environment(sys, true),
                files: Vec::new(),
            };
            out.push(self.process(&rank_suffix(rank, nnodes), node, command));
        }
        Ok(out)
    }

    /// `dynamo.vllm`: one process per node (data-parallel ranks of the node, or a rank of a
    /// model spread over nodes), or per GPU with `dp_launch_mode: per_gpu`.
    fn vllm(&self, ports: &mut Ports) -> Result<Vec<WorkerProcess>, SrtError> {
        let mut config = self.settings(&[
            "model",
            "host",
            "port",
            "data-parallel-size-local",
            "data-parallel-start-rank",
            "data-parallel-address",
            "data-parallel-rpc-port",
            "data-parallel-rank",
            "data-parallel-hybrid-lb",
            "master-addr",
            "nnodes",
            "node-rank",
            "headless",
        ])?;
        let served = config
            .remove("served-model-name")
            .map_or_else(|| self.r.job.model.clone(), |v| text(&v));
        let int = |k: &str| config.get(k).and_then(Value::as_u64).unwrap_or(1).max(1);
        let (dp, replica) = (
            int("data-parallel-size"),
            int("tensor-parallel-size").saturating_mul(int("pipeline-parallel-size")),
        );
        let has_dp = config.contains_key("data-parallel-size");
        if has_dp && dp.saturating_mul(replica) != u64::from(self.pool.gpus) {
            return Err(self.unsupported(format!(
                "{} settings: data-parallel-size {dp} × tensor × pipeline {replica} is not the worker's {} GPUs",
                self.pool.role.name(),
                self.pool.gpus
            )));
        }
        let replica = u32::try_from(replica).unwrap_or(u32::MAX);
        let per_gpu = self.recipe.backend.dp_launch_mode.as_deref() == Some("per_gpu");
        let gpus_here = self.pool.gpus.min(self.recipe.resources.gpus_per_node);
        if has_dp && replica > gpus_here {
            return Err(self.unsupported(format!(
                "{} settings: data-parallel replicas of {replica} GPUs spread over nodes are not laid out by servebench",
                self.pool.role.name()
            )));
        }
        // The worker's own GPUs on each of its nodes (a share of one, or all of each).
        let own: Vec<u32> = self
            .place
            .devices
            .clone()
            .unwrap_or_else(|| (0..gpus_here).collect());
        let rpc = ports.next(PortKind::DpRpc);
        let nnodes = self.place.nodes.len();
        let mut out = Vec::new();
        // (node, rank within the worker, local ranks, devices)
        let mut procs: Vec<(usize, u32, u32, Option<Vec<u32>>)> = Vec::new();
        for (n, &node) in self.place.nodes.iter().enumerate() {
            if has_dp && per_gpu {
                let ranks_here = gpus_here / replica.max(1);
                for k in 0..ranks_here {
                    let devs = own[(k * replica) as usize..((k + 1) * replica) as usize].to_vec();
                    procs.push((node, n as u32 * ranks_here + k, 1, Some(devs)));
                }
            } else {
                let local = gpus_here / replica.max(1);
                procs.push((node, n as u32 * local, local, self.place.devices.clone()));
            }
        }
        let spread = !has_dp && nnodes > 1;
        for (i, (node, rank, local, devices)) in procs.iter().enumerate() {
            let (sys, side) = (ports.next(PortKind::System), ports.next(PortKind::NixlSide));
            let mut a: Vec<String> = ["-m", "dynamo.vllm", "--model"].map(String::from).to_vec();
            a.extend([
                self.r.job.model.clone(),
                "--served-model-name".into(),
                served.clone(),
            ]);
            a.extend(self.disagg_mode());
            if self.pool.role != Role::Aggregated
                && !config.contains_key("kv-transfer-config")
                && self.recipe.backend.connector.is_some()
            {
                a.extend([
                    "--kv-transfer-config".into(),
                    r#"{"kv_connector": "NixlConnector", "kv_role": "kv_both"}"#.into(),
                ]);
            }
            let leader = self.leader().addr.clone();
            if has_dp && per_gpu {
                a.extend(["--data-parallel-rank".into(), rank.to_string()]);
                a.extend([
                    "--data-parallel-address".into(),
                    leader,
                    "--data-parallel-rpc-port".into(),
                    rpc.to_string(),
                ]);
            } else if has_dp {
                a.extend(["--data-parallel-size-local".into(), local.to_string()]);
                a.extend(["--data-parallel-start-rank".into(), rank.to_string()]);
                a.extend([
                    "--data-parallel-address".into(),
                    leader,
                    "--data-parallel-rpc-port".into(),
                    rpc.to_string(),
                ]);
                a.push("--data-parallel-hybrid-lb".into());
            } else if spread {
                a.extend([
                    "--master-addr".into(),
                    leader,
                    "--nnodes".into(),
                    nnodes.to_string(),
                ]);
                a.extend(["--node-rank".into(), i.to_string()]);
                if i > 0 {
                    a.push("--headless".into());
                }
            }
            a.extend(["--request-plane".into(), self.plane.to_string()]);
            a.extend(config_flags(&config));
            let mut env = self.environment(sys, true);
            env.push((
                "VLLM_NIXL_SIDE_CHANNEL_HOST".into(),
                self.r.nodes[*node].addr.clone(),
            ));
            env.push(("VLLM_NIXL_SIDE_CHANNEL_PORT".into(), side.to_string()));
            if let Some(d) = devices
                .as_ref()
                .filter(|_| self.place.devices.is_none() || per_gpu)
            {
                env.retain(|(k, _)| k != "CUDA_VISIBLE_DEVICES");
                let list: Vec<String> = d.iter().map(u32::to_string).collect();
                env.push(("CUDA_VISIBLE_DEVICES".into(), list.join(",")));
            }
            let command = ServerCommand {
                program: "python3".into(),
                args: a,
                env,
                files: Vec::new(),
            };
            out.push(self.process(&rank_suffix(i, procs.len()), *node, command));
        }
        Ok(out)
    }

    /// `dynamo.trtllm` under `trtllm-llmapi-launch`: one MPI step over the worker's nodes, a
    /// rank per GPU, its LLM-API settings the role's `trtllm_config` as a YAML file.
    fn trtllm(&self, ports: &mut Ports) -> Result<WorkerProcess, SrtError> {
        let config = self.recipe.role_config(self.pool.role);
        let yaml = serde_norway::to_string(&config).map_err(|e| self.unsupported(e.to_string()))?;
        let mode = self.pool.role.name();
        // Memory bound to both NUMA nodes of a GB200/GB300 tray, as srt-slurm does.
        let numa = ["gb200", "gb300"].contains(&self.recipe.resources.gpu_type.as_str())
            && self.pool.role != Role::Aggregated;
        let mut argv: Vec<String> = Vec::new();
        if numa {
            argv.extend(["numactl", "-m", "0,1"].map(String::from));
        }
        argv.extend(["trtllm-llmapi-launch", "python3", "-m", "dynamo.trtllm"].map(String::from));
        let model = self.r.job.model.clone();
        argv.extend([
            "--model-path".into(),
            model.clone(),
            "--served-model-name".into(),
            model,
        ]);
        argv.extend(self.disagg_mode());
        argv.push("--extra-engine-args".into());
        let file_arg = argv.len() - 1; // an index into the arguments, after the program
        argv.push(format!("trtllm_config_{mode}.yaml"));
        argv.extend(["--request-plane".into(), self.plane.to_string()]);
        if self.recipe.backend.publish_events_and_metrics {
            argv.push("--publish-events-and-metrics".into());
        }
        let mut env = self.environment(ports.next(PortKind::System), false);
        // Each worker's expert-placement shared memory is its own.
        let fp = &self.r.job.fingerprint;
        let shm = format!("moe_shared_{}_{}", &fp[..fp.len().min(12)], self.name());
        env.push(("TRTLLM_EPLB_SHM_NAME".into(), shm));
        let command = ServerCommand {
            program: argv.remove(0),
            args: argv,
            env,
            files: vec![ServerFile {
                arg: file_arg,
                name: format!("{}.trtllm_config_{mode}.yaml", self.name()),
                contents: yaml,
            }],
        };
        Ok(WorkerProcess {
            name: self.name(),
            nodes: self.place.nodes.clone(),
            tasks_per_node: self.pool.gpus.min(self.recipe.resources.gpus_per_node),
            mpi: true,
            port: None,
            command,
            image: None,
        })
    }
}

/// `.1`, … for the processes of a worker that has several.
fn rank_suffix(i: usize, n: usize) -> String {
    if n > 1 {
        format!(".{i}")
    } else {
        String::new()
    }
}

/// NATS (JetStream) and etcd on the infra node, as srt-slurm's `setup_head.py` runs them, each
/// in a fresh data folder (a folder left by an earlier job would bring its workers back as
/// registered instances).
fn infra_processes(recipe: &SrtRecipe, infra: &Node) -> Vec<WorkerProcess> {
    let (nats_args, nats_files) = match recipe.infra.nats_max_payload_mb {
        Some(mb) => {
            let conf = ServerFile {
                arg: 4, // after `-c SCRIPT nats-server -c`
                name: "nats.conf".into(),
                contents: format!(
                    "port: {NATS_PORT}\nmax_payload: {}\njetstream: enabled\n",
                    u64::from(mb) * 1024 * 1024
                ),
            };
            (vec!["-c".into(), "nats.conf".into()], vec![conf])
        }
        None => (
            vec!["-js".into(), "-p".into(), NATS_PORT.to_string()],
            Vec::new(),
        ),
    };
    let etcd_args = vec![
        "--listen-client-urls".into(),
        format!("http://0.0.0.0:{ETCD_PORT}"),
        "--advertise-client-urls".into(),
        format!("http://{}:{ETCD_PORT}", infra.addr),
    ];
    let step = |name: &str, dir_flag: &str, args: Vec<String>, files, port| {
        let script = format!(
            r#"d=$(mktemp -d /tmp/servebench-{name}.XXXXXX) && exec "$0" {dir_flag} "$d" "$@""#
        );
        let program = if name == "nats" {
            "nats-server"
        } else {
            "etcd"
        };
        let mut all = vec!["-c".to_string(), script, program.to_string()];
        all.extend(args);
        WorkerProcess {
            name: name.into(),
            nodes: vec![0],
            tasks_per_node: 1,
            mpi: false,
            port: Some(port),
            command: ServerCommand {
                program: "bash".into(),
                args: all,
                env: Vec::new(),
                files,
            },
            image: None,
        }
    };
    vec![
        step("nats", "-sd", nats_args, nats_files, NATS_PORT),
        step("etcd", "--data-dir", etcd_args, Vec::new(), ETCD_PORT),
    ]
}

/// Dynamo's frontends and what the client talks to. One frontend on the head node where the
/// workers fill one node or the recipe asks for one; else, as srt-slurm lays them out, nginx
/// on the head node balancing over a frontend on each of the next nodes (at most
/// `num_additional_frontends` + 1 of them).
fn frontends(
    recipe: &SrtRecipe,
    nodes: &[Node],
    worker_nodes: &[usize],
    infra: &Node,
    plane: &str,
    ports: &mut Ports,
) -> (Vec<WorkerProcess>, WorkerProcess) {
    let f = &recipe.frontend;
    let (head, others) = worker_nodes
        .split_first()
        .expect("a deployment has workers");
    let wanted = f.num_additional_frontends.unwrap_or(9) as usize + 1;
    let several = f.enable_multiple_frontends.unwrap_or(true) && !others.is_empty();
    let process = |name: String, node: usize, port: u16, command, image| WorkerProcess {
        name,
        nodes: vec![node],
        tasks_per_node: 1,
        mpi: false,
        port: Some(port),
        command,
        image,
    };
    if !several {
        let port = ports.next(PortKind::Http);
        let command = frontend(recipe, infra, plane, port);
        return (
            Vec::new(),
            process("frontend".into(), *head, port, command, None),
        );
    }
    let port = ports.next(PortKind::Http);
    let frontends: Vec<WorkerProcess> = others
        .iter()
        .take(wanted)
        .enumerate()
        .map(|(i, &n)| {
            let command = frontend(recipe, infra, plane, port);
            process(format!("frontend-{i}"), n, port, command, None)
        })
        .collect();
    let upstreams: Vec<String> = frontends
        .iter()
        .map(|p| format!("{}:{port}", nodes[p.node()].addr))
        .collect();
    let listen = ports.next(PortKind::Http);
    let nginx = ServerCommand {
        program: "nginx".into(),
        args: ["-c", "nginx.conf", "-g", "daemon off;"]
            .map(String::from)
            .to_vec(),
        env: Vec::new(),
        files: vec![ServerFile {
            arg: 1,
            name: "nginx.conf".into(),
            contents: nginx_conf(listen, &upstreams, f),
        }],
    };
    let image = match f.nginx_container.as_deref() {
        Some(i) if i.contains([':', '/']) => i.to_string(),
        _ => NGINX_IMAGE.to_string(),
    };
    let router = process("nginx".into(), *head, listen, nginx, Some(image));
    (frontends, router)
}

/// srt-slurm's nginx image where a recipe names none (or one of its aliases).
const NGINX_IMAGE: &str = "nginx:1.27.4";

/// A time nginx reads (`600s`, `10m`, `1h`, a bare number of seconds).
fn nginx_time(t: &str) -> bool {
    let digits = t.trim_end_matches(['s', 'm', 'h', 'd']);
    !digits.is_empty() && t.len() - digits.len() <= 1 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// nginx balancing over `upstreams` as srt-slurm's: round-robin, or with session affinity a
/// consistent hash of the affinity header (a request without it hashed by its own id, so an
/// empty header cannot pin all traffic); streaming (no buffering), keeping upstream
/// connections open, with room for large bodies and long idle sessions.
fn nginx_conf(listen: u16, upstreams: &[String], f: &Frontend) -> String {
    let servers: String = upstreams
        .iter()
        .map(|u| format!("    server {u};\n"))
        .collect();
    let keepalive = f.nginx_keepalive_timeout.as_deref().unwrap_or("600s");
    let rlimit = if f.nginx_raise_ulimit {
        "worker_rlimit_nofile 1048576;\n"
    } else {
        ""
    };
    let (map, hash) = if f.nginx_session_affinity {
        let var = format!(
            "$http_{}",
            f.affinity_header().to_ascii_lowercase().replace('-', "_")
        );
        (
            format!("  map {var} $frontend_hash_key {{\n    default {var};\n    \"\" $request_id;\n  }}\n"),
            "    hash $frontend_hash_key consistent;\n",
        )
    } else {
        (String::new(), "")
    };
    format!(
        "worker_processes auto;
{rlimit}pid /tmp/servebench-nginx-{listen}.pid;
error_log stderr;
events {{
  worker_connections 65535;
  multi_accept on;
}}
http {{
  access_log off;
  client_max_body_size 45m;
{map}  keepalive_timeout {keepalive};
  client_body_temp_path /tmp/servebench-nginx-{listen}-body;
  proxy_temp_path /tmp/servebench-nginx-{listen}-proxy;
  upstream frontends {{
{hash}{servers}    keepalive 512;
    keepalive_timeout {keepalive};
  }}
  server {{
    listen {listen};
    location / {{
      proxy_pass http://frontends;
      proxy_buffering off;
      proxy_read_timeout 24h;
      proxy_send_timeout 24h;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }}
  }}
}}
"
    )
}

/// Dynamo's frontend: `--http-port`, then the recipe's `frontend.args` as written.
fn frontend(recipe: &SrtRecipe, infra: &Node, plane: &str, port: u16) -> ServerCommand {
    let mut args: Vec<String> = ["-m", "dynamo.frontend"].map(String::from).to_vec();
    args.push(format!("--http-port={port}"));
    for (k, v) in &recipe.frontend.args {
        match v {
            Value::Bool(false) | Value::Null => {}
            Value::Bool(true) => args.push(format!("--{k}")),
            v => args.extend([format!("--{k}"), text(v)]),
        }
    }
    let mut env = vec![
        (
            "ETCD_ENDPOINTS".to_string(),
            format!("http://{}:{ETCD_PORT}", infra.addr),
        ),
        (
            "NATS_SERVER".into(),
            format!("nats://{}:{NATS_PORT}", infra.addr),
        ),
        ("DYN_REQUEST_PLANE".into(), plane.to_string()),
        ("DYN_SKIP_SGLANG_LOG_FORMATTING".into(), "1".into()),
    ];
    env.extend(env_pairs(&recipe.environment));
    env.extend(env_pairs(&recipe.frontend.env));
    ServerCommand {
        program: "python3".into(),
        args,
        env,
        files: Vec::new(),
    }
}

/// Each worker's Dynamo system server (`DYN_SYSTEM_PORT` on its first node), whose `/metrics`
/// carries its engine's.
fn system_servers<'a>(
    workers: &'a [WorkerProcess],
    nodes: &'a [Node],
) -> impl Iterator<Item = (&'a WorkerProcess, String)> {
    workers.iter().filter_map(|w| {
        let (_, port) = w.command.env.iter().find(|(k, _)| k == "DYN_SYSTEM_PORT")?;
        Some((w, format!("http://{}:{port}", nodes[w.node()].addr)))
    })
}

/// Nodes `recipe`'s deployment of `job` takes: its pools' and a dedicated infra node.
pub fn nodes_wanted(recipe: &SrtRecipe, job: &Job, file: &Path) -> Result<u32, SrtError> {
    let pools = recipe.pools(file)?;
    check_row(job, &pools, file)?;
    let infra = u32::from(recipe.infra.etcd_nats_dedicated_node);
    Ok(infra + pools.iter().map(|p| p.nodes).sum::<u32>())
}
