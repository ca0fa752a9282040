//! Server-Sent Events framing (WHATWG HTML §9.2), incremental and allocation-free in steady state.
//!
//! Bytes arrive in arbitrary pieces: a line, even a `data:` prefix, may be split across reads.
//! The parser keeps the unfinished line and the current event's data in reused buffers and hands
//! each complete event to a callback. Comment lines (`:` keep-alives) are ignored; several
//! `data:` lines of one event are joined with `\n`, as the standard says.

/// What the callback wants after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// One complete event. `data` borrows the parser's buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Event<'a> {
    /// The `event:` field, empty for the default `message` type.
    pub event: &'a [u8],
    pub data: &'a [u8],
}

#[derive(Debug, Default)]
pub struct SseParser {
    /// An unfinished line carried over from the previous `feed`.
    partial: Vec<u8>,
    data: Vec<u8>,
    event: Vec<u8>,
    /// A `data:` field was seen in the current event (its value may be empty).
    has_data: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget any partial state (connection reused for a new response).
    pub fn reset(&mut self) {
        self.partial.clear();
        self.data.clear();
        self.event.clear();
        self.has_data = false;
    }

    /// Feed bytes; `on_event` is called for every event completed by them.
    /// Returns `Flow::Stop` as soon as the callback does (remaining bytes are dropped).
    pub fn feed(&mut self, mut bytes: &[u8], on_event: &mut impl FnMut(Event<'_>) -> Flow) -> Flow {
        while !bytes.is_empty() {
            let Some(nl) = memchr::memchr(b'\n', bytes) else {
                self.partial.extend_from_slice(bytes);
                return Flow::Continue;
            };
            let flow = if self.partial.is_empty() {
                self.line(&bytes[..nl], on_event)
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&bytes[..nl]);
                let f = self.line(&line, on_event);
                line.clear();
                self.partial = line;
                f
            };
            if flow == Flow::Stop {
                return Flow::Stop;
            }
            bytes = &bytes[nl + 1..];
        }
        Flow::Continue
    }

    /// The body ended. A final event whose blank line never came is still delivered (servers
    /// that end with `data: [DONE]\n` and close are common); a dangling partial line is too.
    pub fn finish(&mut self, on_event: &mut impl FnMut(Event<'_>) -> Flow) -> Flow {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            if self.line(&line, on_event) == Flow::Stop {
                return Flow::Stop;
            }
        }
        self.dispatch(on_event)
    }

    fn line(&mut self, mut line: &[u8], on_event: &mut impl FnMut(Event<'_>) -> Flow) -> Flow {
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line[0] == b':' {
            return Flow::Continue;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(c) => {
                let v = &line[c + 1..];
                (&line[..c], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.extend_from_slice(value);
            }
            _ => {} // id, retry and unknown fields do not matter here
        }
        Flow::Continue
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(Event<'_>) -> Flow) -> Flow {
        if !self.has_data {
            self.event.clear();
            return Flow::Continue;
        }
        let flow = on_event(Event {
            event: &self.event,
            data: &self.data,
        });
        self.data.clear();
        self.event.clear();
        self.has_data = false;
        flow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(pieces: &[&[u8]]) -> Vec<(String, String)> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        let mut cb = |e: Event<'_>| {
            out.push((
                String::from_utf8_lossy(e.event).into_owned(),
                String::from_utf8_lossy(e.data).into_owned(),
            ));
            Flow::Continue
        };
        for piece in pieces {
            p.feed(piece, &mut cb);
        }
        p.finish(&mut cb);
        out
    }

    #[test]
    fn simple_events() {
        let got = collect(&[b"data: {\"a\":1}\n\ndata: [DONE]\n\n"]);
        assert_eq!(
            got,
            vec![
                (String::new(), "{\"a\":1}".into()),
                (String::new(), "[DONE]".into())
            ]
        );
    }

    #[test]
    fn split_anywhere_gives_the_same_events() {
        let whole: &[u8] =
            b": keep-alive\r\n\r\ndata: {\"x\":\"y\"}\r\n\r\nevent: error\ndata: {\"error\":1}\n\ndata:[DONE]\n\n";
        let want = collect(&[whole]);
        assert_eq!(want.len(), 3);
        assert_eq!(want[1], ("error".into(), "{\"error\":1}".into()));
        assert_eq!(want[2].1, "[DONE]");
        for cut in 0..whole.len() {
            assert_eq!(
                collect(&[&whole[..cut], &whole[cut..]]),
                want,
                "cut at {cut}"
            );
        }
        // byte at a time
        let bytes: Vec<&[u8]> = whole.chunks(1).collect();
        assert_eq!(collect(&bytes), want);
    }

    #[test]
    fn comments_and_multiline_data() {
        let got = collect(&[b":ping\n\n: another\ndata: a\ndata: b\n\n"]);
        assert_eq!(got, vec![(String::new(), "a\nb".into())]);
    }

    #[test]
    fn last_event_without_blank_line_is_delivered() {
        assert_eq!(
            collect(&[b"data: x\n\ndata: [DONE]\n"]),
            vec![
                (String::new(), "x".into()),
                (String::new(), "[DONE]".into())
            ]
        );
        assert_eq!(
            collect(&[b"data: [DONE]"]),
            vec![(String::new(), "[DONE]".into())]
        );
    }

    #[test]
    fn stop_stops() {
        let mut p = SseParser::new();
        let mut n = 0;
        let flow = p.feed(b"data: 1\n\ndata: 2\n\n", &mut |_| {
            n += 1;
            Flow::Stop
        });
        assert_eq!((flow, n), (Flow::Stop, 1));
    }
}
