//! InferenceX's TileRT rows (`tilert`, B200) on real engines: the processes InferenceX's TileRT
//! launcher starts (`benchmarks/multi_node/tilert_utils`), their scripts run here with
//! stand-ins for TileRT's programs.

mod ix;

use ix::render;
use servebench_sweep::cluster::ClusterDeployment;
use servebench_sweep::plan::{Job, Topology};
use std::path::Path;
use std::process::Command;

/// InferenceX's TileRT row, its 1k/1k and 8k/1k jobs.
fn tilert_jobs() -> Vec<Job> {
    ix::ix_jobs("nvidia-master.yaml", "glm5.1-fp8-b200-tilert")
}

/// The export lines of InferenceX's `glm5.1_fp8_b200_tilert-disagg.sh` at 843c6254 (its
/// model settings), in a wrapper of the same shape.
const WRAPPER: &str = r#"#!/usr/bin/env bash
source "$(dirname "$0")/../benchmark_lib.sh"
export MODEL_NAME=glm5
export TILERT_MODEL_TYPE=glm-5
export MAX_MODEL_LEN="${MAX_MODEL_LEN:-202752}"
export DECODE_KV_DTYPE=fp8
export PREFILL_KV_DTYPE=fp8_ds_mla
export TILERT_PARSER=none
exec bash "$(dirname "$0")/tilert_utils/submit.sh"
"#;

/// An InferenceX checkout holding `wrapper` as the row's wrapper script.
fn checkout(wrapper: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("benchmarks/multi_node");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("glm5.1_fp8_b200_tilert-disagg.sh"), wrapper).unwrap();
    d
}

/// As `submit.sh` and `run_node.sh` lay it out: TileRT's decode server on the first node in
/// the row's image; vLLM's prefill and TileRT's router on the second, in `PREFILL_IMAGE`;
/// served under the wrapper's model name.
#[test]
fn decode_on_the_first_node_prefill_and_router_on_the_second_in_their_images() {
    let c = checkout(WRAPPER);
    let job = &tilert_jobs()[1];
    let d = render(job, c.path()).unwrap();
    let placed: Vec<(&str, usize, Option<&str>, Option<u16>)> = d
        .workers
        .iter()
        .chain([&d.router])
        .map(|w| (w.name.as_str(), w.nodes[0], w.image.as_deref(), w.port))
        .collect();
    assert_eq!(
        placed,
        [
            ("decode-0", 0, None, Some(5556)),
            ("prefill-0", 1, Some("vllm/vllm-openai:v0.26.0"), Some(8000)),
            ("router", 1, Some("vllm/vllm-openai:v0.26.0"), Some(8888)),
        ]
    );
    assert_eq!(d.served_model.as_deref(), Some("glm5"));
    let prefill = &d.workers[1].command.args[1];
    assert!(
        prefill.contains(r#"exec vllm serve "$MODEL_PATH" --served-model-name "$MODEL_NAME" --port 8000 --tensor-parallel-size 8"#)
            && prefill.contains("export DECODE_HOST=10.0.0.0 PREFILL_HOST=10.0.0.1"),
        "{prefill}"
    );
}

/// A directory of stand-ins: `python` answering imports, converting weights (writing the
/// index the launcher checks for) and recording what it ran in `$RECORD`.
fn stand_ins(importable: bool) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let import = if importable {
        "exit 0"
    } else {
        "echo 'ModuleNotFoundError: No module named tilert' >&2; exit 1"
    };
    let python = format!(
        r#"#!/bin/sh
if [ "$1" = -c ]; then {import}; fi
echo "python $*" >> "$RECORD"
if [ "$2" = tilert.models.preprocess.weight_converter ]; then
  while [ $# -gt 0 ]; do [ "$1" = --save_dir ] && save=$2; shift; done
  echo '{{}}' > "$save/model.safetensors.index.json"
fi
"#
    );
    let p = d.path().join("python");
    std::fs::write(&p, python).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// A local model folder under `home`: its tokenizer and configuration files, and with
/// `weights` a weights file and its index.
fn model_dir(home: &Path, weights: bool) -> std::path::PathBuf {
    let model = home.join("GLM-5.1-FP8");
    std::fs::create_dir(&model).unwrap();
    let mut files = vec![
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "chat_template.jinja",
    ];
    if weights {
        files.extend(["model-00001.safetensors", "model.safetensors.index.json"]);
    }
    for f in files {
        std::fs::write(model.join(f), f).unwrap();
    }
    model
}

/// Runs the decode server's script with the stand-ins and a local model folder; its exit
/// status, stderr and what it ran.
fn run_decode(
    d: &ClusterDeployment,
    bin: &Path,
    home: &Path,
    model: &Path,
) -> (bool, String, String) {
    let record = home.join("record");
    let script = d.workers[0].command.args[1].replace(
        "MODEL_PATH=zai-org/GLM-5.1-FP8",
        &format!("MODEL_PATH={}", model.display()),
    );
    let o = Command::new("bash")
        .args(["-c", &script])
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", home)
        .env("RECORD", &record)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        std::fs::read_to_string(&record).unwrap_or_default(),
    )
}

/// The decode node converts the weights once into `TILERT_WEIGHTS_DIR` (default under `$HOME`),
/// stages the model's non-weight files beside them, and starts TileRT's decode server on them;
/// a second start finds the conversion cached. An image without TileRT stops with the reason.
#[test]
fn decode_converts_the_weights_once_stages_the_tokenizer_and_starts() {
    let c = checkout(WRAPPER);
    let d = render(&tilert_jobs()[0], c.path()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let model = model_dir(home.path(), true);
    let bin = stand_ins(true);
    let (ok, err, ran) = run_decode(&d, bin.path(), home.path(), &model);
    assert!(ok, "{err}");
    let weights = home.path().join(".cache/tilert/glm5.1-fp8-tilert-8shard");
    // The sequence length is the workflow's for the row, 1,024 + 1,024 + 256 (the wrapper's
    // 202,752 is only its default).
    let lines: Vec<&str> = ran.lines().collect();
    assert_eq!(
        lines,
        [
            format!("python -m tilert.models.preprocess.weight_converter --model_type glm-5 --model_dir {} --save_dir {}", model.display(), weights.display()).as_str(),
            format!("python -m tilert.pd_vllm.decode_server --engine tilert --model glm5 --model-weights-dir {} --max-seq-len 2304 --kv-cache-dtype fp8 --transport nixl --ctrl-port 5556 --http-port 5557 --with-mtp", weights.display()).as_str(),
        ]
    );
    let mut staged: Vec<String> = std::fs::read_dir(&weights)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    staged.sort();
    // The converter's index, its lock, and the model's files but its weights and their index.
    assert_eq!(
        staged,
        [
            ".convert.lock",
            "chat_template.jinja",
            "config.json",
            "model.safetensors.index.json",
            "tokenizer.json",
            "tokenizer_config.json"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(weights.join("model.safetensors.index.json"))
            .unwrap()
            .trim(),
        "{}"
    );
    // Cached: the second start converts nothing.
    std::fs::remove_file(home.path().join("record")).unwrap();
    let (ok, err, ran) = run_decode(&d, bin.path(), home.path(), &model);
    assert!(ok, "{err}");
    assert!(
        !ran.contains("weight_converter") && ran.contains("decode_server"),
        "{ran}"
    );
    // No TileRT in the image: stopped before anything runs, saying so.
    std::fs::remove_file(home.path().join("record")).unwrap();
    let (ok, err, ran) = run_decode(&d, stand_ins(false).path(), home.path(), &model);
    assert!(
        !ok && err.contains("this image has no TileRT (tilert.pd_vllm.decode_server)"),
        "{err}"
    );
    assert_eq!(ran, "");
}

/// What InferenceX's TileRT launcher would run other than the row says, or what servebench
/// cannot read in its wrapper, fails the job before anything starts, saying why.
#[test]
fn rows_the_tilert_launcher_would_change_are_refused() {
    let c = checkout(WRAPPER);
    let base = tilert_jobs().remove(0);
    let mut no_image = base.clone();
    let mut two = base.clone();
    if let Topology::Multi { prefill, .. } = &mut no_image.topology {
        prefill
            .additional_settings
            .as_mut()
            .unwrap()
            .retain(|s| !s.starts_with("PREFILL_IMAGE"));
    }
    if let Topology::Multi { decode, .. } = &mut two.topology {
        decode.num_worker = 2;
    }
    let e = render(&no_image, c.path()).unwrap_err();
    assert!(e.contains("its prefill names no PREFILL_IMAGE="), "{e}");
    let e = render(&two, c.path()).unwrap_err();
    assert!(
        e.contains("starts one decode server on one node; the row asks for 2 workers"),
        "{e}"
    );
    let computed = checkout(&WRAPPER.replace(
        "export TILERT_PARSER=none",
        "export TILERT_PARSER=$(cat /etc/parser)",
    ));
    let e = render(&base, computed.path()).unwrap_err();
    assert!(
        e.contains("glm5.1_fp8_b200_tilert-disagg.sh:8: `export TILERT_PARSER=$(cat /etc/parser)`"),
        "{e}"
    );
    let empty = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(empty.path().join("benchmarks/multi_node")).unwrap();
    let e = render(&base, empty.path()).unwrap_err();
    assert!(
        e.contains("glm5.1_fp8_b200_tilert-disagg.sh: No such file"),
        "{e}"
    );
}

/// Stand-ins recording every start: `python`/`python3` (answering imports, converting weights
/// as TileRT's converter would, writing the index) and `vllm`, each call's argv and
/// environment in `$RECORD.<n>.argv` / `.env`.
fn recorders() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let script = r#"#!/bin/sh
if [ "$1" = -c ]; then exit 0; fi
n=$(ls "$RECORD".*.argv 2>/dev/null | wc -l)
printf '%s\0' "$(basename "$0")" "$@" > "$RECORD.$n.argv"
env -0 > "$RECORD.$n.env"
if [ "$2" = tilert.models.preprocess.weight_converter ]; then
  while [ $# -gt 0 ]; do [ "$1" = --save_dir ] && save=$2; shift; done
  echo '{}' > "$save/model.safetensors.index.json"
fi
"#;
    for name in ["python", "python3", "vllm"] {
        let p = d.path().join(name);
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    d
}

/// The row's processes against InferenceX's own launch of it (`tests/fixtures/ix-tilert`,
/// README there): every program each node starts, in order, with the same argv and the same
/// launcher and engine variables. What servebench sets on purpose is made the same first: the
/// model's and the weights' folders, node names (InferenceX's host names, servebench's
/// addresses). The operator's environment is InferenceX's runner's (its UCX settings and
/// weights folder); the decode's control port is not waited for here.
fn check(index: usize) {
    use serde_json::Value;
    let file = ix::fixtures("ix-tilert").join(format!("glm5.1-fp8-b200-tilert-{index}.json"));
    let o: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let c = checkout(WRAPPER);
    let job = &tilert_jobs()[index];
    let d = render(job, c.path()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let model = model_dir(home.path(), false);
    let weights = home.path().join("weights");
    let theirs = o["processes"].as_array().unwrap();
    let runner_env: Vec<(String, String)> = theirs[0]["env"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("UCX_"))
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .chain([(
            "TILERT_WEIGHTS_DIR".to_string(),
            weights.display().to_string(),
        )])
        .collect();
    let model_text = model.display().to_string();
    let replace = [
        (
            "MODEL_PATH=zai-org/GLM-5.1-FP8",
            format!("MODEL_PATH={model_text}"),
        ),
        (
            r#"until (exec 3<>"/dev/tcp/$DECODE_HOST/5556") 2>/dev/null"#,
            "until true".into(),
        ),
    ];
    let replace: Vec<(&str, &str)> = replace.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let rec = recorders();
    let mut ours: Vec<(
        usize,
        Vec<String>,
        std::collections::BTreeMap<String, String>,
    )> = Vec::new();
    for (i, p) in d.workers.iter().chain([&d.router]).enumerate() {
        let out = rec.path().join(format!("p{i}"));
        // vLLM's image has `python3` and no `python` (the oracle's model of it): where
        // run_node.sh looks for `python` first, it finds `python3` there.
        let mut env = runner_env.clone();
        if p.image.is_some() {
            env.push(("PY".into(), "python3".into()));
        }
        ix::run_step(&p.command, &env, rec.path(), &out, &replace);
        // Every program the step started, in order.
        for n in 0.. {
            let record = rec.path().join(format!("p{i}.{n}"));
            if !record.with_file_name(format!("p{i}.{n}.argv")).exists() {
                break;
            }
            let (argv, env) = ix::read_record(&record);
            ours.push((p.nodes[0], argv, env));
        }
    }
    let (host_d, host_p) = (
        o["hosts"]["decode"].as_str().unwrap(),
        o["hosts"]["prefill"].as_str().unwrap(),
    );
    let their_model = o["model_path"].as_str().unwrap();
    let their_weights = o["weights_dir"].as_str().unwrap();
    let norm = |s: &str, ours: bool| -> String {
        if ours {
            s.replace(&model_text, "MODEL")
                .replace(&weights.display().to_string(), "WEIGHTS")
        } else {
            s.replace(their_model, "MODEL")
                .replace(their_weights, "WEIGHTS")
                .replace(host_d, "10.0.0.0")
                .replace(host_p, "10.0.0.1")
        }
    };
    const VARS: &[&str] = &[
        "UCX_",
        "NVIDIA_",
        "CUDA_VISIBLE_DEVICES",
        "TILERT_",
        "PY",
        "MAX_MODEL_LEN",
        "MODEL_NAME",
        "DECODE_KV_DTYPE",
        "PREFILL_KV_DTYPE",
        "KV_P2P_TRANSFER",
        "DECODE_HOST",
        "PREFILL_HOST",
        "PORT",
    ];
    let keep = |env: &std::collections::BTreeMap<String, String>, ours: bool| {
        ix::env_with(env, VARS)
            .into_iter()
            .filter(|(k, _)| k != "PYTHONDONTWRITEBYTECODE" && k != "PYTHONPYCACHEPREFIX")
            .map(|(k, v)| (k, norm(&v, ours)))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(ours.len(), theirs.len(), "index {index}: programs started");
    for ((node, argv, env), t) in ours.iter().zip(theirs) {
        let role = t["role"].as_str().unwrap();
        assert_eq!(
            *node as u64,
            t["rank"].as_u64().unwrap(),
            "index {index}: {role}'s node"
        );
        let argv: Vec<String> = argv.iter().map(|a| norm(a, true)).collect();
        let their_argv: Vec<String> = ix::strings(&t["argv"])
            .iter()
            .map(|a| norm(a, false))
            .collect();
        assert_eq!(argv, their_argv, "index {index}: {role}'s argv");
        let their_env = ix::string_map(&t["env"]);
        assert_eq!(
            keep(env, true),
            keep(&their_env, false),
            "index {index}: {role}'s environment"
        );
    }
    // The files the decode staged beside the weights: the model's but its weights.
    let mut staged: Vec<String> = std::fs::read_dir(&weights)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".convert.lock" && n != "model.safetensors.index.json")
        .collect();
    staged.sort();
    assert_eq!(staged, ix::strings(&o["staged_files"]));
}

#[test]
fn one_k_row_matches_inferencex_own_launch() {
    check(0);
}

#[test]
fn eight_k_row_matches_inferencex_own_launch() {
    check(1);
}
