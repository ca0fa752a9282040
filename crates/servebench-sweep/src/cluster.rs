//! Multi-node deployments as processes: the prefill and decode workers of a job (or its
//! aggregated workers) and the router in front of them, each with its command, node and port.
//!
//! A worker of `g` GPUs starts at the node its first GPU falls on, workers laid out in order
//! (prefill first) over nodes of [`gpus_per_node`] GPUs, as InferenceX's srt-slurm launcher
//! fills an allocation. Where the allocation has fewer nodes than that (a test cluster,
//! `--slurm-max-nodes`), workers wrap around onto the nodes there are, oversubscribed. The
//! router runs where the job's own process runs (the allocation's first node), as Dynamo's
//! frontend and SGLang's router run on the head node.
//!
//! On the simulated engine each worker is `servebench sim --role prefill|decode` with its
//! pool's parallelism, MTP and KV link, and the router `servebench sim --role router`. On real
//! engines the deployment is the one the row's srt-slurm recipe (`CONFIG_FILE`) describes
//! ([`crate::srt`]): etcd and NATS, the workers' framework commands and Dynamo's frontend as
//! the router; on InferenceX's AMD disaggregated rows, the servers and router its own AMD
//! launcher starts ([`crate::amd`]); on its llm-d rows, vLLM, llm-d's sidecars, endpoint
//! picker and Envoy as its llm-d launcher starts them ([`crate::llmd`]). A recipe servebench cannot launch fails
//! its job before anything starts, with the reason.

use crate::engine::{sim_args, sim_gpu, Engines, Launch, ServerCommand, SimServer};
use crate::plan::{Job, Topology, Workload};
use crate::recipe::Worker;
use crate::virtual_time::{acceptance, Shape};
use servebench_catalog::Catalog;
use std::path::PathBuf;

/// A node of the allocation: the name Slurm places steps on, and the address its servers
/// listen on and are reached at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub addr: String,
}

/// One process of a deployment (or one MPI step of several ranks).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerProcess {
    /// `prefill-0`, `decode-3`, `worker-1` (aggregated), `decode-0.1` (its second node),
    /// `etcd`: its log's name.
    pub name: String,
    /// Indices into the allocation's nodes: the node it runs on, or every node of an MPI step.
    pub nodes: Vec<usize>,
    /// Ranks per node of an MPI step (1 otherwise).
    pub tasks_per_node: u32,
    /// An MPI step (`srun --mpi=pmix`): TensorRT-LLM's workers.
    pub mpi: bool,
    /// The port it answers on: a simulated worker's health is checked there, an infra
    /// process is ready when it accepts. Real workers register with the router instead.
    pub port: Option<u16>,
    pub command: ServerCommand,
    /// The image it runs in where steps run in containers, when not the job's (nginx).
    pub image: Option<String>,
}

impl WorkerProcess {
    pub fn node(&self) -> usize {
        self.nodes[0]
    }
}

/// When the deployment is ready for requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// Every worker's and the router's health endpoint answers 200.
    Health,
    /// Dynamo's frontend lists this many `generate` instances of each kind on `/health`.
    DynamoInstances { prefill: u32, decode: u32 },
    /// Every worker passes `workers` on its port, then the router answers 200 on `router`, on
    /// its own port or `router_port` (the barriers of InferenceX's own launchers).
    Probes {
        workers: Probe,
        router: &'static str,
        router_port: Option<u16>,
    },
}

/// How a worker is seen to be up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// It accepts connections.
    Accepting,
    /// This path answers 200.
    Ok(&'static str),
}

/// Where the launch recipes of real-engine multi-node rows are read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchRecipes {
    /// srt-slurm recipe folders (`--srt-recipes`), searched in order for a row's `CONFIG_FILE`
    /// after InferenceX's own.
    pub srt: Vec<PathBuf>,
    /// An InferenceX checkout (`--inferencex`): its own launchers' files (`benchmarks/`).
    pub inferencex: Option<PathBuf>,
}

impl LaunchRecipes {
    /// Where srt-slurm recipes are looked for: InferenceX's
    /// `benchmarks/multi_node/srt-slurm-recipes`, then the `--srt-recipes` folders.
    pub fn srt_dirs(&self) -> Vec<PathBuf> {
        let own = self
            .inferencex
            .iter()
            .map(|d| d.join("benchmarks/multi_node/srt-slurm-recipes"));
        own.chain(self.srt.iter().cloned()).collect()
    }

    /// InferenceX's `benchmarks` folder, for a row its own scripts launch.
    fn benchmarks(&self, job: &Job) -> Result<PathBuf, String> {
        self.inferencex
            .as_ref()
            .map(|d| d.join("benchmarks"))
            .ok_or_else(|| {
                format!(
                    "{}: a {} row is launched by InferenceX's own scripts, from the files of its checkout (benchmarks/): pass it with --inferencex DIR",
                    job.config_key, job.framework
                )
            })
    }
}

/// What InferenceX's own launchers render a deployment from: the job, the allocation's
/// nodes, and the `benchmarks` folder of an InferenceX checkout.
pub struct IxRender<'a> {
    pub job: &'a Job,
    pub nodes: &'a [Node],
    pub benchmarks: &'a std::path::Path,
}

/// Which of InferenceX's own multi-node launchers starts a row (the rest go through
/// srt-slurm recipes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IxLauncher {
    Amd,
    Llmd,
    Tilert,
}

impl IxLauncher {
    fn name(self) -> &'static str {
        match self {
            IxLauncher::Amd => "InferenceX's AMD launcher",
            IxLauncher::Llmd => "llm-d",
            IxLauncher::Tilert => "TileRT",
        }
    }
}

fn ix_launcher(framework: &str) -> Option<IxLauncher> {
    match framework {
        f if crate::amd::Launcher::of(f).is_some() => Some(IxLauncher::Amd),
        f if f.starts_with("llmd") => Some(IxLauncher::Llmd),
        "tilert" => Some(IxLauncher::Tilert),
        _ => None,
    }
}

/// A real-engine deployment: from InferenceX's own launcher's files, or the row's srt-slurm
/// recipe.
fn real_deployment(
    job: &Job,
    l: &Launch,
    nodes: &[Node],
    port: impl FnMut() -> std::io::Result<u16>,
) -> Result<ClusterDeployment, String> {
    let Some(launcher) = ix_launcher(&job.framework) else {
        let dirs = l.recipes.srt_dirs();
        let (file, recipe) = srt_recipe(job, &dirs)?;
        let r = crate::srt::Render {
            job,
            file: &file,
            nodes,
            dirs: &dirs,
        };
        return crate::srt::deployment(&recipe, &r).map_err(|e| format!("{}: {e}", job.config_key));
    };
    let benchmarks = l.recipes.benchmarks(job)?;
    let r = IxRender {
        job,
        nodes,
        benchmarks: &benchmarks,
    };
    match launcher {
        IxLauncher::Amd => crate::amd::deployment(&r, port).map_err(|e| e.to_string()),
        IxLauncher::Llmd => crate::llmd::deployment(&r).map_err(|e| e.to_string()),
        IxLauncher::Tilert => crate::tilert::deployment(&r).map_err(|e| e.to_string()),
    }
}

/// An InferenceX checkout as given: a folder with its multi-node launchers.
pub fn check_inferencex(dir: &std::path::Path) -> Result<PathBuf, String> {
    if !dir.join("benchmarks/multi_node").is_dir() {
        return Err(format!(
            "{}: no benchmarks/multi_node there; --inferencex names an InferenceX checkout",
            dir.display()
        ));
    }
    Ok(std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()))
}

/// What the client sends a deployment beyond the requests: the headers carrying each session's
/// id (none: the sweep's default), and the longest turn its service takes (where the recipe
/// limits it); and the workers' `/metrics` endpoints (`http://addr:port`), read with the
/// router's over a replay's window: those computing prompts for their cache counters and KV
/// use, decode workers of a disaggregated deployment for their KV use only (the prompts' KV
/// comes to them from the prefill side).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    pub session_headers: Vec<String>,
    pub max_context: Option<u32>,
    pub metrics_urls: Vec<String>,
    pub gauge_urls: Vec<String>,
}

impl ClientSettings {
    /// The metrics endpoints of `workers`, named by role (`decode-…` gauges only).
    pub fn endpoints<'a>(
        mut self,
        workers: impl Iterator<Item = (&'a WorkerProcess, String)>,
    ) -> ClientSettings {
        for (w, url) in workers {
            if w.name.starts_with("decode") {
                self.gauge_urls.push(url);
            } else {
                self.metrics_urls.push(url);
            }
        }
        self
    }
}

/// Every process of a multi-node deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterDeployment {
    /// What the workers need running first (etcd, NATS).
    pub infra: Vec<WorkerProcess>,
    pub workers: Vec<WorkerProcess>,
    /// Dynamo's frontends behind the router, where there are several.
    pub frontends: Vec<WorkerProcess>,
    /// What the client talks to: `sim --role router`, Dynamo's frontend, or nginx in front of
    /// several.
    pub router: WorkerProcess,
    /// Nodes the layout asks for.
    pub nodes_wanted: u32,
    pub ready: Ready,
    /// The name the router serves the model under, where it is not the row's.
    pub served_model: Option<String>,
    /// What an agentic replay sends besides the requests (the default: its own).
    pub client: ClientSettings,
    /// Extra `srun` options of every worker step (an srt-slurm recipe's `srun_options`).
    pub srun_options: Vec<String>,
    /// Host folders its commands read (a setup script's), mounted where steps run in
    /// containers.
    pub mounts: Vec<PathBuf>,
}

/// GPUs of one node of a runner: 4 on GB200/GB300 NVL72 compute trays, 8 elsewhere (the
/// `gpus_per_node` InferenceX's srt-slurm launchers write into `srtslurm.yaml`).
pub fn gpus_per_node(runner: &str) -> u32 {
    let gpu = runner.strip_prefix("cluster:").unwrap_or(runner);
    if gpu.starts_with("gb200") || gpu.starts_with("gb300") {
        4
    } else {
        8
    }
}

/// Nodes a multi-node job's workers fill.
pub fn nodes_wanted(job: &Job) -> u32 {
    job.gpus().div_ceil(gpus_per_node(&job.runner)).max(1)
}

/// The processes of `job` on `nodes` (at least one), ports from `port` (called once per
/// process, router last).
pub fn deployment(
    job: &Job,
    l: &Launch,
    nodes: &[Node],
    mut port: impl FnMut() -> std::io::Result<u16>,
) -> Result<ClusterDeployment, String> {
    let Topology::Multi { prefill, decode } = &job.topology else {
        return Err(format!("{}: not a multi-node job", job.config_key));
    };
    let simulated = l.engines == Engines::Sim || job.framework == "sim";
    // InferenceX's agentic rows go through srt-slurm recipes or its AMD SGLang launcher; the
    // other launchers have no agentic path servebench reproduces.
    let agentic_launch = match ix_launcher(&job.framework) {
        None => true,
        Some(IxLauncher::Amd) => {
            crate::amd::Launcher::of(&job.framework) == Some(crate::amd::Launcher::Sglang)
        }
        Some(_) => false,
    };
    if let (Workload::Agentic { .. }, false, false) = (&job.workload, simulated, agentic_launch) {
        return Err(format!(
            "{}: a multi-node agentic-coding row of {} runs on the simulated engine only (--engines sim): servebench reproduces InferenceX's agentic launch through srt-slurm recipes and its AMD SGLang launcher only",
            job.config_key,
            ix_launcher(&job.framework).map_or("this framework", IxLauncher::name)
        ));
    }
    if !simulated {
        return real_deployment(job, l, nodes, port);
    }
    let catalog = Catalog::builtin().map_err(|e| e.to_string())?;
    let aggregated = decode.num_worker == 0;
    let roles: Vec<(&str, &Worker)> = if aggregated {
        vec![("worker", prefill)]
    } else {
        vec![("prefill", prefill), ("decode", decode)]
    };
    let per_node = gpus_per_node(&job.runner);
    let nodes_n = nodes.len().max(1);
    let mut workers = Vec::new();
    let mut gpu = 0u32;
    let process = |name: &str, node, port, command| WorkerProcess {
        name: name.to_string(),
        nodes: vec![node],
        tasks_per_node: 1,
        mpi: false,
        port: Some(port),
        command,
        image: None,
    };
    for (role, w) in roles {
        for i in 0..w.num_worker {
            let node = (gpu / per_node) as usize % nodes_n;
            gpu += w.deployed_gpus();
            let p = port().map_err(|e| e.to_string())?;
            let command = sim_worker(job, l, &catalog, role, w, &nodes[node].addr, p)?;
            workers.push(process(&format!("{role}-{i}"), node, p, command));
        }
    }
    let router_port = port().map_err(|e| e.to_string())?;
    let url = |w: &WorkerProcess| {
        let port = w.port.expect("simulated workers listen on a port");
        format!("http://{}:{port}", nodes[w.node()].addr)
    };
    let mut args = vec!["sim".to_string(), "--role".into(), "router".into()];
    for w in &workers {
        let flag = if w.name.starts_with("decode") {
            "--decode"
        } else {
            "--prefill"
        };
        args.extend([flag.to_string(), url(w)]);
    }
    args.extend(
        [
            "--host",
            &nodes[0].addr,
            "--port",
            &router_port.to_string(),
            "--tokenizer",
            &l.tokenizer,
            "--model",
            &job.model,
            "--max-model-len",
            &crate::engine::sim_max_model_len(job, &catalog)?.to_string(),
        ]
        .map(String::from),
    );
    let router = ServerCommand {
        program: l.servebench.display().to_string(),
        args,
        env: Vec::new(),
        files: Vec::new(),
    };
    // The simulated workers count the cache hits and hold the KV cache; the router not.
    let client = ClientSettings::default().endpoints(workers.iter().map(|w| (w, url(w))));
    Ok(ClusterDeployment {
        infra: Vec::new(),
        workers,
        frontends: Vec::new(),
        router: process("router", 0, router_port, router),
        nodes_wanted: nodes_wanted(job),
        ready: Ready::Health,
        served_model: None,
        client,
        srun_options: Vec::new(),
        mounts: Vec::new(),
    })
}

/// The srt-slurm recipe a real-engine multi-node row names (`CONFIG_FILE`), found under
/// `dirs` and read.
pub fn srt_recipe(job: &Job, dirs: &[PathBuf]) -> Result<(PathBuf, crate::srt::SrtRecipe), String> {
    let Topology::Multi { prefill, decode } = &job.topology else {
        return Err(format!("{}: not a multi-node job", job.config_key));
    };
    // Rows launched by other tools than srt-slurm say so, whatever file they name.
    if let Some(why) = other_launcher(&job.framework) {
        return Err(format!(
            "{}: {why}; servebench does not launch it on real engines yet",
            job.config_key
        ));
    }
    let name = [prefill, decode]
        .iter()
        .flat_map(|w| w.additional_settings.iter().flatten())
        .find_map(|s| s.strip_prefix("CONFIG_FILE="))
        .ok_or_else(|| {
            format!(
                "{}: a {} multi-node row names no srt-slurm recipe (CONFIG_FILE= in its additional-settings), so servebench cannot tell its workers' commands",
                job.config_key, job.framework
            )
        })?;
    let err = |e: crate::srt::SrtError| format!("{}: {e}", job.config_key);
    let (file, variant) = crate::srt::locate(name, dirs).map_err(err)?;
    let recipe = crate::srt::load(&file, variant.as_deref()).map_err(err)?;
    Ok((file, recipe))
}

/// Multi-node frameworks InferenceX launches with its own scripts rather than srt-slurm.
fn other_launcher(framework: &str) -> Option<&'static str> {
    Some(match framework {
        "vllm-disagg" => "AMD's vLLM disaggregated deployments are launched by InferenceX's own scripts (benchmarks/multi_node/amd_utils), not srt-slurm",
        _ => return None,
    })
}

/// Nodes a job's task asks Slurm for: its launch recipe's on real engines, else the nodes
/// its workers fill.
pub fn nodes_needed(job: &Job, engines: Engines, r: &LaunchRecipes) -> Result<u32, String> {
    if engines == Engines::Sim || job.framework == "sim" {
        return Ok(nodes_wanted(job));
    }
    if let Some(launcher) = ix_launcher(&job.framework) {
        let benchmarks = r.benchmarks(job)?;
        return match launcher {
            IxLauncher::Amd => crate::amd::nodes_wanted(job).map_err(|e| e.to_string()),
            IxLauncher::Llmd => {
                crate::llmd::nodes_wanted(job, &benchmarks).map_err(|e| e.to_string())
            }
            IxLauncher::Tilert => crate::tilert::nodes_wanted(job).map_err(|e| e.to_string()),
        };
    }
    let (file, recipe) = srt_recipe(job, &r.srt_dirs())?;
    crate::srt::nodes_wanted(&recipe, job, &file).map_err(|e| format!("{}: {e}", job.config_key))
}

/// `servebench sim --role ROLE` serving one worker of pool `w`.
fn sim_worker(
    job: &Job,
    l: &Launch,
    catalog: &Catalog,
    role: &str,
    w: &Worker,
    host: &str,
    port: u16,
) -> Result<ServerCommand, String> {
    let gpu = sim_gpu(&job.runner, catalog)?;
    let domain = catalog
        .accelerator(&gpu)
        .map_err(|e| e.to_string())?
        .scale_up
        .domain_gpus
        .value;
    let shape = Shape::of(
        w.tp,
        w.ep,
        w.pp,
        w.dp_attn,
        w.additional_settings.as_deref().unwrap_or_default(),
    );
    // Decode workers (or aggregated ones) speculate; prefill workers sample one token.
    let spec = match role {
        "prefill" => None,
        _ => acceptance(job, job.conc[0], catalog)?,
    };
    // As in virtual time: the scale-up domain where all the job's GPUs share one.
    let kv_link = (role == "decode").then_some(if f64::from(job.gpus()) <= domain {
        "scale-up"
    } else {
        "scale-out"
    });
    let server = SimServer {
        role: Some(if role == "worker" { "whole" } else { role }),
        host,
        port,
        gpus: shape.gpus,
        ep: shape.ep,
        pp: shape.pp,
        dp_attn: shape.dp_attn,
        eplb: shape.eplb,
        spec,
        kv_link,
        time_scale: l.sim_time_scale,
    };
    let a = sim_args(job, l, catalog, &server)?;
    Ok(ServerCommand {
        program: l.servebench.display().to_string(),
        args: a,
        env: Vec::new(),
        files: Vec::new(),
    })
}

/// The first of the fixed ports workers listen on when the deployment spans nodes (each node
/// is the job's own there; on one node, free ports are picked instead).
pub const FIRST_PORT: u16 = 30000;

/// The nodes of the Slurm allocation this process runs in (`SLURM_JOB_NODELIST`, expanded by
/// `scontrol show hostnames`, each node's `NodeAddr`), the first the one running this; outside
/// an allocation, this host on loopback.
pub fn allocation_nodes() -> std::io::Result<Vec<Node>> {
    let list = std::env::var("SLURM_JOB_NODELIST").unwrap_or_default();
    if list.is_empty() {
        return Ok(vec![Node {
            name: "localhost".into(),
            addr: "127.0.0.1".into(),
        }]);
    }
    let names = crate::slurm::run_cmd("scontrol", &["show", "hostnames", &list])?;
    let mut nodes = Vec::new();
    for name in names.split_whitespace() {
        let info = crate::slurm::run_cmd("scontrol", &["show", "node", "-o", name])?;
        let addr = info
            .split_whitespace()
            .find_map(|f| f.strip_prefix("NodeAddr="))
            .unwrap_or(name)
            .to_string();
        nodes.push(Node {
            name: name.to_string(),
            addr,
        });
    }
    if nodes.is_empty() {
        return Err(std::io::Error::other(format!(
            "SLURM_JOB_NODELIST={list} names no node"
        )));
    }
    Ok(nodes)
}

/// One process a job would start, for a dry run: where, what, and the files it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedProcess {
    /// Node names (`node00`, …): one, or an MPI step's.
    pub nodes: Vec<String>,
    pub name: String,
    /// Ranks per node of an MPI step.
    pub mpi_ranks: Option<u32>,
    /// The command as it may be shown (secrets masked).
    pub command: String,
    /// Files written for it (TensorRT-LLM's settings, nginx's configuration).
    pub files: Vec<String>,
}

/// What `job` would start (without starting anything): its server, or every process of its
/// multi-node deployment on nodes `node00`, `node01`, … of its allocation.
pub fn dry_run(
    job: &Job,
    recipe: &crate::recipe::Recipe,
    l: &Launch,
) -> Result<Vec<PlannedProcess>, String> {
    let shown = |name: &str, nodes: Vec<String>, mpi_ranks, c: &ServerCommand| PlannedProcess {
        nodes,
        name: name.to_string(),
        mpi_ranks,
        command: c.redacted_line(),
        files: c.files.iter().map(|f| f.name.clone()).collect(),
    };
    if !job.is_multinode() {
        let c = crate::engine::server_command(job, recipe, l)?;
        return Ok(vec![shown("server", vec!["node00".into()], None, &c)]);
    }
    let n = nodes_needed(job, l.engines, &l.recipes)?;
    let nodes: Vec<Node> = (0..n.max(1))
        .map(|i| Node {
            name: format!("node{i:02}"),
            addr: format!("node{i:02}"),
        })
        .collect();
    let mut port = FIRST_PORT;
    let d = deployment(job, l, &nodes, || {
        port += 1;
        Ok(port - 1)
    })?;
    let all = d
        .infra
        .iter()
        .chain(&d.workers)
        .chain(&d.frontends)
        .chain([&d.router]);
    Ok(all
        .map(|p| {
            let on = p.nodes.iter().map(|&i| nodes[i].name.clone()).collect();
            shown(&p.name, on, p.mpi.then_some(p.tasks_per_node), &p.command)
        })
        .collect())
}

/// A container every step of a deployment runs in (pyxis/enroot): the job's image and mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepContainer {
    pub image: String,
    pub mounts: Vec<String>,
}

/// `p` as a step of this allocation on its nodes: its tasks sharing the allocation's CPUs with
/// the other steps (`--overlap`), the whole step killed if one fails; MPI ranks started by
/// Slurm's PMIx, as srt-slurm starts TensorRT-LLM's.
pub fn as_step(
    p: &WorkerProcess,
    nodes: &[Node],
    container: Option<&StepContainer>,
    srun_options: &[String],
) -> ServerCommand {
    let cmd = &p.command;
    let names: Vec<&str> = p.nodes.iter().map(|&n| nodes[n].name.as_str()).collect();
    let mut args: Vec<String> = vec!["--overlap".into(), format!("--nodes={}", names.len())];
    args.push(format!(
        "--ntasks={}",
        names.len() as u32 * p.tasks_per_node
    ));
    if p.mpi {
        args.extend(["--mpi=pmix", "--oversubscribe", "--cpu-bind=verbose,none"].map(String::from));
        args.push(format!("--ntasks-per-node={}", p.tasks_per_node));
    }
    args.push("--kill-on-bad-exit=1".into());
    args.push(format!("--nodelist={}", names.join(",")));
    if let Some(c) = container {
        args.push(format!(
            "--container-image={}",
            p.image.as_deref().unwrap_or(&c.image)
        ));
        args.push("--no-container-entrypoint".into());
        if !c.mounts.is_empty() {
            args.push(format!("--container-mounts={}", c.mounts.join(",")));
        }
    }
    args.extend(srun_options.iter().cloned());
    args.push(cmd.program.clone());
    // The command's files are named by index into its arguments: shift them past srun's.
    let shift = args.len();
    let files = cmd
        .files
        .iter()
        .map(|f| crate::engine::ServerFile {
            arg: f.arg + shift,
            ..f.clone()
        })
        .collect();
    args.extend(cmd.args.iter().cloned());
    ServerCommand {
        program: "srun".into(),
        args,
        env: cmd.env.clone(),
        files,
    }
}

/// Registered `generate` instances on a Dynamo frontend's `/health` answer, (prefill, decode):
/// `instances[]` entries whose `endpoint` is `generate`, by `component` (`prefill`; `decode`,
/// `backend` or `tensorrt_llm` serving tokens), as srt-slurm counts them.
pub fn dynamo_instances(health: &str) -> (u32, u32) {
    #[derive(serde::Deserialize)]
    struct Health {
        #[serde(default)]
        instances: Vec<Instance>,
    }
    #[derive(serde::Deserialize)]
    struct Instance {
        #[serde(default)]
        component: String,
        #[serde(default)]
        endpoint: String,
    }
    let Ok(h) = serde_json::from_str::<Health>(health) else {
        return (0, 0);
    };
    let generate = || h.instances.iter().filter(|i| i.endpoint == "generate");
    let prefill = generate().filter(|i| i.component == "prefill").count();
    let decode = generate()
        .filter(|i| ["decode", "backend", "tensorrt_llm"].contains(&i.component.as_str()))
        .count();
    (prefill as u32, decode as u32)
}

#[cfg(test)]
mod tests {
    use super::dynamo_instances;

    /// Answers shaped as Dynamo's health-check guide shows them: 200 before any worker has
    /// registered (so a 200 alone says nothing), then one entry per endpoint of each worker.
    #[test]
    fn dynamo_counts_registered_generate_endpoints_by_kind() {
        let before =
            r#"{"instances": [], "message": "No endpoints available", "status": "unhealthy"}"#;
        assert_eq!(dynamo_instances(before), (0, 0));
        let entry = |component: &str, endpoint: &str, id: u64| {
            format!(
                r#"{{"component": "{component}", "endpoint": "{endpoint}", "instance_id": {id}, "namespace": "dynamo", "transport": {{"nats_tcp": "dynamo_{component}.{endpoint}-{id:x}"}}}}"#
            )
        };
        let instances = [
            entry("prefill", "generate", 1),
            entry("prefill", "clear_kv_blocks", 1),
            entry("prefill", "generate", 2),
            entry("decode", "generate", 3),
            entry("decode", "clear_kv_blocks", 3),
            entry("tensorrt_llm", "generate", 4),
            entry("router", "generate", 5),
        ];
        let after = format!(
            r#"{{"endpoints": ["dyn://dynamo.prefill.generate"], "instances": [{}], "status": "healthy"}}"#,
            instances.join(", ")
        );
        // Two prefill workers; a decode worker and a TensorRT-LLM one; the router is neither.
        assert_eq!(dynamo_instances(&after), (2, 2));
        let aggregated = format!(r#"{{"instances": [{}]}}"#, entry("backend", "generate", 9));
        assert_eq!(dynamo_instances(&aggregated), (0, 1));
        assert_eq!(dynamo_instances("<html>502 Bad Gateway</html>"), (0, 0));
    }
}
