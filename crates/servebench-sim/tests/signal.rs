//! `run_until_signal_with`: SIGTERM stops the server and flushes the record. Alone in its test
//! binary because the signal goes to the whole process.

mod common;

use common::Client;
use serde_json::json;
use servebench_sim::{read_records, run_until_signal_with, FixedTiming, SimConfig};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn sigterm_stops_and_flushes_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let cfg = SimConfig {
        timing: FixedTiming {
            itl: Duration::from_millis(20),
            ..Default::default()
        },
        record: Some(path.clone()),
        ..Default::default()
    };
    let (tx, rx) = mpsc::channel();
    let server =
        std::thread::spawn(move || run_until_signal_with(cfg, move |addr| tx.send(addr).unwrap()));
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let mut c = Client::connect(addr);
    for _ in 0..2 {
        c.post(
            "/v1/completions",
            &json!({"prompt":"x","max_tokens":2,"ignore_eos":true,"stream":true}),
            &[],
        );
        c.read_response().unwrap();
    }
    // A third request is in flight when the signal comes.
    c.post(
        "/v1/completions",
        &json!({"prompt":"x","max_tokens":500,"ignore_eos":true,"stream":true}),
        &[],
    );
    c.read_head().unwrap();
    c.next_chunk().unwrap().unwrap();
    // SAFETY: plain kill(2) of our own process; the server installed its handler before `ready`.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGTERM);
    }
    let stats = server.join().unwrap().unwrap();
    assert_eq!((stats.accepted, stats.completed, stats.aborted), (3, 2, 1));
    let recs = read_records(&path).unwrap();
    assert_eq!(recs.len(), 3);
    assert!(recs
        .iter()
        .any(|r| r.chunk_tokens.len() < 500 && r.done_ns.is_none()));
}
