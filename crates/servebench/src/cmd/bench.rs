//! `servebench bench`: flags → `BenchOptions`, a progress bar, result files, exit code.

use anyhow::{bail, Context as _};
use indicatif::{ProgressBar, ProgressStyle};
use servebench_client::bench::ReplayOptions;
use servebench_client::bench::{over_failure_gate, parse_goodput};
use servebench_client::request_log::{write_line, RequestLog};
use servebench_client::runner::{PHASE_DONE, PHASE_MEASURE, PHASE_WARMUP};
use servebench_client::{report, Bench, BenchOptions, Progress};
use servebench_core::endpoint::BaseUrl;
use servebench_core::result::RequestRate;
use servebench_core::Api;
use servebench_dataset::trace::Format as TraceFormat;
use servebench_dataset::DatasetKind;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Server to benchmark, http://HOST:PORT[/PREFIX]. Without it, an embedded `servebench sim`
    /// is started on a loopback port: the simulated engine (see --sim-gpu and the other --sim-*
    /// flags), or fixed timing with --sim-ttft-ms/--sim-itl-ms.
    #[arg(long)]
    base_url: Option<String>,
    /// Request path, overriding /v1/completions or /v1/chat/completions.
    #[arg(long)]
    endpoint: Option<String>,
    /// Model name sent in requests (default: the first model the server lists at /v1/models).
    #[arg(long)]
    model: Option<String>,
    #[arg(long, default_value = "completions", value_parser = parse_api)]
    api: Api,
    /// Target input length in tokens (random dataset).
    #[arg(long, default_value_t = 1024)]
    isl: u32,
    /// Target output length in tokens (random dataset; with sharegpt/jsonl, overrides each entry's length).
    #[arg(long)]
    osl: Option<u32>,
    /// Lengths are uniform integers in [floor(ratio·L), L].
    #[arg(long, default_value_t = 0.8)]
    range_ratio: f64,
    /// Maximum requests in flight: one value or a list (1,4,16,64) giving one result per value.
    /// Default: 1 for a closed loop; no limit with a finite --request-rate.
    #[arg(long, value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Measured requests per point (default 10 × concurrency, or 1000 without a concurrency cap).
    #[arg(long)]
    num_prompts: Option<usize>,
    /// Warmup requests before each point, excluded from statistics (default 2 × concurrency,
    /// or 10 without a concurrency cap).
    #[arg(long)]
    warmups: Option<usize>,
    /// Requests per second (gamma arrivals) or `inf` for a closed loop.
    #[arg(long, default_value = "inf")]
    request_rate: RequestRate,
    /// Gamma shape of inter-arrival times: 1 = Poisson, <1 burstier, >1 smoother.
    #[arg(long, default_value_t = 1.0)]
    burstiness: f64,
    /// Stop issuing requests after this many seconds instead of after --num-prompts.
    #[arg(long)]
    duration: Option<f64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// tokenizer.json file or folder, a HuggingFace id in the local cache, or o200k_base / cl100k_base.
    #[arg(long)]
    tokenizer: Option<String>,
    #[arg(long, default_value = "random", value_parser = parse_dataset)]
    dataset: DatasetKind,
    #[arg(long)]
    dataset_path: Option<PathBuf>,
    /// --dataset trace: the file's format: weka (InferenceX's agentic traces), mooncake, or
    /// sessions (servebench's own). Each --concurrency value is a number of lanes (users).
    #[arg(long, default_value = "weka", value_parser = parse_trace_format)]
    trace_format: TraceFormat,
    /// --dataset trace: a lane's first session starts at a turn drawn uniformly in LO,HI of
    /// its turns (the turns before it are sent once as a warmup).
    #[arg(long, value_delimiter = ',', value_name = "LO,HI", default_values_t = [0.25, 0.75])]
    trace_start_ratio: Vec<f64>,
    /// --dataset trace: one-token warmup requests per lane before the window.
    #[arg(long, default_value_t = 10)]
    warmups_per_lane: usize,
    /// --dataset trace: the longest pause replayed between turns, seconds.
    #[arg(long, default_value_t = 300.0)]
    pause_cap: f64,
    /// --dataset trace: send each session's id in this header (X-Session-ID for vllm-router's
    /// consistent hashing, X-Dynamo-Session-ID for Dynamo); repeat for several.
    #[arg(long, value_name = "NAME")]
    session_header: Vec<String>,
    /// --dataset trace without --dataset-path: replay synthetic sessions drawn (with --seed)
    /// from this profile of published trace statistics: claude-code-042026 or agentx-062126.
    #[arg(long, value_name = "NAME")]
    trace_profile: Option<String>,
    /// --dataset trace: leave out turns whose input plus output pass this many tokens (for a
    /// server with a shorter context than the trace's; InferenceX's 256k corpus is cut so).
    #[arg(long, value_name = "TOKENS")]
    trace_max_context: Option<u32>,
    /// --trace-profile: how many sessions.
    #[arg(long, default_value_t = 1000)]
    trace_sessions: u64,
    /// --dataset trace: sample the server's KV-cache usage from its /metrics this often,
    /// seconds (its prefix-cache counters are read at the window's start and end).
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    server_metrics_interval: f64,
    /// --dataset trace: also read this endpoint's /metrics with the server's (a worker behind
    /// a router; InferenceX's AIPERF_SERVER_METRICS_URLS); repeat for several. Their counters
    /// are summed and the most used KV cache taken.
    #[arg(long, value_name = "URL")]
    server_metrics_url: Vec<String>,
    /// --dataset trace: read only the KV-cache usage of this endpoint's /metrics (a decode
    /// worker of a disaggregated deployment: the prompts' KV comes to it from the prefill
    /// workers, so its cache counters are not the deployment's hits); repeat for several.
    #[arg(long, value_name = "URL")]
    server_gauges_url: Vec<String>,
    /// Ask the server to ignore EOS so every request generates exactly its output length
    /// (default: on for the random dataset, off otherwise).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    ignore_eos: Option<bool>,
    /// GPUs serving the model, for per-GPU throughput.
    #[arg(long)]
    num_gpus: Option<u32>,
    /// SLOs for goodput, e.g. ttft:500,tpot:50,e2el:10000 (milliseconds).
    #[arg(long)]
    goodput: Option<String>,
    /// Write the result JSON here (an array when several concurrency values run).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write one JSON line per request here.
    #[arg(long)]
    requests_out: Option<PathBuf>,
    /// Environment variable holding the API key (sent as a Bearer token, never printed).
    #[arg(long, default_value = "OPENAI_API_KEY")]
    api_key_env: String,
    /// Whole-request deadline, seconds.
    #[arg(long, default_value_t = 3600.0)]
    request_timeout: f64,
    /// Longest silence (no bytes) allowed within a response, seconds.
    #[arg(long, default_value_t = 600.0)]
    idle_timeout: f64,
    /// Seconds to open a connection (a server that drops SYNs fails here, not minutes later).
    #[arg(long, default_value_t = 10.0)]
    connect_timeout: f64,
    #[command(flatten)]
    tls: super::TlsArgs,
    /// Client I/O threads (raise it when the self-check says the client was the bottleneck).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Exit non-zero when more than this fraction of a point's requests failed.
    #[arg(long, default_value_t = 0.05)]
    max_failure_rate: f64,
    /// Do not re-tokenize generated text (then output counts come from `usage` only).
    #[arg(long)]
    no_retokenize: bool,
    /// Prompts to count with the server's /tokenize before each point (0 = skip).
    #[arg(long, default_value_t = 16)]
    tokenize_probe: usize,
    /// A JSON object whose members are added to every request body (replacing ours of the same
    /// name), e.g. '{"min_tokens": 128}'.
    #[arg(long)]
    extra_body: Option<String>,
    /// An extra request header, NAME: VALUE (repeatable). Values are never printed or written.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Measure GPU board power while each point runs, integrated over its benchmark window:
    /// nvml, nvidia-smi, amd-smi, sim (the simulated engine at --base-url, or the embedded
    /// one) or sim:http://HOST:PORT.
    #[arg(long, value_name = "SOURCE")]
    power: Option<String>,
    /// Power samples per second.
    #[arg(long, default_value_t = 10.0, value_parser = super::sim::positive)]
    power_hz: f64,
    /// The GPUs whose power counts, e.g. 0,1,2,3 (default: CUDA_VISIBLE_DEVICES or
    /// ROCR_VISIBLE_DEVICES when numeric, else the first --num-gpus; for sim, its GPUs).
    #[arg(long, value_delimiter = ',')]
    power_gpus: Vec<u32>,
    /// Longest time allowed between two samples of one GPU across a window, seconds (default:
    /// 0.5; 3 for amd-smi, whose every reading starts a process).
    #[arg(long, value_parser = super::sim::positive)]
    power_max_gap: Option<f64>,
    /// Exit non-zero when a point's power measurement is invalid (the results are written).
    #[arg(long)]
    require_power: bool,
    /// Embedded sim only: its profile (default: engine, or fixed when --sim-ttft-ms or
    /// --sim-itl-ms is given).
    #[arg(long, value_enum)]
    sim_profile: Option<super::sim::Profile>,
    /// Embedded sim, engine profile: the simulated deployment.
    #[arg(long, default_value = "h200")]
    sim_gpu: String,
    #[arg(long, default_value = "llama-3.3-70b")]
    sim_model: String,
    #[arg(long, default_value = "fp8")]
    sim_precision: String,
    #[arg(long, default_value = "vllm")]
    sim_engine: String,
    #[arg(long, default_value_t = 8)]
    sim_tp: u32,
    /// Embedded sim, engine profile: simulated seconds per wall second (timings in the result
    /// are then that many times shorter than the modelled GPUs').
    #[arg(long, default_value_t = 1.0)]
    sim_time_scale: f64,
    /// Embedded sim, engine profile: no automatic prefix caching (on by default, as in vLLM
    /// and SGLang).
    #[arg(long)]
    sim_no_prefix_cache: bool,
    /// Embedded sim, engine profile: KV cache offloaded to this much CPU memory, GB (as `sim
    /// --kv-offload-gb`).
    #[arg(long, value_name = "GB", default_value_t = 0.0)]
    sim_kv_offload_gb: f64,
    /// Embedded sim, fixed profile: time to first token, ms (default 50).
    #[arg(long)]
    sim_ttft_ms: Option<f64>,
    /// Embedded sim, fixed profile: time between tokens, ms (default 10).
    #[arg(long)]
    sim_itl_ms: Option<f64>,
}

/// The embedded server for a run without --base-url, its simulated GPUs, and a line saying
/// what it simulates.
fn embedded_sim(
    a: &BenchArgs,
    tokenizer: Option<&str>,
) -> anyhow::Result<(servebench_sim::SimHandle, Option<u32>, String)> {
    use super::sim::{embedded, Embedded, Profile};
    let fixed = a.sim_ttft_ms.is_some() || a.sim_itl_ms.is_some();
    let profile = a.sim_profile.unwrap_or(if fixed {
        Profile::Fixed
    } else {
        Profile::Engine
    });
    let what = match profile {
        Profile::Fixed => Embedded::Fixed {
            ttft_ms: a.sim_ttft_ms.unwrap_or(50.0),
            itl_ms: a.sim_itl_ms.unwrap_or(10.0),
        },
        Profile::Engine => {
            anyhow::ensure!(
                !fixed,
                "--sim-ttft-ms and --sim-itl-ms belong to the fixed profile, not --sim-profile engine"
            );
            Embedded::Engine {
                deployment: super::deployment::DeploymentArgs {
                    gpu: Some(a.sim_gpu.clone()),
                    precision: Some(a.sim_precision.parse().map_err(|e: String| {
                        anyhow::anyhow!("--sim-precision {}: {e}", a.sim_precision)
                    })?),
                    engine: a.sim_engine.clone(),
                    tp: a.sim_tp,
                    ep: 1,
                    pp: 1,
                    dp_attention: false,
                    eplb: false,
                    spec_decode: None,
                    kv_offload_gb: a.sim_kv_offload_gb,
                    efficiency_scale: 1.0,
                    catalog: None,
                },
                model: a.sim_model.clone(),
                time_scale: a.sim_time_scale,
                prefix_cache: !a.sim_no_prefix_cache,
            }
        }
    };
    let line = what.describe();
    let gpus = match &what {
        Embedded::Engine { deployment, .. } => Some(deployment.tp),
        Embedded::Fixed { .. } => None,
    };
    Ok((embedded(what, tokenizer)?, gpus, line))
}

fn parse_api(s: &str) -> Result<Api, String> {
    s.parse()
}

fn parse_dataset(s: &str) -> Result<DatasetKind, String> {
    s.parse()
}

fn parse_trace_format(s: &str) -> Result<TraceFormat, String> {
    s.parse()
}

fn secs(name: &str, v: f64) -> anyhow::Result<Duration> {
    if !(v > 0.0 && v.is_finite()) {
        bail!("--{name} {v}: expected a positive number of seconds");
    }
    Ok(Duration::from_secs_f64(v))
}

pub fn run(a: BenchArgs) -> anyhow::Result<ExitCode> {
    // Without --base-url, benchmark an embedded simulated server (the embedded default).
    // The embedded server and the client count with one tokenizer: --tokenizer, or else the
    // built-in default, which then needs no warning.
    let tokenizer = match (&a.tokenizer, &a.base_url) {
        (None, None) => Some(servebench_tokenizer::fallback_encoding("servebench-sim").to_string()),
        (t, _) => t.clone(),
    };
    let embedded = match &a.base_url {
        Some(_) => None,
        None => Some(embedded_sim(&a, tokenizer.as_deref())?),
    };
    let base_url = match (&a.base_url, &embedded) {
        (Some(u), _) => u.clone(),
        (None, Some((h, _, what))) => {
            eprintln!(
                "servebench: no --base-url given: benchmarking the embedded simulated server at {} ({what})",
                h.base_url()
            );
            h.base_url()
        }
        (None, None) => unreachable!(),
    };
    // Parsed here, not by clap, whose message would echo a password in the URL.
    let base_url = BaseUrl::parse(&base_url).map_err(|e| anyhow::anyhow!("--base-url {e}"))?;
    // Without --model, the library asks the server's /v1/models (with the API key).
    let model = a.model.clone().unwrap_or_default();
    let goodput = a
        .goodput
        .as_deref()
        .map(parse_goodput)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    if !(0.0..=1.0).contains(&a.max_failure_rate) {
        bail!(
            "--max-failure-rate {}: expected a fraction in [0, 1]",
            a.max_failure_rate
        );
    }
    let opts = BenchOptions {
        base_url,
        endpoint: a.endpoint.clone(),
        model,
        api: a.api,
        dataset: a.dataset,
        dataset_path: a.dataset_path.clone(),
        isl: a.isl,
        osl: a.osl.unwrap_or(1024),
        osl_override: a.osl.is_some(),
        range_ratio: a.range_ratio,
        concurrency: if a.concurrency.is_empty() && a.request_rate.is_infinite() {
            vec![1]
        } else {
            a.concurrency.clone()
        },
        num_prompts: a.num_prompts,
        warmups: a.warmups,
        request_rate: a.request_rate,
        burstiness: a.burstiness,
        duration: a.duration.map(|d| secs("duration", d)).transpose()?,
        seed: a.seed,
        tokenizer,
        ignore_eos: a.ignore_eos.unwrap_or(matches!(
            a.dataset,
            DatasetKind::Random | DatasetKind::Trace
        )),
        // The embedded engine's GPUs, unless told otherwise.
        num_gpus: a
            .num_gpus
            .or(embedded.as_ref().and_then(|(_, gpus, _)| *gpus)),
        goodput,
        api_key_env: a.api_key_env.clone(),
        request_timeout: secs("request-timeout", a.request_timeout)?,
        idle_timeout: secs("idle-timeout", a.idle_timeout)?,
        connect_timeout: secs("connect-timeout", a.connect_timeout)?,
        tls: a.tls.options(),
        client_threads: a.client_threads,
        max_failure_rate: a.max_failure_rate,
        retokenize: !a.no_retokenize,
        tokenize_probe: a.tokenize_probe,
        extra_body: a.extra_body.clone(),
        headers: a.headers.clone(),
        replay: ReplayOptions {
            format: a.trace_format,
            start_ratio: match a.trace_start_ratio[..] {
                [lo, hi] => (lo, hi),
                _ => bail!("--trace-start-ratio: expected two fractions LO,HI"),
            },
            warmups_per_lane: a.warmups_per_lane,
            pause_cap: seconds("--pause-cap", a.pause_cap, 0.0)?,
            session_headers: a.session_header.clone(),
            profile: a.trace_profile.clone(),
            sessions: a.trace_sessions,
            max_context: a.trace_max_context,
            within_server_context: false,
            server_metrics_every: seconds(
                "--server-metrics-interval",
                a.server_metrics_interval,
                0.001,
            )?,
            server_metrics_urls: urls("--server-metrics-url", &a.server_metrics_url)?,
            server_gauge_urls: urls("--server-gauges-url", &a.server_gauges_url)?,
        },
    };
    let power = a
        .power
        .as_ref()
        .map(|source| {
            servebench_power::PowerSpec {
                source: source.clone(),
                hz: a.power_hz,
                max_gap_s: a.power_max_gap,
                gpus: a.power_gpus.clone(),
            }
            .start(&opts.base_url, opts.num_gpus)
        })
        .transpose()?;
    let bench = Bench::prepare(opts)?;
    if bench.tokenizer_fallback {
        eprintln!(
            "servebench: no tokenizer for '{}' found locally; using the built-in {} (pass --tokenizer for exact prompt lengths)",
            bench.opts.model,
            bench.tokenizer.info().name
        );
    }
    let requests_out: Option<RequestLog> = match &a.requests_out {
        Some(p) => Some(Arc::new(std::sync::Mutex::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )))),
        None => None,
    };
    let trace = if a.dataset == DatasetKind::Trace {
        let t = bench.trace()?;
        eprintln!(
            "servebench: {}: {} sessions, {} turns ({} in {} subagents), theoretical prefix-cache hit rate {:.4}",
            t.source.describe(),
            t.summary.sessions,
            t.summary.turns + t.summary.subagent_turns,
            t.summary.subagent_turns,
            t.summary.subagents,
            t.summary.theoretical_hit_rate()
        );
        Some(t)
    } else {
        None
    };
    let mut results = Vec::new();
    let mut gate_failed = false;
    for conc in bench.points() {
        // As the point is named in messages: `c=4`, or an open loop without a cap.
        let point = conc.map_or("an uncapped open loop".to_string(), |c| format!("c={c}"));
        let progress = Arc::new(Progress::default());
        let bar = (!a.no_progress).then(|| spawn_bar(progress.clone(), conc));
        let mut log_error = None;
        // A replay writes its lines as it runs and keeps no records; a fixed dataset's point
        // gives its records for the lines.
        let (mut result, run) = match (&trace, conc) {
            (Some(t), Some(lanes)) => {
                let r = bench.run_replay(lanes, t, progress, requests_out.clone());
                log_error = r.counts.requests_out_error;
                (r.result, None)
            }
            (Some(_), None) => bail!("--dataset trace needs --concurrency (the number of lanes)"),
            (None, _) => {
                let o = bench.run_point(conc, bench.dataset(conc)?, progress);
                (o.result, Some(o.run))
            }
        };
        if let Some(b) = bar {
            let _ = b.join();
        }
        if let Some((rec, checks)) = &power {
            let p = servebench_power::measure(rec, &result, checks);
            if !p.valid && a.require_power {
                gate_failed = true;
                eprintln!(
                    "servebench: the power measurement at {point} is invalid (--require-power)"
                );
            }
            result.power = Some(p);
        }
        print!("{}", report::summary(&result));
        std::io::stdout().flush().ok();
        if over_failure_gate(&result) {
            gate_failed = true;
            eprintln!(
                "servebench: {:.1}% of requests failed at {point} (limit {:.1}%)",
                result.failures.failure_rate * 100.0,
                a.max_failure_rate * 100.0
            );
        }
        if let (Some(log), Some(run)) = (&requests_out, &run) {
            let mut w = log.lock().expect("requests-out lock");
            let written: std::io::Result<()> = run
                .warmup_records
                .iter()
                .chain(&run.records)
                .try_for_each(|r| write_line(&mut *w, r, conc, run.start_ns))
                .and_then(|()| w.flush());
            log_error = written.err().map(|e| e.to_string());
        }
        results.push(result);
        // Rewrite after every point: a later failure never loses what was measured.
        if let Some(p) = &a.out {
            let json = if results.len() == 1 && bench.points().len() == 1 {
                serde_json::to_string_pretty(&results[0])?
            } else {
                serde_json::to_string_pretty(&results)?
            };
            std::fs::write(p, json + "\n").with_context(|| format!("writing {}", p.display()))?;
        }
        if let (Some(e), Some(p)) = (log_error, &a.requests_out) {
            bail!("writing {}: {e}", p.display());
        }
    }
    if let Some((h, ..)) = embedded {
        h.shutdown();
    }
    Ok(if gate_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A flag's seconds, at least `min`.
/// Endpoint URLs of a repeated flag; an error names what it refuses without echoing the URL
/// (it may hold a secret).
fn urls(flag: &str, given: &[String]) -> anyhow::Result<Vec<BaseUrl>> {
    given
        .iter()
        .map(|u| BaseUrl::parse(u).map_err(|e| anyhow::anyhow!("{flag} {e}")))
        .collect()
}

fn seconds(flag: &str, v: f64, min: f64) -> anyhow::Result<Duration> {
    if v.is_finite() && v >= min && v < 1e9 {
        Ok(Duration::from_secs_f64(v))
    } else {
        bail!("{flag} {v}: expected a number of seconds >= {min}")
    }
}

fn spawn_bar(p: Arc<Progress>, conc: Option<usize>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>14} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .expect("template"),
        );
        bar.set_prefix(match conc {
            Some(c) => format!("c={c}"),
            None => "open loop".into(),
        });
        loop {
            let phase = p.phase.load(Ordering::Relaxed);
            match phase {
                PHASE_WARMUP => {
                    bar.set_length(p.warmup_total.load(Ordering::Relaxed));
                    bar.set_position(p.warmup_done.load(Ordering::Relaxed));
                    bar.set_message("warming up");
                }
                PHASE_MEASURE => {
                    // With --duration the count is open-ended: the bar just fills as it goes.
                    let done = p.done.load(Ordering::Relaxed);
                    let total = p.total.load(Ordering::Relaxed);
                    bar.set_length(if total > 0 { total } else { done });
                    bar.set_position(done);
                    bar.set_message(format!(
                        "{} failed, {} tokens",
                        p.failed.load(Ordering::Relaxed),
                        p.output_tokens.load(Ordering::Relaxed)
                    ));
                }
                PHASE_DONE => break,
                _ => bar.set_message("preparing"),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bar.finish_and_clear();
    })
}
