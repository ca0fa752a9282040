//! InferenceX's `amd_utils/models.yaml`: per model, the SGLang flags of its prefill and decode
//! servers, read as `server_sglang.sh` reads them (its inline Python): a missing key takes that
//! script's default, and a value is the text Python's `str()` gives it (`True`, `0.85`).

use super::{kind, AmdError, PyText};
use crate::locate::Locations;
use indexmap::IndexMap;
use serde::{Deserialize, Deserializer};
use serde_norway::Value;
use std::path::Path;

/// `cuda_graph_bs_range`: `"START-END"`, expanded with `seq`; a value without a dash leaves the
/// section's default range, as `parse_range` does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GraphRange(pub Option<(u32, u32)>);

impl<'de> Deserialize<'de> for GraphRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let PyText(t) = PyText::deserialize(d)?;
        let Some((s, e)) = t.split_once('-') else {
            return Ok(GraphRange(None));
        };
        let int = |x: &str| x.trim().parse::<u32>().ok();
        match (int(s), int(e)) {
            (Some(s), Some(e)) if s <= e && e - s < 100_000 => Ok(GraphRange(Some((s, e)))),
            _ => Err(serde::de::Error::custom(format!(
                "expected a range of batch sizes `START-END` (whole numbers, START <= END), found `{t}`"
            ))),
        }
    }
}

impl GraphRange {
    pub fn or(self, start: u32, end: u32) -> (u32, u32) {
        self.0.unwrap_or((start, end))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ModelEntry {
    pub base_flags: Option<PyText>,
    pub mtp_flags: Option<PyText>,
    pub dp_flags: Option<PyText>,
    pub ep_flags: Option<PyText>,
    #[serde(default)]
    pub prefill: Prefill,
    #[serde(default)]
    pub decode: Decode,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Prefill {
    pub mem_fraction_static: Option<PyText>,
    pub disable_radix_cache: Option<PyText>,
    pub disable_cuda_graph: Option<PyText>,
    #[serde(default)]
    pub dp: PrefillDp,
    #[serde(default)]
    pub no_dp: PrefillNoDp,
}

/// The prefill settings with data-parallel attention.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PrefillDp {
    pub max_running_requests: Option<PyText>,
    /// A number or an arithmetic formula over environment variables, evaluated on the node.
    pub chunked_prefill_size: Option<Value>,
    /// Space-separated batch sizes.
    pub cuda_graph_bs: Option<PyText>,
    pub context_length: Option<PyText>,
    pub max_total_tokens: Option<PyText>,
    pub enable_two_batch_overlap: Option<PyText>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PrefillNoDp {
    pub max_running_requests: Option<PyText>,
    pub chunked_prefill_size: Option<Value>,
    pub context_length: Option<PyText>,
    pub max_total_tokens: Option<PyText>,
    pub cuda_graph_bs_range: Option<GraphRange>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Decode {
    pub mem_fraction_static: Option<PyText>,
    pub prefill_round_robin_balance: Option<PyText>,
    pub disagg_decode_enable_radix_cache: Option<PyText>,
    #[serde(default)]
    pub dp: DecodeSection,
    #[serde(default)]
    pub ep_only: DecodeSection,
    #[serde(default)]
    pub no_dp: DecodeSection,
}

/// One decode mode's settings (`chunked_prefill_size` is read by `server_sglang.sh` but
/// never used for decode, so it is not read here).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DecodeSection {
    pub max_running_requests: Option<PyText>,
    pub context_length: Option<PyText>,
    pub cuda_graph_bs_range: Option<GraphRange>,
}

/// `models.yaml`, its entries in file order.
#[derive(Debug, Clone)]
pub struct Models {
    pub entries: IndexMap<String, ModelEntry>,
}

/// Reads `file` (InferenceX's `amd_utils/models.yaml`); errors name its line and key.
pub fn load(file: &Path) -> Result<Models, AmdError> {
    let text = crate::read(file)?;
    let locations = Locations::index(&text);
    let entries: IndexMap<String, ModelEntry> = crate::parse(file, &text, &locations)?;
    Ok(Models { entries })
}

impl Models {
    /// The entry `server_sglang.sh` picks for a fixed-length (not agentic) run of
    /// `model_name`: `<name>-DI`, else `<name>`.
    /// The entry `server_sglang.sh` picks: `<name>-AgentX` for an agentic run (`IS_AGENTIC`),
    /// else `<name>-DI`; the bare name where that is missing.
    pub fn entry(&self, model_name: &str, agentic: bool) -> Option<(&str, &ModelEntry)> {
        let variant = if agentic { "AgentX" } else { "DI" };
        [format!("{model_name}-{variant}"), model_name.to_string()]
            .into_iter()
            .find_map(|k| self.entries.get_key_value(&k))
            .map(|(k, e)| (k.as_str(), e))
    }
}

/// An arithmetic formula of `models.yaml` (`MORI_MAX_DISPATCH_TOKENS_PREFILL * PREFILL_TP_SIZE`)
/// as shell arithmetic evaluated where the server starts, after `env.sh` has set its variables,
/// as `server_sglang.sh` evaluates it in Python against the environment there. Whole numbers,
/// variable names, `+ - * // %` and parentheses; an unset variable stops the server with its
/// name. A plain number is returned as it is.
pub fn shell_arithmetic(v: &Value, field: &str) -> Result<String, String> {
    let text = match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(i.to_string());
            }
            // Python's int() of a float: toward zero.
            return match n.as_f64() {
                Some(f) if f.is_finite() && f.abs() < 1e15 => Ok((f.trunc() as i64).to_string()),
                _ => Err(format!("{field}: {n} is not a size")),
            };
        }
        Value::String(s) => s.as_str(),
        other => {
            return Err(format!(
                "{field}: expected a number or a formula, found {}",
                kind(other)
            ))
        }
    };
    let mut out = String::new();
    let mut names = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {}
            '0'..='9' => {
                out.push(c);
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    out.push(d);
                }
                out.push(' ');
            }
            'A'..='Z' | 'a'..='z' | '_' => {
                let mut name = c.to_string();
                while let Some(d) = chars.next_if(|d| d.is_ascii_alphanumeric() || *d == '_') {
                    name.push(d);
                }
                names += 1;
                out.push_str(&format!("${{{name}:?is not set: models.yaml chunked_prefill_size needs it}} "));
            }
            '/' if chars.next_if_eq(&'/').is_some() => out.push_str("/ "),
            '+' | '-' | '*' | '%' | '(' | ')' => {
                out.push(c);
                out.push(' ');
            }
            _ => {
                return Err(format!(
                    "{field}: `{text}`: only whole numbers, variable names, + - * // % and parentheses are understood (found `{c}`)"
                ))
            }
        }
    }
    let out = out.trim_end();
    if out.is_empty() {
        return Err(format!("{field}: empty formula"));
    }
    if names == 0 && out.chars().all(|c| c.is_ascii_digit()) {
        return Ok(out.to_string());
    }
    Ok(format!("$(( {out} ))"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(s: &str) -> Value {
        serde_norway::from_str(s).unwrap()
    }

    /// Formulas become shell arithmetic that bash evaluates to what Python's `int(eval(...))`
    /// gives for the same environment (hand-computed: 8192 * 8 = 65536).
    #[test]
    fn formulas_evaluate_in_bash_as_in_python() {
        let f = shell_arithmetic(
            &value("\"MORI_MAX_DISPATCH_TOKENS_PREFILL * PREFILL_TP_SIZE\""),
            "x",
        )
        .unwrap();
        let out = std::process::Command::new("bash")
            .args(["-c", &format!("echo {f}")])
            .env("MORI_MAX_DISPATCH_TOKENS_PREFILL", "8192")
            .env("PREFILL_TP_SIZE", "8")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "65536");
        // An unset variable stops the shell, naming it.
        let out = std::process::Command::new("bash")
            .args(["-c", &format!("echo {f}")])
            .env_remove("MORI_MAX_DISPATCH_TOKENS_PREFILL")
            .env("PREFILL_TP_SIZE", "8")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("MORI_MAX_DISPATCH_TOKENS_PREFILL"));
        let f = shell_arithmetic(&value("\"(A + 2) // 3 % 5\""), "x").unwrap();
        let out = std::process::Command::new("bash")
            .args(["-c", &format!("echo {f}")])
            .env("A", "10")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "4");
        assert_eq!(shell_arithmetic(&value("262144"), "x").unwrap(), "262144");
        assert_eq!(shell_arithmetic(&value("\"16384\""), "x").unwrap(), "16384");
        assert_eq!(shell_arithmetic(&value("8192.9"), "x").unwrap(), "8192");
        for bad in ["\"A / 2\"", "\"$(rm -rf /)\"", "\"A; B\"", "[1]", "\"\""] {
            assert!(shell_arithmetic(&value(bad), "f").is_err(), "{bad}");
        }
    }

    #[test]
    fn scalars_read_as_python_prints_them() {
        let t = |s: &str| serde_norway::from_str::<PyText>(s).unwrap().0;
        assert_eq!(t("0.85"), "0.85");
        assert_eq!(t("1.0"), "1.0");
        assert_eq!(t("true"), "True");
        assert_eq!(t("4096"), "4096");
        assert_eq!(t("\"1 2 3\""), "1 2 3");
        assert!(serde_norway::from_str::<PyText>("[1, 2]").is_err());
        let r = |s: &str| serde_norway::from_str::<GraphRange>(s);
        assert_eq!(r("\"1-160\"").unwrap(), GraphRange(Some((1, 160))));
        assert_eq!(r("128").unwrap(), GraphRange(None));
        assert!(r("\"a-b\"").is_err());
        assert!(r("\"9-2\"").is_err());
    }
}
