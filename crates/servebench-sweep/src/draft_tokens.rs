//! How many tokens InferenceX's single-node speculative-decoding scripts draft per
//! verification, per config key (`data/inferencex-configs-843c6254/draft-tokens.yaml`): the
//! master configs say only `spec-decoding: mtp`; the launch script sets the length.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The shipped table (InferenceX at 843c6254).
const SHIPPED: &str = include_str!("../../../data/inferencex-configs-843c6254/draft-tokens.yaml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    draft_tokens: u32,
    /// The script's own conditions, first match wins.
    #[serde(default)]
    when: Vec<Condition>,
    #[allow(dead_code)] // provenance, read by people
    script: String,
    #[allow(dead_code)]
    line: String,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Condition {
    #[serde(default)]
    dp_attn: Option<bool>,
    #[serde(default)]
    conc_at_least: Option<u32>,
    draft_tokens: u32,
}

impl Condition {
    fn holds(&self, dp_attn: bool, conc: u32) -> bool {
        self.dp_attn.is_none_or(|d| d == dp_attn) && self.conc_at_least.is_none_or(|c| conc >= c)
    }
}

fn table() -> &'static BTreeMap<String, Entry> {
    static TABLE: OnceLock<BTreeMap<String, Entry>> = OnceLock::new();
    // The file ships in the binary and a test parses it: a parse failure is a build defect.
    TABLE.get_or_init(|| serde_norway::from_str(SHIPPED).expect("draft-tokens.yaml parses"))
}

/// The draft length the script of `config_key` runs at `conc` with or without DP attention;
/// `None` for a key the table does not know (a newer or hand-written config).
pub fn of(config_key: &str, dp_attn: bool, conc: u32) -> Option<u32> {
    let e = table().get(config_key)?;
    let rule = e.when.iter().find(|c| c.holds(dp_attn, conc));
    Some(rule.map_or(e.draft_tokens, |c| c.draft_tokens))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_scripts_conditions_pick_the_length() {
        // dsr1_fp4_b200_trt_mtp.sh: MTP=3, MTP=1 with DP attention.
        assert_eq!(super::of("dsr1-fp4-b200-trt-mtp", false, 256), Some(3));
        assert_eq!(super::of("dsr1-fp4-b200-trt-mtp", true, 256), Some(1));
        // dsv4_fp4_b200_trt_mtp.sh: 2 from concurrency 128 at ISL ≥ 4096.
        assert_eq!(super::of("dsv4-fp4-b200-trt-mtp", true, 64), Some(3));
        assert_eq!(super::of("dsv4-fp4-b200-trt-mtp", true, 128), Some(2));
        // dsv4_fp4_b200_vllm_mtp.sh: num_speculative_tokens 2.
        assert_eq!(super::of("dsv4-fp4-b200-vllm-mtp", false, 4), Some(2));
        assert_eq!(super::of("no-such-key", false, 4), None);
        assert_eq!(super::table().len(), 69);
    }
}
