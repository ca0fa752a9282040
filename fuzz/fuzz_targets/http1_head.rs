//! The HTTP/1 response head parser (`servebench_client::http1::parse_head`), fed as the client
//! feeds it (`exchange.rs`: parse each read alone while nothing is buffered, else append it to
//! the buffered bytes and parse those): no panic; the head found is the one parsing all the
//! bytes at once finds, its length within the bytes given, and the body bytes the client takes
//! from the read that completed the head (`data[n - extra..]`) are in range and are the bytes
//! that follow the head.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_client::http1::{parse_head, Framing, Head};

fuzz_target!(|data: &[u8]| {
    let (pieces, payload) = servebench_fuzz::split(data);
    let whole = parse_head(payload);
    if let Ok(Some(h)) = &whole {
        check(h, payload);
    }

    let mut buffered: Vec<u8> = Vec::new();
    let mut seen = 0usize; // bytes of the payload read so far
    for piece in &pieces {
        let n = piece.len();
        seen += n;
        let parsed = if buffered.is_empty() {
            parse_head(piece)
        } else {
            buffered.extend_from_slice(piece);
            parse_head(&buffered)
        };
        match parsed {
            Ok(None) => {
                if buffered.is_empty() {
                    buffered.extend_from_slice(piece);
                }
            }
            Err(_) => {
                // A prefix that is already invalid: the whole is invalid too.
                assert!(whole.is_err(), "prefix invalid, whole {whole:?}");
                return;
            }
            Ok(Some(h)) => {
                assert_eq!(Ok(Some(h.clone())), whole, "head depends on the reads");
                let body: &[u8] = if buffered.is_empty() {
                    &piece[h.len..]
                } else {
                    let extra = buffered.len() - h.len;
                    assert!(extra <= n, "head ended before this read: extra {extra} > read {n}");
                    &piece[n - extra..]
                };
                assert_eq!(body, &payload[h.len..seen], "body bytes after the head");
                return;
            }
        }
    }
    // Never complete over all the reads: then the whole is not complete either.
    assert_eq!(seen, payload.len());
    assert!(!matches!(whole, Ok(Some(_))), "complete at once, never complete in reads");
});

fn check(h: &Head, buf: &[u8]) {
    assert!(h.len <= buf.len());
    assert!(buf[..h.len].ends_with(b"\n"), "head does not end with a line end");
    if (100..200).contains(&h.status) || h.status == 204 || h.status == 304 {
        assert_eq!(h.framing, Framing::Length(0));
    }
    if h.framing == Framing::Close {
        assert!(h.close, "a close-delimited body must close the connection");
    }
    // Deterministic.
    assert_eq!(parse_head(buf), Ok(Some(h.clone())));
}
