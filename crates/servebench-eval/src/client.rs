//! One blocking, non-streaming chat-completions call over HTTP/1.1: what an eval needs (the
//! whole answer, its finish reason and token counts), with the failure kinds that decide a
//! retry.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `host:port`.
    pub authority: String,
    /// The path of chat completions: PREFIX/v1/chat/completions.
    pub path: String,
    pub api_key: Option<String>,
}

impl Endpoint {
    /// From a base URL `http://HOST:PORT[/PREFIX]`.
    pub fn new(base_url: &str, api_key: Option<String>) -> Result<Endpoint, String> {
        let rest = base_url.strip_prefix("http://").ok_or_else(|| {
            format!("--base-url {base_url}: expected http://HOST:PORT[/PREFIX] (TLS is not supported; put a local proxy in front)")
        })?;
        let (authority, prefix) = match rest.split_once('/') {
            Some((a, p)) => (a, format!("/{}", p.trim_end_matches('/'))),
            None => (rest, String::new()),
        };
        if authority.is_empty() {
            return Err(format!("--base-url {base_url}: no host"));
        }
        let authority = if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let prefix = prefix.trim_end_matches("/v1").to_string();
        Ok(Endpoint {
            authority,
            path: format!("{prefix}/v1/chat/completions"),
            api_key,
        })
    }
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub content: String,
    /// `reasoning_content` (vLLM, SGLang), when the server separates it.
    pub reasoning: Option<String>,
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// Could not connect, or the connection broke: worth retrying.
    Transport(String),
    /// No complete answer within the deadline: worth retrying.
    Timeout,
    /// An HTTP error status (retrying helps for 408, 429 and 5xx).
    Status(u16, String),
    /// An answer that is not a chat completion: not worth retrying.
    Protocol(String),
}

impl CallError {
    pub fn retryable(&self) -> bool {
        match self {
            CallError::Transport(_) | CallError::Timeout => true,
            CallError::Status(s, _) => *s == 408 || *s == 429 || *s >= 500,
            CallError::Protocol(_) => false,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Transport(e) => write!(f, "connection: {e}"),
            CallError::Timeout => f.write_str("no answer before the request timeout"),
            CallError::Status(s, body) => write!(f, "HTTP {s}: {body}"),
            CallError::Protocol(e) => write!(f, "not a chat completion: {e}"),
        }
    }
}

/// POSTs `body` and reads the whole answer before `timeout`.
pub fn chat(ep: &Endpoint, body: &Value, timeout: Duration) -> Result<Reply, CallError> {
    let deadline = Instant::now() + timeout;
    let payload = serde_json::to_vec(body).expect("a JSON value serializes");
    let addr = ep
        .authority
        .to_socket_addrs()
        .map_err(|e| CallError::Transport(format!("{}: {e}", ep.authority)))?
        .next()
        .ok_or_else(|| CallError::Transport(format!("{}: no address", ep.authority)))?;
    let mut s = TcpStream::connect_timeout(&addr, timeout.min(Duration::from_secs(30)))
        .map_err(|e| CallError::Transport(format!("{}: {e}", ep.authority)))?;
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        ep.path,
        ep.authority,
        payload.len()
    );
    if let Some(k) = &ep.api_key {
        head.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    head.push_str("\r\n");
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => CallError::Timeout,
        _ => CallError::Transport(e.to_string()),
    };
    s.set_write_timeout(Some(timeout)).map_err(io)?;
    s.write_all(head.as_bytes()).map_err(io)?;
    s.write_all(&payload).map_err(io)?;
    let mut buf = Vec::with_capacity(16 << 10);
    let mut chunk = [0u8; 16 << 10];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(CallError::Timeout);
        }
        s.set_read_timeout(Some(left)).map_err(io)?;
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        }
    }
    let (status, body) = parse_response(&buf)?;
    let text = String::from_utf8_lossy(&body);
    if !(200..300).contains(&status) {
        let short: String = text.chars().take(300).collect();
        return Err(CallError::Status(status, short));
    }
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        CallError::Protocol(format!(
            "{e}: {}",
            text.chars().take(200).collect::<String>()
        ))
    })?;
    let choice = &v["choices"][0];
    if !choice.is_object() {
        return Err(CallError::Protocol(format!(
            "no choices: {}",
            text.chars().take(200).collect::<String>()
        )));
    }
    let msg = &choice["message"];
    let content = match &msg["content"] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => return Err(CallError::Protocol(format!("message.content is {other}"))),
    };
    Ok(Reply {
        content,
        reasoning: msg["reasoning_content"]
            .as_str()
            .or(msg["reasoning"].as_str())
            .map(str::to_string),
        finish_reason: choice["finish_reason"].as_str().map(str::to_string),
        prompt_tokens: v["usage"]["prompt_tokens"].as_u64(),
        completion_tokens: v["usage"]["completion_tokens"].as_u64(),
    })
}

/// Status and body of a whole HTTP/1.1 response (Content-Length, chunked, or to the end).
fn parse_response(buf: &[u8]) -> Result<(u16, Vec<u8>), CallError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let len = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Err(CallError::Transport(
                "the connection closed mid-header".into(),
            ))
        }
        Err(e) => return Err(CallError::Protocol(format!("bad HTTP response: {e}"))),
    };
    let status = r.code.unwrap_or(0);
    let header = |name: &str| {
        r.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase())
    };
    let rest = &buf[len..];
    if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        return dechunk(rest).map(|b| (status, b));
    }
    match header("content-length").and_then(|l| l.trim().parse::<usize>().ok()) {
        Some(n) if rest.len() < n => Err(CallError::Transport(format!(
            "the connection closed after {} of {n} body bytes",
            rest.len()
        ))),
        Some(n) => Ok((status, rest[..n].to_vec())),
        None => Ok((status, rest.to_vec())),
    }
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, CallError> {
    let mut out = Vec::new();
    loop {
        let eol = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| CallError::Transport("the connection closed mid-chunk".into()))?;
        let size_text = String::from_utf8_lossy(&b[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| CallError::Protocol(format!("bad chunk size '{size_text}'")))?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size + 2 {
            return Err(CallError::Transport(
                "the connection closed mid-chunk".into(),
            ));
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::new("http://127.0.0.1:8000", None).unwrap();
        assert_eq!(
            (e.authority.as_str(), e.path.as_str()),
            ("127.0.0.1:8000", "/v1/chat/completions")
        );
        let e = Endpoint::new("http://h:1/v1/", None).unwrap();
        assert_eq!(e.path, "/v1/chat/completions");
        let e = Endpoint::new("http://h/proxy/x", None).unwrap();
        assert_eq!(
            (e.authority.as_str(), e.path.as_str()),
            ("h:80", "/proxy/x/v1/chat/completions")
        );
        assert!(Endpoint::new("https://h:1", None)
            .unwrap_err()
            .contains("TLS is not supported"));
    }

    #[test]
    fn responses() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(parse_response(r).unwrap(), (200, b"hello".to_vec()));
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=1\r\nlo\r\n0\r\n\r\n";
        assert_eq!(parse_response(r).unwrap(), (200, b"hello".to_vec()));
        let r = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\nno";
        assert_eq!(parse_response(r).unwrap().0, 503);
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhel";
        assert!(matches!(parse_response(r), Err(CallError::Transport(_))));
        assert!(CallError::Status(429, String::new()).retryable());
        assert!(CallError::Status(502, String::new()).retryable());
        assert!(!CallError::Status(400, String::new()).retryable());
        assert!(!CallError::Protocol(String::new()).retryable());
    }
}
