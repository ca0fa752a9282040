//! A small read-only HTTP/1.1 server for the dashboard: GET and HEAD of the embedded pages
//! and of the JSON API, one request per connection, one store connection shared under a lock.
//!
//! Bounded everywhere (`docs/dashboard.md`): a fixed pool of worker threads takes accepted
//! connections from a bounded queue, and a connection that finds the queue full is answered
//! 503 at once by the accepting thread; a request head must arrive whole within a deadline and
//! a size limit; `accept` failures for want of descriptors or memory back off instead of
//! spinning.

use crate::api::{Api, ApiError};
use crate::site;
use serde_json::json;
use servebench_report::curves::AsOf;
use sha2::{Digest, Sha256};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The Content-Security-Policy of every response. The pages load only their own files (no
/// inline script or style: Chart.js sizes its canvas through the CSSOM, which `style-src`
/// does not govern) and fetch only the API; the one `data:` URL is the empty favicon of
/// `index.html`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// `Cache-Control` of the embedded files: their URLs are fixed names (`/app.js`), so a cache
/// may keep them but must revalidate (`If-None-Match` on the [`asset_etag`]) before each use.
pub const CACHE_ASSET: &str = "no-cache";
/// `Cache-Control` of everything else: API answers reflect the live store, errors are errors.
pub const CACHE_NONE: &str = "no-store";

/// How much a server takes on at once, and how long it waits for a client.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Worker threads, each serving one connection at a time.
    pub workers: usize,
    /// Accepted connections waiting for a worker; beyond them a connection is answered 503.
    pub queue: usize,
    /// From when a worker takes a connection, the time it has to send its whole request head
    /// (408 after, or a silent close when it sent nothing).
    pub head_timeout: Duration,
    /// The longest a single write of the response may block.
    pub write_timeout: Duration,
    /// The largest request head (request line and header fields) read; 431 beyond.
    pub max_head: usize,
}

impl Default for Limits {
    /// 8 workers (a dashboard has few viewers and API requests take the store's one lock in
    /// turn; more threads would only wait), 32 queued connections, 10 s for the request head,
    /// 30 s per write, 16 KiB of head.
    fn default() -> Self {
        Limits {
            workers: 8,
            queue: 32,
            head_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_head: 16 << 10,
        }
    }
}

/// The most header fields a request head may have (431 beyond).
const MAX_HEADERS: usize = 64;

/// A response's bytes: an embedded file's, an answer kept for later requests, or its own.
pub enum Body {
    Static(&'static [u8]),
    Shared(Arc<[u8]>),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Body::Static(b) => b,
            Body::Shared(b) => b,
            Body::Owned(b) => b,
        }
    }
}

/// A response: status, content type, body, and the entity tag of an embedded file.
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Body,
    /// The quoted entity tag of an embedded file ([`asset_etag`]), which caches may store and
    /// revalidate; `None` (API answers, errors) is never stored.
    pub etag: Option<&'static str>,
}

impl Response {
    /// Its `Cache-Control` field.
    pub fn cache_control(&self) -> &'static str {
        if self.etag.is_some() {
            CACHE_ASSET
        } else {
            CACHE_NONE
        }
    }
}

fn json_response(status: u16, v: &serde_json::Value) -> Response {
    Response {
        status,
        content_type: "application/json",
        body: Body::Owned(v.to_string().into_bytes()),
        etag: None,
    }
}

fn error(status: u16, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

/// `%XX` and `+` decoding of a query component (a bad escape stays as it is).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query's `name=value` pairs, decoded.
pub fn query_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The quoted entity tag of the embedded file at `path` (as [`site::ASSETS`] names it): the
/// first 128 bits of the SHA-256 of its bytes, computed once per process.
pub fn asset_etag(path: &str) -> Option<&'static str> {
    static TAGS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    TAGS.get_or_init(|| {
        site::ASSETS
            .iter()
            .map(|(p, bytes, _)| {
                (
                    *p,
                    format!("\"{}\"", hex::encode(&Sha256::digest(bytes)[..16])),
                )
            })
            .collect()
    })
    .iter()
    .find(|(p, _)| *p == path)
    .map(|(_, t)| t.as_str())
}

/// Whether an `If-None-Match` field value matches `etag` (weak comparison, RFC 9110 13.1.2).
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|t| {
        t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag.strip_prefix("W/").unwrap_or(etag)
    })
}

/// Answers one GET for `target` (path and query).
pub fn handle(api: &Mutex<Api>, target: &str) -> Response {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = path.trim_start_matches('/');
    if let Some(rest) = path.strip_prefix("api/v1/") {
        let mut api = match api.lock() {
            Ok(a) => a,
            Err(p) => p.into_inner(),
        };
        // Every answer but a point's (cheap, and a million of them) is kept while the store
        // does not change.
        let r = if rest.starts_with("points/") {
            answer(&mut api, rest, query).map(Body::Owned)
        } else {
            let key = if query.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{query}")
            };
            api.cached(&key, |api| answer(api, rest, query))
                .map(Body::Shared)
        };
        return match r {
            Ok(body) => Response {
                status: 200,
                content_type: if rest.ends_with(".bin") {
                    "application/octet-stream"
                } else {
                    "application/json"
                },
                body,
                etag: None,
            },
            Err(ApiError::BadRequest(m)) => error(400, &m),
            Err(ApiError::NotFound(m)) => error(404, &m),
            Err(e) => error(500, &e.to_string()),
        };
    }
    let path = if path.is_empty() { "index.html" } else { path };
    match site::asset(path) {
        Some((body, content_type)) => Response {
            status: 200,
            content_type,
            body: Body::Static(body),
            etag: asset_etag(path),
        },
        None => error(404, &format!("no page '/{path}'")),
    }
}

/// The JSON of API resource `rest` (the path after `api/v1/`) with query `query`.
fn answer(api: &mut Api, rest: &str, query: &str) -> Result<Vec<u8>, ApiError> {
    let pairs = query_pairs(query);
    // `asof`, `from`, `to`: days, YYYY-MM-DD.
    let mut days: [Option<AsOf>; 3] = [None, None, None];
    for (i, name) in ["asof", "from", "to"].into_iter().enumerate() {
        if let Some((_, v)) = pairs.iter().find(|(k, _)| k == name) {
            days[i] = Some(
                v.parse::<AsOf>()
                    .map_err(|e| ApiError::BadRequest(format!("{name}: {e}")))?,
            );
        }
    }
    let [as_of, from, to] = &days;
    let as_of = as_of.as_ref();
    // Large documents are serialised straight from their types (a view can hold 100,000
    // points); the small ones are built as JSON values.
    let json = |v: Result<serde_json::Value, ApiError>| Ok(v?.to_string().into_bytes());
    if rest == "index.json" {
        json(api.index(as_of))
    } else if rest == "reliability.json" {
        typed(api.reliability(from.as_ref(), to.as_ref()))
    } else if rest == "gpus.json" {
        json(Ok(api.gpus()))
    } else if let Some(slug) = rest
        .strip_prefix("views/")
        .and_then(|s| s.strip_suffix(".json"))
    {
        typed(api.view(slug, as_of))
    } else if let Some(slug) = rest
        .strip_prefix("views/")
        .and_then(|s| s.strip_suffix(".bin"))
    {
        Ok(api.view(slug, as_of)?.to_binary()?)
    } else if let Some((slug, group)) = rest
        .strip_prefix("figures/")
        .and_then(|s| s.strip_suffix(".json"))
        .and_then(|s| s.split_once('/'))
    {
        typed(api.figures(slug, group, as_of))
    } else if let Some((slug, run)) = rest
        .strip_prefix("builds/")
        .and_then(|s| s.strip_suffix(".json"))
        .and_then(|s| s.split_once('/'))
    {
        json(api.builds(slug, run))
    } else if let Some(id) = rest
        .strip_prefix("points/")
        .and_then(|s| s.strip_suffix(".json"))
    {
        json(api.point(id))
    } else if let Some(what) = rest.strip_prefix("report/") {
        json(api.report(what, &pairs))
    } else {
        Err(ApiError::NotFound(format!(
            "no API resource '/api/v1/{rest}'"
        )))
    }
}

fn typed<T: serde::Serialize>(r: Result<T, ApiError>) -> Result<Vec<u8>, ApiError> {
    Ok(serde_json::to_vec(&r?)?)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// What a connection asked for.
struct Request {
    method: String,
    target: String,
    /// Every `If-None-Match` field, joined by commas.
    if_none_match: Option<String>,
}

/// Reads one request head, or answers why there is none (`Err`), or `Ok(None)` when the
/// client closed or went quiet before sending anything.
fn read_head(
    s: &mut TcpStream,
    deadline: Instant,
    max_head: usize,
) -> std::io::Result<Result<Option<Request>, Response>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let n: std::io::Result<usize> = if left.is_zero() {
            Err(ErrorKind::TimedOut.into())
        } else {
            s.set_read_timeout(Some(left))
                .and_then(|()| s.read(&mut chunk))
        };
        let n = match n {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Ok(if buf.is_empty() {
                    Ok(None)
                } else {
                    Err(error(408, "the request head did not arrive in time"))
                });
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(Ok(None));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let too_large = || {
            error(
                431,
                &format!(
                    "request head too large (at most {max_head} bytes and {MAX_HEADERS} fields)"
                ),
            )
        };
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) if len <= max_head => {
                let inm: Vec<&str> = req
                    .headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case("if-none-match"))
                    .filter_map(|h| std::str::from_utf8(h.value).ok())
                    .collect();
                return Ok(Ok(Some(Request {
                    method: req.method.unwrap_or("").to_string(),
                    target: req.path.unwrap_or("/").to_string(),
                    if_none_match: (!inm.is_empty()).then(|| inm.join(", ")),
                })));
            }
            Ok(httparse::Status::Complete(_)) => return Ok(Err(too_large())),
            Ok(httparse::Status::Partial) if buf.len() < max_head => continue,
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
                return Ok(Err(too_large()))
            }
            Err(e) => return Ok(Err(error(400, &e.to_string()))),
        }
    }
}

/// Serves the one request of connection `s`.
fn serve_connection(mut s: TcpStream, api: &Mutex<Api>, limits: &Limits) -> std::io::Result<()> {
    let deadline = Instant::now() + limits.head_timeout;
    s.set_write_timeout(Some(limits.write_timeout))?;
    // The head and a large body go in two writes: the body's last segment must not wait for
    // the client's delayed acknowledgement of the head.
    s.set_nodelay(true)?;
    let (r, body) = match read_head(&mut s, deadline, limits.max_head)? {
        Ok(None) => return Ok(()),
        Err(r) => (r, true),
        Ok(Some(req)) => {
            let head = req.method == "HEAD";
            let r = if req.method == "GET" || head {
                let r = handle(api, &req.target);
                match (r.etag, req.if_none_match.as_deref()) {
                    (Some(tag), Some(inm)) if r.status == 200 && etag_matches(inm, tag) => {
                        Response {
                            status: 304,
                            body: Body::Static(&[]),
                            ..r
                        }
                    }
                    _ => r,
                }
            } else {
                // Read-only: nothing here changes the store.
                error(405, "the dashboard is read-only: GET and HEAD only")
            };
            (r, !head)
        }
    };
    write_response(&mut s, &r, body)?;
    let _ = s.shutdown(Shutdown::Write);
    if r.status >= 400 {
        // What the client sent beyond what was read (a request body, the rest of an oversized
        // head) is read and dropped for a moment, so that closing does not reset the
        // connection before the client has read the answer.
        linger(&mut s, Duration::from_secs(1));
    }
    Ok(())
}

/// Reads and drops what the client still sends, until it closes, 64 KiB or `max` have passed.
fn linger(s: &mut TcpStream, max: Duration) {
    let end = Instant::now() + max;
    let mut sink = [0u8; 4096];
    let mut total = 0;
    while total < 64 << 10 {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match s.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => total += n,
        }
    }
}

fn write_response(s: &mut TcpStream, r: &Response, body: bool) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    if r.status != 304 {
        out += &format!(
            "Content-Type: {}\r\nContent-Length: {}\r\n",
            r.content_type,
            r.body.len()
        );
    }
    out += &format!("Cache-Control: {}\r\n", r.cache_control());
    if let Some(tag) = r.etag {
        out += &format!("ETag: {tag}\r\n");
    }
    out += &format!(
        "Content-Security-Policy: {CONTENT_SECURITY_POLICY}\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n"
    );
    match r.status {
        405 => out += "Allow: GET, HEAD\r\n",
        503 => out += "Retry-After: 1\r\n",
        _ => {}
    }
    out += "\r\n";
    s.write_all(out.as_bytes())?;
    if body {
        s.write_all(&r.body)?;
    }
    s.flush()
}

/// Answers a connection that found the queue full: 503 at once, never blocking the accepting
/// thread (a non-blocking write of a few hundred bytes into an empty socket buffer), then
/// drops what already arrived of its request and closes.
fn reject(mut s: TcpStream) {
    if s.set_nonblocking(true).is_err() {
        return;
    }
    let busy = error(
        503,
        "the dashboard is busy (too many connections): try again",
    );
    if write_response(&mut s, &busy, true).is_ok() {
        let _ = s.shutdown(Shutdown::Write);
        let mut sink = [0u8; 4096];
        for _ in 0..16 {
            match s.read(&mut sink) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }
}

/// What the accept loop does after `accept` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptFailure {
    /// A failure of that one connection (aborted or reset before it was accepted, a pending
    /// network error, a signal): accept the next at once.
    Connection,
    /// Anything else, above all running out of descriptors (EMFILE, ENFILE) or memory
    /// (ENOBUFS, ENOMEM): retrying at once would spin, so wait ([`accept_backoff`]).
    BackOff,
}

/// Classifies an `accept` error.
pub fn accept_failure(e: &std::io::Error) -> AcceptFailure {
    // EPROTO: Linux passes a pending protocol error of the new connection through accept.
    const EPROTO: i32 = if cfg!(target_os = "linux") { 71 } else { 100 };
    match e.kind() {
        ErrorKind::ConnectionAborted
        | ErrorKind::ConnectionReset
        | ErrorKind::Interrupted
        | ErrorKind::WouldBlock
        | ErrorKind::TimedOut
        | ErrorKind::NetworkDown
        | ErrorKind::NetworkUnreachable
        | ErrorKind::HostUnreachable => AcceptFailure::Connection,
        _ if e.raw_os_error() == Some(EPROTO) => AcceptFailure::Connection,
        _ => AcceptFailure::BackOff,
    }
}

/// The wait after an `accept` failure that calls for one, given the previous wait since the
/// last successful accept: 10 ms first, then doubling, at most 1 s.
pub fn accept_backoff(previous: Option<Duration>) -> Duration {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);
    previous.map_or(FIRST, |d| (d * 2).clamp(FIRST, MAX))
}

/// Serves until the process ends, with the default [`Limits`].
pub fn serve(listener: TcpListener, api: Api) -> std::io::Result<()> {
    serve_with(listener, api, Limits::default())
}

/// Serves until the process ends: `limits.workers` threads named `sb-dashboard-N` take
/// accepted connections from a queue of `limits.queue`; this thread accepts.
pub fn serve_with(listener: TcpListener, api: Api, limits: Limits) -> std::io::Result<()> {
    let api = Arc::new(Mutex::new(api));
    let limits = Arc::new(limits);
    let (tx, rx) = sync_channel::<TcpStream>(limits.queue);
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..limits.workers.max(1) {
        let (rx, api, limits) = (rx.clone(), api.clone(), limits.clone());
        std::thread::Builder::new()
            .name(format!("sb-dashboard-{i}"))
            .spawn(move || worker(&rx, &api, &limits))?;
    }
    {
        let api = api.clone();
        std::thread::Builder::new()
            .name("sb-dashboard-warm".into())
            .spawn(move || warm(&api))?;
    }
    let mut backoff = None;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                backoff = None;
                match tx.try_send(s) {
                    Ok(()) => {}
                    Err(TrySendError::Full(s)) => reject(s),
                    Err(TrySendError::Disconnected(_)) => {
                        return Err(std::io::Error::other("the dashboard's workers ended"))
                    }
                }
            }
            Err(e) => match accept_failure(&e) {
                AcceptFailure::Connection => {}
                AcceptFailure::BackOff => {
                    let wait = accept_backoff(backoff);
                    backoff = Some(wait);
                    eprintln!(
                        "servebench dashboard: accept failed ({e}); retrying in {} ms",
                        wait.as_millis()
                    );
                    std::thread::sleep(wait);
                }
            },
        }
    }
}

/// How often the warming thread looks for a change of the store.
const WARM_POLL: Duration = Duration::from_secs(2);

/// Builds what a first visitor asks for ([`Api::warm_targets`]) at start and after each change
/// of the store, one answer per lock (a request waits for one answer at most), so that no
/// visitor waits for a view to be read after a night's ingest.
fn warm(api: &Mutex<Api>) {
    let lock = || match api.lock() {
        Ok(a) => a,
        Err(p) => p.into_inner(),
    };
    if !lock().keeps_answers() {
        return;
    }
    let mut warmed = None;
    loop {
        let generation = lock().store.generation().ok();
        if generation.is_some() && generation != warmed {
            let t0 = Instant::now();
            let targets = lock().warm_targets().unwrap_or_default();
            for t in &targets {
                handle(api, t);
            }
            eprintln!(
                "servebench dashboard: {} answers ready ({} MB kept) for the store as it is now, in {:.1} s",
                targets.len(),
                lock().cached_bytes() >> 20,
                t0.elapsed().as_secs_f64()
            );
            warmed = generation;
        }
        std::thread::sleep(WARM_POLL);
    }
}

/// One worker: serves queued connections one at a time; a panic ends that connection only.
fn worker(rx: &Mutex<Receiver<TcpStream>>, api: &Mutex<Api>, limits: &Limits) {
    loop {
        let next = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(p) => p.into_inner().recv(),
        };
        let Ok(s) = next else { return };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            serve_connection(s, api, limits)
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode() {
        assert_eq!(
            query_pairs("model=meta-llama%2FLlama&at=20%2C50&a=hardware%3Dh200+x&empty"),
            [
                ("model".to_string(), "meta-llama/Llama".to_string()),
                ("at".to_string(), "20,50".to_string()),
                ("a".to_string(), "hardware=h200 x".to_string()),
                ("empty".to_string(), String::new()),
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn accept_backs_off_from_10_ms_doubling_to_1_s() {
        let mut wait = None;
        let waits: Vec<u128> = (0..10)
            .map(|_| {
                let w = accept_backoff(wait);
                wait = Some(w);
                w.as_millis()
            })
            .collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    }

    #[test]
    fn only_resource_exhaustion_and_unknown_accept_errors_back_off() {
        use std::io::Error;
        #[cfg(target_os = "linux")]
        {
            // EMFILE, ENFILE, ENOBUFS, ENOMEM.
            for errno in [24, 23, 105, 12] {
                let e = Error::from_raw_os_error(errno);
                assert_eq!(accept_failure(&e), AcceptFailure::BackOff, "{e}");
            }
            // ECONNABORTED, EPROTO, EINTR, EAGAIN, ENETDOWN, EHOSTUNREACH.
            for errno in [103, 71, 4, 11, 100, 113] {
                let e = Error::from_raw_os_error(errno);
                assert_eq!(accept_failure(&e), AcceptFailure::Connection, "{e}");
            }
        }
        assert_eq!(
            accept_failure(&ErrorKind::ConnectionAborted.into()),
            AcceptFailure::Connection
        );
        assert_eq!(
            accept_failure(&ErrorKind::OutOfMemory.into()),
            AcceptFailure::BackOff
        );
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_star() {
        let tag = "\"abc\"";
        assert!(etag_matches("\"abc\"", tag));
        assert!(etag_matches("W/\"abc\"", tag));
        assert!(etag_matches("\"x\", \"abc\"", tag));
        assert!(etag_matches("*", tag));
        assert!(!etag_matches("\"abd\"", tag));
        assert!(!etag_matches("abc", tag));
        assert!(!etag_matches("", tag));
    }

    #[test]
    fn every_embedded_file_has_its_own_tag() {
        let tags: Vec<&str> = site::ASSETS
            .iter()
            .map(|(p, _, _)| asset_etag(p).unwrap())
            .collect();
        for t in &tags {
            assert_eq!(t.len(), 34, "{t}");
            assert!(t.starts_with('"') && t.ends_with('"'));
        }
        let mut unique = tags.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), tags.len());
        assert_eq!(asset_etag("nope.js"), None);
    }
}
