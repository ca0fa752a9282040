//! Every command the README shows, run as written.
//!
//! The README's `sh` blocks are read here, each command made whole (continuation lines joined,
//! comments and a trailing `&` dropped). `COVERED` names, for each, the test that runs it, by
//! the start that tells it apart; `every_readme_command_is_run_by_a_test` fails when the README
//! shows a command no test runs. Where a command names what only its reader's machine has
//! (port 8000, `/tmp/servebench-llm-ci`, a partition called `gpu`, `../shared/data`,
//! InferenceX's `configs/`), the test maps that one word and says so; where a command runs for
//! long, the test adds flags that shorten it and says so; the rest is as written.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Each README command, by the start that tells it apart (the longest start that fits claims
/// a command), and the test that runs it.
const COVERED: &[(&str, &str)] = &[
    (
        "cargo run --release -p servebench -- quickstart",
        "readme_main_job_runs_as_written",
    ),
    (
        "bash scripts/test.sh",
        "readme_test_command_is_what_ci_runs",
    ),
    (
        "servebench bench --base-url http://127.0.0.1:8000",
        "readme_bench_against_your_server_and_the_simulated_engine",
    ),
    (
        "servebench sim --gpu h200",
        "readme_bench_against_your_server_and_the_simulated_engine",
    ),
    (
        "curl -s 127.0.0.1:8000/sim/",
        "readme_bench_against_your_server_and_the_simulated_engine",
    ),
    (
        "servebench bench --concurrency 4,16,64",
        "readme_bench_against_the_embedded_engine_runs_as_written_in_reduced_time",
    ),
    (
        "servebench bench --concurrency 4,16 --isl 1024 --osl 128 --power",
        "readme_power_of_the_embedded_engine",
    ),
    ("servebench eval", "readme_eval_against_your_server"),
    (
        "bash scripts/llama-up.sh",
        "readme_llama_cpp_on_this_machine",
    ),
    (
        "/tmp/servebench-llm-ci/build-avx2/bin/llama-server",
        "readme_llama_cpp_on_this_machine",
    ),
    (
        "servebench bench --base-url http://127.0.0.1:8081",
        "readme_llama_cpp_on_this_machine",
    ),
    (
        "servebench sweep --config-files recipes/inferencemax-v1.yaml --executor slurm",
        "readme_sweep_on_a_slurm_cluster",
    ),
    (
        "servebench sweep --config-files recipes/sim-master.yaml",
        "readme_results_commands",
    ),
    ("servebench ingest", "readme_results_commands"),
    ("servebench report", "readme_results_commands"),
    ("servebench dashboard", "readme_results_commands"),
    ("servebench export-site", "readme_results_commands"),
    ("servebench retract", "readme_results_commands"),
    ("servebench nightly", "readme_results_commands"),
    ("servebench simulate", "readme_results_commands"),
    ("servebench calibrate", "readme_results_commands"),
    (
        "servebench sim --profile fixed",
        "readme_test_server_with_faults",
    ),
    ("servebench plan", "readme_plan_on_inferencex_configs"),
    ("servebench selfbench", "readme_selfbench"),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The README's shell commands, whole, in order (repeats kept once).
fn readme_commands() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut cmds: Vec<String> = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        pending.push_str(line.strip_suffix('\\').unwrap_or(line));
        if line.ends_with('\\') {
            continue;
        }
        // A word starting with `#` starts a comment; a trailing `&` only backgrounds it.
        let line = std::mem::take(&mut pending);
        let words: Vec<&str> = line
            .split_whitespace()
            .take_while(|w| !w.starts_with('#'))
            .collect();
        let mut c = words.join(" ");
        if let Some(x) = c.strip_suffix(" &") {
            c = x.to_string();
        }
        if !c.is_empty() && !cmds.contains(&c) {
            cmds.push(c);
        }
    }
    assert!(!in_sh, "an sh block is not closed");
    cmds
}

/// The COVERED start that claims `cmd`: the longest that fits.
fn claim(cmd: &str) -> Option<&'static str> {
    COVERED
        .iter()
        .map(|c| c.0)
        .filter(|p| cmd.starts_with(p))
        .max_by_key(|p| p.len())
}

/// The README command `start`, else the one that starts with it, as words (`servebench`
/// dropped).
fn command(start: &str) -> Vec<String> {
    let all = readme_commands();
    let cmds: Vec<String> = match all.iter().find(|c| *c == start) {
        Some(c) => vec![c.clone()],
        None => all.into_iter().filter(|c| c.starts_with(start)).collect(),
    };
    assert_eq!(
        cmds.len(),
        1,
        "README commands starting `{start}`: {cmds:#?}"
    );
    let words: Vec<String> = cmds[0].split_whitespace().map(String::from).collect();
    assert!(
        words
            .iter()
            .all(|w| !w.contains(['\'', '"', '$', '|', ';'])),
        "a README command these tests split on spaces: {words:?}"
    );
    match words[0].as_str() {
        "servebench" => words[1..].to_vec(),
        _ => words,
    }
}

/// Replaces the word `from` with `to` (it must be there): a machine-specific word mapped.
fn map_word(words: &mut [String], from: &str, to: &str) {
    let mut hit = false;
    for w in words.iter_mut().filter(|w| *w == from) {
        *w = to.to_string();
        hit = true;
    }
    assert!(hit, "`{from}` is not in {words:?}");
}

/// Replaces `from` inside every word (it must be somewhere).
fn map_in(words: &mut [String], from: &str, to: &str) {
    assert!(
        words.iter().any(|w| w.contains(from)),
        "`{from}` is not in {words:?}"
    );
    for w in words.iter_mut() {
        *w = w.replace(from, to);
    }
}

/// `servebench ARGS` in `dir`; it must succeed. (stdout, stderr)
fn run_in(dir: &Path, args: &[String], env: &[(&str, &str)]) -> (String, String) {
    let o = output_in(dir, args, env);
    assert!(
        o.status.success(),
        "servebench {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn output_in(dir: &Path, args: &[String], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn every_readme_command_is_run_by_a_test() {
    let cmds = readme_commands();
    assert!(cmds.len() >= 20, "{cmds:#?}");
    let unclaimed: Vec<&String> = cmds.iter().filter(|c| claim(c).is_none()).collect();
    assert!(
        unclaimed.is_empty(),
        "README commands no test runs (add them to COVERED and run them): {unclaimed:#?}"
    );
    let source = include_str!("readme.rs");
    for (start, test) in COVERED {
        assert!(
            cmds.iter().any(|c| claim(c) == Some(*start)),
            "COVERED names `{start}`, which the README no longer shows"
        );
        assert!(
            source.contains(&format!("#[test]\nfn {test}()")),
            "COVERED names a test this file does not have: {test}"
        );
    }
}

#[test]
fn readme_test_command_is_what_ci_runs() {
    let test = command("bash scripts/test.sh");
    assert_eq!(test, ["bash", "scripts/test.sh"]);
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    assert!(
        ci.lines()
            .any(|l| l.trim() == "bash scripts/test.sh" || l.trim() == "exec bash scripts/test.sh"),
        ".ci/run must run the README's test command: {ci}"
    );
}

#[test]
fn readme_main_job_runs_as_written() {
    // Everything after `cargo run --release -p servebench --`, with the store and the
    // dashboard's address moved out of the way by the environment.
    let words = command("cargo run --release -p servebench -- quickstart");
    let args = &words[words.iter().position(|w| w == "--").unwrap() + 1..];
    assert_eq!(args, ["quickstart"]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("main.db");
    let mut child = Command::new(BIN)
        .args(args)
        .env("SERVEBENCH_STORE", format!("sqlite:{}", db.display()))
        .env("SERVEBENCH_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The summary, then the dashboard's address once it listens.
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let _guard = Guard(child);
    let mut summary = Vec::new();
    let url = loop {
        let l = lines.next().expect("the main job ended early").unwrap();
        if let Some(u) = l.strip_prefix("dashboard: ") {
            break u.split_whitespace().next().unwrap().to_string();
        }
        summary.push(l);
    };
    // Nine views (3 models × 3 workloads), each with the cheapest accelerator at 30, 100 and
    // 200 tok/s/user.
    let titles: Vec<&String> = summary
        .iter()
        .filter(|l| l.contains("Cheapest accelerator per million tokens"))
        .collect();
    assert_eq!(titles.len(), 9, "{summary:#?}");
    for m in ["llama-3.3-70b", "deepseek-r1-0528", "gpt-oss-120b"] {
        assert_eq!(titles.iter().filter(|t| t.starts_with(m)).count(), 3, "{m}");
    }
    let rows_at_100: Vec<&String> = summary
        .iter()
        .filter(|l| l.trim_start().starts_with("100 "))
        .collect();
    assert_eq!(rows_at_100.len(), 9);
    assert!(
        rows_at_100
            .iter()
            .all(|r| r.split_whitespace().nth(1) != Some("-")),
        "someone is cheapest at 100 tok/s/user everywhere: {rows_at_100:#?}"
    );
    // The dashboard serves the store just written.
    let index: Value = serde_json::from_str(&http_get(&url, "/api/v1/index.json")).unwrap();
    assert_eq!(index["views"].as_array().unwrap().len(), 9);
    let points: u64 = index["views"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["points"].as_u64().unwrap())
        .sum();
    // The recipes' concurrency ladders over the single-node points, and the 65 GB200 Dynamo
    // points InferenceMAX v1 published, each on its own deployment.
    assert_eq!(points, 1331 + 65, "the whole InferenceMAX v1 catalog");
    let mut store =
        servebench_store::Store::open_read_only(&format!("sqlite:{}", db.display())).unwrap();
    let view = |store: &mut servebench_store::Store, model: &str, isl: u32| {
        store
            .view(model, isl, 1024, None, servebench_store::Source::Own)
            .unwrap()
    };
    // InferenceMAX v1 never ran Llama on GB200, so neither does its catalog.
    let llama = view(&mut store, "llama-3.3-70b", 1024);
    assert!(llama.iter().all(|p| p.config.hardware != "gb200"));
    // DeepSeek-R1 on GB200 is disaggregated, as published: the dashboard data's 30 points at
    // 8k/1k (11 FP4, 10 FP4 with MTP, 9 FP8 on SGLang), their knobs fitted to the published
    // disaggregated points, so no kind of theirs goes uncalibrated.
    let r1 = view(&mut store, "deepseek-r1-0528", 8192);
    let gb200: Vec<_> = r1.iter().filter(|p| p.config.hardware == "gb200").collect();
    assert_eq!(gb200.len(), 11 + 10 + 9);
    for g in &gb200 {
        assert!(g.config.disagg, "{:?}", g.config);
        let p = store.point(g.id).unwrap().unwrap().point;
        let sim = &p.provenance["simulator"];
        assert_eq!(sim["knobs"]["kind"], "fitted", "{sim}");
        assert!(sim["expected_error"]["uncalibrated"].is_null(), "{sim}");
    }
}

#[test]
fn readme_bench_against_the_embedded_engine_runs_as_written_in_reduced_time() {
    // Added: a faster engine and fewer prompts, so the test is quick.
    let mut args = command("servebench bench --concurrency 4,16,64");
    args.extend(
        [
            // Fast, but slow enough that engine steps (~2 ms) dwarf a busy machine's wake-up
            // lag.
            "--sim-time-scale",
            "5",
            "--num-prompts",
            "16",
            "--warmups",
            "2",
            "--no-progress",
        ]
        .map(String::from),
    );
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), &args, &[]);
    let v = read_json(&dir.path().join("bench.json"));
    let points = v
        .as_array()
        .expect("several concurrency values give an array");
    assert_eq!(points.len(), 3);
    // The embedded default is the simulated engine: its model, its 8 GPUs, and more
    // throughput per GPU at higher concurrency. (With 16 prompts the high points run a single
    // round, whose decode has no prefills mixed in, so their interactivity is not comparable;
    // the interactivity trend is checked with full 10 × C rounds in the sweep tests.)
    let f = |i: usize, k: &str| points[i][k].as_f64().unwrap();
    assert_eq!(points[0]["model_id"], "meta-llama/Llama-3.3-70B-Instruct");
    assert_eq!(points[0]["num_gpus"], 8);
    assert!(
        f(2, "tput_per_gpu") > 1.5 * f(0, "tput_per_gpu"),
        "tok/s/GPU {} → {}",
        f(0, "tput_per_gpu"),
        f(2, "tput_per_gpu")
    );
}

/// A local HF hub cache in `dir` holding `tokenizer_json` under the id `id`, as
/// `huggingface-cli download` leaves it: the HF_HOME to point at.
fn hf_home_with(dir: &Path, id: &str, tokenizer_json: &Path) -> PathBuf {
    let home = dir.join("hf");
    let repo = home
        .join("hub")
        .join(format!("models--{}", id.replace('/', "--")));
    std::fs::create_dir_all(repo.join("snapshots/0123abcd")).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123abcd").unwrap();
    std::fs::copy(
        tokenizer_json,
        repo.join("snapshots/0123abcd/tokenizer.json"),
    )
    .unwrap();
    home
}

fn curl(args: &[String]) -> String {
    assert_eq!(args[0], "curl");
    let o = Command::new("curl").args(&args[1..]).output().unwrap();
    assert!(o.status.success(), "{args:?}");
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn readme_bench_against_your_server_and_the_simulated_engine() {
    // The README's own server is its `servebench sim` on port 8000: here on a free port
    // (mapped), 200× faster than real time (added). Meta's tokenizer is not on this machine:
    // a local HF cache holds SmolLM2's tokenizer.json under Meta's id (mapped), so the id
    // resolves offline as written.
    let Some(l) = llama() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut sim = command("servebench sim --gpu h200");
    map_word(&mut sim, "8000", "0");
    sim.extend(["--time-scale", "200"].map(String::from));
    let server = Sim::start_with(&strs(&sim), Some(dir.path()));
    let addr = server.url.trim_start_matches("http://").to_string();

    let mut bench = command("servebench bench --base-url http://127.0.0.1:8000");
    map_in(&mut bench, "127.0.0.1:8000", &addr);
    bench.push("--no-progress".into());
    let tok = Path::new(&l.tokenizer).join("tokenizer.json");
    let home = hf_home_with(dir.path(), "meta-llama/Llama-3.3-70B-Instruct", &tok);
    let o = Command::new(BIN)
        .args(&bench)
        .current_dir(dir.path())
        .env("HF_HOME", &home)
        .env_remove("HF_HUB_CACHE")
        .env_remove("HUGGINGFACE_HUB_CACHE")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let results = read_json(&dir.path().join("results.json"));
    let results = results.as_array().unwrap();
    let conc: Vec<u64> = results
        .iter()
        .map(|r| r["max_concurrency"].as_u64().unwrap())
        .collect();
    assert_eq!(conc, [4, 16, 64]);
    for r in results {
        let c = r["max_concurrency"].as_u64().unwrap();
        assert_eq!(r["completed"].as_u64(), Some(10 * c));
        assert_eq!(r["failed"], 0);
        assert_eq!(r["num_gpus"], 8);
        assert_eq!(r["model_id"], "meta-llama/Llama-3.3-70B-Instruct");
        let t = &r["provenance"]["tokenizer"];
        assert_eq!(t["name"], "meta-llama/Llama-3.3-70B-Instruct");
        assert!(t["source"]
            .as_str()
            .unwrap()
            .starts_with(home.to_str().unwrap()));
    }
    // One record per request, warmups (2 × C) included and marked.
    let reqs = jsonl(&dir.path().join("requests.jsonl"));
    assert_eq!(reqs.len(), 12 * (4 + 16 + 64));
    assert_eq!(
        reqs.iter().filter(|r| r["warmup"] == true).count(),
        2 * (4 + 16 + 64)
    );
    assert!(reqs.iter().all(|r| r["ok"] == true));

    // The server's own counters and simulated board power, read with curl as written.
    let mut stats = command("curl -s 127.0.0.1:8000/sim/stats");
    map_in(&mut stats, "127.0.0.1:8000", &addr);
    let stats: Value = serde_json::from_str(&curl(&stats)).unwrap();
    assert_eq!(stats["completed"].as_u64(), Some(reqs.len() as u64));
    assert_eq!(stats["engine"]["running"], 0);
    let mut power = command("curl -s 127.0.0.1:8000/sim/power.csv");
    map_in(&mut power, "127.0.0.1:8000", &addr);
    let csv = curl(&power);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "index, power.draw [W], total_energy_consumption [J]"
    );
    assert_eq!(
        lines.len(),
        9,
        "one line per GPU of the TP-8 deployment: {csv}"
    );
    for (i, l) in lines[1..].iter().enumerate() {
        let f: Vec<&str> = l.split(", ").collect();
        assert_eq!(f[0], i.to_string());
        let joules: f64 = f[2].trim_end_matches(" J").parse().unwrap();
        assert!(joules > 0.0, "{l}");
    }
}

#[test]
fn readme_llama_cpp_on_this_machine() {
    // The README's paths under /tmp/servebench-llm-ci are where the test command built them
    // ($LLM_CI_DIR, mapped), and port 8081 a free one (mapped).
    let Some(l) = llama() else { return };
    let llm_dir = l
        .server
        .strip_suffix("/build-avx2/bin/llama-server")
        .expect("llama-up.sh's layout")
        .to_string();
    let up = command("bash scripts/llama-up.sh");
    let o = Command::new(&up[0])
        .args(&up[1..])
        .current_dir(repo())
        .env("LLM_CI_DIR", &llm_dir)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(o.status.success());
    // Built already, it only names what it made: the paths the tests use.
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!(
            "SERVEBENCH_TEST_LLAMA_SERVER={}\nSERVEBENCH_TEST_GGUF={}\nSERVEBENCH_TEST_TINY_GGUF={}\nSERVEBENCH_TEST_GGUF_TOKENIZER={}\n",
            l.server, l.gguf, l.tiny, l.tokenizer
        )
    );

    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let mut server = command("/tmp/servebench-llm-ci/build-avx2/bin/llama-server");
    map_in(&mut server, "/tmp/servebench-llm-ci", &llm_dir);
    map_word(&mut server, "8081", &port);
    let log = dir.path().join("llama-server.log");
    let child = Command::new(&server[0])
        .args(&server[1..])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut server = Guard(child);
    let addr = format!("127.0.0.1:{port}");
    wait_healthy(&mut server.0, &addr, &log);

    let mut bench = command("servebench bench --base-url http://127.0.0.1:8081");
    map_in(&mut bench, "/tmp/servebench-llm-ci", &llm_dir);
    map_in(&mut bench, "127.0.0.1:8081", &addr);
    bench.push("--no-progress".into());
    run_in(dir.path(), &bench, &[]);
    let results = read_json(&dir.path().join("llama.json"));
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 2);
    for (r, c) in results.iter().zip([1u64, 4]) {
        assert_eq!(r["max_concurrency"].as_u64(), Some(c));
        assert_eq!(r["completed"].as_u64(), Some(10 * c));
        assert_eq!(r["failed"], 0);
        assert_eq!(r["model_id"], "smollm2");
    }
    // Every request: the tokens it asked for (InferenceX's rule: between 0.8 × and 1 × OSL),
    // as the server counted them.
    let reqs = jsonl(&dir.path().join("llama.jsonl"));
    assert_eq!(reqs.len(), 12 * (1 + 4));
    for r in &reqs {
        assert_eq!(r["ok"], true, "{r}");
        let asked = r["max_tokens"].as_u64().unwrap();
        assert!((25..=32).contains(&asked), "{r}");
        assert_eq!(r["usage_completion_tokens"].as_u64(), Some(asked), "{r}");
        assert_eq!(r["output_tokens"].as_u64(), Some(asked), "{r}");
    }
}

/// The SLURM cluster scripts/test.sh started; `None` (with a note) where services are not
/// required ([`require_service`]).
fn slurm_conf() -> Option<String> {
    require_service("SLURM", "SERVEBENCH_TEST_SLURM_CONF")
}

#[test]
fn readme_sweep_on_a_slurm_cluster() {
    // On the test command's real single-node SLURM cluster, whose partition is not called
    // `gpu` (mapped). The catalog's 1,439 jobs would take hours: a filter picks two (added).
    // First as written, with real engines: vLLM is not installed here, so both points fail
    // with that reason. Then on simulated engines 100× faster than real time (added), which
    // measures both points into the same results.
    let Some(conf) = slurm_conf() else { return };
    let partition = std::fs::read_to_string(&conf)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("PartitionName=")
                .map(|p| p.split(' ').next().unwrap().to_string())
        })
        .expect("a partition in slurm.conf");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("recipes")).unwrap();
    std::fs::copy(
        repo().join("recipes/inferencemax-v1.yaml"),
        dir.path().join("recipes/inferencemax-v1.yaml"),
    )
    .unwrap();
    let mut args =
        command("servebench sweep --config-files recipes/inferencemax-v1.yaml --executor slurm");
    map_word(&mut args, "gpu", &partition);
    args.extend(
        [
            "--config-keys",
            "gptoss-fp4-h200-vllm",
            "--seq-lens",
            "1k1k",
            "--conc",
            "4",
            "--max-tp",
            "2",
            "--no-progress",
            "--poll-interval",
            "0.2",
        ]
        .map(String::from),
    );
    let env = [("SLURM_CONF", conf.as_str())];
    let o = output_in(dir.path(), &args, &env);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("2 points: 0 measured, 0 already stored, 2 failed, 0 not run"),
        "{err}"
    );
    let results = dir.path().join("results");
    let failed: Vec<Value> = std::fs::read_dir(results.join("failed/gptoss-fp4-h200-vllm"))
        .unwrap()
        .map(|e| read_json(&e.unwrap().path()))
        .collect();
    assert_eq!(failed.len(), 2);
    for f in &failed {
        let reason = f["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("cannot start the server: 'vllm' is not installed here")
                && reason.contains("vllm serve openai/gpt-oss-120b"),
            "{reason}"
        );
    }

    args.extend(["--engines", "sim", "--sim-time-scale", "100"].map(String::from));
    let (_, err) = run_in(dir.path(), &args, &env);
    assert!(
        err.contains("2 points: 2 measured, 0 already stored, 0 failed, 0 not run"),
        "{err}"
    );
    let points: Vec<Value> = std::fs::read_dir(results.join("points/gptoss-fp4-h200-vllm"))
        .unwrap()
        .map(|e| read_json(&e.unwrap().path()))
        .collect();
    let mut tps: Vec<u64> = points
        .iter()
        .map(|p| p["job"]["tp"].as_u64().unwrap())
        .collect();
    tps.sort();
    assert_eq!(tps, [1, 2]);
    for p in &points {
        let cmd = p["server_command"].as_str().unwrap();
        assert!(
            cmd.contains(" sim ")
                && cmd.contains("--gpu h200")
                && cmd.ends_with("--engine vllm --time-scale 100"),
            "{cmd}"
        );
        assert_eq!(p["result"]["completed"], 40);
        assert_eq!(p["result"]["model_id"], "openai/gpt-oss-120b");
    }
    assert_eq!(
        std::fs::read_dir(results.join("failed/gptoss-fp4-h200-vllm"))
            .unwrap()
            .count(),
        0,
        "measured points are no longer failed"
    );
    // Two job arrays of two tasks, on the cluster's partition.
    let scripts: Vec<String> = std::fs::read_dir(results.join("slurm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sbatch"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(scripts.len(), 2);
    for s in &scripts {
        assert!(
            s.contains(&format!("#SBATCH --partition={partition}\n")),
            "{s}"
        );
        assert!(s.contains("#SBATCH --array=0-1\n"), "{s}");
    }
}

/// Published points in the `*_interactivity.json` files of `dir`.
fn published_points(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().ends_with("_interactivity.json"))
        .map(|p| read_json(&p)["data"].as_array().unwrap().len())
        .sum()
}

/// Reads the dashboard's address from its first line of output, then its index.
fn dashboard_index(args: &[String], dir: &Path) -> Value {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("SERVEBENCH_BIND", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let _guard = Guard(child);
    let url = std::io::BufRead::lines(std::io::BufReader::new(err))
        .map(|l| l.unwrap())
        .find_map(|l| l.strip_prefix("servebench dashboard: ").map(String::from))
        .expect("the dashboard's address");
    serde_json::from_str(&http_get(&url, "/api/v1/index.json")).unwrap()
}

#[test]
fn readme_results_commands() {
    // In a fresh directory holding the repository's recipes/, beside a ../shared/data holding
    // published InferenceMAX v1 files (those the tests keep: gpt-oss 1k/1k, DeepSeek-R1 8k/1k
    // and Llama-3.3-70B 1k/1k), so every command runs exactly as the README writes it.
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("work");
    let published = root
        .path()
        .join("shared/data/inferencemax-v1-dashboard-2025-10-25");
    std::fs::create_dir_all(dir.join("recipes")).unwrap();
    std::fs::create_dir_all(&published).unwrap();
    std::fs::copy(
        repo().join("recipes/sim-master.yaml"),
        dir.join("recipes/sim-master.yaml"),
    )
    .unwrap();
    for fixtures in [
        repo().join("crates/servebench-store/tests/fixtures/inferencemax-v1"),
        repo().join("crates/servebench/tests/fixtures/inferencemax-v1-llama-1k1k"),
    ] {
        for e in std::fs::read_dir(fixtures).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "json") {
                std::fs::copy(&p, published.join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    let n_published = published_points(&published);
    let run = |args: Vec<String>| run_in(&dir, &args, &[]);

    let (_, err) = run(command(
        "servebench sweep --config-files recipes/sim-master.yaml",
    ));
    assert!(err.contains("9 points: 9 measured"), "{err}");
    let (_, err) = run(command(
        "servebench ingest --store sqlite:servebench.db results",
    ));
    assert!(err.contains("9 points stored"), "{err}");
    // The recipe serves meta-llama/Llama-3.3-70B-Instruct; the store files it under the
    // catalog's id, which the README's report names.
    let (out, _) = run(command(
        "servebench report --store sqlite:servebench.db --model llama-3.3-70b --isl 1024 --osl 128",
    ));
    assert!(out.starts_with("llama-3.3-70b 1024/128"), "{out}");
    // TP2, TP4 and TP8 pool into one frontier, h200's hardware key: a row per target.
    assert_eq!(
        out.lines().filter(|l| l.starts_with("h200 ")).count(),
        3,
        "{out}"
    );
    let dashboard = command("servebench dashboard");
    let index = dashboard_index(&dashboard, &dir);
    assert_eq!(index["views"].as_array().unwrap().len(), 1);
    assert_eq!(index["views"][0]["points"], 9);

    let (out, _) = run(command("servebench simulate --gpu h200"));
    assert_eq!(
        out.lines()
            .filter(|l| l.trim_start().starts_with(char::is_numeric))
            .count(),
        4,
        "one row per concurrency: {out}"
    );
    let (out, _) = run(command("servebench calibrate --published"));
    // The GB200 Dynamo points run on their v1 deployments, the rest on single engines.
    let n_disagg: usize = std::fs::read_dir(&published)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().ends_with("_interactivity.json"))
        .flat_map(|p| read_json(&p)["data"].as_array().unwrap().clone())
        .filter(|p| p["hwKey"].as_str().unwrap().starts_with("gb200"))
        .count();
    assert!(n_disagg > 0);
    assert!(
        out.contains(&format!(
            "{} single-node published points: ",
            n_published - n_disagg
        )) && out.contains(" 0 not simulated")
            && out.lines().any(|l| l.trim_start().starts_with("all ")
                && l.contains(&format!(" {n_disagg} points: ")))
            && !out.contains("not simulated:"),
        "{out}"
    );

    let (_, err) = run(command(
        "servebench ingest --store sqlite:servebench.db results ../shared",
    ));
    assert!(
        err.contains("0 points stored, 9 already stored")
            && err.contains(&format!("(reference): {n_published} points stored")),
        "{err}"
    );
    let (out, _) = run(command(
        "servebench report --store sqlite:servebench.db --model llama-3.3-70b --source reference",
    ));
    assert!(out.starts_with("llama-3.3-70b 1024/1024"), "{out}");
    let rows: Vec<&str> = out.lines().skip(3).collect();
    // One series per published hardware key, read at 20, 50 and 100 tok/s/user.
    assert!(
        rows.len() == 8 * 3 && rows.iter().all(|r| r.contains(" [published] ")),
        "{out}"
    );
    for hw in [
        "h100", "h200", "h200_trt", "b200", "b200_trt", "mi300x", "mi325x", "mi355x",
    ] {
        assert!(
            rows.iter().any(|r| r.starts_with(&format!("{hw} "))),
            "{hw}: {out}"
        );
    }
    let (out, _) = run(command("servebench report compare"));
    assert!(out.contains("b200 (A) against h200 (B)"), "{out}");
    let at_100: Vec<f64> = out
        .lines()
        .find(|l| l.trim_start().starts_with("100 "))
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    // 100, A tok/s/GPU, B tok/s/GPU, A/B, A $/M, B $/M, A/B $/M: B200 does more per GPU.
    assert!(
        (at_100[3] - at_100[1] / at_100[2]).abs() < 0.001 && at_100[3] > 1.0,
        "{out}"
    );
    let (out, _) = run(command("servebench report regressions"));
    assert!(
        out.contains("0 series with two runs or more compared"),
        "{out}"
    );
    assert!(std::fs::read(dir.join("frontier.png"))
        .unwrap()
        .starts_with(b"\x89PNG\r\n\x1a\n"));

    // The dashboard and the exported site now hold the published views beside the sweep's.
    let index = dashboard_index(&dashboard, &dir);
    assert_eq!(view_points(&index), 9 + n_published);
    run(command("servebench export-site"));
    let exported = read_json(&dir.join("site/api/v1/index.json"));
    assert_eq!(exported["views"], index["views"]);
    assert!(dir.join("site/index.html").is_file());

    // Retracting the sweep's run (the README's `nightly-3` mapped to its key here) leaves the
    // published points alone in every view; the store still holds all of them.
    let store = rusqlite::Connection::open(dir.join("servebench.db")).unwrap();
    let own: String = store
        .query_row("SELECT run_key FROM runs WHERE source = 'own'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut retract = command("servebench retract");
    map_word(&mut retract, "nightly-3", &own);
    let (_, err) = run(retract);
    assert!(err.contains("retracted (9 points hidden"), "{err}");
    assert_eq!(view_points(&dashboard_index(&dashboard, &dir)), n_published);
    let stored: i64 = store
        .query_row("SELECT COUNT(*) FROM points", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored as usize, 9 + n_published);

    // A night with the example changelog: no earlier run left (the sweep's is retracted), so all
    // of it, in virtual time; stored with the changelog's entry, which touches its three
    // configs (TP2, TP4, TP8).
    std::fs::copy(
        repo().join("recipes/perf-changelog.yaml"),
        dir.join("recipes/perf-changelog.yaml"),
    )
    .unwrap();
    let (out, err) = run(command("servebench nightly"));
    assert!(
        out.contains("- 9 points: 9 measured, 0 unchanged since no earlier run")
            && out.contains("- no regression")
            && out.contains("(llama-fp8-h200-sim: 3 configs)"),
        "{out}{err}"
    );
    let entries: i64 = store
        .query_row("SELECT COUNT(*) FROM changelog_configs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(entries, 3);
}

/// The points of every view the dashboard's index lists.
fn view_points(index: &Value) -> usize {
    index["views"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["points"].as_u64().unwrap() as usize)
        .sum()
}

#[test]
fn readme_test_server_with_faults() {
    // Port 8000 mapped to a free one; a bench drives it (160 requests after 32 warmups).
    let dir = tempfile::tempdir().unwrap();
    let mut sim = command("servebench sim --profile fixed");
    map_word(&mut sim, "8000", "0");
    let server = Sim::start_with(&strs(&sim), Some(dir.path()));
    let args: Vec<String> = [
        "bench",
        "--base-url",
        &server.url,
        "--concurrency",
        "16",
        "--num-prompts",
        "160",
        "--isl",
        "64",
        "--osl",
        "16",
        "--tokenizer",
        "cl100k_base",
        "--out",
        "r.json",
        "--requests-out",
        "r.jsonl",
        "--no-progress",
    ]
    .map(String::from)
    .to_vec();
    run_in(dir.path(), &args, &[]);
    assert!(server.stop().success());
    let truth = jsonl(&dir.path().join("truth.jsonl"));
    let client = jsonl(&dir.path().join("r.jsonl"));
    assert_eq!(truth.len(), 192);
    assert_eq!(client.len(), 192);
    let served_503 = truth.iter().filter(|r| r["status"] == 503).count();
    let seen_503 = client.iter().filter(|r| r["http_status"] == 503).count();
    // 2% of 192, from the server's evenly spread draw.
    assert!((3..=5).contains(&served_503), "{served_503}");
    assert_eq!(seen_503, served_503);
    let r = read_json(&dir.path().join("r.json"));
    let measured_503 = client
        .iter()
        .filter(|r| r["http_status"] == 503 && r["warmup"] == false)
        .count();
    assert_eq!(r["failed"].as_u64(), Some(measured_503 as u64));
    // The fixed timing, as the server wrote it: chunk k due 50 + 10·k ms after arrival, and
    // never written early.
    let ok = truth.iter().find(|r| r["status"] == 200).unwrap();
    let chunks: Vec<f64> = ok["chunks_ns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() / 1e6)
        .collect();
    assert!(
        chunks
            .iter()
            .enumerate()
            .all(|(k, t)| *t >= 50.0 + 10.0 * k as f64),
        "{chunks:?}"
    );
}

#[test]
fn readme_plan_on_inferencex_configs() {
    // InferenceX's configs/ is not in this repository: the test writes one in its layout from
    // the shipped catalog (NVIDIA recipes in nvidia-master.yaml, AMD ones in amd-master.yaml,
    // and runners.yaml naming a node per runner label), then runs the command as written.
    let dir = tempfile::tempdir().unwrap();
    let configs = dir.path().join("configs");
    std::fs::create_dir(&configs).unwrap();
    let catalog = std::fs::read_to_string(repo().join("recipes/inferencemax-v1.yaml")).unwrap();
    let (mut nvidia, mut amd) = (String::new(), String::new());
    let mut runners = std::collections::BTreeSet::new();
    // Each top-level key starts a recipe that runs to the next one.
    let mut block = String::new();
    let mut flush = |block: &mut String, runners: &mut std::collections::BTreeSet<String>| {
        if let Some(r) = block.lines().find_map(|l| l.strip_prefix("  runner: ")) {
            runners.insert(r.to_string());
            if r.starts_with("mi") {
                &mut amd
            } else {
                &mut nvidia
            }
            .push_str(block);
        }
        block.clear();
    };
    for line in catalog.lines() {
        if !line.starts_with([' ', '#']) && !line.is_empty() {
            flush(&mut block, &mut runners);
        }
        block.push_str(line);
        block.push('\n');
    }
    flush(&mut block, &mut runners);
    assert!(!nvidia.is_empty() && !amd.is_empty());
    std::fs::write(configs.join("nvidia-master.yaml"), nvidia).unwrap();
    std::fs::write(configs.join("amd-master.yaml"), amd).unwrap();
    let labels: String = runners
        .iter()
        .map(|r| format!("  {r}:\n    - {r}-node_00\n"))
        .collect();
    std::fs::write(configs.join("runners.yaml"), format!("labels:\n{labels}")).unwrap();

    let (out, _) = run_in(dir.path(), &command("servebench plan"), &[]);
    let (whole, _) = run_in(
        &repo(),
        &[
            "plan",
            "--config-files",
            "recipes/inferencemax-v1.yaml",
            "--count",
        ]
        .map(String::from),
        &[],
    );
    assert_eq!(out, whole, "the two vendor files plan as the catalog does");
    assert!(
        out.lines()
            .any(|l| l.starts_with("total") && l.split_whitespace().nth(2) == Some("1396")),
        "{out}"
    );
}

#[test]
fn readme_selfbench() {
    // Added: --quick, and only the client's ceiling and the engine's server (the accuracy
    // runs against the server's record wait on fixed timings for minutes; the client tests
    // check that accuracy).
    let dir = tempfile::tempdir().unwrap();
    let mut args = command("servebench selfbench");
    args.extend(["--quick", "--only", "ceiling,engine"].map(String::from));
    let (out, _) = run_in(dir.path(), &args, &[]);
    assert!(
        out.contains("1. Ceiling") && out.contains("4. Simulated engine"),
        "{out}"
    );
    let r = read_json(&dir.path().join("selfbench.json"));
    for part in ["ceiling", "engine"] {
        assert_eq!(r[part]["failed"], 0, "{part}");
        let requests = r[part]["requests"].as_u64().unwrap();
        assert_eq!(
            requests,
            10 * r[part]["concurrency"].as_u64().unwrap(),
            "{part}"
        );
        assert!(
            r[part]["output_tokens"].as_u64().unwrap() > requests,
            "{part}"
        );
        assert!(
            r[part]["output_tok_per_s"].as_f64().unwrap() > 0.0,
            "{part}"
        );
    }
    assert_eq!(r["truth"], serde_json::json!([]));
}

#[test]
fn readme_power_of_the_embedded_engine() {
    // Added: a faster engine and fewer prompts, so the test is quick.
    let mut args = command("servebench bench --concurrency 4,16 --isl 1024 --osl 128 --power");
    args.extend(
        [
            "--sim-time-scale",
            "5",
            "--num-prompts",
            "32",
            "--warmups",
            "4",
            "--no-progress",
        ]
        .map(String::from),
    );
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = run_in(dir.path(), &args, &[]);
    assert_eq!(out.matches("Measured GPU power (sim)").count(), 2, "{out}");
    let r = read_json(&dir.path().join("power.json"));
    for p in r.as_array().unwrap() {
        let w = &p["power"];
        assert_eq!(w["valid"], true, "{w}");
        assert_eq!(w["expected_gpus"].as_array().unwrap().len(), 8);
        let j = w["joules_per_output_token"].as_f64().unwrap();
        let total = w["total_energy_j"].as_f64().unwrap();
        assert!((j - total / p["total_output_tokens"].as_f64().unwrap()).abs() < 1e-9);
    }
}

#[test]
fn readme_eval_against_your_server() {
    // The server at port 8000 is a simulated one answering GSM8K from a script (mapped), and
    // the dataset files are the tests' own GSM8K-layout sets (mapped): the README's command
    // otherwise as written. Half its answers are right, under the catalog's 0.90 threshold:
    // the eval writes its result and exits 1.
    let f = eval_fixtures();
    let sim = answering_sim("gsm8k", &[]);
    let mut args = command("servebench eval");
    map_in(&mut args, "http://127.0.0.1:8000", &sim.url);
    map_word(
        &mut args,
        "gsm8k/test.jsonl",
        f.join("gsm8k.jsonl").to_str().unwrap(),
    );
    map_word(
        &mut args,
        "gsm8k/train.jsonl",
        f.join("gsm8k-train.jsonl").to_str().unwrap(),
    );
    args.push("--no-progress".into());
    let dir = tempfile::tempdir().unwrap();
    let o = output_in(dir.path(), &args, &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = read_json(&dir.path().join("gsm8k.json"));
    assert_eq!(r["task"], "gsm8k");
    assert_eq!(
        (r["n"].as_u64(), r["num_fewshot"].as_u64()),
        (Some(8), Some(5))
    );
    assert_eq!(r["score"], 0.5);
    assert_eq!(r["passed"], false);
}

#[test]
fn readme_quickstart_today_simulates_inferencex_today() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.contains("`quickstart --catalog today`"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("today.db");
    let o = Command::new(BIN)
        .args(["quickstart", "--catalog", "today", "--no-serve", "--store"])
        .arg(format!("sqlite:{}", db.display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // InferenceX's generator gives 690 single-node fixed-length rows for these files.
    // 18 of them do not fit as the simulator lays them out (docs/sim.md), with the reason.
    assert!(
        err.contains("77 recipes, 690 points")
            && err.contains("672 stored")
            && err.contains("18 not simulated: dsv4-fp8-h200-vllm"),
        "{err}"
    );
    let mut store =
        servebench_store::Store::open_read_only(&format!("sqlite:{}", db.display())).unwrap();
    let mut total = 0;
    for model in ["deepseek-r1-0528", "deepseek-v4-pro", "qwen3.5-397b-a17b"] {
        let v = store
            .view(model, 8192, 1024, None, servebench_store::Source::Own)
            .unwrap();
        assert!(!v.is_empty(), "{model}");
        total += v.len();
        if model == "qwen3.5-397b-a17b" {
            // ATOM keeps its name beside vLLM; an MTP row speculates, and no published point
            // calibrates a single node's speculation.
            assert!(v.iter().any(|p| p.config.engine == "atom"));
            let mtp = v.iter().find(|p| p.config.spec_decoding == "mtp").unwrap();
            let p = store.point(mtp.id).unwrap().unwrap().point;
            let e = &p.provenance["simulator"]["expected_error"];
            assert!(
                e["left_out"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .all(|l| !l.as_str().unwrap().starts_with("spec-decoding")),
                "{e}"
            );
            assert!(
                e["uncalibrated"]
                    .as_str()
                    .unwrap()
                    .starts_with("single-node+mtp: "),
                "{e}"
            );
            // The view carries it.
            assert_eq!(
                mtp.simulated.as_ref().unwrap()["uncalibrated"],
                e["uncalibrated"]
            );
        }
    }
    assert_eq!(total, 672);
    let o = Command::new(BIN)
        .args(["report", "frontier", "--store"])
        .arg(format!("sqlite:{}", db.display()))
        .args(["--model", "qwen3.5", "--isl", "8192", "--osl", "1024"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    // 97 of Qwen3.5's 221 rows are MTP in InferenceX's configs; the report counts them.
    assert!(
        out.contains("of kinds of deployment no published point calibrates: ")
            && out.contains("97 single-node+mtp"),
        "{out}"
    );
}

/// `quickstart --catalog today --multi-node`: disaggregated rows simulated behind a router and
/// stored as disaggregated configurations with their pool topologies, beside single-node ones;
/// every row runs.
#[test]
fn readme_quickstart_today_with_multi_node_rows() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.contains("`--multi-node`"));
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("mn.db").display());
    let o = Command::new(BIN)
        .args([
            "quickstart",
            "--catalog",
            "today",
            "--multi-node",
            "--no-serve",
        ])
        .args(["--model-prefix", "dsr1", "--max-conc", "64", "--store", &db])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // Every row runs: H100's TP16 workers too, their collectives over the NIC.
    assert!(!err.contains("not simulated"), "{err}");
    let mut store = servebench_store::Store::open_read_only(&db).unwrap();
    let v = store
        .view(
            "deepseek-r1-0528",
            8192,
            1024,
            None,
            servebench_store::Source::Own,
        )
        .unwrap();
    // InferenceX's dsr1-fp4-gb200-dynamo-trt: one prefill worker of TP4/EP4 with DP attention,
    // four decode workers of TP8/EP8, at concurrencies 4 to 48 (MTP) and 5 to 76 (none), from
    // its recipe file ctx1_gen4_tep8_batch8_eplb0_mtp3 (MTP).
    let gb200: Vec<_> = v
        .iter()
        .filter(|p| {
            p.config.hardware == "gb200"
                && p.config.topology == "p1x4ep4dpa-d4x8ep8@ctx1_gen4_tep8_batch8_eplb0_mtp3"
        })
        .collect();
    assert!(!gb200.is_empty());
    let pools = store.topologies("deepseek-r1-0528").unwrap();
    for p in &gb200 {
        assert!(p.config.disagg, "{:?}", p.config);
        assert_eq!(p.num_gpus, 36, "4 prefill + 32 decode GPUs");
        // Stored pool by pool, with the row's MTP depth.
        let t = &pools[&*p.config_key];
        use servebench_store::Role;
        assert_eq!((t.gpus(Role::Prefill), t.gpus(Role::Decode)), (4, 32));
        assert_eq!(
            (t.pools[1].workers, t.pools[1].tp, t.pools[1].ep),
            (4, 8, 8)
        );
        assert_eq!(t.draft_tokens, Some(3));
    }
    assert!(
        v.iter().any(|p| !p.config.disagg),
        "single-node points beside them"
    );
    let h100: Vec<_> = v.iter().filter(|p| p.config.hardware == "h100").collect();
    assert!(!h100.is_empty());
    assert!(h100.iter().all(|p| p.config.disagg && p.num_gpus % 16 == 0));
}
