//! A whole streamed response as the client reads it (`servebench_client::exchange`): head,
//! body framing (chunked, Content-Length, until close), SSE, and each event's chunk, over the
//! reads the first input bytes choose. No panic, and the same outcome however the bytes were
//! split into reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_client::chunk::{self, Chunk, ChunkError};
use servebench_client::http1::{parse_head, Body, Head};
use servebench_client::sse::{Event, Flow, SseParser};

#[derive(Debug, Default, PartialEq)]
struct Outcome {
    head: Option<Head>,
    head_error: bool,
    body_error: bool,
    chunks: Vec<Result<Chunk, ChunkError>>,
    text: Vec<u8>,
    error_body: Vec<u8>,
    done: bool,
    fatal: bool,
    /// The body ended by its framing (not by the end of the input).
    ended: bool,
}

impl Outcome {
    fn on_event(&mut self, ev: Event<'_>) -> Flow {
        if self.done {
            return Flow::Continue;
        }
        if ev.event == b"error" {
            self.fatal = true;
            return Flow::Stop;
        }
        let r = chunk::parse(ev.data, Some(&mut self.text));
        let stop = match &r {
            Ok(Chunk::Done) => {
                self.done = true;
                false
            }
            Ok(Chunk::Data(info)) => info.error,
            Err(_) => true,
        };
        self.chunks.push(r);
        if stop {
            self.fatal = true;
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

fn exchange(pieces: &[&[u8]]) -> Outcome {
    let mut o = Outcome::default();
    let mut sse = SseParser::new();
    let mut buffered: Vec<u8> = Vec::new();
    let mut body = Body::UntilClose;
    for piece in pieces {
        let n = piece.len();
        let mut data: &[u8] = piece;
        if o.head.is_none() {
            let parsed = if buffered.is_empty() {
                parse_head(data)
            } else {
                buffered.extend_from_slice(data);
                parse_head(&buffered)
            };
            match parsed {
                Ok(None) => {
                    if buffered.is_empty() {
                        buffered.extend_from_slice(data);
                    }
                    continue;
                }
                Err(_) => {
                    o.head_error = true;
                    return o;
                }
                Ok(Some(h)) => {
                    data = if buffered.is_empty() {
                        &data[h.len..]
                    } else {
                        let extra = buffered.len() - h.len;
                        &data[n - extra..]
                    };
                    body = Body::new(h.framing);
                    o.head = Some(h);
                }
            }
        }
        let ok_status = o.head.as_ref().is_some_and(|h| h.status == 200);
        let ended = {
            let mut feed = |piece: &[u8]| -> bool {
                if ok_status {
                    let mut events = |ev: Event<'_>| o.on_event(ev);
                    sse.feed(piece, &mut events) == Flow::Continue
                } else {
                    let room = 4096usize.saturating_sub(o.error_body.len());
                    o.error_body
                        .extend_from_slice(&piece[..piece.len().min(room)]);
                    true
                }
            };
            match body.feed(data, &mut feed) {
                Ok(ended) => ended,
                Err(_) => {
                    o.body_error = true;
                    return o;
                }
            }
        };
        if o.fatal {
            return o;
        }
        if ended {
            o.ended = true;
            if ok_status {
                sse.finish(&mut |ev| o.on_event(ev));
            }
            return o;
        }
    }
    // End of input: the server closed the connection.
    if o.head.as_ref().is_some_and(|h| h.status == 200) && matches!(body, Body::UntilClose) {
        sse.finish(&mut |ev| o.on_event(ev));
    }
    o
}

fuzz_target!(|data: &[u8]| {
    let (pieces, payload) = servebench_fuzz::split(data);
    let whole = exchange(&[payload]);
    let split = exchange(&pieces);
    assert_eq!(whole, split, "the response reads differently when split into other reads");
});
