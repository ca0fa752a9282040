//! A small read-only HTTP/1.1 server for the dashboard: GET and HEAD of the embedded pages
//! and of the JSON API; one thread per connection (a dashboard has few viewers), one store
//! connection shared under a lock.

use crate::api::{Api, ApiError};
use crate::site;
use serde_json::json;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Largest request head read.
const MAX_HEAD: usize = 16 << 10;

/// A response: status, content type, body.
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

fn json_response(status: u16, v: &serde_json::Value) -> Response {
    Response {
        status,
        content_type: "application/json",
        body: v.to_string().into_bytes(),
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

/// Answers one GET for `target` (path and query).
pub fn handle(api: &Mutex<Api>, target: &str) -> Response {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = path.trim_start_matches('/');
    if let Some(rest) = path.strip_prefix("api/v1/") {
        let mut api = match api.lock() {
            Ok(a) => a,
            Err(p) => p.into_inner(),
        };
        let r = if rest == "index.json" {
            api.index()
        } else if let Some(slug) = rest
            .strip_prefix("views/")
            .and_then(|s| s.strip_suffix(".json"))
        {
            return match api.view(slug) {
                Ok(doc) => Response {
                    status: 200,
                    content_type: "application/json",
                    body: serde_json::to_vec(&doc).unwrap_or_default(),
                },
                Err(ApiError::NotFound(m)) => error(404, &m),
                Err(e) => error(500, &e.to_string()),
            };
        } else if let Some(id) = rest
            .strip_prefix("points/")
            .and_then(|s| s.strip_suffix(".json"))
        {
            api.point(id)
        } else if let Some(what) = rest.strip_prefix("report/") {
            api.report(what, &query_pairs(query))
        } else {
            Err(ApiError::NotFound(format!("no API resource '/{path}'")))
        };
        return match r {
            Ok(v) => json_response(200, &v),
            Err(ApiError::BadRequest(m)) => error(400, &m),
            Err(ApiError::NotFound(m)) => error(404, &m),
            Err(e) => error(500, &e.to_string()),
        };
    }
    match site::asset(path) {
        Some((body, content_type)) => Response {
            status: 200,
            content_type,
            body: body.to_vec(),
        },
        None => error(404, &format!("no page '/{path}'")),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    }
}

fn serve_connection(mut s: TcpStream, api: &Mutex<Api>) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let (method, target) = loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => {
                break (
                    req.method.unwrap_or("").to_string(),
                    req.path.unwrap_or("/").to_string(),
                )
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
            Ok(httparse::Status::Partial) => {
                return write_response(&mut s, &error(431, "request head too large"), true)
            }
            Err(e) => return write_response(&mut s, &error(400, &e.to_string()), true),
        }
    };
    let head = method == "HEAD";
    let r = if method == "GET" || head {
        handle(api, &target)
    } else {
        // Read-only: nothing here changes the store.
        error(405, "the dashboard is read-only: GET and HEAD only")
    };
    write_response(&mut s, &r, !head)
}

fn write_response(s: &mut TcpStream, r: &Response, body: bool) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n{}\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len(),
        if r.status == 405 { "Allow: GET, HEAD\r\n" } else { "" }
    )
    .into_bytes();
    if body {
        out.extend_from_slice(&r.body);
    }
    s.write_all(&out)?;
    s.flush()
}

/// Serves until the process ends.
pub fn serve(listener: TcpListener, api: Api) -> std::io::Result<()> {
    let api = Arc::new(Mutex::new(api));
    for conn in listener.incoming() {
        let Ok(s) = conn else { continue };
        let api = api.clone();
        std::thread::spawn(move || {
            let _ = serve_connection(s, &api);
        });
    }
    Ok(())
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
}
