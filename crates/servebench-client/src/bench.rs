//! `bench` as a library: resolve the target and tokenizer once, then run one point per
//! concurrency value. The CLI only parses flags into [`BenchOptions`] and renders progress.

use crate::agentic;
use crate::exchange::{endpoint_path, ExtraBody, Target};
use crate::metrics::{self, Context};
use crate::replay::{self, ReplayCounts, ReplaySpec};
use crate::request_log::RequestLog;
use crate::runner::{self, PointRun, PointSpec, Progress};
use crate::server_watch::Watch;
use servebench_core::clock::peak_rss_bytes;
use servebench_core::endpoint::BaseUrl;
use servebench_core::result::{
    BenchResult, GoodputSpec, Provenance, RequestRate, RunConfig, TokenizeProbe,
};
use servebench_core::sys;
use servebench_core::Api;
use servebench_dataset::blocks::BlockText;
use servebench_dataset::{generate, trace};
use servebench_dataset::{Dataset, DatasetKind, DatasetSpec, Prompt};
use servebench_tokenizer::Tokenizer;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub base_url: BaseUrl,
    /// Request path overriding the API's default (e.g. `/v1/completions`).
    pub endpoint: Option<String>,
    /// The model name sent; empty: the first model the server lists at `/v1/models`.
    pub model: String,
    pub api: Api,
    pub dataset: DatasetKind,
    pub dataset_path: Option<PathBuf>,
    pub isl: u32,
    pub osl: u32,
    /// sharegpt/jsonl: request `osl` tokens instead of each entry's own output length.
    pub osl_override: bool,
    pub range_ratio: f64,
    /// One point per value; empty = no concurrency limit (open loop only).
    pub concurrency: Vec<usize>,
    pub num_prompts: Option<usize>,
    pub warmups: Option<usize>,
    pub request_rate: RequestRate,
    pub burstiness: f64,
    pub duration: Option<Duration>,
    pub seed: u64,
    pub tokenizer: Option<String>,
    pub ignore_eos: bool,
    pub num_gpus: Option<u32>,
    pub goodput: Option<GoodputSpec>,
    pub api_key_env: String,
    pub request_timeout: Duration,
    pub idle_timeout: Duration,
    /// Opening each connection.
    pub connect_timeout: Duration,
    /// `https://`: how the server's certificate is checked (`--insecure`, `--ca-cert`).
    pub tls: servebench_http::TlsOptions,
    pub client_threads: usize,
    pub max_failure_rate: f64,
    /// Re-tokenize generated text to report the client's output count beside `usage`.
    pub retokenize: bool,
    /// Prompts to send to the server's `/tokenize` before the run (0 = skip).
    pub tokenize_probe: usize,
    /// A JSON object whose members are added to every request body.
    pub extra_body: Option<String>,
    /// Extra request headers, each `Name: value`.
    pub headers: Vec<String>,
    /// How `--dataset trace` replays sessions.
    pub replay: ReplayOptions,
}

/// How a trace is replayed (InferenceX's AIPerf settings are the defaults).
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub format: servebench_dataset::trace::Format,
    /// A lane's first session starts at this fraction of its turns, drawn uniformly.
    pub start_ratio: (f64, f64),
    pub warmups_per_lane: usize,
    /// The longest pause replayed between turns.
    pub pause_cap: Duration,
    /// The headers carrying each session's id (`X-Session-ID`, `X-Dynamo-Session-ID`).
    pub session_headers: Vec<String>,
    /// Without a trace file: sessions drawn from this profile of `data/agentic-sessions.yaml`
    /// (seeded with `--seed`) ...
    pub profile: Option<String>,
    /// ... this many of them.
    pub sessions: u64,
    /// Leave out turns whose input plus output pass this many tokens.
    pub max_context: Option<u32>,
    /// Also leave out turns longer than the server's context (`max_model_len`), rather than
    /// refusing the trace: a sweep serves each model at its native context, which may be
    /// shorter than the corpus's turns.
    pub within_server_context: bool,
    /// How often the server's KV-cache usage is sampled from its `/metrics` in the window.
    pub server_metrics_every: Duration,
    /// Scraped beside the server's own `/metrics`: a deployment's workers, whose engines count
    /// the cache hits and hold the KV cache behind a router (InferenceX's
    /// `AIPERF_SERVER_METRICS_URLS`).
    pub server_metrics_urls: Vec<BaseUrl>,
    /// Scraped for their KV-cache usage only: a disaggregated deployment's decode workers, whose
    /// prompts' KV arrives from the prefill side, so that their cache counters are not the
    /// deployment's hits.
    pub server_gauge_urls: Vec<BaseUrl>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            format: servebench_dataset::trace::Format::Weka,
            // InferenceX: --trajectory-start-min/max-ratio 0.25/0.75,
            // --warmup-requests-per-lane 10, --trace-idle-gap-cap-seconds 300.
            start_ratio: (0.25, 0.75),
            warmups_per_lane: 10,
            pause_cap: Duration::from_secs(300),
            session_headers: Vec::new(),
            profile: None,
            sessions: 1000,
            max_context: None,
            within_server_context: false,
            // InferenceX samples GPU metrics at 1 s too.
            server_metrics_every: Duration::from_secs(1),
            server_metrics_urls: Vec::new(),
            server_gauge_urls: Vec::new(),
        }
    }
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            base_url: BaseUrl::parse("http://127.0.0.1:8000").expect("a valid URL"),
            endpoint: None,
            model: "servebench-sim".into(),
            api: Api::Completions,
            dataset: DatasetKind::Random,
            dataset_path: None,
            isl: 1024,
            osl: 1024,
            osl_override: false,
            range_ratio: 0.8,
            concurrency: vec![1],
            num_prompts: None,
            warmups: None,
            request_rate: RequestRate::Infinite,
            burstiness: 1.0,
            duration: None,
            seed: 0,
            tokenizer: None,
            ignore_eos: true,
            num_gpus: None,
            goodput: None,
            api_key_env: "OPENAI_API_KEY".into(),
            request_timeout: Duration::from_secs(3600),
            idle_timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
            tls: Default::default(),
            client_threads: 1,
            max_failure_rate: 0.05,
            retokenize: true,
            tokenize_probe: 16,
            extra_body: None,
            headers: Vec::new(),
            replay: ReplayOptions::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Config(String),
    /// The server did not answer the pre-flight request (before anything is measured).
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server answered, but not as an OpenAI-compatible server for this benchmark would.
    #[error("{0}")]
    Server(String),
    #[error(transparent)]
    Tokenizer(#[from] servebench_tokenizer::TokenizerError),
    #[error(transparent)]
    Dataset(#[from] servebench_dataset::DatasetError),
}

/// A prepared benchmark: target resolved, tokenizer loaded.
pub struct Bench {
    pub opts: BenchOptions,
    pub target: Target,
    pub tokenizer: Arc<Tokenizer>,
    /// The tokenizer is a built-in stand-in, not the model's own.
    pub tokenizer_fallback: bool,
    /// Off the hot path: the `/tokenize` probe.
    http: servebench_http::Client,
    /// `/metrics` of the workers behind the server (`ReplayOptions::server_metrics_urls`,
    /// then `server_gauge_urls`), with whether their counters count.
    worker_metrics: Vec<(servebench_http::Client, bool)>,
    /// The model's context as the server's `/v1/models` gives it.
    max_model_len: Option<u64>,
}

/// Where a replay's sessions come from.
#[derive(Debug, Clone)]
pub enum TraceSource {
    File {
        path: PathBuf,
        format: trace::Format,
    },
    Generated {
        name: String,
        profile: Box<generate::Profile>,
        sessions: u64,
        seed: u64,
    },
}

impl TraceSource {
    /// The sessions from the start.
    pub fn open(&self) -> Result<replay::SessionIter, servebench_dataset::DatasetError> {
        Ok(match self {
            TraceSource::File { path, format } => Box::new(trace::read(path, *format)?),
            TraceSource::Generated {
                profile,
                sessions,
                seed,
                ..
            } => Box::new(
                generate::Generator::new(profile, *seed)?
                    .sessions(*sessions)
                    .map(Ok),
            ),
        })
    }

    /// The file, or the profile with its count and seed.
    pub fn describe(&self) -> String {
        match self {
            TraceSource::File { path, .. } => path.display().to_string(),
            TraceSource::Generated {
                name,
                sessions,
                seed,
                ..
            } => format!("{sessions} sessions of profile {name} (seed {seed})"),
        }
    }

    fn format_name(&self) -> &'static str {
        match self {
            TraceSource::File { format, .. } => format.as_str(),
            TraceSource::Generated { .. } => "generated",
        }
    }
}

/// A trace ready to replay.
pub struct Trace {
    pub source: TraceSource,
    pub summary: trace::Summary,
    pub sha256: String,
    blocks: Arc<BlockText>,
}

/// One replayed point.
///
/// Its measured requests were tallied as they finished; each one's own numbers are in the
/// request log (`requests_out`).
pub struct ReplayOutcome {
    pub result: BenchResult,
    pub counts: ReplayCounts,
}

/// One finished point.
pub struct PointOutcome {
    pub result: BenchResult,
    pub run: PointRun,
}

/// The most requests in flight from one client: each needs its own connection, and a client
/// machine has about 28,000 ephemeral ports per server address (Linux's default range).
pub const MAX_CONCURRENCY: usize = 28_000;
/// The longest sequence (input + output tokens) asked for: far past any model's context.
pub const MAX_SEQUENCE_TOKENS: u64 = 1 << 24;
/// The most prompt tokens one point's dataset may hold (4 bytes each in memory).
pub const MAX_DATASET_TOKENS: u64 = 1 << 31;
/// The most client threads (each runs its own event loop).
pub const MAX_CLIENT_THREADS: usize = 1024;

/// The flags' values, checked before anything is allocated or sent.
fn check_options(o: &BenchOptions) -> Result<(), String> {
    if !(0.0..=1.0).contains(&o.range_ratio) {
        return Err(format!(
            "--range-ratio {}: expected a number in [0, 1]",
            o.range_ratio
        ));
    }
    if o.concurrency.contains(&0) {
        return Err("--concurrency: values must be at least 1".into());
    }
    if let Some(&c) = o.concurrency.iter().find(|&&c| c > MAX_CONCURRENCY) {
        return Err(format!(
            "--concurrency {c}: at most {MAX_CONCURRENCY} (one connection each, and a client has about that many ports per server)"
        ));
    }
    if o.concurrency.is_empty() && o.request_rate.is_infinite() {
        return Err("a closed loop (--request-rate inf) needs --concurrency".into());
    }
    if o.burstiness <= 0.0 || !o.burstiness.is_finite() {
        return Err(format!(
            "--burstiness {}: expected a positive number",
            o.burstiness
        ));
    }
    if o.client_threads == 0 || o.client_threads > MAX_CLIENT_THREADS {
        return Err(format!(
            "--client-threads {}: expected 1 to {MAX_CLIENT_THREADS}",
            o.client_threads
        ));
    }
    if o.isl == 0 {
        return Err("--isl 0: expected at least 1 token".into());
    }
    let seq = u64::from(o.isl) + u64::from(o.osl);
    if seq > MAX_SEQUENCE_TOKENS {
        return Err(format!(
            "--isl {} + --osl {} = {seq} tokens: at most {MAX_SEQUENCE_TOKENS} (no model has a longer context)",
            o.isl, o.osl
        ));
    }
    let most = o.concurrency.iter().max().copied().unwrap_or(100) as u64;
    let requests =
        o.num_prompts.map_or(10 * most, |n| n as u64) + o.warmups.map_or(2 * most, |n| n as u64);
    if requests.saturating_mul(u64::from(o.isl)) > MAX_DATASET_TOKENS {
        return Err(format!(
            "{requests} requests of up to {} prompt tokens: more than {MAX_DATASET_TOKENS} tokens to hold; lower --num-prompts, --concurrency or --isl",
            o.isl
        ));
    }
    if o.dataset == DatasetKind::Trace {
        check_replay(o)?;
    }
    if !servebench_core::redact::is_env_var_name(&o.api_key_env) {
        // Not echoed: it may be the key itself, pasted.
        return Err(
            "--api-key-env: expected the NAME of an environment variable that holds the key (e.g. OPENAI_API_KEY), not the key itself".into(),
        );
    }
    Ok(())
}

/// A trace replay's own settings.
fn check_replay(o: &BenchOptions) -> Result<(), String> {
    let r = &o.replay;
    let (lo, hi) = r.start_ratio;
    if !(0.0..=1.0).contains(&lo) || !(lo..=1.0).contains(&hi) {
        return Err(format!(
            "--trace-start-ratio {lo},{hi}: expected two fractions LO,HI with 0 <= LO <= HI <= 1"
        ));
    }
    if !o.request_rate.is_infinite() {
        return Err(
            "--request-rate: a trace replay is paced by its sessions (each lane sends a turn when the last one has ended and its pause has passed); leave it at inf".into(),
        );
    }
    for h in &r.session_headers {
        check_header_name("--session-header", h)?;
    }
    Ok(())
}

/// The TLS side of an `https://` target (checked before anything is sent).
fn tls_target(o: &BenchOptions) -> Result<Option<crate::conn::TlsTarget>, String> {
    if !o.base_url.is_tls() {
        return Ok(None);
    }
    let config = servebench_http::tls::client_config(&o.tls).map_err(|e| e.to_string())?;
    let name = servebench_http::tls::server_name(o.base_url.host())
        .map_err(|e| format!("--base-url {}: {e}", o.base_url))?;
    Ok(Some(crate::conn::TlsTarget { config, name }))
}

/// What the pre-flight request found.
struct Server {
    addr: SocketAddr,
    models: Vec<servebench_http::Model>,
    first_model: Option<String>,
}

/// A client of a worker's `/metrics` (no key: a metrics endpoint is not the API).
fn metrics_client(url: &BaseUrl, o: &BenchOptions) -> Result<servebench_http::Client, BenchError> {
    servebench_http::Client::new(
        url.clone(),
        servebench_http::Options {
            timeout: Duration::from_secs(10),
            connect_timeout: o.connect_timeout,
            tls: o.tls.clone(),
            ..Default::default()
        },
    )
    .map_err(|e| BenchError::Config(format!("--server-metrics-url {url}: {e}")))
}

/// Resolves the server and asks it for its models (with the API key): a dead, misaddressed
/// or key-refusing server is reported before anything is measured.
fn preflight(
    o: &BenchOptions,
    api_key: Option<String>,
) -> Result<(servebench_http::Client, Server), BenchError> {
    let url = &o.base_url;
    let addr = url
        .authority()
        .to_socket_addrs()
        .map_err(|e| BenchError::Unreachable(format!("{url}: {e}")))?
        .next()
        .ok_or_else(|| BenchError::Unreachable(format!("{url}: no address")))?;
    let http = servebench_http::Client::new(
        url.clone(),
        servebench_http::Options {
            timeout: Duration::from_secs(30),
            connect_timeout: o.connect_timeout,
            api_key,
            tls: o.tls.clone(),
            ..Default::default()
        },
    )
    .map_err(|e| BenchError::Config(e.to_string()))?;
    let models = match http.models() {
        Ok(m) => m,
        Err(servebench_http::ModelsError::Http(e)) => {
            return Err(BenchError::Unreachable(e.to_string()))
        }
        Err(
            e @ servebench_http::ModelsError::Status {
                status: 401 | 403, ..
            },
        ) => return Err(BenchError::Server(e.to_string())),
        // A server without a model list is still a server; the model must then be named.
        Err(_) => Vec::new(),
    };
    let first_model = models.first().map(|m| m.id.clone());
    Ok((
        http,
        Server {
            addr,
            models,
            first_model,
        },
    ))
}

/// ISL + OSL fit the model's context where the server says what it is.
fn check_context(o: &BenchOptions, models: &[servebench_http::Model]) -> Result<(), String> {
    let Some(max) = models
        .iter()
        .find(|m| m.id == o.model)
        .and_then(|m| m.max_model_len)
    else {
        return Ok(());
    };
    let seq = u64::from(o.isl) + u64::from(o.osl);
    if seq > max {
        return Err(format!(
            "--isl {} + --osl {} = {seq} tokens: more than the server's max_model_len {max} for {} (from /v1/models)",
            o.isl, o.osl, o.model
        ));
    }
    Ok(())
}

/// The server's own count of a prompt's tokens (`/tokenize`: vLLM, SGLang, llama.cpp).
fn server_token_count(http: &servebench_http::Client, model: &str, prompt: &str) -> Option<u64> {
    let body = serde_json::json!({"model": model, "prompt": prompt, "add_special_tokens": false});
    let r = http
        .post_json("/tokenize", body.to_string().as_bytes())
        .ok()?;
    if r.status != 200 {
        return None;
    }
    let v = r.json().ok()?;
    v.get("count").and_then(|c| c.as_u64()).or_else(|| {
        v.get("tokens")
            .and_then(|t| t.as_array())
            .map(|a| a.len() as u64)
    })
}

/// Parse `ttft:MS,tpot:MS,e2el:MS` (any subset, also space-separated as vLLM takes it).
pub fn parse_goodput(s: &str) -> Result<GoodputSpec, String> {
    let mut g = GoodputSpec::default();
    for part in s.split([',', ' ']).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once(':')
            .ok_or_else(|| format!("--goodput '{part}': expected NAME:MS (ttft, tpot or e2el)"))?;
        let ms: f64 = v
            .parse()
            .ok()
            .filter(|x: &f64| *x > 0.0 && x.is_finite())
            .ok_or_else(|| {
                format!("--goodput '{part}': '{v}' is not a positive number of milliseconds")
            })?;
        match k {
            "ttft" => g.ttft_ms = Some(ms),
            "tpot" => g.tpot_ms = Some(ms),
            "e2el" => g.e2el_ms = Some(ms),
            other => {
                return Err(format!(
                    "--goodput '{part}': unknown metric '{other}' (expected ttft, tpot or e2el)"
                ))
            }
        }
    }
    Ok(g)
}

impl Bench {
    pub fn prepare(mut opts: BenchOptions) -> Result<Bench, BenchError> {
        // Everything the flags say is checked before any network I/O.
        check_options(&opts).map_err(BenchError::Config)?;
        let extra_body = match &opts.extra_body {
            Some(j) => ExtraBody::parse(j).map_err(BenchError::Config)?,
            None => ExtraBody::default(),
        };
        let headers = opts
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(BenchError::Config)?;
        let resolved = Tokenizer::resolve(opts.tokenizer.as_deref(), &opts.model)?;
        let tls = tls_target(&opts).map_err(BenchError::Config)?;
        let api_key = std::env::var(&opts.api_key_env)
            .ok()
            .filter(|k| !k.is_empty());
        let (http, server) = preflight(&opts, api_key.clone())?;
        if opts.model.is_empty() {
            opts.model = server.first_model.clone().ok_or_else(|| {
                BenchError::Server(format!(
                    "--model not given and {} lists no model",
                    opts.base_url.join(&opts.base_url.api_path("/v1/models"))
                ))
            })?;
        }
        // A trace's lengths are its own, checked against the context in `trace`.
        if opts.dataset != DatasetKind::Trace {
            check_context(&opts, &server.models).map_err(BenchError::Config)?;
        }
        let max_model_len = server
            .models
            .iter()
            .find(|m| m.id == opts.model)
            .and_then(|m| m.max_model_len);
        let path = opts
            .endpoint
            .clone()
            .unwrap_or_else(|| endpoint_path(opts.base_url.prefix(), opts.api));
        let target = Target {
            addr: server.addr,
            host: opts.base_url.authority(),
            path,
            api: opts.api,
            model: opts.model.clone(),
            authorization: api_key.map(|k| format!("Bearer {k}")),
            ignore_eos: opts.ignore_eos,
            request_timeout: opts.request_timeout,
            idle_timeout: opts.idle_timeout,
            connect_timeout: opts.connect_timeout,
            tls,
            extra_body,
            headers,
            session_headers: opts.replay.session_headers.clone(),
        };
        // Thousands of concurrent connections need thousands of descriptors.
        sys::raise_fd_limit();
        let r = &opts.replay;
        let worker_metrics = (r.server_metrics_urls.iter().map(|u| (u, true)))
            .chain(r.server_gauge_urls.iter().map(|u| (u, false)))
            .map(|(u, counters)| Ok((metrics_client(u, &opts)?, counters)))
            .collect::<Result<_, BenchError>>()?;
        Ok(Bench {
            opts,
            target,
            tokenizer: Arc::new(resolved.tokenizer),
            tokenizer_fallback: resolved.fallback,
            http,
            worker_metrics,
            max_model_len,
        })
    }

    /// The concurrency values to run (one `None` for an uncapped open loop).
    pub fn points(&self) -> Vec<Option<usize>> {
        if self.opts.concurrency.is_empty() {
            vec![None]
        } else {
            self.opts.concurrency.iter().map(|&c| Some(c)).collect()
        }
    }

    /// Build the dataset for one point: InferenceX's defaults of 10×C prompts and 2×C warmups.
    pub fn dataset(&self, concurrency: Option<usize>) -> Result<Dataset, BenchError> {
        let c = concurrency.unwrap_or(100);
        let spec = DatasetSpec {
            kind: self.opts.dataset,
            path: self.opts.dataset_path.clone(),
            isl: self.opts.isl,
            osl: self.opts.osl,
            osl_override: self.opts.osl_override,
            range_ratio: self.opts.range_ratio,
            seed: self.opts.seed,
            num_prompts: self.opts.num_prompts.unwrap_or(if concurrency.is_some() {
                10 * c
            } else {
                1000
            }),
            // InferenceX's 2 × C; an uncapped open loop warms up with a few requests.
            num_warmups: self.opts.warmups.unwrap_or(if concurrency.is_some() {
                2 * c
            } else {
                10
            }),
            api: self.opts.api,
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Dataset::build(&spec, &self.tokenizer, threads)?)
    }

    /// Ask the server to count a sample of the prompts; `None` when it has no `/tokenize`.
    pub fn tokenize_probe(&self, ds: &Dataset) -> Option<TokenizeProbe> {
        let n = self.opts.tokenize_probe.min(ds.len());
        let mut p = TokenizeProbe::default();
        for i in 0..n {
            let req = ds.request(i);
            let Prompt::Text(text) = &req.prompt else {
                continue;
            };
            let server = server_token_count(&self.http, &self.target.model, text)?;
            p.prompts += 1;
            p.client_tokens += req.input_len as u64;
            p.server_tokens += server;
            p.max_abs_diff = p.max_abs_diff.max(server.abs_diff(req.input_len as u64));
        }
        if p.prompts == 0 {
            return None;
        }
        p.mean_diff = (p.server_tokens as f64 - p.client_tokens as f64) / p.prompts as f64;
        Some(p)
    }

    /// Run one point to completion and compute its result.
    pub fn run_point(
        &self,
        concurrency: Option<usize>,
        dataset: Dataset,
        progress: Arc<Progress>,
    ) -> PointOutcome {
        let probe = if self.opts.tokenize_probe > 0 {
            self.tokenize_probe(&dataset)
        } else {
            None
        };
        let input_lengths = dataset.input_lengths();
        let dataset_sha256 = dataset.sha256().to_string();
        let warmups = dataset.warmup_len();
        let num_prompts = dataset.len();
        let spec = PointSpec {
            target: self.target.clone(),
            dataset: Arc::new(dataset),
            concurrency,
            rate: self.opts.request_rate,
            burstiness: self.opts.burstiness,
            duration: self.opts.duration,
            seed: self.opts.seed,
            threads: self.opts.client_threads,
            retokenize: self.opts.retokenize.then(|| self.tokenizer.clone()),
            request_id_prefix: format!(
                "sb{:x}-c{}",
                std::process::id(),
                concurrency.map_or("inf".to_string(), |c| c.to_string())
            ),
        };
        let run = runner::run_point(spec, progress);
        let cx = self.context(
            concurrency,
            num_prompts,
            warmups,
            dataset_sha256,
            input_lengths,
            probe,
        );
        let result = metrics::aggregate(&run, cx);
        PointOutcome { result, run }
    }

    /// The longest turn replayed (input plus output): `--trace-max-context`, and with
    /// `within_server_context` the server's `max_model_len`.
    fn max_context(&self) -> Option<u32> {
        let server = self
            .max_model_len
            .filter(|_| self.opts.replay.within_server_context)
            .map(|m| u32::try_from(m).unwrap_or(u32::MAX));
        match (self.opts.replay.max_context, server) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Reads the trace through once (every line checked, before anything is sent) and prepares
    /// its prompt text.
    pub fn trace(&self) -> Result<Trace, BenchError> {
        let o = &self.opts;
        let source = match (&o.dataset_path, &o.replay.profile) {
            (Some(path), None) => TraceSource::File {
                path: path.clone(),
                format: o.replay.format,
            },
            (None, Some(name)) => TraceSource::Generated {
                name: name.clone(),
                profile: Box::new(generate::profile(name)?),
                sessions: o.replay.sessions,
                seed: o.seed,
            },
            _ => {
                return Err(BenchError::Config(
                    "--dataset trace needs either --dataset-path FILE or --trace-profile NAME"
                        .into(),
                ))
            }
        };
        let summary = trace::summarize(source.open()?)?;
        if summary.turns == 0 {
            return Err(BenchError::Config(format!(
                "{}: no session has a turn to replay",
                source.describe()
            )));
        }
        let cap = self.max_context().map(u64::from);
        if let Some(max) = self.max_model_len {
            let longest = summary.max_sequence_tokens;
            if longest > max && cap.is_none_or(|c| c > max) {
                return Err(BenchError::Config(format!(
                    "{}: turns of up to {longest} tokens (input + output), more than the server's max_model_len {max} for {}: pass --trace-max-context {max} to leave longer turns out (as InferenceX's 256k corpus does), or serve the model with a longer context",
                    source.describe(),
                    o.model
                )));
            }
        }
        let blocks = BlockText::new(&self.tokenizer)?;
        // Every word is one token by itself and after another; a long prompt must be too.
        let mut probe = String::new();
        blocks.write(&mut probe, 1, &[1, 2, 3, 4], 1024, 4096);
        let counted = self.tokenizer.count(&probe);
        if counted != 4096 {
            return Err(BenchError::Config(format!(
                "tokenizer {}: a 4096-word trace prompt counts {counted} tokens; its prompts would not have the trace's lengths",
                self.tokenizer.info().name
            )));
        }
        let sha256 = match &source {
            TraceSource::File { path, .. } => trace::file_sha256(path)?,
            // The generator's output is a function of its profile, count and seed.
            TraceSource::Generated { .. } => {
                use sha2::{Digest, Sha256};
                hex::encode(Sha256::digest(source.describe()))
            }
        };
        Ok(Trace {
            source,
            summary,
            sha256,
            blocks: Arc::new(blocks),
        })
    }

    /// Replays the trace with `lanes` users and computes the result; each request's line goes
    /// to `requests_out` as it finishes.
    pub fn run_replay(
        &self,
        lanes: usize,
        trace: &Trace,
        progress: Arc<Progress>,
        requests_out: Option<RequestLog>,
    ) -> ReplayOutcome {
        let o = &self.opts;
        let spec = ReplaySpec {
            target: self.target.clone(),
            blocks: trace.blocks.clone(),
            lanes,
            start_ratio: o.replay.start_ratio,
            warmups_per_lane: o.replay.warmups_per_lane,
            pause_cap: o.replay.pause_cap,
            duration: o.duration,
            max_context: self.max_context(),
            seed: o.seed,
            threads: o.client_threads,
            request_id_prefix: format!("sb{:x}-c{lanes}", std::process::id()),
            goodput: o.goodput.clone(),
        };
        let source = trace.source.clone();
        let open: replay::Opener = Box::new(move || source.open());
        let endpoints = std::iter::once((self.http.clone(), true))
            .chain(self.worker_metrics.iter().cloned())
            .collect();
        let watch = Watch::spawn(endpoints, o.replay.server_metrics_every);
        let observers = replay::Observers {
            requests_out,
            server: watch.as_ref(),
        };
        let replay::Replayed {
            run,
            mut tally,
            agentic,
            counts,
        } = replay::run(spec, open, progress, observers);
        let server_metrics = watch.and_then(Watch::finish);
        let cx = self.context(
            Some(lanes),
            tally.requests() as usize,
            run.warmup_records.len(),
            trace.sha256.clone(),
            // Checked in `trace`: n words are n tokens.
            tally.input_lengths(),
            None,
        );
        let setup = agentic::Setup {
            format: trace.source.format_name(),
            lanes,
            start_ratio: o.replay.start_ratio,
            warmups_per_lane: o.replay.warmups_per_lane,
            pause_cap_s: o.replay.pause_cap.as_secs_f64(),
            max_context: self.max_context(),
            trace: &trace.summary,
            server_metrics,
        };
        let agentic = agentic::summarize(agentic, &mut tally, &counts, &setup);
        let mut result = tally.finish(&run, cx);
        result.agentic = Some(agentic);
        ReplayOutcome { result, counts }
    }

    /// What a point's result says about its run besides the records.
    fn context(
        &self,
        concurrency: Option<usize>,
        num_prompts: usize,
        warmups: usize,
        dataset_sha256: String,
        input_lengths: servebench_core::result::LengthStats,
        probe: Option<TokenizeProbe>,
    ) -> Context {
        let o = &self.opts;
        let config = RunConfig {
            base_url: o.base_url.to_string(),
            api: format!("{:?}", o.api).to_lowercase(),
            endpoint: self.target.path.clone(),
            model: o.model.clone(),
            dataset: o.dataset.to_string(),
            dataset_path: o.dataset_path.as_ref().map(|p| p.display().to_string()),
            isl: o.isl,
            osl: o.osl,
            range_ratio: o.range_ratio,
            concurrency,
            num_prompts,
            warmups,
            request_rate: match o.request_rate {
                RequestRate::Infinite => "inf".into(),
                RequestRate::PerSecond(r) => r.to_string(),
            },
            burstiness: o.burstiness,
            duration_s: o.duration.map(|d| d.as_secs_f64()),
            seed: o.seed,
            ignore_eos: o.ignore_eos,
            num_gpus: o.num_gpus,
            request_timeout_s: o.request_timeout.as_secs_f64(),
            idle_timeout_s: o.idle_timeout.as_secs_f64(),
            client_threads: o.client_threads,
            max_failure_rate: o.max_failure_rate,
            api_key_env: o.api_key_env.clone(),
            api_key_present: self.target.authorization.is_some(),
            extra_body: (!self.target.extra_body.is_empty())
                .then(|| self.target.extra_body.to_json()),
            // Names only: header values may be credentials.
            header_names: self.target.headers.iter().map(|(n, _)| n.clone()).collect(),
        };
        let tokenizer = self.tokenizer.info();
        Context {
            config,
            provenance: Provenance {
                servebench_version: env!("CARGO_PKG_VERSION").into(),
                host: sys::hostname(),
                os: sys::os_release(),
                tokenizer: tokenizer.clone(),
                dataset_sha256,
                seed: o.seed,
            },
            model_id: o.model.clone(),
            tokenizer_id: tokenizer.name.clone(),
            backend: o.api.backend().into(),
            request_rate: o.request_rate,
            goodput: o.goodput.clone(),
            num_gpus: o.num_gpus,
            input_lengths,
            tokenize_probe: probe,
            peak_rss_bytes: peak_rss_bytes(),
        }
    }
}

/// `Name: value` → (name, value). Headers servebench sets itself are refused.
pub fn parse_header(h: &str) -> Result<(String, String), String> {
    let (name, value) = h
        .split_once(':')
        // The text is not echoed: a header without its name may be a pasted credential.
        .ok_or_else(|| "--header: expected NAME: VALUE (no ':' in one of them)".to_string())?;
    let name = name.trim();
    check_header_name("--header", name)?;
    let value = value.trim();
    if value.bytes().any(|b| b == b'\r' || b == b'\n') {
        return Err(format!(
            "--header '{name}': the value may not contain a line break"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// A header name a user may set (`flag` names where it came from).
fn check_header_name(flag: &str, name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
    if !valid {
        return Err(format!("{flag}: '{name}' is not a header name"));
    }
    let own = [
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "x-request-id",
    ];
    if own.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!("{flag} {name}: servebench sets {name} itself"));
    }
    Ok(())
}

/// Whether a point failed too often (the exit-code gate).
pub fn over_failure_gate(r: &BenchResult) -> bool {
    r.failures.failure_rate > r.failures.max_failure_rate
}
