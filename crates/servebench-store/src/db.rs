//! One small SQL surface over SQLite and PostgreSQL, so the store's schema, migrations and
//! queries are written once.
//!
//! - SQL is written with PostgreSQL's `$1` placeholders; for SQLite they become `?1`.
//! - Values cross as [`Value`] (null, 64-bit integer, double, text): every integer column is
//!   `BIGINT` and every real one double precision in both, so answers are bit-identical.
//! - DDL uses `{id}`, `{real}` and `{text}` for the few types the dialects spell differently
//!   (PostgreSQL text sorts bytewise, `COLLATE "C"`, as SQLite's does).

use std::collections::HashMap;

/// A value going into or coming out of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    pub fn text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Real(r) => r.to_string(),
            Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
            Value::Null => String::new(),
        }
    }
    /// [`Value::opt_text`], taking a text's string rather than copying it.
    pub fn into_opt_text(self) -> Option<String> {
        match self {
            Value::Text(t) => Some(t),
            v => v.opt_text(),
        }
    }
    pub fn opt_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            v => Some(v.text()),
        }
    }
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            Value::Real(r) => *r as i64,
            _ => 0,
        }
    }
    pub fn opt_int(&self) -> Option<i64> {
        match self {
            Value::Null => None,
            v => Some(v.int()),
        }
    }
    pub fn opt_real(&self) -> Option<f64> {
        match self {
            Value::Real(r) => Some(*r),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::Text(s.clone())
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<u32> for Value {
    fn from(i: u32) -> Value {
        Value::Int(i as i64)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Int(b as i64)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}
impl From<f64> for Value {
    fn from(r: f64) -> Value {
        Value::Real(r)
    }
}
impl From<u64> for Value {
    fn from(i: u64) -> Value {
        Value::Int(i as i64)
    }
}

pub type Row = Vec<Value>;

/// An error with its causes (PostgreSQL's own message sits under a generic "db error").
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !out.contains(&s) {
            out = format!("{out}: {s}");
        }
        cause = c.source();
    }
    out
}
pub type DbError = Box<dyn std::error::Error + Send + Sync>;

/// The dialect of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

pub enum Db {
    Sqlite(rusqlite::Connection),
    Postgres {
        client: Box<postgres::Client>,
        statements: HashMap<String, postgres::Statement>,
    },
}

/// `$1` → `?1` outside string literals.
fn sqlite_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut in_str = false;
    for c in sql.chars() {
        match c {
            '\'' => in_str = !in_str,
            '$' if !in_str => {
                out.push('?');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// SQL in `dialect` (`{blob}`: bytes; `{json_image}`, `{json_simulated}`, `{json_fingerprint}`: a point's
/// image, its simulator's expected error (JSON text) and its recipe fingerprint, from its
/// provenance JSON; `{json_recipe_key}`: the master-config key a sweep point's result names).
pub fn ddl(sql: &str, dialect: Dialect) -> String {
    let (id, real, text, blob, json_image, json_simulated, json_fingerprint, json_recipe_key) =
        match dialect {
            Dialect::Sqlite => (
                "INTEGER PRIMARY KEY",
                "REAL",
                "TEXT",
                "BLOB",
                "json_extract(provenance, '$.image')",
                "json_extract(provenance, '$.simulator.expected_error')",
                "json_extract(provenance, '$.recipe_fingerprint')",
                "json_extract(result, '$.config_key')",
            ),
            Dialect::Postgres => (
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                "DOUBLE PRECISION",
                "TEXT COLLATE \"C\"",
                "BYTEA",
                "(provenance::json ->> 'image')",
                "(provenance::json -> 'simulator' ->> 'expected_error')",
                "(provenance::json ->> 'recipe_fingerprint')",
                "(result::json ->> 'config_key')",
            ),
        };
    sql.replace("{id}", id)
        .replace("{real}", real)
        .replace("{text}", text)
        .replace("{blob}", blob)
        .replace("{json_image}", json_image)
        .replace("{json_simulated}", json_simulated)
        .replace("{json_fingerprint}", json_fingerprint)
        .replace("{json_recipe_key}", json_recipe_key)
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, DbError> {
        use postgres::types::{IsNull, Type};
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::FLOAT8 => (*i as f64).to_sql(ty, out),
            Value::Int(i) => i.to_sql(ty, out),
            Value::Real(r) => r.to_sql(ty, out),
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }
    fn accepts(ty: &postgres::types::Type) -> bool {
        use postgres::types::Type;
        [
            Type::INT8,
            Type::INT4,
            Type::FLOAT8,
            Type::TEXT,
            Type::VARCHAR,
            Type::BYTEA,
        ]
        .contains(ty)
    }
    postgres::types::to_sql_checked!();
}

fn pg_value(row: &postgres::Row, i: usize) -> Result<Value, DbError> {
    use postgres::types::Type;
    let ty = row.columns()[i].type_().clone();
    Ok(if ty == Type::VOID {
        Value::Null
    } else if ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?
            .map_or(Value::Null, Value::Int)
    } else if ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?
            .map_or(Value::Null, |v| Value::Int(v as i64))
    } else if ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(i)?
            .map_or(Value::Null, Value::Real)
    } else if ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Value::Null, Value::Blob)
    } else if ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)?
            .map_or(Value::Null, |b| Value::Int(b as i64))
    } else {
        row.try_get::<_, Option<String>>(i)?
            .map_or(Value::Null, Value::Text)
    })
}

/// One row of a query as its driver holds it ([`Db::query_refs`]).
pub enum RowRef<'a> {
    Sqlite(&'a rusqlite::Row<'a>, usize),
    Postgres(&'a postgres::Row),
}

impl RowRef<'_> {
    /// Its number of columns.
    pub fn len(&self) -> usize {
        match self {
            RowRef::Sqlite(_, n) => *n,
            RowRef::Postgres(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Column `i` as a [`Value`].
    pub fn value(&self, i: usize) -> Result<Value, DbError> {
        use rusqlite::types::ValueRef;
        Ok(match self {
            RowRef::Sqlite(r, _) => match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Int(i),
                ValueRef::Real(x) => Value::Real(x),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            },
            RowRef::Postgres(r) => pg_value(r, i)?,
        })
    }

    /// Column `i` as an integer (as [`Value::int`]: 0 for null or text).
    pub fn int(&self, i: usize) -> Result<i64, DbError> {
        Ok(self.opt_int(i)?.unwrap_or(0))
    }

    /// Column `i` as an integer, `None` for null (as [`Value::opt_int`]).
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, DbError> {
        use rusqlite::types::ValueRef;
        Ok(match self {
            RowRef::Sqlite(r, _) => match r.get_ref(i)? {
                ValueRef::Integer(v) => Some(v),
                ValueRef::Real(x) => Some(x as i64),
                ValueRef::Null => None,
                _ => Some(0),
            },
            RowRef::Postgres(..) => self.value(i)?.opt_int(),
        })
    }

    /// Column `i` as a number, `None` for null or text (as [`Value::opt_real`]).
    pub fn opt_real(&self, i: usize) -> Result<Option<f64>, DbError> {
        use rusqlite::types::ValueRef;
        Ok(match self {
            RowRef::Sqlite(r, _) => match r.get_ref(i)? {
                ValueRef::Real(x) => Some(x),
                ValueRef::Integer(v) => Some(v as f64),
                _ => None,
            },
            RowRef::Postgres(..) => self.value(i)?.opt_real(),
        })
    }

    /// Column `i`'s bytes (a blob's), borrowed; `None` for null or any other type.
    pub fn opt_bytes(&self, i: usize) -> Result<Option<&[u8]>, DbError> {
        use rusqlite::types::ValueRef;
        Ok(match self {
            RowRef::Sqlite(r, _) => match r.get_ref(i)? {
                ValueRef::Blob(b) => Some(b),
                _ => None,
            },
            RowRef::Postgres(r) => r.try_get::<_, Option<&[u8]>>(i)?,
        })
    }

    /// Column `i`'s text, borrowed; `None` for null (a number is `None` too: callers of
    /// this read text columns).
    pub fn opt_str(&self, i: usize) -> Result<Option<std::borrow::Cow<'_, str>>, DbError> {
        use rusqlite::types::ValueRef;
        Ok(match self {
            RowRef::Sqlite(r, _) => match r.get_ref(i)? {
                ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t)),
                _ => None,
            },
            RowRef::Postgres(r) => r
                .try_get::<_, Option<&str>>(i)?
                .map(std::borrow::Cow::Borrowed),
        })
    }
}

impl Db {
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// Statements without parameters or results (DDL, BEGIN, COMMIT).
    pub fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Db::Sqlite(c) => c.execute_batch(sql)?,
            Db::Postgres { client, .. } => client.batch_execute(sql)?,
        }
        Ok(())
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match self {
            Db::Sqlite(c) => {
                let mut st = c.prepare_cached(&sqlite_sql(sql))?;
                Ok(st.execute(rusqlite::params_from_iter(params.iter()))? as u64)
            }
            Db::Postgres { client, statements } => {
                let st = pg_statement(client, statements, sql)?;
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|v| v as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                Ok(client.execute(&st, &refs)?)
            }
        }
    }

    /// Runs one query; its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut out = Vec::new();
        self.query_each(sql, params, |row| out.push(std::mem::take(row)))?;
        Ok(out)
    }

    /// Runs one query and hands each row to `f` as it comes (one buffer for every row, so a
    /// reader that keeps what it needs of each allocates nothing per row for the rest; `f`
    /// may take the row's values).
    pub fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&mut Row),
    ) -> Result<(), DbError> {
        let mut row = Vec::new();
        self.query_refs(sql, params, |r| {
            row.clear();
            for i in 0..r.len() {
                row.push(r.value(i)?);
            }
            f(&mut row);
            Ok(())
        })
    }

    /// Runs one query and lends each row to `f` as the driver holds it: a reader of many
    /// rows takes numbers and borrows texts without a [`Value`] per column.
    pub fn query_refs(
        &mut self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&RowRef) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        match self {
            Db::Sqlite(c) => {
                let mut st = c.prepare_cached(&sqlite_sql(sql))?;
                let n = st.column_count();
                let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
                while let Some(r) = rows.next()? {
                    f(&RowRef::Sqlite(r, n))?;
                }
                Ok(())
            }
            Db::Postgres { client, statements } => {
                let st = pg_statement(client, statements, sql)?;
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|v| v as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                for r in client.query(&st, &refs)? {
                    f(&RowRef::Postgres(&r))?;
                }
                Ok(())
            }
        }
    }

    /// The first row of a query, if any.
    pub fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The id of the row of `table` whose unique key (the first of `columns`) is `values[0]`,
    /// inserting the row if there is none; concurrent writers of the same row get the same id.
    pub fn insert_or_get_id(
        &mut self,
        table: &str,
        columns: &[&str],
        values: &[Value],
    ) -> Result<i64, DbError> {
        let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
        self.execute(
            &format!(
                "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING",
                columns.join(", "),
                placeholders.join(", "),
                columns[0]
            ),
            values,
        )?;
        let row = self.query_one(
            &format!("SELECT id FROM {table} WHERE {} = $1", columns[0]),
            &values[..1],
        )?;
        Ok(row.ok_or_else(|| format!("the {table} row just stored is missing"))?[0].int())
    }

    /// Runs `f` in one transaction that takes the write lock up front (SQLite: IMMEDIATE) and
    /// rolls back on error.
    pub fn transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Db) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.batch(match self.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        })?;
        match f(self) {
            Ok(v) => {
                self.batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

fn pg_statement(
    client: &mut postgres::Client,
    cache: &mut HashMap<String, postgres::Statement>,
    sql: &str,
) -> Result<postgres::Statement, DbError> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let s = client.prepare(sql)?;
    cache.insert(sql.to_string(), s.clone());
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_strings_only() {
        assert_eq!(
            sqlite_sql("SELECT '$1', a FROM t WHERE b = $2 AND ($3 IS NULL OR c = $3)"),
            "SELECT '$1', a FROM t WHERE b = ?2 AND (?3 IS NULL OR c = ?3)"
        );
    }

    #[test]
    fn ddl_types_per_dialect() {
        let t = "CREATE TABLE t (id {id}, x {real}, s {text})";
        assert_eq!(
            ddl(t, Dialect::Sqlite),
            "CREATE TABLE t (id INTEGER PRIMARY KEY, x REAL, s TEXT)"
        );
        assert!(ddl(t, Dialect::Postgres).contains("x DOUBLE PRECISION, s TEXT COLLATE \"C\""));
    }
}
