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
    let model = home.path().join("GLM-5.1-FP8");
    std::fs::create_dir(&model).unwrap();
    for f in [
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "chat_template.jinja",
        "model-00001.safetensors",
        "model.safetensors.index.json",
    ] {
        std::fs::write(model.join(f), f).unwrap();
    }
    let bin = stand_ins(true);
    let (ok, err, ran) = run_decode(&d, bin.path(), home.path(), &model);
    assert!(ok, "{err}");
    let weights = home.path().join(".cache/tilert/glm5.1-fp8-tilert-8shard");
    let lines: Vec<&str> = ran.lines().collect();
    assert_eq!(
        lines,
        [
            format!("python -m tilert.models.preprocess.weight_converter --model_type glm-5 --model_dir {} --save_dir {}", model.display(), weights.display()).as_str(),
            format!("python -m tilert.pd_vllm.decode_server --engine tilert --model glm5 --model-weights-dir {} --max-seq-len 202752 --kv-cache-dtype fp8 --transport nixl --ctrl-port 5556 --http-port 5557 --with-mtp", weights.display()).as_str(),
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
