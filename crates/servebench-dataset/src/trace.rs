//! Multi-turn sessions (coding-agent traces), read as a stream, one session at a time.
//!
//! A [`Session`] is a main agent's turns in order and the subagent sessions it forks. Each
//! turn's prompt is the previous context plus new tokens; its prefix identity is carried as
//! hash blocks (`hash_ids`, `block_size` tokens each): two turns sharing their first k ids share
//! their first k × `block_size` prompt tokens, so a server sees the reuse a real session gives
//! it.
//!
//! Three formats are read, each one session per line (a Mooncake line is a one-turn session):
//! - [`Format::Weka`]: InferenceX's agentic corpora (`traces.jsonl` of
//!   `semianalysisai/cc-traces-weka-*`): `{"id", "block_size", "requests": [...]}`, a request
//!   `{"type": "n"|"s", "t", "in", "out", "hash_ids", "think_time"?, "api_time"?, ...}`, a subagent
//!   `{"type": "subagent", "t", "agent_id", "requests": [...]}`; other fields are read past.
//!   A subagent is anchored after the last main-agent turn that started before it.
//! - [`Format::Mooncake`]: `{"timestamp": ms, "input_length", "output_length", "hash_ids"}`,
//!   512-token blocks (Mooncake's trace format).
//! - [`Format::Sessions`]: servebench's own, as written by [`Session::to_json_line`]:
//!   `{"id", "block_size", "shared_blocks"?, "turns": [TURN...], "subagents": [{"id", "t"?, "after", "turns"}]}`
//!   (a subagent's `t` defaults to its first turn's), a turn `{"t", "in", "out", "hash_ids",
//!   "think"?, "dur"?, "stream"?}` (`think`: the pause since the previous turn ended;
//!   `dur`: how long the recorded request took).
//!
//! Bad input is an error naming the file, the line and the field (`requests[3].hash_ids[2]`).

use crate::{json_kind, DatasetError};
use serde_json::{Map, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// One turn: a request of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// When it started, seconds from the session's start.
    pub start: f64,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens (the replay's `max_tokens`).
    pub output_tokens: u32,
    /// The prompt's blocks: equal ids, equal tokens.
    pub hash_ids: Vec<u64>,
    /// The pause since the previous turn ended, where the trace records it.
    pub think_time: Option<f64>,
    /// How long the recorded request took (Weka `api_time`), where the trace records it.
    pub duration: Option<f64>,
    /// Recorded as a streaming request.
    pub streaming: bool,
}

/// A subagent session forked by its parent.
#[derive(Debug, Clone, PartialEq)]
pub struct Subagent {
    pub id: String,
    /// When its first turn started, seconds from the parent session's start.
    pub start: f64,
    /// The parent turn it is forked after (`None`: before the parent's first turn).
    pub after_turn: Option<usize>,
    pub turns: Vec<Turn>,
}

/// A session: its main turns and the subagents it forks.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    /// Tokens per hash block.
    pub block_size: u32,
    /// Block ids name the same blocks in every session of the file (Mooncake's global hash
    /// ids), not only within this session (the Weka corpora's `hash_id_scope: local`).
    pub shared_blocks: bool,
    pub turns: Vec<Turn>,
    pub subagents: Vec<Subagent>,
}

/// A trace file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Weka,
    Mooncake,
    Sessions,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Weka => "weka",
            Format::Mooncake => "mooncake",
            Format::Sessions => "sessions",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "weka" => Ok(Format::Weka),
            "mooncake" => Ok(Format::Mooncake),
            "sessions" => Ok(Format::Sessions),
            _ => Err(format!(
                "expected 'weka' (InferenceX's agentic traces), 'mooncake' or 'sessions', got '{s}'"
            )),
        }
    }
}

/// Mooncake traces' block size (its trace format documents 512-token blocks).
const MOONCAKE_BLOCK: u32 = 512;

/// The longest line read: a session of ~1M-token turns at 64-token blocks fits.
const MAX_LINE: usize = 256 << 20;

/// The sessions of `path`, one per non-empty line, read as they are needed.
pub fn read(path: &Path, format: Format) -> Result<Sessions, DatasetError> {
    let file = std::fs::File::open(path).map_err(|e| DatasetError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    Ok(Sessions {
        path: path.to_path_buf(),
        lines: std::io::BufReader::new(file),
        line: 0,
        format,
        buf: String::new(),
    })
}

/// An iterator over a trace file's sessions.
pub struct Sessions {
    path: PathBuf,
    lines: std::io::BufReader<std::fs::File>,
    line: usize,
    format: Format,
    buf: String,
}

impl Iterator for Sessions {
    type Item = Result<Session, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            self.line += 1;
            let at = |m: String| {
                DatasetError::format(format!("{}:{}", self.path.display(), self.line), m)
            };
            let mut limited = std::io::Read::take(&mut self.lines, MAX_LINE as u64 + 1);
            match limited.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(n) if n > MAX_LINE => {
                    return Some(Err(at(format!("line longer than {MAX_LINE} bytes"))))
                }
                Ok(_) => {}
                Err(e) => return Some(Err(at(format!("not UTF-8 text ({e})")))),
            }
            let line = self.buf.trim();
            if line.is_empty() {
                continue;
            }
            let parsed = serde_json::from_str::<Value>(line)
                .map_err(|e| format!("invalid JSON: {e}"))
                .and_then(|v| parse(&v, self.format, self.line));
            return Some(parsed.map_err(at));
        }
    }
}

fn parse(v: &Value, format: Format, line: usize) -> Result<Session, String> {
    let o = object(v, "")?;
    match format {
        Format::Weka => weka(o),
        Format::Mooncake => mooncake(o, line),
        Format::Sessions => sessions(o),
    }
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{}expected an object, got {}", prefix(at), json_kind(v)))
}

fn prefix(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!("{at}: ")
    }
}

fn field<'a>(o: &'a Map<String, Value>, key: &str, at: &str) -> Result<&'a Value, String> {
    o.get(key)
        .ok_or_else(|| format!("{}missing \"{key}\"", prefix(at)))
}

fn path(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

fn text(o: &Map<String, Value>, key: &str, at: &str) -> Result<String, String> {
    match field(o, key, at)? {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        v => Err(format!(
            "{}: expected a string, got {}",
            path(at, key),
            json_kind(v)
        )),
    }
}

/// A finite number ≥ 0 (seconds).
fn seconds(v: &Value, at: &str) -> Result<f64, String> {
    v.as_f64()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| format!("{at}: expected a number of seconds ≥ 0, got {}", shown(v)))
}

/// An optional seconds field (absent or null: `None`).
fn optional_bool(o: &Map<String, Value>, key: &str, at: &str) -> Result<Option<bool>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(format!(
            "{}: expected a boolean, got {}",
            path(at, key),
            json_kind(v)
        )),
    }
}

fn optional_seconds(o: &Map<String, Value>, key: &str, at: &str) -> Result<Option<f64>, String> {
    o.get(key)
        .filter(|v| !v.is_null())
        .map(|v| seconds(v, &path(at, key)))
        .transpose()
}

fn count(v: &Value, at: &str) -> Result<u32, String> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("{at}: expected a whole number of tokens, got {}", shown(v)))
}

fn shown(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        other => json_kind(other).to_string(),
    }
}

fn array<'a>(v: &'a Value, at: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("{at}: expected an array, got {}", json_kind(v)))
}

fn hash_ids(v: &Value, at: &str) -> Result<Vec<u64>, String> {
    array(v, at)?
        .iter()
        .enumerate()
        .map(|(i, h)| {
            h.as_u64().ok_or_else(|| {
                format!(
                    "{at}[{i}]: expected a block id (a whole number ≥ 0), got {}",
                    shown(h)
                )
            })
        })
        .collect()
}

fn block_size(o: &Map<String, Value>, at: &str) -> Result<u32, String> {
    let v = field(o, "block_size", at)?;
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (1..=1 << 20).contains(n))
        .ok_or_else(|| {
            format!(
                "{}: expected a number of tokens per block (1 to 1048576), got {}",
                path(at, "block_size"),
                shown(v)
            )
        })
}

/// A turn's prompt cannot be longer than its blocks hold, nor shorter than all but its last.
fn check_blocks(t: &Turn, block: u32, at: &str) -> Result<(), String> {
    let n = t.hash_ids.len() as u64;
    let (tokens, block) = (u64::from(t.input_tokens), u64::from(block));
    if n > 0 && (tokens > n * block || tokens <= (n - 1) * block) {
        return Err(format!(
            "{at}: {} input tokens do not fill {n} blocks of {block} (expected {} to {})",
            t.input_tokens,
            (n - 1) * block + 1,
            n * block
        ));
    }
    Ok(())
}

/// InferenceX's `traces.jsonl` line.
fn weka(o: &Map<String, Value>) -> Result<Session, String> {
    let id = text(o, "id", "")?;
    let block = block_size(o, "")?;
    let requests = array(field(o, "requests", "")?, "requests")?;
    let mut turns = Vec::new();
    let mut subagents = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let at = format!("requests[{i}]");
        let e = object(r, &at)?;
        match text(e, "type", &at)?.as_str() {
            "subagent" => {
                let inner = array(field(e, "requests", &at)?, &path(&at, "requests"))?;
                let sub_turns = inner
                    .iter()
                    .enumerate()
                    .map(|(j, r)| weka_turn(r, &format!("{at}.requests[{j}]"), block))
                    .collect::<Result<Vec<_>, _>>()?;
                let start = seconds(field(e, "t", &at)?, &path(&at, "t"))?;
                subagents.push(Subagent {
                    id: text(e, "agent_id", &at)?,
                    start,
                    // After the last main turn started before it.
                    after_turn: turns.iter().rposition(|t: &Turn| t.start <= start),
                    turns: sub_turns,
                });
            }
            "n" | "s" => turns.push(weka_turn(r, &at, block)?),
            other => {
                return Err(format!(
                    "{at}.type: expected \"n\", \"s\" or \"subagent\", got \"{other}\""
                ))
            }
        }
    }
    Ok(Session {
        id,
        block_size: block,
        shared_blocks: false,
        turns,
        subagents,
    })
}

fn weka_turn(r: &Value, at: &str, block: u32) -> Result<Turn, String> {
    let e = object(r, at)?;
    let kind = text(e, "type", at)?;
    if kind != "n" && kind != "s" {
        return Err(format!(
            "{at}.type: expected \"n\" or \"s\", got \"{kind}\""
        ));
    }
    let t = Turn {
        start: seconds(field(e, "t", at)?, &path(at, "t"))?,
        input_tokens: count(field(e, "in", at)?, &path(at, "in"))?,
        output_tokens: count(field(e, "out", at)?, &path(at, "out"))?,
        hash_ids: hash_ids(field(e, "hash_ids", at)?, &path(at, "hash_ids"))?,
        think_time: optional_seconds(e, "think_time", at)?,
        duration: optional_seconds(e, "api_time", at)?,
        streaming: kind == "s",
    };
    check_blocks(&t, block, at)?;
    Ok(t)
}

/// A Mooncake trace line: one request, a session of one turn.
fn mooncake(o: &Map<String, Value>, line: usize) -> Result<Session, String> {
    let ms = field(o, "timestamp", "")?;
    let start = seconds(ms, "timestamp")? / 1000.0;
    let t = Turn {
        start,
        input_tokens: count(field(o, "input_length", "")?, "input_length")?,
        output_tokens: count(field(o, "output_length", "")?, "output_length")?,
        hash_ids: hash_ids(field(o, "hash_ids", "")?, "hash_ids")?,
        think_time: None,
        duration: None,
        streaming: true,
    };
    check_blocks(&t, MOONCAKE_BLOCK, "")?;
    Ok(Session {
        id: format!("line-{line}"),
        block_size: MOONCAKE_BLOCK,
        shared_blocks: true,
        turns: vec![t],
        subagents: Vec::new(),
    })
}

/// servebench's own session line.
fn sessions(o: &Map<String, Value>) -> Result<Session, String> {
    let block = block_size(o, "")?;
    let turns = own_turns(field(o, "turns", "")?, "turns", block)?;
    let mut subagents = Vec::new();
    if let Some(subs) = o.get("subagents") {
        for (i, s) in array(subs, "subagents")?.iter().enumerate() {
            let at = format!("subagents[{i}]");
            let e = object(s, &at)?;
            let after = match e.get("after") {
                None | Some(Value::Null) => None,
                Some(v) => {
                    let n = v.as_u64().map(|n| n as usize).filter(|n| *n < turns.len());
                    Some(n.ok_or_else(|| {
                        format!(
                            "{at}.after: expected a turn index below {}, got {}",
                            turns.len(),
                            shown(v)
                        )
                    })?)
                }
            };
            let sub_turns = own_turns(field(e, "turns", &at)?, &path(&at, "turns"), block)?;
            let start = match e.get("t") {
                None | Some(Value::Null) => sub_turns.first().map_or(0.0, |t| t.start),
                Some(v) => seconds(v, &path(&at, "t"))?,
            };
            subagents.push(Subagent {
                id: text(e, "id", &at)?,
                start,
                after_turn: after,
                turns: sub_turns,
            });
        }
    }
    Ok(Session {
        id: text(o, "id", "")?,
        block_size: block,
        shared_blocks: optional_bool(o, "shared_blocks", "")?.unwrap_or(false),
        turns,
        subagents,
    })
}

fn own_turns(v: &Value, at: &str, block: u32) -> Result<Vec<Turn>, String> {
    array(v, at)?
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let at = format!("{at}[{i}]");
            let e = object(t, &at)?;
            let turn = Turn {
                start: seconds(field(e, "t", &at)?, &path(&at, "t"))?,
                input_tokens: count(field(e, "in", &at)?, &path(&at, "in"))?,
                output_tokens: count(field(e, "out", &at)?, &path(&at, "out"))?,
                hash_ids: hash_ids(field(e, "hash_ids", &at)?, &path(&at, "hash_ids"))?,
                think_time: optional_seconds(e, "think", &at)?,
                duration: optional_seconds(e, "dur", &at)?,
                streaming: optional_bool(e, "stream", &at)?.unwrap_or(true),
            };
            check_blocks(&turn, block, &at)?;
            Ok(turn)
        })
        .collect()
}

impl Turn {
    fn to_json(&self) -> Value {
        let mut m = serde_json::json!({
            "t": self.start,
            "in": self.input_tokens,
            "out": self.output_tokens,
            "hash_ids": self.hash_ids,
        });
        if let Some(p) = self.think_time {
            m["think"] = p.into();
        }
        if let Some(d) = self.duration {
            m["dur"] = d.into();
        }
        if !self.streaming {
            m["stream"] = false.into();
        }
        m
    }
}

impl Session {
    /// An agent's turns: 0 the main agent's, `a` those of subagent `a - 1`.
    pub fn agent_turns(&self, agent: usize) -> &[Turn] {
        match agent {
            0 => &self.turns,
            a => self.subagents.get(a - 1).map_or(&[], |s| &s.turns),
        }
    }

    /// The session as a line of servebench's own format ([`Format::Sessions`]).
    pub fn to_json_line(&self) -> String {
        let turns = |ts: &[Turn]| -> Vec<Value> { ts.iter().map(Turn::to_json).collect() };
        let mut v = serde_json::json!({
            "id": self.id,
            "block_size": self.block_size,
            "turns": turns(&self.turns),
        });
        if self.shared_blocks {
            v["shared_blocks"] = true.into();
        }
        if !self.subagents.is_empty() {
            let subs: Vec<Value> = self
                .subagents
                .iter()
                .map(|s| {
                    serde_json::json!({"id": s.id, "t": s.start, "after": s.after_turn, "turns": turns(&s.turns)})
                })
                .collect();
            v["subagents"] = subs.into();
        }
        v.to_string()
    }

    /// Turns whose blocks an earlier turn of the session (main agent or subagent, in start
    /// order) already sent, over all blocks sent: the prefix-cache hit rate an unbounded cache
    /// would give this session alone. A block counts as a hit only while the turn's blocks
    /// before it were hits too (a prefix cache matches prefixes).
    pub fn theoretical_hit_blocks(&self) -> (u64, u64) {
        let mut all: Vec<&Turn> = self
            .turns
            .iter()
            .chain(self.subagents.iter().flat_map(|s| &s.turns))
            .collect();
        all.sort_by(|a, b| a.start.total_cmp(&b.start));
        let mut trie = PrefixTrie::default();
        let (mut hits, mut total) = (0u64, 0u64);
        for t in all {
            total += t.hash_ids.len() as u64;
            hits += u64::from(trie.insert(&t.hash_ids));
        }
        (hits, total)
    }
}

/// The block prefixes sent so far: an unbounded prefix cache.
#[derive(Debug, Default)]
pub struct PrefixTrie {
    /// (node, block id) → child node; node 0 is the root.
    children: std::collections::HashMap<(u32, u64), u32>,
}

impl PrefixTrie {
    /// Adds a prompt's blocks; returns how many of its leading blocks were already there (the
    /// blocks an unbounded prefix cache would hit).
    pub fn insert(&mut self, hash_ids: &[u64]) -> u32 {
        let mut node = 0u32;
        let mut hits = 0u32;
        let mut cached = true;
        for &id in hash_ids {
            let next = self.children.len() as u32 + 1;
            match self.children.entry((node, id)) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    node = *e.get();
                    hits += u32::from(cached);
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(next);
                    node = next;
                    cached = false;
                }
            }
        }
        hits
    }
}

/// What a trace file holds, read through once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub sessions: u64,
    /// Main-agent turns.
    pub turns: u64,
    pub subagents: u64,
    pub subagent_turns: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Blocks sent, and those an unbounded prefix cache would hit (per session in start order;
    /// across the whole file in file order where block ids are shared).
    pub blocks: u64,
    pub hit_blocks: u64,
    /// The longest turn: its input plus output tokens.
    pub max_sequence_tokens: u64,
}

impl Summary {
    /// Hit blocks over blocks (0 for a trace without blocks).
    pub fn theoretical_hit_rate(&self) -> f64 {
        if self.blocks == 0 {
            0.0
        } else {
            self.hit_blocks as f64 / self.blocks as f64
        }
    }
}

/// Reads every session of `path`: the first bad line is an error, before anything is sent.
pub fn scan(path: &Path, format: Format) -> Result<Summary, DatasetError> {
    summarize(read(path, format)?)
}

/// What a stream of sessions holds; the first error ends it.
pub fn summarize(
    sessions: impl Iterator<Item = Result<Session, DatasetError>>,
) -> Result<Summary, DatasetError> {
    let mut s = Summary::default();
    let mut shared = PrefixTrie::default();
    for session in sessions {
        let session = session?;
        s.sessions += 1;
        s.turns += session.turns.len() as u64;
        s.subagents += session.subagents.len() as u64;
        let all = session
            .turns
            .iter()
            .chain(session.subagents.iter().flat_map(|a| &a.turns));
        for t in all {
            s.input_tokens += u64::from(t.input_tokens);
            s.output_tokens += u64::from(t.output_tokens);
            s.max_sequence_tokens = s
                .max_sequence_tokens
                .max(u64::from(t.input_tokens) + u64::from(t.output_tokens));
        }
        s.subagent_turns += session
            .subagents
            .iter()
            .map(|a| a.turns.len() as u64)
            .sum::<u64>();
        let (hits, blocks) = if session.shared_blocks {
            let mut h = 0;
            for t in &session.turns {
                h += u64::from(shared.insert(&t.hash_ids));
            }
            (
                h,
                session.turns.iter().map(|t| t.hash_ids.len() as u64).sum(),
            )
        } else {
            session.theoretical_hit_blocks()
        };
        s.hit_blocks += hits;
        s.blocks += blocks;
    }
    Ok(s)
}

/// SHA-256 of a trace file's bytes (the replay's dataset hash).
pub fn file_sha256(path: &Path) -> Result<String, DatasetError> {
    use sha2::{Digest, Sha256};
    let io = |e| DatasetError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(io)?;
    Ok(hex::encode(h.finalize()))
}
