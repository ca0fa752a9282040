//! Continuous runs end to end (`docs/nightly.md`): a night's sweep in virtual time, stored;
//! the next night's recipes planned against it.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// One Llama-3.3-70B recipe on the simulated engine at 1k/128, TP8, concurrencies 4 and 8.
fn recipe(key: &str, runner: &str, image: &str) -> String {
    format!(
        "{key}:
  image: {image}
  model: meta-llama/Llama-3.3-70B-Instruct
  model-prefix: llama
  precision: fp8
  framework: sim
  runner: {runner}
  multinode: false
  scenarios:
    fixed-seq-len:
    - isl: 1024
      osl: 128
      search-space:
      - {{tp: 8, conc-list: [4, 8]}}
"
    )
}

fn sb(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> (String, String) {
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "{err}");
    (out, err)
}

/// The recipes `file` swept in virtual time into `run/` (with `extra` flags) and stored as run
/// `run` in `s.db`: what the sweep and the ingest said.
fn sweep_and_store(dir: &Path, file: &str, run: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec![
        "sweep",
        "--no-progress",
        "--executor",
        "virtual-time",
        "--config-files",
        file,
        "--out",
        run,
    ];
    args.extend_from_slice(extra);
    let (_, swept) = ok(&sb(dir, &args));
    let (_, stored) = ok(&sb(
        dir,
        &["ingest", "--store", "sqlite:s.db", "--run", run, run],
    ));
    (swept, stored)
}

#[test]
fn plan_changed_since_lists_only_what_changed_and_why() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let night1 = recipe("llama-fp8-h200-sim", "h200", "sim:0.1")
        + &recipe("llama-fp8-b200-sim", "b200", "sim:0.1");
    std::fs::write(dir.join("night1.yaml"), night1).unwrap();
    sweep_and_store(dir, "night1.yaml", "night1", &[]);

    // Night 2: h200's engine image bumped (the changelog says why), b200 as it was.
    let night2 = recipe("llama-fp8-h200-sim", "h200", "sim:0.2")
        + &recipe("llama-fp8-b200-sim", "b200", "sim:0.1");
    std::fs::write(dir.join("night2.yaml"), night2).unwrap();
    std::fs::write(
        dir.join("perf-changelog.yaml"),
        "- config-keys:\n    - llama-fp8-h200-*\n  description:\n    - Bump the engine to \
         0.2 (faster decode)\n  pr-link: https://github.com/example/bench/pull/7\n",
    )
    .unwrap();
    let (out, err) = ok(&sb(
        dir,
        &[
            "plan",
            "--config-files",
            "night2.yaml",
            "--changed-since",
            "latest",
            "--store",
            "sqlite:s.db",
            "--changelog",
            "perf-changelog.yaml",
        ],
    ));
    assert!(
        err.contains("since run 'night1': 4 points (2 changed, 2 unchanged)"),
        "{err}"
    );
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let concs: Vec<u64> = rows.iter().map(|r| r["conc"].as_u64().unwrap()).collect();
    assert_eq!(concs, [4, 8], "{out}");
    assert!(rows
        .iter()
        .all(|r| r["runner"] == "h200" && r["image"] == "sim:0.2"));
    let why = &rows[0]["servebench-change"];
    assert_eq!(why["since"], "night1");
    assert_eq!(why["summary"], "changed: image \"sim:0.1\" → \"sim:0.2\"");
    assert_eq!(
        why["fields"],
        serde_json::json!([{"field": "image", "before": "sim:0.1", "after": "sim:0.2"}])
    );
    assert_eq!(
        why["changelog"][0]["description"][0],
        "Bump the engine to 0.2 (faster decode)"
    );
    assert_eq!(why["points"][0]["change"]["change"], "changed");

    // Against night 1's own recipes nothing is left to run.
    let (out, err) = ok(&sb(
        dir,
        &[
            "plan",
            "--config-files",
            "night1.yaml",
            "--changed-since",
            "night1",
            "--store",
            "sqlite:s.db",
        ],
    ));
    assert!(err.contains("4 points (4 unchanged)"), "{err}");
    assert_eq!(serde_json::from_str::<Vec<Value>>(&out).unwrap().len(), 0);

    // A changelog pattern that matches no recipe, a run the store lacks: errors that say so.
    std::fs::write(
        dir.join("bad-changelog.yaml"),
        "- config-keys:\n    - qwen-*\n  description:\n    - x\n  pr-link: \
         https://github.com/example/bench/pull/8\n",
    )
    .unwrap();
    for (args, want) in [
        (
            vec![
                "--changed-since",
                "latest",
                "--changelog",
                "bad-changelog.yaml",
            ],
            "bad-changelog.yaml:2:5: [0].config-keys[0]: 'qwen-*' matches no config key",
        ),
        (
            vec!["--changed-since", "night9"],
            "--changed-since night9: the store holds no point of run 'night9'",
        ),
    ] {
        let mut all = vec![
            "plan",
            "--config-files",
            "night2.yaml",
            "--store",
            "sqlite:s.db",
        ];
        all.extend(args);
        let o = sb(dir, &all);
        assert_eq!(o.status.code(), Some(2));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(want), "{e}");
    }
}

/// `sweep --reuse latest`: night 2 runs only h200's changed points and completes its results
/// with b200's unchanged points from night 1, each saying where it was measured; stored as
/// night 2, the run is whole and the reused points keep night 1's numbers.
#[test]
fn a_reusing_sweep_runs_what_changed_and_carries_the_rest_over() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let night = |n: u32, h200_image: &str| {
        let file = format!("night{n}.yaml");
        std::fs::write(
            dir.join(&file),
            recipe("llama-fp8-h200-sim", "h200", h200_image)
                + &recipe("llama-fp8-b200-sim", "b200", "sim:0.1"),
        )
        .unwrap();
        file
    };
    let f1 = night(1, "sim:0.1");
    sweep_and_store(dir, &f1, "night1", &[]);
    let f2 = night(2, "sim:0.2");
    let (swept, stored) = sweep_and_store(
        dir,
        &f2,
        "night2",
        &["--reuse", "latest", "--store", "sqlite:s.db"],
    );
    assert!(
        swept.contains("2 unchanged points reused from run 'night1' into night2")
            && swept.contains("2 points: 2 simulated in virtual time"),
        "{swept}"
    );
    assert!(stored.contains("4 points stored"), "{stored}");

    // Night 2 is whole: h200 measured anew on the new image, b200 carried over with night 1's
    // numbers and its origin.
    let c = rusqlite::Connection::open(dir.join("s.db")).unwrap();
    let mut q = c
        .prepare(
            "SELECT r.run_key, p.recipe_key, p.conc, p.image, p.tput_per_gpu, o.run_key
             FROM points p JOIN runs r ON r.id = p.run_id LEFT JOIN runs o ON o.id = p.reused_from
             ORDER BY r.run_key, p.recipe_key, p.conc",
        )
        .unwrap();
    type Row = (String, String, u32, String, f64, Option<String>);
    let rows: Vec<Row> = q
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 8);
    let (n1, n2) = rows.split_at(4);
    for (a, b) in n1.iter().zip(n2) {
        assert_eq!((&a.1, a.2), (&b.1, b.2));
        if b.1 == "llama-fp8-b200-sim" {
            assert_eq!(b.5.as_deref(), Some("night1"), "{b:?}");
            assert_eq!(a.4, b.4, "a reused point keeps its numbers: {b:?}");
            assert_eq!(b.3, "sim:0.1");
        } else {
            assert_eq!(b.5, None, "{b:?}");
            assert_eq!(b.3, "sim:0.2");
        }
    }
    // Cluster executors re-plan in every task: --reuse is refused there, with the reason.
    let o = sb(
        dir,
        &[
            "sweep",
            "--no-progress",
            "--executor",
            "slurm",
            "--config-files",
            &f2,
            "--out",
            "night2-slurm",
            "--reuse",
            "latest",
            "--store",
            "sqlite:s.db",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("--reuse runs on the local and virtual-time executors"));
    // Night 2 against itself: nothing left to run.
    let (_, err) = ok(&sb(
        dir,
        &[
            "plan",
            "--config-files",
            &f2,
            "--changed-since",
            "night2",
            "--store",
            "sqlite:s.db",
        ],
    ));
    assert!(err.contains("4 points (4 unchanged)"), "{err}");
}
