//! What the server tests share: a server on loopback over an empty store, with given limits,
//! and raw HTTP requests whose whole answer is kept.

#![allow(dead_code)] // each test file uses some of it

use servebench_catalog::Catalog;
use servebench_dashboard::{api::Api, server};
use servebench_store::Store;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// A server on a loopback port over a fresh SQLite store, serving until the test process ends.
pub struct TestServer {
    pub addr: String,
    _dir: tempfile::TempDir,
}

pub fn start(limits: server::Limits) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::new(
        Store::open(&format!("sqlite:{}", dir.path().join("s.db").display())).unwrap(),
        Catalog::builtin().unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || server::serve_with(listener, api, limits));
    TestServer { addr, _dir: dir }
}

/// One answer: status, header fields (names lower-cased, in order) and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The one field `name` (panics when it is missing or repeated).
    pub fn header(&self, name: &str) -> &str {
        let all: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(all.len(), 1, "{name} in {:?}", self.headers);
        all[0]
    }

    pub fn has(&self, name: &str) -> bool {
        self.headers.iter().any(|(n, _)| n == name)
    }
}

/// Parses a whole answer as read up to the server's close.
pub fn parse(buf: &[u8]) -> Answer {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head in {:?}", String::from_utf8_lossy(buf)));
    let head = std::str::from_utf8(&buf[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    Answer {
        status,
        headers,
        body: buf[split + 4..].to_vec(),
    }
}

/// Sends `raw` as it is and reads the answer to the server's close (at most `wait`).
pub fn send(addr: &str, raw: &[u8], wait: Duration) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.write_all(raw).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)
        .unwrap_or_else(|e| panic!("reading the answer: {e}; read {buf:?}"));
    parse(&buf)
}

/// `method path` with `extra` header lines (each ending in CRLF).
pub fn request(addr: &str, method: &str, path: &str, extra: &str) -> Answer {
    send(
        addr,
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n")
            .as_bytes(),
        Duration::from_secs(30),
    )
}
