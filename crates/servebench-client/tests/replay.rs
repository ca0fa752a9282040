//! Trace replay against `servebench sim` over loopback HTTP: the order, the lengths and the
//! pauses the server recorded are checked against the hand-written trace.

use servebench_client::bench::ReplayOptions;
use servebench_client::request_log::RequestLog;
use servebench_client::runner::Progress;
use servebench_client::{Bench, BenchOptions};
use servebench_core::BenchResult;
use servebench_dataset::trace::Format;
use servebench_dataset::DatasetKind;
use servebench_sim::{FixedTiming, ServerRecord, SimConfig};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Session A: three main turns; a subagent forked after the first (offset 0.5 s, capped to
/// 0.1 s). Session B: two turns 3 s apart (capped to 0.1 s). Blocks of 4 tokens.
const A: &str = r#"{"id":"A","block_size":4,"turns":[{"t":0,"in":10,"out":3,"hash_ids":[1,2,3]},{"t":1,"in":14,"out":2,"hash_ids":[1,2,3,4],"think":0.05},{"t":2,"in":20,"out":2,"hash_ids":[1,2,3,4,5],"think":0.02}],"subagents":[{"id":"s","after":0,"turns":[{"t":0.5,"in":6,"out":2,"hash_ids":[1,9]},{"t":0.6,"in":11,"out":2,"hash_ids":[1,9,10],"think":0.01}]}]}"#;
const B: &str = r#"{"id":"B","block_size":4,"turns":[{"t":0,"in":8,"out":2,"hash_ids":[1,2]},{"t":3,"in":12,"out":2,"hash_ids":[1,2,7]}]}"#;

const CAP: Duration = Duration::from_millis(100);

fn opts(trace: &Path, lanes: usize, start: (f64, f64)) -> BenchOptions {
    BenchOptions {
        model: "servebench-sim".into(),
        dataset: DatasetKind::Trace,
        dataset_path: Some(trace.to_path_buf()),
        concurrency: vec![lanes],
        tokenizer: Some("cl100k_base".into()),
        tokenize_probe: 0,
        request_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(10),
        replay: ReplayOptions {
            format: Format::Sessions,
            start_ratio: start,
            warmups_per_lane: 1,
            pause_cap: CAP,
            session_headers: vec!["X-Session-ID".into()],
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A replayed point as its user sees it: the result, and the request log (`--requests-out`),
/// whole and as its measured requests' lines in index order.
struct Replay {
    result: BenchResult,
    log: String,
    lines: Vec<Line>,
}

#[derive(serde::Deserialize)]
struct Line {
    warmup: bool,
    send_ms: Option<f64>,
    ttft_ms: Option<f64>,
    server_cached_tokens: Option<u32>,
    session: Option<Session>,
}

#[derive(serde::Deserialize, Clone, Copy)]
struct Session {
    play: u32,
    blocks: u32,
    hit_blocks: u32,
}

/// Replays `lines` once (or for `duration`) against a fresh server; returns the outcome and
/// the server's records in arrival order.
fn replay(
    lines: &[&str],
    lanes: usize,
    start: (f64, f64),
    duration: Option<Duration>,
) -> (Replay, Vec<ServerRecord>) {
    replay_with(lines, lanes, start, duration, |_, _| {}, |_| {}).unwrap()
}

/// [`replay`], with the server's and the client's settings adjusted first, and the server
/// (its base URL) looked at after the run.
fn replay_with(
    lines: &[&str],
    lanes: usize,
    start: (f64, f64),
    duration: Option<Duration>,
    adjust: impl FnOnce(&mut SimConfig, &mut BenchOptions),
    inspect: impl FnOnce(&str),
) -> Result<(Replay, Vec<ServerRecord>), String> {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.jsonl");
    std::fs::write(&trace, lines.join("\n") + "\n").unwrap();
    let record = dir.path().join("record.jsonl");
    let mut config = SimConfig {
        timing: FixedTiming {
            ttft: Duration::from_millis(5),
            itl: Duration::from_millis(1),
            tokens_per_chunk: 1,
        },
        record: Some(record.clone()),
        counter: Some(Arc::new(
            servebench_tokenizer::Tokenizer::builtin("cl100k_base").unwrap(),
        )),
        ..Default::default()
    };
    let mut o = opts(&trace, lanes, start);
    o.duration = duration;
    adjust(&mut config, &mut o);
    let sim = servebench_sim::spawn(config).unwrap();
    o.base_url = sim.base_url().parse().unwrap();
    let bench = Bench::prepare(o).unwrap();
    let t = match bench.trace() {
        Ok(t) => t,
        Err(e) => {
            sim.shutdown();
            return Err(e.to_string());
        }
    };
    let written = Lines::default();
    let log: RequestLog = Arc::new(std::sync::Mutex::new(written.clone()));
    let out = bench.run_replay(lanes, &t, Arc::new(Progress::default()), Some(log));
    inspect(&sim.base_url());
    sim.shutdown();
    let mut recs = servebench_sim::read_records(&record).unwrap();
    recs.sort_by_key(|r| r.arrival_ns);
    let log = String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
    let mut indexed: Vec<(u32, Line)> = log
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["index"].as_u64().unwrap() as u32,
                serde_json::from_value(v).unwrap(),
            )
        })
        .filter(|(_, l): &(u32, Line)| !l.warmup)
        .collect();
    indexed.sort_by_key(|(i, _)| *i);
    let lines = indexed.into_iter().map(|(_, l)| l).collect();
    let result = out.result;
    Ok((Replay { result, log, lines }, recs))
}

fn measured(recs: &[ServerRecord]) -> Vec<&ServerRecord> {
    recs.iter()
        .filter(|r| r.request_id.as_deref().unwrap().contains("-m"))
        .collect()
}

fn gap_ms(before: &ServerRecord, after: &ServerRecord) -> f64 {
    (after.arrival_ns as f64 - (before.arrival_ns + before.end_ns) as f64) / 1e6
}

#[test]
fn one_lane_plays_turns_and_subagents_in_order_with_their_pauses() {
    let (out, recs) = replay(&[A, B], 1, (0.0, 0.0), None);
    let m = measured(&recs);
    // A.0, its subagent's two turns, A.1 (after the join), A.2, then B.0, B.1.
    let prompts: Vec<u32> = m.iter().map(|r| r.prompt_tokens).collect();
    assert_eq!(
        prompts,
        [10, 6, 11, 14, 20, 8, 12],
        "the trace's `in`, by the server's count"
    );
    let outputs: Vec<u32> = m.iter().map(|r| r.completion_tokens).collect();
    assert_eq!(outputs, [3, 2, 2, 2, 2, 2, 2]);
    // The one filler warmup went first and is not measured.
    assert_eq!(recs.len(), 8);
    // The fixed-timing server serves no /metrics.
    assert_eq!(out.result.agentic.as_ref().unwrap().server_metrics, None);
    assert!(recs[0].request_id.as_deref().unwrap().contains("-w0"));
    assert_eq!((recs[0].prompt_tokens, recs[0].completion_tokens), (16, 1));
    // Pauses, from the previous turn's end as the server saw it: the subagent's 0.5 s offset
    // and B's 3 s gap are capped at 0.1 s; recorded think times are honoured.
    let cap = CAP.as_secs_f64() * 1e3;
    let floors = [
        (0, 1, cap),
        (1, 2, 10.0),
        (2, 3, 50.0),
        (3, 4, 20.0),
        (5, 6, cap),
    ];
    for (a, b, floor) in floors {
        let g = gap_ms(m[a], m[b]);
        assert!(
            g >= floor,
            "turn {b} came {g:.1} ms after turn {a} ended, not ≥ {floor}"
        );
    }
    for (a, b) in [(0, 1), (5, 6)] {
        let g = gap_ms(m[a], m[b]);
        assert!(g < 450.0, "the cap held: {g:.1} ms");
    }
    let r = &out.result;
    assert_eq!((r.completed, r.failed), (7, 0));
    let a = r.agentic.as_ref().unwrap();
    assert_eq!((a.sessions_started, a.sessions_completed), (2, 2));
    assert_eq!(a.subagent_requests, 2);
    // Hits by hand: A 0/3, 1/2, 2/3, 3/4, 4/5; B 0/2, 2/3 (its own ids, not A's): 12/22.
    assert!((a.theoretical_cache_hit_rate - 12.0 / 22.0).abs() < 1e-12);
    assert!((a.trace_theoretical_cache_hit_rate - 12.0 / 22.0).abs() < 1e-12);
    assert_eq!((a.trace_sessions, a.trace_turns), (2, 7));
    let hits: Vec<(u32, u32)> = out
        .lines
        .iter()
        .map(|l| (l.session.unwrap().hit_blocks, l.session.unwrap().blocks))
        .collect();
    assert_eq!(
        hits,
        [(0, 3), (1, 2), (2, 3), (3, 4), (4, 5), (0, 2), (2, 3)]
    );
}

#[test]
fn a_lane_starting_mid_session_primes_the_history_first() {
    // Start at floor(0.5 × 3) = turn 1: turn 0 goes once as a one-token warmup, the subagent
    // forked before the start is not replayed, and its blocks count as sent.
    let (out, recs) = replay(&[A], 1, (0.5, 0.5), None);
    let warm: Vec<(u32, u32)> = recs
        .iter()
        .filter(|r| r.request_id.as_deref().unwrap().contains("-w"))
        .map(|r| (r.prompt_tokens, r.completion_tokens))
        .collect();
    assert_eq!(warm, [(10, 1), (16, 1)]);
    let m: Vec<u32> = measured(&recs).iter().map(|r| r.prompt_tokens).collect();
    assert_eq!(m, [14, 20]);
    let a = out.result.agentic.unwrap();
    assert!((a.theoretical_cache_hit_rate - 7.0 / 9.0).abs() < 1e-12);
    assert_eq!(a.subagent_requests, 0);
}

#[test]
fn without_a_duration_each_session_is_played_once_whatever_the_lanes() {
    // Three sessions, two lanes: the lane that finishes first takes the third, and the lane
    // that finds the trace ended must not start it over.
    let (out, recs) = replay(&[B, A, B], 2, (0.0, 0.0), None);
    let mut prompts: Vec<u32> = measured(&recs).iter().map(|r| r.prompt_tokens).collect();
    prompts.sort();
    // B twice (8, 12), A once (10, 14, 20 and its subagent's 6, 11).
    assert_eq!(prompts, [6, 8, 8, 10, 11, 12, 12, 14, 20]);
    let a = out.result.agentic.unwrap();
    assert_eq!((a.sessions_started, a.sessions_completed), (3, 3));
}

/// A `Write` the test reads back after the run.
#[derive(Clone, Default)]
struct Lines(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn request_lines_are_streamed_and_the_result_pools_their_gaps() {
    let (out, recs) = replay(&[A, B], 1, (0.0, 0.0), None);
    let parsed: Vec<serde_json::Value> = out
        .log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // A line per request the server saw, the filler warmup included.
    assert_eq!(parsed.len(), recs.len());
    let by_id: HashMap<String, &ServerRecord> = recs
        .iter()
        .map(|r| (r.request_id.clone().unwrap(), r))
        .collect();
    let mut pooled = Vec::new();
    for l in &parsed {
        let id = format!(
            "-{}{}",
            if l["warmup"].as_bool().unwrap() {
                'w'
            } else {
                'm'
            },
            l["index"]
        );
        let server = by_id.iter().find(|(k, _)| k.ends_with(&id)).unwrap().1;
        // Each line carries the gaps between the tokens the server sent, one chunk each.
        let gaps = l["itl_ms"].as_array().unwrap();
        assert_eq!(gaps.len() as u32, server.completion_tokens - 1, "{l}");
        if !l["warmup"].as_bool().unwrap() {
            pooled.extend(gaps.iter().map(|g| g.as_f64().unwrap()));
        }
    }
    // Measured: 3 + 6 × 2 output tokens over 7 requests, so 8 gaps.
    assert_eq!(pooled.len(), 8);
    // The result's ITL is the lines' pooled gaps, though no record was kept.
    let itl = &out.result.itl;
    let mean = pooled.iter().sum::<f64>() / pooled.len() as f64;
    pooled.sort_by(f64::total_cmp);
    let median = (pooled[3] + pooled[4]) / 2.0;
    assert!((itl.mean - mean).abs() < 1e-9, "{} vs {mean}", itl.mean);
    // A replay sketches its gaps: the median within half a bucket.
    let tol = median * servebench_core::stats::SKETCH_RELATIVE_ERROR;
    assert!(
        (itl.median - median).abs() <= tol,
        "{} vs {median}",
        itl.median
    );
}

#[test]
fn lanes_hold_one_session_each_and_wrap_the_trace_until_the_duration() {
    let dur = Duration::from_millis(1500);
    let (out, recs) = replay(&[A, B], 2, (0.0, 0.0), Some(dur));
    let client: HashMap<u32, u32> = out
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i as u32, l.session.unwrap().play))
        .collect();
    // Each play's span on the server: at most two at once (subagents ride inside theirs).
    let mut spans: HashMap<u32, (u64, u64)> = HashMap::new();
    for r in measured(&recs) {
        let i: u32 = r
            .request_id
            .as_deref()
            .unwrap()
            .rsplit_once("-m")
            .unwrap()
            .1
            .parse()
            .unwrap();
        let play = client[&i];
        let e = spans.entry(play).or_insert((u64::MAX, 0));
        e.0 = e.0.min(r.arrival_ns);
        e.1 = e.1.max(r.arrival_ns + r.end_ns);
    }
    let mut ev: Vec<(u64, i32)> = spans
        .values()
        .flat_map(|&(a, b)| [(a, 1), (b, -1)])
        .collect();
    ev.sort();
    let most = ev.iter().scan(0, |n, (_, d)| {
        *n += d;
        Some(*n)
    });
    assert_eq!(most.max(), Some(2));
    let a = out.result.agentic.as_ref().unwrap();
    // Two sessions in the file, more played: the trace wrapped around.
    assert!(a.sessions_started > 2, "{a:?}");
    assert_eq!(spans.len() as u64, a.sessions_started);
    // Nothing was sent after the window closed.
    let stop = dur.as_secs_f64() * 1e3;
    for l in &out.lines {
        let sent = l.send_ms.unwrap();
        assert!(sent < stop, "sent {:.1} ms late", sent - stop);
    }
}

#[test]
fn a_bad_trace_line_is_named_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("bad.jsonl");
    let bad = B.replace("[1,2,7]", "[1,\"x\",7]");
    std::fs::write(&trace, format!("{A}\n{bad}\n")).unwrap();
    let record = dir.path().join("record.jsonl");
    let sim = servebench_sim::spawn(SimConfig {
        record: Some(record.clone()),
        ..Default::default()
    })
    .unwrap();
    let o = BenchOptions {
        base_url: sim.base_url().parse().unwrap(),
        ..opts(&trace, 1, (0.0, 0.0))
    };
    let e = Bench::prepare(o)
        .unwrap()
        .trace()
        .err()
        .unwrap()
        .to_string();
    sim.shutdown();
    assert!(servebench_sim::read_records(&record).unwrap().is_empty());
    assert!(
        e.contains("bad.jsonl:2") && e.contains("turns[1].hash_ids[1]"),
        "{e}"
    );
}

#[test]
fn turns_past_the_servers_context_are_refused_or_left_out() {
    // A's last turn is 20 + 2 tokens; the server serves 20.
    let e = replay_with(
        &[A],
        1,
        (0.0, 0.0),
        None,
        |sim, _| sim.max_model_len = 20,
        |_| {},
    )
    .err()
    .unwrap();
    assert!(
        e.contains("up to 22 tokens") && e.contains("--trace-max-context 20"),
        "{e}"
    );
    let (out, recs) = replay_with(
        &[A],
        1,
        (0.0, 0.0),
        None,
        |sim, o| {
            sim.max_model_len = 20;
            o.replay.max_context = Some(20);
        },
        |_| {},
    )
    .unwrap();
    let m: Vec<u32> = measured(&recs).iter().map(|r| r.prompt_tokens).collect();
    assert_eq!(m, [10, 6, 11, 14]);
    let a = out.result.agentic.unwrap();
    assert_eq!((a.skipped_over_context, a.max_context), (1, Some(20)));
    assert_eq!(out.result.failed, 0);
}

/// One session of three turns extending each other, 64-token blocks: 4,096, 6,144 and 8,192
/// prompt tokens.
const LONG: &str = r#"{"id":"L","block_size":64,"turns":[{"t":0,"in":4096,"out":4,"hash_ids":[BLOCKS64]},{"t":1,"in":6144,"out":4,"hash_ids":[BLOCKS96]},{"t":2,"in":8192,"out":4,"hash_ids":[BLOCKS128]}]}"#;

fn long_session() -> String {
    let ids = |n: u64| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    LONG.replace("BLOCKS64", &ids(64))
        .replace("BLOCKS96", &ids(96))
        .replace("BLOCKS128", &ids(128))
}

/// GET `path` from a loopback server; the body.
fn get(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut r = String::new();
    s.read_to_string(&mut r).unwrap();
    r.split_once("\r\n\r\n").unwrap().1.to_string()
}

/// A counter's value in Prometheus text.
fn counter(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap()
}

/// The simulated engine serving Llama-3.3-70B FP8 on 8 H200s in real time.
fn llama_engine(prefix_caching: bool) -> Arc<dyn servebench_sim::Engine> {
    let c = servebench_catalog::Catalog::builtin().unwrap();
    let dep = servebench_sim::perf::Deployment::from_catalog(
        &c,
        "h200",
        "llama-3.3-70b",
        "vllm",
        servebench_catalog::Precision::Fp8,
        8,
    )
    .unwrap();
    let perf = servebench_sim::perf::PerfModel::new(dep).unwrap();
    let mut engine = servebench_sim::RealtimeEngine::start(perf, 1.0).unwrap();
    engine.set_prefix_caching(prefix_caching);
    Arc::new(engine)
}

/// The long session, once, against the simulated Llama engine with or without its prefix
/// cache, over `api`; `inspect` sees the server after the run.
fn replay_long(
    caching: bool,
    api: servebench_core::Api,
    inspect: impl FnOnce(&str),
) -> (Replay, Vec<ServerRecord>) {
    let line = long_session();
    let engine = llama_engine(caching);
    replay_with(
        &[line.as_str()],
        1,
        (0.0, 0.0),
        None,
        |sim, o| {
            sim.engine = Some(engine);
            sim.max_model_len = 131_072;
            o.api = api;
            o.replay.warmups_per_lane = 0;
            o.replay.server_metrics_every = Duration::from_millis(1);
        },
        inspect,
    )
    .unwrap()
}

#[test]
fn the_simulated_engine_caches_prefixes_as_the_trace_predicts() {
    let run = |caching: bool| {
        let mut metrics = String::new();
        let (out, _) = replay_long(caching, servebench_core::Api::Completions, |base| {
            metrics = get(base, "/metrics")
        });
        (out, metrics)
    };
    let (on, m) = run(true);
    let cached = cached_tokens(&on);
    // Each turn finds the last one's prompt cached: its 64 and 96 blocks of 64 tokens.
    assert_eq!(cached, [Some(0), Some(4096), Some(6144)]);
    let a = on.result.agentic.as_ref().unwrap();
    assert_eq!(a.server_cache_hit_rate, a.theoretical_hit_rate_same_turns);
    assert!((a.server_cache_hit_rate.unwrap() - 10_240.0 / 18_432.0).abs() < 1e-12);
    // The engine's own counters, in vLLM's names, over HTTP.
    assert_eq!(counter(&m, "vllm:prefix_cache_queries_total"), 18_432.0);
    assert_eq!(counter(&m, "vllm:prefix_cache_hits_total"), 10_240.0);
    // The replay scraped them at the window's ends, and the KV usage gauge through it: the
    // last prompt's 8,192 + 4 tokens fit in the GPU cache, which an idle engine still holds.
    let w = a.server_metrics.as_ref().unwrap();
    assert_eq!(w.cache_hit_rate, Some(10_240.0 / 18_432.0));
    assert_eq!(w.gpu_cache_hit_rate, Some(10_240.0 / 18_432.0));
    let gpu = w.gpu_kv_usage.unwrap();
    assert!(
        gpu.max > 0.0 && gpu.max <= 1.0 && gpu.mean <= gpu.max,
        "{gpu:?}"
    );
    assert_eq!(w.cpu_kv_usage, None, "no offload, no CPU tier");
    assert!(w.samples >= 2);
    // The gauge over the window: one entry per scrape, in time order, whose mean and maximum
    // are the window's.
    assert_eq!(w.timeline.len() as u64, w.samples);
    assert_eq!(w.timeline[0].t_s, 0.0);
    assert!(w.timeline.windows(2).all(|p| p[0].t_s <= p[1].t_s));
    let g: Vec<f64> = w.timeline.iter().filter_map(|s| s.gpu_kv_usage).collect();
    assert_eq!(g.iter().copied().fold(0.0, f64::max), gpu.max);
    assert!((g.iter().sum::<f64>() / g.len() as f64 - gpu.mean).abs() < 1e-12);
    assert!(w.timeline.iter().all(|s| s.cpu_kv_usage.is_none()));
    // Without the cache every prompt is computed whole: the last turn's first token, 8,192
    // prompt tokens instead of 2,048, comes much later.
    let (off, _) = run(false);
    assert!(off.lines.iter().all(|l| l.server_cached_tokens.is_none()));
    let ttft = |o: &Replay| o.lines[2].ttft_ms.unwrap();
    assert!(
        ttft(&on) < 0.6 * ttft(&off),
        "last turn's TTFT {} ms cached, {} ms not",
        ttft(&on),
        ttft(&off)
    );
}

#[test]
fn chat_replays_the_message_history_and_the_engine_caches_it_as_the_text() {
    let (out, recs) = replay_long(true, servebench_core::Api::Chat, |_| {});
    // Every message's content counted: the trace's prompt lengths exactly.
    let prompts: Vec<u32> = measured(&recs).iter().map(|r| r.prompt_tokens).collect();
    assert_eq!(prompts, [4096, 6144, 8192]);
    // Turn 2 is user 0..4096, the assistant's 4 tokens, user 4100..6144, the assistant's 4,
    // user 6148..8192: its history is turn 1's messages, so the engine (hashing a role marker
    // before each message) finds turn 1's 6,147 ids cached in 384 full blocks of 16, as it
    // found turn 0's 4,097 in 256.
    assert_eq!(cached_tokens(&out), [Some(0), Some(4096), Some(6144)]);
}

/// The prompt tokens the server said it took from its cache, request by request.
fn cached_tokens(o: &Replay) -> Vec<Option<u32>> {
    o.lines.iter().map(|l| l.server_cached_tokens).collect()
}
