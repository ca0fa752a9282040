//! Compact storage of requests: fixed-size entries pointing into a recipe arena (random prompts)
//! or a text arena (file prompts, chat messages, and random prompts whose replay was not exact).

use crate::{Prompt, RequestSpec, StorageStats};
use servebench_tokenizer::{push_lossy, Tokenizer};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    Recipe,
    Text,
    Messages,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    input_len: u32,
    output_len: u32,
    /// Length of the span in the recipe (u32 words) or text (bytes) arena.
    len: u32,
    body: Body,
    /// Start of the span in its arena.
    start: usize,
}

#[derive(Default)]
pub(crate) struct Store {
    entries: Vec<Entry>,
    recipes: Vec<u32>,
    texts: String,
}

impl Store {
    pub(crate) fn with_capacity(n: usize) -> Store {
        Store {
            entries: Vec::with_capacity(n),
            ..Store::default()
        }
    }

    pub(crate) fn push_recipe(&mut self, recipe: &[u32], input_len: u32, output_len: u32) {
        self.entries.push(Entry {
            input_len,
            output_len,
            len: u32::try_from(recipe.len()).expect("recipe too long"),
            body: Body::Recipe,
            start: self.recipes.len(),
        });
        self.recipes.extend_from_slice(recipe);
    }

    /// Appends a text (or messages JSON) to the arena; returns its span for [`Store::push_span`].
    pub(crate) fn add_text(&mut self, text: &str) -> (usize, u32) {
        let start = self.texts.len();
        self.texts.push_str(text);
        (start, u32::try_from(text.len()).expect("prompt over 4 GiB"))
    }

    /// An entry for a text already in the arena (several entries may share one span).
    pub(crate) fn push_span(
        &mut self,
        span: (usize, u32),
        body: Body,
        input_len: u32,
        output_len: u32,
    ) {
        debug_assert!(body != Body::Recipe);
        self.entries.push(Entry {
            input_len,
            output_len,
            len: span.1,
            body,
            start: span.0,
        });
    }

    pub(crate) fn shrink(&mut self) {
        self.entries.shrink_to_fit();
        self.recipes.shrink_to_fit();
        self.texts.shrink_to_fit();
    }

    pub(crate) fn get(&self, k: usize, tok: &Tokenizer) -> RequestSpec<'_> {
        let e = self.entries[k];
        let prompt = match e.body {
            Body::Recipe => {
                let r = &self.recipes[e.start..e.start + e.len as usize];
                // Verified at build time, so replay cannot fail here.
                Prompt::Text(Cow::Owned(replay(tok, r).unwrap_or_default()))
            }
            Body::Text => Prompt::Text(Cow::Borrowed(self.text(&e))),
            Body::Messages => Prompt::Messages(self.text(&e)),
        };
        RequestSpec {
            prompt,
            input_len: e.input_len,
            output_len: e.output_len,
        }
    }

    fn text(&self, e: &Entry) -> &str {
        &self.texts[e.start..e.start + e.len as usize]
    }

    pub(crate) fn stats(&self) -> StorageStats {
        let recipe_prompts = self
            .entries
            .iter()
            .filter(|e| e.body == Body::Recipe)
            .count();
        let recipe_bytes = self.recipes.capacity() * 4;
        let text_bytes = self.texts.capacity();
        StorageStats {
            recipe_prompts,
            text_prompts: self.entries.len() - recipe_prompts,
            heap_bytes: self.entries.capacity() * std::mem::size_of::<Entry>()
                + recipe_bytes
                + text_bytes,
            recipe_bytes,
            text_bytes,
        }
    }
}

/// Replays a random prompt's recipe: `[start, run_len, (kept_bytes, n, ids[n])*]`, i.e.
/// `text = lossy(bytes of the run)`, then per step `text = lossy(text.bytes[..kept] ++
/// bytes(ids))`. `None` if the recipe does not fit (a prefix longer than the text, a tokenizer
/// that is not byte-level); build-time verification turns that into a full-text fallback.
pub(crate) fn replay(tok: &Tokenizer, recipe: &[u32]) -> Option<String> {
    let (&start, &run_len) = (recipe.first()?, recipe.get(1)?);
    let mut text = String::with_capacity(run_len as usize * 8 + 64);
    if !tok.run_text_into(start, run_len, &mut text) {
        return None;
    }
    let mut buf = Vec::new();
    let mut k = 2;
    while k < recipe.len() {
        let kept = *recipe.get(k)? as usize;
        let n = *recipe.get(k + 1)? as usize;
        let ids = recipe.get(k + 2..k + 2 + n)?;
        if kept > text.len() {
            return None;
        }
        // `text[..cut]` is valid UTF-8 ending on a character boundary, so the lossy conversion
        // of the whole equals that prefix followed by the conversion of the rest: only the cut
        // bytes of a split character and the appended tokens need converting.
        let mut cut = kept;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        buf.clear();
        buf.extend_from_slice(&text.as_bytes()[cut..kept]);
        tok.decode_bytes_into(ids, &mut buf);
        text.truncate(cut);
        push_lossy(&mut text, &buf);
        k += 2 + n;
    }
    Some(text)
}

/// The dataset hash (format in the crate docs).
pub(crate) struct RequestHasher(Sha256);

impl RequestHasher {
    pub(crate) fn new() -> Self {
        RequestHasher(Sha256::new())
    }

    pub(crate) fn add_raw(&mut self, tag: u8, prompt: &str, output_len: u32) {
        self.0.update([tag]);
        self.0.update((prompt.len() as u64).to_le_bytes());
        self.0.update(prompt.as_bytes());
        self.0.update(output_len.to_le_bytes());
    }

    pub(crate) fn add(&mut self, r: &RequestSpec<'_>) {
        let tag = match r.prompt {
            Prompt::Text(_) => b'T',
            Prompt::Messages(_) => b'M',
        };
        self.add_raw(tag, r.prompt.as_str(), r.output_len);
    }

    pub(crate) fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_of_valid_prefix_splits() {
        // lossy(valid ++ rest) == valid ++ lossy(rest) when `valid` ends on a char boundary.
        let text = "ab日本\u{fffd}c";
        let extra: &[u8] = b"\x97\xa5z\xe6";
        for kept in 0..=text.len() {
            let mut whole = text.as_bytes()[..kept].to_vec();
            whole.extend_from_slice(extra);
            let want = String::from_utf8_lossy(&whole).into_owned();
            let mut cut = kept;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let mut got = text[..cut].to_string();
            let mut rest = text.as_bytes()[cut..kept].to_vec();
            rest.extend_from_slice(extra);
            push_lossy(&mut got, &rest);
            assert_eq!(got, want, "kept {kept}");
        }
    }
}
