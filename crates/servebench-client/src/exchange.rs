//! One request over one kept-alive HTTP/1.1 connection: write it, then read the streamed
//! response, timestamping every read the moment its bytes arrive (before any parsing).
//!
//! I/O is readiness-based (`readable().await` then a non-blocking `try_read`) into a read buffer
//! shared by every request on the worker thread, so thousands of concurrent streams cost a few
//! kilobytes each rather than a buffer each.

use crate::chunk::{self, Chunk};
use crate::conn::{Conn, TlsTarget};
use crate::http1::{self, Body, Head};
use crate::record::RequestRecord;
use crate::sse::{Event, Flow, SseParser};
use servebench_core::clock::mono_ns;
use servebench_core::{Api, FailureKind};
use servebench_dataset::{Prompt, RequestSpec};
use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Where and how requests are sent. The API key lives only in `authorization`, which is never
/// printed or written anywhere.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
    pub path: String,
    pub api: Api,
    pub model: String,
    pub authorization: Option<String>,
    pub ignore_eos: bool,
    pub request_timeout: Duration,
    pub idle_timeout: Duration,
    /// Opening a connection (a dropped SYN otherwise waits out the kernel's ~2 minutes).
    pub connect_timeout: Duration,
    /// `https://`: the TLS configuration and the server's name.
    pub tls: Option<TlsTarget>,
    /// Extra JSON members for every request body (`--extra-body`); they replace ours of the
    /// same name.
    pub extra_body: ExtraBody,
    /// Extra request headers (`--header`), sent as given and never printed.
    pub headers: Vec<(String, String)>,
    /// The headers that carry a replayed request's session id, for routers and engines that
    /// keep a session on one replica (`X-Session-ID`, `X-Dynamo-Session-ID`, nginx's hash key).
    pub session_headers: Vec<String>,
}

/// Members added to every request body, pre-serialised once.
#[derive(Debug, Clone, Default)]
pub struct ExtraBody {
    members: Vec<(String, String)>,
}

/// Body members servebench itself decides; an extra body may not replace them.
const FIXED_MEMBERS: [&str; 4] = ["model", "prompt", "messages", "stream"];

impl ExtraBody {
    /// From a JSON object such as `{"min_tokens": 10, "temperature": 0.7}`.
    pub fn parse(json: &str) -> Result<ExtraBody, String> {
        let v: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| format!("--extra-body: not valid JSON ({e})"))?;
        let serde_json::Value::Object(map) = v else {
            return Err("--extra-body: expected a JSON object such as {\"min_tokens\": 10}".into());
        };
        let mut members = Vec::new();
        for (k, v) in map {
            if FIXED_MEMBERS.contains(&k.as_str()) {
                return Err(format!(
                    "--extra-body: \"{k}\" is set by servebench (use --model, --api, the dataset)"
                ));
            }
            members.push((k, v.to_string()));
        }
        Ok(ExtraBody { members })
    }

    fn overrides(&self, key: &str) -> bool {
        self.members.iter().any(|(k, _)| k == key)
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members as a JSON object (for the result's configuration).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.members
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap_or_default()))
                .collect(),
        )
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("addr", &self.addr)
            .field("path", &self.path)
            .field("model", &self.model)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// The request path for an API under a base URL prefix; a prefix already ending in `/v1`
/// (as OpenAI client settings usually do) is not doubled.
pub fn endpoint_path(prefix: &str, api: Api) -> String {
    match prefix.strip_suffix("/v1") {
        Some(p) => format!("{p}{}", api.path()),
        None => format!("{prefix}{}", api.path()),
    }
}

/// A connection slot: its connection (if open) and per-stream parser state.
#[derive(Default)]
pub struct Slot {
    conn: Option<Conn>,
    sse: SseParser,
    head: Vec<u8>,
    pending_write: Vec<u8>,
}

impl Slot {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Open the connection now (used to pre-connect before the timed window); for TLS the
    /// handshake is part of it.
    pub async fn connect(&mut self, target: &Target) -> io::Result<u64> {
        let t0 = mono_ns();
        self.conn = Some(Conn::open(target).await?);
        Ok(mono_ns() - t0)
    }
}

/// Worker-shared scratch buffers. Borrowed only between awaits.
pub struct Scratch {
    pub read: Vec<u8>,
    pub write: Vec<u8>,
    pub body: Vec<u8>,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            read: vec![0; 256 * 1024],
            write: Vec::with_capacity(64 * 1024),
            body: Vec::with_capacity(64 * 1024),
        }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

/// Append `s` as a JSON string literal.
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&b[start..i]);
                out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// The JSON body of one streaming request.
pub fn build_body(out: &mut Vec<u8>, target: &Target, req: &RequestSpec<'_>) {
    use std::io::Write;
    out.clear();
    out.extend_from_slice(b"{\"model\":");
    push_json_str(out, &target.model);
    match (&req.prompt, target.api) {
        (Prompt::Text(t), Api::Completions) => {
            out.extend_from_slice(b",\"prompt\":");
            push_json_str(out, t);
        }
        (Prompt::Text(t), Api::Chat) => {
            out.extend_from_slice(b",\"messages\":[{\"role\":\"user\",\"content\":");
            push_json_str(out, t);
            out.extend_from_slice(b"}]");
        }
        (Prompt::Messages(m), _) => {
            out.extend_from_slice(b",\"messages\":");
            out.extend_from_slice(m.as_bytes());
        }
    }
    let extra = &target.extra_body;
    let (max_tokens, max_completion) = (
        !extra.overrides("max_tokens"),
        !extra.overrides("max_completion_tokens"),
    );
    if target.api == Api::Chat {
        // vLLM, SGLang and OpenAI read max_completion_tokens; llama.cpp and older servers max_tokens.
        if max_completion {
            let _ = write!(out, ",\"max_completion_tokens\":{}", req.output_len);
        }
        if max_tokens {
            let _ = write!(out, ",\"max_tokens\":{}", req.output_len);
        }
    } else if max_tokens {
        let _ = write!(out, ",\"max_tokens\":{}", req.output_len);
    }
    if !extra.overrides("temperature") {
        out.extend_from_slice(b",\"temperature\":0");
    }
    out.extend_from_slice(b",\"stream\":true");
    if !extra.overrides("stream_options") {
        out.extend_from_slice(b",\"stream_options\":{\"include_usage\":true}");
    }
    if target.ignore_eos && !extra.overrides("ignore_eos") {
        out.extend_from_slice(b",\"ignore_eos\":true");
    }
    for (k, v) in &extra.members {
        out.push(b',');
        push_json_str(out, k);
        out.push(b':');
        out.extend_from_slice(v.as_bytes());
    }
    out.push(b'}');
}

fn build_request(out: &mut Vec<u8>, target: &Target, ids: RequestIds<'_>, body: &[u8]) {
    use std::io::Write;
    out.clear();
    let _ = write!(
        out,
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: servebench/{}\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nX-Request-Id: {}\r\nContent-Length: {}\r\n",
        target.path,
        target.host,
        env!("CARGO_PKG_VERSION"),
        ids.request,
        body.len()
    );
    if let Some(auth) = &target.authorization {
        out.extend_from_slice(b"Authorization: ");
        out.extend_from_slice(auth.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in &target.headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    if let Some(id) = ids.session {
        for name in &target.session_headers {
            let _ = write!(out, "{name}: {id}\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// Interprets the events of one response into its record.
struct Sink<'a> {
    rec: &'a mut RequestRecord,
    text: Option<&'a mut Vec<u8>>,
    prev_token_ns: u64,
    done: bool,
    /// The stream's SSE said something fatal; stop reading.
    fatal: bool,
}

impl Sink<'_> {
    #[inline]
    fn on_event(&mut self, ev: Event<'_>, t: u64) -> Flow {
        if self.done {
            // Anything after [DONE] is ignored, as the OpenAI stream protocol ends there.
            return Flow::Continue;
        }
        if ev.event == b"error" {
            self.rec.fail(
                FailureKind::ServerError,
                0,
                format!("server error event: {}", String::from_utf8_lossy(ev.data)),
            );
            self.fatal = true;
            return Flow::Stop;
        }
        match chunk::parse(ev.data, self.text.as_deref_mut()) {
            Ok(Chunk::Done) => {
                self.done = true;
                self.rec.end_ns = t;
                Flow::Continue
            }
            Ok(Chunk::Data(info)) => {
                if info.error {
                    self.rec.fail(
                        FailureKind::ServerError,
                        0,
                        format!("error in stream: {}", String::from_utf8_lossy(ev.data)),
                    );
                    self.fatal = true;
                    return Flow::Stop;
                }
                if info.has_output() {
                    if self.rec.first_token_ns == 0 {
                        self.rec.first_token_ns = t;
                    } else {
                        let gap = t - self.prev_token_ns;
                        self.rec
                            .gaps_us
                            .push(((gap + 500) / 1000).min(u32::MAX as u64) as u32);
                    }
                    self.prev_token_ns = t;
                    self.rec.last_token_ns = t;
                    self.rec.content_chunks += 1;
                }
                if let Some(t) = info.server_timings {
                    self.rec.server_prompt_us = t.prompt_us;
                    self.rec.server_predicted_us = t.predicted_us;
                    if let Some(c) = t.cached_tokens {
                        self.rec.server_cached_tokens = Some(c.min(u32::MAX as u64) as u32);
                    }
                }
                if let Some(u) = info.usage {
                    if let Some(p) = u.prompt_tokens {
                        self.rec.usage_prompt = Some(p.min(u32::MAX as u64) as u32);
                    }
                    if let Some(c) = u.completion_tokens {
                        self.rec.usage_completion = Some(c.min(u32::MAX as u64) as u32);
                    }
                    if let Some(c) = u.cached_tokens {
                        self.rec.server_cached_tokens = Some(c.min(u32::MAX as u64) as u32);
                    }
                }
                Flow::Continue
            }
            Err(e) => {
                self.rec.fail(FailureKind::Parse, 0, e.to_string());
                self.fatal = true;
                Flow::Stop
            }
        }
    }
}

/// Send `req` on `slot` (connecting first if needed) and read the whole response into `rec`.
/// `rec.sched_ns`/`queue_ns` are set by the caller; everything else is filled here.
/// Generated text is appended to `text` when given (for re-tokenization).
/// The ids a request carries in its headers.
#[derive(Debug, Clone, Copy)]
pub struct RequestIds<'a> {
    /// `X-Request-Id`.
    pub request: &'a str,
    /// The session's id, sent in each of [`Target::session_headers`].
    pub session: Option<&'a str>,
}

pub async fn execute(
    slot: &mut Slot,
    scratch: &RefCell<Scratch>,
    target: &Target,
    ids: RequestIds<'_>,
    req: RequestSpec<'_>,
    rec: &mut RequestRecord,
    text: Option<&mut Vec<u8>>,
) {
    rec.input_len = req.input_len;
    rec.max_tokens = req.output_len;

    // A kept-alive connection the server has closed meanwhile reads as EOF: replace it
    // before sending rather than count a reset the request never caused.
    if slot.conn.as_mut().is_some_and(Conn::is_stale) {
        slot.conn = None;
    }
    if slot.conn.is_none() {
        match slot.connect(target).await {
            Ok(ns) => rec.connect_ns = ns,
            Err(e) => {
                rec.send_ns = mono_ns();
                rec.end_ns = rec.send_ns;
                rec.fail(
                    FailureKind::Connect,
                    0,
                    format!("connect {}: {e}", target.addr),
                );
                return;
            }
        }
    }

    {
        let mut s = scratch.borrow_mut();
        let Scratch { write, body, .. } = &mut *s;
        build_body(body, target, &req);
        build_request(write, target, ids, body);
    }
    // The prompt text is in the request bytes now; do not hold it while the response streams.
    drop(req);
    slot.sse.reset();
    slot.head.clear();
    rec.send_ns = mono_ns();
    let deadline_ns = rec.send_ns + target.request_timeout.as_nanos() as u64;
    let mut conn = slot.conn.take().expect("connected above");

    let keep = drive(&mut conn, slot, scratch, target, rec, text, deadline_ns).await;
    if keep {
        slot.conn = Some(conn);
    } else {
        drop(conn);
    }
    if rec.end_ns == 0 {
        rec.end_ns = mono_ns();
    }
}

/// Write the request and read the response. Returns whether the connection can be reused.
async fn drive(
    conn: &mut Conn,
    slot: &mut Slot,
    scratch: &RefCell<Scratch>,
    target: &Target,
    rec: &mut RequestRecord,
    text: Option<&mut Vec<u8>>,
    deadline_ns: u64,
) -> bool {
    // ---- write
    {
        let mut s = scratch.borrow_mut();
        let mut off = 0;
        let w = &s.write;
        while off < w.len() {
            match conn.try_write(&w[off..]) {
                Ok(n) => off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    rec.fail(FailureKind::Reset, 0, format!("writing request: {e}"));
                    return false;
                }
            }
        }
        slot.pending_write.clear();
        slot.pending_write.extend_from_slice(&w[off..]);
        s.write.clear();
    }
    while !slot.pending_write.is_empty() || conn.wants_write() {
        if timed(conn.writable(), deadline_ns, rec, "writing the request")
            .await
            .is_err()
        {
            return false;
        }
        if let Err(e) = conn.flush() {
            rec.fail(FailureKind::Reset, 0, format!("writing request: {e}"));
            return false;
        }
        if slot.pending_write.is_empty() {
            continue;
        }
        match conn.try_write(&slot.pending_write) {
            Ok(n) => {
                slot.pending_write.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                rec.fail(FailureKind::Reset, 0, format!("writing request: {e}"));
                return false;
            }
        }
    }

    // ---- read
    let mut head: Option<Head> = None;
    let mut body = Body::UntilClose;
    let mut error_body: Vec<u8> = Vec::new();
    let mut sink = Sink {
        rec,
        text,
        prev_token_ns: 0,
        done: false,
        fatal: false,
    };
    let mut last_read_ns = sink.rec.send_ns;
    let idle_ns = target.idle_timeout.as_nanos() as u64;
    // One timer per request, re-armed only when it fires: reads just move `last_read_ns`, so
    // the per-chunk path touches no timer.
    let first_due = deadline_ns.min(last_read_ns.saturating_add(idle_ns));
    let sleep = tokio::time::sleep_until(to_tokio(first_due));
    tokio::pin!(sleep);
    loop {
        let fired = tokio::select! {
            biased;
            r = conn.readable() => {
                if let Err(e) = r {
                    return finish_eof(&mut sink, head.as_ref(), Some(e));
                }
                false
            }
            () = &mut sleep => true,
        };
        if fired {
            let now = mono_ns();
            let next = deadline_ns.min(last_read_ns.saturating_add(idle_ns));
            if now < next {
                // Bytes came since the timer was armed (or it fired early): re-arm.
                sleep.as_mut().reset(to_tokio(next));
                continue;
            }
            if sink.done {
                // All of the response arrived; only the body terminator is late. Not a
                // failure of the request, but the connection is not trusted again.
                return false;
            }
            let what = if now >= deadline_ns {
                format!("no complete response within {:?}", target.request_timeout)
            } else {
                format!("no bytes for {:?}", target.idle_timeout)
            };
            sink.rec.fail(FailureKind::Timeout, 0, what);
            return false;
        }
        let mut s = scratch.borrow_mut();
        // The time the socket read returned, taken before anything is decrypted or parsed.
        let (n, t) = match conn.try_read(&mut s.read) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                drop(s);
                return finish_eof(&mut sink, head.as_ref(), Some(e));
            }
        };
        if n == 0 {
            drop(s);
            // End of stream: a valid end only for close-delimited bodies.
            if head.is_some() && matches!(body, Body::UntilClose) {
                let _ = slot.sse.finish(&mut |ev| sink.on_event(ev, t));
                return complete(&mut sink, head.as_ref(), &error_body, false);
            }
            return finish_eof(&mut sink, head.as_ref(), None);
        }
        last_read_ns = t;
        if sink.rec.first_byte_ns == 0 {
            sink.rec.first_byte_ns = t;
        }
        let mut data: &[u8] = &s.read[..n];

        if head.is_none() {
            let parsed = if slot.head.is_empty() {
                http1::parse_head(data)
            } else {
                slot.head.extend_from_slice(data);
                http1::parse_head(&slot.head)
            };
            match parsed {
                Ok(None) => {
                    if slot.head.is_empty() {
                        slot.head.extend_from_slice(data);
                    }
                    continue;
                }
                Err(e) => {
                    sink.rec.fail(FailureKind::Parse, 0, e.to_string());
                    return false;
                }
                Ok(Some(h)) => {
                    if slot.head.is_empty() {
                        data = &data[h.len..];
                    } else {
                        // Body bytes that arrived with the head: the tail of this read.
                        let extra = slot.head.len() - h.len;
                        data = &data[n - extra..];
                    }
                    body = Body::new(h.framing);
                    head = Some(h);
                }
            }
        }
        let h = head.as_ref().expect("head parsed");
        let ok_status = h.status == 200;

        // Feed body bytes: SSE for a 200, an error message otherwise.
        let mut feed = |piece: &[u8]| -> bool {
            if ok_status {
                slot.sse.feed(piece, &mut |ev| sink.on_event(ev, t)) == Flow::Continue
            } else {
                let room = 4096usize.saturating_sub(error_body.len());
                error_body.extend_from_slice(&piece[..piece.len().min(room)]);
                true
            }
        };
        let ended = match body.feed(data, &mut feed) {
            Ok(ended) => ended,
            Err(e) => {
                sink.rec.fail(FailureKind::Parse, 0, e.to_string());
                return false;
            }
        };
        drop(s);
        if sink.fatal {
            return false;
        }
        if ended {
            if ok_status {
                let _ = slot.sse.finish(&mut |ev| sink.on_event(ev, t));
            }
            return complete(&mut sink, head.as_ref(), &error_body, !h.close);
        }
    }
}

/// The body ended normally. Decide success or which failure.
fn complete(sink: &mut Sink<'_>, head: Option<&Head>, error_body: &[u8], reusable: bool) -> bool {
    let h = head.expect("complete needs a head");
    if h.status != 200 {
        sink.rec.fail(
            FailureKind::HttpStatus,
            h.status,
            format!(
                "HTTP {}: {}",
                h.status,
                String::from_utf8_lossy(error_body).trim()
            ),
        );
        return reusable;
    }
    if sink.fatal {
        return false;
    }
    if !sink.done {
        sink.rec.fail(
            FailureKind::Incomplete,
            0,
            "stream ended without data: [DONE]",
        );
        return reusable;
    }
    if sink.rec.first_token_ns == 0 {
        sink.rec
            .fail(FailureKind::Empty, 0, "stream carried no output tokens");
    }
    reusable
}

/// The connection ended (EOF or error) before the response was complete.
fn finish_eof(sink: &mut Sink<'_>, head: Option<&Head>, err: Option<io::Error>) -> bool {
    let what = match &err {
        Some(e) => e.to_string(),
        None => "connection closed".to_string(),
    };
    if sink.done {
        // Everything arrived; only the framing's end was cut. Count the request as complete.
        return false;
    }
    let phase = if head.is_none() {
        // A clean close of a kept-alive connection the server was done with, as opposed to a
        // reset of a request it received: the caller may send the request again.
        sink.rec.closed_unanswered = err.is_none() && sink.rec.first_byte_ns == 0;
        "before the response head"
    } else {
        "mid-stream"
    };
    sink.rec
        .fail(FailureKind::Reset, 0, format!("{what} {phase}"));
    false
}

async fn timed<F: std::future::Future<Output = io::Result<()>>>(
    f: F,
    deadline_ns: u64,
    rec: &mut RequestRecord,
    what: &str,
) -> Result<(), ()> {
    match tokio::time::timeout_at(to_tokio(deadline_ns), f).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            rec.fail(FailureKind::Reset, 0, format!("{what}: {e}"));
            Err(())
        }
        Err(_) => {
            rec.fail(FailureKind::Timeout, 0, format!("{what}: timed out"));
            Err(())
        }
    }
}

/// A `CLOCK_MONOTONIC` deadline as a tokio instant.
fn to_tokio(deadline_ns: u64) -> tokio::time::Instant {
    let now = mono_ns();
    tokio::time::Instant::now() + Duration::from_nanos(deadline_ns.saturating_sub(now))
}

/// A target for unit tests (loopback port 1, nothing sent).
#[cfg(test)]
pub(crate) fn tests_target() -> Target {
    tests::target(Api::Completions)
}

#[cfg(test)]
mod tests {

    /// A loopback listener whose accept queue is full (backlog 0, one connection parked and
    /// never accepted): Linux drops further SYNs, as a firewall or an overloaded host does.
    fn syn_dropping_listener() -> (SocketAddr, Vec<std::net::TcpStream>, i32) {
        // SAFETY: plain socket calls on a descriptor this test owns.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            assert_eq!(
                libc::bind(fd, &sa as *const _ as *const libc::sockaddr, len),
                0
            );
            assert_eq!(libc::listen(fd, 0), 0);
            let mut got = len;
            libc::getsockname(fd, &mut sa as *mut _ as *mut libc::sockaddr, &mut got);
            let addr = SocketAddr::from(([127, 0, 0, 1], u16::from_be(sa.sin_port)));
            let mut parked = Vec::new();
            // Fill the queue: connects complete until it is full, then one hangs (bounded here).
            for _ in 0..4 {
                match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                    Ok(c) => parked.push(c),
                    Err(_) => break,
                }
            }
            (addr, parked, fd)
        }
    }

    #[test]
    fn a_connect_to_a_host_that_drops_syns_ends_at_the_connect_timeout() {
        let (addr, _parked, fd) = syn_dropping_listener();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let t0 = std::time::Instant::now();
        let t = Target {
            addr,
            connect_timeout: Duration::from_millis(500),
            ..target(Api::Completions)
        };
        let r = rt.block_on(Slot::new().connect(&t));
        let took = t0.elapsed();
        // SAFETY: closing the listener this test opened.
        unsafe { libc::close(fd) };
        let e = r.expect_err("the queue is full: no connection");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(e.to_string().contains("--connect-timeout"), "{e}");
        // Bounded by the limit, not the kernel's SYN retries (~2 minutes).
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn json_string_escaping_round_trips() {
        let s = "a\"b\\c\nd\te\u{1}f é 😀";
        let mut out = Vec::new();
        push_json_str(&mut out, s);
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, s);
    }

    pub(super) fn target(api: Api) -> Target {
        Target {
            addr: "127.0.0.1:1".parse().unwrap(),
            host: "127.0.0.1:1".into(),
            path: endpoint_path("", api),
            api,
            model: "m".into(),
            authorization: Some("Bearer secret".into()),
            ignore_eos: true,
            request_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(10),
            tls: None,
            extra_body: ExtraBody::default(),
            headers: vec![],
            session_headers: Vec::new(),
        }
    }

    #[test]
    fn the_session_id_goes_in_the_named_header_only_when_both_are_set() {
        let head = |t: &Target, session| {
            let mut out = Vec::new();
            let ids = RequestIds {
                request: "r1",
                session,
            };
            build_request(&mut out, t, ids, b"{}");
            let mut h = [httparse::EMPTY_HEADER; 16];
            let mut req = httparse::Request::new(&mut h);
            assert!(req.parse(&out).unwrap().is_complete());
            req.headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).to_string(),
                    )
                })
                .collect::<Vec<_>>()
        };
        let with = Target {
            session_headers: vec!["X-Session-ID".into(), "X-Correlation-ID".into()],
            ..target(Api::Chat)
        };
        let got = head(&with, Some("sb1-c4-s7"));
        assert!(got.contains(&("X-Session-ID".into(), "sb1-c4-s7".into())));
        assert!(got.contains(&("X-Correlation-ID".into(), "sb1-c4-s7".into())));
        assert!(got.contains(&("X-Request-Id".into(), "r1".into())));
        assert!(!head(&with, None).iter().any(|(n, _)| n == "X-Session-ID"));
        let without = target(Api::Chat);
        assert!(!head(&without, Some("s"))
            .iter()
            .any(|(n, _)| n == "X-Session-ID"));
    }

    #[test]
    fn bodies_are_valid_openai_requests() {
        let req = RequestSpec {
            prompt: Prompt::Text(Cow::Borrowed("hi \"there\"")),
            input_len: 3,
            output_len: 7,
        };
        let mut out = Vec::new();
        build_body(&mut out, &target(Api::Completions), &req);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["prompt"], "hi \"there\"");
        assert_eq!(v["max_tokens"], 7);
        assert_eq!(v["stream"], true);
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert_eq!(v["ignore_eos"], true);
        build_body(&mut out, &target(Api::Chat), &req);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["messages"][0]["content"], "hi \"there\"");
        assert_eq!(v["max_completion_tokens"], 7);
        let dbg = format!("{:?}", target(Api::Chat));
        assert!(!dbg.contains("secret"), "{dbg}");
    }

    #[test]
    fn extra_body_adds_and_replaces_members() {
        let req = RequestSpec {
            prompt: Prompt::Text(Cow::Borrowed("hi")),
            input_len: 1,
            output_len: 7,
        };
        let mut t = target(Api::Chat);
        t.extra_body =
            ExtraBody::parse(r#"{"min_tokens": 7, "temperature": 0.6, "max_tokens": 9}"#).unwrap();
        let mut out = Vec::new();
        build_body(&mut out, &t, &req);
        // Parsing into a map would hide a duplicate: count the keys in the text too.
        let text = String::from_utf8(out.clone()).unwrap();
        assert_eq!(text.matches("\"temperature\"").count(), 1, "{text}");
        assert_eq!(text.matches("\"max_tokens\"").count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["min_tokens"], 7);
        assert_eq!(v["temperature"], 0.6);
        assert_eq!(v["max_tokens"], 9);
        assert_eq!(v["max_completion_tokens"], 7);
        assert_eq!(v["stream"], true);
        assert!(ExtraBody::parse("[1]")
            .unwrap_err()
            .contains("expected a JSON object"));
        assert!(ExtraBody::parse(r#"{"stream": false}"#)
            .unwrap_err()
            .contains("\"stream\" is set by servebench"));
        assert!(ExtraBody::parse("{oops")
            .unwrap_err()
            .contains("not valid JSON"));
    }
}
