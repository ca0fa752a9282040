//! The record file: what the server did, checked against the schedule it was given.

mod common;

use common::Client;
use serde_json::json;
use servebench_core::clock::mono_ns;
use servebench_sim::{read_records, spawn, FaultKind, FixedTiming, ServerRecord, SimConfig};
use std::time::Duration;

const MS: u64 = 1_000_000;

#[test]
fn record_matches_the_fixed_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let ttft = 20 * MS;
    let itl = 5 * MS;
    let s = spawn(SimConfig {
        timing: FixedTiming {
            ttft: Duration::from_nanos(ttft),
            itl: Duration::from_nanos(itl),
            tokens_per_chunk: 1,
        },
        record: Some(path.clone()),
        ..Default::default()
    })
    .unwrap();
    let mut c = Client::connect(s.addr());
    let mut windows = Vec::new();
    for i in 0..3 {
        let id = format!("req-{i}");
        let before = mono_ns();
        c.post(
            "/v1/chat/completions",
            &json!({"messages":[{"role":"user","content":"one two three"}],"max_tokens":10,"ignore_eos":true,
                    "stream":true,"stream_options":{"include_usage":true}}),
            &[("x-request-id", &id)],
        );
        let head = c.read_head().unwrap();
        let first_byte = mono_ns();
        assert_eq!(head.header("x-request-id"), Some(id.as_str()));
        c.read_body(head).unwrap();
        windows.push((before, first_byte));
    }
    // One non-streaming completion as well.
    c.post(
        "/v1/completions",
        &json!({"prompt":"x y","max_tokens":4,"ignore_eos":true}),
        &[],
    );
    c.read_response().unwrap();
    s.shutdown();

    let recs = read_records(&path).unwrap();
    assert_eq!(recs.len(), 4);
    for (i, r) in recs[..3].iter().enumerate() {
        assert_eq!(r.seq, i as u64);
        assert_eq!(r.request_id.as_deref(), Some(format!("req-{i}").as_str()));
        assert_eq!(r.path, "/v1/chat/completions");
        assert!(r.stream);
        assert_eq!(r.fault, None);
        assert_eq!(r.status, Some(200));
        assert_eq!((r.prompt_tokens, r.completion_tokens), (3, 10));
        assert_eq!(r.finish_reason.as_deref(), Some("length"));
        // Arrival lies between our send and the first byte we received.
        let (before, first_byte) = windows[i];
        assert!(before <= r.arrival_ns && r.arrival_ns <= first_byte);
        // The role chunk went out at once, before the first token was due.
        let role = r.role_ns.unwrap();
        assert!(role < ttft, "role at {role}");
        assert_eq!(r.chunk_tokens, vec![1; 10]);
        assert_eq!(r.chunks_ns.len(), 10);
        // Strict: never before the schedule.
        for (k, &t) in r.chunks_ns.iter().enumerate() {
            assert!(t >= ttft + k as u64 * itl, "chunk {k} at {t}");
        }
        assert!(r.chunks_ns.windows(2).all(|w| w[0] <= w[1]));
        // Loose: deadlines are absolute (a late chunk does not delay the next one), so check
        // the lateness against the schedule. On an idle machine each chunk is late by under the
        // timer's millisecond plus wake-up; a busy machine delays some chunks, but some chunk in
        // the second half still lands close to its deadline unless lateness accumulates (drift)
        // or there is a constant offset.
        let lateness: Vec<u64> = (0..10)
            .map(|k| r.chunks_ns[k] - (ttft + k as u64 * itl))
            .collect();
        let min_late = *lateness[5..].iter().min().unwrap();
        assert!(min_late <= 3 * MS, "lateness {lateness:?}");
        let mean = lateness.iter().sum::<u64>() as f64 / 10.0;
        assert!(mean <= 15e6, "mean lateness {mean} ns: {lateness:?}");
        let last = *r.chunks_ns.last().unwrap();
        assert!(r.usage_ns.unwrap() >= last);
        assert!(r.done_ns.unwrap() >= r.usage_ns.unwrap());
        assert!(r.end_ns >= r.done_ns.unwrap());
    }
    let u = &recs[3];
    assert!(!u.stream);
    assert_eq!(u.path, "/v1/completions");
    assert_eq!(u.chunk_tokens, vec![4]);
    assert_eq!(u.role_ns, None);
    assert_eq!(u.done_ns, None);
    // Non-streaming: sent once the last token is due.
    assert!(u.chunks_ns[0] >= ttft + 3 * itl);
    assert_eq!(u.usage_ns, Some(u.chunks_ns[0]));
}

#[test]
fn tokens_per_chunk_are_due_with_their_last_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let (ttft, itl) = (10 * MS, 4 * MS);
    let s = spawn(SimConfig {
        timing: FixedTiming {
            ttft: Duration::from_nanos(ttft),
            itl: Duration::from_nanos(itl),
            tokens_per_chunk: 3,
        },
        record: Some(path.clone()),
        ..Default::default()
    })
    .unwrap();
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/completions",
        &json!({"prompt":"x","max_tokens":8,"ignore_eos":true,"stream":true}),
        &[],
    );
    c.read_response().unwrap();
    s.shutdown();
    let r = &read_records(&path).unwrap()[0];
    assert_eq!(r.chunk_tokens, vec![3, 3, 2]);
    // Last tokens of the chunks: 2, 5, 7.
    for (k, last_token) in [2u64, 5, 7].into_iter().enumerate() {
        assert!(
            r.chunks_ns[k] >= ttft + last_token * itl,
            "chunk {k}: {}",
            r.chunks_ns[k]
        );
    }
    assert_eq!(r.usage_ns, None);
}

#[test]
fn itl_zero_batches_writes_and_records_every_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let s = spawn(SimConfig {
        record: Some(path.clone()),
        ..Default::default()
    })
    .unwrap();
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/completions",
        &json!({"prompt":"x","max_tokens":2000,"ignore_eos":true,"stream":true}),
        &[],
    );
    let r = c.read_response().unwrap();
    assert_eq!(r.events().len(), 2001);
    s.shutdown();
    let rec = &read_records(&path).unwrap()[0];
    assert_eq!(rec.chunks_ns.len(), 2000);
    assert_eq!(rec.chunk_tokens.iter().sum::<u32>(), 2000);
    assert!(rec.chunks_ns.windows(2).all(|w| w[0] <= w[1]));
    // ~200 bytes per event: 2000 events need several 64 KiB writes, each stamped once.
    let mut distinct = rec.chunks_ns.clone();
    distinct.dedup();
    assert!(
        distinct.len() >= 2 && distinct.len() < 100,
        "{} distinct write times",
        distinct.len()
    );
}

#[test]
fn faults_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let s = spawn(SimConfig {
        record: Some(path.clone()),
        stall: Duration::from_millis(30),
        ..Default::default()
    })
    .unwrap();
    let body = json!({"prompt":"x","max_tokens":6,"ignore_eos":true,"stream":true});
    for kind in FaultKind::ALL {
        let mut c = Client::connect(s.addr());
        c.post("/v1/completions", &body, &[("x-sim-fault", kind.as_str())]);
        let _ = c.read_response();
    }
    let st = s.shutdown();
    let mut recs: Vec<ServerRecord> = read_records(&path).unwrap();
    recs.sort_by_key(|r| r.seq);
    assert_eq!(recs.len(), 9);
    for (r, kind) in recs.iter().zip(FaultKind::ALL) {
        assert_eq!(r.fault, Some(kind));
        assert_eq!(st.fault(kind), 1);
        let sent: u32 = r.chunk_tokens.iter().sum();
        match kind {
            FaultKind::Status429 | FaultKind::Status500 | FaultKind::Status503 => {
                assert_eq!(r.status, kind.http_status());
                assert_eq!(sent, 0);
            }
            FaultKind::ResetBeforeHeaders => assert_eq!((r.status, sent), (None, 0)),
            FaultKind::ResetMidStream | FaultKind::MalformedChunk | FaultKind::ErrorMidStream => {
                assert_eq!((r.status, sent), (Some(200), 3));
                assert_eq!(r.done_ns, None);
            }
            FaultKind::MissingDone => {
                assert_eq!((sent, r.done_ns), (6, None));
            }
            FaultKind::Stall => {
                assert_eq!(sent, 6);
                assert!(r.done_ns.is_some());
                let gap = r.chunks_ns[3] - r.chunks_ns[2];
                assert!(gap >= 30 * MS, "stall gap {gap}");
            }
        }
    }
}

#[test]
fn shutdown_records_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let s = spawn(SimConfig {
        timing: FixedTiming {
            itl: Duration::from_millis(20),
            ..Default::default()
        },
        record: Some(path.clone()),
        ..Default::default()
    })
    .unwrap();
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/completions",
        &json!({"prompt":"x","max_tokens":1000,"ignore_eos":true,"stream":true}),
        &[],
    );
    c.read_head().unwrap();
    for _ in 0..3 {
        c.next_chunk().unwrap().unwrap();
    }
    let st = s.shutdown();
    assert_eq!((st.accepted, st.completed, st.aborted), (1, 0, 1));
    let recs = read_records(&path).unwrap();
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert!(r.chunks_ns.len() >= 3 && r.chunks_ns.len() < 1000);
    assert_eq!(r.chunk_tokens.len(), r.chunks_ns.len());
    assert!(r.end_ns >= *r.chunks_ns.last().unwrap());
    assert_eq!(r.done_ns, None);
    // The client sees the connection end.
    match c.read_to_close() {
        Ok(_) => {}
        Err(e) => assert!(common::is_reset_or_eof(&e), "{e:?}"),
    }
}
