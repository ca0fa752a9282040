//! The simulated engine in real time behind the HTTP front end: its timing, its power counter
//! and what happens when a client goes away.

mod common;

use common::Client;
use serde_json::{json, Value};
use servebench_catalog::{Catalog, Precision};
use servebench_sim::perf::{Deployment, PerfModel};
use servebench_sim::scheduler::SchedulerLimits;
use servebench_sim::virtual_time::simulate_lengths;
use servebench_sim::{spawn, PowerReading, RealtimeEngine, SimConfig, SimHandle};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn perf() -> PerfModel {
    let c = Catalog::builtin().unwrap();
    let dep =
        Deployment::from_catalog(&c, "h100", "llama-3.3-70b", "vllm", Precision::Fp8, 4).unwrap();
    PerfModel::new(dep).unwrap()
}

fn sim(scale: f64) -> SimHandle {
    let engine = RealtimeEngine::start(perf(), scale).unwrap();
    spawn(SimConfig {
        engine: Some(Arc::new(engine)),
        ..Default::default()
    })
    .unwrap()
}

fn get(addr: SocketAddr, path: &str) -> Value {
    let mut c = Client::connect(addr);
    c.send("GET", path, &[], b"");
    let r = c.read_response().unwrap();
    assert_eq!(r.head.status, 200, "{path}");
    r.json()
}

fn power(addr: SocketAddr) -> PowerReading {
    serde_json::from_value(get(addr, "/sim/power")).unwrap()
}

/// The engine's state from `/sim/stats` once `cond` holds (polled over one keep-alive
/// connection; the engine thread acts on its own schedule, so there is nothing to wait on).
fn engine_once(addr: SocketAddr, cond: impl Fn(&Value) -> bool) -> Value {
    let mut poll = Client::connect(addr);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        poll.send("GET", "/sim/stats", &[], b"");
        let e = poll.read_response().unwrap().json()["engine"].clone();
        if cond(&e) {
            return e;
        }
        assert!(Instant::now() < deadline, "the engine never got there: {e}");
        std::thread::yield_now();
    }
}

/// A prompt of `n` tokens for the default whitespace counter.
fn prompt(n: usize) -> String {
    vec!["tok"; n].join(" ")
}

#[test]
fn one_request_takes_the_modelled_time_and_energy() {
    let scale = 2.0;
    let s = sim(scale);
    let p = perf();
    let idle = p.idle_power_w();
    let tdp = p.dep.accelerator.tdp_w.value;
    let before = power(s.addr());
    assert_eq!(before.gpus.len(), 4, "one reading per GPU of the TP group");
    assert!(before.gpus.iter().all(|g| g.power_w == idle));

    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/completions",
        &json!({"prompt": prompt(2000), "max_tokens": 200, "ignore_eos": true, "stream": true}),
        &[],
    );
    let sent = Instant::now();
    let head = c.read_head().unwrap();
    assert_eq!(head.status, 200);
    // Sample power while the response streams: the GPUs draw more than idle, at most TDP.
    let mut peak: f64 = 0.0;
    let mut last_energy = before.gpus[0].energy_j;
    let mut chunks = 0;
    while let Some(ch) = c.next_chunk().unwrap() {
        if ch.is_empty() {
            break;
        }
        chunks += 1;
        if chunks % 20 == 0 {
            let r = power(s.addr());
            assert!(
                r.gpus[0].energy_j >= last_energy,
                "the counter never runs back"
            );
            last_energy = r.gpus[0].energy_j;
            peak = peak.max(r.gpus[0].power_w);
        }
    }
    let e2e_sim = sent.elapsed().as_secs_f64() * scale;
    let after = power(s.addr());
    assert!(peak > idle && peak <= tdp, "peak {peak} W, idle {idle} W");

    // The same request in virtual time: its duration, and its energy above idle.
    let v = simulate_lengths(&p, SchedulerLimits::from_perf(&p), 1, &[], &[(2000, 200)]);
    let d = v.duration_s();
    assert!(
        // (The server may have read the request a moment before `sent` was taken.)
        e2e_sim > d * 0.99 && e2e_sim < d * 1.15,
        "end to end {e2e_sim:.3} s of simulated time, modelled {d:.3} s"
    );
    let span = after.sim_time_s - before.sim_time_s;
    let measured = after.gpus[0].energy_j - before.gpus[0].energy_j - idle * span;
    let modelled = v.energy_per_gpu_j - idle * d;
    assert!(
        (measured / modelled - 1.0).abs() < 0.01,
        "energy above idle: counter {measured:.2} J, modelled {modelled:.2} J"
    );
    // The engine retires a finished request when its thread next looks at the batch, which
    // may come just after the client has read the last chunk: wait for that, with a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let stats = loop {
        let stats = get(s.addr(), "/sim/stats");
        if stats["engine"]["running"] == 0 || std::time::Instant::now() > deadline {
            break stats;
        }
        std::thread::yield_now();
    };
    assert_eq!(stats["engine"]["running"], 0);
    assert_eq!(stats["engine"]["steps"], v.stats.steps);
}

#[test]
fn a_client_that_goes_away_frees_its_slot() {
    let s = sim(20.0);
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/completions",
        &json!({"prompt": prompt(100), "max_tokens": 100000, "ignore_eos": true, "stream": true}),
        &[],
    );
    assert_eq!(c.read_head().unwrap().status, 200);
    assert!(c.next_chunk().unwrap().is_some());
    assert_eq!(get(s.addr(), "/sim/stats")["engine"]["running"], 1);
    drop(c);
    // The server notices when a write fails; the engine then aborts the request.
    let e = engine_once(s.addr(), |e| e["aborted"] == 1);
    assert_eq!((&e["running"], &e["waiting"]), (&json!(0), &json!(0)));
    assert_eq!(s.shutdown().aborted, 1);
}

#[test]
fn the_fixed_profile_has_no_power() {
    let s = spawn(SimConfig::default()).unwrap();
    let mut c = Client::connect(s.addr());
    c.send("GET", "/sim/power", &[], b"");
    let r = c.read_response().unwrap();
    assert_eq!(r.head.status, 404);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--gpu"));
}

#[test]
fn a_mid_stream_fault_ends_the_response_and_frees_the_engine() {
    let s = sim(20.0);
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/completions",
        &json!({"prompt": prompt(64), "max_tokens": 40, "ignore_eos": true, "stream": true}),
        &[("x-sim-fault", "error_mid_stream")],
    );
    let r = c.read_response().unwrap();
    assert_eq!(r.head.status, 200);
    let events = r.events();
    let content: Vec<Value> = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter(|v| v.get("choices").is_some())
        .collect();
    // Half the tokens (one per step), then the error event, and no [DONE].
    assert_eq!(content.len(), 20);
    assert!(events.last().unwrap().contains("error"), "{events:?}");
    assert!(!events.iter().any(|e| e == "[DONE]"));
    let e = engine_once(s.addr(), |e| e["aborted"] == 1);
    assert_eq!(e["running"], 0);
}

/// Disaggregated serving by hand, as the router does it: a prefill worker answers with the
/// size of the prompt's cache, and a decode worker sends the first token once that cache has
/// crossed its KV link, then decodes the rest.
#[test]
fn a_decode_worker_sends_the_first_token_when_the_cache_has_crossed_the_link() {
    let prefill = sim(1.0);
    let link = servebench_sim::disagg::KvLink {
        bytes_per_s: 1e9,
        latency_s: 0.01,
    };
    let decode = spawn(SimConfig {
        engine: Some(Arc::new(
            RealtimeEngine::start_decode(perf(), 1.0, link).unwrap(),
        )),
        ..Default::default()
    })
    .unwrap();
    let mut c = Client::connect(prefill.addr());
    c.post(
        "/v1/completions",
        &json!({"prompt": prompt(2000), "max_tokens": 1, "stream": false,
                "kv_transfer_params": {"do_remote_decode": true}}),
        &[],
    );
    let r = c.read_response().unwrap();
    assert_eq!(r.head.status, 200);
    let params = r.json()["kv_transfer_params"].clone();
    // Llama-3.3-70B's FP8 cache: 80 layers × 8 KV heads × 128 × (K, V) = 160 KiB per token,
    // split over the 4 GPUs of the worker.
    assert_eq!(params["kv_bytes_per_gpu"], 2000 * 163_840 / 4);
    assert_eq!(params["do_remote_prefill"], true);

    let mut d = Client::connect(decode.addr());
    d.post(
        "/v1/completions",
        &json!({"prompt": prompt(2000), "max_tokens": 5, "stream": true, "ignore_eos": true,
                "kv_transfer_params": params}),
        &[],
    );
    let sent = Instant::now();
    assert_eq!(d.read_head().unwrap().status, 200);
    let mut at = Vec::new();
    while let Some(ch) = d.next_chunk().unwrap() {
        if ch.is_empty() {
            break;
        }
        if common::event_data(&ch).contains("\"text\"") {
            at.push(sent.elapsed().as_secs_f64());
        }
    }
    let transfer = 0.01 + (2000.0 * 163_840.0 / 4.0) / 1e9;
    assert_eq!(at.len(), 5, "one chunk per token");
    assert!(
        at[0] > transfer * 0.99 && at[0] < transfer + 0.02,
        "first token after {:.4} s, the transfer takes {transfer:.4} s",
        at[0]
    );
    // The other four are decode steps of a prompt already cached: no prefill among them.
    let p = perf();
    let mut b = servebench_sim::perf::StepBatch::default();
    p.add_decode(&mut b, 2001, 1);
    let step = p.step(&b).total_s;
    let decoding = at[4] - at[0];
    assert!(
        decoding > 4.0 * step * 0.95 && decoding < 4.0 * step + 0.02,
        "4 decode steps took {decoding:.4} s, modelled {:.4} s",
        4.0 * step
    );
}

/// A worker asked for a part it cannot play says why, with 400.
#[test]
fn a_worker_refuses_a_handoff_it_cannot_serve() {
    let prefill = sim(1.0);
    let fixed = spawn(SimConfig::default()).unwrap();
    let cases = [
        (
            prefill.addr(),
            json!({"do_remote_prefill": true, "kv_bytes_per_gpu": 10}),
            false,
            "not a decode worker",
        ),
        (
            prefill.addr(),
            json!({"do_remote_decode": true}),
            true,
            "needs \"stream\": false",
        ),
        (
            prefill.addr(),
            json!({"do_remote_prefill": true}),
            false,
            "kv_bytes_per_gpu",
        ),
        (
            prefill.addr(),
            json!({"do_remote_decode": "yes"}),
            false,
            "must be true or false",
        ),
        (
            fixed.addr(),
            json!({"do_remote_decode": true}),
            false,
            "no KV cache",
        ),
    ];
    for (addr, params, stream, why) in cases {
        let mut c = Client::connect(addr);
        c.post(
            "/v1/completions",
            &json!({"prompt": "a b c", "max_tokens": 3, "stream": stream,
                    "kv_transfer_params": params}),
            &[],
        );
        let r = c.read_response().unwrap();
        assert_eq!(r.head.status, 400, "{params}");
        let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains(why), "{params}: {msg}");
    }
}

/// A router whose prefill worker is gone ends each response as an engine failure (500, not a
/// hang) and counts the failure against that worker.
#[test]
fn a_router_in_front_of_a_dead_worker_fails_the_request_and_says_where() {
    // A loopback port nothing listens on (bound, then released).
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let decode = sim(1.0);
    let url = |a: SocketAddr| format!("http://{a}").parse().unwrap();
    let router =
        servebench_sim::Router::new(&[url(gone)], &[url(decode.addr())], Duration::from_secs(5))
            .unwrap();
    let front = spawn(SimConfig {
        engine: Some(Arc::new(router)),
        ..Default::default()
    })
    .unwrap();
    let mut c = Client::connect(front.addr());
    c.post(
        "/v1/completions",
        &json!({"prompt": prompt(100), "max_tokens": 4, "stream": false}),
        &[],
    );
    let r = c.read_response().unwrap();
    assert_eq!(r.head.status, 500);
    let stats = get(front.addr(), "/sim/stats");
    assert_eq!(stats["engine"]["prefill"][0]["failed"], 1, "{stats}");
    assert_eq!(stats["engine"]["decode"][0]["sent"], 0, "{stats}");
}
