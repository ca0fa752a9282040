//! `bench` against `servebench sim` over real loopback HTTP: what the client measures is
//! checked against what the server recorded doing.

use servebench_client::runner::Progress;
use servebench_client::{Bench, BenchOptions, PointOutcome};
use servebench_core::result::RequestRate;
use servebench_core::{Api, FailureKind};
use servebench_sim::{FaultConfig, FaultKind, FixedTiming, ServerRecord, SimConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

struct Setup {
    sim: SimConfig,
    opts: BenchOptions,
}

fn setup(ttft_ms: u64, itl_ms: u64) -> Setup {
    Setup {
        sim: SimConfig {
            timing: FixedTiming {
                ttft: Duration::from_millis(ttft_ms),
                itl: Duration::from_millis(itl_ms),
                tokens_per_chunk: 1,
            },
            ..Default::default()
        },
        opts: BenchOptions {
            model: "servebench-sim".into(),
            isl: 64,
            osl: 16,
            concurrency: vec![4],
            tokenizer: Some("cl100k_base".into()),
            tokenize_probe: 0,
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(10),
            ..Default::default()
        },
    }
}

/// Run one point against a fresh server with a record; returns the outcome and the records.
fn run(mut s: Setup) -> (PointOutcome, Vec<ServerRecord>) {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.jsonl");
    s.sim.record = Some(record.clone());
    let sim = servebench_sim::spawn(s.sim).unwrap();
    s.opts.base_url = sim.base_url().parse().unwrap();
    let bench = Bench::prepare(s.opts).unwrap();
    let conc = bench.points()[0];
    let ds = bench.dataset(conc).unwrap();
    let out = bench.run_point(conc, ds, Arc::new(Progress::default()));
    sim.shutdown();
    let recs = servebench_sim::read_records(&record).unwrap();
    (out, recs)
}

fn measured_index(r: &ServerRecord) -> Option<u32> {
    r.request_id
        .as_deref()?
        .rsplit_once("-m")
        .and_then(|(_, i)| i.parse().ok())
}

fn by_index(recs: &[ServerRecord]) -> HashMap<u32, &ServerRecord> {
    recs.iter()
        .filter_map(|r| measured_index(r).map(|i| (i, r)))
        .collect()
}

/// Largest number of intervals open at once.
fn max_overlap(mut iv: Vec<(u64, u64)>) -> usize {
    let mut ev: Vec<(u64, i32)> = iv.drain(..).flat_map(|(a, b)| [(a, 1), (b, -1)]).collect();
    ev.sort_by_key(|&(t, d)| (t, d));
    let (mut cur, mut max) = (0i32, 0i32);
    for (_, d) in ev {
        cur += d;
        max = max.max(cur);
    }
    max as usize
}

#[test]
fn closed_loop_measurements_match_the_server_record() {
    let mut s = setup(20, 5);
    s.opts.num_prompts = Some(24);
    s.opts.warmups = Some(4);
    let (out, recs) = run(s);
    let r = &out.result;
    assert_eq!((r.completed, r.failed, r.num_prompts), (24, 0, 24));
    assert_eq!(r.warmups, 4);
    // The server saw warmups and measured requests, each exactly once.
    assert_eq!(recs.len(), 28);
    let server = by_index(&recs);
    assert_eq!(server.len(), 24);
    for c in &out.run.records {
        let s = server[&c.index];
        let tokens: u32 = s.chunk_tokens.iter().sum();
        // ignore_eos: exactly the requested length, and the client agrees with usage.
        assert_eq!(tokens, c.max_tokens);
        assert_eq!(c.usage_completion, Some(tokens));
        assert_eq!(c.client_output_tokens, Some(tokens), "re-tokenized count");
        assert_eq!(c.content_chunks, tokens);
        assert_eq!(c.gaps_us.len() as u32, tokens - 1);
        // Same clock: the client sent before the server read, and saw each chunk after it was
        // written. The client's TTFT can only exceed the server's, by loopback transit.
        let server_first = s.arrival_ns + s.chunks_ns[0];
        assert!(c.send_ns <= s.arrival_ns);
        // The server stamps a chunk when its write() returns; on loopback the reader can wake
        // and read a few microseconds before that.
        assert!(
            c.first_token_ns + 500_000 >= server_first,
            "client saw the first token {} µs before the server wrote it",
            (server_first - c.first_token_ns) / 1000
        );
        let ttft_err_ms = (c.ttft_ns().unwrap() as f64 - s.chunks_ns[0] as f64) / 1e6;
        assert!(
            // Send precedes the server's read, so only the reader waking before the server's
            // post-write stamp (microseconds) can make the client's TTFT the shorter one.
            (-0.5..25.0).contains(&ttft_err_ms),
            "TTFT error {ttft_err_ms} ms"
        );
        assert!(
            s.chunks_ns[0] >= 20_000_000,
            "server honoured the 20 ms TTFT"
        );
        // Each client gap is the server's gap give or take the read timing.
        let sum_client: u64 = c.gaps_us.iter().map(|&g| g as u64).sum();
        let sum_server = (s.chunks_ns.last().unwrap() - s.chunks_ns[0]) / 1000;
        assert!(
            sum_client.abs_diff(sum_server) < 25_000,
            "{sum_client} vs {sum_server} µs"
        );
    }
    // Mean TPOT is the fixed ITL (5 ms) within timer granularity.
    // (The server never sends early; a late first or last chunk moves the mean a little.)
    assert!((4.5..8.0).contains(&r.tpot.mean), "tpot {}", r.tpot.mean);
    assert!(r.ttft.mean >= 20.0);
    // Client prompt lengths are exact; the server (same tokenizer) agrees through usage.
    assert_eq!(r.tokens.output_count_disagreements, 0);
    assert_eq!(r.tokens.output_tokens_source, "usage");
    // Exactly C requests in flight at most, and the client reused its C connections.
    let iv: Vec<(u64, u64)> = out
        .run
        .records
        .iter()
        .map(|c| (c.send_ns, c.end_ns))
        .collect();
    assert_eq!(max_overlap(iv), 4);
    assert_eq!(out.run.connections_opened, 4);
    // The self-check ran (its verdict depends on the machine's load, so it is not asserted).
    assert!(r.self_check.timer_lag_ms.count > 0);
    assert!(r.self_check.max_thread_cpu_percent > 0.0);
    assert_eq!(r.self_check.client_threads, 1);
}

#[test]
fn role_chunk_is_not_ttft_and_reasoning_counts_as_output() {
    let mut s = setup(30, 2);
    s.sim.reasoning_tokens = 5;
    s.opts.api = Api::Chat;
    s.opts.num_prompts = Some(6);
    s.opts.warmups = Some(0);
    s.opts.concurrency = vec![2];
    let (out, recs) = run(s);
    let r = &out.result;
    assert_eq!(r.completed, 6);
    let server = by_index(&recs);
    for c in &out.run.records {
        let s = server[&c.index];
        assert!(s.role_ns.is_some());
        // The role chunk is written at once; TTFT must still be the 30 ms content time.
        assert!(c.ttft_ns().unwrap() >= 30_000_000);
        assert!(
            c.first_byte_ns < c.first_token_ns,
            "role chunk arrived first"
        );
        let tokens: u32 = s.chunk_tokens.iter().sum();
        assert_eq!(c.usage_completion, Some(tokens));
        assert_eq!(c.content_chunks, tokens, "reasoning chunks count as output");
    }
}

#[test]
fn multi_token_chunks_tpot_is_per_token_itl_per_chunk() {
    let mut s = setup(10, 2);
    s.sim.timing.tokens_per_chunk = 4;
    s.opts.osl = 32;
    s.opts.range_ratio = 1.0;
    s.opts.num_prompts = Some(4);
    s.opts.warmups = Some(0);
    s.opts.concurrency = vec![1];
    let (out, _) = run(s);
    let r = &out.result;
    assert_eq!(r.completed, 4);
    for c in &out.run.records {
        assert_eq!(c.usage_completion, Some(32));
        assert_eq!(c.content_chunks, 8);
        assert_eq!(c.gaps_us.len(), 7);
    }
    // Chunks carry 4 tokens 8 ms apart: ITL ≈ 8 ms, TPOT ≈ 8·7/31 ≈ 1.8 ms.
    assert!((7.0..12.0).contains(&r.itl.mean), "itl {}", r.itl.mean);
    let want = r.itl.mean * 7.0 / 31.0;
    assert!(
        (r.tpot.mean - want).abs() < 0.1,
        "tpot {} vs {want}",
        r.tpot.mean
    );
}

#[test]
fn every_fault_is_counted_in_its_category() {
    let mut s = setup(5, 1);
    let mut f = FaultConfig::default();
    for k in FaultKind::ALL {
        f.set(k, 0.06);
    }
    s.sim.faults = f;
    s.sim.stall = Duration::from_secs(5);
    s.opts.idle_timeout = Duration::from_millis(400);
    s.opts.num_prompts = Some(150);
    s.opts.warmups = Some(0);
    s.opts.concurrency = vec![8];
    let (out, recs) = run(s);
    let r = &out.result;
    // What the server did, per measured request.
    let mut want: HashMap<&str, u64> = HashMap::new();
    let mut want_status: HashMap<String, u64> = HashMap::new();
    for rec in recs.iter().filter(|r| measured_index(r).is_some()) {
        let cat = match rec.fault {
            None => continue,
            Some(FaultKind::Status429 | FaultKind::Status500 | FaultKind::Status503) => {
                *want_status
                    .entry(rec.status.unwrap().to_string())
                    .or_default() += 1;
                FailureKind::HttpStatus
            }
            Some(FaultKind::ResetBeforeHeaders | FaultKind::ResetMidStream) => FailureKind::Reset,
            Some(FaultKind::MalformedChunk) => FailureKind::Parse,
            Some(FaultKind::MissingDone) => FailureKind::Incomplete,
            Some(FaultKind::Stall) => FailureKind::Timeout,
            Some(FaultKind::ErrorMidStream) => FailureKind::ServerError,
        };
        *want.entry(cat.as_str()).or_default() += 1;
    }
    let got: HashMap<&str, u64> = r
        .failures
        .by_category
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(got, want, "client failure categories vs server faults");
    let got_status: HashMap<String, u64> = r.failures.http_status.clone().into_iter().collect();
    assert_eq!(got_status, want_status);
    // 9 kinds × 6% of 150 in 6 categories (3 status codes): every kind occurred, nothing else failed.
    assert_eq!(want.len(), 6, "{want:?}");
    assert_eq!(want_status.len(), 3, "{want_status:?}");
    let faulted: u64 = want.values().sum();
    assert!((70..=90).contains(&faulted), "{faulted}");
    assert_eq!(r.failed, faulted);
    assert_eq!(r.completed + r.failed, 150);
    assert!(r.failures.failure_rate > 0.4);
    assert!(servebench_client::bench::over_failure_gate(r));
    // Latency statistics are over successes only, and every success is whole.
    for c in out.run.records.iter().filter(|c| c.ok()) {
        assert_eq!(c.usage_completion, Some(c.max_tokens));
    }
}

#[test]
fn open_loop_poisson_arrivals_with_a_queueing_cap() {
    let mut s = setup(5, 1);
    s.opts.request_rate = RequestRate::PerSecond(400.0);
    s.opts.concurrency = vec![2];
    s.opts.num_prompts = Some(120);
    s.opts.warmups = Some(0);
    s.opts.osl = 20;
    s.opts.range_ratio = 1.0;
    let (out, recs) = run(s);
    let r = &out.result;
    assert_eq!(r.completed, 120, "queued, never dropped");
    // Each request takes ≥ 24 ms (5 + 19×1), so 2 slots serve ≤ ~83 req/s while 400 arrive:
    // requests queue behind the cap.
    let waited = out
        .run
        .records
        .iter()
        .filter(|c| c.queue_ns > 1_000_000)
        .count();
    assert!(waited > 60, "{waited} requests queued");
    // Never more than 2 in flight, as the server saw them.
    let iv: Vec<(u64, u64)> = recs
        .iter()
        .map(|s| (s.arrival_ns, s.arrival_ns + s.end_ns))
        .collect();
    assert!(max_overlap(iv) <= 2);
    // Arrivals: mean inter-arrival ≈ 2.5 ms (Poisson at 400/s), paced by the schedule.
    let mut sched: Vec<u64> = out.run.records.iter().map(|c| c.sched_ns).collect();
    sched.sort_unstable();
    let mean_gap_ms = (sched[119] - sched[0]) as f64 / 119.0 / 1e6;
    assert!(
        (1.5..4.0).contains(&mean_gap_ms),
        "mean inter-arrival {mean_gap_ms} ms"
    );
    assert!(r.self_check.queue_wait_ms.p90 > 1.0);
}

#[test]
fn open_loop_without_cap_sends_on_schedule() {
    let mut s = setup(2, 1);
    s.opts.request_rate = RequestRate::PerSecond(100.0);
    s.opts.burstiness = 4.0;
    s.opts.concurrency = vec![];
    s.opts.num_prompts = Some(40);
    s.opts.warmups = Some(0);
    s.opts.osl = 8;
    let (out, _) = run(s);
    assert_eq!(out.result.completed, 40);
    assert_eq!(out.result.max_concurrency, None);
    // Paced by a dedicated thread: sends leave within a few ms of their arrival time even
    // on a loaded 2-core test machine.
    let lag = &out.result.self_check.send_lag_ms;
    assert!(lag.median < 5.0, "median send lag {} ms", lag.median);
    assert!(out.run.records.iter().all(|c| c.queue_ns < 1_000_000));
}

#[test]
fn duration_stops_issuing_requests() {
    let mut s = setup(1, 1);
    s.opts.duration = Some(Duration::from_millis(400));
    s.opts.concurrency = vec![2];
    s.opts.num_prompts = Some(4);
    s.opts.warmups = Some(0);
    s.opts.osl = 8;
    let (out, _) = run(s);
    let r = &out.result;
    assert_eq!(r.stop, "duration");
    // Requests take ≈ 9 ms: far more than 4 prompts were sent (the dataset cycles)...
    assert!(r.completed > 20, "{}", r.completed);
    // ...and none was sent after the deadline.
    let deadline = out.run.start_ns + 400_000_000;
    assert!(out
        .run
        .records
        .iter()
        .all(|c| c.send_ns <= deadline + 20_000_000));
}

#[test]
fn two_client_threads_keep_exactly_c_in_flight() {
    let mut s = setup(5, 1);
    s.opts.client_threads = 2;
    s.opts.concurrency = vec![5];
    s.opts.num_prompts = Some(40);
    s.opts.warmups = Some(5);
    let (out, recs) = run(s);
    assert_eq!(out.result.completed, 40);
    assert_eq!(out.result.self_check.client_threads, 2);
    assert_eq!(by_index(&recs).len(), 40);
    let iv: Vec<(u64, u64)> = out
        .run
        .records
        .iter()
        .map(|c| (c.send_ns, c.end_ns))
        .collect();
    assert_eq!(max_overlap(iv), 5);
    // Indices are handed out once each across both threads.
    let mut idx: Vec<u32> = out.run.records.iter().map(|c| c.index).collect();
    idx.dedup();
    assert_eq!(idx, (0..40).collect::<Vec<_>>());
}

#[test]
fn jsonl_chat_messages_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("chat.jsonl");
    std::fs::write(
        &data,
        concat!(
            r#"{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}],"output_len":5}"#,
            "\n",
            r#"{"messages":[{"role":"user","content":"what is the capital of France"}],"max_tokens":7}"#,
            "\n"
        ),
    )
    .unwrap();
    let mut s = setup(2, 1);
    s.opts.api = Api::Chat;
    s.opts.dataset = servebench_dataset::DatasetKind::Jsonl;
    s.opts.dataset_path = Some(data);
    s.opts.ignore_eos = true;
    s.opts.concurrency = vec![1];
    s.opts.num_prompts = Some(4);
    s.opts.warmups = Some(0);
    let (out, recs) = run(s);
    assert_eq!(out.result.completed, 4);
    let outs: Vec<Option<u32>> = out.run.records.iter().map(|c| c.usage_completion).collect();
    assert_eq!(
        outs,
        vec![Some(5), Some(7), Some(5), Some(7)],
        "rows cycle in file order"
    );
    // The server counted the same message contents the client did.
    for c in &out.run.records {
        assert_eq!(c.usage_prompt, Some(c.input_len));
    }
    assert_eq!(recs.len(), 4);
}
