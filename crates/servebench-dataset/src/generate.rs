//! Synthetic coding-agent sessions, seeded and reproducible, with statistics from published
//! traces (`data/agentic-sessions.yaml`, each number with its source).
//!
//! Session `i` of seed `s` depends on `(s, i)` only, so any prefix of the stream is the same
//! whatever is asked after it, and sessions are made one at a time (memory: one session).
//!
//! A session: `main_turns` turns. The first prompt is `first_input_tokens` of fresh blocks;
//! each next prompt is the previous one plus `new_input_tokens` (the previous output, tool
//! results, the user's words), so it extends the previous prompt's blocks with new ones. A
//! prompt that would pass `max_context_tokens` is compacted: it starts again from its first
//! `first_input_tokens`' blocks (the system prompt and tools) plus fresh ones. Pauses come
//! from `think_s`; starts are the running sum of pauses (the trace records no durations).
//! A Poisson number of subagents fork after uniformly drawn main turns, each a fresh context
//! (the corpora's subagents are spawns) of `subagent_turns` turns, growing the same way.

use crate::trace::{Session, Subagent, Turn};
use crate::DatasetError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Poisson};
use serde::Deserialize;
use std::collections::BTreeMap;

const SHIPPED: &str = include_str!("../../../data/agentic-sessions.yaml");

/// A lognormal by its published quantiles, clamped.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantiles {
    pub p50: f64,
    pub p25: Option<f64>,
    pub p75: Option<f64>,
    pub p10: Option<f64>,
    pub p90: Option<f64>,
    pub min: f64,
    pub max: f64,
    /// Mixture weight (`think_s` only).
    #[serde(default)]
    pub weight: Option<f64>,
}

/// z of the 75th and 90th percentiles of the standard normal.
const Z75: f64 = 0.674_489_75;
const Z90: f64 = 1.281_551_57;

impl Quantiles {
    fn sigma(&self) -> Result<f64, String> {
        let s = match (self.p25, self.p75, self.p10, self.p90) {
            (Some(a), Some(b), _, _) => (b / a).ln() / (2.0 * Z75),
            (_, _, Some(a), Some(b)) => (b / a).ln() / (2.0 * Z90),
            _ => return Err("expected p25 and p75, or p10 and p90, beside p50".into()),
        };
        let positive = s.is_finite() && s >= 0.0 && self.p50 > 0.0;
        if !positive || self.min > self.max {
            return Err(format!(
                "quantiles must grow and be positive, and min <= max (p50 {})",
                self.p50
            ));
        }
        Ok(s)
    }

    fn distribution(&self) -> Result<Drawn, String> {
        let d = LogNormal::new(self.p50.ln(), self.sigma()?).map_err(|e| e.to_string())?;
        Ok(Drawn {
            d,
            min: self.min,
            max: self.max,
        })
    }
}

struct Drawn {
    d: LogNormal<f64>,
    min: f64,
    max: f64,
}

impl Drawn {
    fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        self.d.sample(rng).clamp(self.min, self.max)
    }

    fn tokens(&self, rng: &mut ChaCha8Rng) -> u32 {
        self.sample(rng).round().clamp(1.0, f64::from(u32::MAX)) as u32
    }
}

/// One profile of `data/agentic-sessions.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub description: String,
    pub block_size: u32,
    pub main_turns: Quantiles,
    pub first_input_tokens: Quantiles,
    pub new_input_tokens: Quantiles,
    pub output_tokens: Quantiles,
    pub think_s: Vec<Quantiles>,
    pub subagents_per_session: f64,
    pub subagent_turns: Quantiles,
    pub subagent_first_input_tokens: Quantiles,
    pub streaming_fraction: f64,
    /// The fraction of turns that do not extend the previous prompt (edited context) ...
    pub divergent_turns: f64,
    /// ... and the fraction of the previous prompt's blocks such a turn keeps.
    pub divergent_kept: f64,
    pub max_context_tokens: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    profiles: BTreeMap<String, Profile>,
}

/// The shipped profiles' names.
pub fn profile_names() -> Vec<String> {
    shipped()
        .map(|f| f.profiles.into_keys().collect())
        .unwrap_or_default()
}

fn shipped() -> Result<File, DatasetError> {
    serde_norway::from_str(SHIPPED)
        .map_err(|e| DatasetError::format("data/agentic-sessions.yaml", e.to_string()))
}

/// A shipped profile by name.
pub fn profile(name: &str) -> Result<Profile, DatasetError> {
    let mut f = shipped()?;
    let names: Vec<&String> = f.profiles.keys().collect();
    let known = format!("{names:?}");
    f.profiles.remove(name).ok_or_else(|| {
        DatasetError::Invalid(format!(
            "no session profile '{name}' (data/agentic-sessions.yaml has {known})"
        ))
    })
}

/// Draws sessions of a profile.
pub struct Generator {
    block_size: u32,
    main_turns: Drawn,
    first_input: Drawn,
    new_input: Drawn,
    output: Drawn,
    think: Vec<(f64, Drawn)>,
    subagents: Option<Poisson<f64>>,
    subagent_turns: Drawn,
    subagent_first_input: Drawn,
    streaming: f64,
    divergent: f64,
    kept: f64,
    max_context: u32,
    seed: u64,
}

impl Generator {
    pub fn new(p: &Profile, seed: u64) -> Result<Generator, DatasetError> {
        fn at(field: &'static str) -> impl Fn(String) -> DatasetError {
            move |m| DatasetError::format("data/agentic-sessions.yaml", format!("{field}: {m}"))
        }
        let fraction = |x: f64| (0.0..=1.0).contains(&x);
        let fractions = [p.streaming_fraction, p.divergent_turns, p.divergent_kept];
        if p.block_size == 0 || p.think_s.is_empty() || !fractions.into_iter().all(fraction) {
            return Err(DatasetError::Invalid(
                "a session profile needs block_size > 0, think_s, and streaming_fraction, divergent_turns and divergent_kept in [0, 1]"
                    .into(),
            ));
        }
        let think = p
            .think_s
            .iter()
            .map(|q| {
                Ok((
                    q.weight.unwrap_or(1.0),
                    q.distribution().map_err(at("think_s"))?,
                ))
            })
            .collect::<Result<Vec<_>, DatasetError>>()?;
        Ok(Generator {
            block_size: p.block_size,
            main_turns: p.main_turns.distribution().map_err(at("main_turns"))?,
            first_input: p
                .first_input_tokens
                .distribution()
                .map_err(at("first_input_tokens"))?,
            new_input: p
                .new_input_tokens
                .distribution()
                .map_err(at("new_input_tokens"))?,
            output: p
                .output_tokens
                .distribution()
                .map_err(at("output_tokens"))?,
            think,
            subagents: (p.subagents_per_session > 0.0)
                .then(|| Poisson::new(p.subagents_per_session).ok())
                .flatten(),
            subagent_turns: p
                .subagent_turns
                .distribution()
                .map_err(at("subagent_turns"))?,
            subagent_first_input: p
                .subagent_first_input_tokens
                .distribution()
                .map_err(at("subagent_first_input_tokens"))?,
            streaming: p.streaming_fraction,
            divergent: p.divergent_turns,
            kept: p.divergent_kept,
            max_context: p.max_context_tokens.max(p.block_size),
            seed,
        })
    }

    /// Session `i`: a function of the seed and `i` only.
    pub fn session(&self, i: u64) -> Session {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(i);
        let mut ids = 0u64;
        let n = self.main_turns.sample(&mut rng).round().max(1.0) as usize;
        let first = self.first_input.tokens(&mut rng);
        let turns = self.agent(&mut rng, &mut ids, n, first, 0.0);
        let forks = self
            .subagents
            .as_ref()
            .map_or(0, |p| p.sample(&mut rng) as usize);
        let mut anchors: Vec<usize> = (0..forks).map(|_| rng.random_range(0..n)).collect();
        anchors.sort_unstable();
        let subagents = anchors
            .into_iter()
            .enumerate()
            .map(|(k, after)| {
                let m = self.subagent_turns.sample(&mut rng).round().max(1.0) as usize;
                let first = self.subagent_first_input.tokens(&mut rng);
                let start = turns[after].start;
                Subagent {
                    id: format!("subagent_{k:03}"),
                    start,
                    after_turn: Some(after),
                    turns: self.agent(&mut rng, &mut ids, m, first, start),
                }
            })
            .collect();
        Session {
            id: format!("gen-{}-{i}", self.seed),
            block_size: self.block_size,
            shared_blocks: false,
            turns,
            subagents,
        }
    }

    /// `n` turns of one agent from a fresh context of `first` tokens, starting at `t0`.
    fn agent(
        &self,
        rng: &mut ChaCha8Rng,
        ids: &mut u64,
        n: usize,
        first: u32,
        t0: f64,
    ) -> Vec<Turn> {
        let block = self.block_size;
        let first = first.min(self.max_context);
        let prefix_blocks = first.div_ceil(block) as usize;
        let mut blocks: Vec<u64> = Vec::new();
        let mut tokens = 0u32;
        let mut grow_to = |blocks: &mut Vec<u64>, tokens: &mut u32, to: u32| {
            *tokens = to;
            while (blocks.len() as u64) * u64::from(block) < u64::from(to) {
                blocks.push(*ids);
                *ids += 1;
            }
        };
        grow_to(&mut blocks, &mut tokens, first);
        let mut t = t0;
        let mut out = Vec::with_capacity(n);
        for k in 0..n {
            let mut think = None;
            if k > 0 {
                let pause = self.think(rng);
                t += pause;
                think = Some(pause);
                let next = tokens.saturating_add(self.new_input.tokens(rng));
                if next > self.max_context {
                    // Compaction: the system prompt and tools stay, the rest is new.
                    blocks.truncate(prefix_blocks.saturating_sub(1));
                    let fresh = (first + self.new_input.tokens(rng)).min(self.max_context);
                    grow_to(&mut blocks, &mut tokens, fresh);
                } else {
                    if rng.random_bool(self.divergent) {
                        // An edited context: only its first part is what was sent before.
                        let keep = (blocks.len() as f64 * self.kept) as usize;
                        blocks
                            .truncate(keep.max(prefix_blocks.min(blocks.len())).saturating_sub(1));
                    }
                    grow_to(&mut blocks, &mut tokens, next);
                }
            }
            out.push(Turn {
                start: t,
                input_tokens: tokens,
                output_tokens: self.output.tokens(rng),
                hash_ids: blocks.clone(),
                think_time: think,
                duration: None,
                streaming: rng.random_bool(self.streaming),
            });
        }
        out
    }

    fn think(&self, rng: &mut ChaCha8Rng) -> f64 {
        let total: f64 = self.think.iter().map(|(w, _)| w).sum();
        let mut pick = rng.random_range(0.0..total);
        for (w, d) in &self.think {
            if pick < *w {
                return d.sample(rng);
            }
            pick -= w;
        }
        self.think[self.think.len() - 1].1.sample(rng)
    }

    /// Sessions `0..count` in order.
    pub fn sessions(self, count: u64) -> impl Iterator<Item = Session> + Send {
        (0..count).map(move |i| self.session(i))
    }
}
