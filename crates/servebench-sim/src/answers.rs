//! Scripted answers (`sim --answers FILE.jsonl`): what the server says to a non-streaming
//! request whose last user message (or prompt) contains a line's `match`, so that accuracy
//! evaluations can run end to end against a server whose answers are known.

use serde_json::Value;
use std::path::Path;

/// `{"match": "...", "response": "..."}` lines, tried in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    rules: Vec<(String, String)>,
}

impl Answers {
    /// Reads a JSONL file; a bad line is an error naming the file, the line and the field.
    pub fn load(path: &Path) -> Result<Answers, String> {
        let text =
            servebench_core::sys::read_limited_string(path, servebench_core::sys::limits::DATASET)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut rules = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = format!("{}:{}", path.display(), i + 1);
            let v: Value = serde_json::from_str(line).map_err(|e| format!("{at}: {e}"))?;
            let field = |k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| format!("{at}: field \"{k}\": expected a string"))
            };
            let m = field("match")?;
            if m.is_empty() {
                return Err(format!(
                    "{at}: field \"match\": expected a non-empty string"
                ));
            }
            rules.push((m, field("response")?));
        }
        Ok(Answers { rules })
    }

    /// The scripted response for a request body, if a rule matches its last user message
    /// (chat) or its prompt (completions).
    pub fn respond(&self, body: &[u8]) -> Option<&str> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let key = match v.get("messages").and_then(Value::as_array) {
            Some(msgs) => msgs
                .iter()
                .rev()
                .find(|m| m["role"] == "user")
                .map(|m| text_of(&m["content"]))?,
            None => text_of(v.get("prompt")?),
        };
        self.rules
            .iter()
            .find(|(m, _)| key.contains(m.as_str()))
            .map(|(_, r)| r.as_str())
    }
}

/// A message's text: a string, or the text parts of a content list.
fn text_of(c: &Value) -> String {
    match c {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str().or(p.as_str()))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_the_last_user_message_in_order() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl");
        std::fs::write(
            &p,
            "{\"match\": \"Natalia\", \"response\": \"#### 72\"}\n\n{\"match\": \"Question\", \"response\": \"no idea\"}\n",
        )
        .unwrap();
        let a = Answers::load(&p).unwrap();
        let chat = |last: &str| {
            format!(
                r#"{{"messages": [{{"role": "user", "content": "Question: Natalia (a shot)"}},
                   {{"role": "assistant", "content": "x"}}, {{"role": "user", "content": {}}}]}}"#,
                serde_json::to_string(last).unwrap()
            )
        };
        assert_eq!(
            a.respond(chat("Question: Natalia sold clips").as_bytes()),
            Some("#### 72")
        );
        assert_eq!(
            a.respond(chat("Question: Weng earns").as_bytes()),
            Some("no idea")
        );
        assert_eq!(
            a.respond(chat("What?").as_bytes()),
            None,
            "only the last user message"
        );
        assert_eq!(a.respond(br#"{"prompt": "Natalia"}"#), Some("#### 72"));
        std::fs::write(&p, "{\"match\": \"x\"}\n").unwrap();
        let e = Answers::load(&p).unwrap_err();
        assert!(
            e.ends_with("a.jsonl:1: field \"response\": expected a string"),
            "{e}"
        );
    }
}
