//! servebench's test server: an OpenAI-compatible HTTP/1.1 server with exact, known timing,
//! deterministic fault injection and a record of what it really sent and when.
//!
//! It is the truth against which the load generator is checked. The layers:
//! - [`http`](crate::http) and `server`: a small HTTP/1.1 server on tokio (keep-alive,
//!   `Content-Length` bodies, chunked SSE responses), written by hand so that the socket (resets,
//!   write timing) is fully under control;
//! - [`openai`]: request parsing and the SSE events, pre-rendered as byte templates;
//! - [`engine`]: the timing source trait; [`fixed`] is the `fixed` profile;
//! - [`faults`]: which request misbehaves, and how;
//! - [`record`]: the JSONL record ([`ServerRecord`]).
//!
//! All recorded times are `CLOCK_MONOTONIC` nanoseconds ([`servebench_core::clock::mono_ns`]),
//! comparable with the client's timestamps in another process.

pub mod answers;
pub mod calibration;
pub mod counter;
pub mod disagg;
pub mod engine;
pub mod faults;
pub mod fixed;
pub mod holdout;
mod http;
pub mod openai;
pub mod perf;
pub mod power;
mod prefix_cache;
pub mod realtime;
pub mod record;
mod rounding;
pub mod router;
pub mod scheduler;
mod server;
pub mod tls;
pub mod virtual_time;

pub use answers::Answers;
pub use counter::{PromptCounter, WhitespaceWords};
pub use engine::{ChunkPlan, ChunkSchedule, Engine, GenRequest, GpuPower, PowerReading};
pub use faults::{FaultConfig, FaultKind};
pub use fixed::{FixedEngine, FixedTiming};
pub use realtime::RealtimeEngine;
pub use record::{read_records, ServerRecord};
pub use router::Router;

use serde::{Deserialize, Serialize};
use server::{Settings, Shared};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Everything the sim server is configured with.
#[derive(Clone)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free port ([`SimHandle::addr`] tells which).
    pub bind: SocketAddr,
    /// The served model name (`/v1/models`; echoed when a request names none).
    pub model: String,
    /// Timing of the `fixed` profile.
    pub timing: FixedTiming,
    /// Another timing source (the simulated engine, [`RealtimeEngine`]); `None`: the `fixed`
    /// profile with `timing`.
    pub engine: Option<Arc<dyn Engine>>,
    /// `max_tokens` of chat requests that give neither `max_tokens` nor `max_completion_tokens`
    /// (completions default to 16, as OpenAI's API does).
    pub default_max_tokens: u32,
    /// Imitated EOS: without `ignore_eos`, responses stop after this many tokens
    /// (`finish_reason: "stop"`). `None`: they always run to `max_tokens`.
    pub eos_after: Option<u32>,
    /// The first this-many output tokens of chat responses are sent as `reasoning_content`.
    pub reasoning_tokens: u32,
    pub faults: FaultConfig,
    /// How long the `stall` fault stops sending.
    pub stall: Duration,
    /// Where to write the JSONL record (see [`ServerRecord`]).
    pub record: Option<PathBuf>,
    /// Counts prompt tokens. `None`: [`WhitespaceWords`] (whitespace-separated words; not a
    /// tokenizer).
    pub counter: Option<Arc<dyn PromptCounter>>,
    /// Requests with `prompt_tokens + max_tokens` above this are rejected with 400 (as vLLM does).
    pub max_model_len: u32,
    /// 1: a current-thread tokio runtime (one core); N > 1: a multi-thread runtime with N workers.
    pub threads: usize,
    /// Scripted answers to non-streaming requests (`--answers`).
    pub answers: Option<Answers>,
    /// Serve over TLS with this configuration (`--tls`).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The OpenAI routes (`/v1/…`) answer 401 without `Authorization: Bearer KEY`.
    pub api_key: Option<String>,
}

impl Default for SimConfig {
    /// Loopback with an ephemeral port (tests); everything else as the CLI's defaults.
    fn default() -> Self {
        SimConfig {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            model: "servebench-sim".to_owned(),
            timing: FixedTiming::default(),
            engine: None,
            default_max_tokens: 256,
            eos_after: None,
            reasoning_tokens: 0,
            faults: FaultConfig::default(),
            stall: Duration::from_secs(60),
            record: None,
            counter: None,
            max_model_len: 131_072,
            threads: 1,
            answers: None,
            tls: None,
            api_key: None,
        }
    }
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("bind", &self.bind)
            .field("model", &self.model)
            .field("timing", &self.timing)
            .field("engine", &self.engine.as_ref().map(|e| e.name()))
            .field("default_max_tokens", &self.default_max_tokens)
            .field("eos_after", &self.eos_after)
            .field("reasoning_tokens", &self.reasoning_tokens)
            .field("faults", &self.faults)
            .field("stall", &self.stall)
            .field("record", &self.record)
            .field("counter", &self.counter.as_ref().map(|_| "custom"))
            .field("max_model_len", &self.max_model_len)
            .field("threads", &self.threads)
            .field("tls", &self.tls.is_some())
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl SimConfig {
    /// Checks the values the server cannot work with.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        if self.timing.tokens_per_chunk == 0 {
            return bad("tokens per chunk must be at least 1".into());
        }
        if self.default_max_tokens == 0 {
            return bad("default max tokens must be at least 1".into());
        }
        if self.eos_after == Some(0) {
            return bad("eos-after must be at least 1".into());
        }
        if self.max_model_len == 0 {
            return bad("max model length must be at least 1".into());
        }
        if self.threads == 0 {
            return bad("threads must be at least 1".into());
        }
        if self.model.is_empty() {
            return bad("the model name must not be empty".into());
        }
        self.faults.validate().map_err(SimError::Config)
    }
}

/// Why the server could not start (or its record could not be written or read).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid sim configuration: {0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("record file {}: {source}", path.display())]
    Record {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("record file {}, line {line}: {message}", path.display())]
    RecordParse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("sim runtime: {0}")]
    Io(#[from] std::io::Error),
    #[error("sim --tls: {0}")]
    Tls(String),
}

/// Counters of what the server did (also served at `GET /sim/stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// TCP connections accepted.
    pub connections: u64,
    /// HTTP requests whose head was read (any path, including rejected ones).
    pub http_requests: u64,
    /// Generation requests accepted (valid, given a `seq`).
    pub accepted: u64,
    /// Generation requests whose response was written in full (including error statuses and
    /// faulted streams that were properly terminated).
    pub completed: u64,
    /// Generation requests that ended with a reset, a lost connection or the shutdown.
    pub aborted: u64,
    /// Faults applied, by kind (every kind listed).
    pub faults: BTreeMap<FaultKind, u64>,
}

impl SimStats {
    /// Faults of `kind` applied.
    pub fn fault(&self, kind: FaultKind) -> u64 {
        self.faults.get(&kind).copied().unwrap_or(0)
    }
}

struct Prepared {
    shared: Arc<Shared>,
    listener: std::net::TcpListener,
    addr: SocketAddr,
    rt: tokio::runtime::Runtime,
}

fn prepare(cfg: SimConfig) -> Result<Prepared, SimError> {
    cfg.validate()?;
    let engine: Arc<dyn Engine> = match &cfg.engine {
        Some(e) => e.clone(),
        None => Arc::new(FixedEngine { timing: cfg.timing }),
    };
    let recorder = match &cfg.record {
        Some(p) => Some(record::Recorder::create(p)?),
        None => None,
    };
    let listener = std::net::TcpListener::bind(cfg.bind).map_err(|e| SimError::Bind {
        addr: cfg.bind,
        source: e,
    })?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let rt = if cfg.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.threads)
            .thread_name("servebench-sim")
            .enable_all()
            .build()?
    };
    let counter: Arc<dyn PromptCounter> = cfg.counter.unwrap_or_else(|| Arc::new(WhitespaceWords));
    let settings = Settings {
        model: cfg.model,
        default_max_tokens: cfg.default_max_tokens,
        eos_after: cfg.eos_after,
        reasoning_tokens: cfg.reasoning_tokens,
        faults: cfg.faults,
        stall: cfg.stall,
        max_model_len: cfg.max_model_len,
        answers: cfg.answers,
        api_key: cfg.api_key,
    };
    Ok(Prepared {
        shared: Arc::new(Shared::new(settings, engine, counter, recorder)),
        listener,
        addr,
        rt,
    })
}

/// A running sim server (see [`spawn`]). Dropping it shuts the server down too.
pub struct SimHandle {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    stop: Option<watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts the server on its own OS thread(s); returns once it is listening.
pub fn spawn(cfg: SimConfig) -> Result<SimHandle, SimError> {
    let tls = cfg.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let tls_on = tls.is_some();
    let Prepared {
        shared,
        listener,
        addr,
        rt,
    } = prepare(cfg)?;
    let listener = {
        let _guard = rt.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    let (tx, rx) = watch::channel(false);
    let sh = shared.clone();
    let thread = std::thread::Builder::new()
        .name("servebench-sim".into())
        .spawn(move || {
            rt.block_on(server::serve(listener, sh, rx, tls));
            // Tasks still alive are dropped here; their records are written as they drop.
            drop(rt);
        })?;
    Ok(SimHandle {
        addr,
        tls: tls_on,
        shared,
        stop: Some(tx),
        thread: Some(thread),
    })
}

impl SimHandle {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT` or `https://…` (a wildcard bind address is given as loopback).
    pub fn base_url(&self) -> String {
        base_url(self.addr, self.tls)
    }

    /// The counters now.
    pub fn stats(&self) -> SimStats {
        self.shared.stats()
    }

    /// Stops accepting, aborts open connections (recording their in-flight requests), flushes
    /// the record and returns the final counters.
    pub fn shutdown(mut self) -> SimStats {
        self.stop_and_join();
        self.shared.stats()
    }

    fn stop_and_join(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(r) = &self.shared.recorder {
            if let Err(e) = r.flush() {
                eprintln!("servebench sim: flushing the record failed: {e}");
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

fn base_url(addr: SocketAddr, tls: bool) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(v) if v.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v) if v.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
}

/// For the CLI: serves until SIGINT or SIGTERM. Once listening, prints exactly one line,
/// `servebench sim listening on http://ADDR`, to stdout (flushed). On the signal it stops,
/// aborts open connections, flushes the record and prints a summary to stderr.
pub fn run_until_signal(cfg: SimConfig) -> Result<(), SimError> {
    let tls = cfg.tls.is_some();
    let stats = run_until_signal_with(cfg, |addr| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "servebench sim listening on {}", base_url(addr, tls));
        let _ = out.flush();
    })?;
    eprintln!(
        "servebench sim: stopped; {} requests accepted, {} completed, {} aborted",
        stats.accepted, stats.completed, stats.aborted
    );
    Ok(())
}

/// [`run_until_signal`] with the announcement left to `ready`, which is called once the server
/// listens and the signal handlers are installed. Returns the final counters.
pub fn run_until_signal_with(
    cfg: SimConfig,
    ready: impl FnOnce(SocketAddr),
) -> Result<SimStats, SimError> {
    use tokio::signal::unix::{signal, SignalKind};
    let record_path = cfg.record.clone();
    let tls = cfg.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let Prepared {
        shared,
        listener,
        addr,
        rt,
    } = prepare(cfg)?;
    let sh = shared.clone();
    rt.block_on(async move {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let (tx, rx) = watch::channel(false);
        let server = tokio::spawn(server::serve(listener, sh, rx, tls));
        ready(addr);
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = tx.send(true);
        let _ = server.await;
        Ok::<(), std::io::Error>(())
    })?;
    drop(rt);
    if let (Some(r), Some(path)) = (&shared.recorder, record_path) {
        r.flush()
            .map_err(|e| SimError::Record { path, source: e })?;
    }
    Ok(shared.stats())
}
