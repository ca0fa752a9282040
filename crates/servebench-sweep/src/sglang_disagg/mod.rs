//! InferenceX's AMD disaggregated SGLang deployments (`framework: sglang-disagg`, MI355X) as
//! processes, from the same files InferenceX's launcher reads.
//!
//! InferenceX launches these rows with its own scripts (`benchmarks/multi_node/amd_utils`):
//! `submit.sh` sizes the workers from the row, `job.slurm` starts a container per node, and
//! `server_sglang.sh` there sources `env.sh` (the node's RDMA devices and network interface,
//! MoRI and SGLang settings) and starts `python3 -m sglang.launch_server` with the flags of the
//! model's `models.yaml` entry, then SGLang's PD router on the first node, then its own client.
//! servebench starts the same servers, with the same flags and environment, as steps of one
//! Slurm allocation, and measures the router with its own client. On each node the server's
//! command sources the `env.sh` of `--amd-utils` first, so what it detects there is detected
//! as InferenceX detects it. Where it deliberately differs (`docs/recipes.md`):
//! - the model path is the row's model (InferenceX's is `/models/<name>` in its container);
//! - ports are servebench's (one job's processes may share a host), and the router is told to
//!   listen on every interface (`--host 0.0.0.0`);
//! - `setup_deps.sh` is not run: nothing is installed at run time;
//! - a worker larger than a node gets its nodes (InferenceX's `job.slurm` starts one node per
//!   worker, so such a worker never forms there);
//! - the row's `kv-p2p-transfer` is applied as `server_sglang.sh` means to (InferenceX's
//!   `job.slurm` does not pass it on; every row today names the backend `models.yaml` has).

pub mod models;

use crate::cluster::{ClusterDeployment, Node, Ready, WorkerProcess};
use crate::engine::ServerCommand;
use crate::plan::{Job, Topology};
use crate::recipe::Worker;
use crate::RecipeError;
use models::{ModelEntry, PyText};
use servebench_core::shell::quote;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AmdError {
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    /// The row or the launcher's files ask for what servebench does not launch.
    #[error("{0}")]
    Unsupported(String),
}

/// The port `server_sglang.sh` gives `--dist-init-addr` of a worker spanning nodes.
const DIST_INIT_PORT: u16 = 20000;

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
            return Err(format!("InferenceX's launcher gives SGLang no pipeline or context parallelism; its {role} asks for pp {} / dcp {} / pcp {}", w.pp, w.dcp_size, w.pcp_size));
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
            // server_sglang.sh: (TP + 7) / GPUS_PER_NODE.
            nodes_per_worker: ((w.tp + 7) / gpus_per_node).max(1),
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
pub struct Render<'a> {
    pub job: &'a Job,
    pub nodes: &'a [Node],
    /// InferenceX's `benchmarks/multi_node/amd_utils` (`models.yaml`, `env.sh`).
    pub amd_utils: &'a Path,
}

/// A word of a server's command line: literal, or shell text evaluated on its node.
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

/// Every process of `job`'s deployment on `nodes`, ports from `port` (router last).
pub fn deployment(
    r: &Render,
    mut port: impl FnMut() -> std::io::Result<u16>,
) -> Result<ClusterDeployment, AmdError> {
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
    let utils = std::path::absolute(r.amd_utils).unwrap_or_else(|_| r.amd_utils.to_path_buf());
    let env_sh = utils.join("env.sh");
    if !env_sh.is_file() {
        return Err(fail(format!(
            "{} not found: --amd-utils names InferenceX's benchmarks/multi_node/amd_utils",
            env_sh.display()
        )));
    }
    let file = utils.join("models.yaml");
    let models = models::load(&file)?;
    let name = model_name(&job.model);
    let (_, entry) = models.entry(name).ok_or_else(|| {
        fail(format!(
            "{} has neither {name}-DI nor {name}, the entries InferenceX's launcher looks for",
            file.display()
        ))
    })?;
    let flags = Flags::new(entry, &s, job, &file).map_err(fail)?;
    let base_env = node_env(name, &s);
    let mut workers = Vec::new();
    let mut heads = [Vec::new(), Vec::new()];
    let mut node = 0usize;
    for (role, pool) in [(Role::Prefill, s.prefill), (Role::Decode, s.decode)] {
        for i in 0..pool.workers as usize {
            let head = &r.nodes[node].addr;
            for rank in 0..pool.nodes_per_worker as usize {
                let p = port().map_err(|e| fail(e.to_string()))?;
                let dist = (pool.nodes_per_worker > 1).then(|| {
                    (
                        format!("{head}:{DIST_INIT_PORT}"),
                        pool.nodes_per_worker,
                        rank,
                    )
                });
                let script = launch_script(role, &flags, &s, job, p, dist);
                let suffix = if pool.nodes_per_worker > 1 {
                    format!(".{rank}")
                } else {
                    String::new()
                };
                if rank == 0 {
                    heads[role as usize].push(format!("http://{head}:{p}"));
                }
                workers.push(WorkerProcess {
                    name: format!("{}-{i}{suffix}", role.name()),
                    nodes: vec![node + rank],
                    tasks_per_node: 1,
                    mpi: false,
                    // The leader serves HTTP; ready when it accepts there (InferenceX's barrier).
                    port: (rank == 0).then_some(p),
                    command: ServerCommand {
                        program: "bash".into(),
                        args: vec!["-c".into(), script, env_sh.display().to_string()],
                        env: base_env.clone(),
                        files: Vec::new(),
                    },
                    image: None,
                });
            }
            node += pool.nodes_per_worker as usize;
        }
    }
    let router_port = port().map_err(|e| fail(e.to_string()))?;
    Ok(ClusterDeployment {
        infra: Vec::new(),
        workers,
        frontends: Vec::new(),
        router: WorkerProcess {
            name: "router".into(),
            nodes: vec![0],
            tasks_per_node: 1,
            mpi: false,
            port: Some(router_port),
            command: router(
                router_port,
                &heads,
                node_prologue(&flags, &s),
                &env_sh,
                &base_env,
            ),
            image: None,
        },
        nodes_wanted: wanted as u32,
        ready: Ready::SglangRouter,
        served_model: None,
        srun_options: Vec::new(),
        mounts: vec![utils],
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

/// What the container of every node has from `job.slurm` that `env.sh` and the flags read.
fn node_env(model_name: &str, s: &Sizes) -> Vec<(String, String)> {
    let b = |x: bool| x.to_string();
    [
        ("MODEL_NAME", model_name.to_string()),
        ("ENGINE", "sglang-disagg".into()),
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

/// The server flags of both roles, as `build_server_config` composes them.
struct Flags {
    prefill: Vec<Word>,
    decode: Vec<Word>,
    /// `SGLANG_MORI_DISPATCH_INTER_KERNEL_SWITCH_THRESHOLD` and the decode dispatch tokens
    /// where decode runs DP attention with EP (set from the row's largest concurrency).
    dp_ep_dispatch: Option<u32>,
    /// Prefill runs two-batch overlap (and MoRI's SDMA with it).
    sdma: bool,
}

/// Words of a `models.yaml` flags string, split as the shell splits them; anything the shell
/// would expand or run instead of pass on is refused.
fn flag_words(text: &Option<PyText>, field: &str) -> Result<Vec<Word>, String> {
    let Some(PyText(t)) = text else {
        return Ok(Vec::new());
    };
    if let Some(c) = t.chars().find(|c| "$`;|&<>()\n\\".contains(*c)) {
        return Err(format!(
            "models.yaml {field}: `{c}` would be run by the shell, not passed to the server"
        ));
    }
    let words = shell_words::split(t).map_err(|e| format!("models.yaml {field}: {e} in `{t}`"))?;
    Ok(words.into_iter().map(Word::Lit).collect())
}

fn text_or<'a>(t: &'a Option<PyText>, default: &'a str) -> &'a str {
    t.as_ref().map_or(default, |t| t.0.as_str())
}

fn flag_on(t: &Option<PyText>, default: bool) -> bool {
    t.as_ref().map_or(default, PyText::is_true)
}

fn seq(start: u32, end: u32) -> impl Iterator<Item = Word> {
    (start..=end).map(|b| Word::Lit(b.to_string()))
}

impl Flags {
    fn new(m: &ModelEntry, s: &Sizes, job: &Job, file: &Path) -> Result<Flags, String> {
        let at = |f: &str| format!("{}: {f}", file.display());
        let mut base = flag_words(&m.base_flags, "base_flags")?;
        apply_kv_transfer(&mut base, job.kv_p2p_transfer.as_deref());
        let ep = flag_words(&m.ep_flags, "ep_flags")?;
        let dp = flag_words(&m.dp_flags, "dp_flags")?;
        let mut mtp = Vec::new();
        if s.mtp > 0 {
            mtp = flag_words(&m.mtp_flags, "mtp_flags")?;
            mtp.extend(lits(["--speculative-num-steps"]));
            mtp.push(Word::Lit(s.mtp.to_string()));
            mtp.extend(lits(["--speculative-num-draft-tokens"]));
            mtp.push(Word::Lit((s.mtp + 1).to_string()));
        }
        let (prefill_mode, sdma, context) = prefill_mode(m, s).map_err(|e| at(&e))?;
        let (decode_mode, dp_ep_dispatch) = decode_mode(m, s, context);
        let compose = |pool: &Pool, mode: Vec<Word>| {
            let mut w = vec![
                Word::Lit("--tp-size".into()),
                Word::Lit(pool.tp.to_string()),
            ];
            if pool.ep {
                w.extend([
                    Word::Lit("--ep-size".into()),
                    Word::Lit(pool.tp.to_string()),
                ]);
            }
            if pool.dp {
                w.extend([
                    Word::Lit("--dp-size".into()),
                    Word::Lit(pool.tp.to_string()),
                ]);
            }
            w.extend(base.iter().cloned());
            if pool.ep {
                w.extend(ep.iter().cloned());
            }
            w.extend(mtp.iter().cloned());
            if pool.dp {
                w.extend(dp.iter().cloned());
            }
            w.extend(mode);
            w
        };
        Ok(Flags {
            prefill: compose(&s.prefill, prefill_mode),
            decode: compose(&s.decode, decode_mode),
            dp_ep_dispatch,
            sdma,
        })
    }
}

/// The row's KV transfer backend in place of `models.yaml`'s where they differ
/// (`apply_kv_p2p_transfer_override`).
fn apply_kv_transfer(base: &mut Vec<Word>, backend: Option<&str>) {
    let Some(backend) = backend else { return };
    let flag = Word::Lit("--disaggregation-transfer-backend".into());
    let current = base.iter().position(|w| *w == flag);
    if current.is_some_and(|i| base.get(i + 1) == Some(&Word::Lit(backend.into()))) {
        return;
    }
    while let Some(i) = base.iter().position(|w| *w == flag) {
        base.drain(i..(i + 2).min(base.len()));
    }
    base.extend([flag, Word::Lit(backend.into())]);
}

/// The prefill's mode flags, whether it overlaps two batches, and its context length (decode
/// falls back to it).
fn prefill_mode(m: &ModelEntry, s: &Sizes) -> Result<(Vec<Word>, bool, String), String> {
    let p = &m.prefill;
    let dp = s.prefill.dp;
    let (running, chunk, graphs, context, total, overlap) = if dp {
        let d = &p.dp;
        let graphs: Vec<Word> = text_or(&d.cuda_graph_bs, "1 2 3")
            .split_whitespace()
            .map(|w| Word::Lit(w.into()))
            .collect();
        (
            text_or(&d.max_running_requests, "24").to_string(),
            chunk_size(&d.chunked_prefill_size, "prefill.dp.chunked_prefill_size")?,
            graphs,
            text_or(&d.context_length, "").to_string(),
            text_or(&d.max_total_tokens, "").to_string(),
            flag_on(&d.enable_two_batch_overlap, false),
        )
    } else {
        let d = &p.no_dp;
        let (a, b) = d.cuda_graph_bs_range.unwrap_or_default().or(1, 128);
        (
            text_or(&d.max_running_requests, "128").to_string(),
            chunk_size(
                &d.chunked_prefill_size,
                "prefill.no_dp.chunked_prefill_size",
            )?,
            seq(a, b).collect(),
            text_or(&d.context_length, "").to_string(),
            text_or(&d.max_total_tokens, "").to_string(),
            false,
        )
    };
    let running = if dp && s.prefill.ep {
        s.max_conc.to_string()
    } else {
        running
    };
    let mut w: Vec<Word> = lits(["--mem-fraction-static"]);
    w.push(Word::Lit(text_or(&p.mem_fraction_static, "0.8").into()));
    w.extend([
        Word::Lit("--max-running-requests".into()),
        Word::Lit(running),
    ]);
    w.extend([Word::Lit("--chunked-prefill-size".into()), chunk]);
    if flag_on(&p.disable_cuda_graph, false) {
        w.extend(lits(["--disable-cuda-graph"]));
    } else {
        w.extend(lits(["--cuda-graph-bs"]));
        w.extend(graphs);
    }
    if flag_on(&p.disable_radix_cache, true) {
        w.extend(lits(["--disable-radix-cache"]));
    }
    if !context.is_empty() {
        w.extend([
            Word::Lit("--context-length".into()),
            Word::Lit(context.clone()),
        ]);
    }
    if !total.is_empty() {
        w.extend([Word::Lit("--max-total-tokens".into()), Word::Lit(total)]);
    }
    if overlap {
        w.extend(lits(["--enable-two-batch-overlap"]));
    }
    Ok((w, overlap, context))
}

/// `chunked_prefill_size`: a number, or a formula the node evaluates (default 262144).
fn chunk_size(v: &Option<serde_norway::Value>, field: &str) -> Result<Word, String> {
    let Some(v) = v else {
        return Ok(Word::Lit("262144".into()));
    };
    let text = models::shell_arithmetic(v, field)?;
    Ok(if text.starts_with('$') {
        Word::Shell(text)
    } else {
        Word::Lit(text)
    })
}

/// The decode's mode flags, and its dispatch tokens per rank where DP attention with EP sets
/// them from the row's largest concurrency.
fn decode_mode(m: &ModelEntry, s: &Sizes, prefill_context: String) -> (Vec<Word>, Option<u32>) {
    let d = &m.decode;
    let tp = s.decode.tp;
    let (graphs, mut running, context) = if s.decode.dp {
        let (a, b) = d.dp.cuda_graph_bs_range.unwrap_or_default().or(1, 160);
        (
            seq(a, b),
            (u64::from(b) * u64::from(tp)).to_string(),
            &d.dp.context_length,
        )
    } else if s.decode.ep {
        let (a, b) = d.ep_only.cuda_graph_bs_range.unwrap_or_default().or(1, 256);
        let r = text_or(&d.ep_only.max_running_requests, "256").to_string();
        (seq(a, b), r, &d.ep_only.context_length)
    } else {
        let (a, b) = d.no_dp.cuda_graph_bs_range.unwrap_or_default().or(1, 128);
        let r = text_or(&d.no_dp.max_running_requests, "128").to_string();
        (seq(a, b), r, &d.no_dp.context_length)
    };
    // Decode admits against the prefill's context length where it sets none.
    let context = match text_or(context, "") {
        "" => prefill_context,
        c => c.to_string(),
    };
    let mut dispatch = None;
    if s.decode.dp && s.decode.ep {
        running = s.max_conc.to_string();
        dispatch = Some(s.max_conc / tp);
    }
    let mut w: Vec<Word> = lits(["--mem-fraction-static"]);
    w.push(Word::Lit(text_or(&d.mem_fraction_static, "0.85").into()));
    w.extend([
        Word::Lit("--max-running-requests".into()),
        Word::Lit(running),
    ]);
    w.extend(lits(["--cuda-graph-bs"]));
    w.extend(graphs);
    if flag_on(&d.prefill_round_robin_balance, true) {
        w.extend(lits(["--prefill-round-robin-balance"]));
    }
    if !context.is_empty() {
        w.extend([Word::Lit("--context-length".into()), Word::Lit(context)]);
    }
    if flag_on(&d.disagg_decode_enable_radix_cache, false) {
        w.extend(lits(["--disaggregation-decode-enable-radix-cache"]));
    }
    (w, dispatch)
}

/// `env.sh` sourced (it is `$0`), then what `server_sglang.sh` derives from it on every node,
/// before any process of the node starts.
fn node_prologue(f: &Flags, s: &Sizes) -> Vec<String> {
    let mut lines = vec![
        r#"[ -r "$0" ] || { echo "cannot read $0 (InferenceX's env.sh)" >&2; exit 1; }"#
            .to_string(),
        r#"source "$0""#.to_string(),
    ];
    // On every node, prefill ones too, as server_sglang.sh does (env.sh exported the
    // variable, so the new value reaches every server's environment).
    if let Some(tokens) = f.dp_ep_dispatch {
        lines.push(format!("MORI_MAX_DISPATCH_TOKENS_DECODE={tokens}"));
        lines.push(format!(
            "export SGLANG_MORI_DISPATCH_INTER_KERNEL_SWITCH_THRESHOLD={}",
            tokens * 2
        ));
    }
    if s.mtp > 0 {
        lines.push(format!(
            "MORI_MAX_DISPATCH_TOKENS_DECODE=$((MORI_MAX_DISPATCH_TOKENS_DECODE * {}))",
            s.mtp + 1
        ));
    }
    lines
}

/// The shell script one server runs with `env.sh` as `$0`: the node's prologue, then the
/// server with its per-process variables.
fn launch_script(
    role: Role,
    f: &Flags,
    s: &Sizes,
    job: &Job,
    port: u16,
    dist: Option<(String, u32, usize)>,
) -> String {
    let mut lines = node_prologue(f, s);
    let (suffix, flags) = match role {
        Role::Prefill => ("PREFILL", &f.prefill),
        Role::Decode => ("DECODE", &f.decode),
    };
    let mut env = vec![format!(
        "SGLANG_MORI_COMBINE_DTYPE=\"$MORI_COMBINE_DTYPE_{suffix}\""
    )];
    if role == Role::Prefill && f.sdma {
        env.push("MORI_ENABLE_SDMA=true".into());
    }
    env.push(format!(
        "${{MORI_MOE_MAX_INPUT_TOKENS_{suffix}:+SGLANG_MORI_MOE_MAX_INPUT_TOKENS=$MORI_MOE_MAX_INPUT_TOKENS_{suffix}}}"
    ));
    env.push(format!("SGLANG_MORI_NUM_MAX_DISPATCH_TOKENS_PER_RANK=\"${{MORI_NUM_MAX_DISPATCH_TOKENS_PER_RANK_{suffix}:-$MORI_MAX_DISPATCH_TOKENS_{suffix}}}\""));
    env.push("MORI_IO_SQ_BACKOFF_TIMEOUT_US=\"$MORI_IO_SQ_BACKOFF_TIMEOUT_US\"".into());
    env.push("MORI_IO_QP_MAX_SEND_WR=\"$MORI_IO_QP_MAX_SEND_WR\"".into());
    let mut words: Vec<Word> = lits(["python3", "-m", "sglang.launch_server", "--model-path"]);
    words.push(Word::Lit(job.model.clone()));
    words.extend(lits([
        "--disaggregation-mode",
        role.name(),
        "--disaggregation-ib-device",
    ]));
    words.push(Word::Shell("$IBDEVICES".into()));
    words.extend(lits(["--host", "0.0.0.0", "--port"]));
    words.push(Word::Lit(port.to_string()));
    words.extend(lits(["--trust-remote-code"]));
    words.extend(flags.iter().cloned());
    if let Some((addr, nnodes, rank)) = dist {
        words.extend(lits(["--dist-init-addr", &addr, "--nnodes"]));
        words.push(Word::Lit(nnodes.to_string()));
        words.push(Word::Lit("--node-rank".into()));
        words.push(Word::Lit(rank.to_string()));
    }
    let command: Vec<String> = words.iter().map(Word::render).collect();
    lines.push(format!("exec env {} {}", env.join(" "), command.join(" ")));
    lines.join("; ")
}

/// SGLang's PD router with `server_sglang.sh`'s policy and circuit-breaker settings for
/// fixed-length runs, in front of the prefill and decode leaders: after the first node's
/// prologue (`env.sh` as `$0`), as it runs in that node's container.
fn router(
    port: u16,
    heads: &[Vec<String>; 2],
    mut lines: Vec<String>,
    env_sh: &Path,
    env: &[(String, String)],
) -> ServerCommand {
    let mut args: Vec<String> = [
        "python",
        "-m",
        "sglang_router.launch_router",
        "--pd-disaggregation",
        "--host",
        "0.0.0.0",
        "--port",
    ]
    .map(String::from)
    .to_vec();
    args.push(port.to_string());
    args.extend(
        [
            "--policy",
            "random",
            "--prefill-policy",
            "random",
            "--decode-policy",
            "random",
            "--cb-timeout-duration-secs",
            "15",
            "--retry-max-retries",
            "3",
        ]
        .map(String::from),
    );
    for (flag, urls) in ["--prefill", "--decode"].iter().zip(heads) {
        for url in urls {
            args.extend([flag.to_string(), url.clone()]);
        }
    }
    let words: Vec<String> = args.iter().map(|a| quote(a)).collect();
    lines.push(format!("exec {}", words.join(" ")));
    let mut env = env.to_vec();
    env.push(("NO_COLOR".into(), "1".into()));
    ServerCommand {
        program: "bash".into(),
        args: vec!["-c".into(), lines.join("; "), env_sh.display().to_string()],
        env,
        files: Vec::new(),
    }
}

/// InferenceX's `amd_utils` folder as given: a folder holding `models.yaml` and `env.sh`.
pub fn check_amd_utils(dir: &Path) -> Result<PathBuf, String> {
    for f in ["models.yaml", "env.sh"] {
        if !dir.join(f).is_file() {
            return Err(format!(
                "{}: no {f} there; --amd-utils names InferenceX's benchmarks/multi_node/amd_utils",
                dir.display()
            ));
        }
    }
    Ok(std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()))
}
