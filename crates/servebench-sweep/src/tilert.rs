//! InferenceX's TileRT deployments (`framework: tilert`, B200) as processes, from the files of
//! an InferenceX checkout (`--inferencex`).
//!
//! InferenceX launches these rows with its own scripts: the model's wrapper
//! (`benchmarks/multi_node/<model>_<precision>_<gpu>_tilert-disagg.sh`) exports the model's
//! TileRT settings, `tilert_utils/submit.sh` allocates two nodes and starts `run_node.sh` on each
//! in its own image (decode: the row's TileRT image on the first node; prefill: the vLLM image
//! of its `PREFILL_IMAGE` setting on the second), and `run_node.sh` converts the weights for
//! TileRT once (cached), starts TileRT's decode server, vLLM's prefill server with TileRT's KV
//! connector, and TileRT's PD router beside it. servebench starts the same processes with the
//! same flags as steps of one Slurm allocation, and measures the router with its own client.
//! Where it deliberately differs (`docs/recipes.md`, "TileRT"): nothing is installed at run time
//! (InferenceX's `setup_deps.sh` pip-installs TileRT into both images; servebench checks the
//! image has it and says so where it does not); the model is the row's, as a local folder or
//! its copy in the node's Hugging Face cache (never downloaded; InferenceX's is a site path);
//! the RDMA preflight's warnings are not repeated.

use crate::cluster::{ClientSettings, ClusterDeployment, Node, Probe, Ready, WorkerProcess};
use crate::engine::ServerCommand;
use crate::plan::{Job, Topology};
use crate::recipe::Worker;
use servebench_core::shell::quote;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TilertError {
    #[error("{0}")]
    Unsupported(String),
}

/// `run_node.sh`'s ports.
const PREFILL_PORT: u16 = 8000;
const DECODE_CTRL_PORT: u16 = 5556;
const DECODE_HTTP_PORT: u16 = 5557;
const ROUTER_PORT: u16 = 8888;

/// What a deployment is rendered from.
pub(crate) type Render<'a> = crate::cluster::IxRender<'a>;

/// `NAME=value` of a pool's `additional-settings`.
fn setting<'a>(w: &'a Worker, name: &str) -> Option<&'a str> {
    w.additional_settings
        .iter()
        .flatten()
        .find_map(|s| s.strip_prefix(name)?.strip_prefix('='))
}

/// The model's wrapper script (`glm5.1_fp8_b200_tilert-disagg.sh`), as the runner names it.
fn wrapper(job: &Job, benchmarks: &Path) -> std::path::PathBuf {
    let model = job.exp_name.split('_').next().unwrap_or(&job.exp_name);
    let runner = job.runner.strip_prefix("cluster:").unwrap_or(&job.runner);
    let gpu = runner.split('-').next().unwrap_or(runner);
    benchmarks.join(format!(
        "multi_node/{model}_{}_{gpu}_{}-disagg.sh",
        job.precision, job.framework
    ))
}

/// The wrapper's `export NAME=value` lines, kept as shell (a value may be `"${NAME:-default}"`,
/// the operator's value else the wrapper's); anything else it exports is refused.
fn wrapper_exports(file: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line.trim().strip_prefix("export ") else {
            continue;
        };
        let (name, value) = rest.split_once('=').unwrap_or((rest, ""));
        let plain = |v: &str| {
            v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_./:,+-".contains(c))
        };
        let default = value
            .strip_prefix(&format!("\"${{{name}:-"))
            .and_then(|v| v.strip_suffix("}\""));
        let ok = crate::is_env_name(name) && (plain(value) || default.is_some_and(plain));
        if !ok {
            return Err(format!(
                "{}:{}: `{}`: only NAME=value and NAME=\"${{NAME:-value}}\" exports are understood",
                file.display(),
                n + 1,
                line.trim()
            ));
        }
        out.push(format!("export {name}={value}"));
    }
    Ok(out)
}

/// The row checked against what the launcher starts: one decode and one prefill server, a
/// node each, the prefill in its own image.
fn check(job: &Job) -> Result<String, String> {
    let Topology::Multi { prefill, decode } = &job.topology else {
        return Err("not a multi-node job".into());
    };
    for (role, w, key) in [
        ("prefill", prefill, "PREFILL_NODES"),
        ("decode", decode, "DECODE_NODES"),
    ] {
        if w.num_worker != 1 || setting(w, key).unwrap_or("1") != "1" {
            return Err(format!("InferenceX's TileRT launcher starts one {role} server on one node; the row asks for {} workers, {key}={}", w.num_worker, setting(w, key).unwrap_or("1")));
        }
    }
    setting(prefill, "PREFILL_IMAGE")
        .filter(|i| !i.is_empty())
        .map(str::to_string)
        .ok_or_else(|| "its prefill names no PREFILL_IMAGE= (the vLLM image InferenceX's TileRT launcher runs the prefill in)".into())
}

/// Nodes the deployment takes: a decode node and a prefill node.
pub fn nodes_wanted(job: &Job) -> Result<u32, TilertError> {
    check(job)
        .map(|_| 2)
        .map_err(|e| TilertError::Unsupported(format!("{}: {e}", job.config_key)))
}

/// Every process of `r.job`'s deployment on `r.nodes`.
pub fn deployment(r: &Render) -> Result<ClusterDeployment, TilertError> {
    let job = r.job;
    let fail = |e: String| TilertError::Unsupported(format!("{}: {e}", job.config_key));
    let prefill_image = check(job).map_err(fail)?;
    if r.nodes.len() < 2 {
        return Err(fail(format!(
            "needs 2 nodes, the allocation has {}",
            r.nodes.len()
        )));
    }
    let exports = wrapper_exports(&wrapper(job, r.benchmarks)).map_err(fail)?;
    let (decode, prefill) = (&r.nodes[0], &r.nodes[1]);
    let Topology::Multi { prefill: p, .. } = &job.topology else {
        unreachable!("checked")
    };
    let env = Env {
        exports,
        job,
        decode,
        prefill,
    };
    let process =
        |name: &str, node: usize, port: u16, command, image: Option<String>| WorkerProcess {
            name: name.into(),
            nodes: vec![node],
            tasks_per_node: 1,
            mpi: false,
            port: Some(port),
            command,
            image,
        };
    Ok(ClusterDeployment {
        infra: Vec::new(),
        workers: vec![
            process("decode-0", 0, DECODE_CTRL_PORT, env.decode_server(), None),
            process(
                "prefill-0",
                1,
                PREFILL_PORT,
                env.prefill_server(p.tp),
                Some(prefill_image.clone()),
            ),
        ],
        frontends: Vec::new(),
        router: process("router", 1, ROUTER_PORT, env.router(), Some(prefill_image)),
        nodes_wanted: 2,
        // run_node.sh's waits: the decode's control port and vLLM's port open, then the
        // router's /health.
        ready: Ready::Probes {
            workers: Probe::Accepting,
            router: "/health",
            router_port: None,
        },
        served_model: Some(served_name(&env)),
        client: ClientSettings::default(),
        srun_options: Vec::new(),
        mounts: Vec::new(),
    })
}

/// The name the servers serve the model under: the wrapper's `MODEL_NAME` (`glm5`).
fn served_name(env: &Env) -> String {
    env.exports
        .iter()
        .find_map(|l| l.strip_prefix("export MODEL_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "glm5".into())
}

/// What every process's script starts from.
struct Env<'a> {
    exports: Vec<String>,
    job: &'a Job,
    decode: &'a Node,
    prefill: &'a Node,
}

impl Env<'_> {
    /// The wrapper's exports, `submit.sh`'s, `run_node.sh`'s defaults, and the image's Python
    /// (TileRT's conda environment where the image has one, as `setup_deps.sh` activates it).
    fn prologue(&self, role: &str) -> Vec<String> {
        // The workflow's (InferenceX's matrix gives every row its max-model-len), then the
        // wrapper's.
        let mut lines: Vec<String> = self
            .job
            .max_model_len()
            .map(|l| format!("export MAX_MODEL_LEN={l}"))
            .into_iter()
            .chain(self.exports.iter().cloned())
            .collect();
        lines.extend([
            "export NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility".to_string(),
            format!("export TILERT_ROLE={role}"),
            format!("export DECODE_HOST={} PREFILL_HOST={}", quote(&self.decode.addr), quote(&self.prefill.addr)),
            format!("export PORT=${{PORT:-{ROUTER_PORT}}}"),
            format!(
                "export TILERT_WEIGHTS_DIR=${{TILERT_WEIGHTS_DIR:-$HOME/.cache/tilert/{}-{}-tilert-8shard}}",
                self.job.model_prefix, self.job.precision
            ),
            r#"MODEL_NAME=${MODEL_NAME:-glm5}; MAX_MODEL_LEN=${MAX_MODEL_LEN:-202752}; GPU_MEM_UTIL=${GPU_MEM_UTIL:-0.75}; KV_P2P_TRANSFER=${KV_P2P_TRANSFER:-nixl}; TILERT_MODEL_TYPE=${TILERT_MODEL_TYPE:-glm-5}; TILERT_PARSER=${TILERT_PARSER:-none}; DECODE_KV_DTYPE=${DECODE_KV_DTYPE:-fp8}; PREFILL_KV_DTYPE=${PREFILL_KV_DTYPE:-fp8_ds_mla}"#.into(),
            r#"if [ -d /opt/conda/envs/tilert ] && [ "$(command -v python)" != /opt/conda/envs/tilert/bin/python ]; then if [ -f /opt/conda/etc/profile.d/conda.sh ]; then . /opt/conda/etc/profile.d/conda.sh && conda activate tilert; fi; [ "$(command -v python)" = /opt/conda/envs/tilert/bin/python ] || export PATH="/opt/conda/envs/tilert/bin:$PATH"; fi"#.into(),
            r#"if [ -z "${PY:-}" ] || ! command -v "$PY" >/dev/null 2>&1; then PY=; for c in python python3; do command -v "$c" >/dev/null 2>&1 && { PY=$c; break; }; done; fi; [ -n "$PY" ] || { echo "neither python nor python3 found" >&2; exit 1; }; export PY"#.into(),
        ]);
        if let Some(t) = &self.job.kv_p2p_transfer {
            lines.push(format!("export KV_P2P_TRANSFER={}", quote(t)));
        }
        lines
    }

    /// Stops with the reason where the image lacks TileRT's `module` (InferenceX's
    /// `setup_deps.sh` would pip-install it).
    fn needs(module: &str) -> String {
        format!(
            r#""$PY" -c 'import {module}' || {{ echo "this image has no TileRT ({module}): InferenceX's setup_deps.sh pip-installs tilert at run time; servebench installs nothing, so run an image that has it" >&2; exit 1; }}"#
        )
    }

    /// The row's model as a local folder: itself where it is one, else its copy in the node's
    /// Hugging Face cache (never downloaded).
    fn model_path(&self) -> String {
        format!(
            r#"MODEL_PATH={m}; [ -d "$MODEL_PATH" ] || MODEL_PATH=$("$PY" -c 'import sys; from huggingface_hub import snapshot_download; print(snapshot_download(sys.argv[1], local_files_only=True))' "$MODEL_PATH") || {{ echo "{m0}: not a folder and not in this node's Hugging Face cache" >&2; exit 1; }}"#,
            m = quote(&self.job.model),
            m0 = self.job.model.replace(['"', '$', '`', '\\'], "")
        )
    }

    /// TileRT's decode server on the first node, after the weights are converted for it once
    /// (cached in `TILERT_WEIGHTS_DIR`) and the tokenizer files staged beside them.
    fn decode_server(&self) -> ServerCommand {
        let mut lines = self.prologue("decode");
        lines.push(Self::needs("tilert.pd_vllm.decode_server"));
        lines.push(self.model_path());
        lines.extend(
            [
                r#"W=$TILERT_WEIGHTS_DIR; mkdir -p "$W""#,
                r#"if [ ! -f "$W/model.safetensors.index.json" ]; then exec 9>"$W/.convert.lock"; flock -w "${TILERT_CONVERT_LOCK_WAIT:-21600}" 9 || { echo "timed out waiting for the weight conversion lock" >&2; exit 1; }; if [ ! -f "$W/model.safetensors.index.json" ]; then find "$W" -mindepth 1 ! -name .convert.lock -delete; "$PY" -m tilert.models.preprocess.weight_converter --model_type "$TILERT_MODEL_TYPE" --model_dir "$MODEL_PATH" --save_dir "$W" && [ -f "$W/model.safetensors.index.json" ] || { echo "weight conversion failed: $W" >&2; exit 1; }; fi; exec 9>&-; fi"#,
                r#"for f in "$MODEL_PATH"/*; do b=$(basename "$f"); [ -f "$f" ] || continue; case "$b" in *.safetensors|model.safetensors.index.json) continue ;; esac; [ -e "$W/$b" ] || cp -p "$f" "$W/$b"; done"#,
                r#"[ -f "$W/chat_template.jinja" ] && { [ -f "$W/tokenizer_config.json" ] || [ -f "$W/tokenizer.json" ]; } || { echo "$W has no chat_template.jinja or tokenizer files (the decode server loads them from there)" >&2; exit 1; }"#,
            ]
            .map(String::from),
        );
        lines.push(format!(
            r#"exec "$PY" -m tilert.pd_vllm.decode_server --engine tilert --model "$MODEL_NAME" --model-weights-dir "$W" --max-seq-len "$MAX_MODEL_LEN" --kv-cache-dtype "$DECODE_KV_DTYPE" --transport "$KV_P2P_TRANSFER" --ctrl-port {DECODE_CTRL_PORT} --http-port {DECODE_HTTP_PORT} --with-mtp"#
        ));
        bash(lines)
    }

    /// vLLM's prefill server with TileRT's KV connector, on the second node in its own image,
    /// once the decode server's control port is open (as `run_node.sh` waits, an hour at most).
    fn prefill_server(&self, tp: u32) -> ServerCommand {
        let mut lines = self.prologue("prefill");
        lines.push(Self::needs("tilert.pd_vllm.prefill_connector"));
        lines.push(self.model_path());
        lines.push(format!(
            r#"end=$((SECONDS + ${{DECODE_WAIT:-3600}})); until (exec 3<>"/dev/tcp/$DECODE_HOST/{DECODE_CTRL_PORT}") 2>/dev/null; do [ $SECONDS -ge $end ] && {{ echo "the decode control port $DECODE_HOST:{DECODE_CTRL_PORT} is not open: starting anyway" >&2; break; }}; sleep 5; done"#
        ));
        let connector = format!(
            r#"{{"kv_connector":"TileRTConnector","kv_connector_module_path":"tilert.pd_vllm.prefill_connector","kv_role":"kv_producer","kv_connector_extra_config":{{"tilert_host":"'"$DECODE_HOST"'","tilert_ctrl_port":{DECODE_CTRL_PORT},"tilert_model":"'"$MODEL_NAME"'","tilert_max_seq_len":'"$MAX_MODEL_LEN"',"tilert_transport":"'"$KV_P2P_TRANSFER"'"}}}}"#
        );
        lines.push(format!(
            r#"exec vllm serve "$MODEL_PATH" --served-model-name "$MODEL_NAME" --port {PREFILL_PORT} --tensor-parallel-size {tp} --max-model-len "$MAX_MODEL_LEN" --enforce-eager --trust-remote-code --return-tokens-as-token-ids --gpu-memory-utilization "$GPU_MEM_UTIL" --kv-cache-dtype "$PREFILL_KV_DTYPE" --speculative-config '{{"method":"mtp","num_speculative_tokens":1}}' --kv-transfer-config '{connector}'"#
        ));
        bash(lines)
    }

    /// TileRT's PD router beside the prefill server, in its image, on no GPU.
    fn router(&self) -> ServerCommand {
        let mut lines = self.prologue("prefill");
        lines.push(self.model_path());
        lines.push(format!(
            r#"exec env CUDA_VISIBLE_DEVICES= "$PY" -m tilert.pd_vllm.pd_router --vllm-url "http://$PREFILL_HOST:{PREFILL_PORT}" --decode "$DECODE_HOST:{DECODE_CTRL_PORT}:{DECODE_HTTP_PORT}" --port "$PORT" --model-path "$MODEL_PATH" --parser "$TILERT_PARSER""#
        ));
        bash(lines)
    }
}

fn bash(lines: Vec<String>) -> ServerCommand {
    ServerCommand {
        program: "bash".into(),
        args: vec!["-c".into(), lines.join("; ")],
        env: Vec::new(),
        files: Vec::new(),
    }
}
