//! Continuous runs end to end (`docs/nightly.md`): a night's sweep in virtual time, stored;
//! the next night's recipes planned against it.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// One Llama-3.3-70B recipe on the simulated engine at 1k/128, TP8, concurrencies 4 and 8.
fn recipe(key: &str, runner: &str, image: &str) -> String {
    night_recipe(key, runner, image, "", "4, 8")
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
    // Kubernetes pods plan each job whole: --reuse is refused there.
    let o = sb(
        dir,
        &[
            "sweep",
            "--no-progress",
            "--executor",
            "k8s",
            "--config-files",
            &f2,
            "--out",
            "night2-k8s",
            "--reuse",
            "latest",
            "--store",
            "sqlite:s.db",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("--reuse runs on the local, virtual-time, slurm, gha and collected executors"));
    // GitHub Actions: only the changed jobs are in the matrix, each by its index in the plan.
    ok(&sb(
        dir,
        &[
            "sweep",
            "--no-progress",
            "--executor",
            "gha",
            "--config-files",
            &f2,
            "--out",
            "night2-gha",
            "--reuse",
            "night1",
            "--store",
            "sqlite:s.db",
        ],
    ));
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.join("night2-gha/gha/matrix-000.json")).unwrap())
            .unwrap();
    let entries: Vec<(u64, &str)> = m["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["job-index"].as_u64().unwrap(),
                e["runner"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(entries, [(0, "h200"), (1, "h200")]);
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

/// Two configs at 1k/128, concurrencies 1 to 64, on the simulated engine; h200 at `image` with
/// `efficiency` (its engine `efficiency` times as efficient: how a night's image bump shows).
fn fleet(image: &str, efficiency: &str) -> String {
    let scale = format!("--efficiency-scale, \"{efficiency}\"");
    night_recipe("llama-fp8-h200-sim", "h200", image, &scale, "1, 4, 16, 64")
        + &night_recipe("llama-fp8-b200-sim", "b200", "sim:0.1", "", "1, 4, 16, 64")
}

/// `plan --config-files recipes.yaml --changed-since latest --store sqlite:s.db` with
/// `extra`: its JSON rows.
fn plan_since(dir: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "plan",
        "--config-files",
        "recipes.yaml",
        "--changed-since",
        "latest",
        "--store",
        "sqlite:s.db",
    ];
    args.extend_from_slice(extra);
    let (rows, _) = ok(&sb(dir, &args));
    serde_json::from_str(&rows).unwrap()
}

/// perf-changelog.yaml as of night `n`: one entry a night, appended.
fn changelog(n: usize) -> String {
    let entries = [
        ("llama-fp8-*-sim", "Llama 3.3 70B on the simulated engine"),
        (
            "llama-fp8-h200-sim",
            "Bump the simulated engine to 0.2: 20% faster kernels",
        ),
        ("llama-fp8-h200-sim", "Bump the simulated engine to 0.3"),
    ];
    entries[..n]
        .iter()
        .enumerate()
        .map(|(i, (keys, why))| {
            format!(
                "- config-keys:\n    - {keys}\n  description:\n    - \"{why}\"\n  pr-link: \
                 https://github.com/example/recipes/pull/{}\n",
                i + 1
            )
        })
        .collect()
}

/// `servebench nightly` of recipes.yaml into nights/RUN with store s.db, on `executor`, with
/// `extra` flags and environment `env`.
fn run_night(
    dir: &Path,
    executor: &str,
    run: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut c = Command::new(BIN);
    c.current_dir(dir).args([
        "nightly",
        "--executor",
        executor,
        "--no-progress",
        "--config-files",
        "recipes.yaml",
        "--store",
        "sqlite:s.db",
        "--out",
        "nights",
        "--run",
        run,
    ]);
    c.args(extra).envs(env.iter().copied());
    c.output().unwrap()
}

/// `servebench nightly` night `n` in virtual time: (exit code, stdout, stderr).
fn nightly(dir: &Path, n: usize, image: &str, efficiency: &str) -> (Option<i32>, String, String) {
    std::fs::write(dir.join("recipes.yaml"), fleet(image, efficiency)).unwrap();
    std::fs::write(dir.join("perf-changelog.yaml"), changelog(n)).unwrap();
    let extra = [
        "--changelog",
        "perf-changelog.yaml",
        "--at",
        "50,60",
        "--summary",
        "summary.md",
    ];
    let o = run_night(dir, "virtual-time", &format!("night{n}"), &extra, &[]);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// h200's and b200's stored points of `run`: (runner, conc) → (tok/s/GPU, image, reused from).
fn stored(dir: &Path, run: &str) -> Vec<(String, u32, f64, String, Option<String>)> {
    let c = rusqlite::Connection::open(dir.join("s.db")).unwrap();
    let mut q = c
        .prepare(
            "SELECT p.recipe_key, p.conc, p.tput_per_gpu, p.image, o.run_key
             FROM points p JOIN runs r ON r.id = p.run_id LEFT JOIN runs o ON o.id = p.reused_from
             WHERE r.run_key = ?1 ORDER BY p.recipe_key, p.conc",
        )
        .unwrap();
    q.query_map([run], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// A report of the store as JSON rows.
fn report_rows(dir: &Path, args: &[&str]) -> (Option<i32>, Vec<Value>) {
    let mut all = vec![
        "report",
        "--store",
        "sqlite:s.db",
        "--model",
        "llama-3.3-70b",
        "--isl",
        "1024",
        "--osl",
        "128",
        "--at",
        "50,60",
        "--format",
        "json",
    ];
    all.extend_from_slice(args);
    let o = sb(dir, &all);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code(), v["rows"].as_array().unwrap().clone())
}

/// Three nights of `servebench nightly` on the simulated engine (issue 20's scenario). Night 1
/// measures everything; night 2's changelog bumps h200's engine (a 1.2× efficient engine):
/// only its points run, b200's are carried over, and h200's frontier moves with the entry and
/// the image named; night 3's bump is slower: a regression, exit 1 and a Markdown summary
/// naming it; retracted, night 3 leaves the frontiers and regressions.
#[test]
fn three_nights_measure_what_changed_and_explain_every_movement() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (code, out, err) = nightly(dir, 1, "sim:0.1", "1");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("- 8 points: 8 measured, 0 unchanged since no earlier run and carried over")
            && out.contains("- no regression")
            && out.contains(
                "- changelog: Llama 3.3 70B on the simulated engine (llama-fp8-\\*-sim: 2 configs)"
            ),
        "{out}"
    );
    let night1 = stored(dir, "night1");
    assert_eq!(night1.len(), 8);

    // Before night 2: the plan lists only h200's points, with only the entry added since.
    std::fs::write(dir.join("recipes.yaml"), fleet("sim:0.2", "1.2")).unwrap();
    std::fs::write(dir.join("perf-changelog.yaml"), changelog(2)).unwrap();
    let rows = plan_since(dir, &["--changelog", "perf-changelog.yaml"]);
    assert_eq!(rows.len(), 4);
    for r in &rows {
        let entries = r["servebench-change"]["changelog"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{r}");
        assert_eq!(
            entries[0]["pr-link"],
            "https://github.com/example/recipes/pull/2"
        );
    }

    let (code, out, err) = nightly(dir, 2, "sim:0.2", "1.2");
    assert_eq!(code, Some(0), "an improvement is no regression: {out}{err}");
    assert!(
        err.contains("since run 'night1': 8 points (4 changed, 4 unchanged)")
            && out.contains("- 8 points: 4 measured, 4 unchanged since run `night1`"),
        "{out}{err}"
    );
    let night2 = stored(dir, "night2");
    for (a, b) in night1.iter().zip(&night2) {
        assert_eq!((&a.0, a.1), (&b.0, b.1));
        if a.0 == "llama-fp8-b200-sim" {
            assert_eq!(
                (b.2, b.4.as_deref()),
                (a.2, Some("night1")),
                "carried over: {b:?}"
            );
        } else {
            // The faster engine: more tok/s/GPU at every concurrency, on the new image.
            assert!(
                b.2 > a.2 && b.3 == "sim:0.2" && b.4.is_none(),
                "{a:?} {b:?}"
            );
        }
    }
    // h200's frontier moved up, explained by the image and the one entry since night 1.
    let (_, history) = report_rows(dir, &["history"]);
    let h200: Vec<&Value> = history.iter().filter(|r| r["series"] == "h200").collect();
    let b200: Vec<&Value> = history.iter().filter(|r| r["series"] == "b200").collect();
    assert!(b200.iter().all(|r| r["moved"] == ""), "{b200:?}");
    let (was, now) = (
        &h200[0]["tput_per_gpu_at_50"],
        &h200[1]["tput_per_gpu_at_50"],
    );
    let up = now.as_f64().unwrap() / was.as_f64().unwrap() - 1.0;
    assert!(up > 0.05, "{was} → {now}");
    assert!(
        h200[1]["moved"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{:+.1}% @50", up * 100.0)),
        "{}",
        h200[1]
    );
    let why2 = "image h200 sim fp8 tp8: sim:0.1 → sim:0.2; changelog \"Bump the simulated \
                engine to 0.2: 20% faster kernels\" (https://github.com/example/recipes/pull/2)";
    assert_eq!(h200[1]["why"], why2);
    assert!(
        out.contains("| llama-3.3-70b 1024/128 | h200 | night2 |"),
        "{out}"
    );
    // What night 2 measured, apart from what it carried over: h200 only.
    let series = |args: &[&str]| -> Vec<String> {
        let (_, rows) = report_rows(dir, args);
        let mut v: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["series"].as_str().unwrap(),
                    r["run"].as_str().unwrap()
                )
            })
            .collect();
        v.dedup();
        v
    };
    assert_eq!(series(&["at"]), ["b200 night2", "h200 night2"]);
    assert_eq!(series(&["at", "--new-only"]), ["h200 night2"]);

    // Night 3: a slower engine. Exit 1; the summary names the regression and its cause.
    let (code, out, err) = nightly(dir, 3, "sim:0.3", "0.8");
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("- **2 regressions**"), "{out}");
    let why3 = "image h200 sim fp8 tp8: sim:0.2 → sim:0.3; changelog \"Bump the simulated \
                engine to 0.3\" (https://github.com/example/recipes/pull/3)";
    let (code, regressions) = report_rows(dir, &["regressions", "--fail-on-regression"]);
    assert_eq!(code, Some(1));
    assert_eq!(regressions.len(), 2);
    for r in &regressions {
        assert_eq!(
            (&r["series"], &r["before_run"], &r["after_run"]),
            (&"h200".into(), &"night2".into(), &"night3".into())
        );
        assert_eq!(r["why"], why3);
        assert!(r["change_pct"].as_f64().unwrap() < -5.0, "{r}");
    }
    // In the summary as a Markdown table row (cells escaped), and in the file for the run page.
    assert!(
        out.contains(&format!(
            "| llama-3.3-70b 1024/128 | h200 | night2 | night3 | 50 | {:.1} |",
            regressions[0]["before_tput_per_gpu"].as_f64().unwrap()
        )),
        "{out}"
    );
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert_eq!(summary.matches("## servebench nightly: ").count(), 3);
    assert!(summary.ends_with(&out), "{summary}");

    // Night 3 retracted: gone from the frontiers and regressions, night 2's frontier is back.
    ok(&sb(
        dir,
        &[
            "retract",
            "--store",
            "sqlite:s.db",
            "--run",
            "night3",
            "--reason",
            "the 0.3 image was a bad build",
        ],
    ));
    let (code, regressions) = report_rows(dir, &["regressions", "--fail-on-regression"]);
    assert_eq!((code, regressions.len()), (Some(0), 0));
    let (_, at) = report_rows(dir, &["at"]);
    let h200_at: Vec<&Value> = at.iter().filter(|r| r["series"] == "h200").collect();
    assert_eq!(h200_at.len(), 2, "{at:?}");
    assert!(h200_at.iter().all(|r| r["run"] == "night2"), "{h200_at:?}");
    assert_eq!(
        (&h200_at[0]["interactivity"], &h200_at[0]["tput_per_gpu"]),
        (&Value::from(50.0), now)
    );
}

/// `servebench nightly --executor slurm` on the real test cluster: night 1 submits every job;
/// night 2 (b200's image bumped) carries h200's points over and submits b200's job only, whose
/// task skips nothing it must measure; both nights are stored whole.
#[test]
fn a_slurm_nightly_submits_only_what_changed() {
    let Some(conf) = common::require_service("SLURM", "SERVEBENCH_TEST_SLURM_CONF") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let night = |n: u32, b200_image: &str| {
        // Simulated servers 100× faster than the modelled GPUs: a quick night.
        let fast = "--time-scale, \"100\"";
        let recipes = night_recipe("llama-fp8-h200-sim", "h200", "sim:0.1", fast, "4, 8")
            + &night_recipe("llama-fp8-b200-sim", "b200", b200_image, fast, "4, 8");
        std::fs::write(dir.join("recipes.yaml"), recipes).unwrap();
        let run = format!("night{n}");
        let env = [("SLURM_CONF", conf.as_str())];
        let o = run_night(dir, "slurm", &run, &["--poll-interval", "0.2"], &env);
        let (out, err) = ok(&o);
        let arrays: Vec<String> = std::fs::read_dir(dir.join("nights").join(&run).join("slurm"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "jobs"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        (out, err, arrays)
    };
    let (out, _, arrays) = night(1, "sim:0.1");
    assert!(out.contains("- 4 points: 4 measured, 0 unchanged"), "{out}");
    assert_eq!(arrays.concat().lines().count(), 4, "{arrays:?}");
    let (out, err, arrays) = night(2, "sim:0.2");
    assert!(
        out.contains("- 4 points: 2 measured, 2 unchanged since run `night1`")
            && err.contains("4 points: 2 measured, 2 already stored, 0 failed"),
        "{out}{err}"
    );
    // One array of b200's two jobs (the plan's jobs 2 and 3, on its new image).
    let jobs = arrays.concat();
    assert_eq!(jobs, "2 sim:0.2\n3 sim:0.2\n", "{arrays:?}");
    let c = rusqlite::Connection::open(dir.join("s.db")).unwrap();
    let reused: Vec<(String, u32)> = c
        .prepare(
            "SELECT p.recipe_key, p.conc FROM points p JOIN runs r ON r.id = p.run_id
             JOIN runs o ON o.id = p.reused_from WHERE r.run_key = 'night2' AND o.run_key = 'night1'
             ORDER BY p.recipe_key, p.conc",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        reused,
        [
            ("llama-fp8-h200-sim".to_string(), 4),
            ("llama-fp8-h200-sim".to_string(), 8)
        ]
    );
}

/// A night's GPU-hour budget, spent in priority order: b200's jobs first (the policy favours
/// their model prefix), then h200's until the budget is spent; the rest deferred, kept with the
/// run, and run first the next night, before higher-priority changed jobs.
#[test]
fn a_budget_defers_what_does_not_fit_and_the_next_night_runs_it_first() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(
        dir.join("ci-priority.yaml"),
        "version: 1\nbase-score: 1.0\nadjustments:\n  model-prefix:\n    llamab: 1.0\n",
    )
    .unwrap();
    let recipes = |b200_image: &str| {
        let b200 = night_recipe("llama-fp8-b200-sim", "b200", b200_image, "", "1, 4, 16, 64")
            .replace("model-prefix: llama\n", "model-prefix: llamab\n");
        night_recipe(
            "llama-fp8-h200-sim",
            "h200",
            "sim:0.1",
            "--efficiency-scale, \"1\"",
            "1, 4, 16, 64",
        ) + &b200
    };
    std::fs::write(dir.join("recipes.yaml"), recipes("sim:0.1")).unwrap();
    let night = |run: &str, extra: &[&str]| {
        let mut args = vec!["--priority", "ci-priority.yaml"];
        args.extend_from_slice(extra);
        ok(&run_night(dir, "virtual-time", run, &args, &[]))
    };
    let (out, err) = night("night1", &["--budget-gpu-hours", "0.13"]);
    assert!(
        out.contains("- 3 points deferred to the next night (the budget was spent)"),
        "{out}{err}"
    );
    // The oracle: each measured point's own duration × its 8 GPUs, in the order run; the
    // budget was not spent before the last one started, and was after it.
    let mut measured: Vec<(String, u32, f64)> = Vec::new();
    for f in walk(&dir.join("nights/night1/points")) {
        let v: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let gpu_h = v["result"]["duration"].as_f64().unwrap() * 8.0 / 3600.0;
        measured.push((
            v["config_key"].as_str().unwrap().into(),
            v["concurrency"].as_u64().unwrap() as u32,
            gpu_h,
        ));
    }
    measured.sort_by_key(|m| (m.0 != "llama-fp8-b200-sim", m.1));
    let keys: Vec<(&str, u32)> = measured.iter().map(|m| (m.0.as_str(), m.1)).collect();
    assert_eq!(
        keys,
        [
            ("llama-fp8-b200-sim", 1),
            ("llama-fp8-b200-sim", 4),
            ("llama-fp8-b200-sim", 16),
            ("llama-fp8-b200-sim", 64),
            ("llama-fp8-h200-sim", 1)
        ]
    );
    let total: f64 = measured.iter().map(|m| m.2).sum();
    assert!(
        total - measured[4].2 < 0.13 && total >= 0.13,
        "{measured:?}"
    );
    let c = rusqlite::Connection::open(dir.join("s.db")).unwrap();
    let deferred: Vec<(String, u32, String)> = c
        .prepare("SELECT recipe_key, conc, reason FROM deferred_points ORDER BY conc")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        deferred.iter().map(|d| d.1).collect::<Vec<_>>(),
        [4, 16, 64]
    );
    assert!(deferred
        .iter()
        .all(|d| d.0 == "llama-fp8-h200-sim"
            && d.2.starts_with("the budget of 0.13 GPU-hours is spent")));

    // Night 2: b200's image bumped (its jobs changed, and the policy favours them), yet the
    // points night 1 deferred come first.
    std::fs::write(dir.join("recipes.yaml"), recipes("sim:0.2")).unwrap();
    let rows = plan_since(dir, &["--priority", "ci-priority.yaml"]);
    let order: Vec<(&str, u64, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["runner"].as_str().unwrap(),
                r["conc"].as_u64().unwrap(),
                r["priority"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("h200", 4, "1.000"),
            ("h200", 16, "1.000"),
            ("h200", 64, "1.000"),
            ("b200", 1, "2.000"),
            ("b200", 4, "2.000"),
            ("b200", 16, "2.000"),
            ("b200", 64, "2.000"),
        ]
    );
    assert!(rows[0]["servebench-change"]["summary"]
        .as_str()
        .unwrap()
        .ends_with("; deferred by run 'night1': runs first"));
    let (out, err) = night("night2", &[]);
    assert!(
        out.contains("- 8 points: 7 measured, 1 unchanged since run `night1`")
            && !out.contains("deferred"),
        "{out}{err}"
    );
}

/// The files under `dir`, at any depth.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `--efficiency-scale`: the simulated engine that much more efficient. At concurrency 1 a
/// decode step reads the weights and the cache at the engine's memory efficiency, plus fixed
/// costs that do not scale: interactivity rises, by less than the factor. Past the hardware's
/// peak, an error says which efficiency would be.
#[test]
fn an_efficiency_scale_speeds_the_simulated_engine_within_its_hardware() {
    let d = tempfile::tempdir().unwrap();
    let simulate = |scale: &str| {
        let mut args = vec!["simulate"];
        args.extend(LLAMA_FP8_H200);
        args.extend([
            "--tp",
            "8",
            "--concurrency",
            "1",
            "--isl",
            "1024",
            "--osl",
            "128",
        ]);
        args.extend(["--json", "--efficiency-scale", scale]);
        sb(d.path(), &args)
    };
    let intvty = |scale: &str| -> f64 {
        let (out, _) = ok(&simulate(scale));
        let v: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        v["median_intvty"].as_f64().unwrap()
    };
    // A decode step is fixed costs plus work done at the scaled efficiencies: its time is
    // A + B / scale exactly, so the three scales' TPOTs lie on one line in 1 / scale.
    let tpot = |scale: &str| 1000.0 / intvty(scale);
    let (t1, t12, t05) = (tpot("1"), tpot("1.2"), tpot("0.5"));
    let b = (t1 - t12) / (1.0 - 1.0 / 1.2);
    assert!(b > 0.0 && t12 < t1 && t1 / t12 <= 1.2 + 1e-9, "{t1} {t12}");
    let predicted = t1 + b * (1.0 / 0.5 - 1.0);
    assert!((t05 - predicted).abs() < 1e-3 * t05, "{t05} vs {predicted}");
    let o = simulate("2");
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("efficiency scale 2: expected a factor above 0 that keeps the engine's compute")
            && e.contains("efficiency at most 1"),
        "{e}"
    );
}

/// A GPU-hour budget on the real SLURM cluster: the tasks run one at a time (`--exclusive`);
/// once the running one has spent the budget the pending ones are cancelled and their points
/// deferred, none lost or failed, and stored with the run as a later night's.
#[test]
fn a_slurm_budget_cancels_what_has_not_started_into_deferred_points() {
    let Some(conf) = common::require_service("SLURM", "SERVEBENCH_TEST_SLURM_CONF") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let fast = "--time-scale, \"100\"";
    std::fs::write(
        dir.join("recipes.yaml"),
        night_recipe("llama-fp8-h200-sim", "h200", "sim:0.1", fast, "2, 4, 8"),
    )
    .unwrap();
    let env = [("SLURM_CONF", conf.as_str())];
    // GPU-hours accrue only while a task runs: spent at the first poll that sees the first
    // task running (its 8 GPUs × 0.2 s), while the others wait for the node.
    let extra = [
        "--poll-interval",
        "0.2",
        "--sbatch-arg=--exclusive",
        "--budget-gpu-hours",
        "0.000001",
    ];
    let o = run_night(dir, "slurm", "night1", &extra, &env);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{out}{err}");
    let count = |sub: &str| walk_or_empty(&dir.join("nights/night1").join(sub)).len();
    let (measured, deferred) = (count("points"), count("deferred"));
    assert!(measured >= 1 && deferred >= 1, "{out}{err}");
    assert_eq!((measured + deferred, count("failed")), (3, 0), "{out}{err}");
    assert!(
        out.contains(&format!("- {deferred} points deferred to the next night")),
        "{out}"
    );
    let c = rusqlite::Connection::open(dir.join("s.db")).unwrap();
    let kept: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM deferred_points
             WHERE reason LIKE 'the budget of 0.000001 GPU-hours is spent%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept as usize, deferred);
}

/// [`walk`], or nothing where `dir` is not.
fn walk_or_empty(dir: &Path) -> Vec<std::path::PathBuf> {
    if dir.is_dir() {
        walk(dir)
    } else {
        Vec::new()
    }
}

/// A multi-node job measures its concurrencies on one deployment: when only some of them are
/// new, GitHub Actions' matrix entry says which (`job-conc`), and its runner measures those
/// (`--job-conc`), the rest carried over.
#[test]
fn a_partly_changed_multi_node_job_runs_only_its_new_concurrencies_on_github() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(dir.join("recipes.yaml"), multi_node_recipe("8, 16")).unwrap();
    ok(&run_night(dir, "virtual-time", "night1", &[], &[]));
    std::fs::write(dir.join("recipes.yaml"), multi_node_recipe("8, 16, 32")).unwrap();
    let outputs = dir.join("outputs");
    let plan = [
        "--gha-matrices",
        "1",
        "--gha-output",
        outputs.to_str().unwrap(),
    ];
    ok(&run_night(dir, "gha", "night2", &plan, &[]));
    let text = std::fs::read_to_string(&outputs).unwrap();
    let m: Value = serde_json::from_str(text.trim().strip_prefix("m000=").unwrap()).unwrap();
    let entry = &m["include"][0];
    assert_eq!(m["include"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(
        (&entry["job-index"], &entry["job-conc"]),
        (&Value::from(0), &Value::from("32"))
    );
    assert_eq!(entry["conc"], serde_json::json!([32]));
    // A runner asked for a concurrency its job does not run says so.
    let o = sb(
        dir,
        &[
            "sweep",
            "--config-files",
            "recipes.yaml",
            "--job-index",
            "0",
            "--job-conc",
            "64",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(
            "--job-conc 64: job 0 (llama-fp8-h200-dynamo-vllm) runs concurrencies [8, 16, 32]"
        ),
        "{e}"
    );
}

/// A night whose every point failed is still stored (its failed jobs, with why) and says so,
/// exit 1; the next night compares with it.
#[test]
fn a_night_whose_every_point_failed_is_stored_and_fails() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let broken = night_recipe(
        "llama-fp8-h200-sim",
        "h200",
        "sim:0.1",
        "--no-such-flag",
        "4",
    );
    std::fs::write(dir.join("recipes.yaml"), broken).unwrap();
    let o = run_night(dir, "local", "night1", &["--health-timeout", "30"], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("- 0 points: 0 measured") && out.contains("- **1 points failed**"),
        "{out}"
    );
    let c = rusqlite::Connection::open(dir.join("s.db")).unwrap();
    let (run, reason): (String, String) = c
        .query_row(
            "SELECT r.run_key, f.reason FROM failed_jobs f JOIN runs r ON r.id = f.run_id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(run, "night1");
    assert!(reason.contains("before it was healthy"), "{reason}");
}
