//! `servebench selfbench`: the load generator measured against the fixed-timing test server.
//!
//! Everything runs as separate processes, exactly as users run them: `servebench sim` pinned to
//! one core, `servebench bench` pinned to another, and this orchestrator reading what both wrote.
//! The server's record (`--record`) is the truth: when each chunk's bytes were written. The
//! client's per-request file says when it saw them. Both use `CLOCK_MONOTONIC`, so they compare
//! directly. Peak RSS and CPU of the client come from the kernel (`wait4`).
//!
//! 1. Ceiling: `--itl-ms 0`, ISL 128, OSL 1024, concurrency 1024: output tokens per second the
//!    client ingests, and its CPU.
//! 2. Truth: `--ttft-ms 50 --itl-ms 10`, ISL 1024, OSL 256, 10 × C prompts, C = 1, 64, 256, 1024,
//!    and C = 2048 with `--itl-ms 20`: client minus truth for mean and p99 TTFT, mean TPOT and
//!    p99 ITL. The true TTFT of a request runs from the client's send (stamped immediately before
//!    its `write`) to the moment the server's `write` of the first token returned; the time the
//!    server took to read the request (its own queueing, part of any real TTFT) is reported
//!    beside it as `server_read_delay`, and the server's TTFT counted from its read as
//!    `server_mean_ttft_ms`.
//! 3. Memory: peak RSS of the client for the 2048-concurrency truth run.
//! 4. Engine: the simulated engine (`sim --gpu h200 --model llama-3.3-70b --precision fp8
//!    --tp 8`) at `--time-scale 1000`, so that the server's CPU and not the modelled GPUs is the
//!    limit: streamed output tokens per second with the whole server process pinned to one
//!    core, and that core's use.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use servebench_core::stats::Summary;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct Options {
    /// The `servebench` binary to run (normally the current executable).
    pub exe: PathBuf,
    /// Scratch directory for records and results.
    pub work_dir: PathBuf,
    /// Smaller runs (fewer prompts, lower concurrency) for a quick look.
    pub quick: bool,
    /// Only these parts: "ceiling", "truth", "engine" (empty = all).
    pub only: Vec<String>,
    pub server_cpu: usize,
    pub client_cpu: usize,
    /// Everything over TLS: the test server terminates it (`sim --tls`, a self-signed
    /// certificate) and the client verifies it (`bench --ca-cert`).
    pub tls: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ceiling {
    pub concurrency: usize,
    pub isl: u32,
    pub osl: u32,
    pub requests: u64,
    pub output_tokens: u64,
    /// Output tokens per second over the benchmark window.
    pub output_tok_per_s: f64,
    /// Client CPU (user + system) over its whole life, % of one core.
    pub client_cpu_percent: f64,
    /// Busiest I/O thread during the window (from the client's own self-check).
    pub io_thread_cpu_percent: f64,
    pub client_bound: bool,
    pub peak_rss_mb: f64,
    pub failed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    pub concurrency: usize,
    pub itl_ms: f64,
    pub requests: u64,
    pub failed: u64,
    /// The server's own TTFT, from its full read of the request to its first-token write.
    pub server_mean_ttft_ms: f64,
    /// Mean true TTFT: client send → server's first-token write.
    pub true_mean_ttft_ms: f64,
    pub ttft_mean_err_ms: f64,
    pub ttft_p99_err_ms: f64,
    pub server_mean_tpot_ms: f64,
    pub tpot_mean_err_pct: f64,
    pub server_p99_itl_ms: f64,
    pub itl_p99_err_ms: f64,
    /// Time from the client's send to the server's full read of the request (mean, p99).
    pub server_read_delay_mean_ms: f64,
    pub server_read_delay_p99_ms: f64,
    pub client_bound: bool,
    /// Client CPU (user + system) over its whole life, dataset generation included, % of one core.
    pub client_cpu_percent: f64,
    /// Busiest client I/O thread during the measured window, % of one core.
    pub io_thread_cpu_percent: f64,
    pub peak_rss_mb: f64,
    pub wall_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EngineCeiling {
    pub deployment: String,
    pub time_scale: f64,
    pub concurrency: usize,
    pub isl: u32,
    pub osl: u32,
    pub requests: u64,
    pub failed: u64,
    pub output_tokens: u64,
    /// Streamed output tokens per second over the benchmark window (wall clock).
    pub output_tok_per_s: f64,
    /// The server process (HTTP runtime and engine thread, pinned to one core) during the
    /// client's run, % of one core.
    pub server_cpu_percent: f64,
    pub client_bound: bool,
}

/// A trace replay against the fixed-timing server: its timing against the server's record,
/// and the client's memory as the trace grows.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    pub sessions: u64,
    pub lanes: usize,
    /// Measured requests (turns), and those that failed.
    pub requests: u64,
    pub failed: u64,
    pub ttft_mean_err_ms: f64,
    pub ttft_p99_err_ms: f64,
    pub tpot_mean_err_pct: f64,
    pub itl_p99_err_ms: f64,
    pub io_thread_cpu_percent: f64,
    pub client_bound: bool,
    pub peak_rss_mb: f64,
    pub wall_s: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub ceiling: Option<Ceiling>,
    pub engine: Option<EngineCeiling>,
    pub truth: Vec<Truth>,
    pub replay: Vec<Replay>,
    pub memory_peak_rss_mb: Option<f64>,
    pub host_cpus: usize,
    pub servebench_version: String,
    /// Measured over TLS (`--tls`).
    pub tls: bool,
}

/// Client and server count tokens alike (the built-in encoding: nothing to download).
const TOKENIZER: &str = "cl100k_base";

/// Targets from the issue, checked in the printed table.
pub const TARGET_CEILING_TOK_S: f64 = 1_000_000.0;
pub const TARGET_TTFT_MEAN_ERR_MS: f64 = 1.0;
pub const TARGET_TTFT_P99_ERR_MS: f64 = 2.0;
pub const TARGET_TPOT_MEAN_ERR_PCT: f64 = 0.5;
pub const TARGET_ITL_P99_ERR_MS: f64 = 1.0;
pub const TARGET_RSS_MB: f64 = 100.0;
pub const TARGET_ENGINE_TOK_S: f64 = 200_000.0;
/// A replay's memory may not grow with its turns, only with its lanes (contexts in flight):
/// peak RSS per further turn when the same lanes play 10× the sessions (a kept per-request
/// record would be about 250 B).
pub const TARGET_REPLAY_BYTES_PER_TURN: f64 = 20.0;

/// The test server's timing in the replay part: the truth part's at 1,024 concurrency (a token
/// every 10 ms per stream), so the two parts load the client alike.
const REPLAY_TTFT_MS: u32 = 50;
const REPLAY_ITL_MS: u32 = 10;

pub fn run(opts: &Options) -> anyhow::Result<Report> {
    std::fs::create_dir_all(&opts.work_dir)
        .with_context(|| format!("creating {}", opts.work_dir.display()))?;
    let want = |p: &str| opts.only.is_empty() || opts.only.iter().any(|o| o == p);
    let mut report = Report {
        host_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        servebench_version: env!("CARGO_PKG_VERSION").into(),
        tls: opts.tls,
        ..Default::default()
    };
    if want("ceiling") {
        let (c, osl) = if opts.quick { (256, 512) } else { (1024, 1024) };
        eprintln!("selfbench: ceiling, concurrency {c}, ISL 128, OSL {osl}, --itl-ms 0 ...");
        report.ceiling = Some(ceiling(opts, c, 128, osl)?);
    }
    if want("engine") {
        let (c, osl) = if opts.quick { (256, 256) } else { (1024, 1024) };
        eprintln!("selfbench: engine, concurrency {c}, ISL 128, OSL {osl}, --time-scale 1000 ...");
        report.engine = Some(engine(opts, c, 128, osl)?);
    }
    if want("truth") {
        let points: Vec<(usize, f64)> = if opts.quick {
            vec![(1, 10.0), (64, 10.0), (256, 10.0)]
        } else {
            vec![
                (1, 10.0),
                (64, 10.0),
                (256, 10.0),
                (1024, 10.0),
                (2048, 20.0),
            ]
        };
        for (c, itl) in points {
            eprintln!("selfbench: truth, concurrency {c}, --ttft-ms 50 --itl-ms {itl}, ISL 1024, OSL 256 ...");
            let t = truth(opts, c, itl)?;
            if c == 2048 {
                report.memory_peak_rss_mb = Some(t.peak_rss_mb);
            }
            report.truth.push(t);
        }
    }
    if want("replay") {
        let (lanes, sizes) = if opts.quick {
            (256, [100, 1_000])
        } else {
            (1024, [1_000, 10_000])
        };
        for sessions in sizes {
            eprintln!("selfbench: replay, {sessions} sessions, {lanes} lanes, --ttft-ms {REPLAY_TTFT_MS} --itl-ms {REPLAY_ITL_MS} ...");
            report.replay.push(replay(opts, sessions, lanes)?);
        }
    }
    Ok(report)
}

/// Writes `n` sessions of the Claude Code profile, cut to contexts of 1,024 tokens, 40 main
/// turns and 64 output tokens: the sessions' shape, at a size the test server answers fast.
fn write_sessions(path: &Path, n: u64) -> anyhow::Result<()> {
    use servebench_dataset::generate::{profile, Generator};
    use std::io::Write;
    let mut p = profile("claude-code-042026")?;
    p.max_context_tokens = 1024;
    p.main_turns.max = 40.0;
    p.output_tokens.max = 64.0;
    p.subagent_turns.max = 20.0;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    for s in Generator::new(&p, 1)?.sessions(n) {
        writeln!(w, "{}", s.to_json_line())?;
    }
    w.flush()?;
    Ok(())
}

fn replay(opts: &Options, sessions: u64, lanes: usize) -> anyhow::Result<Replay> {
    let trace = opts.work_dir.join(format!("replay-{sessions}.jsonl"));
    write_sessions(&trace, sessions)?;
    let record = opts
        .work_dir
        .join(format!("server-replay-{sessions}.jsonl"));
    let _ = std::fs::remove_file(&record);
    let server = start_server(
        opts,
        &[
            "--ttft-ms".into(),
            REPLAY_TTFT_MS.to_string(),
            "--itl-ms".into(),
            REPLAY_ITL_MS.to_string(),
            "--record".into(),
            record.display().to_string(),
        ],
    )?;
    let out = opts.work_dir.join(format!("replay-{sessions}.json"));
    let requests = opts
        .work_dir
        .join(format!("replay-{sessions}-requests.jsonl"));
    let args: Vec<String> = [
        "--base-url",
        &server.base_url,
        "--dataset",
        "trace",
        "--trace-format",
        "sessions",
        "--dataset-path",
        &trace.display().to_string(),
        "--concurrency",
        &lanes.to_string(),
        "--trace-start-ratio",
        "0,0",
        "--warmups-per-lane",
        "1",
        "--pause-cap",
        "0",
        "--tokenize-probe",
        "0",
        "--requests-out",
        &requests.display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    let run = run_client(opts, &args, &out)?;
    drop(server); // flushes the record
    let r = &run.result;
    let a = compare(
        &record,
        &requests,
        r["mono_start_ns"].as_u64().unwrap_or(0) as f64,
    )?;
    Ok(Replay {
        sessions,
        lanes,
        requests: r["completed"].as_u64().unwrap_or(0),
        failed: r["failed"].as_u64().unwrap_or(0),
        ttft_mean_err_ms: a.client_ttft.mean - a.true_ttft.mean,
        ttft_p99_err_ms: a.client_ttft.p99 - a.true_ttft.p99,
        tpot_mean_err_pct: if a.server_tpot.mean > 0.0 {
            100.0 * (a.client_tpot.mean - a.server_tpot.mean) / a.server_tpot.mean
        } else {
            0.0
        },
        itl_p99_err_ms: a.client_itl.p99 - a.server_itl.p99,
        io_thread_cpu_percent: r["self_check"]["max_thread_cpu_percent"]
            .as_f64()
            .unwrap_or(0.0),
        client_bound: r["self_check"]["client_bound"].as_bool().unwrap_or(false),
        peak_rss_mb: run.peak_rss_mb,
        wall_s: run.wall_s,
    })
}

struct Server {
    child: Child,
    base_url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM lets the server flush its record; then reap it.
        // SAFETY: kill on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

fn pin(cmd: &mut Command, cpu: usize) {
    // SAFETY: runs in the forked child before exec; only async-signal-safe libc calls.
    unsafe {
        cmd.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            Ok(())
        });
    }
}

fn start_server(opts: &Options, args: &[String]) -> anyhow::Result<Server> {
    let mut cmd = Command::new(&opts.exe);
    cmd.arg("sim")
        .args(["--host", "127.0.0.1", "--port", "0"])
        .args(["--tokenizer", TOKENIZER])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if opts.tls {
        cmd.arg("--tls").arg("--tls-cert-out").arg(cert_file(opts));
    }
    pin(&mut cmd, opts.server_cpu);
    let mut child = cmd.spawn().context("starting servebench sim")?;
    let stdout = child.stdout.take().expect("piped");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let Some(url) = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
    else {
        let _ = child.kill();
        bail!("servebench sim did not announce its address (got {line:?})");
    };
    Ok(Server {
        base_url: url.to_string(),
        child,
    })
}

/// The test server's certificate, which the client trusts (`--tls`).
fn cert_file(opts: &Options) -> PathBuf {
    opts.work_dir.join("sim-cert.pem")
}

struct ClientRun {
    result: serde_json::Value,
    cpu_s: f64,
    wall_s: f64,
    peak_rss_mb: f64,
}

fn run_client(opts: &Options, args: &[String], out: &Path) -> anyhow::Result<ClientRun> {
    let mut cmd = Command::new(&opts.exe);
    cmd.arg("bench")
        .args(["--tokenizer", TOKENIZER])
        .args(args)
        .arg("--out")
        .arg(out)
        .arg("--no-progress")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if opts.tls {
        cmd.arg("--ca-cert").arg(cert_file(opts));
    }
    pin(&mut cmd, opts.client_cpu);
    let t0 = Instant::now();
    let child = cmd.spawn().context("starting servebench bench")?;
    let (status, ru) = wait4(child.id())?;
    let wall_s = t0.elapsed().as_secs_f64();
    if status != 0 {
        bail!("servebench bench exited with status {status}");
    }
    let result: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out).with_context(|| format!("reading {}", out.display()))?,
    )?;
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(ClientRun {
        result,
        cpu_s: tv(ru.ru_utime) + tv(ru.ru_stime),
        wall_s,
        peak_rss_mb: ru.ru_maxrss as f64 * 1024.0 / 1e6,
    })
}

/// Wait for one child and return its exit status and its own resource usage.
fn wait4(pid: u32) -> anyhow::Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: wait4 on our child's pid with out-pointers we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut ru) };
    if r < 0 {
        bail!("wait4: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok((code, ru))
}

/// `bench` flags for a closed loop of `c` against `base_url`.
fn closed_loop(base_url: &str, isl: u32, osl: u32, c: usize) -> Vec<String> {
    [
        "--base-url",
        base_url,
        "--isl",
        &isl.to_string(),
        "--osl",
        &osl.to_string(),
        "--concurrency",
        &c.to_string(),
        "--tokenize-probe",
        "0",
    ]
    .map(String::from)
    .to_vec()
}

fn ceiling(opts: &Options, c: usize, isl: u32, osl: u32) -> anyhow::Result<Ceiling> {
    let server = start_server(
        opts,
        &[
            "--profile".into(),
            "fixed".into(),
            "--ttft-ms".into(),
            "0".into(),
            "--itl-ms".into(),
            "0".into(),
        ],
    )?;
    let out = opts.work_dir.join(format!("ceiling-c{c}.json"));
    let run = run_client(opts, &closed_loop(&server.base_url, isl, osl, c), &out)?;
    drop(server);
    let r = &run.result;
    let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
    Ok(Ceiling {
        concurrency: c,
        isl,
        osl,
        requests: r["completed"].as_u64().unwrap_or(0),
        output_tokens: r["total_output_tokens"].as_u64().unwrap_or(0),
        output_tok_per_s: f("output_throughput"),
        client_cpu_percent: 100.0 * run.cpu_s / run.wall_s,
        io_thread_cpu_percent: r["self_check"]["max_thread_cpu_percent"]
            .as_f64()
            .unwrap_or(0.0),
        client_bound: r["self_check"]["client_bound"].as_bool().unwrap_or(false),
        peak_rss_mb: run.peak_rss_mb,
        failed: r["failed"].as_u64().unwrap_or(0),
    })
}

/// CPU seconds (user + system) process `pid` has used so far.
fn proc_cpu_s(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').context("/proc stat format")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>()? + f[12].parse::<f64>()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(ticks / hz)
}

fn engine(opts: &Options, c: usize, isl: u32, osl: u32) -> anyhow::Result<EngineCeiling> {
    let scale = 1000.0;
    let dep = [
        "--gpu",
        "h200",
        "--model",
        "llama-3.3-70b",
        "--precision",
        "fp8",
        "--tp",
        "8",
    ];
    let mut args: Vec<String> = dep.iter().map(|s| s.to_string()).collect();
    args.extend(["--time-scale".into(), scale.to_string()]);
    let server = start_server(opts, &args)?;
    let out = opts.work_dir.join(format!("engine-c{c}.json"));
    let cpu0 = proc_cpu_s(server.child.id())?;
    let t0 = Instant::now();
    let run = run_client(opts, &closed_loop(&server.base_url, isl, osl, c), &out)?;
    let server_cpu = proc_cpu_s(server.child.id())? - cpu0;
    let wall = t0.elapsed().as_secs_f64();
    drop(server);
    let r = &run.result;
    Ok(EngineCeiling {
        deployment: dep.join(" "),
        time_scale: scale,
        concurrency: c,
        isl,
        osl,
        requests: r["completed"].as_u64().unwrap_or(0),
        failed: r["failed"].as_u64().unwrap_or(0),
        output_tokens: r["total_output_tokens"].as_u64().unwrap_or(0),
        output_tok_per_s: r["output_throughput"].as_f64().unwrap_or(0.0),
        server_cpu_percent: 100.0 * server_cpu / wall,
        client_bound: r["self_check"]["client_bound"].as_bool().unwrap_or(false),
    })
}

/// The fields of the server's record that the comparison needs.
#[derive(Deserialize)]
struct ServerLine {
    request_id: Option<String>,
    arrival_ns: u64,
    chunks_ns: Vec<u64>,
    chunk_tokens: Vec<u32>,
}

/// The fields of the client's per-request line that the comparison needs.
#[derive(Deserialize)]
struct ClientLine {
    index: u64,
    warmup: bool,
    ok: bool,
    send_ms: Option<f64>,
    first_token_ms: Option<f64>,
    last_token_ms: Option<f64>,
    output_tokens: u64,
    itl_ms: Vec<f64>,
}

fn truth(opts: &Options, c: usize, itl_ms: f64) -> anyhow::Result<Truth> {
    let record = opts.work_dir.join(format!("server-c{c}.jsonl"));
    let _ = std::fs::remove_file(&record);
    let server = start_server(
        opts,
        &[
            "--ttft-ms".into(),
            "50".into(),
            "--itl-ms".into(),
            itl_ms.to_string(),
            "--record".into(),
            record.display().to_string(),
        ],
    )?;
    let out = opts.work_dir.join(format!("truth-c{c}.json"));
    let requests = opts.work_dir.join(format!("truth-c{c}-requests.jsonl"));
    let run = run_client(
        opts,
        &[
            "--base-url".into(),
            server.base_url.clone(),
            "--isl".into(),
            "1024".into(),
            "--osl".into(),
            "256".into(),
            "--concurrency".into(),
            c.to_string(),
            "--requests-out".into(),
            requests.display().to_string(),
        ],
        &out,
    )?;
    drop(server); // flushes the record
    let r = &run.result;
    let mono_start = r["mono_start_ns"].as_u64().unwrap_or(0) as f64;
    let a = compare(&record, &requests, mono_start)?;
    let (ct, tt, st, transit) = (a.client_ttft, a.true_ttft, a.server_ttft, a.transit);
    let (cp, sp, ci, si) = (a.client_tpot, a.server_tpot, a.client_itl, a.server_itl);
    Ok(Truth {
        concurrency: c,
        itl_ms,
        requests: r["completed"].as_u64().unwrap_or(0),
        failed: r["failed"].as_u64().unwrap_or(0),
        server_mean_ttft_ms: st.mean,
        true_mean_ttft_ms: tt.mean,
        ttft_mean_err_ms: ct.mean - tt.mean,
        ttft_p99_err_ms: ct.p99 - tt.p99,
        server_mean_tpot_ms: sp.mean,
        tpot_mean_err_pct: if sp.mean > 0.0 {
            100.0 * (cp.mean - sp.mean) / sp.mean
        } else {
            0.0
        },
        server_p99_itl_ms: si.p99,
        itl_p99_err_ms: ci.p99 - si.p99,
        server_read_delay_mean_ms: transit.mean,
        server_read_delay_p99_ms: transit.p99,
        client_bound: r["self_check"]["client_bound"].as_bool().unwrap_or(false),
        client_cpu_percent: 100.0 * run.cpu_s / run.wall_s,
        io_thread_cpu_percent: r["self_check"]["max_thread_cpu_percent"]
            .as_f64()
            .unwrap_or(0.0),
        peak_rss_mb: run.peak_rss_mb,
        wall_s: run.wall_s,
    })
}

/// The client's figures beside the server's record of the same requests (ms).
struct Accuracy {
    client_ttft: Summary,
    /// Client send → the server's first-token write.
    true_ttft: Summary,
    /// The server's own: full read of the request → first-token write.
    server_ttft: Summary,
    /// Client send → the server's full read.
    transit: Summary,
    client_tpot: Summary,
    server_tpot: Summary,
    client_itl: Summary,
    server_itl: Summary,
}

/// Matches the client's `--requests-out` lines with the server's `--record` lines by the
/// measured index in the request id (`<prefix>-m<index>`).
fn compare(record: &Path, requests: &Path, mono_start: f64) -> anyhow::Result<Accuracy> {
    // Server truth, keyed by the measured request index in the id (`<prefix>-m<index>`).
    let mut server: HashMap<u64, ServerLine> = HashMap::new();
    let f = std::fs::File::open(record).with_context(|| format!("opening {}", record.display()))?;
    for line in BufReader::new(f).lines() {
        let l: ServerLine = serde_json::from_str(&line?)?;
        let Some(idx) = l
            .request_id
            .as_deref()
            .and_then(|id| id.rsplit_once("-m"))
            .and_then(|(_, i)| i.parse::<u64>().ok())
        else {
            continue; // warmups and probes
        };
        server.insert(idx, l);
    }

    let (mut c_ttft, mut t_ttft, mut s_ttft) = (vec![], vec![], vec![]);
    let (mut c_tpot, mut s_tpot) = (vec![], vec![]);
    let (mut c_itl, mut s_itl, mut transit) = (vec![], vec![], vec![]);
    let f = std::fs::File::open(requests)?;
    for line in BufReader::new(f).lines() {
        let l: ClientLine = serde_json::from_str(&line?)?;
        if l.warmup || !l.ok {
            continue;
        }
        let Some(s) = server.get(&l.index) else {
            bail!("request {} has no line in the server record", l.index);
        };
        let (Some(send), Some(first), Some(last)) = (l.send_ms, l.first_token_ms, l.last_token_ms)
        else {
            continue;
        };
        let Some(&s_first) = s.chunks_ns.first() else {
            continue;
        };
        let send_abs_ns = mono_start + send * 1e6;
        c_ttft.push(first - send);
        t_ttft.push(((s.arrival_ns + s_first) as f64 - send_abs_ns) / 1e6);
        s_ttft.push(s_first as f64 / 1e6);
        transit.push((s.arrival_ns as f64 - send_abs_ns) / 1e6);
        let s_tokens: u64 = s.chunk_tokens.iter().map(|&t| t as u64).sum();
        if l.output_tokens > 1 && s_tokens > 1 {
            c_tpot.push((last - first) / (l.output_tokens - 1) as f64);
            let s_last = *s.chunks_ns.last().expect("non-empty");
            s_tpot.push((s_last - s_first) as f64 / 1e6 / (s_tokens - 1) as f64);
        }
        c_itl.extend_from_slice(&l.itl_ms);
        s_itl.extend(s.chunks_ns.windows(2).map(|w| (w[1] - w[0]) as f64 / 1e6));
    }
    Ok(Accuracy {
        client_ttft: Summary::of(&mut c_ttft),
        true_ttft: Summary::of(&mut t_ttft),
        server_ttft: Summary::of(&mut s_ttft),
        transit: Summary::of(&mut transit),
        client_tpot: Summary::of(&mut c_tpot),
        server_tpot: Summary::of(&mut s_tpot),
        client_itl: Summary::of(&mut c_itl),
        server_itl: Summary::of(&mut s_itl),
    })
}

/// The client's errors against the truth (TTFT mean and p99, TPOT mean %, ITL p99) within
/// their targets, and nothing failed.
fn within_targets(errors: [f64; 4], failed: u64) -> bool {
    let targets = [
        TARGET_TTFT_MEAN_ERR_MS,
        TARGET_TTFT_P99_ERR_MS,
        TARGET_TPOT_MEAN_ERR_PCT,
        TARGET_ITL_P99_ERR_MS,
    ];
    failed == 0 && errors.iter().zip(targets).all(|(e, t)| e.abs() < t)
}

/// The report as a table, each figure beside its target.
pub fn render(r: &Report, opts: &Options) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let mark = |ok: bool| if ok { "ok" } else { "MISSED" };
    let _ = writeln!(
        s,
        "servebench selfbench {} — server on CPU {}, client on CPU {} ({} CPUs){}",
        r.servebench_version,
        opts.server_cpu,
        opts.client_cpu,
        r.host_cpus,
        if r.tls {
            "; over TLS (sim --tls, bench --ca-cert)"
        } else {
            ""
        }
    );
    if let Some(c) = &r.ceiling {
        let _ = writeln!(
            s,
            "\n1. Ceiling (server --itl-ms 0, ISL {}, OSL {}, concurrency {})",
            c.isl, c.osl, c.concurrency
        );
        let _ = writeln!(
            s,
            "   {:.0} output tok/s ingested ({} tokens, {} requests, {} failed); client CPU {:.0}% of one core, busiest I/O thread {:.0}%, peak RSS {:.1} MB  [{} vs target {:.0}]",
            c.output_tok_per_s,
            c.output_tokens,
            c.requests,
            c.failed,
            c.client_cpu_percent,
            c.io_thread_cpu_percent,
            c.peak_rss_mb,
            mark(c.output_tok_per_s >= TARGET_CEILING_TOK_S),
            TARGET_CEILING_TOK_S
        );
    }
    if !r.truth.is_empty() {
        let _ = writeln!(s, "\n2. Truth (server --ttft-ms 50, ISL 1024, OSL 256, 10 × C prompts): client − truth from the server's record");
        let _ = writeln!(
            s,
            "   {:>5} {:>4} {:>7} {:>10} {:>14} {:>13} {:>15} {:>13} {:>16} {:>6} {:>7}",
            "C",
            "ITL",
            "reqs",
            "true TTFT",
            "TTFT mean err",
            "TTFT p99 err",
            "TPOT mean err",
            "ITL p99 err",
            "srv read mean/p99",
            "I/O%",
            "verdict"
        );
        for t in &r.truth {
            let ok = within_targets(
                [
                    t.ttft_mean_err_ms,
                    t.ttft_p99_err_ms,
                    t.tpot_mean_err_pct,
                    t.itl_p99_err_ms,
                ],
                t.failed,
            );
            let _ = writeln!(
                s,
                "   {:>5} {:>4} {:>7} {:>7.2} ms {:>11.3} ms {:>10.3} ms {:>13.3} % {:>10.3} ms {:>7.2}/{:>6.2}ms {:>6.0} {:>7}",
                t.concurrency,
                t.itl_ms,
                t.requests,
                t.true_mean_ttft_ms,
                t.ttft_mean_err_ms,
                t.ttft_p99_err_ms,
                t.tpot_mean_err_pct,
                t.itl_p99_err_ms,
                t.server_read_delay_mean_ms,
                t.server_read_delay_p99_ms,
                t.io_thread_cpu_percent,
                mark(ok)
            );
        }
        let _ = writeln!(
            s,
            "   targets: |TTFT mean err| < {TARGET_TTFT_MEAN_ERR_MS} ms, |TTFT p99 err| < {TARGET_TTFT_P99_ERR_MS} ms, |TPOT mean err| < {TARGET_TPOT_MEAN_ERR_PCT}%, |ITL p99 err| < {TARGET_ITL_P99_ERR_MS} ms"
        );
    }
    if !r.replay.is_empty() {
        let _ = writeln!(s, "\n4. Trace replay (claude-code-042026 sessions cut to 1,024-token contexts, no pauses; server --ttft-ms {REPLAY_TTFT_MS} --itl-ms {REPLAY_ITL_MS}): client − truth from the server's record");
        for t in &r.replay {
            let ok = within_targets(
                [
                    t.ttft_mean_err_ms,
                    t.ttft_p99_err_ms,
                    t.tpot_mean_err_pct,
                    t.itl_p99_err_ms,
                ],
                t.failed,
            );
            let _ = writeln!(
                s,
                "   {:>6} sessions, {:>5} lanes: {:>7} turns, {} failed; TTFT err mean {:.3} ms p99 {:.3} ms, TPOT err {:.3} %, ITL p99 err {:.3} ms; I/O thread {:.0}%, peak RSS {:.1} MB, {:.1} s  [{}]",
                t.sessions,
                t.lanes,
                t.requests,
                t.failed,
                t.ttft_mean_err_ms,
                t.ttft_p99_err_ms,
                t.tpot_mean_err_pct,
                t.itl_p99_err_ms,
                t.io_thread_cpu_percent,
                t.peak_rss_mb,
                t.wall_s,
                mark(ok)
            );
        }
        if let [short, .., long] = r.replay.as_slice() {
            let grew_mb = long.peak_rss_mb - short.peak_rss_mb;
            let per_turn =
                grew_mb * 1e6 / long.requests.saturating_sub(short.requests).max(1) as f64;
            let _ = writeln!(
                s,
                "   memory: {}× the sessions, same lanes: peak RSS {:+.1} MB, {:.1} B per further turn (the trace is streamed and requests are tallied as they finish: memory follows the lanes)  [{} vs target {TARGET_REPLAY_BYTES_PER_TURN} B]",
                long.sessions / short.sessions.max(1),
                grew_mb,
                per_turn,
                mark(per_turn < TARGET_REPLAY_BYTES_PER_TURN)
            );
        }
    }
    if let Some(m) = r.memory_peak_rss_mb {
        let _ = writeln!(
            s,
            "\n3. Memory: client peak RSS {:.1} MB for the 2048-concurrency truth run  [{} vs target {:.0} MB]",
            m,
            mark(m < TARGET_RSS_MB),
            TARGET_RSS_MB
        );
    }
    if let Some(e) = &r.engine {
        let _ = writeln!(
            s,
            "\n4. Simulated engine ({}, --time-scale {}, ISL {}, OSL {}, concurrency {})",
            e.deployment, e.time_scale, e.isl, e.osl, e.concurrency
        );
        let _ = writeln!(
            s,
            "   {:.0} streamed output tok/s ({} tokens, {} requests, {} failed); server CPU {:.0}% of its one core; client bound: {}  [{} vs target {:.0}]",
            e.output_tok_per_s,
            e.output_tokens,
            e.requests,
            e.failed,
            e.server_cpu_percent,
            e.client_bound,
            mark(e.output_tok_per_s >= TARGET_ENGINE_TOK_S && e.failed == 0),
            TARGET_ENGINE_TOK_S
        );
    }
    s
}
