//! GitHub Actions: the matrices of a sweep's jobs and the workflows that run them, built as
//! YAML data (serde_norway values, written by its emitter), never as formatted text.
//!
//! - [`matrices`]: jobs as matrix entries (the InferenceX row, the job's index in the plan a
//!   runner plans again, a unique artifact name), at most [`GHA_MAX_MATRIX`] to a matrix;
//! - [`sweep_workflow`]: `sweep --executor gha`'s workflow, run by hand;
//! - [`nightly_workflow`]: `servebench export gha`'s scheduled nightly: plan what changed, fan
//!   out, collect, store, report, publish (`docs/nightly.md`).

use crate::plan::Job;
use serde_norway::{Mapping, Value};
use servebench_core::shell::quote as shell_quote;

/// GitHub Actions accepts at most this many jobs in one matrix.
pub const GHA_MAX_MATRIX: usize = 256;

/// Every artifact a runner uploads is named with this prefix (the collector downloads them
/// by it).
pub const ARTIFACT_PREFIX: &str = "sb-";

/// A job's unique artifact / object name: `<exp-name>_<fingerprint 12>_c<concurrencies>`,
/// in the characters every target accepts.
pub fn job_name(job: &Job) -> String {
    let conc: Vec<String> = job.conc.iter().map(u32::to_string).collect();
    let raw = format!(
        "{}_{}_c{}",
        job.exp_name,
        &job.fingerprint[..12.min(job.fingerprint.len())],
        conc.join("-")
    );
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The matrices of `jobs` (each with its index in the plan a runner plans again and the
/// concurrencies it measures of it), at most [`GHA_MAX_MATRIX`] entries each:
/// `{"include": [row + job-index + job-conc + artifact-name]}`.
pub fn matrices(jobs: &[(usize, &Job)]) -> Vec<serde_json::Value> {
    let entries: Vec<serde_json::Value> = jobs
        .iter()
        .map(|&(i, j)| {
            let mut row = j.ix_row();
            row["job-index"] = i.into();
            // The concurrencies of the job its runner measures (some may be carried over).
            let conc: Vec<String> = j.conc.iter().map(u32::to_string).collect();
            row["job-conc"] = conc.join(",").into();
            // Unique even when two jobs share a name (the index is part of it).
            row["artifact-name"] = format!("{ARTIFACT_PREFIX}{}_{i}", job_name(j)).into();
            row
        })
        .collect();
    entries
        .chunks(GHA_MAX_MATRIX)
        .map(|c| serde_json::json!({ "include": c }))
        .collect()
}

/// The output name of matrix `k` (`m000`).
pub fn matrix_output(k: usize) -> String {
    format!("m{k:03}")
}

/// A mapping in the order given.
fn map<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(Value::String(k.to_string()), v);
    }
    Value::Mapping(m)
}

fn s(x: impl Into<String>) -> Value {
    Value::String(x.into())
}

fn seq(v: impl IntoIterator<Item = Value>) -> Value {
    Value::Sequence(v.into_iter().collect())
}

/// `${{ expr }}`.
fn expr(e: &str) -> String {
    format!("${{{{ {e} }}}}")
}

/// A command line for a `run:` step, each argument quoted for the shell (an argument that is
/// a `${{ }}` expression or a shell variable is left for GitHub and the shell to expand).
fn command(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.starts_with("${{") || a.starts_with("\"$") {
                a.clone()
            } else {
                shell_quote(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn checkout() -> Value {
    map([("uses", s("actions/checkout@v4"))])
}

fn run_step(name: &str, run: String) -> Value {
    map([("name", s(name)), ("run", s(run))])
}

/// The jobs that run matrices `0..k`: each entry one job of the plan on its own runner label,
/// its results uploaded as an artifact; `matrix_of(k)` says where matrix `k` comes from.
fn run_jobs(
    jobs: &mut Mapping,
    k: usize,
    setup: &str,
    install: &[Value],
    task: &[String],
    skip_empty: bool,
) {
    for m in 0..k {
        let output = format!("needs.{setup}.outputs.{}", matrix_output(m));
        let mut steps = vec![checkout()];
        steps.extend(install.iter().cloned());
        let mut cmd = task.to_vec();
        cmd.extend([
            "--job-index".into(),
            expr("matrix.job-index"),
            "--job-conc".into(),
            expr("matrix.job-conc"),
        ]);
        steps.push(run_step("Run the job", command(&cmd)));
        steps.push(map([
            ("if", s(expr("always()"))),
            ("uses", s("actions/upload-artifact@v4")),
            (
                "with",
                map([
                    ("name", s(expr("matrix.artifact-name"))),
                    ("path", s("results/")),
                    ("if-no-files-found", s("ignore")),
                ]),
            ),
        ]));
        let mut job = Mapping::new();
        job.insert(s("needs"), s(setup));
        if skip_empty {
            job.insert(s("if"), s(expr(&format!("{output} != ''"))));
        }
        job.insert(
            s("strategy"),
            map([
                ("fail-fast", Value::Bool(false)),
                ("matrix", s(expr(&format!("fromJSON({output})")))),
            ]),
        );
        job.insert(s("runs-on"), s(expr("matrix.runner")));
        job.insert(s("steps"), seq(steps));
        jobs.insert(s(format!("run-{m:03}")), Value::Mapping(job));
    }
}

/// `sweep --executor gha`'s workflow: a setup job reads the `k` matrix files written beside it
/// (`dir`, as the repository holds them) into outputs, one job runs each matrix.
pub fn sweep_workflow(k: usize, task: &[String], dir: &str) -> Value {
    let outputs: Vec<(String, Value)> = (0..k)
        .map(|m| {
            let o = matrix_output(m);
            (o.clone(), s(expr(&format!("steps.m.outputs.{o}"))))
        })
        .collect();
    let read: Vec<String> = (0..k)
        .map(|m| {
            let o = matrix_output(m);
            format!(
                "echo \"{o}=$(jq -c . {})\" >> \"$GITHUB_OUTPUT\"",
                shell_quote(&format!("{dir}/matrix-{m:03}.json"))
            )
        })
        .collect();
    let mut setup = Mapping::new();
    setup.insert(s("runs-on"), s("ubuntu-latest"));
    setup.insert(
        s("outputs"),
        Value::Mapping(outputs.into_iter().map(|(k, v)| (s(k), v)).collect()),
    );
    setup.insert(
        s("steps"),
        seq([
            checkout(),
            map([("id", s("m")), ("run", s(read.join("\n") + "\n"))]),
        ]),
    );
    let mut jobs = Mapping::new();
    jobs.insert(s("setup"), Value::Mapping(setup));
    run_jobs(&mut jobs, k, "setup", &[], task, false);
    map([
        ("name", s("servebench-sweep")),
        (
            "on",
            map([("workflow_dispatch", Value::Mapping(Mapping::new()))]),
        ),
        ("jobs", Value::Mapping(jobs)),
    ])
}

/// Where a nightly workflow keeps its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreAt {
    /// A PostgreSQL URL in this repository secret (a fleet's shared database).
    Secret(String),
    /// An SQLite file carried from night to night in the Actions cache, and uploaded as an
    /// artifact each night.
    SqliteCache(String),
}

/// What `servebench export gha` writes (`docs/nightly.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct NightlyWorkflow {
    /// When it runs (cron, UTC).
    pub cron: String,
    /// Pushes to `branch` touching these paths run it too (recipes, changelog, priority).
    pub branch: String,
    pub paths: Vec<String>,
    /// The shell lines that put `servebench` on a runner's PATH.
    pub install: Vec<String>,
    pub store: StoreAt,
    /// `servebench nightly --executor gha …`: writes the matrices of what changed.
    pub plan: Vec<String>,
    /// What a runner runs for one matrix entry (without `--job-index`).
    pub task: Vec<String>,
    /// `servebench nightly --executor collected …`: stores, reports, publishes.
    pub collect: Vec<String>,
    /// Where `collect` expects the runners' results (`OUT/RUN`).
    pub results: String,
    /// How many matrices the plan can fill (its jobs ÷ 256, rounded up).
    pub matrices: usize,
    /// Publish the site to GitHub Pages.
    pub pages: bool,
}

/// The scheduled nightly workflow.
pub fn nightly_workflow(n: &NightlyWorkflow) -> Value {
    let install: Vec<Value> = n
        .install
        .iter()
        .map(|line| run_step("Install servebench", line.clone()))
        .collect();
    let (env, restore, save) = store_steps(&n.store);
    let mut jobs = Mapping::new();
    jobs.insert(s("plan"), plan_job(n, &install, &restore));
    run_jobs(&mut jobs, n.matrices, "plan", &install, &n.task, true);
    jobs.insert(s("collect"), collect_job(n, &install, &restore, &save));
    if n.pages {
        jobs.insert(s("deploy"), deploy_job());
    }
    let mut permissions = Mapping::new();
    permissions.insert(s("contents"), s("read"));
    if n.pages {
        permissions.insert(s("pages"), s("write"));
        permissions.insert(s("id-token"), s("write"));
    }
    map([
        ("name", s("servebench nightly")),
        (
            "on",
            map([
                ("schedule", seq([map([("cron", s(n.cron.clone()))])])),
                (
                    "push",
                    map([
                        ("branches", seq([s(n.branch.clone())])),
                        ("paths", seq(n.paths.iter().cloned().map(s))),
                    ]),
                ),
                ("workflow_dispatch", Value::Mapping(Mapping::new())),
            ]),
        ),
        // One night at a time: a night compares with the run the one before stored.
        (
            "concurrency",
            map([
                ("group", s("servebench-nightly")),
                ("cancel-in-progress", Value::Bool(false)),
            ]),
        ),
        ("permissions", Value::Mapping(permissions)),
        ("env", env),
        ("jobs", Value::Mapping(jobs)),
    ])
}

/// The workflow's environment (the store) and the steps that restore and save it.
fn store_steps(store: &StoreAt) -> (Value, Vec<Value>, Vec<Value>) {
    match store {
        StoreAt::Secret(name) => (
            map([("SERVEBENCH_STORE", s(expr(&format!("secrets.{name}"))))]),
            Vec::new(),
            Vec::new(),
        ),
        StoreAt::SqliteCache(file) => {
            let key = format!("servebench-store-{}", expr("github.run_id"));
            let restore = map([
                ("uses", s("actions/cache/restore@v4")),
                (
                    "with",
                    map([
                        ("path", s(file.clone())),
                        ("key", s(key.clone())),
                        ("restore-keys", s("servebench-store-")),
                    ]),
                ),
            ]);
            let save = vec![
                map([
                    ("if", s(expr("always()"))),
                    ("uses", s("actions/cache/save@v4")),
                    ("with", map([("path", s(file.clone())), ("key", s(key))])),
                ]),
                map([
                    ("if", s(expr("always()"))),
                    ("uses", s("actions/upload-artifact@v4")),
                    (
                        "with",
                        map([
                            ("name", s("servebench-store")),
                            ("path", s(file.clone())),
                            ("if-no-files-found", s("ignore")),
                        ]),
                    ),
                ]),
            ];
            (
                map([("SERVEBENCH_STORE", s(format!("sqlite:{file}")))]),
                vec![restore],
                save,
            )
        }
    }
}

fn plan_job(n: &NightlyWorkflow, install: &[Value], restore: &[Value]) -> Value {
    let outputs: Mapping = (0..n.matrices)
        .map(|m| {
            let o = matrix_output(m);
            (s(o.clone()), s(expr(&format!("steps.plan.outputs.{o}"))))
        })
        .collect();
    let mut steps = vec![checkout()];
    steps.extend(restore.iter().cloned());
    steps.extend(install.iter().cloned());
    let mut cmd = n.plan.clone();
    cmd.extend(["--gha-output".into(), "\"$GITHUB_OUTPUT\"".into()]);
    steps.push(map([
        ("id", s("plan")),
        ("name", s("Plan what changed since the last night")),
        ("run", s(command(&cmd))),
    ]));
    map([
        ("runs-on", s("ubuntu-latest")),
        ("outputs", Value::Mapping(outputs)),
        ("steps", seq(steps)),
    ])
}

fn collect_job(n: &NightlyWorkflow, install: &[Value], restore: &[Value], save: &[Value]) -> Value {
    let needs = std::iter::once(s("plan")).chain((0..n.matrices).map(|m| s(format!("run-{m:03}"))));
    let mut steps = vec![checkout()];
    steps.extend(restore.iter().cloned());
    steps.extend(install.iter().cloned());
    steps.push(map([
        ("uses", s("actions/download-artifact@v4")),
        (
            "with",
            map([
                ("pattern", s(format!("{ARTIFACT_PREFIX}*"))),
                ("merge-multiple", Value::Bool(true)),
                ("path", s(n.results.clone())),
            ]),
        ),
    ]));
    let mut cmd = n.collect.clone();
    cmd.extend(["--summary".into(), "\"$GITHUB_STEP_SUMMARY\"".into()]);
    steps.push(run_step(
        "Store the night, report its movements and regressions, write the site",
        command(&cmd),
    ));
    steps.extend(save.iter().cloned());
    if n.pages {
        steps.push(map([
            ("if", s(expr("always()"))),
            ("uses", s("actions/upload-pages-artifact@v3")),
            ("with", map([("path", s("site"))])),
        ]));
    }
    map([
        ("needs", seq(needs)),
        // After every runner, whatever became of them: a failed point never loses the rest.
        ("if", s(expr("!cancelled()"))),
        ("runs-on", s("ubuntu-latest")),
        ("steps", seq(steps)),
    ])
}

fn deploy_job() -> Value {
    map([
        ("needs", s("collect")),
        ("if", s(expr("!cancelled()"))),
        ("runs-on", s("ubuntu-latest")),
        (
            "environment",
            map([
                ("name", s("github-pages")),
                ("url", s(expr("steps.deployment.outputs.page_url"))),
            ]),
        ),
        (
            "steps",
            seq([map([
                ("id", s("deployment")),
                ("uses", s("actions/deploy-pages@v4")),
            ])]),
        ),
    ])
}

/// A workflow as YAML text, with a header saying what wrote it.
pub fn to_yaml(header: &str, workflow: &Value) -> Result<String, serde_norway::Error> {
    let body = serde_norway::to_string(workflow)?;
    let comments: String = header.lines().map(|l| format!("# {l}\n")).collect();
    let end = if body.ends_with('\n') { "" } else { "\n" };
    Ok(comments + &body + end)
}
