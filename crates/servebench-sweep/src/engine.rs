//! Engine adapters: the server command a job runs, rendered from the typed job and recipe (no
//! string passing through shell scripts), for `vllm`, `sglang`, `trt` and `sim`.

use crate::plan::{Job, Topology, Workload};
use crate::recipe::{KvOffloading, Recipe, SpecDecoding};
use servebench_catalog::Catalog;
use servebench_core::{redact, shell};
use std::path::PathBuf;

/// A process to start: program, arguments and extra environment, and the files it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCommand {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Files the command names, written before it starts ([`ServerCommand::place_files`]).
    pub files: Vec<ServerFile>,
}

/// A file an engine reads its settings from (TensorRT-LLM's extra LLM-API options): the
/// argument naming it holds `name` until the file is placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFile {
    pub arg: usize,
    pub name: String,
    pub contents: String,
}

impl ServerCommand {
    /// Writes the command's files into `dir` and points their arguments there.
    pub fn place_files(&mut self, dir: &std::path::Path) -> std::io::Result<()> {
        for f in &self.files {
            std::fs::create_dir_all(dir)?;
            let path = dir.join(&f.name);
            std::fs::write(&path, &f.contents)?;
            self.args[f.arg] = path.display().to_string();
        }
        Ok(())
    }

    /// The command as one shell-quoted line (logs, golden tests, SLURM scripts).
    pub fn shell_line(&self) -> String {
        shell::line(
            self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            std::iter::once(self.program.as_str()).chain(self.args.iter().map(String::as_str)),
        )
    }

    /// The command as it may be shown and stored: [`Self::shell_line`] with the values of
    /// secret variables and flags masked (`servebench_core::redact`).
    pub fn redacted_line(&self) -> String {
        let env: Vec<(&str, String)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), redact::env_value(k, v).into_owned()))
            .collect();
        let args = redact::args(&self.args);
        shell::line(
            env.iter().map(|(k, v)| (*k, v.as_str())),
            std::iter::once(self.program.as_str()).chain(args.iter().map(String::as_str)),
        )
    }
}

/// Which engine serves a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engines {
    /// The recipe's framework (a real vLLM, SGLang or TensorRT-LLM server).
    Recipe,
    /// The simulated engine standing in for it: the recipe's GPU (from its runner label),
    /// model, precision and parallelism, under its framework's scheduler.
    Sim,
}

/// Where the server listens and what to run `sim` with.
#[derive(Debug, Clone)]
pub struct Launch {
    pub engines: Engines,
    pub host: String,
    pub port: u16,
    /// The `servebench` binary (for `framework: sim`).
    pub servebench: PathBuf,
    /// Tokenizer the simulated server counts prompts with (the client's).
    pub tokenizer: String,
    /// Simulated engines run this many times faster than the modelled GPUs (`sim
    /// --time-scale`); a `sim` recipe's own `--time-scale` wins.
    pub sim_time_scale: Option<f64>,
    /// Where real-engine multi-node rows' launch recipes are read from.
    pub recipes: crate::cluster::LaunchRecipes,
}

/// The health endpoint every supported engine serves.
pub const HEALTH_PATH: &str = "/health";

/// The server command of `job` (from `recipe`).
pub fn server_command(job: &Job, recipe: &Recipe, l: &Launch) -> Result<ServerCommand, String> {
    let Topology::Single {
        tp,
        pp,
        dcp_size,
        pcp_size,
        ep,
        dp_attn,
    } = job.topology
    else {
        return Err(format!(
            "{}: a multi-node (prefill/decode) deployment is its workers and router (cluster::deployment), not one server",
            job.config_key
        ));
    };
    // Agentic rows serve the model's native context (InferenceX unsets MAX_MODEL_LEN there).
    let max_len = job.max_model_len().map(|n| n.to_string());
    // The recipe's own speculative flags win; else the launch script's draft length.
    let own_spec = recipe
        .engine_args
        .iter()
        .any(|a| a.starts_with("--speculative") || a.starts_with("--extra_llm_api_options"));
    let simulated = l.engines == Engines::Sim || job.framework == "sim";
    if let Workload::Agentic {
        kv_offloading: KvOffloading::Dram,
        ..
    } = job.workload
    {
        if !simulated && !offloads_itself(recipe) {
            return Err(format!(
                "{}: kv-offloading dram on {}: the backend's offload flags must come in the recipe's engine-args (servebench sizes no real offload backend itself)",
                job.config_key, job.framework
            ));
        }
    }
    let draft = match (job.spec_decoding, own_spec && !simulated) {
        (SpecDecoding::None, _) | (_, true) => None,
        (SpecDecoding::Mtp, false) => Some(draft_tokens(job, dp_attn)?),
        (SpecDecoding::DraftModel, false) => {
            return Err(format!(
                "{}: spec-decoding draft_model names no draft model: pass the engine's speculative arguments in the recipe's engine-args",
                job.config_key
            ))
        }
    };
    let (host, port) = (l.host.clone(), l.port.to_string());
    let s = |x: &str| x.to_string();
    let framework = if simulated {
        "sim"
    } else {
        job.framework.as_str()
    };
    let mut files = Vec::new();
    let (program, mut args): (String, Vec<String>) = match framework {
        "sim" => {
            let catalog = Catalog::builtin().map_err(|e| e.to_string())?;
            let spec = match draft {
                Some(_) => Some(crate::virtual_time::speculation(job, &catalog)?),
                None => None,
            };
            let recipe_scales = job.framework == "sim"
                && recipe.engine_args.iter().any(|x| x.starts_with("--time-scale"));
            let server = SimServer {
                role: None,
                host: &host,
                port: l.port,
                gpus: tp,
                ep,
                pp,
                dp_attn,
                eplb: false,
                spec,
                kv_link: None,
                time_scale: l.sim_time_scale.filter(|_| !recipe_scales),
            };
            (
                l.servebench.display().to_string(),
                sim_args(job, l, &catalog, &server)?,
            )
        }
        "vllm" => {
            let mut a = vec![
                s("serve"),
                job.model.clone(),
                s("--host"),
                host,
                s("--port"),
                port,
            ];
            if dp_attn {
                // vLLM's data-parallel attention: one attention replica per GPU, experts
                // sharded over all of them.
                a.extend([
                    s("--data-parallel-size"),
                    tp.to_string(),
                    s("--tensor-parallel-size"),
                    s("1"),
                ]);
            } else {
                a.extend([s("--tensor-parallel-size"), tp.to_string()]);
            }
            if pp > 1 {
                a.extend([s("--pipeline-parallel-size"), pp.to_string()]);
            }
            if dcp_size > 1 {
                a.extend([s("--decode-context-parallel-size"), dcp_size.to_string()]);
            }
            if ep > 1 || dp_attn {
                a.push(s("--enable-expert-parallel"));
            }
            if let Some(n) = draft {
                a.extend([
                    s("--speculative-config"),
                    format!("{{\"method\":\"mtp\",\"num_speculative_tokens\":{n}}}"),
                ]);
            }
            if let Some(n) = max_len {
                a.extend([s("--max-model-len"), n]);
            }
            (s("vllm"), a)
        }
        "sglang" => {
            let mut a = vec![
                s("-m"),
                s("sglang.launch_server"),
                s("--model-path"),
                job.model.clone(),
                s("--host"),
                host,
                s("--port"),
                port,
                s("--tp-size"),
                tp.to_string(),
            ];
            if pp > 1 {
                a.extend([s("--pp-size"), pp.to_string()]);
            }
            if ep > 1 {
                a.extend([s("--ep-size"), ep.to_string()]);
            }
            if dp_attn {
                a.extend([s("--enable-dp-attention"), s("--dp-size"), tp.to_string()]);
            }
            if let Some(n) = draft {
                // Top-1 chains of n drafts: n + 1 tokens verified, as InferenceX's scripts run.
                a.extend([
                    s("--speculative-algorithm"),
                    s("EAGLE"),
                    s("--speculative-num-steps"),
                    n.to_string(),
                    s("--speculative-eagle-topk"),
                    s("1"),
                    s("--speculative-num-draft-tokens"),
                    (n + 1).to_string(),
                ]);
            }
            if let Some(n) = max_len {
                a.extend([s("--context-length"), n]);
            }
            (s("python3"), a)
        }
        "trt" => {
            let mut a = vec![
                job.model.clone(),
                s("--host"),
                host,
                s("--port"),
                port,
                s("--tp_size"),
                tp.to_string(),
                s("--ep_size"),
                ep.to_string(),
            ];
            if pp > 1 {
                a.extend([s("--pp_size"), pp.to_string()]);
            }
            if let Some(n) = max_len {
                a.extend([s("--max_seq_len"), n]);
            }
            // Attention DP and MTP live in the LLM-API options file (unless the recipe brings
            // its own).
            if let Some(contents) = trt_options(dp_attn && !own_spec, draft) {
                // One plain file name, whatever the recipe's key holds.
                let key: String = job
                    .config_key
                    .chars()
                    .map(|c| match c {
                        'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => c,
                        _ => '_',
                    })
                    .collect();
                let name = format!("{key}.extra-llm-api-options.yaml");
                a.push(s("--extra_llm_api_options"));
                files.push(ServerFile {
                    arg: a.len(),
                    name: name.clone(),
                    contents,
                });
                a.push(name);
            }
            (s("trtllm-serve"), a)
        }
        "llamacpp" => {
            // llama.cpp's llama-server on CPU: `model` is the GGUF file; the slots share the
            // context, so it is slots × the workload's length unless the recipe sets it.
            if tp != 1 {
                return Err(format!(
                    "{}: llama-server runs on one device: tp must be 1, not {tp}",
                    job.config_key
                ));
            }
            let l = recipe.llamacpp.clone();
            let slots = l.as_ref().map_or(1, |l| l.slots);
            let ctx = l.as_ref().and_then(|l| l.ctx_size).map_or_else(
                || (slots as u64 * job.max_model_len().unwrap_or(4096) as u64).to_string(),
                |c| c.to_string(),
            );
            let mut a = vec![
                s("-m"),
                job.model.clone(),
                s("--alias"),
                job.model_prefix.clone(),
                s("--host"),
                host,
                s("--port"),
                port,
                s("-np"),
                slots.to_string(),
                s("-c"),
                ctx,
                s("--metrics"),
                s("--no-ui"),
            ];
            if let Some(t) = l.and_then(|l| l.threads) {
                a.extend([s("-t"), t.to_string()]);
            }
            let program = std::env::var("LLAMA_SERVER").unwrap_or_else(|_| s("llama-server"));
            (program, a)
        }
        other => {
            return Err(format!(
                "{}: framework '{other}' has no local engine adapter (vllm, sglang, trt, llamacpp, sim)",
                job.config_key
            ))
        }
    };
    if pcp_size > 1 {
        return Err(format!(
            "{}: pcp-size {pcp_size} (prefill context parallelism) has no local adapter yet",
            job.config_key
        ));
    }
    // A recipe's engine arguments and environment are for its own engine (a `sim` recipe's
    // arguments are for `servebench sim`).
    let own = !simulated || job.framework == "sim";
    if own {
        args.extend(recipe.engine_args.iter().cloned());
    }
    Ok(ServerCommand {
        program,
        args,
        files,
        env: if own {
            recipe
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        } else {
            Vec::new()
        },
    })
}

/// TensorRT-LLM's extra LLM-API options for attention DP and MTP with `draft` draft layers, as
/// InferenceX's launch scripts write them (`enable_attention_dp`, `speculative_config:
/// {decoding_type: MTP, num_nextn_predict_layers}`); `None` when neither is asked for.
fn trt_options(dp_attn: bool, draft: Option<u32>) -> Option<String> {
    let mut y = String::new();
    if dp_attn {
        y.push_str("enable_attention_dp: true\n");
    }
    if let Some(n) = draft {
        y.push_str(&format!(
            "speculative_config:\n  decoding_type: MTP\n  num_nextn_predict_layers: {n}\n"
        ));
    }
    (!y.is_empty()).then_some(y)
}

/// The draft tokens per verification a single-node MTP job's engine runs: its launch
/// script's (`data/inferencex-configs-843c6254/draft-tokens.yaml`), the same at every
/// concurrency of the job, which one server serves.
fn draft_tokens(job: &Job, dp_attn: bool) -> Result<u32, String> {
    let mut lengths: Vec<Option<u32>> = job
        .conc
        .iter()
        .map(|&c| crate::draft_tokens::of(&job.config_key, dp_attn, c))
        .collect();
    lengths.dedup();
    match lengths[..] {
        [Some(n)] => Ok(n),
        [None] | [] => Err(format!(
            "{}: spec-decoding mtp without a draft length: no launch script of this key is known; pass the engine's speculative arguments in the recipe's engine-args",
            job.config_key
        )),
        _ => Err(format!(
            "{}: the launch script's draft length changes with concurrency ({lengths:?} over {:?}): plan each length's concurrencies apart (--conc)",
            job.config_key, job.conc
        )),
    }
}

/// One `servebench sim` server of a job: its part in a multi-node deployment (none: a whole
/// server), where it listens, its worker's shape, speculation and KV link.
pub(crate) struct SimServer<'a> {
    pub role: Option<&'a str>,
    pub host: &'a str,
    pub port: u16,
    /// GPUs of one pipeline stage (`--tp`).
    pub gpus: u32,
    pub ep: u32,
    pub pp: u32,
    pub dp_attn: bool,
    pub eplb: bool,
    pub spec: Option<servebench_sim::perf::SpecDecode>,
    /// `scale-up` or `scale-out`: a decode worker's link from the prefill workers.
    pub kv_link: Option<&'a str>,
    pub time_scale: Option<f64>,
}

/// The arguments of `servebench sim` serving `server` for `job`: the recipe's accelerator
/// (from its runner label), model, precision and parallelism under its framework's
/// scheduler, counting prompts with the client's tokenizer.
pub(crate) fn sim_args(
    job: &Job,
    l: &Launch,
    catalog: &Catalog,
    server: &SimServer<'_>,
) -> Result<Vec<String>, String> {
    let gpu = sim_gpu(&job.runner, catalog)?;
    let model = sim_model(&job.model, catalog)
        .or_else(|e| sim_model(&job.model_prefix, catalog).map_err(|_| e))?;
    let max_len = sim_max_model_len(job, catalog)?.to_string();
    let s = String::from;
    let mut a = vec![s("sim")];
    if let Some(role) = server.role {
        a.extend([s("--role"), s(role)]);
    }
    a.extend([
        s("--host"),
        s(server.host),
        s("--port"),
        server.port.to_string(),
        s("--gpu"),
        gpu,
        s("--model"),
        model,
        s("--precision"),
        job.precision.clone(),
        s("--tp"),
        server.gpus.to_string(),
        s("--served-model-name"),
        job.model.clone(),
        s("--tokenizer"),
        l.tokenizer.clone(),
        s("--max-model-len"),
        max_len,
    ]);
    // Only prefill workers offload in disaggregated deployments (InferenceX budgets the CPU
    // memory of one prefill worker's node share).
    if let Workload::Agentic {
        kv_offloading: KvOffloading::Dram,
        total_cpu_dram_gb,
        ..
    } = job.workload
    {
        if server.role != Some("decode") {
            a.extend([s("--kv-offload-gb"), total_cpu_dram_gb.to_string()]);
        }
    }
    if server.ep > 1 {
        a.extend([s("--ep"), server.ep.to_string()]);
    }
    if server.pp > 1 {
        a.extend([s("--pp"), server.pp.to_string()]);
    }
    if server.dp_attn {
        a.push(s("--dp-attention"));
    }
    if server.eplb {
        a.push(s("--eplb"));
    }
    if let Some(sd) = server.spec {
        a.extend([
            s("--spec-decode"),
            format!("{}:{}", sd.draft_tokens, sd.acceptance_length),
        ]);
    }
    if let Some(link) = server.kv_link {
        a.extend([s("--kv-link"), s(link)]);
    }
    if let Some(e) = simulated_engine(&job.framework) {
        a.extend([s("--engine"), s(e)]);
    }
    if let Some(x) = server.time_scale {
        a.extend([s("--time-scale"), x.to_string()]);
    }
    Ok(a)
}

/// The simulated engine (scheduler and calibration) closest to a framework; `None` for
/// `sim` (its own `--engine` argument, default vllm).
pub fn simulated_engine(framework: &str) -> Option<&'static str> {
    match framework {
        "sim" => None,
        f if f.contains("sglang") => Some("sglang"),
        f if f.contains("trt") => Some("trt"),
        // vLLM, its Dynamo and llm-d deployments, and other vLLM-like engines (ATOM).
        _ => Some("vllm"),
    }
}

/// The catalog accelerator of a runner label: `h200`, `b200-multinode` → b200,
/// `cluster:b300-nv` → b300.
pub(crate) fn sim_gpu(runner: &str, catalog: &Catalog) -> Result<String, String> {
    let label = runner.strip_prefix("cluster:").unwrap_or(runner);
    let gpu = label
        .split(['-', '_'])
        .next()
        .unwrap_or(label)
        .to_ascii_lowercase();
    catalog
        .accelerator(&gpu)
        .map(|a| a.id.clone())
        .map_err(|e| format!("runner '{runner}' names no simulated accelerator: {e}"))
}

/// The catalog model of a recipe's model: its id, Hugging Face id or an alias. A model whose
/// file states figures as not known is named with them.
/// The simulated server's context: the workload's (fixed rows), else the model's native one.
pub(crate) fn sim_max_model_len(job: &Job, catalog: &Catalog) -> Result<u32, String> {
    if let Some(n) = job.max_model_len() {
        return Ok(n);
    }
    let id = sim_model(&job.model, catalog)
        .or_else(|e| sim_model(&job.model_prefix, catalog).map_err(|_| e))?;
    let m = catalog
        .models
        .get(&id)
        .ok_or_else(|| format!("model '{id}' is not in the catalog"))?;
    Ok(m.context.value.min(f64::from(u32::MAX)) as u32)
}

/// Whether a recipe's engine arguments configure a KV offload backend themselves.
fn offloads_itself(recipe: &Recipe) -> bool {
    recipe.engine_args.iter().any(|a| {
        a.starts_with("--kv-transfer-config")
            || a.starts_with("--kv-offloading")
            || a.starts_with("--enable-hierarchical-cache")
            || a.starts_with("--extra_llm_api_options")
    })
}

pub(crate) fn sim_model(model: &str, catalog: &Catalog) -> Result<String, String> {
    match catalog.simulated_model(model) {
        Ok(m) => Ok(m.id.clone()),
        Err(servebench_catalog::CatalogError::NotFound { .. }) => {
            let ids: Vec<&str> = catalog.models.keys().map(String::as_str).collect();
            Err(format!(
                "model '{model}' is not in the simulator's catalog (ids, Hugging Face ids or aliases of {ids:?})"
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every runner label of the shipped InferenceX configs (single- and multi-node) names a
    /// catalog accelerator, read from the files themselves.
    #[test]
    fn every_runner_of_the_shipped_configs_is_a_catalog_accelerator() {
        let catalog = Catalog::builtin().unwrap();
        let mut gpus = std::collections::BTreeSet::new();
        for (_, text) in crate::INFERENCEX_TODAY {
            let doc: serde_norway::Value = serde_norway::from_str(text).unwrap();
            for (_, recipe) in doc.as_mapping().unwrap() {
                let runner = recipe["runner"].as_str().unwrap();
                gpus.insert(sim_gpu(runner, &catalog).unwrap());
            }
        }
        let want = [
            "b200",
            "b300",
            "gb200",
            "gb300",
            "h100",
            "h200",
            "mi300x",
            "mi325x",
            "mi355x",
            "rtx6000pro",
        ];
        assert_eq!(gpus.into_iter().collect::<Vec<_>>(), want);
    }
}
