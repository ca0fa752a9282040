//! Interpreting one SSE `data:` payload of an OpenAI-compatible stream.
//!
//! This runs once per streamed chunk — a million times a second at the client's ceiling — so
//! instead of building a JSON tree it walks the bytes once, validating the full JSON syntax
//! while picking out only what the metrics need: how many choices, whether any carries output
//! (`text`, `delta.content`, `delta.reasoning_content`, `delta.reasoning`, `delta.tool_calls`),
//! `usage`, a top-level `error`, and `finish_reason`. Nothing is allocated; generated text is
//! unescaped into a caller buffer only when the caller wants to re-tokenize it.

/// The stream's `[DONE]` sentinel or a JSON chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    Done,
    Data(ChunkInfo),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkInfo {
    /// Choice objects in `choices` (0 for usage-only and error chunks).
    pub choices: u32,
    /// Raw (still escaped) bytes of output strings; > 0 means the chunk carries output tokens.
    pub output_bytes: u32,
    pub usage: Option<Usage>,
    /// A non-null top-level `error` member.
    pub error: bool,
    /// Some choice has a non-null `finish_reason`.
    pub finish: bool,
    /// llama.cpp's per-request `timings` (its last chunk): prompt processing and generation,
    /// microseconds.
    pub server_timings: Option<ServerTimings>,
}

/// What a server says it spent on a request (llama.cpp's `timings.prompt_ms` and
/// `timings.predicted_ms`), in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerTimings {
    pub prompt_us: Option<u64>,
    pub predicted_us: Option<u64>,
    /// Prompt tokens taken from the slot's cache (`timings.cache_n`).
    pub cached_tokens: Option<u64>,
}

impl ChunkInfo {
    #[inline]
    pub fn has_output(&self) -> bool {
        self.output_bytes > 0
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    /// Prompt tokens served from the prefix cache (`prompt_tokens_details.cached_tokens`, as
    /// OpenAI, vLLM and SGLang give it).
    pub cached_tokens: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkError {
    pub offset: usize,
    pub expected: &'static str,
}

impl std::fmt::Display for ChunkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid stream chunk at byte {}: expected {}",
            self.offset, self.expected
        )
    }
}

impl std::error::Error for ChunkError {}

/// Parse one event payload. With `text`, the unescaped output strings are appended to it.
pub fn parse(data: &[u8], text: Option<&mut Vec<u8>>) -> Result<Chunk, ChunkError> {
    let trimmed = data.trim_ascii();
    if trimmed == b"[DONE]" {
        return Ok(Chunk::Done);
    }
    let mut p = Walker {
        b: trimmed,
        i: 0,
        text,
    };
    let info = p.top()?;
    p.ws();
    if p.i != p.b.len() {
        return Err(p.err("end of chunk"));
    }
    Ok(Chunk::Data(info))
}

const MAX_DEPTH: u32 = 128;

struct Walker<'a, 't> {
    b: &'a [u8],
    i: usize,
    text: Option<&'t mut Vec<u8>>,
}

/// Which string values are output text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Capture {
    No,
    Output,
}

impl<'a, 't> Walker<'a, 't> {
    fn err(&self, expected: &'static str) -> ChunkError {
        ChunkError {
            offset: self.i,
            expected,
        }
    }

    #[inline]
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8, expected: &'static str) -> Result<(), ChunkError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(expected))
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), ChunkError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err("a JSON value"))
        }
    }

    /// `null` if next, consumed; true when it was null.
    fn null(&mut self) -> Result<bool, ChunkError> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Iterate an object's members: `member` is called with the raw key and must consume the value.
    fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Result<(), ChunkError>,
    ) -> Result<(), ChunkError> {
        self.eat(b'{', "'{'")?;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.err("an object key"));
            }
            let key = self.string(Capture::No)?.0;
            self.eat(b':', "':'")?;
            self.ws();
            member(self, key)?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("',' or '}'")),
            }
        }
    }

    fn array(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<(), ChunkError>,
    ) -> Result<u32, ChunkError> {
        self.eat(b'[', "'['")?;
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(0);
        }
        let mut n = 0;
        loop {
            self.ws();
            element(self)?;
            n += 1;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(n);
                }
                _ => return Err(self.err("',' or ']'")),
            }
        }
    }

    /// A string at the cursor: returns its raw (escaped) bytes and whether it had escapes.
    /// With `Capture::Output` and a text buffer, the unescaped value is appended to it.
    fn string(&mut self, capture: Capture) -> Result<(&'a [u8], bool), ChunkError> {
        if self.b.get(self.i) != Some(&b'"') {
            return Err(self.err("a string"));
        }
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            let Some(off) = memchr::memchr2(b'"', b'\\', &self.b[self.i..]) else {
                self.i = self.b.len();
                return Err(self.err("the end of a string"));
            };
            self.i += off;
            if self.b[self.i] == b'"' {
                break;
            }
            escaped = true;
            self.i += 1;
            match self.b.get(self.i) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                Some(b'u') => {
                    let hex = self.b.get(self.i + 1..self.i + 5);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        return Err(self.err("four hex digits after \\u"));
                    }
                    self.i += 5;
                }
                _ => return Err(self.err("a valid escape")),
            }
        }
        let raw = &self.b[start..self.i];
        self.i += 1;
        if capture == Capture::Output {
            if let Some(out) = self.text.as_deref_mut() {
                if escaped {
                    unescape_into(raw, out);
                } else {
                    out.extend_from_slice(raw);
                }
            }
        }
        Ok((raw, escaped))
    }

    /// An output string or null; returns the raw length.
    fn output_string(&mut self) -> Result<u32, ChunkError> {
        if self.null()? {
            return Ok(0);
        }
        Ok(self.string(Capture::Output)?.0.len() as u32)
    }

    fn number(&mut self) -> Result<&'a [u8], ChunkError> {
        let start = self.i;
        let b = self.b;
        let digits = |i: &mut usize| {
            let s = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i > s
        };
        if b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        if !digits(&mut self.i) {
            return Err(self.err("a number"));
        }
        if b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(&mut self.i) {
                return Err(self.err("digits after '.'"));
            }
        }
        if matches!(b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(&mut self.i) {
                return Err(self.err("exponent digits"));
            }
        }
        Ok(&b[start..self.i])
    }

    fn count(&mut self) -> Result<Option<u64>, ChunkError> {
        if self.null()? {
            return Ok(None);
        }
        let raw = self.number()?;
        // Token counts are non-negative integers; anything else is ignored rather than trusted.
        Ok(std::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.parse::<u64>().ok()))
    }

    fn skip(&mut self, depth: u32) -> Result<(), ChunkError> {
        if depth > MAX_DEPTH {
            return Err(self.err("less deeply nested JSON"));
        }
        match self.peek() {
            Some(b'{') => self.object(|w, _| w.skip(depth + 1)),
            Some(b'[') => self.array(|w| w.skip(depth + 1)).map(|_| ()),
            Some(b'"') => self.string(Capture::No).map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            _ => Err(self.err("a JSON value")),
        }
    }

    fn top(&mut self) -> Result<ChunkInfo, ChunkError> {
        let mut info = ChunkInfo::default();
        if self.peek() != Some(b'{') {
            return Err(self.err("a JSON object"));
        }
        self.object(|w, key| match key {
            b"choices" => {
                if !w.null()? {
                    info.choices = w.array(|w| w.choice(&mut info))?;
                }
                Ok(())
            }
            b"usage" => {
                if !w.null()? {
                    info.usage = Some(w.usage()?);
                }
                Ok(())
            }
            b"error" => {
                if !w.null()? {
                    info.error = true;
                    w.skip(1)?;
                }
                Ok(())
            }
            b"timings" => {
                if !w.null()? {
                    info.server_timings = Some(w.timings()?);
                }
                Ok(())
            }
            _ => w.skip(1),
        })?;
        Ok(info)
    }

    fn timings(&mut self) -> Result<ServerTimings, ChunkError> {
        let mut t = ServerTimings::default();
        if self.peek() != Some(b'{') {
            return Err(self.err("a timings object"));
        }
        self.object(|w, key| match key {
            b"prompt_ms" => {
                t.prompt_us = w.millis_as_us()?;
                Ok(())
            }
            b"predicted_ms" => {
                t.predicted_us = w.millis_as_us()?;
                Ok(())
            }
            b"cache_n" => {
                t.cached_tokens = w.count()?;
                Ok(())
            }
            _ => w.skip(2),
        })?;
        Ok(t)
    }

    /// A non-negative number of milliseconds, in whole microseconds.
    fn millis_as_us(&mut self) -> Result<Option<u64>, ChunkError> {
        if self.null()? {
            return Ok(None);
        }
        let raw = self.number()?;
        Ok(std::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| (v * 1e3).round() as u64))
    }

    fn choice(&mut self, info: &mut ChunkInfo) -> Result<(), ChunkError> {
        if self.peek() != Some(b'{') {
            return Err(self.err("a choice object"));
        }
        self.object(|w, key| match key {
            b"text" => {
                info.output_bytes += w.output_string()?;
                Ok(())
            }
            b"delta" => {
                if w.null()? {
                    return Ok(());
                }
                if w.peek() != Some(b'{') {
                    return Err(w.err("a delta object"));
                }
                w.object(|w, key| match key {
                    b"content" | b"reasoning_content" | b"reasoning" => {
                        info.output_bytes += w.output_string()?;
                        Ok(())
                    }
                    b"tool_calls" => {
                        if !w.null()? && w.array(|w| w.skip(3))? > 0 {
                            // Tool-call argument deltas are generated tokens too.
                            info.output_bytes += 1;
                        }
                        Ok(())
                    }
                    _ => w.skip(3),
                })
            }
            b"finish_reason" => {
                if !w.null()? {
                    info.finish = true;
                    w.skip(2)?;
                }
                Ok(())
            }
            _ => w.skip(2),
        })
    }

    fn usage(&mut self) -> Result<Usage, ChunkError> {
        let mut u = Usage::default();
        if self.peek() != Some(b'{') {
            return Err(self.err("a usage object"));
        }
        self.object(|w, key| match key {
            b"prompt_tokens" => {
                u.prompt_tokens = w.count()?;
                Ok(())
            }
            b"completion_tokens" => {
                u.completion_tokens = w.count()?;
                Ok(())
            }
            b"prompt_tokens_details" => {
                if !w.null()? {
                    if w.peek() != Some(b'{') {
                        return Err(w.err("a prompt_tokens_details object"));
                    }
                    w.object(|w, key| match key {
                        b"cached_tokens" => {
                            u.cached_tokens = w.count()?;
                            Ok(())
                        }
                        _ => w.skip(3),
                    })?;
                }
                Ok(())
            }
            _ => w.skip(2),
        })?;
        Ok(u)
    }
}

/// Unescape a JSON string body (already validated) into UTF-8 bytes.
fn unescape_into(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let Some(off) = memchr::memchr(b'\\', &raw[i..]) else {
            out.extend_from_slice(&raw[i..]);
            return;
        };
        out.extend_from_slice(&raw[i..i + off]);
        i += off + 1;
        let c = raw[i];
        i += 1;
        let simple = match c {
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'b' => Some(8),
            b'f' => Some(12),
            b'u' => None,
            other => Some(other), // " \ /
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let hex =
            |s: &[u8]| u32::from_str_radix(std::str::from_utf8(s).unwrap_or("0"), 16).unwrap_or(0);
        let mut cp = hex(&raw[i..i + 4]);
        i += 4;
        if (0xD800..0xDC00).contains(&cp) && raw.get(i..i + 2) == Some(b"\\u") && i + 6 <= raw.len()
        {
            let lo = hex(&raw[i + 2..i + 6]);
            if (0xDC00..0xE000).contains(&lo) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
        }
        let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(s: &str) -> ChunkInfo {
        match parse(s.as_bytes(), None).unwrap() {
            Chunk::Data(i) => i,
            Chunk::Done => panic!("done"),
        }
    }

    #[test]
    fn done_sentinel() {
        assert_eq!(parse(b"[DONE]", None), Ok(Chunk::Done));
        assert_eq!(parse(b" [DONE] \r", None), Ok(Chunk::Done));
    }

    #[test]
    fn completions_chunk() {
        let i = info(
            r#"{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":" the","logprobs":null,"finish_reason":null}]}"#,
        );
        assert_eq!(i.choices, 1);
        assert_eq!(i.output_bytes, 4);
        assert!(!i.finish && !i.error && i.usage.is_none());
    }

    #[test]
    fn role_only_first_chat_chunk_has_no_output() {
        let i = info(
            r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
        );
        assert_eq!(i.choices, 1);
        assert!(!i.has_output());
        let i = info(r#"{"choices":[{"index":0,"delta":{"role":"assistant"}}]}"#);
        assert!(!i.has_output());
    }

    #[test]
    fn llama_cpp_timings() {
        let i = info(
            r#"{"choices":[],"usage":{"completion_tokens":12,"prompt_tokens":36},"timings":{"cache_n":7,"prompt_n":29,"prompt_ms":12.5,"prompt_per_token_ms":0.3,"predicted_n":12,"predicted_ms":250.0004,"predicted_per_second":42.8}}"#,
        );
        assert_eq!(
            i.server_timings,
            Some(ServerTimings {
                prompt_us: Some(12_500),
                predicted_us: Some(250_000),
                cached_tokens: Some(7),
            })
        );
        assert_eq!(info(r#"{"choices":[]}"#).server_timings, None);
    }

    #[test]
    fn usage_only_last_chunk() {
        let i = info(
            r#"{"id":"c","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46,"prompt_tokens_details":null}}"#,
        );
        assert_eq!(i.choices, 0);
        assert_eq!(
            i.usage,
            Some(Usage {
                prompt_tokens: Some(12),
                completion_tokens: Some(34),
                cached_tokens: None,
            })
        );
        let vllm = info(
            r#"{"choices":[],"usage":{"prompt_tokens":300,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":256,"audio_tokens":null}}}"#,
        );
        assert_eq!(vllm.usage.unwrap().cached_tokens, Some(256));
        assert!(info(r#"{"choices":[{"text":"a"}],"usage":null}"#)
            .usage
            .is_none());
    }

    #[test]
    fn reasoning_content_counts_as_output() {
        let i = info(r#"{"choices":[{"delta":{"reasoning_content":"hmm","content":null}}]}"#);
        assert!(i.has_output());
        let i = info(r#"{"choices":[{"delta":{"reasoning":"x"}}]}"#);
        assert!(i.has_output());
        let i = info(
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a"}}]}}]}"#,
        );
        assert!(i.has_output());
    }

    #[test]
    fn finish_and_error() {
        assert!(info(r#"{"choices":[{"text":"","finish_reason":"length"}]}"#).finish);
        let e = info(r#"{"error":{"message":"boom","type":"server_error","code":500}}"#);
        assert!(e.error);
        assert!(!info(r#"{"error":null,"choices":[]}"#).error);
    }

    #[test]
    fn multi_token_chunk_and_text_capture() {
        let mut t = Vec::new();
        let c = parse(
            br#"{"choices":[{"text":" a\"b\\c\n\u00e9\ud83d\ude00 d"}]}"#,
            Some(&mut t),
        )
        .unwrap();
        assert!(matches!(c, Chunk::Data(i) if i.has_output()));
        assert_eq!(String::from_utf8(t).unwrap(), " a\"b\\c\né😀 d");
    }

    #[test]
    fn malformed_chunks_are_errors() {
        for bad in [
            r#"{"choices":[{"text":"abc"#,
            r#"{"choices":[{"text":"abc"}]"#,
            r#"{"choices":[{"text":"abc"}]}}"#,
            r#"{"choices":[{"text":"a\qb"}]}"#,
            r#"{"choices":[{"text":tru}]}"#,
            r#"{"choices":[01x]}"#,
            r#"{choices:[]}"#,
            r#"[1,2]"#,
            "",
            r#"{"a":1,}"#,
            r#"{"a":-}"#,
            r#"{"a":1.}"#,
        ] {
            assert!(parse(bad.as_bytes(), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn agrees_with_serde_json_on_validity() {
        // Mutations of a valid chunk: our walker and serde_json must agree on validity.
        let base = br#"{"id":"x","choices":[{"index":0,"delta":{"content":"h\u00e9llo"},"finish_reason":null}],"usage":{"prompt_tokens":3,"completion_tokens":1},"n":[1.5e3,-2,true,false,null,{}]}"#;
        let mut checked = 0;
        for i in 0..base.len() {
            for repl in [b'"', b'}', b']', b',', b':', b'x', b' ', b'\\', b'1'] {
                let mut m = base.to_vec();
                m[i] = repl;
                let ours = parse(&m, None).is_ok();
                let theirs = serde_json::from_slice::<serde_json::Value>(&m)
                    .map(|v| v.is_object())
                    .unwrap_or(false);
                // We only accept objects; serde accepts objects whose members have any shape we
                // may reject as not chunk-like (e.g. a non-object choice). Accepting must imply valid.
                if ours {
                    assert!(
                        theirs,
                        "we accepted invalid JSON: {}",
                        String::from_utf8_lossy(&m)
                    );
                }
                checked += 1;
            }
            // Deletion of one byte.
            let mut m = base.to_vec();
            m.remove(i);
            if parse(&m, None).is_ok() {
                assert!(serde_json::from_slice::<serde_json::Value>(&m).is_ok());
            }
        }
        assert!(checked > 1000);
    }
}
