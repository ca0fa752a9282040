//! `servebench export gha` (`docs/nightly.md`): the workflow read back with a YAML parser and
//! checked by actionlint's rules that apply to it (written here, independent of the builder),
//! and its stages run as the runners would run them, GitHub's own part (scheduling, matrices,
//! artifacts) done by the test: two nights end to end.

mod common;

use common::*;
use serde_json::Value as Json;
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).into_owned()
}
/// Every `${{ … }}` expression in a text.
fn expressions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${{") {
        let Some(j) = rest[i..].find("}}") else {
            out.push(format!("unclosed: {}", &rest[i..]));
            break;
        };
        out.push(rest[i + 3..i + j].trim().to_string());
        rest = &rest[i + j + 2..];
    }
    out
}

/// Every string in a YAML value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(q) => q.iter().for_each(|x| strings(x, out)),
        Value::Mapping(m) => m.iter().for_each(|(k, x)| {
            strings(k, out);
            strings(x, out);
        }),
        _ => {}
    }
}

fn key(v: &Value) -> &str {
    v.as_str().unwrap_or("?")
}

/// actionlint's checks that apply to a generated workflow: the problems found.
fn actionlint(w: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let top: BTreeSet<&str> = w.as_mapping().unwrap().keys().map(key).collect();
    let allowed = [
        "name",
        "run-name",
        "on",
        "permissions",
        "env",
        "defaults",
        "concurrency",
        "jobs",
    ];
    for k in &top {
        if !allowed.contains(k) {
            p.push(format!("unknown top-level key {k}"));
        }
    }
    for s in w["on"]["schedule"].as_sequence().into_iter().flatten() {
        let cron = s["cron"].as_str().unwrap_or("");
        if cron.split_whitespace().count() != 5 {
            p.push(format!("cron '{cron}': expected 5 fields"));
        }
    }
    let jobs = w["jobs"].as_mapping().unwrap();
    let ids: Vec<&str> = jobs.keys().map(key).collect();
    for (n, (id, job)) in jobs.iter().enumerate() {
        let id = key(id);
        let ok_id = id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok_id {
            p.push(format!("job id {id}: invalid"));
        }
        for k in job.as_mapping().unwrap().keys().map(key) {
            let known = [
                "name",
                "needs",
                "if",
                "runs-on",
                "environment",
                "outputs",
                "strategy",
                "steps",
                "env",
                "permissions",
                "timeout-minutes",
                "concurrency",
            ];
            if !known.contains(&k) {
                p.push(format!("{id}: unknown key {k}"));
            }
        }
        if job["runs-on"].is_null() || job["steps"].as_sequence().is_none_or(|s| s.is_empty()) {
            p.push(format!("{id}: needs runs-on and steps"));
        }
        let needs: Vec<&str> = match &job["needs"] {
            Value::String(s) => vec![s.as_str()],
            Value::Sequence(q) => q.iter().map(key).collect(),
            _ => Vec::new(),
        };
        for need in &needs {
            // Jobs are written in dependency order: a need must come before (no cycles).
            if !ids[..n].contains(need) {
                p.push(format!("{id}: needs {need}, not an earlier job"));
            }
        }
        let step_ids: Vec<&str> = job["steps"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|s| s["id"].as_str())
            .collect();
        for s in job["steps"].as_sequence().into_iter().flatten() {
            let (uses, run) = (s["uses"].as_str(), s["run"].as_str());
            if uses.is_some() == run.is_some() {
                p.push(format!(
                    "{id}: a step has exactly one of uses and run: {s:?}"
                ));
            }
            if let Some(u) = uses {
                let pinned = u.split_once('@').is_some_and(|(repo, v)| {
                    repo.split('/').count() >= 2 && v.starts_with('v') && v.len() > 1
                });
                if !pinned {
                    p.push(format!("{id}: action {u} is not pinned to a version"));
                }
            }
        }
        let has_matrix = !job["strategy"]["matrix"].is_null();
        let mut texts = Vec::new();
        strings(job, &mut texts);
        for e in texts.iter().flat_map(|t| expressions(t)) {
            for word in e.split(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c))) {
                let mut parts = word.split('.');
                let context = parts.next().unwrap_or("");
                let name = parts.next().unwrap_or("");
                match context {
                    "needs" if !needs.contains(&name) => p.push(format!(
                        "{id}: ${{{{ {e} }}}} reads needs.{name}, not a need"
                    )),
                    "matrix" if !has_matrix => {
                        p.push(format!("{id}: ${{{{ {e} }}}} outside a matrix job"))
                    }
                    "steps" if !step_ids.contains(&name) => {
                        p.push(format!("{id}: ${{{{ {e} }}}} reads no step of this job"))
                    }
                    "needs" | "matrix" | "steps" | "github" | "secrets" | "env" | "always"
                    | "cancelled" | "fromJSON" | "" => {}
                    c if c.starts_with(|ch: char| ch.is_ascii_digit()) => {}
                    c => p.push(format!("{id}: ${{{{ {e} }}}}: unknown context {c}")),
                }
            }
        }
    }
    p
}

/// A recipe of sim jobs at `concs`, its servers 100× faster than the modelled GPUs.
fn recipe(key: &str, runner: &str, image: &str, concs: &str) -> String {
    night_recipe(key, runner, image, "--time-scale, \"100\"", concs)
}

const CHANGELOG: &str = "- config-keys:\n    - llama-*\n  description:\n    - first\n  \
                         pr-link: https://github.com/example/recipes/pull/1\n";

fn export(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "export",
        "gha",
        "--config-files",
        "recipes.yaml",
        "--changelog",
        "perf-changelog.yaml",
        "--workflow",
        ".github/workflows/nightly.yml",
    ];
    args.extend_from_slice(extra);
    ok(&Command::new(BIN)
        .current_dir(dir)
        // A store in the environment is never written into the workflow.
        .env(
            "SERVEBENCH_STORE",
            "postgres://bench:hunter2@db.internal:5432/bench",
        )
        .args(&args)
        .output()
        .unwrap());
    let text = std::fs::read_to_string(dir.join(".github/workflows/nightly.yml")).unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("postgres://"),
        "{text}"
    );
    serde_norway::from_str(&text).unwrap()
}

/// 601 jobs: three matrices of at most 256; the workflow is valid and reads the store from the
/// secret; the plan stage, run as written, splits the first night (everything) over them.
#[test]
fn the_nightly_workflow_is_valid_and_splits_its_matrix() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let concs: Vec<String> = (1..=600).map(|c| c.to_string()).collect();
    let recipes = recipe("llama-fp8-h200-sim", "h200", "sim:0.1", &concs.join(", "))
        + &recipe("llama-fp8-b200-sim", "b200", "sim:0.1", "4");
    std::fs::write(dir.join("recipes.yaml"), recipes).unwrap();
    std::fs::write(dir.join("perf-changelog.yaml"), CHANGELOG).unwrap();
    let w = export(
        dir,
        &["--store-secret", "BENCH_DB", "--cron", "30 3 * * 1-5"],
    );
    assert_eq!(actionlint(&w), Vec::<String>::new());
    assert_eq!(
        w["on"]["schedule"][0]["cron"].as_str(),
        Some("30 3 * * 1-5")
    );
    assert_eq!(
        w["on"]["push"]["paths"],
        serde_norway::from_str::<Value>("[recipes.yaml, perf-changelog.yaml]").unwrap()
    );
    assert_eq!(
        w["env"]["SERVEBENCH_STORE"].as_str(),
        Some("${{ secrets.BENCH_DB }}")
    );
    let jobs: Vec<&str> = w["jobs"].as_mapping().unwrap().keys().map(key).collect();
    assert_eq!(
        jobs,
        ["plan", "run-000", "run-001", "run-002", "collect", "deploy"]
    );

    // The plan step as GitHub runs it: its outputs file holds the three matrices.
    let github = Github::new(dir, 7);
    let run = w["jobs"]["plan"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["id"].as_str() == Some("plan"))
        .unwrap()["run"]
        .as_str()
        .unwrap()
        .to_string();
    let o = step(dir, &run, &github, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let matrices = read_outputs(&github.outputs);
    assert_eq!(
        matrices.keys().collect::<Vec<_>>(),
        ["m000", "m001", "m002"]
    );
    let mut indices = Vec::new();
    for m in matrices.values() {
        let include = m["include"].as_array().unwrap();
        assert!(include.len() <= 256);
        indices.extend(include.iter().map(|e| e["job-index"].as_u64().unwrap()));
    }
    indices.sort_unstable();
    assert_eq!(indices, (0..601).collect::<Vec<u64>>());
}

/// A `run:` line as a runner runs it: GitHub's expressions filled in, in bash, with
/// `servebench` on the PATH and the outputs file GitHub gives.
fn step(dir: &Path, run: &str, github: &Github, matrix: &[(&str, &str)]) -> Output {
    let mut line = run
        .replace("${{ github.run_id }}", &github.run_id.to_string())
        .replace("${{ github.run_attempt }}", "1");
    for (k, v) in matrix {
        line = line.replace(&format!("${{{{ matrix.{k} }}}}"), v);
    }
    assert!(!line.contains("${{"), "an expression is left: {line}");
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .args(["-c", &line])
        .current_dir(dir)
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &github.outputs)
        .env("GITHUB_STEP_SUMMARY", &github.summary)
        .env("SERVEBENCH_STORE", &github.store)
        .output()
        .unwrap()
}

/// What GitHub gives a step: the run's id, its outputs and summary files; and the store the
/// workflow's environment names.
struct Github {
    run_id: u32,
    outputs: std::path::PathBuf,
    summary: std::path::PathBuf,
    store: String,
}

impl Github {
    fn new(dir: &Path, run_id: u32) -> Github {
        Github {
            run_id,
            outputs: dir.join(format!("outputs-{run_id}")),
            summary: dir.join("summary.md"),
            store: "sqlite:s.db".into(),
        }
    }
}

/// `name=value` lines of a GitHub outputs file: the non-empty matrices.
fn read_outputs(file: &Path) -> BTreeMap<String, Json> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), serde_json::from_str(v).unwrap()))
        .collect()
}

fn run_of<'a>(w: &'a Value, job: &str, pick: impl Fn(&Value) -> bool) -> &'a str {
    w["jobs"][job]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| pick(s))
        .unwrap()["run"]
        .as_str()
        .unwrap()
}

/// One night as the workflow runs it: the plan step, every matrix entry's job in its own
/// checkout (its `results/` then merged as the collector downloads the artifacts), then the
/// collect step. Its stderr.
fn night(dir: &Path, w: &Value, run_id: u32) -> (String, Output) {
    let github = Github::new(dir, run_id);
    let plan = run_of(w, "plan", |s| s["id"].as_str() == Some("plan"));
    let o = step(dir, plan, &github, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let task = run_of(w, "run-000", |s| s["name"].as_str() == Some("Run the job"));
    let merged = dir.join(format!("nights/nightly-{run_id}-1"));
    let mut ran = Vec::new();
    for m in read_outputs(&github.outputs).values() {
        for e in m["include"].as_array().unwrap() {
            // A fresh runner: the repository's files, no store.
            let runner = tempfile::tempdir().unwrap();
            for f in ["recipes.yaml", "perf-changelog.yaml"] {
                std::fs::copy(dir.join(f), runner.path().join(f)).unwrap();
            }
            let index = e["job-index"].to_string();
            let on_runner = Github {
                store: "sqlite:/nonexistent/store.db".into(),
                ..Github::new(runner.path(), run_id)
            };
            let conc = e["job-conc"].as_str().unwrap();
            let o = step(
                runner.path(),
                task,
                &on_runner,
                &[("job-index", &index), ("job-conc", conc)],
            );
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            copy_tree(&runner.path().join("results"), &merged);
            ran.push(format!("{} c{}", e["runner"].as_str().unwrap(), e["conc"]));
        }
    }
    let collect = run_of(w, "collect", |s| {
        s["run"]
            .as_str()
            .is_some_and(|r| r.contains("--executor collected"))
    });
    (ran.join(", "), step(dir, collect, &github, &[]))
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

/// Two nights through the workflow's own commands: the first runs every job on its runner
/// and stores them; the second (h200's image bumped) runs only h200's jobs, and the collector
/// stores a whole run with b200's points carried over; the summary is the run page's.
#[test]
fn two_nights_through_the_workflows_own_steps() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let write = |h200_image: &str| {
        let r = recipe("llama-fp8-h200-sim", "h200", h200_image, "2, 4")
            + &recipe("llama-fp8-b200-sim", "b200", "sim:0.1", "2, 4");
        std::fs::write(dir.join("recipes.yaml"), r).unwrap();
    };
    write("sim:0.1");
    std::fs::write(dir.join("perf-changelog.yaml"), CHANGELOG).unwrap();
    let w = export(dir, &["--sqlite", "s.db", "--no-pages"]);
    assert_eq!(actionlint(&w), Vec::<String>::new());
    assert!(w["jobs"]["deploy"].is_null());

    let (ran, o) = night(dir, &w, 6);
    assert_eq!(ran, "h200 c2, h200 c4, b200 c2, b200 c4");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("- 4 points: 4 measured, 0 unchanged since no earlier run"),
        "{out}"
    );
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        summary.starts_with("## servebench nightly: nightly-6-1"),
        "{summary}"
    );

    // Night 2, the next run of the workflow: h200's image bumped.
    write("sim:0.2");
    let (ran, o) = night(dir, &w, 7);
    assert_eq!(ran, "h200 c2, h200 c4", "only what changed ran");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success()
            && out.contains("- 4 points: 2 measured, 2 unchanged since run `nightly-6-1`"),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let c = rusqlite::Connection::open(dir.join("s.db")).unwrap();
    let reused: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM points p JOIN runs r ON r.id = p.run_id JOIN runs o
             ON o.id = p.reused_from WHERE r.run_key = 'nightly-7-1' AND o.run_key = 'nightly-6-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reused, 2);
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert_eq!(summary.matches("## servebench nightly: ").count(), 2);
}

/// The checker above finds what it checks (so a clean result means something).
#[test]
fn the_checker_finds_the_mistakes_it_looks_for() {
    let bad: Value = serde_norway::from_str(
        "
name: x
trigger: push
on:
  schedule:
  - cron: 0 2 * *
jobs:
  a:
    needs: b
    runs-on: ubuntu-latest
    steps:
    - uses: actions/checkout
    - run: echo ${{ matrix.x }} ${{ steps.nope.outputs.y }} ${{ needs.c.outputs.z }}
  b:
    runs-on: ubuntu-latest
    steps:
    - uses: actions/checkout@v4
      run: echo both
  9bad:
    runs-on: ubuntu-latest
    steps: []
",
    )
    .unwrap();
    let found = actionlint(&bad).join("\n");
    for want in [
        "unknown top-level key trigger",
        "cron '0 2 * *': expected 5 fields",
        "a: needs b, not an earlier job",
        "a: action actions/checkout is not pinned to a version",
        "a: ${{ matrix.x }} outside a matrix job",
        "a: ${{ steps.nope.outputs.y }} reads no step of this job",
        "a: ${{ needs.c.outputs.z }} reads needs.c, not a need",
        "b: a step has exactly one of uses and run",
        "job id 9bad: invalid",
        "9bad: needs runs-on and steps",
    ] {
        assert!(found.contains(want), "{want}:\n{found}");
    }
}
