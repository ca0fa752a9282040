//! Fault injection: each kind forced by `x-sim-fault`, and the fraction-based assignment.

mod common;

use common::{event_data, is_reset_or_eof, Client};
use serde_json::{json, Value};
use servebench_sim::{read_records, spawn, FaultConfig, FaultKind, SimConfig};
use std::io;
use std::time::{Duration, Instant};

fn stream_req(n: u32) -> Value {
    json!({"prompt":"a b","max_tokens":n,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}})
}

fn post_fault(c: &mut Client, body: &Value, fault: &str) {
    c.post("/v1/completions", body, &[("x-sim-fault", fault)]);
}

fn is_json(s: &str) -> bool {
    serde_json::from_str::<Value>(s).is_ok()
}

#[test]
fn status_faults_answer_with_error_json() {
    let s = spawn(SimConfig::default()).unwrap();
    let mut c = Client::connect(s.addr());
    for (kind, code) in [
        ("status_429", 429),
        ("status_500", 500),
        ("status_503", 503),
    ] {
        post_fault(&mut c, &stream_req(4), kind);
        let r = c.read_response().unwrap();
        assert_eq!(r.head.status, code);
        let v = r.json();
        assert_eq!(v["error"]["code"], code);
        assert!(v["error"]["message"].is_string());
    }
    // Non-streaming too, and the connection is still good.
    post_fault(&mut c, &json!({"prompt":"x","max_tokens":2}), "status_429");
    assert_eq!(c.read_response().unwrap().head.status, 429);
    let st = s.shutdown();
    assert_eq!(st.fault(FaultKind::Status429), 2);
    assert_eq!(st.fault(FaultKind::Status500), 1);
    assert_eq!(st.fault(FaultKind::Status503), 1);
}

#[test]
fn reset_before_headers_sends_nothing() {
    let s = spawn(SimConfig::default()).unwrap();
    let mut c = Client::connect(s.addr());
    post_fault(&mut c, &stream_req(4), "reset_before_headers");
    match c.read_to_close() {
        Ok(bytes) => assert!(bytes.is_empty(), "got {} bytes", bytes.len()),
        Err(e) => assert!(is_reset_or_eof(&e), "{e:?}"),
    }
    assert_eq!(c.buffered(), 0);
}

#[test]
fn reset_mid_stream_after_half_the_chunks() {
    let s = spawn(SimConfig::default()).unwrap();
    let mut c = Client::connect(s.addr());
    post_fault(&mut c, &stream_req(10), "reset_mid_stream");
    let head = c.read_head().unwrap();
    assert_eq!(head.status, 200);
    let mut events = Vec::new();
    let err = loop {
        match c.next_chunk() {
            Ok(Some(ch)) => events.push(event_data(&ch)),
            Ok(None) => panic!("stream ended cleanly after {} events", events.len()),
            Err(e) => break e,
        }
    };
    assert!(is_reset_or_eof(&err), "{err:?}");
    assert_eq!(events.len(), 5, "{events:?}");
    assert!(events.iter().all(|e| is_json(e)));
    let st = s.shutdown();
    assert_eq!((st.aborted, st.completed), (1, 0));
}

#[test]
fn malformed_chunk_then_the_body_ends() {
    let s = spawn(SimConfig::default()).unwrap();
    let mut c = Client::connect(s.addr());
    post_fault(&mut c, &stream_req(10), "malformed_chunk");
    let r = c.read_response().unwrap();
    assert_eq!(r.head.status, 200);
    let ev = r.events();
    assert_eq!(ev.len(), 6, "{ev:?}");
    assert!(ev[..5].iter().all(|e| is_json(e)));
    assert!(!is_json(&ev[5]), "{}", ev[5]);
    // Chat too (role chunk first, then 5 good content chunks).
    c.post(
        "/v1/chat/completions",
        &json!({"messages":[{"role":"user","content":"x"}],"max_tokens":10,"ignore_eos":true,"stream":true}),
        &[("x-sim-fault", "malformed_chunk")],
    );
    let ev = c.read_response().unwrap().events();
    assert_eq!(ev.len(), 7);
    assert!(!is_json(&ev[6]));
    // Non-streaming: a truncated JSON body.
    post_fault(
        &mut c,
        &json!({"prompt":"x","max_tokens":10}),
        "malformed_chunk",
    );
    let r = c.read_response().unwrap();
    assert_eq!(r.head.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
}

#[test]
fn missing_done_keeps_usage_and_terminates_the_body() {
    let s = spawn(SimConfig::default()).unwrap();
    let mut c = Client::connect(s.addr());
    post_fault(&mut c, &stream_req(6), "missing_done");
    let r = c.read_response().unwrap();
    let ev = r.events();
    assert!(!ev.iter().any(|e| e == "[DONE]"));
    let last: Value = serde_json::from_str(ev.last().unwrap()).unwrap();
    assert_eq!(last["usage"]["completion_tokens"], 6);
    assert_eq!(ev.len(), 7);
    // The connection is still usable: the chunked body was properly terminated.
    c.post("/v1/completions", &stream_req(2), &[]);
    assert_eq!(
        c.read_response().unwrap().events().last().unwrap(),
        "[DONE]"
    );
}

#[test]
fn stall_sends_nothing_for_the_stall_then_continues() {
    let stall = Duration::from_millis(400);
    let s = spawn(SimConfig {
        stall,
        ..Default::default()
    })
    .unwrap();
    let mut c = Client::connect(s.addr());
    post_fault(&mut c, &stream_req(10), "stall");
    let head = c.read_head().unwrap();
    assert_eq!(head.status, 200);
    for _ in 0..5 {
        let ch = c.next_chunk().unwrap().unwrap();
        assert!(is_json(&event_data(&ch)));
    }
    let half_at = Instant::now();
    assert_eq!(
        c.buffered(),
        0,
        "nothing beyond the first half has been sent"
    );
    c.s.set_read_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    let e = c.next_chunk().unwrap_err();
    assert!(
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{e:?}"
    );
    c.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    while let Some(ch) = c.next_chunk().unwrap() {
        rest.push(event_data(&ch));
    }
    let resumed = half_at.elapsed();
    // 5 content + usage + [DONE]
    assert_eq!(rest.len(), 7, "{rest:?}");
    assert_eq!(rest.last().unwrap(), "[DONE]");
    // The silence lasted the stall (measured from after we had the first half: a lower bound
    // minus the scheduling slack between the server's write and our read).
    assert!(resumed >= stall - Duration::from_millis(50), "{resumed:?}");
}

#[test]
fn error_mid_stream_sends_an_error_event_and_no_done() {
    let s = spawn(SimConfig::default()).unwrap();
    let mut c = Client::connect(s.addr());
    post_fault(&mut c, &stream_req(10), "error_mid_stream");
    let r = c.read_response().unwrap();
    let ev = r.events();
    assert_eq!(ev.len(), 6, "{ev:?}");
    let err: Value = serde_json::from_str(&ev[5]).unwrap();
    assert_eq!(
        err,
        json!({"error":{"message":"simulated engine failure","type":"server_error","code":500}})
    );
    assert!(!ev.iter().any(|e| e == "[DONE]"));
    // Non-streaming: a 500.
    post_fault(
        &mut c,
        &json!({"prompt":"x","max_tokens":10}),
        "error_mid_stream",
    );
    assert_eq!(c.read_response().unwrap().head.status, 500);
}

#[test]
fn header_none_overrides_the_fractions() {
    let s = spawn(SimConfig {
        faults: FaultConfig {
            status_503: 1.0,
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let mut c = Client::connect(s.addr());
    c.post("/v1/completions", &stream_req(2), &[]);
    assert_eq!(c.read_response().unwrap().head.status, 503);
    post_fault(&mut c, &stream_req(2), "none");
    assert_eq!(c.read_response().unwrap().head.status, 200);
}

/// What the client saw of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Ok,
    Status(u16),
    ResetBeforeHeaders,
    ResetMidStream,
    Malformed,
    MissingDone,
    ErrorEvent,
}

/// What the client saw, and whether the connection is gone.
fn classify(c: &mut Client) -> (Seen, bool) {
    let head = match c.read_head() {
        Ok(h) => h,
        Err(e) => {
            assert!(is_reset_or_eof(&e), "{e:?}");
            return (Seen::ResetBeforeHeaders, true);
        }
    };
    if head.status != 200 {
        let code = head.status;
        c.read_body(head).unwrap();
        return (Seen::Status(code), false);
    }
    let mut events = Vec::new();
    loop {
        match c.next_chunk() {
            Ok(Some(ch)) => events.push(event_data(&ch)),
            Ok(None) => break,
            Err(e) => {
                assert!(is_reset_or_eof(&e), "{e:?}");
                return (Seen::ResetMidStream, true);
            }
        }
    }
    if events.iter().any(|e| !is_json(e) && e != "[DONE]") {
        return (Seen::Malformed, false);
    }
    if events.iter().any(|e| e.contains("\"error\"")) {
        return (Seen::ErrorEvent, false);
    }
    if events.last().map(String::as_str) != Some("[DONE]") {
        return (Seen::MissingDone, false);
    }
    (Seen::Ok, false)
}

#[test]
fn fractions_assign_the_expected_faults_to_1000_sequential_requests() {
    let fractions = [
        (FaultKind::Status429, 0.05),
        (FaultKind::Status500, 0.03),
        (FaultKind::Status503, 0.02),
        (FaultKind::ResetBeforeHeaders, 0.04),
        (FaultKind::ResetMidStream, 0.03),
        (FaultKind::MalformedChunk, 0.05),
        (FaultKind::MissingDone, 0.06),
        (FaultKind::Stall, 0.02),
        (FaultKind::ErrorMidStream, 0.04),
    ];
    let mut faults = FaultConfig::default();
    for (k, f) in fractions {
        faults.set(k, f);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let s = spawn(SimConfig {
        faults,
        stall: Duration::from_millis(1),
        record: Some(path.clone()),
        ..Default::default()
    })
    .unwrap();

    // The formula, written out independently of the library.
    let expected: Vec<Option<FaultKind>> = (0..1000u64)
        .map(|n| {
            let u = ((n + 1) as f64 * 0.6180339887498949).fract();
            let mut lo = 0.0;
            for (k, f) in fractions {
                if u >= lo && u < lo + f {
                    return Some(k);
                }
                lo += f;
            }
            None
        })
        .collect();

    let mut c = Client::connect(s.addr());
    for (n, want) in expected.iter().enumerate() {
        c.post("/v1/completions", &stream_req(4), &[]);
        let (seen, reconnect) = classify(&mut c);
        let want_seen = match want {
            None | Some(FaultKind::Stall) => Seen::Ok,
            Some(FaultKind::Status429) => Seen::Status(429),
            Some(FaultKind::Status500) => Seen::Status(500),
            Some(FaultKind::Status503) => Seen::Status(503),
            Some(FaultKind::ResetBeforeHeaders) => Seen::ResetBeforeHeaders,
            Some(FaultKind::ResetMidStream) => Seen::ResetMidStream,
            Some(FaultKind::MalformedChunk) => Seen::Malformed,
            Some(FaultKind::MissingDone) => Seen::MissingDone,
            Some(FaultKind::ErrorMidStream) => Seen::ErrorEvent,
        };
        assert_eq!(seen, want_seen, "request {n}");
        if reconnect {
            c = Client::connect(s.addr());
        }
    }
    let st = s.shutdown();
    assert_eq!(st.accepted, 1000);
    for (k, f) in fractions {
        let want = expected.iter().filter(|e| **e == Some(k)).count() as u64;
        assert_eq!(st.fault(k), want, "{k}");
        // The low-discrepancy draw keeps each count within a few of N * F.
        assert!((want as f64 - 1000.0 * f).abs() <= 3.0, "{k}: {want}");
    }
    let resets = st.fault(FaultKind::ResetBeforeHeaders) + st.fault(FaultKind::ResetMidStream);
    assert_eq!(st.aborted, resets);
    assert_eq!(st.completed, 1000 - resets);

    let recs = read_records(&path).unwrap();
    assert_eq!(recs.len(), 1000);
    let mut recs = recs;
    recs.sort_by_key(|r| r.seq);
    for (n, r) in recs.iter().enumerate() {
        assert_eq!(r.seq, n as u64);
        assert_eq!(r.fault, expected[n], "seq {n}");
        match r.fault {
            Some(k) if k.http_status().is_some() => assert_eq!(r.status, k.http_status()),
            Some(FaultKind::ResetBeforeHeaders) => {
                assert_eq!(r.status, None);
                assert!(r.chunks_ns.is_empty());
            }
            Some(FaultKind::ResetMidStream) => assert_eq!(r.chunk_tokens, vec![1, 1]),
            Some(FaultKind::MalformedChunk) | Some(FaultKind::ErrorMidStream) => {
                assert_eq!(r.chunk_tokens, vec![1, 1]);
                assert_eq!(r.done_ns, None);
            }
            Some(FaultKind::MissingDone) => {
                assert_eq!(r.chunk_tokens, vec![1; 4]);
                assert!(r.usage_ns.is_some());
                assert_eq!(r.done_ns, None);
            }
            _ => {
                assert_eq!(r.chunk_tokens, vec![1; 4]);
                assert!(r.done_ns.is_some());
            }
        }
    }
}
