//! A disaggregated deployment of separate `servebench sim` processes — a router in front of
//! prefill and decode workers — driven by `bench` over loopback HTTP, checked against each
//! worker's own record of what it served.

mod common;

use common::{http_get, read_json, Sim, BIN};
use serde_json::Value;
use std::process::Command;

fn worker(role: &str, tp: &str, record: &std::path::Path) -> Sim {
    let mut args = common::LLAMA_FP8_H200.to_vec();
    args.extend(["--time-scale", "4", "--tokenizer", "cl100k_base"]);
    args.extend([
        "--role",
        role,
        "--tp",
        tp,
        "--record",
        record.to_str().unwrap(),
    ]);
    Sim::start(&args)
}

fn records(p: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn bench_drives_a_router_in_front_of_prefill_and_decode_processes() {
    let dir = tempfile::tempdir().unwrap();
    let rec = |n: &str| dir.path().join(format!("{n}.jsonl"));
    let p0 = worker("prefill", "2", &rec("p0"));
    let p1 = worker("prefill", "2", &rec("p1"));
    let d0 = worker("decode", "4", &rec("d0"));
    let router = Sim::start(&[
        "--role",
        "router",
        "--prefill",
        &p0.url,
        "--prefill",
        &p1.url,
        "--decode",
        &d0.url,
        "--tokenizer",
        "cl100k_base",
    ]);
    let out = dir.path().join("r.json");
    let o = Command::new(BIN)
        .args(["bench", "--no-progress", "--base-url", &router.url])
        .args(["--isl", "1024", "--osl", "32", "--concurrency", "8"])
        .args(["--num-gpus", "8", "--tokenizer", "cl100k_base"])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out);
    assert_eq!(r["completed"], 80);
    assert_eq!(r["failed"], 0);
    // The router's own count of what it sent where: both prefill workers were used.
    let stats: Value = serde_json::from_str(&http_get(&router.url, "/sim/stats")).unwrap();
    let sent = |pool: &str, i: usize| stats["engine"][pool][i]["sent"].as_u64().unwrap();
    assert_eq!(sent("prefill", 0) + sent("prefill", 1), 96, "{stats}");
    assert!(sent("prefill", 0) > 0 && sent("prefill", 1) > 0, "{stats}");
    assert_eq!(sent("decode", 0), 96);
    for p in [p0, p1, d0, router] {
        assert!(p.stop().success());
    }
    // Each worker's record: a one-token prefill of every prompt the client sent, and the
    // decode worker the whole answer of every request, prompts alike.
    let (mut pre, dec) = (records(&rec("p0")), records(&rec("d0")));
    pre.extend(records(&rec("p1")));
    assert_eq!(pre.len(), 96);
    assert!(pre.iter().all(|x| x["completion_tokens"] == 1));
    assert_eq!(dec.len(), 96);
    let sorted = |v: &[Value], k: &str| -> Vec<u64> {
        let mut p: Vec<u64> = v.iter().map(|x| x[k].as_u64().unwrap()).collect();
        p.sort();
        p
    };
    assert_eq!(sorted(&pre, "prompt_tokens"), sorted(&dec, "prompt_tokens"));
    // The measured 80 are among the 96 requests served.
    let answered: u64 = sorted(&dec, "completion_tokens").iter().sum();
    let measured = r["total_output_tokens"].as_u64().unwrap();
    assert!(
        answered > measured && measured > 0,
        "{answered} vs {measured}"
    );
    let prompts: u64 = sorted(&dec, "prompt_tokens").iter().sum();
    assert!(prompts > r["total_input_tokens"].as_u64().unwrap());
}

/// The roles say what they lack.
#[test]
fn roles_name_what_they_need() {
    let run = |args: &[&str]| {
        let o = Command::new(BIN).arg("sim").args(args).output().unwrap();
        assert!(!o.status.success(), "{args:?}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(run(&["--role", "router"]).contains("at least one --prefill URL"));
    assert!(run(&["--role", "decode"]).contains("a worker is the simulated engine"));
    assert!(run(&["--prefill", "http://127.0.0.1:1"]).contains("workers of --role router"));
    let e = run(&[
        "--role",
        "router",
        "--prefill",
        "http://user:hunter2@127.0.0.1:1",
    ]);
    assert!(e.contains("--prefill") && !e.contains("hunter2"), "{e}");
    let mut args = common::LLAMA_FP8_H200.to_vec();
    args.extend(["--role", "router", "--prefill", "http://127.0.0.1:1"]);
    assert!(run(&args).contains("simulates no GPUs"));
}
