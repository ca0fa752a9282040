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
//! The simulated engine is the only framework launched multi-node so far: each worker is
//! `servebench sim --role prefill|decode` with its pool's parallelism, MTP and KV link, and the
//! router `servebench sim --role router`. A recipe of another framework fails at plan time with
//! the reason.

use crate::engine::{sim_args, sim_gpu, Engines, Launch, ServerCommand, SimServer};
use crate::plan::{Job, Topology, Workload};
use crate::recipe::Worker;
use crate::virtual_time::{acceptance, Shape};
use servebench_catalog::Catalog;

/// A node of the allocation: the name Slurm places steps on, and the address its servers
/// listen on and are reached at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub addr: String,
}

/// One worker process.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerProcess {
    /// `prefill-0`, `decode-3`, `worker-1` (aggregated): its log's name.
    pub name: String,
    /// Index into the allocation's nodes.
    pub node: usize,
    pub port: u16,
    pub command: ServerCommand,
}

/// Every process of a multi-node deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterDeployment {
    pub workers: Vec<WorkerProcess>,
    /// The router, on node 0, at [`ClusterDeployment::router_port`].
    pub router: ServerCommand,
    pub router_port: u16,
    /// Nodes the layout asks for (one per `gpus_per_node` GPUs of the workers).
    pub nodes_wanted: u32,
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
    let Workload::Fixed { .. } = job.workload else {
        return Err(format!(
            "{}: agentic-coding (trace replay) jobs are not run by servebench yet",
            job.config_key
        ));
    };
    if l.engines != Engines::Sim && job.framework != "sim" {
        return Err(format!(
            "{}: servebench launches multi-node {} deployments on the simulated engine only so far (--engines sim); its workers' commands for real engines are not written yet",
            job.config_key, job.framework
        ));
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
    for (role, w) in roles {
        for i in 0..w.num_worker {
            let node = (gpu / per_node) as usize % nodes_n;
            gpu += w.gpus_per_replica();
            let p = port().map_err(|e| e.to_string())?;
            let command = sim_worker(job, l, &catalog, role, w, &nodes[node].addr, p)?;
            workers.push(WorkerProcess {
                name: format!("{role}-{i}"),
                node,
                port: p,
                command,
            });
        }
    }
    let router_port = port().map_err(|e| e.to_string())?;
    let url = |w: &WorkerProcess| format!("http://{}:{}", nodes[w.node].addr, w.port);
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
            &job.max_model_len().expect("fixed").to_string(),
        ]
        .map(String::from),
    );
    Ok(ClusterDeployment {
        workers,
        router: ServerCommand {
            program: l.servebench.display().to_string(),
            args,
            env: Vec::new(),
            files: Vec::new(),
        },
        router_port,
        nodes_wanted: nodes_wanted(job),
    })
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

/// `cmd` as a step of this allocation on `node`: one task, sharing the allocation's CPUs with
/// the other steps (`--overlap`), the whole step killed if it fails.
pub fn on_node(cmd: &ServerCommand, node: &str) -> ServerCommand {
    let mut args: Vec<String> = [
        "--overlap",
        "--nodes=1",
        "--ntasks=1",
        "--kill-on-bad-exit=1",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("--nodelist={node}"));
    args.push(cmd.program.clone());
    args.extend(cmd.args.iter().cloned());
    ServerCommand {
        program: "srun".into(),
        args,
        env: cmd.env.clone(),
        files: Vec::new(),
    }
}
