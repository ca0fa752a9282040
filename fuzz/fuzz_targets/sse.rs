//! SSE framing (`servebench_client::sse::SseParser`), fed in the pieces the first input bytes
//! choose (see `servebench_fuzz::split`): no panic, and the events are the same however the
//! body was split (the client feeds whatever each socket read returned).
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_client::sse::{Event, Flow, SseParser};

type Events = Vec<(Vec<u8>, Vec<u8>)>;

/// Feeds `pieces`, then finishes; stops after `stop_after` events if given.
fn run(pieces: &[&[u8]], stop_after: Option<usize>) -> (Events, bool) {
    let mut p = SseParser::new();
    let mut out = Events::new();
    let mut cb = |e: Event<'_>| {
        out.push((e.event.to_vec(), e.data.to_vec()));
        if stop_after.is_some_and(|n| out.len() >= n) {
            Flow::Stop
        } else {
            Flow::Continue
        }
    };
    for piece in pieces {
        if p.feed(piece, &mut cb) == Flow::Stop {
            return (out, true);
        }
    }
    let stopped = p.finish(&mut cb) == Flow::Stop;
    (out, stopped)
}

fuzz_target!(|data: &[u8]| {
    let (pieces, payload) = servebench_fuzz::split(data);
    let (whole, _) = run(&[payload], None);
    let (split, _) = run(&pieces, None);
    assert_eq!(whole, split, "events depend on how the body was split");
    for (event, _) in &whole {
        assert!(!event.contains(&b'\n'), "an event name spans lines");
    }
    // Stopping after the n-th event delivers exactly the first n events.
    if !whole.is_empty() {
        let n = 1 + usize::from(data[0] & 0x0f) % whole.len();
        let (stopped, flag) = run(&pieces, Some(n));
        assert!(flag);
        assert_eq!(stopped.as_slice(), &whole[..n]);
    }
    // A reused parser (reset) behaves like a new one.
    let mut p = SseParser::new();
    p.feed(payload, &mut |_| Flow::Continue);
    p.reset();
    let mut again = Events::new();
    for piece in &pieces {
        p.feed(piece, &mut |e| {
            again.push((e.event.to_vec(), e.data.to_vec()));
            Flow::Continue
        });
    }
    p.finish(&mut |e| {
        again.push((e.event.to_vec(), e.data.to_vec()));
        Flow::Continue
    });
    assert_eq!(again, whole, "reset left state behind");
});
