//! What the tests of InferenceX's own launchers share: its master configs' jobs, an allocation
//! of nodes on 10.0.0.K, a launch from an InferenceX checkout, and a generated command run as
//! its step runs it, with recorders standing in for the programs it starts.
#![allow(dead_code)] // each test file uses its part

use servebench_sweep::cluster::{deployment, nodes_needed, ClusterDeployment, LaunchRecipes, Node};
use servebench_sweep::engine::{Engines, Launch, ServerCommand};
use servebench_sweep::plan::{plan, Job, PlanOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The fixed-length multi-node jobs of InferenceX's master config `file` row `key`, in its
/// search-space order.
pub fn ix_jobs(file: &str, key: &str) -> Vec<Job> {
    multi_node_jobs(file, key, false)
}

/// The agentic-coding multi-node jobs of InferenceX's master config `file` row `key` (one per
/// concurrency), in its search-space order.
pub fn ix_agentic_jobs(file: &str, key: &str) -> Vec<Job> {
    multi_node_jobs(file, key, true)
}

fn multi_node_jobs(file: &str, key: &str, agentic: bool) -> Vec<Job> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/inferencex-configs-843c6254");
    let r = servebench_sweep::load_recipes(&[dir.join(file)]).unwrap();
    let runners = servebench_sweep::load_runners(&dir.join("runners.yaml")).unwrap();
    let o = PlanOptions {
        single_node: false,
        multi_node: true,
        fixed_seq_len: !agentic,
        agentic,
        config_keys: vec![key.to_string()],
        ..Default::default()
    };
    plan(&r, &runners, &o).unwrap()
}

pub fn nodes(n: u32) -> Vec<Node> {
    (0..n)
        .map(|i| Node {
            name: format!("node{i:02}"),
            addr: format!("10.0.0.{i}"),
        })
        .collect()
}

/// A launch of real engines from the InferenceX checkout `inferencex`.
pub fn launch(inferencex: Option<PathBuf>) -> Launch {
    launch_with(LaunchRecipes {
        srt: Vec::new(),
        inferencex,
    })
}

/// A launch of real engines reading its launch recipes from `recipes`.
pub fn launch_with(recipes: LaunchRecipes) -> Launch {
    Launch {
        engines: Engines::Recipe,
        host: "10.0.0.0".into(),
        port: 0,
        servebench: "servebench".into(),
        tokenizer: "cl100k_base".into(),
        sim_time_scale: None,
        recipes,
    }
}

/// `job`'s deployment from `checkout` on the nodes it asks for, ports from 8001 up.
pub fn render(job: &Job, checkout: &Path) -> Result<ClusterDeployment, String> {
    let l = launch(Some(checkout.to_path_buf()));
    let n = nodes_needed(job, Engines::Recipe, &l.recipes)?;
    let mut port = 8000;
    deployment(job, &l, &nodes(n), || {
        port += 1;
        Ok(port)
    })
}

/// A folder of `names` that record their argv and environment in `$RECORD.argv` /
/// `$RECORD.env` (NUL-separated) and exit.
pub fn recorder(names: &[&str]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let script = "#!/bin/sh\nprintf '%s\\0' \"$(basename \"$0\")\" \"$@\" > \"$RECORD.argv\"\nenv -0 > \"$RECORD.env\"\n";
    for name in names {
        let p = d.path().join(name);
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    d
}

/// What `cmd` starts, run as its step runs it on a node (its files placed beside `out`), with
/// nothing of this machine's environment but `PATH` (the recorders first) and `HOME`, plus the
/// operator's `operator` variables; in its arguments each `(from, to)` of `replace` replaced
/// (what a test must not touch on this machine, a program named by a path in its image).
pub fn run_recorded(
    cmd: &ServerCommand,
    operator: &[(String, String)],
    rec: &Path,
    out: &Path,
    replace: &[(&str, &str)],
) -> (Vec<String>, BTreeMap<String, String>) {
    run_step(cmd, operator, rec, out, replace);
    read_record(out)
}

/// Runs `cmd` as [`run_recorded`] does, asserting it succeeds.
pub fn run_step(
    cmd: &ServerCommand,
    operator: &[(String, String)],
    rec: &Path,
    out: &Path,
    replace: &[(&str, &str)],
) {
    let mut cmd = cmd.clone();
    cmd.place_files(&out.with_extension("files")).unwrap();
    let args = cmd.args.iter().map(|a| {
        replace
            .iter()
            .fold(a.clone(), |a, (from, to)| a.replace(from, to))
    });
    let o = std::process::Command::new(&cmd.program)
        .args(args)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", rec.display()))
        .env("HOME", "/root")
        .env("RECORD", out)
        .envs(operator.iter().cloned())
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// What a recorder wrote at `out` (`out.argv`, `out.env`): the argv and the environment.
pub fn read_record(out: &Path) -> (Vec<String>, BTreeMap<String, String>) {
    let read = |ext: &str| -> Vec<String> {
        let file = out.with_file_name(format!(
            "{}.{ext}",
            out.file_name().unwrap().to_string_lossy()
        ));
        std::fs::read(file)
            .unwrap()
            .split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8(w.to_vec()).unwrap())
            .collect()
    };
    let env = read("env")
        .into_iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.into(), v.into())))
        .collect();
    (read("argv"), env)
}

/// The variables of `env` whose names start with one of `prefixes`.
pub fn env_with(env: &BTreeMap<String, String>, prefixes: &[&str]) -> BTreeMap<String, String> {
    env.iter()
        .filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A JSON array of strings.
pub fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// A JSON object of strings (a recorded environment).
pub fn string_map(v: &serde_json::Value) -> BTreeMap<String, String> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// The first multi-node job of a master config `text`.
pub fn plan_row(text: &str) -> Job {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("master.yaml");
    std::fs::write(&file, text).unwrap();
    let r = servebench_sweep::load_recipes(&[file]).unwrap();
    let o = PlanOptions {
        single_node: false,
        multi_node: true,
        ..Default::default()
    };
    plan(&r, &Default::default(), &o).unwrap().remove(0)
}
