//! servebench against a real engine: llama.cpp's llama-server (built by scripts/llama-up.sh
//! from the PyPI llama-cpp-python sdist) serving SmolLM2-135M, with the HuggingFace tokenizer
//! taken from the model's own GGUF. `bench` on both APIs, checked against what the server says
//! it did; and a sweep over llamacpp recipes, stored and reported.
//!
//! Needs `SERVEBENCH_TEST_LLAMA_SERVER`, `SERVEBENCH_TEST_GGUF`, `SERVEBENCH_TEST_TINY_GGUF` and
//! `SERVEBENCH_TEST_GGUF_TOKENIZER` (the test command sets them); CI requires them.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// llama-server with `slots` slots on a free loopback port, once healthy.
fn start(l: &Llama, gguf: &str, slots: u32, log: &Path) -> (Guard, String) {
    let port = free_port();
    let child = Command::new(&l.server)
        .args([
            "-m",
            gguf,
            "--alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
        ])
        .arg(port.to_string())
        .args(["-np", &slots.to_string(), "-c", &(slots * 2048).to_string()])
        .args(["-t", "1", "--metrics", "--no-ui"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut s = Guard(child);
    let addr = format!("127.0.0.1:{port}");
    wait_healthy(&mut s.0, &addr, log);
    (s, addr)
}

#[test]
fn bench_against_llama_server_on_both_apis_agrees_with_the_server() {
    let Some(l) = llama() else { return };
    let d = tempfile::tempdir().unwrap();
    let (_server, addr) = start(&l, &l.gguf, 4, &d.path().join("llama.log"));
    let (_, before) = get(&addr, "/metrics").unwrap();
    let mut measured = 0;
    let mut generated = 0.0;
    for api in ["completions", "chat"] {
        let out = d.path().join(format!("{api}.json"));
        let req = d.path().join(format!("{api}.jsonl"));
        let o = Command::new(BIN)
            .args([
                "bench",
                "--base-url",
                &format!("http://{addr}"),
                "--model",
                "smollm2",
            ])
            .args(["--tokenizer", &l.tokenizer, "--api", api])
            .args(["--isl", "128", "--osl", "32", "--concurrency", "1,4"])
            .args(["--num-prompts", "8", "--warmups", "1", "--no-progress"])
            .arg("--out")
            .arg(&out)
            .arg("--requests-out")
            .arg(&req)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{api}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let result: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        for p in result.as_array().unwrap() {
            assert_eq!(
                (p["completed"].as_u64(), p["failed"].as_u64()),
                (Some(8), Some(0)),
                "{api}"
            );
        }
        let records = jsonl(&req);
        generated += records
            .iter()
            .map(|r| r["usage_completion_tokens"].as_f64().unwrap())
            .sum::<f64>();
        let mut template = std::collections::BTreeSet::new();
        for r in records.iter().filter(|r| r["warmup"] == false) {
            assert_eq!(r["ok"], true, "{r}");
            // Output tokens: what the server counted, and with ignore_eos exactly what was asked.
            assert_eq!(r["output_tokens"], r["usage_completion_tokens"], "{r}");
            assert_eq!(r["usage_completion_tokens"], r["max_tokens"], "{r}");
            // The prompt: the model's own tokenizer (from its GGUF) counts exactly what the
            // server counts; chat adds its template's tokens, the same number each time.
            let (sent, seen) = (
                r["input_len"].as_f64().unwrap(),
                r["usage_prompt_tokens"].as_f64().unwrap(),
            );
            if api == "completions" {
                assert!(seen == sent, "prompt {sent} sent, {seen} counted: {r}");
            } else {
                template.insert((seen - sent) as i64);
            }
            // Timing: the first token cannot come before the server finished the prompt, and
            // the client sees it soon after (measured: 4 to 103 ms later, the most at c4); the
            // client's decode span and the server's generation time agree.
            let ttft = r["ttft_ms"].as_f64().unwrap();
            let prompt_ms = r["server_prompt_ms"]
                .as_f64()
                .expect("llama.cpp reports timings");
            let predicted_ms = r["server_predicted_ms"].as_f64().unwrap();
            assert!(
                ttft >= prompt_ms,
                "TTFT {ttft} ms < the server's prompt time {prompt_ms} ms"
            );
            assert!(
                ttft - prompt_ms < 250.0,
                "TTFT {ttft} ms vs prompt {prompt_ms} ms: {r}"
            );
            let span = r["last_token_ms"].as_f64().unwrap() - r["first_token_ms"].as_f64().unwrap();
            // Measured here: within 5 ms of each other; 50 ms leaves room for a loaded machine.
            assert!(
                (span - predicted_ms).abs() <= 50.0,
                "decode span {span} ms vs the server's generation {predicted_ms} ms: {r}"
            );
            measured += 1;
        }
        if api == "chat" {
            assert_eq!(
                template.len(),
                1,
                "the chat template adds a fixed number of tokens: {template:?}"
            );
        }
    }
    assert_eq!(measured, 2 * 2 * 8);
    // The server's own counters saw every request.
    let (_, after) = get(&addr, "/metrics").unwrap();
    let counter = |text: &str, name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let predicted = counter(&after, "llamacpp:tokens_predicted_total")
        - counter(&before, "llamacpp:tokens_predicted_total");
    assert_eq!(
        predicted, generated,
        "every token the client counted, warmups included"
    );
}

/// A llamacpp recipe with `SLOTS` slots (three concurrencies).
const RECIPE: &str = "
tiny-llamacpp-npSLOTS:
  image: none
  model: TINY
  model-prefix: tiny
  precision: q8
  framework: llamacpp
  runner: cpu
  multinode: false
  llamacpp: {slots: SLOTS, threads: 1}
  health-timeout: 120
  scenarios:
    fixed-seq-len:
    - isl: 64
      osl: 32
      search-space:
      - {tp: 1, conc-start: 1, conc-end: 4}
";

#[test]
fn a_sweep_over_llamacpp_recipes_is_stored_and_reported() {
    let Some(l) = llama() else { return };
    let d = tempfile::tempdir().unwrap();
    let recipe = d.path().join("llamacpp.yaml");
    // Two slot counts, three concurrencies each.
    let recipes: String = [1, 4]
        .map(|n| RECIPE.replace("SLOTS", &n.to_string()))
        .concat();
    std::fs::write(&recipe, recipes.replace("TINY", &l.tiny)).unwrap();
    let out: PathBuf = d.path().join("results");
    let o = Command::new(BIN)
        .args([
            "sweep",
            "--no-progress",
            "--engines",
            "real",
            "--config-files",
        ])
        .arg(&recipe)
        .arg("--out")
        .arg(&out)
        .args(["--tokenizer", &l.tokenizer])
        .env("LLAMA_SERVER", &l.server)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("6 points: 6 measured"), "{err}");
    let db = format!("sqlite:{}", d.path().join("s.db").display());
    let o = Command::new(BIN)
        .args(["ingest", "--store", &db, "--run", "cpu-1"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(BIN)
        .args(["report", "frontier", "--store", &db, "--model", &l.tiny])
        .args([
            "--isl", "64", "--osl", "32", "--tier", "1", "--format", "json", "--group", "config",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let configs: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["config"].as_str().unwrap()).collect();
    assert_eq!(
        configs.into_iter().collect::<Vec<_>>(),
        ["cpu llamacpp q8 tp1-np1", "cpu llamacpp q8 tp1-np4"],
        "one frontier per slot count"
    );
    // Every stored point carries the server's counters around it.
    let mut points = 0;
    for f in std::fs::read_dir(out.join("points"))
        .unwrap()
        .flat_map(|e| std::fs::read_dir(e.unwrap().path()).unwrap())
    {
        let p: Value = serde_json::from_slice(&std::fs::read(f.unwrap().path()).unwrap()).unwrap();
        let delta = &p["server_metrics"]["delta"];
        let predicted = delta["llamacpp:tokens_predicted_total"].as_f64().unwrap();
        // The measured requests' tokens, plus the warmups' (each 25 to 32 tokens: lengths
        // are drawn from [0.8 × OSL, OSL]).
        let measured = p["result"]["total_output_tokens"].as_f64().unwrap();
        let warmups = p["result"]["warmups"].as_f64().unwrap();
        let extra = predicted - measured;
        assert!(
            extra >= warmups * 25.0 && extra <= warmups * 32.0,
            "{predicted} predicted, {measured} measured, {warmups} warmups"
        );
        points += 1;
    }
    assert_eq!(points, 6);
    // With one slot, four clients queue behind each other: their first tokens come later than
    // with four slots.
    let ttft = |slots: u32| -> f64 {
        let key = format!("np{slots}");
        std::fs::read_dir(out.join("points"))
            .unwrap()
            .flat_map(|e| std::fs::read_dir(e.unwrap().path()).unwrap())
            .map(|f| {
                serde_json::from_slice::<Value>(&std::fs::read(f.unwrap().path()).unwrap()).unwrap()
            })
            .find(|p| p["config_key"].as_str().unwrap().ends_with(&key) && p["concurrency"] == 4)
            .unwrap()["result"]["median_ttft_ms"]
            .as_f64()
            .unwrap()
    };
    assert!(
        ttft(1) > 2.0 * ttft(4),
        "TTFT at c4: {} ms with 1 slot, {} ms with 4",
        ttft(1),
        ttft(4)
    );
}

/// A trace of two sessions, blocks of 64 tokens: A's turns extend each other (4, 7, 10
/// blocks); B's reuse A's block ids, which in another session name other text.
const TRACE: &str = concat!(
    r#"{"id":"A","block_size":64,"turns":[{"t":0,"in":256,"out":8,"hash_ids":[1,2,3,4]},{"t":1,"in":448,"out":8,"hash_ids":[1,2,3,4,5,6,7]},{"t":2,"in":640,"out":8,"hash_ids":[1,2,3,4,5,6,7,8,9,10]}]}"#,
    "\n",
    r#"{"id":"B","block_size":64,"turns":[{"t":0,"in":192,"out":8,"hash_ids":[1,2,3]},{"t":1,"in":320,"out":8,"hash_ids":[1,2,3,4,5]}]}"#,
    "\n"
);

#[test]
fn a_replayed_trace_hits_llama_servers_prompt_cache_as_the_trace_predicts() {
    let Some(l) = llama() else { return };
    let d = tempfile::tempdir().unwrap();
    // One slot: it keeps the last prompt, and the next one reuses their common prefix.
    let (_server, addr) = start(&l, &l.gguf, 1, &d.path().join("llama.log"));
    let trace = d.path().join("trace.jsonl");
    std::fs::write(&trace, TRACE).unwrap();
    let (out, req) = (d.path().join("r.json"), d.path().join("r.jsonl"));
    let o = Command::new(BIN)
        .args(["bench", "--base-url", &format!("http://{addr}")])
        .args(["--model", "smollm2", "--tokenizer", &l.tokenizer])
        .args(["--dataset", "trace", "--trace-format", "sessions"])
        .arg("--dataset-path")
        .arg(&trace)
        .args(["--concurrency", "1", "--trace-start-ratio", "0,0"])
        .args([
            "--warmups-per-lane",
            "0",
            "--pause-cap",
            "0",
            "--no-progress",
        ])
        .arg("--out")
        .arg(&out)
        .arg("--requests-out")
        .arg(&req)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<Value> = std::fs::read_to_string(&req)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // (server's cached tokens, prompt tokens) per turn, in order.
    let seen: Vec<(u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["server_cached_tokens"].as_u64().unwrap(),
                r["usage_prompt_tokens"].as_u64().unwrap(),
            )
        })
        .collect();
    // The trace's prompts, by the server's own count, are its `in`.
    let prompts: Vec<u64> = seen.iter().map(|s| s.1).collect();
    assert_eq!(prompts, [256, 448, 640, 192, 320]);
    // Hand-computed hits of an unbounded cache: A 0, 4, 7 blocks; B 0, 3 (its own text).
    let theory = [0, 256, 448, 0, 192];
    let cached: Vec<u64> = seen.iter().map(|s| s.0).collect();
    assert_eq!(
        cached, theory,
        "llama-server's cache_n per turn against the trace"
    );
    let r: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let a = &r["agentic"];
    let (server, same) = (
        a["server_cache_hit_rate"].as_f64().unwrap(),
        a["theoretical_hit_rate_same_turns"].as_f64().unwrap(),
    );
    assert!((same - 896.0 / 1856.0).abs() < 1e-9, "{same}");
    assert!((server - same).abs() < 1e-9, "{server} vs {same}");
}
