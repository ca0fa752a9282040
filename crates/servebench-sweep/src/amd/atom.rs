//! `framework: atom-disagg`: `server_atom.sh`'s servers and router.
//!
//! Each node sources `env_atom.sh` (the node's RDMA devices, Mooncake's libraries, log levels),
//! raises its open-file limit, exports the model's `models_atom.yaml` variables (and those of
//! the DP-attention mode its pools run), and starts `python3 -m atom.entrypoints.openai_server`
//! with the entry's flags and a Mooncake KV transfer to the router's node; `atomesh` routes on
//! the first node. Beyond the module's shared differences: a Mooncake `proxy_ip` is the node's
//! address as the allocation names it (InferenceX's script asks `ip route`); workers larger than
//! a node, and expert parallelism without DP attention (which the script drops), are refused.

use super::atom_models::{self, nonempty, AtomModel};
use super::{
    assemble, bash_script, command_line, flag_words, lits, model_name, place, prepare,
    source_env_file, AmdError, Launcher, PyText, Render, Role, Sizes, Slot, Word,
};
use crate::cluster::{ClusterDeployment, Probe, Ready};
use crate::plan::Job;
use servebench_core::shell::quote;

/// Mooncake's handshake port (`HANDSHAKE_PORT`'s default).
const HANDSHAKE_PORT: u16 = 6301;

/// The decode's CUDA-graph batch sizes, as `server_atom.sh` writes them.
const DECODE_GRAPH_SIZES: &str = "[1,2,4,8,16,24,32,40,48,56,64,72,80,88,96,104,112,120,128,136,144,152,160,168,176,184,192,200,208,216,224,232,240,248,256]";

/// Every process of `r.job`'s deployment on `r.nodes`, ports from `port` (router last).
pub fn deployment(
    r: &Render,
    mut port: impl FnMut() -> std::io::Result<u16>,
) -> Result<ClusterDeployment, AmdError> {
    let job = r.job;
    let fail = |e: String| AmdError::Unsupported(format!("{}: {e}", job.config_key));
    let p = prepare(r, Launcher::Atom)?;
    check(&p.sizes).map_err(fail)?;
    let models = atom_models::load(&p.models_file)?;
    let m = models
        .get(model_name(&job.model))
        .cloned()
        .unwrap_or_default();
    let f = Flags::new(&m, &p.sizes, job).map_err(fail)?;
    let (workers, heads) = place(r, &p, &mut port, |slot| {
        bash_script(&p, &server_script(slot, &f, &p.sizes, job), &[])
    })?;
    let router_port = port().map_err(|e| fail(e.to_string()))?;
    let router = bash_script(&p, &router_script(router_port, &heads, &f), &[]);
    // server_atom.sh's waits: every server's /health, then the router's /v1/models.
    let ready = Ready::Probes {
        workers: Probe::Ok("/health"),
        router: "/v1/models",
        router_port: None,
    };
    Ok(assemble(p, workers, router, router_port, ready))
}

/// What `server_atom.sh` would run other than the row says.
fn check(s: &Sizes) -> Result<(), String> {
    for (role, pool) in s.pools() {
        if pool.nodes_per_worker > 1 {
            return Err(format!(
                "InferenceX's ATOM launcher starts a whole server on every node of a worker, so a {} worker of {} GPUs never forms there",
                role.name(),
                pool.tp
            ));
        }
        if pool.ep && !pool.dp {
            return Err(format!(
                "InferenceX's ATOM launcher runs expert parallelism only with DP attention (it drops EP otherwise); the row's {} asks for EP without it",
                role.name()
            ));
        }
    }
    Ok(())
}

/// What the model's entry and the row make of both roles' servers.
struct Flags {
    /// `-tp T` and the role's DP-attention flags.
    parallel: [Vec<Word>; 2],
    /// `export` lines of every node: the DP-attention modes' variables, then the model's.
    exports: Vec<String>,
    spec: Vec<Word>,
    kv_cache: Vec<Word>,
    block_size: String,
    mem_frac: String,
    max_num_seqs: String,
    /// `--max-model-len`, `--max-num-batched-tokens`, `--scheduler-delay-factor`.
    lengths: Vec<Word>,
    /// `--online_quant_config`, chosen by the prefill's mode for both roles, as the script does.
    quant: Vec<Word>,
}

impl Flags {
    fn new(m: &AtomModel, s: &Sizes, job: &Job) -> Result<Flags, String> {
        let field = |k: &str| format!("models_atom.yaml {k}");
        let pick = |own: &Option<PyText>, shared: &Option<PyText>| own.clone().or(shared.clone());
        let mut parallel = [Vec::new(), Vec::new()];
        let mut exports = Vec::new();
        for (role, pool) in s.pools() {
            let mut w = lits(["-tp", &pool.tp.to_string()]);
            if pool.dp {
                let (flags, env, name) = match (role, pool.ep) {
                    (Role::Prefill, true) => (
                        pick(&m.prefill_ep_dp_flags, &m.ep_dp_flags),
                        &m.ep_dp_env,
                        "ep_dp",
                    ),
                    (Role::Decode, true) => (
                        pick(&m.decode_ep_dp_flags, &m.ep_dp_flags),
                        &m.ep_dp_env,
                        "ep_dp",
                    ),
                    (Role::Prefill, false) => (
                        pick(&m.prefill_tp_dp_flags, &m.tp_dp_flags),
                        &m.tp_dp_env,
                        "tp_dp",
                    ),
                    (Role::Decode, false) => (
                        pick(&m.decode_tp_dp_flags, &m.tp_dp_flags),
                        &m.tp_dp_env,
                        "tp_dp",
                    ),
                };
                w.extend(flag_words(
                    flags.as_ref(),
                    &field(&format!("{}_{name}_flags", role.name())),
                )?);
                exports.extend(export_lines(env, &field(&format!("{name}_env")))?);
            }
            parallel[role as usize] = w;
        }
        exports.extend(export_lines(&m.env, &field("env"))?);
        let mut spec = Vec::new();
        if s.mtp > 0 && nonempty(&m.mtp_flags).is_some() {
            spec = flag_words(m.mtp_flags.as_ref(), &field("mtp_flags"))?;
            spec.push(Word::Lit(s.mtp.to_string()));
        }
        let mut lengths = Vec::new();
        let max_model_len = job.max_model_len().map(|l| l.to_string());
        for (flag, v) in [
            (
                "--max-model-len",
                nonempty(&m.max_model_len).or(max_model_len.as_deref()),
            ),
            (
                "--max-num-batched-tokens",
                nonempty(&m.max_num_batched_tokens),
            ),
            (
                "--scheduler-delay-factor",
                nonempty(&m.scheduler_delay_factor),
            ),
        ] {
            if let Some(v) = v {
                lengths.extend(lits([flag, v]));
            }
        }
        let quant = match s.prefill.dp {
            true => nonempty(&m.online_quant_dpa_config).or(nonempty(&m.online_quant_config)),
            false => nonempty(&m.online_quant_config),
        };
        Ok(Flags {
            parallel,
            exports,
            spec,
            kv_cache: flag_words(m.kv_cache_flags.as_ref(), &field("kv_cache_flags"))?,
            block_size: nonempty(&m.block_size).unwrap_or("16").to_string(),
            mem_frac: nonempty(&m.mem_frac_static).unwrap_or("0.85").to_string(),
            max_num_seqs: nonempty(&m.max_num_seqs).unwrap_or("256").to_string(),
            lengths,
            quant: quant
                .map(|q| lits(["--online_quant_config", q]))
                .unwrap_or_default(),
        })
    }
}

/// `export NAME=value` for each `NAME=value` pair of a space-separated list, as the script's
/// `export "$pair"` loop.
fn export_lines(list: &Option<PyText>, field: &str) -> Result<Vec<String>, String> {
    let Some(PyText(list)) = list else {
        return Ok(Vec::new());
    };
    list.split_whitespace()
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !crate::is_env_name(name) {
                return Err(format!("{field}: `{pair}` is not NAME=value"));
            }
            Ok(format!("export {name}={}", quote(value)))
        })
        .collect()
}

/// Every node's lines before its process: `env_atom.sh` (as `$0`), the open-file limit, the
/// model's variables.
fn node_prologue(f: &Flags) -> Vec<String> {
    let mut lines = source_env_file(Launcher::Atom);
    lines.push("ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true".into());
    lines.extend(f.exports.iter().cloned());
    lines
}

/// One server: the node's prologue, then ATOM's OpenAI server with the role's flags and a
/// Mooncake KV transfer through this node.
fn server_script(slot: &Slot, f: &Flags, s: &Sizes, job: &Job) -> Vec<String> {
    let mut lines = node_prologue(f);
    let role = slot.role;
    let mut w = lits(["python3", "-m", "atom.entrypoints.openai_server", "--model"]);
    w.push(Word::Lit(job.model.clone()));
    w.extend(lits([
        "--host",
        "0.0.0.0",
        "--server-port",
        &slot.port.to_string(),
    ]));
    w.extend(lits(["--trust-remote-code"]));
    w.extend(f.parallel[role as usize].iter().cloned());
    w.extend(f.spec.iter().cloned());
    w.extend(f.kv_cache.iter().cloned());
    let seqs = match role {
        Role::Prefill => f.max_num_seqs.clone(),
        Role::Decode => s.max_conc.to_string(),
    };
    w.extend(lits([
        "--block-size",
        &f.block_size,
        "--gpu-memory-utilization",
        &f.mem_frac,
    ]));
    w.extend(lits(["--max-num-seqs", &seqs]));
    w.extend(f.lengths.iter().cloned());
    w.extend(lits(["--no-enable_prefix_caching"]));
    w.extend(f.quant.iter().cloned());
    let kv_role = match role {
        Role::Prefill => "kv_producer",
        Role::Decode => "kv_consumer",
    };
    let transfer = format!(
        r#"{{"kv_role":"{kv_role}","kv_connector":"mooncake","proxy_ip":"{}","handshake_port":{HANDSHAKE_PORT}}}"#,
        slot.node.addr
    );
    w.extend(lits(["--kv-transfer-config", &transfer]));
    if role == Role::Decode {
        w.extend(lits(["--cudagraph-capture-sizes", DECODE_GRAPH_SIZES]));
    }
    lines.push(format!("exec {}", command_line(&w)));
    lines
}

/// `atomesh` in front of the leaders, with `server_atom.sh`'s settings, after the first node's
/// prologue.
fn router_script(port: u16, heads: &[Vec<String>; 2], f: &Flags) -> Vec<String> {
    let mut lines = node_prologue(f);
    let mut w = lits([
        "/usr/local/bin/atomesh",
        "launch",
        "--host",
        "0.0.0.0",
        "--port",
    ]);
    w.push(Word::Lit(port.to_string()));
    w.extend(lits(["--pd-disaggregation"]));
    for (flag, urls) in ["--prefill", "--decode"].iter().zip(heads) {
        for url in urls {
            w.extend(lits([*flag, url.as_str()]));
        }
    }
    w.extend(lits([
        "--policy",
        "random",
        "--backend",
        "atom",
        "--log-level",
        "info",
        "--disable-health-check",
        "--disable-circuit-breaker",
        "--prometheus-port",
        "29100",
    ]));
    lines.push(format!("exec {}", command_line(&w)));
    lines
}
