//! Where a key path stands in a block-style YAML file, for errors found after parsing.
//!
//! serde reports positions only for what it cannot parse; a rule broken by well-formed values
//! (a `conc-start` above its `conc-end`) is found later, on typed data. This index maps every
//! key and sequence item of the file's block structure to its line and column, with paths
//! written as serde_path_to_error writes them (`key.list[2].field`), including the keys of
//! one-line flow maps (`{tp: 8, conc-list: [1]}`); a path into anything else (flow lists,
//! multi-line flow maps) resolves to the key that holds it.

use std::collections::HashMap;

/// Line and column (1-based) of every key path of a file.
#[derive(Debug, Default)]
pub struct Locations {
    at: HashMap<String, (usize, usize)>,
}

#[derive(Clone)]
struct Frame {
    indent: usize,
    item: bool,
    path: String,
}

impl Locations {
    pub fn index(text: &str) -> Locations {
        let mut at = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut next_index: HashMap<String, usize> = HashMap::new();
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            let body = raw.trim_start_matches(' ');
            if body.is_empty() || body.starts_with('#') || body.starts_with("---") {
                continue;
            }
            let mut indent = raw.len() - body.len();
            let mut rest = body;
            // Sequence items: "- " possibly followed by a key on the same line.
            while let Some(after) =
                rest.strip_prefix("- ")
                    .or(if rest == "-" { Some("") } else { None })
            {
                while stack
                    .last()
                    .is_some_and(|f| f.indent > indent || (f.indent == indent && f.item))
                {
                    stack.pop();
                }
                let parent = stack.last().map_or(String::new(), |f| f.path.clone());
                let i = next_index.entry(parent.clone()).or_insert(0);
                let path = format!("{parent}[{i}]");
                *i += 1;
                at.entry(path.clone()).or_insert((line, indent + 1));
                stack.push(Frame {
                    indent,
                    item: true,
                    path,
                });
                let skipped = rest.len() - after.trim_start_matches(' ').len();
                indent += skipped;
                rest = after.trim_start_matches(' ');
                if rest.starts_with('{') {
                    let path = stack.last().expect("just pushed").path.clone();
                    flow_keys(&mut at, &path, rest, line, indent);
                }
            }
            let Some(key) = mapping_key(rest) else {
                continue;
            };
            while stack
                .last()
                .is_some_and(|f| f.indent > indent || (f.indent == indent && !f.item))
            {
                stack.pop();
            }
            let parent = stack.last().map_or(String::new(), |f| f.path.clone());
            let path = if parent.is_empty() {
                key.to_string()
            } else {
                format!("{parent}.{key}")
            };
            at.entry(path.clone()).or_insert((line, indent + 1));
            next_index.remove(&path);
            // After the key (and its quotes, if quoted): the value.
            let key_end = key.len() + 2 * usize::from(rest.starts_with(['"', '\'']));
            let value = rest
                .get(key_end..)
                .unwrap_or("")
                .trim_start_matches([':', ' ']);
            if value.starts_with('{') {
                let col = indent + (rest.len() - value.len());
                flow_keys(&mut at, &path, value, line, col);
            }
            stack.push(Frame {
                indent,
                item: false,
                path,
            });
        }
        Locations { at }
    }

    /// The position of `path` itself, if the file has that key.
    pub fn find_exact(&self, path: &str) -> Option<(usize, usize)> {
        self.at.get(path).copied()
    }

    /// The position of `path`, or of its longest prefix the file has.
    pub fn find(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(&pos) = self.at.get(p) {
                return Some(pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

/// Records the keys of a one-line flow map `{a: 1, b: {c: 2}}` that starts at 0-based column
/// `col`, under `path`.
fn flow_keys(
    at: &mut HashMap<String, (usize, usize)>,
    path: &str,
    text: &str,
    line: usize,
    col: usize,
) {
    let mut stack: Vec<String> = vec![path.to_string()];
    let mut key_start: Option<usize> = None;
    let mut last_key = String::new();
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '{' => {
                if stack.len() > 1 || i > 0 {
                    let parent = stack.last().cloned().unwrap_or_default();
                    stack.push(format!("{parent}.{last_key}"));
                }
                key_start = Some(i + 1);
            }
            '}' => {
                if stack.len() > 1 {
                    stack.pop();
                }
                key_start = None;
            }
            '[' | ']' => key_start = None,
            ',' => key_start = Some(i + 1),
            ':' => {
                if let Some(st) = key_start.take() {
                    let raw = &text[st..i];
                    let k = raw.trim().trim_matches(['"', '\'']);
                    let lead = raw.len() - raw.trim_start().len();
                    let parent = stack.last().cloned().unwrap_or_default();
                    at.entry(format!("{parent}.{k}"))
                        .or_insert((line, col + st + lead + 1));
                    last_key = k.to_string();
                }
            }
            _ => {}
        }
    }
}

/// `key` of a `key: value` or `key:` line (plain or quoted keys), if it is one.
fn mapping_key(s: &str) -> Option<&str> {
    if s.starts_with(['{', '[', '#']) {
        return None;
    }
    if let Some(q) = s.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let end = s[1..].find(q)? + 1;
        let after = &s[end + 1..];
        return (after.starts_with(':')).then(|| &s[1..end]);
    }
    let colon = s
        .find(": ")
        .or_else(|| s.strip_suffix(':').map(|k| k.len()))?;
    let key = &s[..colon];
    (!key.contains(" #")).then_some(key.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_items_of_block_yaml() {
        let text = "\
a-b:
  image: x
  router: { name: r, version: \"1\" }
  scenarios:
    fixed-seq-len:
    - isl: 1024
      osl: 1024
      search-space:
      - { tp: 2, conc-list: [1] }
      - tp: 4
        conc-start: 64
        prefill:
          num-worker: 1
    - isl: 8192
# comment
\"quoted\":
  - - nested
";
        let l = Locations::index(text);
        assert_eq!(l.find("a-b"), Some((1, 1)));
        // Found by fuzzing: a quoted key with a multi-byte character.
        let q = Locations::index("\"é\": {x: 1}\n");
        assert_eq!(q.find("é"), Some((1, 1)));
        assert_eq!(l.find("a-b.image"), Some((2, 3)));
        assert_eq!(
            l.find("a-b.router.version"),
            Some((3, 22)),
            "keys of flow maps"
        );
        assert_eq!(l.find("a-b.router.name.x"), Some((3, 13)));
        assert_eq!(l.find("a-b.scenarios.fixed-seq-len[0]"), Some((6, 5)));
        assert_eq!(l.find("a-b.scenarios.fixed-seq-len[0].osl"), Some((7, 7)));
        assert_eq!(
            l.find("a-b.scenarios.fixed-seq-len[0].search-space[0].tp"),
            Some((9, 11))
        );
        assert_eq!(
            l.find("a-b.scenarios.fixed-seq-len[0].search-space[0].conc-list"),
            Some((9, 18))
        );
        assert_eq!(
            l.find("a-b.scenarios.fixed-seq-len[0].search-space[1].conc-start"),
            Some((11, 9))
        );
        assert_eq!(
            l.find("a-b.scenarios.fixed-seq-len[0].search-space[1].prefill.num-worker"),
            Some((13, 11))
        );
        assert_eq!(l.find("a-b.scenarios.fixed-seq-len[1].isl"), Some((14, 7)));
        assert_eq!(l.find("quoted[0][0]"), Some((17, 5)));
        assert_eq!(l.find("nowhere"), None);
    }
}
