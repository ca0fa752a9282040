//! The bad-input table of `docs/bad-input.md`, executed: every row's command, run by the
//! binary in a scratch directory, exits with the row's code and says the row's text; no output
//! holds a panic or a planted secret; no failed command created a store.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// Strings planted in the table's commands that no output may contain.
const PLANTED: &[&str] = &["pw-planted", "sk-planted0123456789"];

struct Row {
    command: String,
    exit: i32,
    says: String,
}

/// The rows of the table whose header is `| command | exit | message contains |`.
fn rows(doc: &str) -> Vec<Row> {
    let code = |cell: &str| {
        cell.trim()
            .strip_prefix('`')
            .and_then(|c| c.strip_suffix('`'))
            .unwrap_or_else(|| panic!("a code cell: {cell}"))
            .to_string()
    };
    doc.lines()
        .skip_while(|l| !l.starts_with("| command | exit |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 3, "{l}");
            Row {
                command: code(cells[0]),
                exit: cells[1].trim().parse().unwrap(),
                says: code(cells[2]),
            }
        })
        .collect()
}

/// The scratch directory's files the rows name.
fn lay_out(dir: &Path) {
    let published = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../servebench-store/tests/fixtures/inferencemax-v1");
    for (db, version) in [("s.db", None), ("old.db", Some(7))] {
        let store = format!("sqlite:{}", dir.join(db).display());
        let o = Command::new(BIN)
            .args(["ingest", "--store", &store])
            .arg(&published)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        if let Some(v) = version {
            let c = rusqlite::Connection::open(dir.join(db)).unwrap();
            c.execute("DELETE FROM schema_version WHERE version > ?1", [v])
                .unwrap();
        }
    }
    std::fs::write(dir.join("empty.yaml"), "# nothing yet\n").unwrap();
    std::fs::write(
        dir.join("bad-runner.yaml"),
        sim_recipe("", 128, 8, "{tp: 1, conc-list: [1]}")
            .replace("llama-fp8-h200-sim:", "r:")
            .replace("runner: h200", "runner: zz999"),
    )
    .unwrap();
    std::fs::copy(eval_fixtures().join("gsm8k.jsonl"), dir.join("gsm8k.jsonl")).unwrap();
    std::fs::write(
        dir.join("agg_agentic.json"),
        r#"[{"hw": "b300-nv", "framework": "vllm", "model": "m", "infmax_model_prefix": "qwen3.5",
             "precision": "fp8", "scenario_type": "agentic-coding", "users": 8, "conc": 8}]"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("agg_bad.json"),
        r#"[{"hw": "h200", "framework": "vllm", "model": "m", "precision": "fp8", "isl": 1024,
             "osl": 1024, "conc": "lots", "tp": 8}]"#,
    )
    .unwrap();
    let point = dir.join("not-a-result/points/k");
    std::fs::create_dir_all(&point).unwrap();
    std::fs::write(point.join("x.json"), "{\"job\": {}}").unwrap();
}

#[test]
fn every_row_of_the_bad_input_table_fails_as_it_says() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/bad-input.md"),
    )
    .unwrap();
    let rows = rows(&doc);
    assert!(rows.len() >= 20, "{} rows", rows.len());
    let d = tempfile::tempdir().unwrap();
    lay_out(d.path());
    let sim = Sim::start(&[
        "--profile",
        "fixed",
        "--max-model-len",
        "1024",
        "--model",
        "m",
    ]);
    let failing = Sim::start(&["--profile", "fixed", "--fail-503", "1"]);
    let dead = format!("http://127.0.0.1:{}", free_port());
    let mut wrong = Vec::new();
    for row in &rows {
        let line = row
            .command
            .replace("$DEAD", &dead)
            .replace("$SIM", &sim.url)
            .replace("$FAILING", &failing.url);
        let says = row.says.replace("$DEAD", &dead);
        let args = shell_words(&line);
        let o = Command::new(BIN)
            .args(&args)
            .current_dir(d.path())
            .env_remove("OPENAI_API_KEY")
            .env_remove("SERVEBENCH_STORE")
            .output()
            .unwrap();
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let code = o.status.code();
        let leaked: Vec<&&str> = PLANTED.iter().filter(|s| out.contains(**s)).collect();
        if code != Some(row.exit)
            || !out.contains(&says)
            || out.contains("panicked")
            || !leaked.is_empty()
        {
            wrong.push(format!(
                "{line}\n  exit {code:?} (want {}), leaked {leaked:?}, said:\n  {}",
                row.exit,
                out.trim().replace('\n', "\n  ")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    for db in ["new.db", "typo.db"] {
        assert!(!d.path().join(db).exists(), "{db} was created");
    }
}

/// The table's commands as words (no shell: `{bad` and `[::1` are arguments as written).
fn shell_words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}
