//! The small HTTP/1.1 layer: request heads (parsed with `httparse`), response heads, chunked
//! framing. Bodies are read by `Content-Length` only.

use std::io::Write;

/// Largest request body accepted (larger: 413).
pub(crate) const MAX_BODY: u64 = 64 << 20;
/// Largest request head accepted (larger: 431).
pub(crate) const MAX_HEAD: usize = 64 << 10;
/// The end of a chunked body.
pub(crate) const CHUNKED_END: &[u8] = b"0\r\n\r\n";
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What the server needs from a request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    pub content_length: Option<u64>,
    /// `Transfer-Encoding` present (not supported for request bodies: 411).
    pub has_transfer_encoding: bool,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
    pub expect_continue: bool,
    pub request_id: Option<String>,
    pub sim_fault: Option<String>,
    /// The `Authorization` header's value.
    pub authorization: Option<String>,
    /// Length of the head in bytes (the body starts there).
    pub len: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParsedHead {
    Complete(Head),
    Partial,
    Invalid(String),
}

fn header_str<'a>(name: &str, value: &'a [u8]) -> Result<&'a str, String> {
    std::str::from_utf8(value)
        .map(str::trim)
        .map_err(|_| format!("header {name} is not UTF-8"))
}

/// Parses a request head at the start of `buf`.
pub(crate) fn parse_head(buf: &[u8]) -> ParsedHead {
    let mut headers = [httparse::EMPTY_HEADER; 96];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return ParsedHead::Partial,
        Err(e) => return ParsedHead::Invalid(format!("malformed HTTP request head: {e}")),
    };
    let method = req.method.unwrap_or("").to_owned();
    let target = req.path.unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/").to_owned();
    let minor = req.version.unwrap_or(1);
    let mut content_length = None;
    let mut has_transfer_encoding = false;
    let mut saw_close = false;
    let mut saw_keep_alive = false;
    let mut expect_continue = false;
    let mut request_id = None;
    let mut authorization = None;
    let mut sim_fault = None;
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let v = match header_str(name, h.value) {
                Ok(v) => v,
                Err(m) => return ParsedHead::Invalid(m),
            };
            let n: u64 = match v.parse() {
                Ok(n) => n,
                Err(_) => return ParsedHead::Invalid(format!("invalid Content-Length '{v}'")),
            };
            if content_length.is_some_and(|c| c != n) {
                return ParsedHead::Invalid("conflicting Content-Length headers".into());
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            has_transfer_encoding = true;
        } else if name.eq_ignore_ascii_case("connection") {
            let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
            for token in v.split(',').map(str::trim) {
                if token == "close" {
                    saw_close = true;
                } else if token == "keep-alive" {
                    saw_keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("expect") {
            expect_continue = h.value.eq_ignore_ascii_case(b"100-continue");
        } else if name.eq_ignore_ascii_case("authorization") {
            match header_str(name, h.value) {
                Ok(v) => authorization = Some(v.to_owned()),
                Err(m) => return ParsedHead::Invalid(m),
            }
        } else if name.eq_ignore_ascii_case("x-request-id") {
            match header_str(name, h.value) {
                Ok(v) => request_id = Some(v.to_owned()),
                Err(m) => return ParsedHead::Invalid(m),
            }
        } else if name.eq_ignore_ascii_case("x-sim-fault") {
            match header_str(name, h.value) {
                Ok(v) => sim_fault = Some(v.to_owned()),
                Err(m) => return ParsedHead::Invalid(m),
            }
        }
    }
    // `Connection: close` wins; HTTP/1.0 keeps the connection only when asked to.
    let keep_alive = !saw_close && (minor >= 1 || saw_keep_alive);
    ParsedHead::Complete(Head {
        method,
        path,
        content_length,
        has_transfer_encoding,
        keep_alive,
        expect_continue,
        request_id,
        authorization,
        sim_fault,
        len,
    })
}

pub(crate) fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

fn push_common(out: &mut Vec<u8>, code: u16, keep_alive: bool, request_id: Option<&str>) {
    let _ = write!(out, "HTTP/1.1 {code} {}\r\n", reason(code));
    out.extend_from_slice(b"server: servebench-sim\r\n");
    if let Some(id) = request_id {
        out.extend_from_slice(b"x-request-id: ");
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !keep_alive {
        out.extend_from_slice(b"connection: close\r\n");
    }
}

/// A whole response with a `content_type` body.
pub(crate) fn push_response(
    out: &mut Vec<u8>,
    code: u16,
    content_type: &str,
    body: &[u8],
    keep_alive: bool,
    request_id: Option<&str>,
) {
    push_head(out, code, content_type, body.len(), keep_alive, request_id);
    out.extend_from_slice(body);
}

/// The head of a response whose body (JSON, `content_length` bytes) follows.
pub(crate) fn push_json_head(
    out: &mut Vec<u8>,
    code: u16,
    content_length: usize,
    keep_alive: bool,
    request_id: Option<&str>,
) {
    push_head(
        out,
        code,
        "application/json",
        content_length,
        keep_alive,
        request_id,
    );
}

fn push_head(
    out: &mut Vec<u8>,
    code: u16,
    content_type: &str,
    content_length: usize,
    keep_alive: bool,
    request_id: Option<&str>,
) {
    push_common(out, code, keep_alive, request_id);
    let _ = write!(
        out,
        "content-type: {content_type}\r\ncontent-length: {content_length}\r\n\r\n"
    );
}

/// The head of a 200 SSE response with a chunked body.
pub(crate) fn push_stream_head(out: &mut Vec<u8>, keep_alive: bool, request_id: Option<&str>) {
    push_common(out, 200, keep_alive, request_id);
    out.extend_from_slice(
        b"content-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n",
    );
}

/// Lowercase hexadecimal, without leading zeros.
pub(crate) fn push_hex(out: &mut Vec<u8>, mut n: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = HEX[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// One HTTP chunk carrying `data`.
pub(crate) fn push_chunk(out: &mut Vec<u8>, data: &[u8]) {
    push_hex(out, data.len());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Head {
        match parse_head(raw.as_bytes()) {
            ParsedHead::Complete(h) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_what_the_server_needs() {
        let raw = "POST /v1/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nX-Request-Id: abc\r\nx-sim-fault: stall\r\n\r\n{\"a\":1}";
        let h = head(raw);
        assert_eq!(h.method, "POST");
        assert_eq!(h.path, "/v1/completions");
        assert_eq!(h.content_length, Some(12));
        assert!(h.keep_alive);
        assert_eq!(h.request_id.as_deref(), Some("abc"));
        assert_eq!(h.sim_fault.as_deref(), Some("stall"));
        assert_eq!(&raw[h.len..], "{\"a\":1}");
    }

    #[test]
    fn connection_semantics() {
        assert!(!head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
    }

    #[test]
    fn partial_and_invalid() {
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n"),
            ParsedHead::Partial
        );
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            ParsedHead::Invalid(_)
        ));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            ParsedHead::Invalid(_)
        ));
        assert!(matches!(
            parse_head(b"G\x01T / HTTP/1.1\r\n\r\n"),
            ParsedHead::Invalid(_)
        ));
    }

    #[test]
    fn hex_and_chunks() {
        let mut v = Vec::new();
        push_hex(&mut v, 0);
        v.push(b' ');
        push_hex(&mut v, 255);
        v.push(b' ');
        push_hex(&mut v, 0x1a2b3);
        assert_eq!(v, b"0 ff 1a2b3");
        let mut c = Vec::new();
        push_chunk(&mut c, b"hello");
        assert_eq!(c, b"5\r\nhello\r\n");
    }
}
