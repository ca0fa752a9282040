//! A flat id → bytes table for byte-level tokenizers, laid out so that decoding is a run of
//! `memcpy`s and almost no UTF-8 validation.
//!
//! Tokens whose bytes are valid UTF-8 on their own ("text tokens", the vast majority) live in a
//! `String` arena, the others (partial characters, lone bytes) in a byte arena, both in id
//! order. Lossy decoding is compositional over valid pieces: `lossy(A ++ V ++ B) ==
//! lossy(A) ++ V ++ lossy(B)` when `V` is valid UTF-8 (it starts and ends on character
//! boundaries, so no sequence spans it). So decoding copies text tokens verbatim and runs only
//! the bytes of consecutive non-text tokens through the lossy conversion; for a run of
//! consecutive ids the text tokens between two non-text ids are one contiguous slice.

/// Raw bytes of every token id of a byte-level tokenizer. Ids without a token have empty spans,
/// which [`ByteTable::get`] reports as `None` (no real token has zero bytes).
#[derive(Debug, Clone, Default)]
pub(crate) struct ByteTable {
    /// Text tokens, in id order.
    text: String,
    /// `text_off[id]..text_off[id + 1]` is the span of `id` in `text` (empty if not a text token).
    text_off: Vec<u32>,
    /// Non-text tokens' bytes, in id order.
    raw: Vec<u8>,
    raw_off: Vec<u32>,
    /// Sorted ids of the non-text tokens.
    raw_ids: Vec<u32>,
}

impl ByteTable {
    /// Builds the table for ids `0..n` from a function giving each id's bytes (or `None`).
    pub(crate) fn build(n: u32, mut bytes_of: impl FnMut(u32) -> Option<Vec<u8>>) -> ByteTable {
        let mut t = ByteTable {
            text: String::with_capacity(n as usize * 7),
            text_off: Vec::with_capacity(n as usize + 1),
            raw_off: Vec::with_capacity(n as usize + 1),
            ..ByteTable::default()
        };
        t.text_off.push(0);
        t.raw_off.push(0);
        for id in 0..n {
            if let Some(b) = bytes_of(id) {
                match String::from_utf8(b) {
                    Ok(s) => t.text.push_str(&s),
                    Err(e) => {
                        t.raw.extend_from_slice(e.as_bytes());
                        t.raw_ids.push(id);
                    }
                }
            }
            let off = |len: usize| u32::try_from(len).expect("token table over 4 GiB");
            t.text_off.push(off(t.text.len()));
            t.raw_off.push(off(t.raw.len()));
        }
        t.text.shrink_to_fit();
        t.raw.shrink_to_fit();
        t.raw_ids.shrink_to_fit();
        t
    }

    /// Number of ids the table covers (including ids without a token).
    #[inline]
    pub(crate) fn len(&self) -> u32 {
        (self.text_off.len() - 1) as u32
    }

    #[inline]
    fn text_span(&self, lo: usize, hi: usize) -> &str {
        &self.text[self.text_off[lo] as usize..self.text_off[hi] as usize]
    }

    #[inline]
    fn raw_span(&self, lo: usize, hi: usize) -> &[u8] {
        &self.raw[self.raw_off[lo] as usize..self.raw_off[hi] as usize]
    }

    #[inline]
    pub(crate) fn get(&self, id: u32) -> Option<&[u8]> {
        let i = id as usize;
        if i >= self.len() as usize {
            return None;
        }
        let t = self.text_span(i, i + 1);
        if !t.is_empty() {
            return Some(t.as_bytes());
        }
        let r = self.raw_span(i, i + 1);
        (!r.is_empty()).then_some(r)
    }

    /// Concatenates the bytes of `ids` into `out`, skipping ids without a token.
    #[inline]
    pub(crate) fn extend(&self, ids: &[u32], out: &mut Vec<u8>) {
        for &id in ids {
            if let Some(b) = self.get(id) {
                out.extend_from_slice(b);
            }
        }
    }

    /// Lossy UTF-8 text of `ids` appended to `w`.
    #[inline]
    pub(crate) fn decode_into(&self, ids: &[u32], w: &mut LossyWriter<'_>) {
        let n = self.len() as usize;
        for &id in ids {
            let i = id as usize;
            if i < n {
                w.text(self.text_span(i, i + 1));
                w.raw(self.raw_span(i, i + 1));
            }
        }
    }

    /// Visits the consecutive ids `lo..hi` (clamped to the table) as alternating stretches of
    /// text tokens (one slice each) and of non-text tokens (one byte slice each).
    #[inline]
    fn walk_range(
        &self,
        lo: u32,
        hi: u32,
        mut on_text: impl FnMut(&str),
        mut on_raw: impl FnMut(&[u8]),
    ) {
        let n = self.len();
        let (lo, hi) = (lo.min(n), hi.min(n));
        if lo >= hi {
            return;
        }
        let a = self.raw_ids.partition_point(|&id| id < lo);
        let b = self.raw_ids.partition_point(|&id| id < hi);
        let raw_ids = &self.raw_ids[a..b];
        let mut cur = lo as usize;
        let mut k = 0;
        while k < raw_ids.len() {
            let first = raw_ids[k] as usize;
            let mut end = first + 1;
            k += 1;
            while k < raw_ids.len() && raw_ids[k] as usize == end {
                end += 1;
                k += 1;
            }
            on_text(self.text_span(cur, first));
            on_raw(self.raw_span(first, end));
            cur = end;
        }
        on_text(self.text_span(cur, hi as usize));
    }

    /// Appends the raw bytes of the consecutive ids `lo..hi` (clamped to the table).
    pub(crate) fn extend_range(&self, lo: u32, hi: u32, out: &mut Vec<u8>) {
        let out = std::cell::RefCell::new(out);
        self.walk_range(
            lo,
            hi,
            |t| out.borrow_mut().extend_from_slice(t.as_bytes()),
            |r| out.borrow_mut().extend_from_slice(r),
        );
    }

    /// Appends the lossy text of the consecutive ids `lo..hi` (clamped to the table) to `w`.
    pub(crate) fn decode_range_into(&self, lo: u32, hi: u32, w: &mut LossyWriter<'_>) {
        let w = std::cell::RefCell::new(w);
        self.walk_range(
            lo,
            hi,
            |t| w.borrow_mut().text(t),
            |r| w.borrow_mut().raw(r),
        );
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.raw.capacity()
            + (self.text_off.capacity() + self.raw_off.capacity() + self.raw_ids.capacity()) * 4
    }
}

/// Appends lossily decoded UTF-8 to a `String`: valid pieces are copied as they are, raw bytes
/// are collected and converted (exactly as `String::from_utf8_lossy` does) when a valid piece
/// follows or at [`LossyWriter::finish`].
pub(crate) struct LossyWriter<'a> {
    out: &'a mut String,
    pending: Vec<u8>,
}

impl<'a> LossyWriter<'a> {
    pub(crate) fn new(out: &'a mut String) -> Self {
        LossyWriter {
            out,
            pending: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn text(&mut self, s: &str) {
        if !s.is_empty() {
            self.flush();
            self.out.push_str(s);
        }
    }

    #[inline]
    pub(crate) fn raw(&mut self, b: &[u8]) {
        self.pending.extend_from_slice(b);
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            push_lossy(self.out, &self.pending);
            self.pending.clear();
        }
    }

    pub(crate) fn finish(mut self) {
        self.flush();
    }
}

/// Appends `String::from_utf8_lossy(bytes)` to `out` (the same chunking: each maximal invalid
/// sequence becomes one U+FFFD) without an intermediate allocation.
pub fn push_lossy(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

/// GPT-2's byte-level alphabet, inverted: `CHAR_TO_BYTE[c]` is the byte that the character
/// `c` (all of them are below U+0144) stands for, or -1 if `c` is not in the alphabet.
pub(crate) fn gpt2_char_to_byte() -> [i16; 512] {
    let mut table = [-1i16; 512];
    let mut n = 0u32;
    for b in 0..=255u32 {
        let printable = (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || b >= 0xae;
        let c = if printable {
            b
        } else {
            n += 1;
            255 + n
        };
        table[c as usize] = b as i16;
    }
    table
}

/// Maps a byte-level token string back to bytes exactly as HF's `ByteLevel` decoder does: every
/// character through the alphabet, or, if any character is outside it (added tokens such as
/// `<|endoftext|>` written in plain text), the string's own UTF-8 bytes.
pub(crate) fn byte_level_token_bytes(token: &str, alphabet: &[i16; 512]) -> Vec<u8> {
    let mut out = Vec::with_capacity(token.len());
    for c in token.chars() {
        match alphabet.get(c as usize).copied() {
            Some(b) if b >= 0 => out.push(b as u8),
            _ => return token.as_bytes().to_vec(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_alphabet_is_a_bijection_on_bytes() {
        let t = gpt2_char_to_byte();
        let mut seen = [false; 256];
        for &b in t.iter() {
            if b >= 0 {
                assert!(!seen[b as usize]);
                seen[b as usize] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
        // 'Ġ' (U+0120) is the space, 'Ċ' (U+010A) the newline.
        assert_eq!(t['Ġ' as usize], b' ' as i16);
        assert_eq!(t['Ċ' as usize], b'\n' as i16);
        assert_eq!(t['a' as usize], b'a' as i16);
        assert_eq!(byte_level_token_bytes("Ġhello", &t), b" hello");
        assert_eq!(byte_level_token_bytes("<|end|>", &t), b"<|end|>");
        assert_eq!(byte_level_token_bytes("日本", &t), "日本".as_bytes());
    }

    fn lossy_decode(t: &ByteTable, ids: &[u32]) -> String {
        let mut s = String::new();
        let mut w = LossyWriter::new(&mut s);
        t.decode_into(ids, &mut w);
        w.finish();
        s
    }

    #[test]
    fn table_spans() {
        // 0 "ab", 1 missing, 2 "c", 3 lone lead byte, 4 continuation bytes, 5 "日", 6 lone 0xff
        let t = ByteTable::build(7, |id| match id {
            0 => Some(b"ab".to_vec()),
            2 => Some(b"c".to_vec()),
            3 => Some(vec![0xe6]),
            4 => Some(vec![0x97, 0xa5]),
            5 => Some("日".as_bytes().to_vec()),
            6 => Some(vec![0xff]),
            _ => None,
        });
        assert_eq!(t.len(), 7);
        assert_eq!(t.raw_ids, vec![3, 4, 6]);
        assert_eq!(t.get(0), Some(&b"ab"[..]));
        assert_eq!(t.get(1), None);
        assert_eq!(t.get(2), Some(&b"c"[..]));
        assert_eq!(t.get(3), Some(&[0xe6][..]));
        assert_eq!(t.get(9), None);
        let mut out = vec![];
        t.extend_range(0, 5, &mut out);
        assert_eq!(out, b"abc\xe6\x97\xa5");
        out.clear();
        t.extend_range(1, 99, &mut out);
        assert_eq!(out, b"c\xe6\x97\xa5\xe6\x97\xa5\xff");
        out.clear();
        t.extend_range(3, 1, &mut out);
        assert!(out.is_empty());
        t.extend(&[0, 1, 2, 7, 3], &mut out);
        assert_eq!(out, b"abc\xe6");

        // Lossy decoding equals from_utf8_lossy of the concatenated bytes for every sequence
        // of up to 4 ids out of 0..9 (7 and 8 are unknown), and for every range.
        let mut seqs: Vec<Vec<u32>> = vec![];
        for len in 0..=4u32 {
            for code in 0..9u32.pow(len) {
                seqs.push((0..len).map(|k| code / 9u32.pow(k) % 9).collect());
            }
        }
        for s in &seqs {
            let mut raw = vec![];
            t.extend(s, &mut raw);
            assert_eq!(lossy_decode(&t, s), String::from_utf8_lossy(&raw), "{s:?}");
        }
        for lo in 0..9 {
            for hi in 0..10 {
                let mut raw = vec![];
                t.extend_range(lo, hi, &mut raw);
                let mut by_id = vec![];
                t.extend(&(lo..hi.min(7)).collect::<Vec<_>>(), &mut by_id);
                assert_eq!(raw, by_id, "{lo}..{hi}");
                let mut s = String::from("x");
                let mut w = LossyWriter::new(&mut s);
                t.decode_range_into(lo, hi, &mut w);
                w.finish();
                assert_eq!(
                    s,
                    format!("x{}", String::from_utf8_lossy(&raw)),
                    "{lo}..{hi}"
                );
            }
        }
    }

    #[test]
    fn push_lossy_matches_std() {
        let cases: [&[u8]; 6] = [
            b"plain",
            b"\xe6\x97",
            b"a\xff\xfeb\xe6\x97\xa5c",
            "\u{fffd}日本".as_bytes(),
            b"\xf0\x9f\xa6",
            b"",
        ];
        for c in cases {
            let mut s = String::from("x");
            push_lossy(&mut s, c);
            assert_eq!(s, format!("x{}", String::from_utf8_lossy(c)));
        }
    }
}
