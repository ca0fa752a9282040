//! The `local` executor: runs a plan's jobs on this machine, one engine server at a time.
//!
//! Results: `points/` (one JSON per measured point), `failed/`, `logs/`, `evals/`, and for
//! agentic points `inferencex/` (the same point as InferenceX's AgentX row).
//!
//! Jobs of one deployment (same config key and fingerprint) share a server: it is started once,
//! probed until healthy (with a deadline), benchmarked at each concurrency with InferenceX's
//! parameters, and stopped with its whole process group. Every point is written to the results
//! directory as soon as it is measured (write to a temporary file, then rename), so a sweep
//! killed at any moment, even with `kill -9`, loses nothing already measured; rerun, it skips
//! every stored point. A failed point (server never healthy, crash, client failure gate) is
//! recorded with its reason and the server log's tail, and the sweep goes on.

use crate::cluster::ClientSettings;
use crate::engine::{server_command, Engines, Launch, ServerCommand, HEALTH_PATH};
use crate::plan::{Job, Workload};
use crate::Recipes;
use serde::{Deserialize, Serialize};
use servebench_client::bench::over_failure_gate;
use servebench_client::runner::Progress;
use servebench_client::{Bench, BenchOptions};
use servebench_core::endpoint::BaseUrl;
use servebench_core::result::BenchResult;
use servebench_core::server_metrics;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Results directory: `points/` (one JSON per measured point), `failed/`, `logs/`.
    pub out: PathBuf,
    /// Attempts after the first for a failed point.
    pub retries: u32,
    /// Stop at the first failed point.
    pub fail_fast: bool,
    /// Run the plan's lowest-concurrency point first; stop if it fails.
    pub canary: bool,
    /// Real engines (the recipes' frameworks) or the simulated engine standing in for them.
    pub engines: Engines,
    /// The `servebench` binary (runs `framework: sim` servers).
    pub servebench: PathBuf,
    /// Tokenizer for prompts (and for simulated servers): a file, folder, HF id in the local
    /// cache or a built-in encoding.
    pub tokenizer: String,
    /// Deadline for a server to become healthy when its recipe sets none.
    pub health_timeout: Duration,
    /// Measured requests per unit of concurrency (InferenceX: 10) and warmups (2).
    pub prompts_per_conc: usize,
    pub warmups_per_conc: usize,
    /// Show a progress bar.
    pub progress: bool,
    /// Simulated engines run this many times faster than the modelled GPUs.
    pub sim_time_scale: Option<f64>,
    /// Measure GPU power over every point's window.
    pub power: Option<servebench_power::PowerSpec>,
    /// Run this accuracy eval at the points the plan marks (`run-eval`).
    pub eval: Option<EvalSpec>,
    /// Where real-engine multi-node rows' launch recipes are read from.
    pub recipes: crate::cluster::LaunchRecipes,
    /// Inside a Slurm allocation: run each step of a multi-node deployment in its job's image
    /// (pyxis/enroot) with these mounts.
    pub step_container: Option<Vec<String>>,
    /// How agentic-coding rows are replayed.
    pub agentic: AgenticSpec,
    /// Once spent, the points left are deferred to a later night (`OUT/deferred/`).
    pub budget: crate::budget::Budget,
}

/// How a sweep replays agentic-coding rows: InferenceX's AIPerf settings (start offsets in
/// [25 %, 75 %], 10 warmups per lane, pauses capped at 300 s, the row's duration), against a
/// trace file or sessions generated from a published profile (the corpora cannot be
/// downloaded at run time).
#[derive(Debug, Clone)]
pub struct AgenticSpec {
    /// A trace file and its format; `None`: sessions generated from `profile`.
    pub trace: Option<(PathBuf, servebench_dataset::trace::Format)>,
    /// A profile of `data/agentic-sessions.yaml`, and how many sessions to draw from it
    /// (InferenceX loads all 393 traces of its corpus).
    pub profile: String,
    pub sessions: u64,
    /// Overrides every row's duration (InferenceX: 3600 s; `agentx-fast` 1200 s).
    pub duration: Option<Duration>,
    pub warmups_per_lane: usize,
    pub pause_cap: Duration,
    pub seed: u64,
}

impl Default for AgenticSpec {
    fn default() -> Self {
        AgenticSpec {
            trace: None,
            profile: "agentx-062126".into(),
            sessions: 393,
            duration: None,
            warmups_per_lane: 10,
            pause_cap: Duration::from_secs(300),
            seed: 42,
        }
    }
}

/// Model families whose agentic rows replay InferenceX's 1M-context corpus; the others replay
/// its 256k variant, which leaves out every request of more than 256,000 tokens (InferenceX:
/// benchmarks/benchmark_lib.sh `resolve_trace_source`).
const MILLION_CONTEXT_PREFIXES: [&str; 4] = ["dsv4", "glm5.2", "minimaxm3", "kimik3"];
const CORPUS_256K_MAX_TOKENS: u32 = 256_000;

/// The accuracy eval a sweep runs at the points the plan marks for one (InferenceX's rule:
/// the highest and median concurrency ≥ 16 of each 8k/1k group), against the same server.
#[derive(Debug, Clone)]
pub struct EvalSpec {
    pub task: servebench_eval::Task,
    pub data: PathBuf,
    pub fewshot_data: Option<PathBuf>,
    pub num_fewshot: Option<usize>,
    pub limit: Option<usize>,
    pub concurrency: usize,
    pub max_tokens: u32,
    /// Overrides the catalog's threshold for the task and model.
    pub threshold: Option<f64>,
}

/// One stored eval (`OUT/evals/<point>.<task>.json`): the job, the concurrency its point ran
/// at, and the eval's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredEval {
    pub config_key: String,
    pub job: serde_json::Value,
    pub concurrency: u32,
    pub result: servebench_eval::EvalResult,
}

/// What the sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepSummary {
    pub points: usize,
    /// Already stored when the sweep started.
    pub skipped: usize,
    pub measured: usize,
    pub failed: usize,
    /// Not attempted (fail-fast or a failed canary).
    pub not_run: usize,
    /// Left for a later night: the budget was spent.
    pub deferred: usize,
    /// Evals run, already stored, that could not run, and below their threshold.
    pub evals: usize,
    pub evals_skipped: usize,
    pub evals_failed: usize,
    pub evals_below_threshold: usize,
}

/// One stored point: the job (InferenceX row) and its result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredPoint {
    pub config_key: String,
    pub job: serde_json::Value,
    pub concurrency: u32,
    pub server_command: String,
    /// The log of the server that served it, relative to the results directory.
    #[serde(default)]
    pub server_log: Option<String>,
    /// The server's `/metrics` before and after the point, where it serves them.
    #[serde(default)]
    pub server_metrics: Option<ServerMetrics>,
    /// A point simulated in virtual time: the simulator's deployment, knobs and expected
    /// error (`virtual_time::SimulatorInfo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulator: Option<serde_json::Value>,
    pub result: BenchResult,
}

/// A point that could not be measured, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailedPoint {
    pub config_key: String,
    pub job: serde_json::Value,
    pub concurrency: u32,
    pub attempts: u32,
    pub reason: String,
    pub log_tail: String,
    /// The result, when the client ran but failed its gate (kept: measured data is never lost).
    pub result: Option<BenchResult>,
}

/// The stem of a point's files: `<config-key>/<exp-name>_<fingerprint 16>_c<conc>`.
pub fn point_name(job: &Job, conc: u32) -> PathBuf {
    PathBuf::from(&job.config_key).join(format!(
        "{}_{}_c{conc}",
        job.exp_name,
        &job.fingerprint[..16]
    ))
}

/// `dir/name.ext`, the extension appended: `Path::with_extension` would replace whatever
/// follows a dot in the name (`qwen3.5_8k1k_…` became `qwen3.json`, every point one file).
pub(crate) fn named(dir: &Path, name: &Path, ext: &str) -> PathBuf {
    let mut file = dir.join(name).into_os_string();
    file.push(".");
    file.push(ext);
    file.into()
}

pub(crate) fn write_atomic(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(serde_json::to_string_pretty(value)?.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// A running engine server (its own process group); for a multi-node deployment, the router,
/// with its workers (stopped after it).
struct Server {
    child: Child,
    log: PathBuf,
    base_url: BaseUrl,
    /// Health checks and `/metrics` scrapes.
    http: servebench_http::Client,
    /// The command, as a shell line (stored with every point it measured).
    command: String,
    workers: Vec<Server>,
    /// The model name it serves, where not the job's (an srt-slurm recipe's
    /// `served-model-name`).
    model: Option<String>,
    /// What an agentic replay sends it besides the requests (an srt-slurm recipe's).
    client: ClientSettings,
    /// A deployment's process name (`prefill-0`, `etcd`), for what its errors say.
    name: String,
}

impl Server {
    /// The outer error is the results directory's (the sweep cannot go on); the inner one is
    /// the engine's, which fails this point only (e.g. the engine is not installed here).
    fn start(
        cmd: &ServerCommand,
        host: &str,
        port: u16,
        log: PathBuf,
    ) -> std::io::Result<Result<Server, String>> {
        if let Some(d) = log.parent() {
            std::fs::create_dir_all(d)?;
        }
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let mut c = Command::new(&cmd.program);
        c.args(&cmd.args)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0);
        // If the sweep dies (even by SIGKILL), its server is told to stop too.
        // SAFETY: prctl in the forked child before exec, async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = match c.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Err(format!(
                    "cannot start the server: '{}' is not installed here (not on the PATH); \
                     install the engine, run in its image (slurm: --container), or use \
                     --engines sim; command: {}",
                    cmd.program,
                    cmd.redacted_line()
                )))
            }
            Err(e) => {
                return Ok(Err(format!(
                    "cannot start the server ({e}): {}",
                    cmd.redacted_line()
                )))
            }
        };
        let base_url = BaseUrl::parse(&format!("http://{host}:{port}"))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let http = servebench_http::Client::local(base_url.clone(), Duration::from_secs(5))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Ok(Server {
            child,
            log,
            base_url,
            http,
            command: cmd.redacted_line(),
            workers: Vec::new(),
            model: None,
            client: ClientSettings::default(),
            name: "the server".into(),
        }))
    }

    /// Probes the health endpoint until it answers 200, the process exits or the deadline.
    fn wait_healthy(&mut self, deadline: Duration) -> Result<(), String> {
        self.wait_ok(HEALTH_PATH, deadline)
    }

    /// Probes `path` until it answers 200, the process exits or the deadline.
    fn wait_ok(&mut self, path: &str, deadline: Duration) -> Result<(), String> {
        let http = self.http.clone();
        self.wait_until(deadline, || http.get(path).is_ok_and(|r| r.status == 200))
    }

    /// Probes `path` on another port of the same host (an admin endpoint).
    fn wait_ok_on(&mut self, port: u16, path: &str, deadline: Duration) -> Result<(), String> {
        let url = format!("http://{}:{port}", self.base_url.host());
        let http = BaseUrl::parse(&url)
            .map_err(|e| e.to_string())
            .and_then(|u| {
                servebench_http::Client::local(u, Duration::from_secs(5)).map_err(|e| e.to_string())
            })?;
        self.wait_until(deadline, || http.get(path).is_ok_and(|r| r.status == 200))
    }

    /// Waits until the process accepts TCP connections on its port (etcd, NATS).
    fn wait_accepting(&mut self, deadline: Duration) -> Result<(), String> {
        let addr = format!("{}:{}", self.base_url.host(), self.base_url.port());
        self.wait_until(deadline, || {
            use std::net::ToSocketAddrs;
            addr.to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .is_some_and(|a| {
                    std::net::TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok()
                })
        })
    }

    /// Waits until Dynamo's frontend lists `prefill` and `decode` registered `generate`
    /// instances (srt-slurm's readiness rule), failing early if a worker exits.
    fn wait_instances(
        &mut self,
        prefill: u32,
        decode: u32,
        deadline: Duration,
    ) -> Result<(), String> {
        let http = self.http.clone();
        let mut seen = (0, 0);
        let r = self.wait_until(deadline, || {
            let Ok(r) = http.get(HEALTH_PATH) else {
                return false;
            };
            seen = crate::cluster::dynamo_instances(&r.text());
            seen.0 >= prefill && seen.1 >= decode
        });
        r.map_err(|e| {
            format!(
                "{e}: {} of {prefill} prefill and {} of {decode} decode workers registered",
                seen.0, seen.1
            )
        })
    }

    /// Polls `ready` until true, this process or one of its workers exits, or the deadline.
    fn wait_until(
        &mut self,
        deadline: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), String> {
        let t0 = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited ({status}) before it was healthy",
                    self.name
                ));
            }
            if let Some((name, status)) =
                self.workers
                    .iter_mut()
                    .find_map(|w| match w.child.try_wait() {
                        Ok(Some(status)) => Some((&w.name, status)),
                        _ => None,
                    })
            {
                return Err(format!(
                    "{name} exited ({status}) before the deployment was ready"
                ));
            }
            if ready() {
                return Ok(());
            }
            if t0.elapsed() > deadline {
                return Err(format!(
                    "the server was not healthy after {:.0} s",
                    deadline.as_secs_f64()
                ));
            }
            // Polling an external process: nothing to wait on but time.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None)) && self.workers.iter_mut().all(Server::alive)
    }

    /// The log's tail; a multi-node deployment's, each worker's that has exited too.
    fn log_tail(&mut self) -> String {
        let mut t = tail(&self.log, 40);
        for w in &mut self.workers {
            if !matches!(w.child.try_wait(), Ok(None)) {
                t.push_str(&format!(
                    "\n--- {} ---\n{}",
                    w.log.display(),
                    tail(&w.log, 20)
                ));
            }
        }
        t
    }
}

impl Drop for Server {
    /// SIGTERM to the whole process group, SIGKILL after 10 s.
    fn drop(&mut self) {
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our child's process group.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                // Children of the group that outlived the leader.
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// The server's Prometheus metrics (`/metrics`: llama.cpp, vLLM, SGLang), sample name with its
/// labels → value; None where it has none.
fn scrape_metrics(http: &servebench_http::Client) -> Option<BTreeMap<String, f64>> {
    let r = http.get("/metrics").ok()?;
    (r.status == 200).then(|| server_metrics::parse(&r.text()))
}

/// A server's metrics around one point: before, after, and the change of each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerMetrics {
    pub before: BTreeMap<String, f64>,
    pub after: BTreeMap<String, f64>,
    pub delta: BTreeMap<String, f64>,
}

impl ServerMetrics {
    fn between(before: BTreeMap<String, f64>, after: BTreeMap<String, f64>) -> ServerMetrics {
        let delta = server_metrics::delta(&before, &after);
        ServerMetrics {
            before,
            after,
            delta,
        }
    }
}

/// The last `lines` lines of a server's log (of its last 64 KiB), secrets masked.
fn tail(path: &Path, lines: usize) -> String {
    let text = servebench_core::redact::log_tail(path, 64 << 10).unwrap_or_default();
    let v: Vec<&str> = text.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A sweep's progress bar: `<what> [elapsed] bar done/total message`.
pub(crate) fn progress_bar(what: &str, len: usize) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(len as u64);
    b.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {{msg}}"
        ))
        .expect("template"),
    );
    b
}

/// One point: the job and one of its concurrencies.
struct Point<'a> {
    job: &'a Job,
    conc: u32,
}

/// Runs `jobs` (from `recipes`) locally; see the module documentation.
pub fn run(recipes: &Recipes, jobs: &[Job], o: &SweepOptions) -> std::io::Result<SweepSummary> {
    let points_dir = o.out.join("points");
    let mut all: Vec<Point> = jobs
        .iter()
        .flat_map(|j| j.conc.iter().map(move |&c| Point { job: j, conc: c }))
        .collect();
    if o.canary {
        if let Some(i) = (0..all.len()).min_by_key(|&i| all[i].conc) {
            let p = all.remove(i);
            all.insert(0, p);
        }
    }
    let mut summary = SweepSummary {
        // Eval-only rows measure no throughput.
        points: all.iter().filter(|p| !p.job.eval_only).count(),
        ..Default::default()
    };
    let stored = |p: &Point| named(&points_dir, &point_name(p.job, p.conc), "json").exists();
    let bar = o.progress.then(|| progress_bar("sweep", all.len()));
    let mut server: Option<(String, Server)> = None;
    let mut stop = false;
    let (t0, mut spent) = (std::time::Instant::now(), crate::budget::Spent::default());
    for (n, p) in all.iter().enumerate() {
        if stop {
            summary.not_run += 1;
            continue;
        }
        let mut ok = true;
        if p.job.eval_only {
            // An eval row: no throughput point.
        } else if stored(p) {
            summary.skipped += 1;
        } else if let Some(why) = o.budget.exhausted(&spent) {
            crate::budget::defer(&o.out, p.job, p.conc, &why)?;
            summary.deferred += 1;
            continue;
        } else {
            let started = std::time::Instant::now();
            ok = run_point(recipes, p, o, &mut server, &mut summary)?;
            // GPU-hours: the deployment's GPUs while the point had them; hours: since the start.
            spent.add(p.job, started.elapsed().as_secs_f64());
            spent.hours = t0.elapsed().as_secs_f64() / 3600.0;
            if !ok && (o.fail_fast || (o.canary && n == 0)) {
                stop = true;
            }
        }
        if let (Some(spec), true, true) = (&o.eval, ok, p.job.run_eval == Some(true)) {
            run_eval(recipes, p, spec, o, &mut server, &mut summary)?;
        }
        if let Some(b) = &bar {
            b.set_position(n as u64 + 1);
            b.set_message(format!(
                "{} measured, {} failed, {} stored before",
                summary.measured, summary.failed, summary.skipped
            ));
        }
    }
    drop(server);
    if let Some(b) = bar {
        b.finish();
    }
    Ok(summary)
}

/// The eval at a point, unless stored: against the deployment's server (started if need
/// be), its result and per-question records written under `OUT/evals/`, or why it could not
/// run under `OUT/failed/`.
fn run_eval(
    recipes: &Recipes,
    p: &Point,
    spec: &EvalSpec,
    o: &SweepOptions,
    server: &mut Option<(String, Server)>,
    summary: &mut SweepSummary,
) -> std::io::Result<()> {
    let job = p.job;
    let name = point_name(job, p.conc);
    let file = |dir: &str, ext: &str| eval_file(&o.out, dir, &name, spec.task, ext);
    if file("evals", "json").exists() {
        summary.evals_skipped += 1;
        return Ok(());
    }
    let failed = |reason: String, summary: &mut SweepSummary| {
        summary.evals_failed += 1;
        write_atomic(
            &file("failed", "eval.json"),
            &serde_json::json!({"config_key": job.config_key, "job": job.ix_row(),
                                "concurrency": p.conc, "task": spec.task, "reason": reason}),
        )
    };
    let s = match ensure_server(recipes, job, &name, o, server)? {
        Ok(s) => s,
        Err(ServerFailure::Fatal(e) | ServerFailure::Unhealthy(e, _)) => return failed(e, summary),
    };
    let threshold = servebench_catalog::Catalog::builtin().ok().and_then(|c| {
        servebench_eval::Threshold::resolve(
            spec.threshold,
            "--eval-threshold",
            spec.task,
            &job.model,
            &c,
        )
    });
    let eo = servebench_eval::EvalOptions {
        base_url: s.base_url.clone(),
        tls: Default::default(),
        model: job.model.clone(),
        task: spec.task,
        data: spec.data.clone(),
        fewshot_data: spec.fewshot_data.clone(),
        num_fewshot: spec.num_fewshot,
        limit: spec.limit,
        concurrency: spec.concurrency,
        retries: 5,
        request_timeout: Duration::from_secs(1800),
        max_tokens: spec.max_tokens,
        temperature: 0.0,
        seed: 0,
        api_key: None,
        extra_body: None,
        threshold,
    };
    match servebench_eval::run(&eo, &|_, _| {}) {
        Ok((result, samples)) => {
            if result.passed == Some(false) {
                summary.evals_below_threshold += 1;
            }
            let mut lines = Vec::new();
            for r in &samples {
                serde_json::to_writer(&mut lines, r)?;
                lines.push(b'\n');
            }
            let path = file("evals", "samples.jsonl");
            std::fs::create_dir_all(path.parent().expect("under OUT"))?;
            std::fs::write(&path, lines)?;
            write_atomic(
                &file("evals", "json"),
                &StoredEval {
                    config_key: job.config_key.clone(),
                    job: job.ix_row(),
                    concurrency: p.conc,
                    result,
                },
            )?;
            let _ = std::fs::remove_file(file("failed", "eval.json"));
            summary.evals += 1;
            Ok(())
        }
        Err(e) => failed(e.to_string(), summary),
    }
}

/// `OUT/<dir>/<point>.<task>.<ext>`: where a point's eval (`evals`, `json` / `samples.jsonl`)
/// or its failure (`failed`, `eval.json`) is written.
fn eval_file(
    out: &Path,
    dir: &str,
    point: &Path,
    task: servebench_eval::Task,
    ext: &str,
) -> PathBuf {
    let mut f = out.join(dir).join(point).into_os_string();
    f.push(format!(".{task}.{ext}"));
    PathBuf::from(f)
}

/// What the results directory holds of `task`'s evals at the points `jobs` mark: (stored,
/// could not run, stored but below their threshold). A cluster sweep's orchestrator counts
/// its tasks' evals this way.
pub fn eval_counts(out: &Path, jobs: &[Job], task: servebench_eval::Task) -> (usize, usize, usize) {
    let (mut stored, mut failed, mut below) = (0, 0, 0);
    for j in jobs.iter().filter(|j| j.run_eval == Some(true)) {
        for &c in &j.conc {
            let name = point_name(j, c);
            let path = eval_file(out, "evals", &name, task, "json");
            if let Ok(bytes) = std::fs::read(&path) {
                stored += 1;
                let e: Result<StoredEval, _> = serde_json::from_slice(&bytes);
                if e.is_ok_and(|e| e.result.passed == Some(false)) {
                    below += 1;
                }
            } else if eval_file(out, "failed", &name, task, "eval.json").exists() {
                failed += 1;
            }
        }
    }
    (stored, failed, below)
}

/// Why no server could be had for a deployment.
enum ServerFailure {
    /// It cannot work here (no adapter, engine not installed): retrying will not help.
    Fatal(String),
    /// It started but did not become healthy: the reason and its log's tail.
    Unhealthy(String, String),
}

/// The server of `job`'s deployment: the running one if it is this deployment's and alive,
/// else a new one once healthy (the previous one stopped first). The outer error is the
/// results directory's.
fn ensure_server<'s>(
    recipes: &Recipes,
    job: &Job,
    name: &Path,
    o: &SweepOptions,
    server: &'s mut Option<(String, Server)>,
) -> std::io::Result<Result<&'s mut Server, ServerFailure>> {
    let recipe = recipes
        .get(&job.config_key)
        .expect("planned from these recipes");
    let group = format!("{}#{}", job.config_key, job.fingerprint);
    let reuse = match server.as_mut() {
        Some((g, s)) => *g == group && s.alive(),
        None => false,
    };
    if !reuse {
        *server = None; // stops the previous one
        if matches!(job.topology, crate::plan::Topology::Multi { .. }) {
            let s = match start_cluster(job, name, o, recipe)? {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            *server = Some((group, s));
            return Ok(Ok(&mut server.as_mut().expect("started").1));
        }
        let port = free_port()?;
        let launch = Launch {
            engines: o.engines,
            host: "127.0.0.1".into(),
            port,
            servebench: o.servebench.clone(),
            tokenizer: o.tokenizer.clone(),
            sim_time_scale: o.sim_time_scale,
            recipes: o.recipes.clone(),
        };
        let mut cmd = match server_command(job, recipe, &launch) {
            Ok(c) => c,
            Err(e) => return Ok(Err(ServerFailure::Fatal(e))),
        };
        // Engine settings files beside the server logs.
        cmd.place_files(&o.out.join("logs"))?;
        let log = named(&o.out.join("logs"), name, "log");
        let mut s = match Server::start(&cmd, &launch.host, port, log)? {
            Ok(s) => s,
            Err(e) => return Ok(Err(ServerFailure::Fatal(e))),
        };
        let deadline = recipe
            .health_timeout
            .map_or(o.health_timeout, Duration::from_secs);
        if let Err(e) = s.wait_healthy(deadline) {
            return Ok(Err(ServerFailure::Unhealthy(e, s.log_tail())));
        }
        *server = Some((group, s));
    }
    Ok(Ok(&mut server.as_mut().expect("started").1))
}

/// A multi-node deployment: its infra processes and then every worker started on its node
/// (through `srun` inside a Slurm allocation), then the router in front of them, here; ready
/// when the deployment says (health endpoints, or Dynamo's registered instances).
fn start_cluster(
    job: &Job,
    name: &Path,
    o: &SweepOptions,
    recipe: &crate::recipe::Recipe,
) -> std::io::Result<Result<Server, ServerFailure>> {
    use crate::cluster::{as_step, Probe, Ready, StepContainer, WorkerProcess};
    let nodes = crate::cluster::allocation_nodes()?;
    let launch = Launch {
        engines: o.engines,
        host: nodes[0].addr.clone(),
        port: 0,
        servebench: o.servebench.clone(),
        tokenizer: o.tokenizer.clone(),
        sim_time_scale: o.sim_time_scale,
        recipes: o.recipes.clone(),
    };
    // One node (this one): free ports here, each held until all are picked so no two
    // processes of the job get the same one; several nodes: fixed ones, each node the job's own.
    let mut next = crate::cluster::FIRST_PORT;
    let mut held: Vec<std::net::TcpListener> = Vec::new();
    let port = || -> std::io::Result<u16> {
        if nodes.len() == 1 {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            let p = l.local_addr()?.port();
            held.push(l);
            return Ok(p);
        }
        next += 1;
        Ok(next - 1)
    };
    let d = crate::cluster::deployment(job, &launch, &nodes, port);
    drop(held);
    let d = match d {
        Ok(d) => d,
        Err(e) => return Ok(Err(ServerFailure::Fatal(e))),
    };
    let in_slurm = std::env::var_os("SLURM_JOB_ID").is_some();
    if runs_real_engines(&d) && !in_slurm {
        return Ok(Err(ServerFailure::Fatal(format!(
            "{}: a real-engine multi-node deployment runs its workers as steps of a Slurm allocation: run it with --executor slurm",
            job.config_key
        ))));
    }
    let container = o
        .step_container
        .as_ref()
        .filter(|_| in_slurm)
        .map(|mounts| StepContainer {
            image: job.image.clone(),
            mounts: mounts
                .iter()
                .cloned()
                .chain(d.mounts.iter().map(|m| format!("{0}:{0}", m.display())))
                .collect(),
        });
    let logs = o.out.join("logs");
    let deadline = recipe
        .health_timeout
        .map_or(o.health_timeout, Duration::from_secs);
    let start = |p: &WorkerProcess| -> std::io::Result<Result<Server, ServerFailure>> {
        let mut cmd = if in_slurm {
            as_step(p, &nodes, container.as_ref(), &d.srun_options)
        } else {
            p.command.clone()
        };
        cmd.place_files(&named(&logs, name, "files"))?;
        let addr = &nodes[p.node()].addr;
        let log = named(&logs, name, &format!("{}.log", p.name));
        let s = Server::start(&cmd, addr, p.port.unwrap_or(0), log)?;
        Ok(s.map(|mut s| {
            s.name = p.name.clone();
            s
        })
        .map_err(ServerFailure::Fatal))
    };
    let mut procs = Vec::new();
    for p in &d.infra {
        let mut s = match start(p)? {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = s.wait_accepting(deadline) {
            return Ok(Err(ServerFailure::Unhealthy(
                format!("{}: {e}", p.name),
                s.log_tail(),
            )));
        }
        procs.push(s);
    }
    let mut workers = Vec::new();
    for w in &d.workers {
        match start(w)? {
            Ok(s) => workers.push(s),
            Err(e) => return Ok(Err(e)),
        }
    }
    // Started together, checked in turn: they come up side by side.
    for (w, spec) in workers.iter_mut().zip(&d.workers) {
        if spec.port.is_none() {
            continue; // registers with the router instead
        }
        let up = match d.ready {
            Ready::Probes {
                workers: Probe::Accepting,
                ..
            } => w.wait_accepting(deadline),
            Ready::Probes {
                workers: Probe::Ok(path),
                ..
            } => w.wait_ok(path, deadline),
            _ => w.wait_healthy(deadline),
        };
        if let Err(e) = up {
            return Ok(Err(ServerFailure::Unhealthy(e, w.log_tail())));
        }
    }
    let mut frontends = Vec::new();
    for f in &d.frontends {
        match start(f)? {
            Ok(s) => frontends.push(s),
            Err(e) => return Ok(Err(e)),
        }
    }
    let mut router = match start(&d.router)? {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    workers.splice(0..0, frontends);
    router.command = std::iter::once(router.command.clone())
        .chain(workers.iter().chain(&procs).map(|w| w.command.clone()))
        .collect::<Vec<_>>()
        .join("\n");
    // Stopped after the router: workers first, the infra they report to last.
    workers.extend(procs);
    router.workers = workers;
    router.model = d.served_model.clone();
    router.client = d.client.clone();
    let ready = match d.ready {
        Ready::Health => router.wait_healthy(deadline),
        Ready::Probes {
            router: path,
            router_port,
            ..
        } => match router_port {
            None => router.wait_ok(path, deadline),
            Some(port) => router.wait_ok_on(port, path, deadline),
        },
        Ready::DynamoInstances { prefill, decode } => {
            router.wait_instances(prefill, decode, deadline)
        }
    };
    if let Err(e) = ready {
        return Ok(Err(ServerFailure::Unhealthy(e, router.log_tail())));
    }
    Ok(Ok(router))
}

/// A deployment of real engines (not simulated workers behind the simulated router).
fn runs_real_engines(d: &crate::cluster::ClusterDeployment) -> bool {
    d.ready != crate::cluster::Ready::Health
}

/// Measures one point (with retries); `Ok(false)` when it failed (and was recorded).
fn run_point(
    recipes: &Recipes,
    p: &Point,
    o: &SweepOptions,
    server: &mut Option<(String, Server)>,
    summary: &mut SweepSummary,
) -> std::io::Result<bool> {
    let job = p.job;
    let name = point_name(job, p.conc);
    let mut attempts = 0;
    let mut last_err = String::new();
    let mut last_result = None;
    let mut log_tail = String::new();
    while attempts <= o.retries {
        attempts += 1;
        let s = match ensure_server(recipes, job, &name, o, server)? {
            Ok(s) => s,
            Err(ServerFailure::Fatal(e)) => {
                last_err = e;
                break; // not retryable
            }
            Err(ServerFailure::Unhealthy(e, tail)) => {
                last_err = e;
                log_tail = tail;
                continue;
            }
        };
        let before = scrape_metrics(&s.http);
        let measured = bench(job, p.conc, s, o);
        let server_metrics = before
            .zip(scrape_metrics(&s.http))
            .map(|(b, a)| ServerMetrics::between(b, a));
        match measured {
            Ok(result) => {
                if over_failure_gate(&result) || result.completed == 0 {
                    last_err = format!(
                        "{} of {} requests failed (gate {:.0}%)",
                        result.failed,
                        result.failed + result.completed,
                        result.failures.max_failure_rate * 100.0
                    );
                    last_result = Some(result);
                    log_tail = s.log_tail();
                    if !s.alive() {
                        *server = None;
                    }
                    continue;
                }
                let stored = StoredPoint {
                    config_key: job.config_key.clone(),
                    job: job.ix_row(),
                    concurrency: p.conc,
                    server_command: s.command.clone(),
                    server_log: s
                        .log
                        .strip_prefix(&o.out)
                        .ok()
                        .map(|p| p.display().to_string()),
                    server_metrics,
                    simulator: None,
                    result,
                };
                let path = named(&o.out.join("points"), &name, "json");
                write_atomic(&path, &stored)?;
                // An agentic point also as InferenceX's AgentX row, beside it.
                let counters = stored.server_metrics.as_ref().map(|m| &m.delta);
                if let Some(row) = crate::agentx::row(job, p.conc, &stored.result, counters) {
                    write_atomic(&named(&o.out.join("inferencex"), &name, "json"), &row)?;
                }
                let _ = std::fs::remove_file(named(&o.out.join("failed"), &name, "json"));
                summary.measured += 1;
                return Ok(true);
            }
            Err(e) => {
                last_err = e;
                log_tail = s.log_tail();
                *server = None;
            }
        }
    }
    let failed = FailedPoint {
        config_key: job.config_key.clone(),
        job: job.ix_row(),
        concurrency: p.conc,
        attempts,
        reason: last_err,
        log_tail,
        result: last_result,
    };
    write_atomic(&named(&o.out.join("failed"), &name, "json"), &failed)?;
    summary.failed += 1;
    Ok(false)
}

/// One `bench` point with InferenceX's parameters.
fn bench(job: &Job, conc: u32, s: &Server, o: &SweepOptions) -> Result<BenchResult, String> {
    let c = conc as usize;
    let base_url = &s.base_url;
    let mut opts = BenchOptions {
        base_url: base_url.clone(),
        model: s.model.as_deref().unwrap_or(&job.model).to_string(),
        concurrency: vec![c],
        tokenizer: Some(o.tokenizer.clone()),
        ignore_eos: true,
        num_gpus: Some(job.gpus()),
        tokenize_probe: 0,
        ..Default::default()
    };
    match job.workload {
        Workload::Fixed { isl, osl } => {
            opts.isl = isl;
            opts.osl = osl;
            opts.range_ratio = 0.8;
            opts.num_prompts = Some(o.prompts_per_conc * c);
            opts.warmups = Some(o.warmups_per_conc * c);
        }
        Workload::Agentic { duration_s, .. } => {
            agentic_options(job, duration_s, o, &s.client, &mut opts)
        }
    }
    let b = Bench::prepare(opts).map_err(|e| e.to_string())?;
    let point = b.points()[0];
    let workload = match job.workload {
        Workload::Fixed { .. } => Ok(b.dataset(point).map_err(|e| e.to_string())?),
        Workload::Agentic { .. } => Err(b.trace().map_err(|e| e.to_string())?),
    };
    // Sampling starts before the warmups, so the measured window is bracketed.
    let power = o
        .power
        .as_ref()
        .map(|p| p.start(base_url, Some(job.gpus())))
        .transpose()
        .map_err(|e| e.to_string())?;
    let progress = Arc::new(Progress::default());
    let mut result = match workload {
        Ok(ds) => b.run_point(point, ds, progress).result,
        Err(trace) => b.run_replay(c, &trace, progress, None).result,
    };
    if let Some((rec, checks)) = &power {
        result.power = Some(servebench_power::measure(rec, &result, checks));
    }
    Ok(result)
}

/// The client settings of an agentic row: the trace (a file, or generated sessions), the
/// row's duration, the corpus's context rule (and the deployment's own limit), and the session
/// headers for affinity routers: the deployment's, else `X-Session-ID`.
fn agentic_options(
    job: &Job,
    duration_s: u32,
    o: &SweepOptions,
    deployment: &ClientSettings,
    opts: &mut BenchOptions,
) {
    let a = &o.agentic;
    opts.dataset = servebench_dataset::DatasetKind::Trace;
    opts.seed = a.seed;
    opts.duration = Some(a.duration.unwrap_or(Duration::from_secs(duration_s.into())));
    opts.replay.warmups_per_lane = a.warmups_per_lane;
    opts.replay.pause_cap = a.pause_cap;
    opts.replay.session_headers = if deployment.session_headers.is_empty() {
        vec!["X-Session-ID".into()]
    } else {
        deployment.session_headers.clone()
    };
    opts.replay.within_server_context = true;
    match &a.trace {
        Some((path, format)) => {
            opts.dataset_path = Some(path.clone());
            opts.replay.format = *format;
        }
        None => {
            opts.replay.profile = Some(a.profile.clone());
            opts.replay.sessions = a.sessions;
        }
    }
    let million = MILLION_CONTEXT_PREFIXES
        .iter()
        .any(|p| job.model_prefix.starts_with(p));
    if !million {
        opts.replay.max_context = Some(CORPUS_256K_MAX_TOKENS);
    }
    if let Some(limit) = deployment.max_context {
        opts.replay.max_context = Some(opts.replay.max_context.map_or(limit, |m| m.min(limit)));
    }
    // Addresses the deployment built from the allocation's nodes and its own ports.
    let urls = |v: &[String]| v.iter().filter_map(|u| BaseUrl::parse(u).ok()).collect();
    opts.replay.server_metrics_urls = urls(&deployment.metrics_urls);
    opts.replay.server_gauge_urls = urls(&deployment.gauge_urls);
}
