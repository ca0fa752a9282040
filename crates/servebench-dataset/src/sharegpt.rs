//! ShareGPT JSON files (format and selection rule in the crate docs).
//!
//! The file is streamed element by element (ShareGPT_V3 is ~650 MB): a first pass records which
//! rows have a human turn followed by a gpt turn; those row numbers are shuffled with the seed;
//! then passes over the file fetch the texts of the next batch of candidates only, which are
//! tokenized and filtered in shuffled order until N + W rows are accepted (usually one such
//! pass).

use crate::store::Body;
use crate::trace::{Session, Turn};
use crate::{cycle_rows, FileRow};
use crate::{json_kind, parallel_map, Built, DatasetError, DatasetSpec};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::de::{DeserializeSeed, IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;
use servebench_core::hash::chained_block_ids;
use servebench_tokenizer::Tokenizer;
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// vLLM's ShareGPT filter.
const MIN_LEN: u32 = 4;
const MAX_PROMPT_LEN: u32 = 1024;
const MAX_TOTAL_LEN: u32 = 2048;

const HUMAN: [&str; 2] = ["human", "user"];
const GPT: [&str; 4] = ["gpt", "assistant", "chatgpt", "bard"];

/// A row's `conversations`, its turns read field by field with errors naming the field.
struct Conversation<'a>(&'a [Value]);

impl<'a> Conversation<'a> {
    fn of(row: &'a Value) -> Result<Conversation<'a>, String> {
        let obj = row.as_object().ok_or_else(|| {
            format!(
                "expected an object with \"conversations\", got {}",
                json_kind(row)
            )
        })?;
        match obj.get("conversations") {
            None => Err("missing field \"conversations\"".into()),
            Some(Value::Array(a)) => Ok(Conversation(a)),
            Some(v) => Err(format!(
                "field \"conversations\": expected an array of turns, got {}",
                json_kind(v)
            )),
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Turn `k`'s `from` (or `role`).
    fn role(&self, k: usize) -> Result<&'a str, String> {
        self.field(k, ["from", "role"])
    }

    /// Turn `k`'s `value` (or `content`).
    fn text(&self, k: usize) -> Result<&'a str, String> {
        self.field(k, ["value", "content"])
    }

    fn field(&self, k: usize, keys: [&str; 2]) -> Result<&'a str, String> {
        let t = &self.0[k];
        let o = t.as_object().ok_or_else(|| {
            format!(
                "field \"conversations[{k}]\": expected an object, got {}",
                json_kind(t)
            )
        })?;
        let (key, v) = match (o.get(keys[0]), o.get(keys[1])) {
            (Some(v), _) => (keys[0], v),
            (None, Some(v)) => (keys[1], v),
            (None, None) => {
                return Err(format!(
                    "field \"conversations[{k}]\": expected a \"{}\" or \"{}\" key",
                    keys[0], keys[1]
                ))
            }
        };
        v.as_str().ok_or_else(|| {
            format!(
                "field \"conversations[{k}].{key}\": expected a string, got {}",
                json_kind(v)
            )
        })
    }
}

/// The (prompt, reference output) texts of a row, or `None` if it has no human turn directly
/// followed by a gpt turn. `Err` is a message naming the offending field.
fn pair(row: &Value) -> Result<Option<(&str, &str)>, String> {
    let c = Conversation::of(row)?;
    for k in 0..c.len() {
        if HUMAN.contains(&c.role(k)?) {
            if k + 1 < c.len() && GPT.contains(&c.role(k + 1)?) {
                return Ok(Some((c.text(k)?, c.text(k + 1)?)));
            }
            return Ok(None);
        }
    }
    Ok(None)
}

/// Multi-turn conversations as sessions of a trace (servebench's own format), streamed: each
/// human message a gpt reply follows is a turn whose prompt is the whole conversation before
/// the reply (every earlier message and reply, then this message) and whose output is the
/// reply's length. The prefix identity is the chained hashes of the prompt tokens' blocks of
/// `block` ([`servebench_core::hash::chained_block_ids`]), shared across conversations
/// that start alike; ShareGPT has no timing, so turns follow each other without pauses.
/// Conversations without such a turn are left out; returns the rows read.
pub fn sessions(
    path: &Path,
    tok: &Tokenizer,
    block: u32,
    on_session: &mut dyn FnMut(Session) -> Result<(), DatasetError>,
) -> Result<usize, DatasetError> {
    let file = path.display().to_string();
    stream_rows(path, &|_| true, &mut |i, row| {
        let at = |m: String| DatasetError::format(format!("{file}: entry {i}"), m);
        let c = Conversation::of(&row).map_err(at)?;
        let id = row
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("entry-{i}"), str::to_string);
        let turns = conversation_turns(&c, tok, block).map_err(at)?;
        if turns.is_empty() {
            return Ok(());
        }
        on_session(Session {
            id,
            block_size: block,
            shared_blocks: true,
            turns,
            subagents: Vec::new(),
        })
    })
}

/// The turns of one conversation ([`sessions`]).
fn conversation_turns(c: &Conversation, tok: &Tokenizer, block: u32) -> Result<Vec<Turn>, String> {
    let mut context: Vec<u32> = Vec::new();
    let mut turns = Vec::new();
    for k in 0..c.len() {
        let ids = tok.encode(c.text(k)?);
        let human = HUMAN.contains(&c.role(k)?);
        if human && k + 1 < c.len() && GPT.contains(&c.role(k + 1)?) {
            context.extend_from_slice(&ids);
            let reply = tok.encode(c.text(k + 1)?);
            let start = turns.len() as f64;
            turns.push(Turn {
                start,
                input_tokens: u32::try_from(context.len()).unwrap_or(u32::MAX),
                output_tokens: u32::try_from(reply.len()).unwrap_or(u32::MAX).max(1),
                hash_ids: chained_block_ids(&context, block as usize),
                think_time: Some(0.0),
                duration: None,
                streaming: true,
            });
        } else {
            // A reply (already counted as its turn's output) or a message no reply follows:
            // part of the context from here on.
            context.extend_from_slice(&ids);
        }
    }
    Ok(turns)
}

/// Streams the top-level array of `path`, handing each wanted row (as a `Value`) to `on_row`
/// and skipping the others without building them.
fn stream_rows(
    path: &Path,
    want: &dyn Fn(usize) -> bool,
    on_row: &mut dyn FnMut(usize, Value) -> Result<(), DatasetError>,
) -> Result<usize, DatasetError> {
    let file = std::fs::File::open(path).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let current = Cell::new(0usize);
    let mut failure: Option<DatasetError> = None;
    let seed = Rows {
        want,
        on_row,
        current: &current,
        failure: &mut failure,
    };
    let res = seed.deserialize(&mut de).and_then(|n| de.end().map(|_| n));
    if let Some(e) = failure {
        return Err(e);
    }
    let file = path.display();
    res.map_err(|e| {
        if e.is_io() {
            DatasetError::format(file.to_string(), format!("read error: {e}"))
        } else if current.get() == usize::MAX {
            DatasetError::format(
                file.to_string(),
                format!("expected a JSON array of conversations ({e})"),
            )
        } else {
            DatasetError::format(
                format!("{file}: entry {}", current.get()),
                format!("invalid JSON: {e}"),
            )
        }
    })
}

struct Rows<'a, 'b> {
    want: &'a dyn Fn(usize) -> bool,
    on_row: &'a mut dyn FnMut(usize, Value) -> Result<(), DatasetError>,
    /// Index of the element being read; `usize::MAX` while the top level is not an array.
    current: &'a Cell<usize>,
    failure: &'b mut Option<DatasetError>,
}

impl<'de> DeserializeSeed<'de> for Rows<'_, '_> {
    type Value = usize;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        self.current.set(usize::MAX);
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Rows<'_, '_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of conversations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut i = 0usize;
        loop {
            self.current.set(i);
            if (self.want)(i) {
                match seq.next_element::<Value>()? {
                    None => break,
                    Some(v) => {
                        if let Err(e) = (self.on_row)(i, v) {
                            *self.failure = Some(e);
                            return Err(serde::de::Error::custom("aborted"));
                        }
                    }
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(i)
    }
}

/// An accepted row.
struct Accepted {
    prompt: String,
    input_len: u32,
    output_len: u32,
}

pub(crate) fn build(
    spec: &DatasetSpec,
    tok: &Tokenizer,
    threads: usize,
) -> Result<Built, DatasetError> {
    let path = spec.file()?;
    if spec.osl_override && spec.osl == 0 {
        return Err(DatasetError::Invalid(
            "overriding the output length needs a positive osl".into(),
        ));
    }
    let file = path.display().to_string();
    let need = spec.num_prompts + spec.num_warmups;

    // Pass 1: which rows have a usable (human, gpt) pair; check their structure.
    let mut usable: Vec<u32> = Vec::new();
    let rows = stream_rows(path, &|_| true, &mut |i, row| {
        match pair(&row) {
            Ok(Some(_)) => usable.push(i as u32),
            Ok(None) => {}
            Err(m) => return Err(DatasetError::format(format!("{file}: entry {i}"), m)),
        }
        Ok(())
    })?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    usable.shuffle(&mut rng);

    // Passes 2..: fetch, tokenize and filter candidates in shuffled order.
    let mut accepted: Vec<Accepted> = Vec::new();
    let mut pos = 0usize;
    while accepted.len() < need && pos < usable.len() {
        let batch_len = (2 * (need - accepted.len()) + 64).min(usable.len() - pos);
        let batch = &usable[pos..pos + batch_len];
        pos += batch_len;
        let slot: HashMap<u32, usize> = batch.iter().enumerate().map(|(k, &r)| (r, k)).collect();
        let mut texts: Vec<Option<(String, String)>> = vec![None; batch_len];
        stream_rows(path, &|i| slot.contains_key(&(i as u32)), &mut |i, row| {
            if let Ok(Some((p, c))) = pair(&row) {
                texts[slot[&(i as u32)]] = Some((p.to_string(), c.to_string()));
            }
            Ok(())
        })?;
        let lens = parallel_map(&texts, threads, |t| {
            let (p, c) = t.as_ref()?;
            let input_len = tok.count(p) as u32;
            if input_len < MIN_LEN {
                return None;
            }
            if spec.osl_override {
                return Some((input_len, spec.osl));
            }
            let output_len = tok.count(c) as u32;
            let ok = output_len >= MIN_LEN
                && input_len <= MAX_PROMPT_LEN
                && input_len + output_len <= MAX_TOTAL_LEN;
            ok.then_some((input_len, output_len))
        });
        for (t, l) in texts.into_iter().zip(lens) {
            if accepted.len() == need {
                break;
            }
            if let (Some((prompt, _)), Some((input_len, output_len))) = (t, l) {
                accepted.push(Accepted {
                    prompt,
                    input_len,
                    output_len,
                });
            }
        }
    }
    if accepted.is_empty() && need > 0 {
        return Err(DatasetError::format(
            file,
            format!(
                "no usable conversations: {rows} entries, {} with a human turn followed by a gpt \
                 turn, none passed the length filter (prompt >= {MIN_LEN} tokens{})",
                usable.len(),
                if spec.osl_override {
                    String::new()
                } else {
                    format!(
                        ", output >= {MIN_LEN}, prompt <= {MAX_PROMPT_LEN}, \
                         prompt + output <= {MAX_TOTAL_LEN}"
                    )
                }
            ),
        ));
    }

    let rows: Vec<FileRow<'_>> = accepted
        .iter()
        .map(|a| FileRow {
            text: &a.prompt,
            body: Body::Text,
            input_len: a.input_len,
            output_len: a.output_len,
        })
        .collect();
    Ok(cycle_rows(spec, &rows))
}
