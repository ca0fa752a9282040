//! Why a series moved between two of its runs (`docs/nightly.md`): what its configs deployed
//! differently (images; configs added or gone) and the changelog entries the store kept for
//! them between the two runs.

use crate::curves::{label, Series};
use serde::Serialize;
use servebench_store::ChangelogRecord;
use std::collections::{BTreeMap, BTreeSet};

/// What changed for a series from one of its runs to a later one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Explanation {
    /// `config: image before → image after`, per config whose images differ.
    pub images: Vec<String>,
    /// Configs in the later run only, and in the earlier one only (their labels).
    pub added: Vec<String>,
    pub gone: Vec<String>,
    /// The changelog entries kept after the earlier run and up to the later one that touch a
    /// config of the series: what each says, and its pull request.
    pub changelog: Vec<String>,
}

impl Explanation {
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
            && self.added.is_empty()
            && self.gone.is_empty()
            && self.changelog.is_empty()
    }

    /// One line: `image …; changelog: …; added …; gone …`, or `unexplained`.
    pub fn summary(&self) -> String {
        if self.is_empty() {
            return "unexplained: no image or changelog entry changed".into();
        }
        let parts = [
            ("image", &self.images),
            ("changelog", &self.changelog),
            ("added", &self.added),
            ("gone", &self.gone),
        ];
        parts
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k} {}", v.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Each config of a series: its label and the images its points ran.
fn configs(s: &Series) -> BTreeMap<&str, (String, BTreeSet<&str>)> {
    let mut m: BTreeMap<&str, (String, BTreeSet<&str>)> = BTreeMap::new();
    for p in &s.points {
        let e = m
            .entry(&*p.config_key)
            .or_insert_with(|| (label(&p.config, s.source), BTreeSet::new()));
        if let Some(i) = &p.image {
            e.1.insert(i);
        }
    }
    m
}

/// Where a run stands in time: its start, then its key (the order history reads runs in).
fn at(started_at: &str, run: &str) -> (String, String) {
    (started_at.to_string(), run.to_string())
}

/// What changed for `after`'s configs since `before` (two runs of one series).
pub fn explain(before: &Series, after: &Series, changelog: &[ChangelogRecord]) -> Explanation {
    let (was, now) = (configs(before), configs(after));
    let mut e = Explanation::default();
    for (key, (name, images)) in &now {
        match was.get(key) {
            None => e.added.push(name.clone()),
            Some((_, old)) if old != images && !images.is_empty() => {
                let list = |s: &BTreeSet<&str>| s.iter().copied().collect::<Vec<_>>().join("+");
                e.images
                    .push(format!("{name}: {} → {}", list(old), list(images)));
            }
            Some(_) => {}
        }
    }
    e.gone = was
        .iter()
        .filter(|(k, _)| !now.contains_key(*k))
        .map(|(_, (name, _))| name.clone())
        .collect();
    let run = |s: &Series| at(&s.run_started_at, s.run.as_deref().unwrap_or_default());
    let (from, to) = (run(before), run(after));
    for c in changelog {
        let when = at(&c.run_started_at, &c.run);
        let touches = c.configs.iter().any(|k| now.contains_key(k.as_str()));
        if when > from && when <= to && touches {
            e.changelog.push(describe(&c.entry));
        }
    }
    e
}

/// A changelog entry in a line: its description, then its pull request.
fn describe(entry: &serde_json::Value) -> String {
    let lines: Vec<&str> = entry["description"]
        .as_array()
        .map(|d| d.iter().filter_map(|l| l.as_str()).collect())
        .unwrap_or_default();
    match entry["pr-link"].as_str() {
        Some(link) => format!("\"{}\" ({link})", lines.join(" / ")),
        None => format!("\"{}\"", lines.join(" / ")),
    }
}
