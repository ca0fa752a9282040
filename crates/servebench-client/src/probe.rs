//! Small blocking HTTP exchanges outside the measured window: the `/tokenize` probe and the
//! reachability pre-flight. Not on any hot path.

use crate::http1::{self, ChunkedDecoder, Framing};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// `POST path` with a JSON body; returns (status, body).
pub fn post_json(
    addr: SocketAddr,
    host: &str,
    path: &str,
    body: &[u8],
    authorization: Option<&str>,
    timeout: Duration,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    )
    .into_bytes();
    if let Some(a) = authorization {
        req.extend_from_slice(format!("Authorization: {a}\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    req.extend_from_slice(body);
    s.write_all(&req)?;
    let mut buf = Vec::new();
    let mut tmp = [0u8; 16384];
    let head = loop {
        let n = s.read(&mut tmp)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before the response head",
            ));
        }
        buf.extend_from_slice(&tmp[..n]);
        match http1::parse_head(&buf) {
            Ok(Some(h)) => break h,
            Ok(None) => continue,
            Err(e) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    e.to_string(),
                ))
            }
        }
    };
    let mut rest = buf.split_off(head.len);
    let mut out = Vec::new();
    match head.framing {
        Framing::Length(n) => {
            while (rest.len() as u64) < n {
                let k = s.read(&mut tmp)?;
                if k == 0 {
                    break;
                }
                rest.extend_from_slice(&tmp[..k]);
            }
            rest.truncate(n as usize);
            out = rest;
        }
        Framing::Close => {
            s.read_to_end(&mut rest)?;
            out = rest;
        }
        Framing::Chunked => {
            let mut dec = ChunkedDecoder::new();
            let mut pending = rest;
            loop {
                dec.feed(&pending, &mut |p| {
                    out.extend_from_slice(p);
                    true
                })
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
                if dec.is_done() {
                    break;
                }
                let k = s.read(&mut tmp)?;
                if k == 0 {
                    break;
                }
                pending = tmp[..k].to_vec();
            }
        }
    }
    Ok((head.status, out))
}

/// The server's token count for `prompt` from `POST /tokenize` (vLLM, SGLang, llama.cpp and
/// `servebench sim` all answer it, with `count` or a `tokens` array). `None` when absent.
pub fn server_token_count(
    addr: SocketAddr,
    host: &str,
    model: &str,
    prompt: &str,
    authorization: Option<&str>,
) -> Option<u64> {
    let body = serde_json::json!({"model": model, "prompt": prompt, "add_special_tokens": false});
    let (status, resp) = post_json(
        addr,
        host,
        "/tokenize",
        body.to_string().as_bytes(),
        authorization,
        Duration::from_secs(10),
    )
    .ok()?;
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&resp).ok()?;
    v.get("count").and_then(|c| c.as_u64()).or_else(|| {
        v.get("tokens")
            .and_then(|t| t.as_array())
            .map(|a| a.len() as u64)
    })
}

/// `GET path` on `authority` (host:port); the body of a 200 answer.
pub fn get(authority: &str, path: &str, timeout: Duration) -> std::io::Result<Vec<u8>> {
    use std::net::ToSocketAddrs;
    let addr = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let head = match http1::parse_head(&buf) {
        Ok(Some(h)) => h,
        _ => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "bad HTTP response",
            ))
        }
    };
    if head.status != 200 {
        return Err(std::io::Error::other(format!("HTTP {}", head.status)));
    }
    let body = &buf[head.len..];
    if head.framing == Framing::Chunked {
        let mut out = Vec::new();
        ChunkedDecoder::new()
            .feed(body, &mut |p| {
                out.extend_from_slice(p);
                true
            })
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        return Ok(out);
    }
    Ok(body.to_vec())
}
