//! Recipes, plans and sweeps.
//!
//! - [`recipe`]: the typed model of InferenceX master configs and runner configs;
//! - [`load`](load_recipes): reading them strictly (unknown keys, bad values and broken rules
//!   are errors with file, line, column and key path) — [`validate`] has the rules;
//! - [`plan`]: expanding recipes into jobs exactly as InferenceX's matrix generator does.

mod agentx;
pub mod amd;
pub mod budget;
pub mod changelog;
pub mod changes;
pub mod cluster;
mod draft_tokens;
pub mod engine;
pub mod export;
pub mod gha;
pub mod llmd;
pub mod local;
pub mod locate;
pub mod plan;
pub mod priority;
pub mod recipe;
pub mod run_info;
pub mod slurm;
pub mod srt;
pub mod tilert;
pub mod validate;
pub mod virtual_time;

use locate::Locations;
use recipe::{MasterConfig, Recipe, Runners};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    #[error("{}: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    /// A file that does not follow the schema or its rules.
    #[error("{}:{line}:{column}: {path}: {message}", file.display())]
    Invalid {
        file: PathBuf,
        line: usize,
        column: usize,
        /// The key path (`config-key.scenarios.fixed-seq-len[0].search-space[1].tp`).
        path: String,
        message: String,
    },
}

impl RecipeError {
    /// A rule broken at `path` of `file`, placed by the file's `locations`.
    fn at(file: &Path, locations: &Locations, path: String, message: String) -> RecipeError {
        let (line, column) = locations.find(&path).unwrap_or((1, 1));
        RecipeError::Invalid {
            file: file.to_path_buf(),
            line,
            column,
            path,
            message,
        }
    }
}

/// Recipes loaded from one or more master config files, in file order.
#[derive(Debug, Clone, Default)]
pub struct Recipes {
    /// (config key, recipe, the file it came from).
    pub entries: Vec<(String, Recipe, PathBuf)>,
}

impl Recipes {
    pub fn get(&self, key: &str) -> Option<&Recipe> {
        self.entries.iter().find(|e| e.0 == key).map(|e| &e.1)
    }
}

/// Parses `text` (the contents of `file`) as `T`, reporting the key path of what failed.
fn parse<T: serde::de::DeserializeOwned>(
    file: &Path,
    text: &str,
    locations: &Locations,
) -> Result<T, RecipeError> {
    let de = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut path = e.path().to_string();
        let inner = e.into_inner();
        let mut message = inner.to_string();
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        // serde_norway prefixes the path it knows (ours, or a parent of it; an item of a
        // top-level list as `.[0]`).
        if let Some((prefix, rest)) = message.split_once(": ") {
            let prefix = prefix
                .strip_prefix('.')
                .filter(|p| p.starts_with('['))
                .unwrap_or(prefix);
            if path.starts_with(prefix) {
                message = rest.to_string();
            }
        }
        // An unknown key is the place to point at: it is part of the path.
        let unknown = message
            .strip_prefix("unknown field `")
            .and_then(|m| m.split_once('`'))
            .map(|(k, _)| k.to_string());
        if let Some(k) = unknown.filter(|k| !path.ends_with(k.as_str())) {
            path = if path == "." {
                k
            } else {
                format!("{path}.{k}")
            };
        }
        let (line, column) = locations
            .find_exact(&path)
            .or_else(|| inner.location().map(|l| (l.line(), l.column())))
            .or_else(|| locations.find(&path))
            .unwrap_or((1, 1));
        RecipeError::Invalid {
            file: file.to_path_buf(),
            line,
            column,
            path,
            message,
        }
    })
}

fn read(file: &Path) -> Result<String, RecipeError> {
    servebench_core::sys::read_limited_string(file, servebench_core::sys::limits::RECIPE).map_err(
        |e| RecipeError::Io {
            file: file.to_path_buf(),
            source: e,
        },
    )
}

/// Loads master config files (InferenceX `configs/*-master.yaml`, or your own in the same
/// schema), checking every key and rule; a config key defined in two files is an error.
pub fn load_recipes(files: &[PathBuf]) -> Result<Recipes, RecipeError> {
    let texts = files
        .iter()
        .map(|f| Ok((f.clone(), read(f)?)))
        .collect::<Result<Vec<_>, RecipeError>>()?;
    load_recipe_texts(&texts)
}

/// The recipes shipped in the binary: the InferenceMAX v1 catalog
/// (`recipes/inferencemax-v1.yaml`, generated from the published v1 data).
pub const INFERENCEMAX_V1: (&str, &str) = (
    "recipes/inferencemax-v1.yaml",
    include_str!("../../../recipes/inferencemax-v1.yaml"),
);

/// InferenceX's current master configs, shipped in the binary
/// (`data/inferencex-configs-843c6254/`, InferenceX at 843c6254, 2026-08-21; Apache-2.0).
pub const INFERENCEX_TODAY: [(&str, &str); 2] = [
    (
        "data/inferencex-configs-843c6254/nvidia-master.yaml",
        include_str!("../../../data/inferencex-configs-843c6254/nvidia-master.yaml"),
    ),
    (
        "data/inferencex-configs-843c6254/amd-master.yaml",
        include_str!("../../../data/inferencex-configs-843c6254/amd-master.yaml"),
    ),
];

/// [`load_recipes`] over texts already read, each with the file name its errors cite.
pub fn load_recipe_texts(texts: &[(PathBuf, String)]) -> Result<Recipes, RecipeError> {
    let mut out = Recipes::default();
    // Loaded once, and only for `framework: sim` recipes (their runner and model are checked).
    let mut catalog: Option<servebench_catalog::Catalog> = None;
    for (file, text) in texts {
        let (file, text) = (file, text.as_str());
        let locations = Locations::index(text);
        let config: MasterConfig = parse(file, text, &locations)?;
        if config.is_empty() {
            return Err(RecipeError::Invalid {
                file: file.clone(),
                line: 1,
                column: 1,
                path: "<top level>".into(),
                message: "holds no recipes (expected config keys, each a recipe with image, \
                          model, precision, framework, runner and scenarios)"
                    .into(),
            });
        }
        for (key, recipe) in config {
            if let Some((_, _, first)) = out.entries.iter().find(|e| e.0 == key) {
                let message = format!("config key already defined in {}", first.display());
                return Err(RecipeError::at(file, &locations, key, message));
            }
            validate::recipe(&key, &recipe)
                .and_then(|()| simulated(&key, &recipe, &mut catalog))
                .map_err(|viol| RecipeError::at(file, &locations, viol.path, viol.message))?;
            out.entries.push((key, recipe, file.clone()));
        }
    }
    Ok(out)
}

/// A `framework: sim` recipe's runner and model must be ones the simulated engine models.
fn simulated(
    key: &str,
    r: &recipe::Recipe,
    catalog: &mut Option<servebench_catalog::Catalog>,
) -> Result<(), validate::Violation> {
    if r.framework != "sim" {
        return Ok(());
    }
    let violation = |field: &str, message: String| validate::Violation {
        path: format!("{key}.{field}"),
        message,
    };
    if catalog.is_none() {
        *catalog =
            Some(servebench_catalog::Catalog::builtin().map_err(|e| {
                violation("framework", format!("the simulated engine's catalog: {e}"))
            })?);
    }
    let catalog = catalog.as_ref().expect("loaded above");
    engine::sim_gpu(&r.runner, catalog).map_err(|e| violation("runner", e))?;
    engine::sim_model(&r.model, catalog)
        .or_else(|e| engine::sim_model(&r.model_prefix, catalog).map_err(|_| e))
        .map_err(|e| violation("model", e))?;
    Ok(())
}

/// Loads a runner config (`configs/runners.yaml`).
pub fn load_runners(file: &Path) -> Result<Runners, RecipeError> {
    let text = read(file)?;
    let locations = Locations::index(&text);
    let runners: Runners = parse(file, &text, &locations)?;
    let bad =
        |path: String, message: &str| Err(RecipeError::at(file, &locations, path, message.into()));
    for (label, names) in &runners.labels {
        if names.is_empty() {
            return bad(
                format!("labels.{label}"),
                "expected a non-empty list of runner names",
            );
        }
    }
    for (label, hw) in &runners.hardware {
        if hw.available_cpu_dram_mib == 0 || hw.gpus_per_node == 0 {
            return bad(
                format!("hardware.{label}"),
                "available-cpu-dram-mib and gpus-per-node must be positive",
            );
        }
    }
    Ok(runners)
}

/// A shell variable name (`NAME` of `export NAME=value`).
pub(crate) fn is_env_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
