//! What the binary's end-to-end tests share: the binary, servers they start and stop, loopback
//! HTTP, result files, and the real engine the test command sets up.
#![allow(dead_code)] // each test file uses some of it

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_servebench");

/// A child process killed (and reaped) when the test ends, however it ends.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `servebench sim` on a loopback port, as its first line of output names it.
pub struct Sim {
    pub child: Child,
    pub url: String,
}

/// `sim` serving Llama-3.3-70B in FP8 on H200s (add `--tp`, `--time-scale`, …).
pub const LLAMA_FP8_H200: [&str; 6] = [
    "--gpu",
    "h200",
    "--model",
    "llama-3.3-70b",
    "--precision",
    "fp8",
];

impl Sim {
    /// `servebench sim --port 0 ARGS`.
    pub fn start(args: &[&str]) -> Sim {
        let mut all = vec!["sim", "--port", "0"];
        all.extend(args);
        Sim::start_with(&all, None)
    }

    /// `servebench ARGS` (a `sim` command that listens on port 0), run in `dir`.
    pub fn start_with(args: &[&str], dir: Option<&Path>) -> Sim {
        let mut c = Command::new(BIN);
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::null());
        if let Some(d) = dir {
            c.current_dir(d);
        }
        let mut child = c.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("servebench sim listening on http"),
            "{line}"
        );
        let url = line.trim().rsplit(' ').next().unwrap().to_string();
        Sim { child, url }
    }

    /// SIGTERM, then wait: the server flushes its record and exits 0.
    pub fn stop(mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        self.child.wait().unwrap()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET over a fresh loopback connection: (status, body); `None` if nothing answers.
pub fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let addr = addr.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut b = String::new();
    s.read_to_string(&mut b).ok()?;
    let (head, body) = b.split_once("\r\n\r\n")?;
    Some((head.get(9..12)?.parse().ok()?, body.to_string()))
}

/// GET that must answer 200: the body.
pub fn http_get(url: &str, path: &str) -> String {
    let (status, body) = get(url, path).unwrap_or_else(|| panic!("{url}{path}: no answer"));
    assert_eq!(status, 200, "{url}{path}: {body}");
    body
}

/// Polls `addr`'s health endpoint until it answers 200; the server must stay up meanwhile.
pub fn wait_healthy(child: &mut Child, addr: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while get(addr, "/health").map(|r| r.0) != Some(200) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server exited: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        assert!(Instant::now() < deadline, "the server is not healthy");
        // Polling another process's startup: nothing to wait on but time.
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A loopback port free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

pub fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What scripts/llama-up.sh made (the test command exports it).
pub struct Llama {
    pub server: String,
    pub gguf: String,
    pub tiny: String,
    pub tokenizer: String,
}

/// The real engine, or `None` (with a note) where services are not required
/// ([`require_services`]).
pub fn llama() -> Option<Llama> {
    let v = require_services(
        "llama.cpp",
        &[
            "SERVEBENCH_TEST_LLAMA_SERVER",
            "SERVEBENCH_TEST_GGUF",
            "SERVEBENCH_TEST_TINY_GGUF",
            "SERVEBENCH_TEST_GGUF_TOKENIZER",
        ],
    )?;
    let [server, gguf, tiny, tokenizer] = <[String; 4]>::try_from(v).ok()?;
    Some(Llama {
        server,
        gguf,
        tiny,
        tokenizer,
    })
}

/// Set to 1 by `scripts/test.sh`: a test whose service (SLURM, llama.cpp, Chromium,
/// PostgreSQL) is not set up fails instead of skipping.
pub const REQUIRE_SERVICES_ENV: &str = "SERVEBENCH_TEST_REQUIRE_SERVICES";

/// Why a missing service fails the test, if it does: under the test command
/// (`SERVEBENCH_TEST_REQUIRE_SERVICES=1`) or in CI (`CI` set, not to `false` or `0`). A
/// developer's plain `cargo test` skips, with a note. (The same rule as
/// `servebench-store/tests/backends/mod.rs`.)
pub fn services_required() -> Option<String> {
    [REQUIRE_SERVICES_ENV, "CI"].into_iter().find_map(|k| {
        let v = std::env::var(k).ok()?;
        (!v.is_empty() && v != "0" && v != "false").then(|| format!("{k}={v}"))
    })
}

/// The values of `vars`, which name the service `name` a test needs. When one is unset or
/// empty: a panic naming it where services are required ([`services_required`]), else a note
/// and `None`, and the test returns having checked nothing.
pub fn require_services(name: &str, vars: &[&str]) -> Option<Vec<String>> {
    let values: Vec<Option<String>> = vars
        .iter()
        .map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .collect();
    let missing: Vec<&str> = vars
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| *k)
        .collect();
    if missing.is_empty() {
        return Some(values.into_iter().flatten().collect());
    }
    let missing = missing.join(", ");
    if let Some(why) = services_required() {
        panic!(
            "{name} is not set up: {missing} not set, and with {why} a missing service fails \
             the test instead of skipping it. Run `bash scripts/test.sh`, which sets up {name} \
             and exports {missing}; without {why}, a plain `cargo test` skips it"
        );
    }
    eprintln!(
        "{name} not set up ({missing} not set; `bash scripts/test.sh` sets it up): test \
         skipped, nothing checked ({REQUIRE_SERVICES_ENV}=1 makes this a failure)"
    );
    None
}

/// The value of `var`, which names the service `name` a test needs ([`require_services`]).
pub fn require_service(name: &str, var: &str) -> Option<String> {
    require_services(name, &[var]).map(|mut v| v.remove(0))
}

/// A recipe of Llama-3.3-70B FP8 on a simulated H200 deployment (`servebench sim` with
/// `engine_args`), at one workload and one search-space entry (`{tp: 4, conc-list: [2]}`).
pub fn sim_recipe(engine_args: &str, isl: u32, osl: u32, space: &str) -> String {
    format!(
        "\
llama-fp8-h200-sim:
  image: none
  model: meta-llama/Llama-3.3-70B-Instruct
  model-prefix: llama
  precision: fp8
  framework: sim
  runner: h200
  multinode: false
  engine-args: [{engine_args}]
  health-timeout: 30
  scenarios:
    fixed-seq-len:
    - isl: {isl}
      osl: {osl}
      search-space:
      - {space}
"
    )
}

/// Continuous runs' recipe (nightly.rs, gha.rs): Llama-3.3-70B FP8 as `key` on the simulated
/// `runner` at `image`, with its own `engine_args`, at 1k/128 on TP8 over `concs`.
pub fn night_recipe(
    key: &str,
    runner: &str,
    image: &str,
    engine_args: &str,
    concs: &str,
) -> String {
    format!(
        "{key}:
  image: {image}
  model: meta-llama/Llama-3.3-70B-Instruct
  model-prefix: llama
  precision: fp8
  framework: sim
  runner: {runner}
  multinode: false
  engine-args: [{engine_args}]
  scenarios:
    fixed-seq-len:
    - isl: 1024
      osl: 128
      search-space:
      - {{tp: 8, conc-list: [{concs}]}}
"
    )
}

/// A disaggregated Llama-3.3-70B FP8 Dynamo vLLM recipe on H200 (two TP2 prefill workers, a
/// TP4 decode worker) at 1k/128 over `concs` (sweep.rs, nightly.rs).
pub fn multi_node_recipe(concs: &str) -> String {
    format!(
        "llama-fp8-h200-dynamo-vllm:
  image: none
  model: meta-llama/Llama-3.3-70B-Instruct
  model-prefix: llama
  precision: fp8
  framework: dynamo-vllm
  runner: h200
  multinode: true
  disagg: true
  kv-p2p-transfer: nixl
  scenarios:
    fixed-seq-len:
    - isl: 1024
      osl: 128
      search-space:
      - conc-list: [{concs}]
        prefill: {{num-worker: 2, tp: 2, ep: 1, dp-attn: false}}
        decode: {{num-worker: 1, tp: 4, ep: 1, dp-attn: false}}
"
    )
}

/// The tests' scripted GSM8K, MATH-500 and GPQA sets (`tests/fixtures/evals`).
pub fn eval_fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evals")
}

/// A fast fixed-timing `servebench sim` answering from `answers-<task>.jsonl` (unscripted
/// requests get 16 words), with `extra` flags.
pub fn answering_sim(task: &str, extra: &[&str]) -> Sim {
    let answers = eval_fixtures().join(format!("answers-{task}.jsonl"));
    let mut args = vec![
        "--ttft-ms",
        "1",
        "--itl-ms",
        "0",
        "--eos-after",
        "16",
        "--answers",
        answers.to_str().unwrap(),
    ];
    args.extend(extra);
    Sim::start(&args)
}
