//! The chunked transfer decoder (`servebench_client::http1::ChunkedDecoder`), fed in the pieces
//! the first input bytes choose: no panic, and the same data, end, error and bytes consumed
//! however the body was split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_client::http1::{ChunkedDecoder, ChunkedError};

#[derive(Debug, PartialEq)]
struct Outcome {
    data: Vec<u8>,
    done: bool,
    consumed: usize,
    error: Option<ChunkedError>,
}

/// Feeds pieces as the client does: stop at an error or at the end of the body.
fn decode(pieces: &[&[u8]], stop_after: Option<usize>) -> Outcome {
    let mut d = ChunkedDecoder::new();
    let mut o = Outcome {
        data: Vec::new(),
        done: false,
        consumed: 0,
        error: None,
    };
    let mut slices = 0usize;
    for piece in pieces {
        let r = d.feed(piece, &mut |s| {
            o.data.extend_from_slice(s);
            slices += 1;
            stop_after.is_none_or(|n| slices < n)
        });
        match r {
            Ok(n) => {
                assert!(n <= piece.len(), "consumed more than given");
                o.consumed += n;
                if d.is_done() {
                    o.done = true;
                    return o;
                }
                if n < piece.len() {
                    // The callback said stop.
                    return o;
                }
            }
            Err(e) => {
                // Where in the piece it failed is not reported; compare the error alone.
                o.error = Some(e);
                o.consumed = 0;
                return o;
            }
        }
    }
    o
}

fuzz_target!(|data: &[u8]| {
    let (pieces, payload) = servebench_fuzz::split(data);
    let whole = decode(&[payload], None);
    let split = decode(&pieces, None);
    assert_eq!(whole, split, "decoding depends on how the body was split");
    assert!(whole.data.len() <= payload.len());
    if whole.done {
        assert!(whole.consumed <= payload.len());
    } else if whole.error.is_none() {
        assert_eq!(whole.consumed, payload.len(), "bytes left unconsumed mid-body");
    }
    // Stopping in the callback returns at once; the data so far is a prefix.
    let stopped = decode(&pieces, Some(1));
    assert!(whole.data.starts_with(&stopped.data));
});
