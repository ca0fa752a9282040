//! HTTPS and IPv6 end to end: `sim --tls` (a self-signed certificate written for the client to
//! trust) measured by `bench --ca-cert` against the server's own record; an untrusted
//! certificate refused with the fix named; `--insecure`; `eval` over HTTPS; an IPv6 literal.

mod common;

use common::*;
use std::process::Command;

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("bench")
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap()
}

#[test]
fn bench_measures_an_https_server_as_its_record_says() {
    let d = tempfile::tempdir().unwrap();
    let cert = d.path().join("cert.pem");
    let record = d.path().join("truth.jsonl");
    let sim = Sim::start(&[
        "--profile",
        "fixed",
        "--ttft-ms",
        "30",
        "--itl-ms",
        "8",
        "--tls",
        "--tls-cert-out",
        cert.to_str().unwrap(),
        "--record",
        record.to_str().unwrap(),
    ]);
    assert!(sim.url.starts_with("https://127.0.0.1:"), "{}", sim.url);
    let out = d.path().join("r.json");
    let reqs = d.path().join("r.jsonl");
    let o = bench(&[
        "--base-url",
        &sim.url,
        "--ca-cert",
        cert.to_str().unwrap(),
        "--isl",
        "64",
        "--osl",
        "20",
        "--range-ratio",
        "1",
        "--concurrency",
        "4",
        "--num-prompts",
        "24",
        "--out",
        out.to_str().unwrap(),
        "--requests-out",
        reqs.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out);
    assert_eq!(
        (r["completed"].as_u64(), r["failed"].as_u64()),
        (Some(24), Some(0))
    );
    assert_eq!(r["total_output_tokens"].as_u64(), Some(24 * 20));
    // TPOT as the server paced it (8 ms a token), within a millisecond over TLS.
    let tpot = r["mean_tpot_ms"].as_f64().unwrap();
    assert!((tpot - 8.0).abs() < 1.0, "mean TPOT {tpot} ms");
    // TTFT as the server paced it (30 ms from its read of the request), plus the handshake-free
    // overhead of a kept-alive TLS connection: well under 5 ms.
    let ttft = r["mean_ttft_ms"].as_f64().unwrap();
    assert!((30.0..35.0).contains(&ttft), "mean TTFT {ttft} ms");
    assert!(sim.stop().success());
    // The server's record: every request (8 warmups and 24 measured) answered in full.
    let truth = jsonl(&record);
    assert_eq!(truth.len(), 32);
    assert!(truth
        .iter()
        .all(|t| t["completion_tokens"] == 20 && t["chunks_ns"].as_array().unwrap().len() == 20));

    // The same server's certificate is not trusted without --ca-cert; --insecure accepts it.
    let sim = Sim::start(&[
        "--profile",
        "fixed",
        "--ttft-ms",
        "1",
        "--itl-ms",
        "1",
        "--tls",
    ]);
    let o = bench(&["--base-url", &sim.url, "--isl", "8", "--osl", "2"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("UnknownIssuer") && err.contains("--ca-cert") && err.contains("--insecure"),
        "{err}"
    );
    let o = bench(&[
        "--base-url",
        &sim.url,
        "--insecure",
        "--isl",
        "8",
        "--osl",
        "2",
        "--num-prompts",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read_json(&out)["completed"].as_u64(), Some(3));
}

#[test]
fn eval_asks_an_https_server() {
    let d = tempfile::tempdir().unwrap();
    let cert = d.path().join("cert.pem");
    let sim = answering_sim(
        "gsm8k",
        &["--tls", "--tls-cert-out", cert.to_str().unwrap()],
    );
    let out = d.path().join("e.json");
    let o = Command::new(BIN)
        .args(["eval", "--base-url", &sim.url, "--ca-cert"])
        .arg(&cert)
        .args(["--task", "gsm8k", "--data"])
        .arg(eval_fixtures().join("gsm8k.jsonl"))
        .arg("--fewshot-data")
        .arg(eval_fixtures().join("gsm8k-train.jsonl"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let r = read_json(&out);
    assert_eq!(
        r["n_failed"].as_u64(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        r["n"].as_u64().unwrap() > 0 && r["base_url"].as_str().unwrap().starts_with("https://")
    );
}

#[test]
fn an_ipv6_literal_base_url_works() {
    let sim = Sim::start(&[
        "--host",
        "::1",
        "--profile",
        "fixed",
        "--ttft-ms",
        "1",
        "--itl-ms",
        "1",
    ]);
    assert!(sim.url.starts_with("http://[::1]:"), "{}", sim.url);
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("r.json");
    let o = bench(&[
        "--base-url",
        &sim.url,
        "--isl",
        "8",
        "--osl",
        "4",
        "--num-prompts",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out);
    assert_eq!(r["completed"].as_u64(), Some(5));
    assert!(r["config"]["base_url"]
        .as_str()
        .unwrap()
        .starts_with("http://[::1]:"));
}
