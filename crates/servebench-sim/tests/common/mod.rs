//! A deliberately plain blocking HTTP/1.1 client for the tests: raw requests over a
//! `std::net::TcpStream`, a chunked-body reader and an SSE event splitter.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub struct Client {
    pub s: TcpStream,
    buf: Vec<u8>,
    pos: usize,
}

#[derive(Debug)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
pub struct Response {
    pub head: Head,
    /// The body: a Content-Length body, or the chunks of a chunked one concatenated.
    pub body: Vec<u8>,
    /// Chunked bodies: each chunk's payload.
    pub chunks: Vec<Vec<u8>>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `data:` payload of each SSE event (one event per chunk, as the server sends them).
    pub fn events(&self) -> Vec<String> {
        self.chunks.iter().map(|c| event_data(c)).collect()
    }
}

/// The payload of one SSE event `data: X\n\n`.
pub fn event_data(chunk: &[u8]) -> String {
    let s = std::str::from_utf8(chunk).expect("UTF-8 event");
    let s = s
        .strip_suffix("\n\n")
        .unwrap_or_else(|| panic!("event not ended by a blank line: {s:?}"));
    s.strip_prefix("data: ")
        .unwrap_or_else(|| panic!("event without data: {s:?}"))
        .to_owned()
}

pub fn is_reset_or_eof(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionAborted
    )
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Client {
            s,
            buf: Vec::new(),
            pos: 0,
        }
    }

    pub fn send_raw(&mut self, raw: &[u8]) {
        self.s.write_all(raw).expect("write request");
    }

    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if method == "POST" || !body.is_empty() {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes);
    }

    pub fn post(&mut self, path: &str, body: &Value, headers: &[(&str, &str)]) {
        let b = serde_json::to_vec(body).unwrap();
        let mut h = vec![("Content-Type", "application/json")];
        h.extend_from_slice(headers);
        self.send("POST", path, &h, &b);
    }

    fn fill(&mut self) -> io::Result<usize> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut tmp = [0u8; 65536];
        let n = self.s.read(&mut tmp)?;
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(n)
    }

    /// Bytes received but not consumed yet.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn read_line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(i) = self.buf[self.pos..].windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[self.pos..self.pos + i].to_vec();
                self.pos += i + 2;
                return Ok(line);
            }
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    fn read_n(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() - self.pos < n {
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        let v = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n;
        Ok(v)
    }

    pub fn read_head(&mut self) -> io::Result<Head> {
        let status_line = String::from_utf8(self.read_line()?).unwrap();
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(
            parts.next(),
            Some("HTTP/1.1"),
            "status line {status_line:?}"
        );
        let status: u16 = parts.next().unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let line = String::from_utf8(self.read_line()?).unwrap();
            if line.is_empty() {
                break;
            }
            let (k, v) = line.split_once(':').expect("header line");
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        if status == 100 {
            return self.read_head();
        }
        Ok(Head { status, headers })
    }

    /// The next chunk of a chunked body; `None` at the terminating zero-size chunk.
    pub fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        let line = String::from_utf8(self.read_line()?).unwrap();
        let n = usize::from_str_radix(line.trim(), 16).expect("chunk size");
        if n == 0 {
            let trailer_end = self.read_line()?;
            assert!(trailer_end.is_empty(), "no trailers expected");
            return Ok(None);
        }
        let data = self.read_n(n)?;
        let crlf = self.read_n(2)?;
        assert_eq!(crlf, b"\r\n", "chunk not followed by CRLF");
        Ok(Some(data))
    }

    pub fn read_body(&mut self, head: Head) -> io::Result<Response> {
        if head.header("transfer-encoding") == Some("chunked") {
            let mut chunks = Vec::new();
            while let Some(c) = self.next_chunk()? {
                chunks.push(c);
            }
            let body = chunks.concat();
            Ok(Response { head, body, chunks })
        } else {
            let n: usize = head
                .header("content-length")
                .expect("content-length")
                .parse()
                .unwrap();
            let body = self.read_n(n)?;
            Ok(Response {
                head,
                body,
                chunks: Vec::new(),
            })
        }
    }

    pub fn read_response(&mut self) -> io::Result<Response> {
        let head = self.read_head()?;
        self.read_body(head)
    }

    /// Reads until the server closes; Ok(bytes) on a clean EOF.
    pub fn read_to_close(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if self.fill()? == 0 {
                let v = self.buf[self.pos..].to_vec();
                self.pos = self.buf.len();
                return Ok(v);
            }
        }
    }
}

/// Content text of a completions or chat chunk (reasoning included), and its finish_reason.
pub fn chunk_text(v: &Value) -> (String, Value) {
    let c = &v["choices"][0];
    let mut s = String::new();
    if let Some(t) = c["text"].as_str() {
        s.push_str(t);
    }
    if let Some(t) = c["delta"]["reasoning_content"].as_str() {
        s.push_str(t);
    }
    if let Some(t) = c["delta"]["content"].as_str() {
        s.push_str(t);
    }
    (s, c["finish_reason"].clone())
}
