//! The server: accept loop, connections, routing, and the generation path (where the timing,
//! the faults and the record meet).

use crate::counter::PromptCounter;
use crate::engine::{next_chunk, ready_chunk, ChunkSchedule, Engine, GenRequest, Handoff};
use crate::faults::{parse_forced, FaultConfig, FaultKind};
use crate::http::{self, Head, ParsedHead, CHUNKED_END, CONTINUE, MAX_BODY, MAX_HEAD};
use crate::openai::{self, ApiError, Finish, GenParams, Templates, DONE_EVENT};
use crate::record::{Recorder, ServerRecord};
use crate::SimStats;
use servebench_core::clock::mono_ns;
use servebench_core::Api;
use std::collections::BTreeMap;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;

/// Bytes rendered before a `write` when chunks are already due (itl 0 or catching up).
const WRITE_BATCH: usize = 64 * 1024;

/// The error of a request the engine dropped (it can never fit in the KV cache).
const ENGINE_GAVE_UP: &str = "the engine could not serve the request";

/// Settings the front end needs (derived from `SimConfig`).
pub(crate) struct Settings {
    pub model: String,
    pub default_max_tokens: u32,
    pub eos_after: Option<u32>,
    pub reasoning_tokens: u32,
    pub faults: FaultConfig,
    pub stall: Duration,
    pub max_model_len: u32,
    pub answers: Option<crate::Answers>,
    /// `Bearer` key the OpenAI routes require (`--api-key`, as vLLM's).
    pub api_key: Option<String>,
}

#[derive(Default)]
pub(crate) struct Counters {
    connections: AtomicU64,
    http_requests: AtomicU64,
    accepted: AtomicU64,
    completed: AtomicU64,
    aborted: AtomicU64,
    faults: [AtomicU64; 9],
}

pub(crate) struct Shared {
    pub settings: Settings,
    pub engine: Arc<dyn Engine>,
    pub counter: Arc<dyn PromptCounter>,
    pub recorder: Option<Recorder>,
    pub counters: Counters,
    next_seq: AtomicU64,
}

impl Shared {
    pub(crate) fn new(
        settings: Settings,
        engine: Arc<dyn Engine>,
        counter: Arc<dyn PromptCounter>,
        recorder: Option<Recorder>,
    ) -> Shared {
        Shared {
            settings,
            engine,
            counter,
            recorder,
            counters: Counters::default(),
            next_seq: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> SimStats {
        let c = &self.counters;
        SimStats {
            connections: c.connections.load(Relaxed),
            http_requests: c.http_requests.load(Relaxed),
            accepted: c.accepted.load(Relaxed),
            completed: c.completed.load(Relaxed),
            aborted: c.aborted.load(Relaxed),
            faults: FaultKind::ALL
                .iter()
                .map(|&k| (k, c.faults[k.index()].load(Relaxed)))
                .collect::<BTreeMap<_, _>>(),
        }
    }
}

/// Accepts connections until `stop` turns true (or its sender is dropped), then aborts the
/// connections still open and returns once they have all been dropped (their in-flight
/// requests recorded).
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    tls: Option<TlsAcceptor>,
) {
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let mut stopping = stop.clone();
    loop {
        tokio::select! {
            biased;
            _ = stopped(&mut stopping) => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    shared.counters.connections.fetch_add(1, Relaxed);
                    let sh = shared.clone();
                    let mut stop = stop.clone();
                    let alive = alive_tx.clone();
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = accept(sh, stream, tls) => {}
                            _ = stopped(&mut stop) => {}
                        }
                        drop(alive);
                    });
                }
                // Out of file descriptors and the like: back off briefly rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
        }
    }
    drop(listener);
    drop(alive_tx);
    // Returns None once every connection task has finished.
    let _ = alive_rx.recv().await;
}

/// A new connection: its TLS handshake first where the server speaks TLS (bounded, so a
/// client that never finishes one holds nothing for long), then its requests.
async fn accept(shared: Arc<Shared>, tcp: TcpStream, tls: Option<TlsAcceptor>) {
    let stream = match tls {
        None => Stream::Plain(tcp),
        Some(acceptor) => {
            match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(s)) => Stream::Tls(Box::new(s)),
                _ => return,
            }
        }
    };
    connection(shared, stream).await
}

/// A connection's bytes: plain TCP, or TLS over it (`sim --tls`).
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        }
    }

    /// Writes `bytes` and pushes them onto the wire (TLS records are not left buffered), so
    /// the time stamped after it is when the client could have them.
    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes).await?;
        if let Stream::Tls(s) = self {
            s.flush().await?;
        }
        Ok(())
    }
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Resolves once `stop` is true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// What to do with the connection after a response.
enum After {
    KeepAlive,
    Close,
    Reset,
}

fn after(keep_alive: bool) -> After {
    if keep_alive {
        After::KeepAlive
    } else {
        After::Close
    }
}

/// Makes the next close send an RST (SO_LINGER with a zero timeout).
fn set_linger_zero(s: &TcpStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is open (we own the stream) and `l` is a valid linger struct of that size.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &l as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

struct Conn {
    stream: Stream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
}

async fn connection(shared: Arc<Shared>, stream: Stream) {
    let mut c = Conn {
        stream,
        inbuf: Vec::with_capacity(16 * 1024),
        out: Vec::with_capacity(WRITE_BATCH + 4096),
    };
    loop {
        match c.serve_one(&shared).await {
            Ok(After::KeepAlive) => {
                if c.out.capacity() > (4 << 20) {
                    c.out = Vec::with_capacity(WRITE_BATCH + 4096);
                }
                if c.inbuf.capacity() > (4 << 20) && c.inbuf.len() < 16 * 1024 {
                    c.inbuf.shrink_to(16 * 1024);
                }
            }
            Ok(After::Close) => {
                // Half-close, then read (and discard) briefly so unread request bytes do not turn
                // our FIN into an RST before the client has read the response.
                let _ = c.stream.shutdown().await;
                let drain = async {
                    let mut sink = [0u8; 8192];
                    loop {
                        match c.stream.read(&mut sink).await {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {}
                        }
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
                break;
            }
            Ok(After::Reset) => {
                set_linger_zero(c.stream.tcp());
                break;
            }
            Err(_) => break,
        }
    }
}

enum HeadOutcome {
    Head(Head),
    Eof,
    Bad(u16, String),
}

/// Which handler a request goes to.
enum Route {
    Gen(Api),
    Models,
    Health,
    Tokenize,
    Stats,
    Metrics,
    Power { csv: bool },
    WrongMethod(&'static str),
    NotFound,
}

fn route(method: &str, path: &str) -> Route {
    let (want, r) = match path {
        "/v1/completions" => ("POST", Route::Gen(Api::Completions)),
        "/v1/chat/completions" => ("POST", Route::Gen(Api::Chat)),
        "/v1/models" => ("GET", Route::Models),
        "/health" => ("GET", Route::Health),
        "/tokenize" => ("POST", Route::Tokenize),
        "/sim/stats" => ("GET", Route::Stats),
        "/metrics" => ("GET", Route::Metrics),
        "/sim/power" => ("GET", Route::Power { csv: false }),
        "/sim/power.csv" => ("GET", Route::Power { csv: true }),
        _ => return Route::NotFound,
    };
    if method == want {
        r
    } else {
        Route::WrongMethod(want)
    }
}

fn unix_now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Conn {
    async fn read_more(&mut self, want: usize) -> io::Result<usize> {
        self.inbuf.reserve(want.max(8192));
        self.stream.read_buf(&mut self.inbuf).await
    }

    async fn read_head(&mut self) -> io::Result<HeadOutcome> {
        loop {
            if !self.inbuf.is_empty() {
                match http::parse_head(&self.inbuf) {
                    ParsedHead::Complete(h) => return Ok(HeadOutcome::Head(h)),
                    ParsedHead::Invalid(m) => return Ok(HeadOutcome::Bad(400, m)),
                    ParsedHead::Partial if self.inbuf.len() > MAX_HEAD => {
                        return Ok(HeadOutcome::Bad(
                            431,
                            format!("request head larger than {MAX_HEAD} bytes"),
                        ))
                    }
                    ParsedHead::Partial => {}
                }
            }
            if self.read_more(8192).await? == 0 {
                return if self.inbuf.is_empty() {
                    Ok(HeadOutcome::Eof)
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                };
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.inbuf.drain(..n);
    }

    /// Writes a whole JSON response (head and body).
    async fn respond(
        &mut self,
        code: u16,
        body: &[u8],
        keep_alive: bool,
        request_id: Option<&str>,
    ) -> io::Result<After> {
        self.respond_typed(code, "application/json", body, keep_alive, request_id)
            .await
    }

    async fn respond_typed(
        &mut self,
        code: u16,
        content_type: &str,
        body: &[u8],
        keep_alive: bool,
        request_id: Option<&str>,
    ) -> io::Result<After> {
        self.out.clear();
        http::push_response(
            &mut self.out,
            code,
            content_type,
            body,
            keep_alive,
            request_id,
        );
        self.stream.send(&self.out).await?;
        self.out.clear();
        Ok(after(keep_alive))
    }

    async fn respond_error(
        &mut self,
        code: u16,
        message: &str,
        keep_alive: bool,
        request_id: Option<&str>,
    ) -> io::Result<After> {
        self.respond(
            code,
            &openai::error_body(code, message),
            keep_alive,
            request_id,
        )
        .await
    }

    async fn serve_one(&mut self, sh: &Shared) -> io::Result<After> {
        let head = match self.read_head().await? {
            HeadOutcome::Head(h) => h,
            HeadOutcome::Eof => return Ok(After::Close),
            HeadOutcome::Bad(code, m) => {
                sh.counters.http_requests.fetch_add(1, Relaxed);
                return self.respond_error(code, &m, false, None).await;
            }
        };
        sh.counters.http_requests.fetch_add(1, Relaxed);
        let rid = head.request_id.clone();
        let rid = rid.as_deref();
        if head.has_transfer_encoding || (head.method == "POST" && head.content_length.is_none()) {
            return self
                .respond_error(
                    411,
                    "a request body needs a Content-Length header (chunked bodies are not supported)",
                    false,
                    rid,
                )
                .await;
        }
        let cl = head.content_length.unwrap_or(0);
        if cl > MAX_BODY {
            return self
                .respond_error(
                    413,
                    &format!("request body of {cl} bytes is larger than the limit of {MAX_BODY}"),
                    false,
                    rid,
                )
                .await;
        }
        let total = head.len + cl as usize;
        if head.expect_continue && self.inbuf.len() < total {
            self.stream.send(CONTINUE).await?;
        }
        while self.inbuf.len() < total {
            let missing = total - self.inbuf.len();
            if self.read_more(missing).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        // Arrival: the body has been fully read. The Instant is read after the ns clock so that
        // deadlines computed from it are never earlier than their recorded offsets imply.
        let arrival_ns = mono_ns();
        let arrival = Instant::now();
        let keep = head.keep_alive;
        if let Some(key) = &sh.settings.api_key {
            let given = head
                .authorization
                .as_deref()
                .and_then(|a| a.strip_prefix("Bearer "));
            if head.path.starts_with("/v1/") && given != Some(key.as_str()) {
                self.consume(total);
                return self
                    .respond_error(401, "invalid or missing API key", keep, rid)
                    .await;
            }
        }
        match route(&head.method, &head.path) {
            Route::Gen(api) => {
                self.generation(sh, &head, total, api, arrival_ns, arrival)
                    .await
            }
            Route::Models => {
                self.consume(total);
                let body = serde_json::to_vec(&serde_json::json!({
                    "object": "list",
                    "data": [{
                        "id": sh.settings.model,
                        "object": "model",
                        "created": unix_now_s(),
                        "owned_by": "servebench-sim",
                        "root": sh.settings.model,
                        "parent": null,
                        "max_model_len": sh.settings.max_model_len,
                        "permission": [],
                    }],
                }))
                .expect("serializes");
                self.respond(200, &body, keep, rid).await
            }
            Route::Health => {
                self.consume(total);
                self.respond(200, b"", keep, rid).await
            }
            Route::Tokenize => {
                let r = openai::parse_tokenize(&self.inbuf[head.len..total], &*sh.counter);
                self.consume(total);
                match r {
                    Ok(tokens) => {
                        let body = serde_json::to_vec(&serde_json::json!({
                            "count": tokens.len(),
                            "max_model_len": sh.settings.max_model_len,
                            "tokens": tokens,
                        }))
                        .expect("serializes");
                        self.respond(200, &body, keep, rid).await
                    }
                    Err(e) => self.respond_error(e.status, &e.message, keep, rid).await,
                }
            }
            Route::Stats => {
                self.consume(total);
                let mut v = serde_json::to_value(sh.stats()).expect("serializes");
                if let Some(state) = sh.engine.state() {
                    v["engine"] = state;
                }
                let body = serde_json::to_vec(&v).expect("serializes");
                self.respond(200, &body, keep, rid).await
            }
            Route::Metrics => {
                self.consume(total);
                match sh.engine.metrics() {
                    Some(text) => {
                        let ct = "text/plain; version=0.0.4; charset=utf-8";
                        self.respond_typed(200, ct, text.as_bytes(), keep, rid)
                            .await
                    }
                    None => {
                        let m = format!(
                            "the {} profile exports no engine metrics (start sim with --gpu)",
                            sh.engine.name()
                        );
                        self.respond_error(404, &m, keep, rid).await
                    }
                }
            }
            Route::Power { csv } => {
                self.consume(total);
                match sh.engine.power() {
                    None => {
                        let m = format!(
                            "the {} profile simulates no GPUs (start sim with --gpu)",
                            sh.engine.name()
                        );
                        self.respond_error(404, &m, keep, rid).await
                    }
                    Some(p) if csv => {
                        let body = crate::power::nvidia_smi_csv(&p);
                        self.respond_typed(200, "text/csv", body.as_bytes(), keep, rid)
                            .await
                    }
                    Some(p) => {
                        let body = serde_json::to_vec(&p).expect("serializes");
                        self.respond(200, &body, keep, rid).await
                    }
                }
            }
            Route::WrongMethod(want) => {
                self.consume(total);
                let m = format!(
                    "method {} not allowed on {}; use {want}",
                    head.method, head.path
                );
                self.respond_error(405, &m, keep, rid).await
            }
            Route::NotFound => {
                self.consume(total);
                let m = format!("no route for {} {}", head.method, head.path);
                self.respond_error(404, &m, keep, rid).await
            }
        }
    }

    async fn generation(
        &mut self,
        sh: &Shared,
        head: &Head,
        total: usize,
        api: Api,
        arrival_ns: u64,
        arrival: Instant,
    ) -> io::Result<After> {
        let keep = head.keep_alive;
        let rid = head.request_id.as_deref();
        let parsed: Result<(GenParams, Option<Option<FaultKind>>), ApiError> = (|| {
            let forced = match head.sim_fault.as_deref() {
                Some(v) => Some(parse_forced(v).map_err(ApiError::bad)?),
                None => None,
            };
            let p = openai::parse_gen_hashing(
                api,
                &self.inbuf[head.len..total],
                &*sh.counter,
                sh.settings.default_max_tokens,
                sh.engine.prefix_block_tokens(),
            )?;
            check_handoff(&p, &*sh.engine)?;
            let need = p.prompt_tokens + p.max_tokens as u64;
            if need > sh.settings.max_model_len as u64 {
                return Err(ApiError::bad(format!(
                    "This model's maximum context length is {} tokens. However, you requested {need} tokens ({} in the messages, {} in the completion). Please reduce the length of the messages or completion.",
                    sh.settings.max_model_len, p.prompt_tokens, p.max_tokens
                )));
            }
            Ok((p, forced))
        })();
        // A scripted answer (non-streaming requests only): its text, and its length in tokens.
        let scripted: Option<(String, u32)> = match (&sh.settings.answers, &parsed) {
            (Some(a), Ok((p, _))) if !p.stream => a
                .respond(&self.inbuf[head.len..total])
                .map(|t| (t.to_string(), sh.counter.count(t).max(1) as u32)),
            _ => None,
        };
        self.consume(total);
        let (p, forced) = match parsed {
            Ok(x) => x,
            Err(e) => return self.respond_error(e.status, &e.message, keep, rid).await,
        };

        let st = &sh.settings;
        let seq = sh.next_seq.fetch_add(1, Relaxed);
        sh.counters.accepted.fetch_add(1, Relaxed);
        let fault = match forced {
            Some(f) => f,
            None => st.faults.assign(seq),
        };
        if let Some(f) = fault {
            sh.counters.faults[f.index()].fetch_add(1, Relaxed);
        }
        let output = match &scripted {
            Some((_, n)) => p.max_tokens.min(*n),
            None if p.ignore_eos => p.max_tokens,
            None => p.max_tokens.min(st.eos_after.unwrap_or(u32::MAX)),
        };
        let finish = if output < p.max_tokens {
            Finish::Stop
        } else {
            Finish::Length
        };
        let prompt_tokens = u32::try_from(p.prompt_tokens).unwrap_or(u32::MAX);
        let mut tr = Tracker {
            sh,
            recording: sh.recorder.is_some(),
            finished: false,
            rec: ServerRecord {
                seq,
                request_id: head.request_id.clone(),
                path: api.path().to_owned(),
                stream: p.stream,
                arrival_ns,
                fault,
                status: None,
                prompt_tokens,
                completion_tokens: output,
                role_ns: None,
                chunks_ns: Vec::new(),
                chunk_tokens: Vec::new(),
                usage_ns: None,
                done_ns: None,
                end_ns: 0,
                finish_reason: Some(finish.as_str().to_owned()),
            },
        };

        if let Some(code) = fault.and_then(FaultKind::http_status) {
            let msg = format!("simulated {code} ({})", http::reason(code));
            let r = self.respond_error(code, &msg, keep, rid).await?;
            tr.rec.status = Some(code);
            tr.finish(true);
            return Ok(r);
        }
        if fault == Some(FaultKind::ResetBeforeHeaders) {
            tr.finish(false);
            return Ok(After::Reset);
        }

        let req = GenRequest {
            seq,
            api,
            stream: p.stream,
            prompt_tokens,
            output_tokens: output,
            handoff: p.handoff,
            prefix: p.prefix.clone().map(std::sync::Arc::from),
        };
        let sched = sh.engine.schedule(&req, arrival);
        let model = p.model.as_deref().unwrap_or(&st.model);
        let created = unix_now_s();
        let reasoning = if api == Api::Chat {
            st.reasoning_tokens
        } else {
            0
        };
        if p.stream {
            let tpl = Templates::new(api, seq, created, model, reasoning);
            let job = StreamJob {
                tpl: &tpl,
                api,
                sched,
                fault,
                finish,
                stall: st.stall,
                include_usage: p.include_usage,
                prompt_tokens: p.prompt_tokens,
                output,
                keep,
                rid,
            };
            stream_response(&mut self.stream, &mut self.out, &mut tr, job).await
        } else {
            let body = openai::unary_body(
                api,
                seq,
                created,
                model,
                p.prompt_tokens,
                output,
                reasoning,
                finish,
                scripted.as_ref().map(|(t, _)| t.as_str()),
            );
            let body = match p.handoff {
                Handoff::ToDecode => openai::with_kv_transfer(
                    body,
                    sh.engine.handoff_kv_bytes(prompt_tokens).unwrap_or(0),
                ),
                _ => body,
            };
            self.unary_response(&mut tr, sched, fault, st.stall, body, output, keep, rid)
                .await
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn unary_response(
        &mut self,
        tr: &mut Tracker<'_>,
        mut sched: Box<dyn ChunkSchedule>,
        fault: Option<FaultKind>,
        stall: Duration,
        body: Vec<u8>,
        output: u32,
        keep: bool,
        rid: Option<&str>,
    ) -> io::Result<After> {
        // Mid-stream faults act when the chunk at the fault token is due; a unary response is
        // otherwise written once the last chunk is.
        let fault_token = sched.fault_token();
        let stop_at_half = matches!(
            fault,
            Some(FaultKind::ErrorMidStream | FaultKind::ResetMidStream)
        );
        let mut half_due = None;
        let mut last_due = None;
        let mut token = 0;
        while let Some(c) = next_chunk(&mut *sched).await {
            if half_due.is_none() && token >= fault_token {
                half_due = Some(c.due);
                if stop_at_half {
                    break;
                }
            }
            token += c.tokens;
            last_due = Some(c.due);
        }
        let body = match sched.cached_tokens() {
            Some(c) => openai::with_cached_tokens(body, c),
            None => body,
        };
        drop(sched);
        if !stop_at_half && token < output {
            // The engine gave up on the request.
            let r = self.respond_error(500, ENGINE_GAVE_UP, keep, rid).await?;
            tr.rec.status = Some(500);
            tr.finish(true);
            return Ok(r);
        }
        let half_due = half_due.unwrap_or_else(Instant::now);
        let last_due = last_due.unwrap_or_else(Instant::now);
        let sleep_until = |t: Instant| tokio::time::sleep_until(tokio::time::Instant::from_std(t));
        match fault {
            Some(FaultKind::ErrorMidStream) => {
                sleep_until(half_due).await;
                let r = self
                    .respond_error(500, "simulated engine failure", keep, rid)
                    .await?;
                tr.rec.status = Some(500);
                tr.finish(true);
                Ok(r)
            }
            Some(FaultKind::ResetMidStream) => {
                sleep_until(half_due).await;
                self.out.clear();
                http::push_json_head(&mut self.out, 200, body.len(), keep, rid);
                self.out.extend_from_slice(&body[..body.len() / 2]);
                self.stream.send(&self.out).await?;
                self.out.clear();
                tr.rec.status = Some(200);
                tr.finish(false);
                Ok(After::Reset)
            }
            Some(FaultKind::MalformedChunk) => {
                sleep_until(last_due).await;
                let r = self
                    .respond(200, &body[..body.len() / 2], keep, rid)
                    .await?;
                tr.rec.status = Some(200);
                tr.finish(true);
                Ok(r)
            }
            _ => {
                if fault == Some(FaultKind::Stall) {
                    sleep_until(last_due + stall).await;
                } else {
                    sleep_until(last_due).await;
                }
                let r = self.respond(200, &body, keep, rid).await?;
                let t = tr.stamp();
                tr.rec.status = Some(200);
                if tr.recording {
                    tr.rec.chunks_ns.push(t);
                    tr.rec.chunk_tokens.push(output);
                }
                tr.rec.usage_ns = Some(t);
                tr.finish(true);
                Ok(r)
            }
        }
    }
}

/// Whether `engine` can play the part in disaggregated serving that `p` asks of it.
fn check_handoff(p: &GenParams, engine: &dyn Engine) -> Result<(), ApiError> {
    match p.handoff {
        Handoff::None => Ok(()),
        Handoff::ToDecode if p.stream => Err(ApiError::bad(
            "kv_transfer_params.do_remote_decode needs \"stream\": false (the answer carries the cache's kv_transfer_params)",
        )),
        Handoff::ToDecode if engine.handoff_kv_bytes(0).is_none() => Err(ApiError::bad(
            "kv_transfer_params.do_remote_decode: this server has no KV cache to hand off (serve the simulated engine: sim --gpu ... --role prefill)",
        )),
        Handoff::FromPrefill { .. } if !engine.takes_prefilled() => Err(ApiError::bad(
            "kv_transfer_params.do_remote_prefill: this server is not a decode worker (sim --gpu ... --role decode)",
        )),
        _ => Ok(()),
    }
}

/// What a streaming response needs besides the socket.
struct StreamJob<'a> {
    tpl: &'a Templates,
    api: Api,
    sched: Box<dyn ChunkSchedule>,
    fault: Option<FaultKind>,
    finish: Finish,
    stall: Duration,
    include_usage: bool,
    prompt_tokens: u64,
    output: u32,
    keep: bool,
    rid: Option<&'a str>,
}

/// What the bytes in the output buffer carry, stamped into the record when they are written.
#[derive(Default)]
struct Pending {
    status: Option<u16>,
    role: bool,
    chunks: u32,
    usage: bool,
    done: bool,
}

/// Writes the buffer (if not empty) and stamps what it carried.
async fn flush(
    stream: &mut Stream,
    out: &mut Vec<u8>,
    pend: &mut Pending,
    tr: &mut Tracker<'_>,
) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    stream.send(out).await?;
    let t = tr.stamp();
    out.clear();
    let p = std::mem::take(pend);
    if let Some(s) = p.status {
        tr.rec.status = Some(s);
    }
    if p.role {
        tr.rec.role_ns = Some(t);
    }
    if tr.recording {
        for _ in 0..p.chunks {
            tr.rec.chunks_ns.push(t);
        }
    }
    if p.usage {
        tr.rec.usage_ns = Some(t);
    }
    if p.done {
        tr.rec.done_ns = Some(t);
    }
    Ok(())
}

/// The SSE response: head (+ chat role chunk) at once, then each content chunk when due.
/// Chunks that are already due are rendered into the same buffer and written together, up to
/// [`WRITE_BATCH`] bytes per write.
async fn stream_response(
    stream: &mut Stream,
    out: &mut Vec<u8>,
    tr: &mut Tracker<'_>,
    mut job: StreamJob<'_>,
) -> io::Result<After> {
    let mut pend = Pending::default();
    out.clear();
    http::push_stream_head(out, job.keep, job.rid);
    pend.status = Some(200);
    if job.api == Api::Chat {
        job.tpl.push_role(out);
        pend.role = true;
    }
    let fault_token = job.sched.fault_token();
    let mut mid_fault = job.fault.filter(|f| f.is_mid_stream());
    let mut now = Instant::now();
    let mut shift = Duration::ZERO;
    let mut token = 0u32;
    loop {
        if token >= fault_token {
            match mid_fault {
                Some(FaultKind::ResetMidStream) => {
                    flush(stream, out, &mut pend, tr).await?;
                    tr.finish(false);
                    return Ok(After::Reset);
                }
                Some(FaultKind::ErrorMidStream) => {
                    http::push_chunk(out, openai::ENGINE_FAILURE_EVENT);
                    out.extend_from_slice(CHUNKED_END);
                    flush(stream, out, &mut pend, tr).await?;
                    tr.finish(true);
                    return Ok(after(job.keep));
                }
                Some(FaultKind::Stall) => {
                    flush(stream, out, &mut pend, tr).await?;
                    tokio::time::sleep(job.stall).await;
                    shift = job.stall;
                    now = Instant::now();
                    mid_fault = None;
                }
                _ => {}
            }
        }
        // What is rendered goes out before waiting for the engine.
        let plan = match ready_chunk(&mut *job.sched) {
            Poll::Ready(p) => p,
            Poll::Pending => {
                flush(stream, out, &mut pend, tr).await?;
                let p = next_chunk(&mut *job.sched).await;
                now = Instant::now();
                p
            }
        };
        let Some(plan) = plan else {
            break;
        };
        let due = plan.due + shift;
        if due > now {
            now = Instant::now();
            if due > now {
                flush(stream, out, &mut pend, tr).await?;
                tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
                now = Instant::now();
            }
        }
        if token >= fault_token && mid_fault == Some(FaultKind::MalformedChunk) {
            job.tpl.push_malformed(out, token);
            out.extend_from_slice(CHUNKED_END);
            flush(stream, out, &mut pend, tr).await?;
            tr.finish(true);
            return Ok(after(job.keep));
        }
        let last = token + plan.tokens >= job.output;
        job.tpl
            .push_content(out, token, plan.tokens, last.then_some(job.finish));
        if tr.recording {
            tr.rec.chunk_tokens.push(plan.tokens);
        }
        pend.chunks += 1;
        token += plan.tokens;
        if out.len() >= WRITE_BATCH {
            flush(stream, out, &mut pend, tr).await?;
        }
    }
    if token < job.output {
        // The engine gave up on the request: end the stream as an engine failure does.
        http::push_chunk(out, openai::ENGINE_FAILURE_EVENT);
        out.extend_from_slice(CHUNKED_END);
        flush(stream, out, &mut pend, tr).await?;
        tr.finish(true);
        return Ok(after(job.keep));
    }
    if job.include_usage {
        let cached = job.sched.cached_tokens();
        job.tpl
            .push_usage(out, job.prompt_tokens, job.output as u64, cached);
        pend.usage = true;
    }
    if job.fault != Some(FaultKind::MissingDone) {
        http::push_chunk(out, DONE_EVENT);
        pend.done = true;
    }
    out.extend_from_slice(CHUNKED_END);
    flush(stream, out, &mut pend, tr).await?;
    tr.finish(true);
    Ok(after(job.keep))
}

/// One generation request in flight. Writes its record line and updates the counters when it
/// finishes, or, if dropped first (connection error, shutdown), when dropped.
struct Tracker<'a> {
    sh: &'a Shared,
    recording: bool,
    finished: bool,
    rec: ServerRecord,
}

impl Tracker<'_> {
    /// Nanoseconds since arrival.
    fn stamp(&self) -> u64 {
        mono_ns().saturating_sub(self.rec.arrival_ns)
    }

    /// `completed`: the response was written in full (whatever its content); otherwise the
    /// connection was reset or lost.
    fn finish(&mut self, completed: bool) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.rec.end_ns = self.stamp();
        let c = &self.sh.counters;
        if completed {
            c.completed.fetch_add(1, Relaxed);
        } else {
            c.aborted.fetch_add(1, Relaxed);
        }
        if let Some(r) = &self.sh.recorder {
            // Chunks rendered but never written are not part of the truth.
            let written = self.rec.chunks_ns.len();
            self.rec.chunk_tokens.truncate(written);
            r.write(&self.rec);
        }
    }
}

impl Drop for Tracker<'_> {
    fn drop(&mut self) {
        self.finish(false);
    }
}
