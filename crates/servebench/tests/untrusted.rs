//! Untrusted input end to end: a crafted results directory (paths leaving it, links, secrets in
//! commands, logs and URLs) ingested by the binary and served by its dashboard and static export
//! leaks no file and no secret.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

/// The secrets planted in the crafted directory; none may appear in anything servebench writes.
const SECRETS: &[&str] = &[
    "hf_PLANTEDplantedPLANTEDplanted",
    "sk-planted-api-key-0123456789",
    "s3cr3t-db-password",
    "hunter2-in-env",
    "bearer-planted-token",
    "log-planted-key",
];

/// A file outside the results directory that must never be served: its first line.
const OUTSIDE: &str = "OUTSIDE-THE-RESULTS-DIRECTORY";

fn point(server_log: &str, conc: u32) -> Value {
    json!({
        "config_key": "k",
        "job": {"image": "vllm/vllm-openai:v0.10.2", "model": "gpt-oss-120b", "precision": "fp4",
                "framework": "vllm", "runner": "h200", "spec-decoding": "none", "tp": 8, "pp": 1,
                "dcp-size": 1, "pcp-size": 1, "ep": 1, "dp-attn": false, "isl": 1024, "osl": 1024,
                "conc": conc, "disagg": false, "recipe-fingerprint": "ff"},
        "concurrency": conc,
        "server_command": "HF_TOKEN=hf_PLANTEDplantedPLANTEDplanted PGPASSWORD=hunter2-in-env \
            vllm serve openai/gpt-oss-120b --api-key sk-planted-api-key-0123456789 \
            --kv-transfer-url http://bench:s3cr3t-db-password@10.0.0.1:5000/ \
            --max-num-batched-tokens 8192",
        "server_log": server_log,
        "result": {"tput_per_gpu": 1000.0 + conc as f64, "median_intvty": 80.0, "num_gpus": 8,
                   "completed": 40, "failed": 0, "date": "20261205-120000",
                   "config": {"seed": 0, "base_url": "http://u:s3cr3t-db-password@127.0.0.1:1/",
                              "headers": {"Authorization": "Bearer bearer-planted-token"}},
                   "provenance": {"servebench_version": "0.1.0", "host": "h"}}
    })
}

/// A results directory whose points name logs outside it in every way a path can.
fn crafted(root: &Path) -> std::path::PathBuf {
    let out = root.join("results");
    std::fs::create_dir_all(out.join("points/k")).unwrap();
    std::fs::create_dir_all(out.join("logs/k")).unwrap();
    std::fs::write(root.join("secret.txt"), format!("{OUTSIDE}\nroot:x:0:0\n")).unwrap();
    std::os::unix::fs::symlink(root.join("secret.txt"), out.join("logs/k/link.log")).unwrap();
    std::fs::write(
        out.join("logs/k/ok.log"),
        "INFO ready\nnon-default args: {'api_key': 'log-planted-key', 'max_num_seqs': 256}\nINFO done\n",
    )
    .unwrap();
    let traversal = "../".repeat(12) + &root.join("secret.txt").display().to_string()[1..];
    for (i, log) in [
        traversal.as_str(),
        &root.join("secret.txt").display().to_string(),
        "logs/k/link.log",
        "logs/../../secret.txt",
        "logs/k/ok.log",
    ]
    .iter()
    .enumerate()
    {
        let p = point(log, 1 << i);
        std::fs::write(
            out.join(format!("points/k/p{i}.json")),
            serde_json::to_vec(&p).unwrap(),
        )
        .unwrap();
    }
    // A point file that is a link to a JSON file elsewhere is not read at all.
    std::fs::write(
        root.join("elsewhere.json"),
        serde_json::to_vec(&point("logs/k/ok.log", 999)).unwrap(),
    )
    .unwrap();
    std::os::unix::fs::symlink(root.join("elsewhere.json"), out.join("points/k/zz.json")).unwrap();
    out
}

fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for s in SECRETS.iter().chain([&OUTSIDE, &"root:x:0:0"]) {
        assert!(!text.contains(s), "{what} leaks '{s}'");
    }
}

#[test]
fn a_crafted_results_directory_leaks_no_file_and_no_secret() {
    let d = tempfile::tempdir().unwrap();
    let results = crafted(d.path());
    let db = d.path().join("s.db");
    let store = format!("sqlite:{}", db.display());
    let o = Command::new(BIN)
        .args(["ingest", "--store", &store, results.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_clean("ingest's output", &[o.stdout, o.stderr].concat());
    // Every byte of the database and its write-ahead log.
    for f in std::fs::read_dir(d.path()).unwrap() {
        let p = f.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("s.db") {
            assert_clean(&p.display().to_string(), &std::fs::read(&p).unwrap());
        }
    }

    // The dashboard's API: every point page.
    let mut server = Guard(
        Command::new(BIN)
            .args(["dashboard", "--store", &store, "--bind", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufReader::new(server.0.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    let view: Value =
        serde_json::from_str(&http_get(&url, "/api/v1/views/gpt-oss-120b_1024x1024.json")).unwrap();
    // The view's points come as columns: their ids name their pages.
    let ids = view["points"]["id"].as_array().unwrap();
    assert_eq!(ids.len(), 5, "the linked point file is not ingested");
    let mut logs = Vec::new();
    for id in ids {
        let body = http_get(&url, &format!("/api/v1/points/{id}.json"));
        assert_clean("a point page", body.as_bytes());
        let v: Value = serde_json::from_str(&body).unwrap();
        let cmd = v["provenance"]["server_command"].as_str().unwrap();
        assert!(
            cmd.contains("--api-key '***'")
                && cmd.contains("HF_TOKEN='***'")
                && cmd.contains("http://bench:***@10.0.0.1:5000/")
                && cmd.contains("--max-num-batched-tokens 8192"),
            "{cmd}"
        );
        logs.push((v["conc"].as_u64().unwrap(), v["server_log"].clone()));
    }
    logs.sort_by_key(|l| l.0);
    // Only the log inside the directory is kept, its secret masked.
    for (conc, log) in &logs[..4] {
        assert_eq!(log, &Value::Null, "c={conc}");
    }
    let kept = logs[4].1.as_str().unwrap();
    assert!(
        kept.contains("'api_key': '***'") && kept.contains("'max_num_seqs': 256"),
        "{kept}"
    );

    // The static export.
    let site = d.path().join("site");
    let o = Command::new(BIN)
        .args([
            "export-site",
            "--store",
            &store,
            "--out",
            site.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let files = servebench_store::import::json_files(&site).unwrap();
    assert!(files.len() > 5);
    for f in files {
        assert_clean(&f.display().to_string(), &std::fs::read(&f).unwrap());
    }
}

#[test]
fn help_never_shows_a_store_password_from_the_environment() {
    for cmd in [
        "report",
        "ingest",
        "dashboard",
        "export-site",
        "quickstart",
        "migrate",
    ] {
        let o = Command::new(BIN)
            .args([cmd, "--help"])
            .env(
                "SERVEBENCH_STORE",
                "postgres://u:s3cr3t-db-password@127.0.0.1:1/db",
            )
            .output()
            .unwrap();
        assert!(o.status.success(), "{cmd}");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("SERVEBENCH_STORE"), "{cmd}: {out}");
        assert_clean(&format!("{cmd} --help"), &o.stdout);
    }
}

#[test]
fn the_api_key_is_sent_to_model_discovery_and_never_kept() {
    let key = "sk-planted-api-key-0123456789";
    let sim = Sim::start(&[
        "--profile",
        "fixed",
        "--ttft-ms",
        "1",
        "--itl-ms",
        "1",
        "--api-key",
        key,
    ]);
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("r.json");
    let run = |with_key: bool| {
        let mut c = Command::new(BIN);
        c.args([
            "bench",
            "--base-url",
            &sim.url,
            "--isl",
            "8",
            "--osl",
            "2",
            "--num-prompts",
            "3",
        ])
        .arg("--out")
        .arg(&out)
        .env_remove("OPENAI_API_KEY");
        if with_key {
            c.env("OPENAI_API_KEY", key);
        }
        c.output().unwrap()
    };
    // Without --model the server's /v1/models names it: asked with the key.
    let o = run(true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = std::fs::read(&out).unwrap();
    let v: Value = serde_json::from_slice(&r).unwrap();
    assert_eq!(v["completed"].as_u64(), Some(3));
    assert_eq!(v["model_id"], "servebench-sim", "{v}");
    assert_clean("the result", &r);
    let o = run(false);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("HTTP 401") && err.contains("--api-key-env"),
        "{err}"
    );
}

#[test]
fn a_sweep_keeps_its_recipes_secrets_out_of_its_files_and_the_store() {
    let d = tempfile::tempdir().unwrap();
    let key = "sk-planted-api-key-0123456789";
    let recipe = sim_recipe(
        &format!("--profile, fixed, --ttft-ms, \"1\", --itl-ms, \"1\", --api-key, {key}"),
        64,
        4,
        "{tp: 1, conc-list: [1]}",
    )
    .replace(
        "  health-timeout: 30\n",
        "  health-timeout: 30\n  env: {HF_TOKEN: hf_PLANTEDplantedPLANTEDplanted, VLLM_X: \"1\"}\n",
    );
    let path = d.path().join("r.yaml");
    std::fs::write(&path, recipe).unwrap();
    let out = d.path().join("results");
    let o = Command::new(BIN)
        .args(["sweep", "--no-progress", "--config-files"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .env("OPENAI_API_KEY", key)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert_clean("the sweep's output", &o.stderr);
    let files = servebench_store::import::json_files(&out.join("points")).unwrap();
    assert_eq!(files.len(), 1, "{err}");
    let point: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let cmd = point["server_command"].as_str().unwrap();
    assert!(
        cmd.starts_with("HF_TOKEN='***' VLLM_X=1 ") && cmd.contains("--api-key '***'"),
        "{cmd}"
    );
    for f in servebench_store::import::json_files(&out).unwrap() {
        assert_clean(&f.display().to_string(), &std::fs::read(&f).unwrap());
    }
    let store = format!("sqlite:{}", d.path().join("s.db").display());
    let o = Command::new(BIN)
        .args(["ingest", "--store", &store])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in std::fs::read_dir(d.path()).unwrap() {
        let p = f.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("s.db") {
            assert_clean(&p.display().to_string(), &std::fs::read(&p).unwrap());
        }
    }
}
