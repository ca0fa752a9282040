//! InferenceX's CI priority (`configs/ci-priority.yaml`, `utils/ci_priority.py`; reference
//! §8.3): a score per job, higher runs sooner, from the row's shape (multi-node, agentic,
//! eval-only, precision, speculative decoding, framework, model) and the run's event and
//! labels. The file is read as InferenceX writes it, checked with file:line errors; a score is
//! the exact decimal sum of its terms rounded to 3 decimals, half up, as InferenceX's.

use crate::locate::Locations;
use crate::plan::{Job, Topology, Workload};
use crate::RecipeError;
use indexmap::IndexMap;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

/// A priority policy file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Policy {
    version: u32,
    base_score: Decimal,
    #[serde(default)]
    adjustments: Adjustments,
    #[serde(default)]
    labels: Labels,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Adjustments {
    #[serde(default)]
    event: IndexMap<String, Decimal>,
    #[serde(default)]
    multi_node: Decimal,
    #[serde(default)]
    agentic: Decimal,
    #[serde(default)]
    eval_only: Decimal,
    #[serde(default)]
    precision: IndexMap<String, Decimal>,
    #[serde(default)]
    spec_decoding: IndexMap<String, Decimal>,
    /// The first whose name is the framework or a `<name>-` prefix of it counts.
    #[serde(default)]
    framework_prefix: IndexMap<String, Decimal>,
    /// Exact model prefixes.
    #[serde(default)]
    model_prefix: IndexMap<String, Decimal>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Labels {
    /// A runner-queue bypass (GitHub's scheduler): accepted, no effect on the score.
    #[serde(default)]
    skip_queue: Option<SkipQueue>,
    #[serde(default)]
    checklist_complete: Option<Checklist>,
    #[serde(default)]
    patchwork: Option<Patchwork>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkipQueue {
    name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Checklist {
    names: Vec<String>,
    #[serde(default)]
    adjustment: Decimal,
}

/// A label that forces the score (`ci-patchwork`: 0), unless a waiver label is there too.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Patchwork {
    names: Vec<String>,
    score: Decimal,
    #[serde(default)]
    waived_by: Vec<String>,
}

/// A decimal number as the file writes it, in billionths (exact for up to 9 places).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
struct Decimal(i128);

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let x = f64::deserialize(d)?;
        // The shortest text that reads back as `x` is the number the file wrote.
        decimal(&format!("{x}")).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{x}: expected a decimal number of at most 9 places, below 10^18"
            ))
        })
    }
}

fn decimal(s: &str) -> Option<Decimal> {
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (!frac.is_empty() && !digits(frac)) || frac.len() > 9 || int.len() > 18 {
        return None;
    }
    let n: i128 =
        int.parse::<i128>().ok()? * 1_000_000_000 + format!("{frac:0<9}").parse::<i128>().ok()?;
    Some(Decimal(if neg { -n } else { n }))
}

/// A job's score, in thousandths (InferenceX quantises to 3 decimals, half up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Score(i64);

impl Score {
    fn of(d: Decimal) -> Score {
        let (sign, n) = (d.0.signum(), d.0.abs());
        Score((sign * ((n + 500_000) / 1_000_000)) as i64)
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let n = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:03}", n / 1000, n % 1000)
    }
}

/// What the run is: the event that started it (`push`, `schedule`, …) and its labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub event: String,
    pub labels: BTreeSet<String>,
}

impl Policy {
    /// `job`'s score: the base, plus each term its row meets (`docs/nightly.md`).
    pub fn score(&self, job: &Job, ctx: &Context) -> Score {
        let has = |names: &[String]| names.iter().any(|n| ctx.labels.contains(n));
        if let Some(p) = &self.labels.patchwork {
            if has(&p.names) && !has(&p.waived_by) {
                return Score::of(p.score);
            }
        }
        let a = &self.adjustments;
        let get = |m: &IndexMap<String, Decimal>, k: &str| m.get(k).copied().unwrap_or_default();
        let mut sum = self.base_score.0 + get(&a.event, &ctx.event).0;
        if matches!(job.topology, Topology::Multi { .. }) {
            sum += a.multi_node.0;
        }
        if matches!(job.workload, Workload::Agentic { .. }) {
            sum += a.agentic.0;
        }
        if job.eval_only {
            sum += a.eval_only.0;
        }
        sum += get(&a.precision, &job.precision).0;
        sum += get(&a.spec_decoding, job.spec_decoding.as_str()).0;
        let framework = a
            .framework_prefix
            .iter()
            .find(|(p, _)| job.framework == **p || job.framework.starts_with(&format!("{p}-")));
        sum += framework.map_or(0, |(_, d)| d.0);
        sum += get(&a.model_prefix, &job.model_prefix).0;
        if let Some(c) = &self.labels.checklist_complete {
            if has(&c.names) {
                sum += c.adjustment.0;
            }
        }
        Score::of(Decimal(sum))
    }

    /// `jobs` highest score first; equal scores keep their plan order.
    pub fn order(&self, jobs: &mut [Job], ctx: &Context) {
        jobs.sort_by_cached_key(|j| std::cmp::Reverse(self.score(j, ctx)));
    }
}

/// Reads and checks a policy file.
pub fn load(file: &Path) -> Result<Policy, RecipeError> {
    let text = crate::read(file)?;
    parse_text(file, &text)
}

/// [`load`] over a text already read, errors citing `file`.
pub fn parse_text(file: &Path, text: &str) -> Result<Policy, RecipeError> {
    let locations = Locations::index(text);
    let p: Policy = crate::parse(file, text, &locations)?;
    if p.version != 1 {
        return Err(RecipeError::at(
            file,
            &locations,
            "version".into(),
            format!(
                "{}: expected 1 (the policy format this servebench reads)",
                p.version
            ),
        ));
    }
    Ok(p)
}
