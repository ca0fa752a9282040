//! `framework: sglang-disagg`: `server_sglang.sh`'s servers and router.
//!
//! Each node sources `env.sh` (the node's RDMA devices, network interface and traffic class,
//! MoRI's and SGLang's variables), then what `server_sglang.sh` derives from it, then starts
//! `python3 -m sglang.launch_server` with the flags of the model's `models.yaml` entry
//! (`<name>-DI`, an agentic row's `<name>-AgentX`, else `<name>`) in `build_server_config`'s
//! order; SGLang's PD router runs on the first node. Beyond the module's shared differences: a worker larger than a node gets its
//! nodes (InferenceX's `job.slurm` starts one node per worker, so such a worker never forms
//! there), and the row's `kv-p2p-transfer` replaces the `models.yaml` backend where they differ,
//! as `server_sglang.sh` means to (InferenceX's `job.slurm` does not pass it on; every row
//! today names the backend `models.yaml` has).

use super::sglang_models::{self as models, ModelEntry};
use super::{
    assemble, bash_script, command_line, flag_on, flag_words, lits, model_name, place, prepare,
    source_env_file, text_or, AmdError, Launcher, Pool, Render, Role, Sizes, Slot, Word,
};
use crate::cluster::{ClusterDeployment, Probe, Ready};
use crate::plan::Job;
use std::path::Path;

/// The port `server_sglang.sh` gives `--dist-init-addr` of a worker spanning nodes.
const DIST_INIT_PORT: u16 = 20000;

/// Every process of `r.job`'s deployment on `r.nodes`, ports from `port` (router last).
pub fn deployment(
    r: &Render,
    mut port: impl FnMut() -> std::io::Result<u16>,
) -> Result<ClusterDeployment, AmdError> {
    let job = r.job;
    let fail = |e: String| AmdError::Unsupported(format!("{}: {e}", job.config_key));
    let mut p = prepare(r, Launcher::Sglang)?;
    let models = models::load(&p.models_file)?;
    let name = model_name(&job.model);
    let agentic = AgenticLaunch::of(job, p.sizes.mtp).map_err(fail)?;
    if let Some(a) = &agentic {
        // Before the environment file: it keeps what it is given of these.
        p.env
            .extend(a.env.iter().map(|(k, v)| (k.to_string(), v.clone())));
    }
    let variant = if agentic.is_some() { "AgentX" } else { "DI" };
    let (_, entry) = models.entry(name, agentic.is_some()).ok_or_else(|| {
        fail(format!(
            "{} has neither {name}-{variant} nor {name}, the entries InferenceX's launcher looks for",
            p.models_file.display()
        ))
    })?;
    let mut flags = Flags::new(entry, &p.sizes, job, &p.models_file).map_err(fail)?;
    if let Some(a) = &agentic {
        flags.agentic(a, &r.nodes[0].addr);
    }
    let (workers, heads) = place(r, &p, &mut port, |slot| {
        bash_script(&p, &launch_script(slot, &flags, &p.sizes, job), &[])
    })?;
    let router_port = port().map_err(|e| fail(e.to_string()))?;
    let router = bash_script(
        &p,
        &router_script(
            router_port,
            &heads,
            agentic.as_ref(),
            node_prologue(&flags, &p.sizes),
        ),
        &[("NO_COLOR", "1")],
    );
    // InferenceX's barriers: every server's port open, then the router's /readiness.
    let ready = Ready::Probes {
        workers: Probe::Accepting,
        router: "/readiness",
        router_port: None,
    };
    let mut d = assemble(p, workers, router, router_port, ready);
    if agentic.is_some() {
        // `SERVER_METRICS_URLS`: every prefill and decode leader (the router serves none),
        // the decode ones for their KV use (their prompts' KV comes from the prefill side).
        d.client.metrics_urls = heads[0].clone();
        d.client.gauge_urls = heads[1].clone();
    }
    Ok(d)
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
    /// The decode's simulated MTP acceptance length (agentic runs).
    acceptance: Option<&'static str>,
    /// Where HiCache's Mooncake settings point when it is on: the first node.
    hicache_node0: Option<String>,
}

fn seq(start: u32, end: u32) -> impl Iterator<Item = Word> {
    (start..=end).map(|b| Word::Lit(b.to_string()))
}

impl Flags {
    fn new(m: &ModelEntry, s: &Sizes, job: &Job, file: &Path) -> Result<Flags, String> {
        let at = |f: &str| format!("{}: {f}", file.display());
        let mut base = flag_words(m.base_flags.as_ref(), "models.yaml base_flags")?;
        apply_kv_transfer(&mut base, job.kv_p2p_transfer.as_deref());
        let ep = flag_words(m.ep_flags.as_ref(), "models.yaml ep_flags")?;
        let dp = flag_words(m.dp_flags.as_ref(), "models.yaml dp_flags")?;
        let mut mtp = Vec::new();
        if s.mtp > 0 {
            mtp = flag_words(m.mtp_flags.as_ref(), "models.yaml mtp_flags")?;
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
            acceptance: None,
            hicache_node0: None,
        })
    }
}

/// What InferenceX's agentic entry script exports before `submit.sh` that reaches the servers
/// and the router (`benchmarks/multi_node/agentic/dsv4_fp4_mi355x_sglang-disagg.sh`, the one
/// script behind the AMD agentic rows of the pinned matrix): `IS_AGENTIC` (the models entry
/// `<name>-AgentX`, the prefill's radix cache kept, the router's agentic settings),
/// `ENABLE_METRICS=1`, HiCache where the row offloads to DRAM with the `hicache` backend (its
/// settings reach every container through `job.slurm`'s `hicache_mc.env`), the router's prefill
/// policy, MoRI's I/O queue settings; and `server_sglang.sh`'s simulated MTP acceptance at
/// DeepSeek-V4's golden acceptance length (InferenceX's AgentX rule).
pub(crate) struct AgenticLaunch {
    hicache: Option<HiCache>,
    prefill_router_policy: &'static str,
    /// `SGLANG_SIMULATE_ACC_LEN` of the decode (MTP runs).
    acceptance: Option<&'static str>,
    env: Vec<(&'static str, String)>,
}

/// `server_sglang.sh`'s HiCache flags as the entry script leaves them.
struct HiCache {
    page_size: &'static str,
    /// DeepSeek-V4's hybrid pool takes a ratio to the GPU pool (`FORCE_HICACHE_RATIO=1`).
    ratio: &'static str,
    io_backend: &'static str,
    mem_layout: &'static str,
    write_policy: &'static str,
    prefetch_policy: &'static str,
}

/// The entry script's HiCache settings (tier L2: CPU DRAM, no Mooncake store) as `job.slurm`
/// writes them into `hicache_mc.env`.
const HICACHE_ENV: [(&str, &str); 20] = [
    ("HICACHE_RATIO", "3"),
    ("FORCE_HICACHE_RATIO", "1"),
    ("HICACHE_HOST_POOL_COUNT", "1"),
    ("HICACHE_PAGE_SIZE", "256"),
    ("HICACHE_IO_BACKEND", "direct"),
    ("HICACHE_MEM_LAYOUT", "page_first"),
    ("HICACHE_WRITE_POLICY", "write_through"),
    ("HICACHE_STORAGE_BACKEND", ""),
    ("HICACHE_PREFETCH_POLICY", "best_effort"),
    ("MC_PATCH_HOSTPOOL", "1"),
    ("MC_MASTER_PORT", "58137"),
    ("MC_METADATA_PORT", "8080"),
    ("MC_METRICS_PORT", "19003"),
    ("MC_MASTER_THREADS", "64"),
    ("MC_EVICTION_HIGH_WATERMARK", "0.95"),
    ("MC_PROTOCOL", "tcp"),
    ("MC_GLOBAL_SEG", "64gb"),
    ("MC_DEVICE", ""),
    ("MC_MASTER_ADDR", ""),
    ("MC_METADATA_SERVER", ""),
];

impl AgenticLaunch {
    /// `None` for a fixed-length row; an error for an agentic row InferenceX has no entry
    /// script for.
    fn of(job: &Job, mtp: u32) -> Result<Option<AgenticLaunch>, String> {
        let crate::plan::Workload::Agentic {
            kv_offloading,
            kv_offload_backend,
            ..
        } = &job.workload
        else {
            return Ok(None);
        };
        if (job.model_prefix.as_str(), job.precision.as_str()) != ("dsv4", "fp4") {
            return Err(format!(
                "InferenceX has no agentic entry script for {} {} on its AMD SGLang launcher (only dsv4 fp4), so what its servers would run is unknown",
                job.model_prefix, job.precision
            ));
        }
        let offload = *kv_offloading != crate::recipe::KvOffloading::None;
        let backend = match kv_offload_backend.as_ref().map(|b| b.name.as_str()) {
            None if offload => "hicache", // the entry script's default
            Some(b) => b,
            None => "",
        };
        let hicache = match (offload, backend) {
            (true, "hicache") => Some(HiCache {
                page_size: "256",
                ratio: "3",
                io_backend: "direct",
                mem_layout: "page_first",
                write_policy: "write_through",
                prefetch_policy: "best_effort",
            }),
            (true, other) => {
                return Err(format!(
                    "kv-offload-backend {other}: the agentic entry script implements hicache only"
                ))
            }
            _ => None,
        };
        let mut env: Vec<(&'static str, String)> = [
            ("IS_AGENTIC", "1"),
            ("SCENARIO_TYPE", "agentic-coding"),
            ("ENABLE_METRICS", "1"),
            ("PREFILL_ROUTER_POLICY", "consistent_hashing"),
            ("DISABLE_CUSTOM_ALL_REDUCE", "0"),
            ("MAX_MODEL_LEN", "1000000"),
            ("MORI_IO_SQ_BACKOFF_TIMEOUT_US", "500000"),
            ("MORI_IO_QP_MAX_SEND_WR", "32768"),
            ("KV_OFFLOADING", kv_offloading.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
        if offload {
            env.push(("KV_OFFLOAD_BACKEND", backend.to_string()));
        }
        if hicache.is_some() {
            env.extend(HICACHE_ENV.iter().map(|&(k, v)| (k, v.to_string())));
        }
        Ok(Some(AgenticLaunch {
            hicache,
            prefill_router_policy: "consistent_hashing",
            acceptance: match mtp {
                0 => None,
                1 => Some("1.79"),
                2 => Some("2.27"),
                3 => Some("2.49"),
                // server_sglang.sh warns and runs with real acceptance.
                _ => None,
            },
            env,
        }))
    }
}

impl Flags {
    /// `server_sglang.sh`'s agentic changes, in its order: the prefill keeps its radix cache,
    /// both servers serve `/metrics`, and HiCache (which needs the radix cache on both) is
    /// appended to the prefill with the decode mirroring its page size.
    fn agentic(&mut self, a: &AgenticLaunch, node0: &str) {
        self.acceptance = a.acceptance;
        let radix_off = Word::Lit("--disable-radix-cache".into());
        self.prefill.retain(|w| *w != radix_off);
        for f in [&mut self.prefill, &mut self.decode] {
            if !f.contains(&Word::Lit("--enable-metrics".into())) {
                f.extend(lits(["--enable-metrics"]));
            }
        }
        if let Some(h) = &a.hicache {
            self.hicache_node0 = Some(node0.to_string());
            self.decode.retain(|w| *w != radix_off);
            let page = h.page_size;
            self.prefill.extend(lits([
                "--page-size",
                page,
                "--enable-hierarchical-cache",
                "--hicache-ratio",
                h.ratio,
                "--hicache-io-backend",
                h.io_backend,
                "--hicache-mem-layout",
                h.mem_layout,
                "--hicache-write-policy",
                h.write_policy,
                "--hicache-storage-prefetch-policy",
                h.prefetch_policy,
            ]));
            self.decode.extend(lits(["--page-size", page]));
        }
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
    let mut lines = source_env_file(Launcher::Sglang);
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
    // HiCache's Mooncake settings, filled where empty (exported by the environment file, so
    // every process gets them; used only with a Mooncake store).
    if let Some(node0) = &f.hicache_node0 {
        lines.push(r#"MC_DEVICE="${MC_DEVICE:-$IBDEVICES}""#.into());
        lines.push(format!(
            r#"MC_MASTER_ADDR="${{MC_MASTER_ADDR:-{node0}:${{MC_MASTER_PORT:-50061}}}}""#
        ));
        lines.push(format!(
            r#"MC_METADATA_SERVER="${{MC_METADATA_SERVER:-http://{node0}:${{MC_METADATA_PORT:-8080}}/metadata}}""#
        ));
    }
    lines
}

/// The lines one server runs with `env.sh` as `$0`: the node's prologue, then the server with
/// its per-process variables.
fn launch_script(slot: &Slot, f: &Flags, s: &Sizes, job: &Job) -> Vec<String> {
    let mut lines = node_prologue(f, s);
    let role = slot.role;
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
    if let (Role::Decode, Some(al)) = (role, f.acceptance) {
        env.extend([
            format!("SGLANG_SIMULATE_ACC_LEN={al}"),
            "SGLANG_SIMULATE_ACC_METHOD=match-expected".into(),
            "SGLANG_SIMULATE_ACC_TOKEN_MODE=real-draft-token".into(),
        ]);
    }
    let mut words: Vec<Word> = lits(["python3", "-m", "sglang.launch_server", "--model-path"]);
    words.push(Word::Lit(job.model.clone()));
    words.extend(lits([
        "--disaggregation-mode",
        role.name(),
        "--disaggregation-ib-device",
    ]));
    words.push(Word::Shell("$IBDEVICES".into()));
    words.extend(lits([
        "--host",
        "0.0.0.0",
        "--port",
        &slot.port.to_string(),
    ]));
    words.extend(lits(["--trust-remote-code"]));
    words.extend(flags.iter().cloned());
    if slot.nodes_per_worker > 1 {
        let addr = format!("{}:{DIST_INIT_PORT}", slot.head);
        words.extend(lits(["--dist-init-addr", &addr, "--nnodes"]));
        words.push(Word::Lit(slot.nodes_per_worker.to_string()));
        words.push(Word::Lit("--node-rank".into()));
        words.push(Word::Lit(slot.rank.to_string()));
    }
    lines.push(format!(
        "exec env {} {}",
        env.join(" "),
        command_line(&words)
    ));
    lines
}

/// SGLang's PD router with `server_sglang.sh`'s policy and resilience settings (a fixed-length
/// run's random policies and quick circuit-breaker recovery; an agentic run's prefix-aware
/// prefill policy with the breaker off and lenient health checks, so a long prefill does not
/// eject a busy worker), in front of the prefill and decode leaders: after the first node's
/// prologue, as it runs in that node's container.
fn router_script(
    port: u16,
    heads: &[Vec<String>; 2],
    agentic: Option<&AgenticLaunch>,
    mut lines: Vec<String>,
) -> Vec<String> {
    let mut words = lits([
        "python",
        "-m",
        "sglang_router.launch_router",
        "--pd-disaggregation",
        "--host",
        "0.0.0.0",
        "--port",
        &port.to_string(),
    ]);
    match agentic {
        None => words.extend(lits([
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
        ])),
        Some(a) => words.extend(lits([
            "--policy",
            a.prefill_router_policy,
            "--dp-aware",
            "--cache-threshold",
            "0.3",
            "--balance-abs-threshold",
            "2",
            "--balance-rel-threshold",
            "1.1",
            "--disable-circuit-breaker",
            "--health-failure-threshold",
            "100",
            "--health-check-timeout-secs",
            "600",
            "--health-check-interval-secs",
            "30",
        ])),
    }
    for (flag, urls) in ["--prefill", "--decode"].iter().zip(heads) {
        for url in urls {
            words.extend(lits([*flag, url.as_str()]));
        }
    }
    lines.push(format!("exec {}", command_line(&words)));
    lines
}
