//! A report is a table; one exporter per output format renders it.

use serde_json::{json, Map, Value};

/// A cell: text, or a number shown with its column's decimals (`-` when absent).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Num(Option<f64>),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Cell {
        Cell::Num(v.filter(|x| x.is_finite()))
    }
}
impl From<f64> for Cell {
    fn from(v: f64) -> Cell {
        Some(v).into()
    }
}
impl From<u32> for Cell {
    fn from(v: u32) -> Cell {
        Cell::Num(Some(v as f64))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Machine name (CSV header, JSON key).
    pub key: String,
    /// Heading in text tables.
    pub heading: String,
    /// Decimals shown in text and CSV (JSON keeps full precision).
    pub decimals: usize,
}

pub fn col(key: &str, heading: &str, decimals: usize) -> Column {
    Column {
        key: key.into(),
        heading: heading.into(),
        decimals,
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub title: String,
    /// Lines under the title: sources of prices, what was skipped, ...
    pub notes: Vec<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// The cells of column `key`.
    pub fn column(&self, key: &str) -> Vec<&Cell> {
        match self.columns.iter().position(|c| c.key == key) {
            Some(i) => self.rows.iter().map(|r| &r[i]).collect(),
            None => Vec::new(),
        }
    }
}

/// How a table is written out.
pub trait Exporter {
    fn render(&self, t: &Table) -> String;
}

fn cell_text(c: &Cell, decimals: usize) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Num(Some(v)) => format!("{v:.decimals$}"),
        Cell::Num(None) => "-".into(),
    }
}

/// Aligned columns for a terminal: text left, numbers right.
pub struct Text;

impl Exporter for Text {
    fn render(&self, t: &Table) -> String {
        let cells: Vec<Vec<String>> = t
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&t.columns)
                    .map(|(c, col)| cell_text(c, col.decimals))
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cells
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([c.heading.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let numeric: Vec<bool> = (0..t.columns.len())
            .map(|i| t.rows.iter().all(|r| matches!(r[i], Cell::Num(_))) && !t.rows.is_empty())
            .collect();
        let line = |vals: Vec<&str>| {
            let mut s = String::new();
            for (i, v) in vals.iter().enumerate() {
                if i > 0 {
                    s.push_str("  ");
                }
                let pad = widths[i].saturating_sub(v.chars().count());
                if numeric[i] {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(v);
                } else {
                    s.push_str(v);
                    if i + 1 < vals.len() {
                        s.push_str(&" ".repeat(pad));
                    }
                }
            }
            s.trim_end().to_string() + "\n"
        };
        let mut out = format!("{}\n", t.title);
        for n in &t.notes {
            out.push_str(&format!("  {n}\n"));
        }
        if t.rows.is_empty() {
            out.push_str("(no rows)\n");
            return out;
        }
        out.push_str(&line(
            t.columns.iter().map(|c| c.heading.as_str()).collect(),
        ));
        for r in &cells {
            out.push_str(&line(r.iter().map(String::as_str).collect()));
        }
        out
    }
}

/// RFC 4180 CSV with a header of column keys.
pub struct Csv;

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Exporter for Csv {
    fn render(&self, t: &Table) -> String {
        let mut out = t
            .columns
            .iter()
            .map(|c| csv_field(&c.key))
            .collect::<Vec<_>>()
            .join(",")
            + "\n";
        for r in &t.rows {
            let line: Vec<String> = r
                .iter()
                .zip(&t.columns)
                .map(|(c, col)| match c {
                    Cell::Num(None) => String::new(),
                    c => csv_field(&cell_text(c, col.decimals)),
                })
                .collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    }
}

/// `{"title", "notes", "rows": [{key: value}]}` with numbers at full precision.
pub struct Json;

impl Exporter for Json {
    fn render(&self, t: &Table) -> String {
        let rows: Vec<Value> = t
            .rows
            .iter()
            .map(|r| {
                let mut m = Map::new();
                for (c, col) in r.iter().zip(&t.columns) {
                    m.insert(
                        col.key.clone(),
                        match c {
                            Cell::Text(s) => json!(s),
                            Cell::Num(v) => json!(v),
                        },
                    );
                }
                Value::Object(m)
            })
            .collect();
        let v = json!({"title": t.title, "notes": t.notes, "rows": rows});
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    }
}

/// A GitHub-flavoured Markdown table under a `###` title (a run page's summary): numbers
/// right-aligned; `|`, `\\`, markup and line breaks in cells escaped, so a cell stays one cell
/// and shows as written.
pub struct Markdown;

/// Outside text shown as written in Markdown: markup escaped, line breaks as spaces.
pub fn markdown_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' | '|' | '*' | '_' | '`' | '<' | '>' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl Exporter for Markdown {
    fn render(&self, t: &Table) -> String {
        let mut out = format!("### {}\n\n", markdown_text(&t.title));
        for n in &t.notes {
            out.push_str(&format!("- {}\n", markdown_text(n)));
        }
        if !t.notes.is_empty() {
            out.push('\n');
        }
        if t.rows.is_empty() {
            out.push_str("(no rows)\n");
            return out;
        }
        let numeric = |i: usize| t.rows.iter().all(|r| matches!(r[i], Cell::Num(_)));
        let head: Vec<String> = t
            .columns
            .iter()
            .map(|c| markdown_text(&c.heading))
            .collect();
        let rule: Vec<&str> = (0..t.columns.len())
            .map(|i| if numeric(i) { "---:" } else { "---" })
            .collect();
        out.push_str(&format!("| {} |\n|{}|\n", head.join(" | "), rule.join("|")));
        for r in &t.rows {
            let cells: Vec<String> = r
                .iter()
                .zip(&t.columns)
                .map(|(c, col)| markdown_text(&cell_text(c, col.decimals)))
                .collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    }
}

/// The exporter for `text`, `csv`, `json` or `markdown`.
pub fn exporter(format: &str) -> Option<Box<dyn Exporter>> {
    match format {
        "text" => Some(Box::new(Text)),
        "csv" => Some(Box::new(Csv)),
        "json" => Some(Box::new(Json)),
        "markdown" => Some(Box::new(Markdown)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            title: "T".into(),
            notes: vec!["prices: x".into()],
            columns: vec![col("config", "config", 0), col("tput", "tok/s/GPU", 1)],
            rows: vec![
                vec!["a, \"b\"".into(), 1234.56.into()],
                vec!["c".into(), None.into()],
            ],
        }
    }

    #[test]
    fn each_format() {
        let t = table();
        assert_eq!(
            Text.render(&t),
            "T\n  prices: x\nconfig  tok/s/GPU\na, \"b\"     1234.6\nc               -\n"
        );
        assert_eq!(Csv.render(&t), "config,tput\n\"a, \"\"b\"\"\",1234.6\nc,\n");
        let j: Value = serde_json::from_str(&Json.render(&t)).unwrap();
        assert_eq!(j["rows"][0]["tput"], 1234.56);
        assert_eq!(j["rows"][1]["tput"], Value::Null);
        assert_eq!(j["notes"][0], "prices: x");
        assert_eq!(
            Markdown.render(&t),
            "### T\n\n- prices: x\n\n| config | tok/s/GPU |\n|---|---:|\n| a, \"b\" | 1234.6 |\n| c | - |\n"
        );
        let hostile = Table {
            title: "x|y".into(),
            columns: vec![col("w", "why", 0)],
            rows: vec![vec!["a|b\n<script>*c*".into()]],
            ..Table::default()
        };
        assert_eq!(
            Markdown.render(&hostile),
            "### x\\|y\n\n| why |\n|---|\n| a\\|b \\<script\\>\\*c\\* |\n"
        );
        assert!(exporter("xml").is_none());
    }
}
