//! `framework: sglang-disagg`: `server_sglang.sh`'s servers and router.
//!
//! Each node sources `env.sh` (the node's RDMA devices, network interface and traffic class,
//! MoRI's and SGLang's variables), then what `server_sglang.sh` derives from it, then starts
//! `python3 -m sglang.launch_server` with the flags of the model's `models.yaml` entry
//! (`<name>-DI`, else `<name>`) in `build_server_config`'s order; SGLang's PD router runs on the
//! first node. Beyond the module's shared differences: a worker larger than a node gets its
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
    let p = prepare(r, Launcher::Sglang)?;
    let models = models::load(&p.models_file)?;
    let name = model_name(&job.model);
    let (_, entry) = models.entry(name).ok_or_else(|| {
        fail(format!(
            "{} has neither {name}-DI nor {name}, the entries InferenceX's launcher looks for",
            p.models_file.display()
        ))
    })?;
    let flags = Flags::new(entry, &p.sizes, job, &p.models_file).map_err(fail)?;
    let (workers, heads) = place(r, &p, &mut port, |slot| {
        bash_script(&p, &launch_script(slot, &flags, &p.sizes, job), &[])
    })?;
    let router_port = port().map_err(|e| fail(e.to_string()))?;
    let router = bash_script(
        &p,
        &router_script(router_port, &heads, node_prologue(&flags, &p.sizes)),
        &[("NO_COLOR", "1")],
    );
    // InferenceX's barriers: every server's port open, then the router's /readiness.
    let ready = Ready::Probes {
        workers: Probe::Accepting,
        router: "/readiness",
        router_port: None,
    };
    Ok(assemble(p, workers, router, router_port, ready))
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

/// SGLang's PD router with `server_sglang.sh`'s policy and circuit-breaker settings for
/// fixed-length runs, in front of the prefill and decode leaders: after the first node's
/// prologue, as it runs in that node's container.
fn router_script(port: u16, heads: &[Vec<String>; 2], mut lines: Vec<String>) -> Vec<String> {
    let mut words = lits([
        "python",
        "-m",
        "sglang_router.launch_router",
        "--pd-disaggregation",
        "--host",
        "0.0.0.0",
        "--port",
        &port.to_string(),
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
    ]);
    for (flag, urls) in ["--prefill", "--decode"].iter().zip(heads) {
        for url in urls {
            words.extend(lits([*flag, url.as_str()]));
        }
    }
    lines.push(format!("exec {}", command_line(&words)));
    lines
}
