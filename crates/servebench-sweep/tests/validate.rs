//! Bad recipes are refused before anything runs, with file, line, column, key path and what
//! was expected.

use servebench_sweep::{load_recipes, load_runners, RecipeError};
use std::path::PathBuf;

const GOOD: &str = "\
m-fp8-h200-vllm:
  image: img
  model: org/m
  model-prefix: m
  precision: fp8
  framework: vllm
  runner: h200
  multinode: false
  scenarios:
    fixed-seq-len:
    - isl: 1024
      osl: 1024
      search-space:
      - tp: 8
        conc-start: 4
        conc-end: 64
";

/// The error for `text` (after `edit` of the good recipe), as (line, column, path, message).
fn err(text: &str) -> (usize, usize, String, String) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bad.yaml");
    std::fs::write(&p, text).unwrap();
    match load_recipes(std::slice::from_ref(&p)).unwrap_err() {
        RecipeError::Invalid {
            file,
            line,
            column,
            path,
            message,
        } => {
            assert_eq!(file, p);
            (line, column, path, message)
        }
        e => panic!("{e}"),
    }
}

fn edit(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn the_good_recipe_loads() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("good.yaml");
    std::fs::write(&p, GOOD).unwrap();
    let r = load_recipes(&[p]).unwrap();
    assert_eq!(r.entries.len(), 1);
    assert_eq!(r.get("m-fp8-h200-vllm").unwrap().model, "org/m");
}

#[test]
fn unknown_keys_name_their_place_and_the_keys_expected() {
    let (line, col, path, msg) = err(&edit(
        "        conc-end: 64",
        "        conc-end: 64\n        cnoc: 3",
    ));
    assert_eq!((line, col), (17, 9));
    assert_eq!(
        path,
        "m-fp8-h200-vllm.scenarios.fixed-seq-len[0].search-space[0].cnoc"
    );
    assert!(
        msg.starts_with("unknown field `cnoc`, expected one of `tp`"),
        "{msg}"
    );
    let (line, _, path, msg) = err(&edit(
        "  precision: fp8\n",
        "  precision: fp8\n  colour: red\n",
    ));
    assert_eq!(line, 6);
    assert_eq!(path, "m-fp8-h200-vllm.colour");
    assert!(msg.contains("unknown field `colour`"), "{msg}");
}

#[test]
fn missing_keys_and_wrong_types() {
    let (line, _, path, msg) = err(&edit("  model: org/m\n", ""));
    assert_eq!(path, "m-fp8-h200-vllm");
    assert_eq!(msg, "missing field `model`");
    assert_eq!(line, 1, "the recipe missing it");
    let (line, col, path, msg) = err(&edit("tp: 8", "tp: eight"));
    assert_eq!((line, col), (14, 9), "the key");
    assert_eq!(
        path,
        "m-fp8-h200-vllm.scenarios.fixed-seq-len[0].search-space[0].tp"
    );
    assert!(
        msg.contains("invalid type: string \"eight\", expected u32"),
        "{msg}"
    );
    let (_, _, path, msg) = err(&edit("multinode: false", "multinode: maybe"));
    assert_eq!(path, "m-fp8-h200-vllm.multinode");
    assert!(msg.contains("expected a boolean"), "{msg}");
}

#[test]
fn broken_rules_are_located_after_parsing() {
    let (line, col, path, msg) = err(&edit("conc-start: 4", "conc-start: 128"));
    assert_eq!((line, col), (15, 9));
    assert_eq!(
        path,
        "m-fp8-h200-vllm.scenarios.fixed-seq-len[0].search-space[0].conc-start"
    );
    assert_eq!(msg, "conc-start (128) must be <= conc-end (64)");

    let (line, _, path, msg) = err(&edit(
        "        conc-end: 64",
        "        conc-end: 64\n        conc-list: [1]",
    ));
    assert_eq!(line, 17);
    assert!(path.ends_with("search-space[0].conc-list"));
    assert_eq!(
        msg,
        "give either conc-list or conc-start and conc-end, not both"
    );

    let (_, _, path, msg) = err(&edit("      - tp: 8\n", "      - pp: 2\n"));
    assert!(path.ends_with("search-space[0]"), "{path}");
    assert_eq!(msg, "a single-node entry needs 'tp'");

    let (line, _, path, msg) = err(&edit(
        "        conc-end: 64",
        "        conc-end: 64\n        dcp-size: 3",
    ));
    assert_eq!(line, 17);
    assert!(path.ends_with("dcp-size"));
    assert_eq!(msg, "tp (8) must be divisible by dcp-size (3)");

    let (_, _, path, msg) = err(&edit(
        "multinode: false",
        "multinode: false\n  disagg: true",
    ));
    assert_eq!(path, "m-fp8-h200-vllm.disagg");
    assert_eq!(msg, "disagg: true needs multinode: true");

    // A multi-node recipe with a single-node entry.
    let (line, _, path, msg) = err(&edit("multinode: false", "multinode: true"));
    assert_eq!(line, 14);
    assert!(path.ends_with("search-space[0].tp"), "{path}");
    assert_eq!(msg, "'tp' is not a key of a multi-node entry");

    let (_, _, path, msg) = err(&edit("    fixed-seq-len:", "    agentic-coding:\n    - search-space:\n      - {tp: 8, kv-offloading: none, conc-list: [1]}\n    fixed-seq-len:"));
    assert_eq!(path, "m-fp8-h200-vllm.runner");
    assert!(msg.contains("'cluster:<name>' runner"), "{msg}");

    let (_, _, path, msg) = err(&edit(
        "  runner: h200\n",
        "  runner: h200\n  router: {name: r, version: \"image:x\"}\n",
    ));
    assert_eq!(path, "m-fp8-h200-vllm.router.version");
    assert!(msg.contains("not an image reference"), "{msg}");

    let (_, _, path, _) = err(&edit("m-fp8-h200-vllm:", "m-fp8-*:"));
    assert_eq!(path, "m-fp8-*");
}

#[test]
fn a_key_defined_twice_names_both_files() {
    let d = tempfile::tempdir().unwrap();
    let (a, b): (PathBuf, PathBuf) = (d.path().join("a.yaml"), d.path().join("b.yaml"));
    std::fs::write(&a, GOOD).unwrap();
    std::fs::write(&b, GOOD).unwrap();
    let e = load_recipes(&[a.clone(), b.clone()])
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{}:1:1: m-fp8-h200-vllm: config key already defined in {}",
            b.display(),
            a.display()
        )
    );
}

#[test]
fn runner_configs_accept_yaml_1_1_integers_and_refuse_bad_ones() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("runners.yaml");
    std::fs::write(
        &p,
        "labels:\n  x: [x_01]\nhardware:\n  x:\n    available-cpu-dram-mib: 2_063_837\n    gpus-per-node: 8\n",
    )
    .unwrap();
    assert_eq!(
        load_runners(&p).unwrap().hardware["x"].available_cpu_dram_mib,
        2_063_837
    );
    std::fs::write(&p, "labels:\n  x: []\n").unwrap();
    let e = load_runners(&p).unwrap_err().to_string();
    assert!(
        e.ends_with(":2:3: labels.x: expected a non-empty list of runner names"),
        "{e}"
    );
    std::fs::write(
        &p,
        "labels: {}\nhardware:\n  x:\n    available-cpu-dram-mib: 1_0x\n    gpus-per-node: 8\n",
    )
    .unwrap();
    let e = load_runners(&p).unwrap_err().to_string();
    assert!(
        e.contains("hardware.x.available-cpu-dram-mib: expected an integer, got '1_0x'"),
        "{e}"
    );
}

#[test]
fn llama_cpp_settings_belong_to_llama_cpp_recipes() {
    let (line, _, path, msg) = err(&edit(
        "  multinode: false\n",
        "  multinode: false\n  llamacpp: {slots: 4}\n",
    ));
    assert_eq!((line, path.as_str()), (9, "m-fp8-h200-vllm.llamacpp"));
    assert_eq!(msg, "only for framework: llamacpp");
    let ok = edit("framework: vllm", "framework: llamacpp").replace(
        "  multinode: false\n",
        "  multinode: false\n  llamacpp: {slots: 0}\n",
    );
    let (_, _, path, msg) = err(&ok);
    assert_eq!(path, "m-fp8-h200-vllm.llamacpp.slots");
    assert_eq!(msg, "expected at least 1 slot");
    let (_, _, path, _) = err(&ok.replace("{slots: 0}", "{slots: 2, gpus: 1}"));
    assert!(
        path.ends_with("llamacpp.gpus") || path.ends_with("llamacpp"),
        "{path}"
    );
}
