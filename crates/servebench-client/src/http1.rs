//! The HTTP/1.1 response framing the client needs, written for a streaming load generator:
//! incremental head parsing, chunked transfer decoding, `Content-Length` and close-delimited
//! bodies. It never copies body bytes; decoded pieces are slices of the read buffer.

/// How the body of a response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Chunked,
    Length(u64),
    /// Until the server closes the connection.
    Close,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub framing: Framing,
    /// The server asked to close the connection after this response (or spoke HTTP/1.0).
    pub close: bool,
    /// Bytes of the head, including the blank line.
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    Invalid(String),
    TooLarge,
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadError::Invalid(m) => write!(f, "invalid HTTP response head: {m}"),
            HeadError::TooLarge => f.write_str("HTTP response head larger than 64 KiB"),
        }
    }
}

pub const MAX_HEAD: usize = 64 * 1024;

/// Parse a response head from the start of `buf`. `Ok(None)`: need more bytes.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(buf) {
        Ok(httparse::Status::Partial) => {
            if buf.len() > MAX_HEAD {
                Err(HeadError::TooLarge)
            } else {
                Ok(None)
            }
        }
        Err(e) => Err(HeadError::Invalid(e.to_string())),
        Ok(httparse::Status::Complete(len)) => {
            let status = resp.code.unwrap_or(0);
            let mut chunked = false;
            let mut length = None;
            let mut close = resp.version == Some(0);
            for h in resp.headers.iter() {
                if h.name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = h
                        .value
                        .split(|&c| c == b',')
                        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"));
                } else if h.name.eq_ignore_ascii_case("content-length") {
                    let v = std::str::from_utf8(h.value.trim_ascii())
                        .ok()
                        .and_then(|s| s.parse().ok());
                    match v {
                        Some(n) => length = Some(n),
                        None => return Err(HeadError::Invalid("bad Content-Length".into())),
                    }
                } else if h.name.eq_ignore_ascii_case("connection") {
                    let v = h.value.trim_ascii();
                    if v.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if v.eq_ignore_ascii_case(b"keep-alive") {
                        close = false;
                    }
                }
            }
            // RFC 9112 §6.3: 1xx, 204 and 304 have no body.
            let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
                Framing::Length(0)
            } else if chunked {
                Framing::Chunked
            } else if let Some(n) = length {
                Framing::Length(n)
            } else {
                close = true;
                Framing::Close
            };
            Ok(Some(Head {
                status,
                framing,
                close,
                len,
            }))
        }
    }
}

/// A response body being read, by its framing.
#[derive(Debug, Clone)]
pub enum Body {
    Chunked(ChunkedDecoder),
    /// Bytes of a Content-Length body still to come.
    Remaining(u64),
    /// Until the server closes the connection.
    UntilClose,
}

impl Body {
    pub fn new(framing: Framing) -> Body {
        match framing {
            Framing::Chunked => Body::Chunked(ChunkedDecoder::new()),
            Framing::Length(l) => Body::Remaining(l),
            Framing::Close => Body::UntilClose,
        }
    }

    /// Passes the body bytes in `data` to `out` (payload only, framing stripped); whether the
    /// body has ended by its framing.
    #[inline]
    pub fn feed(
        &mut self,
        data: &[u8],
        out: &mut impl FnMut(&[u8]) -> bool,
    ) -> Result<bool, ChunkedError> {
        Ok(match self {
            Body::Chunked(dec) => {
                dec.feed(data, out)?;
                dec.is_done()
            }
            Body::Remaining(left) => {
                let take = (*left).min(data.len() as u64) as usize;
                *left -= take as u64;
                out(&data[..take]);
                *left == 0
            }
            Body::UntilClose => {
                out(data);
                false
            }
        })
    }
}

/// Decodes a chunked body incrementally.
#[derive(Debug, Clone, Default)]
pub struct ChunkedDecoder {
    state: ChunkState,
    size: u64,
    /// Hex digits seen for the current size line.
    digits: u8,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum ChunkState {
    #[default]
    Size,
    /// Chunk extension until the end of the size line.
    Ext,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    /// Trailer section: at the start of a line.
    TrailerStart,
    /// Inside a trailer line.
    Trailer,
    TrailerLf,
    EndLf,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkedError(pub &'static str);

impl std::fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid chunked body: {}", self.0)
    }
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Decode `input`, passing each data slice to `out`. Returns bytes consumed (all of them
    /// unless the body ended inside `input`, or `out` returned false to stop).
    pub fn feed(
        &mut self,
        input: &[u8],
        out: &mut impl FnMut(&[u8]) -> bool,
    ) -> Result<usize, ChunkedError> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                ChunkState::Data => {
                    let take = (input.len() - i).min(self.size as usize);
                    self.size -= take as u64;
                    let piece = &input[i..i + take];
                    i += take;
                    if self.size == 0 {
                        self.state = ChunkState::DataCr;
                    }
                    if !out(piece) {
                        return Ok(i);
                    }
                    continue;
                }
                ChunkState::Done => return Ok(i),
                _ => {}
            }
            let c = input[i];
            i += 1;
            self.state = match (self.state, c) {
                (ChunkState::Size, b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F') => {
                    if self.digits >= 15 {
                        return Err(ChunkedError("chunk size too large"));
                    }
                    self.digits += 1;
                    self.size = self.size * 16 + (c as char).to_digit(16).unwrap_or(0) as u64;
                    ChunkState::Size
                }
                (ChunkState::Size, b';' | b' ' | b'\t') if self.digits > 0 => ChunkState::Ext,
                (ChunkState::Size, b'\r') if self.digits > 0 => ChunkState::SizeLf,
                (ChunkState::Size, b'\n') if self.digits > 0 => self.after_size(),
                (ChunkState::Size, _) => return Err(ChunkedError("expected a hex chunk size")),
                (ChunkState::Ext, b'\r') => ChunkState::SizeLf,
                (ChunkState::Ext, b'\n') => self.after_size(),
                (ChunkState::Ext, _) => ChunkState::Ext,
                (ChunkState::SizeLf, b'\n') => self.after_size(),
                (ChunkState::SizeLf, _) => {
                    return Err(ChunkedError("expected LF after chunk size"))
                }
                (ChunkState::DataCr, b'\r') => ChunkState::DataLf,
                (ChunkState::DataCr, b'\n') => ChunkState::Size,
                (ChunkState::DataCr, _) => {
                    return Err(ChunkedError("expected CRLF after chunk data"))
                }
                (ChunkState::DataLf, b'\n') => ChunkState::Size,
                (ChunkState::DataLf, _) => {
                    return Err(ChunkedError("expected LF after chunk data"))
                }
                (ChunkState::TrailerStart, b'\r') => ChunkState::EndLf,
                (ChunkState::TrailerStart, b'\n') => ChunkState::Done,
                (ChunkState::TrailerStart, _) => ChunkState::Trailer,
                (ChunkState::Trailer, b'\r') => ChunkState::TrailerLf,
                (ChunkState::Trailer, b'\n') => ChunkState::TrailerStart,
                (ChunkState::Trailer, _) => ChunkState::Trailer,
                (ChunkState::TrailerLf, b'\n') => ChunkState::TrailerStart,
                (ChunkState::TrailerLf, _) => return Err(ChunkedError("expected LF in trailer")),
                (ChunkState::EndLf, b'\n') => ChunkState::Done,
                (ChunkState::EndLf, _) => return Err(ChunkedError("expected LF at body end")),
                (ChunkState::Data | ChunkState::Done, _) => unreachable!(),
            };
            if self.state == ChunkState::Done {
                return Ok(i);
            }
        }
        Ok(i)
    }

    fn after_size(&mut self) -> ChunkState {
        self.digits = 0;
        if self.size == 0 {
            ChunkState::TrailerStart
        } else {
            ChunkState::Data
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_framing() {
        let h = parse_head(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\nxx")
            .unwrap()
            .unwrap();
        assert_eq!(
            (h.status, h.framing, h.close),
            (200, Framing::Chunked, false)
        );
        assert_eq!(h.len, 80);
        let h =
            parse_head(b"HTTP/1.1 429 Too Many\r\nContent-Length: 12\r\nConnection: close\r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(
            (h.status, h.framing, h.close),
            (429, Framing::Length(12), true)
        );
        let h = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert_eq!((h.framing, h.close), (Framing::Close, true));
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap(), None);
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
    }

    fn decode_all(pieces: &[&[u8]]) -> Result<(Vec<u8>, bool), ChunkedError> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        for p in pieces {
            let n = d.feed(p, &mut |s| {
                out.extend_from_slice(s);
                true
            })?;
            if d.is_done() {
                assert_eq!(n, p.len(), "bytes after the terminator in this test");
            }
        }
        Ok((out, d.is_done()))
    }

    #[test]
    fn chunked_split_anywhere() {
        let body: &[u8] =
            b"5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let (whole, done) = decode_all(&[body]).unwrap();
        assert_eq!(whole, b"helloabcdefghijklmnopqrstuvwxyz");
        assert!(done);
        for cut in 0..body.len() {
            assert_eq!(
                decode_all(&[&body[..cut], &body[cut..]]).unwrap(),
                (whole.clone(), true)
            );
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(decode_all(&bytes).unwrap(), (whole, true));
    }

    #[test]
    fn chunked_incomplete_and_invalid() {
        assert_eq!(
            decode_all(&[b"5\r\nhel"]).unwrap(),
            (b"hel".to_vec(), false)
        );
        assert!(decode_all(&[b"zz\r\n"]).is_err());
        assert!(decode_all(&[b"2\r\nabX"]).is_err());
        assert!(decode_all(&[b"ffffffffffffffffff\r\n"]).is_err());
        assert_eq!(decode_all(&[b"0\r\n\r\n"]).unwrap(), (vec![], true));
    }

    #[test]
    fn stops_at_terminator() {
        let mut d = ChunkedDecoder::new();
        let n = d
            .feed(b"1\r\na\r\n0\r\n\r\nHTTP/1.1", &mut |_| true)
            .unwrap();
        assert_eq!(n, 11);
        assert!(d.is_done());
    }
}
