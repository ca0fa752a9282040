//! InferenceX's AMD disaggregated deployments (MI355X) as processes, from the same files
//! InferenceX's own launcher reads (`benchmarks/multi_node/amd_utils` of an `--inferencex`
//! checkout).
//!
//! InferenceX launches these rows with its own scripts: `submit.sh` sizes the workers from the
//! row, `job.slurm` starts a container per node, and a per-engine script there sources the
//! engine's environment file (which detects the node's RDMA devices and network interface),
//! starts the node's server with the flags of the model's entry in the engine's models file,
//! and, on the first node, the router and then InferenceX's own client. servebench starts the
//! same servers, with the same flags and environment, as steps of one Slurm allocation, and
//! measures the router with its own client:
//! - [`sglang`]: `framework: sglang-disagg` (`server_sglang.sh`, `env.sh`, `models.yaml`):
//!   `sglang.launch_server` behind SGLang's PD router;
//! - [`atom`]: `framework: atom-disagg` (`server_atom.sh`, `env_atom.sh`, `models_atom.yaml`):
//!   ATOM's OpenAI server behind `atomesh`.
//!
//! On each node the command sources the engine's environment file of the `--inferencex`
//! checkout first, so what it detects is detected as InferenceX detects it. Where servebench
//! deliberately differs (`docs/recipes.md`, "AMD's disaggregated rows"): the model path is the
//! row's model (InferenceX's is `/models/<name>` in its container); ports are servebench's (one job's
//! processes may share a host), and the router is told to listen on every interface;
//! `setup_deps.sh` is not run (nothing is installed at run time); rows the launcher would run
//! other than they say are refused rather than changed.

pub mod atom;
mod atom_models;
pub mod sglang;
mod sglang_models;

use crate::cluster::{ClientSettings, ClusterDeployment, Node, Ready, WorkerProcess};
use crate::engine::ServerCommand;
use crate::plan::{Job, Topology};
use crate::recipe::Worker;
use crate::RecipeError;
use serde::{Deserialize, Deserializer};
use serde_norway::Value;
use servebench_core::shell::quote;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AmdError {
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    /// The row or the launcher's files ask for what servebench does not launch.
    #[error("{0}")]
    Unsupported(String),
}

/// Which of InferenceX's AMD launchers a row's framework names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launcher {
    Sglang,
    Atom,
}

impl Launcher {
    pub fn of(framework: &str) -> Option<Launcher> {
        match framework {
            "sglang-disagg" => Some(Launcher::Sglang),
            "atom-disagg" => Some(Launcher::Atom),
            _ => None,
        }
    }

    /// The engine's models file and environment file in `amd_utils`.
    fn files(self) -> (&'static str, &'static str) {
        match self {
            Launcher::Sglang => ("models.yaml", "env.sh"),
            Launcher::Atom => ("models_atom.yaml", "env_atom.sh"),
        }
    }

    /// `ENGINE` as `job.slurm` sets it.
    fn engine(self) -> &'static str {
        match self {
            Launcher::Sglang => "sglang-disagg",
            Launcher::Atom => "atom-disagg",
        }
    }
}

/// A scalar as InferenceX's scripts print it into a flag: Python's `str()` of the YAML value.
#[derive(Debug, Clone, PartialEq)]
pub struct PyText(pub String);

impl<'de> Deserialize<'de> for PyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match Value::deserialize(d)? {
            Value::String(s) => s,
            Value::Bool(b) => if b { "True" } else { "False" }.to_string(),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => i.to_string(),
                (_, Some(u), _) => u.to_string(),
                // Python's repr keeps the point of a whole float (`1.0`).
                (_, _, Some(f)) if f.is_finite() && f.fract() == 0.0 => format!("{f:.1}"),
                (_, _, Some(f)) => f.to_string(),
                _ => n.to_string(),
            },
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expected a scalar (text, number or boolean), found {}",
                    kind(&other)
                )))
            }
        };
        Ok(PyText(text))
    }
}

impl PyText {
    /// The scripts' test of a flag: `True` or `true`.
    pub fn is_true(&self) -> bool {
        self.0 == "True" || self.0 == "true"
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
        _ => "a scalar",
    }
}

/// One pool's sizes as `submit.sh` computes them.
#[derive(Debug, Clone, Copy)]
struct Pool {
    workers: u32,
    /// `*_TP_SIZE`: every GPU of one worker.
    tp: u32,
    ep: bool,
    dp: bool,
    nodes_per_worker: u32,
}

/// A row's deployment as InferenceX's launcher sizes it.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    prefill: Pool,
    decode: Pool,
    /// `DECODE_MTP_SIZE`: speculative steps (0: none).
    mtp: u32,
    /// The largest concurrency of the row (`BENCH_MAX_CONC_VALUE`).
    max_conc: u32,
    gpus_per_node: u32,
}

impl Sizes {
    fn nodes(&self) -> u32 {
        self.prefill.workers * self.prefill.nodes_per_worker
            + self.decode.workers * self.decode.nodes_per_worker
    }

    fn pools(&self) -> [(Role, Pool); 2] {
        [(Role::Prefill, self.prefill), (Role::Decode, self.decode)]
    }
}

/// `NAME=value` of a pool's `additional-settings`.
fn setting<'a>(w: &'a Worker, name: &str) -> Option<&'a str> {
    w.additional_settings
        .iter()
        .flatten()
        .find_map(|s| s.strip_prefix(name)?.strip_prefix('='))
}

fn sizes(job: &Job) -> Result<Sizes, String> {
    let Topology::Multi { prefill, decode } = &job.topology else {
        return Err("not a multi-node job".into());
    };
    let gpus_per_node = crate::cluster::gpus_per_node(&job.runner);
    let pool = |w: &Worker, role: &str, nodes_key: &str| -> Result<Pool, String> {
        let nodes: u32 = setting(w, nodes_key)
            .ok_or_else(|| format!("its {role} names no {nodes_key}= in its additional-settings, which InferenceX's launcher sizes the {role} workers from"))?
            .parse()
            .map_err(|_| format!("{nodes_key} of its {role} is not a whole number"))?;
        if w.num_worker == 0 {
            return Err(format!(
                "InferenceX's launcher starts at least one {role} worker; the row has none"
            ));
        }
        if w.pp != 1 || w.dcp_size != 1 || w.pcp_size != 1 {
            return Err(format!("InferenceX's launcher gives the engine no pipeline or context parallelism; its {role} asks for pp {} / dcp {} / pcp {}", w.pp, w.dcp_size, w.pcp_size));
        }
        // submit.sh: *_TP_SIZE = *_NODES * *_TP / workers (shell integer division).
        let tp = u64::from(nodes) * u64::from(w.tp) / u64::from(w.num_worker);
        if tp != u64::from(w.tp) {
            return Err(format!(
                "InferenceX's launcher would give each {role} worker TP {tp} ({nodes_key} {nodes} × tp {} / {} workers), not the row's tp {}",
                w.tp, w.num_worker, w.tp
            ));
        }
        let ep = w.ep != 1;
        if ep && w.ep != w.tp {
            return Err(format!("InferenceX's launcher runs expert parallelism over the whole worker (ep = tp {}); the {role} asks for ep {}", w.tp, w.ep));
        }
        Ok(Pool {
            workers: w.num_worker,
            tp: w.tp,
            ep,
            dp: w.dp_attn,
            nodes_per_worker: w.tp.div_ceil(gpus_per_node),
        })
    };
    let mtp =
        match setting(decode, "DECODE_MTP_SIZE") {
            None | Some("") => 0,
            Some(v) => v.parse().ok().filter(|k: &u32| *k <= 64).ok_or_else(|| {
                format!("DECODE_MTP_SIZE={v} is not a number of speculative steps")
            })?,
        };
    Ok(Sizes {
        prefill: pool(prefill, "prefill", "PREFILL_NODES")?,
        decode: pool(decode, "decode", "DECODE_NODES")?,
        mtp,
        max_conc: job.conc.iter().copied().max().unwrap_or(1),
        gpus_per_node,
    })
}

/// Nodes the deployment of `job` takes: every worker its own nodes.
pub fn nodes_wanted(job: &Job) -> Result<u32, AmdError> {
    sizes(job)
        .map(|s| s.nodes())
        .map_err(|e| AmdError::Unsupported(format!("{}: {e}", job.config_key)))
}

/// What a deployment is rendered from.
pub(crate) type Render<'a> = crate::cluster::IxRender<'a>;

/// Every process of the deployment of `r.job` (an AMD disaggregated row), ports from `port`.
pub fn deployment(
    r: &Render,
    port: impl FnMut() -> std::io::Result<u16>,
) -> Result<ClusterDeployment, AmdError> {
    match Launcher::of(&r.job.framework) {
        Some(Launcher::Sglang) => sglang::deployment(r, port),
        Some(Launcher::Atom) => atom::deployment(r, port),
        None => Err(AmdError::Unsupported(format!(
            "{}: {} is not one of InferenceX's AMD launchers",
            r.job.config_key, r.job.framework
        ))),
    }
}

/// What every launcher checks and reads before it renders: the row's sizes, the allocation's
/// nodes, the launcher's files.
struct Prepared {
    sizes: Sizes,
    /// `amd_utils`, absolute: mounted where steps run in containers.
    utils: PathBuf,
    /// The engine's environment file, sourced first on every node.
    env_file: PathBuf,
    models_file: PathBuf,
    /// What every process of the deployment gets from `job.slurm`'s container.
    env: Vec<(String, String)>,
}

fn prepare(r: &Render, launcher: Launcher) -> Result<Prepared, AmdError> {
    let job = r.job;
    let fail = |e: String| AmdError::Unsupported(format!("{}: {e}", job.config_key));
    let s = sizes(job).map_err(fail)?;
    let wanted = s.nodes() as usize;
    if r.nodes.len() < wanted {
        return Err(fail(format!(
            "needs {wanted} nodes (each of its workers its own), the allocation has {}",
            r.nodes.len()
        )));
    }
    let utils = r.benchmarks.join("multi_node/amd_utils");
    let utils = std::path::absolute(&utils).unwrap_or(utils);
    let (models, env) = launcher.files();
    for f in [models, env] {
        if !utils.join(f).is_file() {
            return Err(fail(format!(
                "{} not found in the InferenceX checkout (--inferencex)",
                utils.join(f).display()
            )));
        }
    }
    Ok(Prepared {
        env: node_env(launcher, model_name(&job.model), &s),
        sizes: s,
        env_file: utils.join(env),
        models_file: utils.join(models),
        utils,
    })
}

/// `MODEL_NAME`: the last part of the row's model (`amd/DeepSeek-R1-0528-MXFP4-v2` →
/// `DeepSeek-R1-0528-MXFP4-v2`), as InferenceX's runner sets it.
fn model_name(model: &str) -> &str {
    model.rsplit('/').next().unwrap_or(model)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Prefill = 0,
    Decode = 1,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Prefill => "prefill",
            Role::Decode => "decode",
        }
    }
}

/// What the container of every node has from `job.slurm` that the environment file and the
/// flags read.
fn node_env(launcher: Launcher, model_name: &str, s: &Sizes) -> Vec<(String, String)> {
    let b = |x: bool| x.to_string();
    [
        ("MODEL_NAME", model_name.to_string()),
        ("ENGINE", launcher.engine().into()),
        ("GPUS_PER_NODE", s.gpus_per_node.to_string()),
        ("xP", s.prefill.workers.to_string()),
        ("yD", s.decode.workers.to_string()),
        ("PREFILL_TP_SIZE", s.prefill.tp.to_string()),
        ("PREFILL_ENABLE_EP", b(s.prefill.ep)),
        ("PREFILL_ENABLE_DP", b(s.prefill.dp)),
        ("DECODE_TP_SIZE", s.decode.tp.to_string()),
        ("DECODE_ENABLE_EP", b(s.decode.ep)),
        ("DECODE_ENABLE_DP", b(s.decode.dp)),
        ("DECODE_MTP_SIZE", s.mtp.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A word of a command line: literal, or shell text evaluated on its node.
#[derive(Debug, Clone, PartialEq)]
enum Word {
    Lit(String),
    Shell(String),
}

impl Word {
    fn render(&self) -> String {
        match self {
            Word::Lit(s) => quote(s),
            Word::Shell(s) => format!("\"{s}\""),
        }
    }
}

fn lits<'a>(words: impl IntoIterator<Item = &'a str>) -> Vec<Word> {
    words
        .into_iter()
        .map(|w| Word::Lit(w.to_string()))
        .collect()
}

fn command_line(words: &[Word]) -> String {
    words.iter().map(Word::render).collect::<Vec<_>>().join(" ")
}

/// Words of a models file's flags string, split as the shell splits them; anything the shell
/// would expand or run instead of pass on is refused.
fn flag_words(text: Option<&PyText>, field: &str) -> Result<Vec<Word>, String> {
    let Some(PyText(t)) = text else {
        return Ok(Vec::new());
    };
    if let Some(c) = t.chars().find(|c| "$`;|&<>()\n\\".contains(*c)) {
        return Err(format!(
            "{field}: `{c}` would be run by the shell, not passed to the server"
        ));
    }
    let words = shell_words::split(t).map_err(|e| format!("{field}: {e} in `{t}`"))?;
    Ok(words.into_iter().map(Word::Lit).collect())
}

fn text_or<'a>(t: &'a Option<PyText>, default: &'a str) -> &'a str {
    t.as_ref().map_or(default, |t| t.0.as_str())
}

fn flag_on(t: &Option<PyText>, default: bool) -> bool {
    t.as_ref().map_or(default, PyText::is_true)
}

impl Launcher {
    /// What `job.slurm` hands every container of the engine from the submitting shell as
    /// `-e NAME=${NAME:-}`: the operator's value, else set and empty.
    fn passed_through(self) -> &'static [&'static str] {
        match self {
            Launcher::Sglang => &["MORI_IO_SQ_BACKOFF_TIMEOUT_US", "MORI_IO_QP_MAX_SEND_WR"],
            Launcher::Atom => &[
                "MORI_IO_SQ_BACKOFF_TIMEOUT_US",
                "MORI_IO_QP_MAX_SEND_WR",
                "IBDEVICES",
            ],
        }
    }
}

/// The first lines of every process's script, the environment file being `$0`: the
/// variables `job.slurm` passes through, then the environment file sourced (refusing to go on
/// without it).
fn source_env_file(launcher: Launcher) -> Vec<String> {
    let mut lines: Vec<String> = launcher
        .passed_through()
        .iter()
        .map(|v| format!("export {v}=\"${{{v}:-}}\""))
        .collect();
    lines.push(
        r#"[ -r "$0" ] || { echo "cannot read $0 (InferenceX's environment file)" >&2; exit 1; }"#
            .to_string(),
    );
    lines.push(r#"source "$0""#.to_string());
    lines
}

/// `script` (lines run by bash, the environment file as `$0`) with the deployment's
/// environment.
fn bash_script(p: &Prepared, lines: &[String], extra_env: &[(&str, &str)]) -> ServerCommand {
    let mut env = p.env.clone();
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    ServerCommand {
        program: "bash".into(),
        args: vec![
            "-c".into(),
            lines.join("; "),
            p.env_file.display().to_string(),
        ],
        env,
        files: Vec::new(),
    }
}

/// One process of a worker, where [`place`] puts it.
struct Slot<'a> {
    role: Role,
    /// Its node rank in the worker, and how many nodes the worker has.
    rank: usize,
    nodes_per_worker: u32,
    /// The worker's first node's address.
    head: &'a str,
    node: &'a Node,
    port: u16,
}

/// Every worker on its own nodes, prefill first, as `server_*.sh` lays them out; each process's
/// command from `command`. Returns the workers and the leaders' URLs, prefill then decode.
fn place(
    r: &Render,
    p: &Prepared,
    port: &mut impl FnMut() -> std::io::Result<u16>,
    command: impl Fn(&Slot) -> ServerCommand,
) -> Result<(Vec<WorkerProcess>, [Vec<String>; 2]), AmdError> {
    let fail = |e: std::io::Error| AmdError::Unsupported(format!("{}: {e}", r.job.config_key));
    let mut workers = Vec::new();
    let mut heads = [Vec::new(), Vec::new()];
    let mut node = 0usize;
    for (role, pool) in p.sizes.pools() {
        for i in 0..pool.workers as usize {
            let head = &r.nodes[node].addr;
            for rank in 0..pool.nodes_per_worker as usize {
                let port = port().map_err(fail)?;
                let slot = Slot {
                    role,
                    rank,
                    nodes_per_worker: pool.nodes_per_worker,
                    head,
                    node: &r.nodes[node + rank],
                    port,
                };
                let suffix = if pool.nodes_per_worker > 1 {
                    format!(".{rank}")
                } else {
                    String::new()
                };
                if rank == 0 {
                    heads[role as usize].push(format!("http://{head}:{port}"));
                }
                workers.push(WorkerProcess {
                    name: format!("{}-{i}{suffix}", role.name()),
                    nodes: vec![node + rank],
                    tasks_per_node: 1,
                    mpi: false,
                    // The leader serves HTTP and is waited for there.
                    port: (rank == 0).then_some(port),
                    command: command(&slot),
                    image: None,
                });
            }
            node += pool.nodes_per_worker as usize;
        }
    }
    Ok((workers, heads))
}

/// The deployment of `workers` behind `router` (on the first node, at `router_port`).
fn assemble(
    p: Prepared,
    workers: Vec<WorkerProcess>,
    router: ServerCommand,
    router_port: u16,
    ready: Ready,
) -> ClusterDeployment {
    ClusterDeployment {
        infra: Vec::new(),
        workers,
        frontends: Vec::new(),
        router: WorkerProcess {
            name: "router".into(),
            nodes: vec![0],
            tasks_per_node: 1,
            mpi: false,
            port: Some(router_port),
            command: router,
            image: None,
        },
        nodes_wanted: p.sizes.nodes(),
        ready,
        served_model: None,
        client: ClientSettings::default(),
        srun_options: Vec::new(),
        mounts: vec![p.utils],
    }
}
