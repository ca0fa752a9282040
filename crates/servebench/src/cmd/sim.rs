//! `servebench sim`: parse the flags, map them onto `SimConfig`, run until SIGINT/SIGTERM.

use super::deployment::DeploymentArgs;
use anyhow::Context;
use servebench_core::endpoint::BaseUrl;
use servebench_sim::disagg::KvLink;
use servebench_sim::{FaultConfig, FaultKind, FixedTiming, PromptCounter, SimConfig};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// 128k tokens: the context of Llama-3.3-70B and gpt-oss-120b (DeepSeek-R1 has 160k).
const DEFAULT_MAX_MODEL_LEN: u32 = 131_072;

/// Timing profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Every request: the same TTFT, then one token every ITL.
    Fixed,
    /// The simulated engine: continuous batching over the step-time model of --gpu/--model
    /// (the default when --gpu is given).
    Engine,
}

/// The part a server plays in a disaggregated deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Whole requests (also a prefill worker's part when a router asks: any engine profile
    /// hands off a prompt's cache).
    Whole,
    /// A prefill worker: the same as whole, named for launch scripts.
    Prefill,
    /// A decode worker: takes requests prefilled elsewhere, their caches crossing --kv-link.
    Decode,
    /// The router in front of --prefill and --decode workers (no --gpu).
    Router,
}

/// The link KV caches cross to a decode worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KvLinkKind {
    /// The scale-up domain (NVLink, Infinity Fabric): prefill and decode in one domain.
    ScaleUp,
    /// The scale-out NIC of each GPU (RDMA between nodes or racks).
    ScaleOut,
}

#[derive(clap::Args)]
pub struct SimArgs {
    /// Timing profile (default: engine with --gpu, else fixed).
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// The server's part in a disaggregated deployment (docs/sim.md, "Disaggregated serving
    /// over HTTP").
    #[arg(long, value_enum, default_value = "whole")]
    pub role: Role,
    /// --role router: a prefill worker's URL (repeat for more; without --decode, aggregated
    /// workers each serving whole requests).
    #[arg(long = "prefill", value_name = "URL")]
    pub prefill: Vec<String>,
    /// --role router: a decode worker's URL (repeat for more).
    #[arg(long = "decode", value_name = "URL")]
    pub decode: Vec<String>,
    /// --role decode: the link prefilled caches cross (bandwidth per GPU from the catalog's
    /// accelerator, plus the engine's fixed cost per transfer).
    #[arg(long, value_enum, default_value = "scale-up")]
    pub kv_link: KvLinkKind,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Simulated seconds per wall-clock second (engine profile): 10 serves ten times faster
    /// than the modelled GPUs would; the client's timings are then 10× shorter.
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub time_scale: f64,
    /// Engine profile: no automatic prefix caching (on by default, as in vLLM and SGLang).
    #[arg(long)]
    pub no_prefix_cache: bool,
    /// The model name served (/v1/models) with the engine profile (default: the catalog
    /// model's Hugging Face id).
    #[arg(long)]
    pub served_model_name: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port; the line printed at startup says which).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Served model name (/v1/models); with the engine profile, the catalog model
    /// (llama-3.3-70b, deepseek-r1-0528, gpt-oss-120b, deepseek-v4-pro, qwen3.5-397b-a17b, ...:
    /// docs/catalog.md).
    #[arg(long, default_value = "servebench-sim")]
    pub model: String,
    /// Tokenizer counting prompt tokens: a tokenizer.json path or directory, a HF hub id in the
    /// local cache, or o200k_base / cl100k_base. Default: found from --model, else cl100k_base.
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// Time to first token, from the moment the request body has been read.
    #[arg(long, default_value_t = 0.0, value_parser = non_negative_ms)]
    pub ttft_ms: f64,
    /// Inter-token latency (0: as fast as the server can write).
    #[arg(long, default_value_t = 0.0, value_parser = non_negative_ms)]
    pub itl_ms: f64,
    /// Output tokens per SSE chunk (the last chunk may carry fewer).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub tokens_per_chunk: u32,
    /// max_tokens of chat requests that set neither max_tokens nor max_completion_tokens
    /// (completions default to 16, as in OpenAI's API).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub default_max_tokens: u32,
    /// Imitate an EOS: without ignore_eos, stop after N tokens (finish_reason "stop").
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub eos_after: Option<u32>,
    /// The first N output tokens of chat responses are sent as reasoning_content.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub reasoning_tokens: u32,
    /// Reject requests whose prompt_tokens + max_tokens exceed this (400, as vLLM does).
    #[arg(long, default_value_t = DEFAULT_MAX_MODEL_LEN, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_model_len: u32,
    /// Fraction of requests answered 429.
    #[arg(long = "fail-429", value_name = "F", default_value_t = 0.0, value_parser = fraction)]
    pub fail_429: f64,
    /// Fraction of requests answered 500.
    #[arg(long = "fail-500", value_name = "F", default_value_t = 0.0, value_parser = fraction)]
    pub fail_500: f64,
    /// Fraction of requests answered 503.
    #[arg(long = "fail-503", value_name = "F", default_value_t = 0.0, value_parser = fraction)]
    pub fail_503: f64,
    /// Fraction of requests whose connection is reset (RST) before anything is written.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = fraction)]
    pub reset_before_headers: f64,
    /// Fraction of requests whose connection is reset after half the content chunks.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = fraction)]
    pub reset_mid_stream: f64,
    /// Fraction of requests with one truncated (invalid JSON) chunk midway, ending the stream.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = fraction)]
    pub malformed_chunk: f64,
    /// Fraction of requests whose stream lacks `data: [DONE]`.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = fraction)]
    pub missing_done: f64,
    /// Fraction of requests that stop sending for --stall-ms after half the content chunks.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = fraction)]
    pub stall: f64,
    /// How long the stall fault lasts.
    #[arg(long, default_value_t = 60_000.0, value_parser = non_negative_ms)]
    pub stall_ms: f64,
    /// Fraction of requests that send an error event after half the content chunks.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = fraction)]
    pub error_mid_stream: f64,
    /// Write a JSONL record of every generation request (what was sent, and when).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Scripted answers: a JSONL file of {"match": TEXT, "response": TEXT}; a non-streaming
    /// request whose last user message (or prompt) contains a line's match gets its response,
    /// as long as it is in tokens (for accuracy evals against a known server).
    #[arg(long, value_name = "FILE.jsonl")]
    pub answers: Option<PathBuf>,
    /// Runtime threads (1: a single-threaded runtime, for pinning the server to one core).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: u64,
    /// Serve HTTPS: with a certificate generated now (self-signed, for localhost, 127.0.0.1
    /// and ::1), or --tls-cert and --tls-key's.
    #[arg(long)]
    pub tls: bool,
    /// --tls: write the certificate clients should trust here (for `bench --ca-cert FILE`).
    #[arg(long, value_name = "FILE.pem", requires = "tls")]
    pub tls_cert_out: Option<PathBuf>,
    /// --tls: the certificate chain to serve (PEM), with --tls-key.
    #[arg(long, value_name = "FILE.pem", requires_all = ["tls", "tls_key"])]
    pub tls_cert: Option<PathBuf>,
    /// Require `Authorization: Bearer KEY` on the OpenAI routes (as vLLM's --api-key).
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// --tls: the certificate's private key (PEM).
    #[arg(long, value_name = "FILE.pem", requires_all = ["tls", "tls_cert"])]
    pub tls_key: Option<PathBuf>,
}

/// The TLS configuration `sim --tls` serves with; the certificate written where asked.
fn tls(args: &SimArgs) -> anyhow::Result<Option<std::sync::Arc<rustls::ServerConfig>>> {
    if !args.tls {
        return Ok(None);
    }
    let server = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => servebench_sim::tls::from_files(c, k)?,
        _ => servebench_sim::tls::self_signed()?,
    };
    if let Some(p) = &args.tls_cert_out {
        std::fs::write(p, &server.cert_pem)
            .map_err(|e| anyhow::anyhow!("--tls-cert-out {}: {e}", p.display()))?;
    }
    Ok(Some(server.config))
}

/// The flags a role needs, and none it ignores.
fn check_role(args: &SimArgs, profile: Profile) -> anyhow::Result<()> {
    let router = args.role == Role::Router;
    anyhow::ensure!(
        router || (args.prefill.is_empty() && args.decode.is_empty()),
        "--prefill and --decode name the workers of --role router"
    );
    match args.role {
        Role::Router => {
            anyhow::ensure!(
                !args.prefill.is_empty(),
                "--role router needs at least one --prefill URL"
            );
            anyhow::ensure!(
                args.deployment.gpu.is_none(),
                "--role router simulates no GPUs: give --gpu to its workers"
            );
        }
        Role::Prefill | Role::Decode => anyhow::ensure!(
            profile == Profile::Engine,
            "--role {}: a worker is the simulated engine (--gpu, --model, --precision)",
            if args.role == Role::Decode {
                "decode"
            } else {
                "prefill"
            }
        ),
        Role::Whole => {}
    }
    Ok(())
}

/// `--role router`: the router over the `--prefill` and `--decode` workers.
fn router(args: &SimArgs) -> anyhow::Result<Arc<dyn servebench_sim::Engine>> {
    let urls = |flag: &str, v: &[String]| -> anyhow::Result<Vec<BaseUrl>> {
        v.iter()
            .map(|u| {
                u.parse::<BaseUrl>()
                    .map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
            })
            .collect()
    };
    let r = servebench_sim::Router::new(
        &urls("prefill", &args.prefill)?,
        &urls("decode", &args.decode)?,
        ROUTER_REQUEST_TIMEOUT,
    )?;
    eprintln!(
        "servebench sim: router over {} prefill and {} decode workers",
        args.prefill.len(),
        args.decode.len()
    );
    Ok(Arc::new(r))
}

/// The longest one request may take on one worker behind the router (an 8k-token answer at
/// real time takes minutes).
const ROUTER_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

pub(super) fn fraction(s: &str) -> Result<f64, String> {
    let f: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err(format!("{f} is not a fraction in [0, 1]"))
    }
}

pub(super) fn positive(s: &str) -> Result<f64, String> {
    let f: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if f.is_finite() && f > 0.0 {
        Ok(f)
    } else {
        Err(format!("{s} is not a positive number"))
    }
}

fn non_negative_ms(s: &str) -> Result<f64, String> {
    let f: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if f.is_finite() && f >= 0.0 {
        Ok(f)
    } else {
        Err(format!("{s} is not a non-negative number of milliseconds"))
    }
}

fn ms(v: f64) -> Duration {
    Duration::from_secs_f64(v / 1000.0)
}

fn bind_addr(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve --host {host}"))?
        .next()
        .with_context(|| format!("--host {host} resolves to no address"))
}

/// The prompt counter for `--tokenizer` / the model name (a note on stderr when it falls back).
fn counter(tokenizer: Option<&str>, model: &str) -> anyhow::Result<Arc<dyn PromptCounter>> {
    let resolved =
        servebench_tokenizer::Tokenizer::resolve(tokenizer, model).context("--tokenizer")?;
    if resolved.fallback {
        eprintln!(
            "servebench sim: no tokenizer found for model '{model}'; counting prompt tokens with {}",
            resolved.tokenizer.info().name
        );
    }
    Ok(Arc::new(resolved.tokenizer))
}

/// What the server embedded in `servebench bench` (without `--base-url`) simulates.
pub enum Embedded {
    Fixed {
        ttft_ms: f64,
        itl_ms: f64,
    },
    Engine {
        deployment: DeploymentArgs,
        model: String,
        time_scale: f64,
        /// Automatic prefix caching.
        prefix_cache: bool,
    },
}

impl Embedded {
    pub fn describe(&self) -> String {
        match self {
            Embedded::Fixed { ttft_ms, itl_ms } => {
                format!("fixed timing: TTFT {ttft_ms} ms, ITL {itl_ms} ms")
            }
            Embedded::Engine {
                deployment,
                model,
                time_scale,
                ..
            } => format!(
                "simulated engine: {}, {time_scale}× real time",
                deployment.describe(model)
            ),
        }
    }
}

/// The embedded server on a free loopback port, in this process. Shut it down with
/// [`servebench_sim::SimHandle::shutdown`].
pub fn embedded(
    what: Embedded,
    tokenizer: Option<&str>,
) -> anyhow::Result<servebench_sim::SimHandle> {
    let cfg = match what {
        Embedded::Fixed { ttft_ms, itl_ms } => {
            for (name, v) in [("--sim-ttft-ms", ttft_ms), ("--sim-itl-ms", itl_ms)] {
                anyhow::ensure!(
                    v.is_finite() && v >= 0.0,
                    "{name} {v} is not a non-negative number of milliseconds"
                );
            }
            SimConfig {
                timing: FixedTiming {
                    ttft: ms(ttft_ms),
                    itl: ms(itl_ms),
                    tokens_per_chunk: 1,
                },
                counter: Some(counter(tokenizer, "servebench-sim")?),
                ..SimConfig::default()
            }
        }
        Embedded::Engine {
            deployment,
            model,
            time_scale,
            prefix_cache,
        } => {
            positive(&time_scale.to_string())
                .map_err(|e| anyhow::anyhow!("--sim-time-scale: {e}"))?;
            let (engine, served, max_model_len) = start_engine(
                &deployment,
                &model,
                EngineOptions {
                    time_scale,
                    served: None,
                    max_model_len: DEFAULT_MAX_MODEL_LEN,
                    decode_link: None,
                    prefix_cache,
                },
            )?;
            SimConfig {
                counter: Some(counter(tokenizer, &served)?),
                model: served,
                engine: Some(engine),
                max_model_len,
                ..SimConfig::default()
            }
        }
    };
    servebench_sim::spawn(cfg).context("starting the embedded sim")
}

/// How the engine profile's server runs.
struct EngineOptions {
    time_scale: f64,
    served: Option<String>,
    max_model_len: u32,
    decode_link: Option<KvLinkKind>,
    prefix_cache: bool,
}

/// The engine profile's timing source, served model name (`served`, else the catalog model's
/// Hugging Face id) and the longest request it accepts (at most `max_model_len`); a decode
/// worker where `decode_link` is given.
fn start_engine(
    deployment: &DeploymentArgs,
    model: &str,
    o: EngineOptions,
) -> anyhow::Result<(Arc<dyn servebench_sim::Engine>, String, u32)> {
    let EngineOptions {
        time_scale,
        served,
        max_model_len,
        decode_link,
        prefix_cache,
    } = o;
    let catalog = deployment.catalog()?;
    let perf = deployment.perf(&catalog, model)?;
    // The real-time server runs one engine; a pipelined worker's batches per stage are
    // simulated in virtual time only (`simulate`, the virtual-time sweep).
    anyhow::ensure!(
        perf.pipelines() == 1,
        "--pp {}: the real-time simulated server runs one batch at a time; pipeline stages are simulated in virtual time (servebench simulate, sweep --executor virtual-time)",
        perf.pipelines()
    );
    let served = served.unwrap_or_else(|| perf.dep.model.hf_id.clone());
    // As vLLM does at startup: a context longer than the KV cache holds cannot be served.
    let kv = perf.kv_capacity_tokens();
    anyhow::ensure!(
        kv > 0,
        "{}: the weights leave no HBM for the KV cache; use more GPUs (--tp) or a lower precision",
        deployment.describe(model)
    );
    let max_len = max_model_len.min(u32::try_from(kv).unwrap_or(u32::MAX));
    if max_len < max_model_len {
        eprintln!(
            "servebench sim: the KV cache holds {kv} tokens; max model length lowered to {max_len}"
        );
    }
    let mut e = match decode_link {
        None => servebench_sim::RealtimeEngine::start(perf, time_scale),
        Some(kind) => {
            let link = match kind {
                KvLinkKind::ScaleUp => KvLink::scale_up(&perf.dep),
                KvLinkKind::ScaleOut => {
                    KvLink::scale_out(&perf.dep, perf.gpus()).context("--kv-link scale-out")?
                }
            };
            servebench_sim::RealtimeEngine::start_decode(perf, time_scale, link)
        }
    }
    .context("starting the engine thread")?;
    e.set_prefix_caching(prefix_cache);
    Ok((Arc::new(e), served, max_len))
}

pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let profile = args.profile.unwrap_or(if args.deployment.gpu.is_some() {
        Profile::Engine
    } else {
        Profile::Fixed
    });
    servebench_core::sys::raise_fd_limit();
    check_role(&args, profile)?;
    let (engine, model, max_model_len) = match profile {
        _ if args.role == Role::Router => {
            (Some(router(&args)?), args.model.clone(), args.max_model_len)
        }
        Profile::Fixed => (None, args.model.clone(), args.max_model_len),
        Profile::Engine => {
            anyhow::ensure!(
                args.deployment.gpu.is_some(),
                "--profile engine needs --gpu, --model and --precision"
            );
            eprintln!(
                "servebench sim: {} at {}× real time",
                args.deployment.describe(&args.model),
                args.time_scale
            );
            let (e, served, len) = start_engine(
                &args.deployment,
                &args.model,
                EngineOptions {
                    time_scale: args.time_scale,
                    served: args.served_model_name.clone(),
                    max_model_len: args.max_model_len,
                    decode_link: (args.role == Role::Decode).then_some(args.kv_link),
                    prefix_cache: !args.no_prefix_cache,
                },
            )?;
            (Some(e), served, len)
        }
    };
    let counter = counter(args.tokenizer.as_deref(), &model)?;
    let mut faults = FaultConfig::default();
    for (kind, f) in [
        (FaultKind::Status429, args.fail_429),
        (FaultKind::Status500, args.fail_500),
        (FaultKind::Status503, args.fail_503),
        (FaultKind::ResetBeforeHeaders, args.reset_before_headers),
        (FaultKind::ResetMidStream, args.reset_mid_stream),
        (FaultKind::MalformedChunk, args.malformed_chunk),
        (FaultKind::MissingDone, args.missing_done),
        (FaultKind::Stall, args.stall),
        (FaultKind::ErrorMidStream, args.error_mid_stream),
    ] {
        faults.set(kind, f);
    }
    let tls = tls(&args)?;
    let cfg = SimConfig {
        bind: bind_addr(&args.host, args.port)?,
        tls,
        api_key: args.api_key.clone(),
        model,
        engine,
        timing: FixedTiming {
            ttft: ms(args.ttft_ms),
            itl: ms(args.itl_ms),
            tokens_per_chunk: args.tokens_per_chunk,
        },
        default_max_tokens: args.default_max_tokens,
        eos_after: args.eos_after,
        reasoning_tokens: args.reasoning_tokens,
        faults,
        stall: ms(args.stall_ms),
        record: args.record,
        counter: Some(counter),
        max_model_len,
        threads: args.threads as usize,
        answers: args
            .answers
            .as_deref()
            .map(servebench_sim::Answers::load)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--answers {e}"))?,
    };
    servebench_sim::run_until_signal(cfg)?;
    Ok(ExitCode::SUCCESS)
}
