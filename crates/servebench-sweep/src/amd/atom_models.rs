//! InferenceX's `amd_utils/models_atom.yaml`: per model, the ATOM server's flags and
//! environment, read as `server_atom.sh` reads them (a missing key is empty and leaves the
//! script's default; a model without an entry gets every default, as there).

use super::{AmdError, PyText};
use crate::locate::Locations;
use indexmap::IndexMap;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AtomModel {
    /// `KEY=VALUE` pairs exported on every node.
    pub env: Option<PyText>,
    pub kv_cache_flags: Option<PyText>,
    /// TP with DP attention; the role's own key wins.
    pub tp_dp_flags: Option<PyText>,
    pub prefill_tp_dp_flags: Option<PyText>,
    pub decode_tp_dp_flags: Option<PyText>,
    /// Exported where a role runs TP with DP attention.
    pub tp_dp_env: Option<PyText>,
    /// EP with DP attention; the role's own key wins.
    pub ep_dp_flags: Option<PyText>,
    pub prefill_ep_dp_flags: Option<PyText>,
    pub decode_ep_dp_flags: Option<PyText>,
    pub ep_dp_env: Option<PyText>,
    /// Followed by `DECODE_MTP_SIZE` where it is above 0.
    pub mtp_flags: Option<PyText>,
    pub online_quant_config: Option<PyText>,
    pub online_quant_dpa_config: Option<PyText>,
    pub block_size: Option<PyText>,
    pub mem_frac_static: Option<PyText>,
    pub max_model_len: Option<PyText>,
    pub max_num_seqs: Option<PyText>,
    pub max_num_batched_tokens: Option<PyText>,
    pub scheduler_delay_factor: Option<PyText>,
}

/// Reads `file`; errors name its line and key.
pub fn load(file: &Path) -> Result<IndexMap<String, AtomModel>, AmdError> {
    let text = crate::read(file)?;
    let locations = Locations::index(&text);
    Ok(crate::parse(file, &text, &locations)?)
}

/// A value as the script takes it: an empty one is unset.
pub fn nonempty(t: &Option<PyText>) -> Option<&str> {
    t.as_ref().map(|t| t.0.as_str()).filter(|s| !s.is_empty())
}
