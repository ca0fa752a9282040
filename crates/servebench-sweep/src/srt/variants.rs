//! srt-slurm's variant files: a `base` recipe and `override_<name>` / `zip_override_<name>`
//! sets merged over it, one of them named by a row's `CONFIG_FILE=<file>:<selector>`, merged
//! by srt-slurm's rules (`srtctl.core.config`): mappings merge key by key, anything else
//! (lists included) replaces, `null` removes the key; a zip set's lists are its variants,
//! element `i` each (a one-element list shared by all).

use serde_norway::{Mapping, Value};

/// The variant `selector` names (`base`, `override_<name>`, `zip_override_<name>[i]`) of a
/// file holding `base`.
pub(super) fn select(raw: &Value, selector: Option<&str>) -> Result<Value, String> {
    let base = raw
        .get("base")
        .filter(|b| b.is_mapping())
        .ok_or("`base` is not a mapping")?;
    let Some(selector) = selector else {
        return Err(format!(
            "holds a base recipe and its variants ({}): name one after the file, as CONFIG_FILE=<file>:<variant> (`base` for the base itself)",
            variant_names(raw).join(", ")
        ));
    };
    if selector == "base" {
        return Ok(base.clone());
    }
    let unknown = || {
        format!(
            "has no variant '{selector}' (it has {})",
            variant_names(raw).join(", ")
        )
    };
    if let Some((key, index)) = selector.strip_suffix(']').and_then(|s| s.split_once('[')) {
        let set = raw
            .get(key)
            .filter(|_| key.starts_with("zip_override_"))
            .ok_or_else(unknown)?;
        let i: usize = index
            .parse()
            .map_err(|_| format!("'{selector}': the index is not a number"))?;
        let n = zip_len(set)?;
        if i >= n {
            return Err(format!(
                "'{selector}': {key} has {n} variants (0 to {})",
                n - 1
            ));
        }
        let mut merged = merge(base, &zip_slice(set, i));
        name(
            &mut merged,
            base,
            set,
            &format!("{}_{i}", &key["zip_override_".len()..]),
        );
        return Ok(merged);
    }
    if selector.starts_with("zip_override_") {
        return Err(format!(
            "'{selector}' is a set of variants: name one, as {selector}[0]"
        ));
    }
    let set = raw
        .get(selector)
        .filter(|_| selector.starts_with("override_"))
        .ok_or_else(unknown)?;
    let mut merged = merge(base, set);
    name(&mut merged, base, set, &selector["override_".len()..]);
    Ok(merged)
}

fn variant_names(raw: &Value) -> Vec<String> {
    let keys = raw
        .as_mapping()
        .into_iter()
        .flat_map(Mapping::keys)
        .filter_map(Value::as_str);
    keys.filter_map(|k| {
        if k.starts_with("zip_override_") {
            Some(format!("{k}[i]"))
        } else {
            k.starts_with("override_").then(|| k.to_string())
        }
    })
    .collect()
}

/// A variant not naming itself is called `<base name>_<suffix>`.
fn name(merged: &mut Value, base: &Value, set: &Value, suffix: &str) {
    if set
        .get("name")
        .is_some_and(|n| !n.is_sequence() && !n.is_null())
    {
        return;
    }
    let base_name = base
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("unnamed");
    if let Some(m) = merged.as_mapping_mut() {
        m.insert("name".into(), format!("{base_name}_{suffix}").into());
    }
}

/// `over` merged into `base`: mappings key by key, `null` removing a key, anything else
/// replacing.
fn merge(base: &Value, over: &Value) -> Value {
    let (Some(b), Some(o)) = (base.as_mapping(), over.as_mapping()) else {
        return over.clone();
    };
    let mut out = b.clone();
    for (k, v) in o {
        match (v, out.get(k)) {
            (Value::Null, _) => {
                out.remove(k);
            }
            (Value::Mapping(_), Some(Value::Mapping(_))) => {
                let merged = merge(&out[k], v);
                out.insert(k.clone(), merged);
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Mapping(out)
}

/// Variants in a zip set: the length its lists share (one-element lists aside).
fn zip_len(set: &Value) -> Result<usize, String> {
    fn lengths(v: &Value, out: &mut Vec<usize>) {
        match v {
            Value::Sequence(s) => out.push(s.len()),
            Value::Mapping(m) => m.values().for_each(|v| lengths(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    lengths(set, &mut all);
    if all.is_empty() || all.contains(&0) {
        return Err("a zip_override set needs lists of one or more values".into());
    }
    let mut long: Vec<usize> = all.into_iter().filter(|&n| n != 1).collect();
    long.dedup();
    match long[..] {
        [] => Ok(1),
        [n] => Ok(n),
        _ => Err(format!(
            "a zip_override set's lists differ in length ({long:?})"
        )),
    }
}

/// Element `i` of each list of a zip set (the one element of a one-element list).
fn zip_slice(v: &Value, i: usize) -> Value {
    match v {
        Value::Sequence(s) => s[if s.len() == 1 { 0 } else { i }].clone(),
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, v)| (k.clone(), zip_slice(v, i)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        serde_norway::from_str(s).unwrap()
    }

    /// srt-slurm's own rules on a small file, by hand.
    #[test]
    fn variants_merge_over_the_base_as_srt_slurm_merges_them() {
        let raw = yaml(
            "base:
  name: b
  resources: {prefill_workers: 1, decode_workers: 4}
  backend: {sglang_config: {decode: {tp: 4, ep: 1, cuda-graph-bs: [1, 2, 4]}}}
override_tp8:
  backend: {sglang_config: {decode: {tp: 8, ep: null, cuda-graph-bs: [8]}}}
zip_override_lowlat:
  resources: {decode_workers: [1, 2, 3], prefill_workers: [2]}
",
        );
        let v = select(&raw, Some("override_tp8")).unwrap();
        assert_eq!(
            v,
            yaml(
                "name: b_tp8
resources: {prefill_workers: 1, decode_workers: 4}
backend: {sglang_config: {decode: {tp: 8, cuda-graph-bs: [8]}}}"
            )
        );
        let v = select(&raw, Some("zip_override_lowlat[2]")).unwrap();
        assert_eq!(
            v["resources"],
            yaml("{prefill_workers: 2, decode_workers: 3}")
        );
        assert_eq!(v["name"], "b_lowlat_2");
        assert_eq!(select(&raw, Some("base")).unwrap(), raw["base"]);
        for (selector, says) in [
            (None, "name one after the file"),
            (
                Some("override_tp16"),
                "has no variant 'override_tp16' (it has override_tp8, zip_override_lowlat[i])",
            ),
            (Some("zip_override_lowlat[3]"), "has 3 variants (0 to 2)"),
            (Some("zip_override_lowlat"), "is a set of variants"),
            (Some("zip_override_lowlat[x]"), "the index is not a number"),
        ] {
            let e = select(&raw, selector).unwrap_err();
            assert!(e.contains(says), "{selector:?}: {e}");
        }
        let bad = yaml("base: {}\nzip_override_x: {a: [1, 2], b: [1, 2, 3]}\n");
        assert!(select(&bad, Some("zip_override_x[0]"))
            .unwrap_err()
            .contains("differ in length"));
    }
}
