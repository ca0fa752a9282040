//! `perf-changelog.yaml`: why configs' numbers change, in InferenceX's format, read as it is
//! (`docs/nightly.md`). A YAML list of entries, append-only; each names the config keys it
//! touches (master-config keys or `*`/`?` patterns) and says why (an image bump, a new flag),
//! with its pull request.
//!
//! Checked as InferenceX's validator checks it: unknown keys, an empty `config-keys` or
//! `description`, a `pr-link` that is not a pull request's address, `eval-min-prefill-ep` below
//! 1, `append-only` beside eval flags, and (given the recipes) a pattern that matches no
//! config key are errors naming the file, line and column, the entry and the field.

use crate::locate::Locations;
use crate::plan::glob_match;
use crate::RecipeError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// One entry of the changelog.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChangelogEntry {
    /// Master-config keys or `*`/`?` patterns of them.
    pub config_keys: Vec<String>,
    /// What changed and why, one line each.
    pub description: Vec<String>,
    /// The pull request that made the change.
    pub pr_link: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub evals_only: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub all_evals: bool,
    /// Only newly added points are run and appended to the latest curve.
    #[serde(default, skip_serializing_if = "is_false")]
    pub append_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_min_prefill_ep: Option<u32>,
    /// Only these scenarios (`fixed-seq-len`, `agentic-coding`); empty: both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenario_type: Vec<Scenario>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    FixedSeqLen,
    AgenticCoding,
}

impl ChangelogEntry {
    /// Whether the entry touches `key` (a master-config key).
    pub fn touches(&self, key: &str) -> bool {
        self.config_keys.iter().any(|p| glob_match(p, key))
    }

    /// The entry's identity: the SHA-256 of its canonical JSON, in hex (entries are
    /// immutable once written; the same entry read again is the same entry).
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_string(self).unwrap_or_default();
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }
}

/// A changelog file, its entries in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changelog {
    pub entries: Vec<ChangelogEntry>,
}

impl Changelog {
    /// The entries that touch `key`, in file order.
    pub fn touching<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a ChangelogEntry> {
        self.entries.iter().filter(move |e| e.touches(key))
    }
}

/// Reads and checks a changelog file; `keys`: the master-config keys its patterns must match
/// (none given: patterns are not resolved).
pub fn load(file: &Path, keys: Option<&[String]>) -> Result<Changelog, RecipeError> {
    let text = crate::read(file)?;
    parse_text(file, &text, keys)
}

/// [`load`] over a text already read, errors citing `file`.
pub fn parse_text(
    file: &Path,
    text: &str,
    keys: Option<&[String]>,
) -> Result<Changelog, RecipeError> {
    let locations = Locations::index(text);
    // An empty file (or one of comments only) is a changelog with no entries yet.
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Changelog::default());
    }
    let entries: Vec<ChangelogEntry> = crate::parse(file, text, &locations)?;
    for (i, e) in entries.iter().enumerate() {
        check(e, keys).map_err(|(field, message)| {
            let path = match field {
                Some(f) => format!("[{i}].{f}"),
                None => format!("[{i}]"),
            };
            RecipeError::at(file, &locations, path, message)
        })?;
    }
    Ok(Changelog { entries })
}

/// InferenceX's rules for one entry: the field that breaks one, and what was expected.
fn check(e: &ChangelogEntry, keys: Option<&[String]>) -> Result<(), (Option<String>, String)> {
    let field = |f: &str| Some(f.to_string());
    if e.config_keys.is_empty() {
        return Err((
            field("config-keys"),
            "expected at least one config key or pattern".into(),
        ));
    }
    if e.description.is_empty() || e.description.iter().any(|d| d.trim().is_empty()) {
        return Err((
            field("description"),
            "expected one or more non-empty lines saying what changed".into(),
        ));
    }
    if !is_pr_link(&e.pr_link) {
        return Err((
            field("pr-link"),
            format!(
                "'{}': expected a pull request's address, https://HOST/OWNER/REPO/pull/N \
                 (N a number, or XXX until the pull request exists)",
                e.pr_link
            ),
        ));
    }
    if e.eval_min_prefill_ep == Some(0) {
        return Err((field("eval-min-prefill-ep"), "expected 1 or more".into()));
    }
    if e.append_only && (e.evals_only || e.all_evals) {
        return Err((
            field("append-only"),
            "an append-only entry runs new throughput points only: not with evals-only or \
             all-evals"
                .into(),
        ));
    }
    if let Some(keys) = keys {
        for (k, p) in e.config_keys.iter().enumerate() {
            if !keys.iter().any(|key| glob_match(p, key)) {
                return Err((
                    Some(format!("config-keys[{k}]")),
                    format!("'{p}' matches no config key of the recipes"),
                ));
            }
        }
    }
    Ok(())
}

/// `https://HOST/OWNER/REPO/pull/N`, N digits or InferenceX's `XXX` placeholder.
fn is_pr_link(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("https://") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    matches!(parts.as_slice(), [host, owner, repo, "pull", n]
        if !host.is_empty() && !owner.is_empty() && !repo.is_empty()
            && (*n == "XXX" || (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "perf-changelog.yaml";

    fn parsed(text: &str, keys: Option<&[String]>) -> Result<Changelog, String> {
        parse_text(Path::new(FILE), text, keys).map_err(|e| e.to_string())
    }

    #[test]
    fn inferencex_entries_read_as_they_are() {
        let text = "\
- config-keys:
    - dsv4-fp4-b200-vllm-agentic-mtp
  scenario-type:
    - agentic-coding
  description:
    - \"Serve the TP8 arm with FULL_AND_PIECEWISE cudagraphs\"
  pr-link: https://github.com/SemiAnalysisAI/InferenceX/pull/2707

- config-keys:
    - dsr1-fp8-*-sglang
  description:
    - Bump SGLang to v0.5.9
    - Enable the overlap scheduler
  pr-link: https://github.com/SemiAnalysisAI/InferenceX/pull/XXX
  evals-only: true
";
        let keys: Vec<String> = [
            "dsv4-fp4-b200-vllm-agentic-mtp",
            "dsr1-fp8-h200-sglang",
            "dsr1-fp8-b200-sglang",
            "dsr1-fp8-b200-trt",
        ]
        .map(String::from)
        .to_vec();
        let c = parsed(text, Some(&keys)).unwrap();
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.entries[0].scenario_type, [Scenario::AgenticCoding]);
        assert_eq!(c.entries[1].description[1], "Enable the overlap scheduler");
        assert!(c.entries[1].evals_only);
        let touching: Vec<&str> = keys
            .iter()
            .filter(|k| c.touching(k).next().is_some())
            .map(String::as_str)
            .collect();
        assert_eq!(
            touching,
            [
                "dsv4-fp4-b200-vllm-agentic-mtp",
                "dsr1-fp8-h200-sglang",
                "dsr1-fp8-b200-sglang"
            ]
        );
        // The digest is of the content: the same entry again, the same identity.
        assert_eq!(c.entries[0].digest(), c.entries[0].clone().digest());
        assert_ne!(c.entries[0].digest(), c.entries[1].digest());
        assert_eq!(parsed("# nothing yet\n\n", None).unwrap().entries.len(), 0);
    }

    #[test]
    fn each_broken_rule_names_its_line_and_field() {
        let entry = |extra: &str| {
            format!(
                "- config-keys:\n    - a-key\n  description:\n    - why\n  \
                 pr-link: https://github.com/o/r/pull/12\n{extra}"
            )
        };
        let keys = vec!["a-key".to_string()];
        let cases = [
            (
                "- config-keys: []\n  description: [x]\n  pr-link: https://github.com/o/r/pull/1\n"
                    .to_string(),
                "perf-changelog.yaml:1:3: [0].config-keys: expected at least one config key",
            ),
            (
                entry("").replace("pull/12", "issues/12"),
                "perf-changelog.yaml:5:3: [0].pr-link: 'https://github.com/o/r/issues/12': \
                 expected a pull request's address",
            ),
            (
                entry("  eval-min-prefill-ep: 0\n"),
                "perf-changelog.yaml:6:3: [0].eval-min-prefill-ep: expected 1 or more",
            ),
            (
                entry("  append-only: true\n  all-evals: true\n"),
                "perf-changelog.yaml:6:3: [0].append-only: an append-only entry",
            ),
            (
                entry("  colour: blue\n"),
                "perf-changelog.yaml:6:3: [0].colour: unknown field `colour`",
            ),
            (
                entry("").replace("a-key", "b-*"),
                "perf-changelog.yaml:2:5: [0].config-keys[0]: 'b-*' matches no config key",
            ),
            (
                format!(
                    "{}\n{}",
                    entry(""),
                    entry("").replace("    - why\n", "    - ' '\n")
                ),
                "perf-changelog.yaml:9:3: [1].description: expected one or more non-empty",
            ),
        ];
        for (text, want) in cases {
            let e = parsed(&text, Some(&keys)).unwrap_err();
            assert!(e.starts_with(want), "{text}\n→ {e}\nexpected {want}");
        }
    }
}
