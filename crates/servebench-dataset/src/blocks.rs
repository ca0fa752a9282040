//! Prompt text for a trace's hash blocks.
//!
//! A trace carries no text, only each prompt's block ids. A replayed prompt is the text of its
//! blocks in order: block `(salt, id)` is `block_size` words, each a whole token of the
//! tokenizer (` apple`, ` river`, ...), picked by a hash of `(salt, id, position)`. So:
//! - two prompts that share their first k block ids share their first k × `block_size` tokens,
//!   byte for byte, and a server's prefix cache sees exactly the reuse the trace has;
//! - a prompt of n tokens is n words, which the tokenizer counts as n tokens (every word is one
//!   token, alone and after another word; words are checked for both when the list is built);
//! - a new salt gives every block new text: each replay of a session busts the cache of the
//!   last one, as InferenceX's replays do with their per-play marker.
//!
//! A prompt's last block may be partial: its first words only, so it is still a prefix of the
//! full block another turn sends.

use crate::DatasetError;
use servebench_core::hash::mix64 as mix;
use servebench_tokenizer::Tokenizer;

/// The most words kept: plenty of variety, a small table.
const MAX_WORDS: usize = 8192;
/// Fewer words than this and the text would repeat too much to stand for real prompts.
const MIN_WORDS: usize = 256;

/// Writes block text with one tokenizer's single-token words.
#[derive(Debug, Clone)]
pub struct BlockText {
    words: Vec<Box<str>>,
    /// Bytes per word, rounded up: what a prompt's text reserves per token.
    mean_len: usize,
}

impl BlockText {
    /// The tokenizer's words: tokens whose text is a space and 2–12 lowercase ASCII letters
    /// (or, for tokenizers that decode without the space, those letters), that it encodes back
    /// as one token, and twice in a row as two.
    pub fn new(tok: &Tokenizer) -> Result<BlockText, DatasetError> {
        let mut words = Vec::new();
        for id in 0..tok.vocab_size() {
            let Some(w) = word(&tok.decode(&[id])) else {
                continue;
            };
            if tok.count(&w) == 1 && tok.count(&w.repeat(2)) == 2 {
                words.push(w.into_boxed_str());
                if words.len() == MAX_WORDS {
                    break;
                }
            }
        }
        if words.len() < MIN_WORDS {
            return Err(DatasetError::Invalid(format!(
                "tokenizer {}: {} single-token words, fewer than the {MIN_WORDS} needed to write trace prompts",
                tok.info().name,
                words.len()
            )));
        }
        let mean_len = words
            .iter()
            .map(|w| w.len())
            .sum::<usize>()
            .div_ceil(words.len());
        Ok(BlockText { words, mean_len })
    }

    /// Appends the text of a prompt of `tokens` tokens made of `hash_ids` (blocks of
    /// `block_size` tokens; the last one cut to what is left) to `out`.
    pub fn write(
        &self,
        out: &mut String,
        salt: u64,
        hash_ids: &[u64],
        block_size: u32,
        tokens: u32,
    ) {
        self.write_range(out, salt, hash_ids, block_size, 0..tokens);
    }

    /// Appends tokens `range` of that prompt: the pieces of a prompt written range by range
    /// are the prompt written whole (a chat history's messages).
    pub fn write_range(
        &self,
        out: &mut String,
        salt: u64,
        hash_ids: &[u64],
        block_size: u32,
        range: std::ops::Range<u32>,
    ) {
        let block = block_size.max(1);
        out.reserve(range.len() * self.mean_len);
        let words = self.words.len() as u64;
        let first = (range.start / block) as usize;
        for (i, &id) in hash_ids.iter().enumerate().skip(first) {
            let at = i as u32 * block;
            if at >= range.end {
                break;
            }
            let base = mix(salt ^ mix(id));
            for j in range.start.max(at) - at..(range.end - at).min(block) {
                // The high 32 bits scaled to the list: a pick without a division.
                let pick = ((mix(base.wrapping_add(u64::from(j))) >> 32) * words) >> 32;
                out.push_str(&self.words[pick as usize]);
            }
        }
    }

    /// A prompt of `tokens` tokens that shares nothing with any trace block (warmups).
    pub fn filler(&self, out: &mut String, salt: u64, tokens: u32) {
        self.write(out, !salt, &[u64::MAX], tokens.max(1), tokens);
    }
}

/// `" word"` from a token's text, if it is one.
fn word(text: &str) -> Option<String> {
    let letters = text.strip_prefix(' ').unwrap_or(text);
    let ok = (2..=12).contains(&letters.len()) && letters.bytes().all(|b| b.is_ascii_lowercase());
    ok.then(|| format!(" {letters}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_space_and_letters() {
        assert_eq!(word(" apple").as_deref(), Some(" apple"));
        assert_eq!(word("apple").as_deref(), Some(" apple"));
        assert_eq!(word(" Apple"), None);
        assert_eq!(word(" a"), None);
        assert_eq!(word("  apple"), None);
    }
}
