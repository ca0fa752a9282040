//! The rules a well-formed recipe must also follow (InferenceX's `validation.py`, plus the
//! shape of each search-space entry). Each broken rule is reported with the key path it is
//! about; the loader turns that into file, line and column.

use crate::recipe::{Agentic, Component, KvOffloading, Recipe, SearchSpace, Worker};

/// The longest sequence (input + output tokens) a workload may ask for.
const MAX_SEQUENCE_TOKENS: u64 = 1 << 24;
/// The largest degree of any one kind of parallelism (far beyond any deployment; keeps GPU
/// counts, their products, within range).
const MAX_DEGREE: u32 = 1024;

/// A broken rule: the key path (below the recipe's key) and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

fn v(path: impl Into<String>, message: impl Into<String>) -> Violation {
    Violation {
        path: path.into(),
        message: message.into(),
    }
}

/// The shape a search-space entry must have where it stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    SingleNode,
    MultiNode,
    Agentic,
}

/// Every rule of one recipe; the first violation found.
pub fn recipe(key: &str, r: &Recipe) -> Result<(), Violation> {
    let at = |p: &str| format!("{key}.{p}");
    if let Some(l) = &r.llamacpp {
        if r.framework != "llamacpp" {
            return Err(v(at("llamacpp"), "only for framework: llamacpp"));
        }
        if l.slots == 0 {
            return Err(v(at("llamacpp.slots"), "expected at least 1 slot"));
        }
    }
    if key.contains(['*', '?']) {
        return Err(v(
            key,
            "config keys may not contain '*' or '?' (reserved for key globs)",
        ));
    }
    for (field, s) in [
        ("image", &r.image),
        ("model", &r.model),
        ("model-prefix", &r.model_prefix),
        ("precision", &r.precision),
        ("framework", &r.framework),
        ("runner", &r.runner),
    ] {
        if s.trim().is_empty() {
            return Err(v(at(field), "expected a non-empty string"));
        }
    }
    if r.disagg && !r.multinode {
        return Err(v(at("disagg"), "disagg: true needs multinode: true"));
    }
    if !r.multinode && r.kv_p2p_transfer.is_some() {
        return Err(v(
            at("kv-p2p-transfer"),
            "kv-p2p-transfer is only valid when multinode: true",
        ));
    }
    if let Some(t) = &r.kv_p2p_transfer {
        non_empty(&at("kv-p2p-transfer"), t)?;
    }
    if let Some(c) = &r.router {
        component(&at("router"), c)?;
    }
    if r.health_timeout == Some(0) {
        return Err(v(
            at("health-timeout"),
            "expected a positive number of seconds",
        ));
    }
    let sc = &r.scenarios;
    if sc.fixed_seq_len.is_empty() && sc.agentic_coding.is_empty() {
        return Err(v(
            at("scenarios"),
            "at least one scenario (fixed-seq-len or agentic-coding) with entries",
        ));
    }
    if !sc.agentic_coding.is_empty() && !r.runner.starts_with("cluster:") {
        return Err(v(
            at("runner"),
            "agentic-coding recipes must run on an exact fleet: a 'cluster:<name>' runner label",
        ));
    }
    let shape = if r.multinode {
        Shape::MultiNode
    } else {
        Shape::SingleNode
    };
    let mut entries: Vec<(String, &SearchSpace)> = Vec::new();
    for (i, s) in sc.fixed_seq_len.iter().enumerate() {
        let p = at(&format!("scenarios.fixed-seq-len[{i}]"));
        if s.isl == 0 || s.osl == 0 {
            return Err(v(format!("{p}.isl"), "isl and osl must be positive"));
        }
        if u64::from(s.isl) + u64::from(s.osl) > MAX_SEQUENCE_TOKENS {
            return Err(v(
                format!("{p}.isl"),
                format!(
                    "isl + osl = {}: at most {MAX_SEQUENCE_TOKENS} tokens",
                    u64::from(s.isl) + u64::from(s.osl)
                ),
            ));
        }
        if s.search_space.is_empty() {
            return Err(v(
                format!("{p}.search-space"),
                "expected at least one entry",
            ));
        }
        for (j, e) in s.search_space.iter().enumerate() {
            let ep = format!("{p}.search-space[{j}]");
            entry(&ep, e, shape)?;
            entries.push((ep, e));
        }
    }
    for (i, a) in sc.agentic_coding.iter().enumerate() {
        let p = at(&format!("scenarios.agentic-coding[{i}]"));
        agentic(&p, a)?;
        for (j, e) in a.search_space.iter().enumerate() {
            entries.push((format!("{p}.search-space[{j}]"), e));
        }
    }
    // Router and KV transfer: declared once, at the top or per entry.
    if r.router.is_some() {
        if let Some((p, _)) = entries.iter().find(|(_, e)| e.router.is_some()) {
            return Err(v(
                format!("{p}.router"),
                "router is declared at the top level too: declare it there or in search-space entries, not both",
            ));
        }
    }
    if r.kv_p2p_transfer.is_some() {
        if let Some((p, _)) = entries.iter().find(|(_, e)| e.kv_p2p_transfer.is_some()) {
            return Err(v(
                format!("{p}.kv-p2p-transfer"),
                "kv-p2p-transfer is declared at the top level too: declare it there or in search-space entries, not both",
            ));
        }
    }
    if r.disagg && r.kv_p2p_transfer.is_none() {
        if let Some((p, _)) = entries.iter().find(|(_, e)| e.kv_p2p_transfer.is_none()) {
            return Err(v(
                p.clone(),
                "disagg: true needs kv-p2p-transfer at the top level or in every search-space entry",
            ));
        }
    }
    Ok(())
}

fn non_empty(path: &str, s: &str) -> Result<(), Violation> {
    if s.is_empty() {
        Err(v(path, "expected a non-empty string"))
    } else {
        Ok(())
    }
}

fn component(path: &str, c: &Component) -> Result<(), Violation> {
    non_empty(&format!("{path}.name"), &c.name)?;
    non_empty(&format!("{path}.version"), &c.version)?;
    if c.version.starts_with("image:") {
        return Err(v(
            format!("{path}.version"),
            "expected the component's own release, package version or commit, not an image reference",
        ));
    }
    Ok(())
}

fn agentic(p: &str, a: &Agentic) -> Result<(), Violation> {
    if let Some(u) = a.dram_utilization {
        if !(u > 0.0 && u <= 1.0) {
            return Err(v(
                format!("{p}.dram-utilization"),
                format!("expected a fraction in (0, 1], got {u}"),
            ));
        }
    }
    if a.search_space.is_empty() {
        return Err(v(
            format!("{p}.search-space"),
            "expected at least one entry",
        ));
    }
    for (j, e) in a.search_space.iter().enumerate() {
        let ep = format!("{p}.search-space[{j}]");
        entry(&ep, e, Shape::Agentic)?;
        if e.kv_offloading == Some(KvOffloading::Dram) && a.dram_utilization.is_none() {
            return Err(v(
                format!("{ep}.kv-offloading"),
                "kv-offloading: dram needs dram-utilization in its agentic-coding block",
            ));
        }
    }
    Ok(())
}

/// The keys of an entry that are set, by their file names.
fn set_keys(e: &SearchSpace) -> Vec<&'static str> {
    let mut k = Vec::new();
    let mut add = |name, set: bool| {
        if set {
            k.push(name)
        }
    };
    add("tp", e.tp.is_some());
    add("pp", e.pp.is_some());
    add("dcp-size", e.dcp_size.is_some());
    add("pcp-size", e.pcp_size.is_some());
    add("ep", e.ep.is_some());
    add("dp-attn", e.dp_attn.is_some());
    add("prefill", e.prefill.is_some());
    add("decode", e.decode.is_some());
    add("kv-offloading", e.kv_offloading.is_some());
    add("kv-offload-backend", e.kv_offload_backend.is_some());
    add("kv-p2p-transfer", e.kv_p2p_transfer.is_some());
    k
}

fn entry(p: &str, e: &SearchSpace, shape: Shape) -> Result<(), Violation> {
    let multi = e.prefill.is_some() || e.decode.is_some();
    let (what, not_allowed): (&str, &[&str]) = match shape {
        Shape::SingleNode => (
            "a single-node entry",
            &[
                "prefill",
                "decode",
                "kv-offloading",
                "kv-offload-backend",
                "kv-p2p-transfer",
            ],
        ),
        Shape::MultiNode => (
            "a multi-node entry",
            &[
                "tp",
                "pp",
                "dcp-size",
                "pcp-size",
                "ep",
                "dp-attn",
                "kv-offloading",
                "kv-offload-backend",
            ],
        ),
        Shape::Agentic if multi => (
            "a multi-node agentic entry",
            &["tp", "pp", "dcp-size", "pcp-size"],
        ),
        Shape::Agentic => ("a single-node agentic entry", &[]),
    };
    if let Some(k) = set_keys(e).into_iter().find(|k| not_allowed.contains(k)) {
        return Err(v(
            format!("{p}.{k}"),
            format!("'{k}' is not a key of {what}"),
        ));
    }
    let needs_workers = shape == Shape::MultiNode || (shape == Shape::Agentic && e.tp.is_none());
    if needs_workers {
        for (name, w) in [("prefill", &e.prefill), ("decode", &e.decode)] {
            match w {
                None => {
                    return Err(v(
                        p,
                        if shape == Shape::Agentic {
                            "an agentic entry needs either tp or both prefill and decode"
                                .to_string()
                        } else {
                            format!("{what} needs '{name}'")
                        },
                    ))
                }
                Some(w) => worker(&format!("{p}.{name}"), w)?,
            }
        }
        let (pf, dc) = (e.prefill.as_ref().unwrap(), e.decode.as_ref().unwrap());
        if pf.num_worker + dc.num_worker == 0 {
            return Err(v(
                format!("{p}.prefill.num-worker"),
                "prefill and decode have no workers between them",
            ));
        }
        if pf.hardware.is_some() != dc.hardware.is_some() {
            return Err(v(
                format!("{p}.prefill.hardware"),
                "hardware must be given for both prefill and decode, or neither",
            ));
        }
    } else {
        let Some(tp) = e.tp else {
            return Err(v(p, format!("{what} needs 'tp'")));
        };
        topology(p, tp, e.pp, e.dcp_size, e.pcp_size)?;
        if shape == Shape::Agentic && e.kv_offloading.is_none() {
            return Err(v(p, "a single-node agentic entry needs 'kv-offloading'"));
        }
    }
    if let Some(ep) = e.ep {
        if ep == 0 {
            return Err(v(format!("{p}.ep"), "expected a positive integer"));
        }
    }
    if let Some(c) = &e.router {
        component(&format!("{p}.router"), c)?;
    }
    if let Some(t) = &e.kv_p2p_transfer {
        non_empty(&format!("{p}.kv-p2p-transfer"), t)?;
    }
    match (e.kv_offloading, &e.kv_offload_backend) {
        (None, Some(_)) => {
            return Err(v(
                format!("{p}.kv-offload-backend"),
                "kv-offload-backend needs kv-offloading",
            ))
        }
        (Some(KvOffloading::None), Some(_)) => {
            return Err(v(
                format!("{p}.kv-offload-backend"),
                "kv-offload-backend can only be set when kv-offloading is not 'none'",
            ))
        }
        (Some(KvOffloading::Dram), None) => {
            return Err(v(
                format!("{p}.kv-offloading"),
                "kv-offloading: dram needs kv-offload-backend",
            ))
        }
        _ => {}
    }
    conc(p, e)
}

fn worker(p: &str, w: &Worker) -> Result<(), Violation> {
    // num-worker may be 0: an aggregated deployment's decode pool.
    if w.tp == 0 || w.ep == 0 {
        return Err(v(p, "tp and ep must be positive integers"));
    }
    topology(p, w.tp, Some(w.pp), Some(w.dcp_size), Some(w.pcp_size))?;
    if let Some(h) = &w.hardware {
        non_empty(&format!("{p}.hardware"), h)?;
    }
    Ok(())
}

fn topology(
    p: &str,
    tp: u32,
    pp: Option<u32>,
    dcp: Option<u32>,
    pcp: Option<u32>,
) -> Result<(), Violation> {
    if tp == 0 {
        return Err(v(format!("{p}.tp"), "expected a positive integer"));
    }
    for (k, x) in [
        ("tp", Some(tp)),
        ("pp", pp),
        ("dcp-size", dcp),
        ("pcp-size", pcp),
    ] {
        if x == Some(0) {
            return Err(v(format!("{p}.{k}"), "expected a positive integer"));
        }
        if x.is_some_and(|x| x > MAX_DEGREE) {
            return Err(v(format!("{p}.{k}"), format!("at most {MAX_DEGREE}")));
        }
    }
    let dcp = dcp.unwrap_or(1);
    if !tp.is_multiple_of(dcp) {
        return Err(v(
            format!("{p}.dcp-size"),
            format!("tp ({tp}) must be divisible by dcp-size ({dcp})"),
        ));
    }
    Ok(())
}

fn conc(p: &str, e: &SearchSpace) -> Result<(), Violation> {
    let list = e.conc_list.as_ref().filter(|l| !l.is_empty());
    match (list, e.conc_start, e.conc_end) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(v(
            format!("{p}.conc-list"),
            "give either conc-list or conc-start and conc-end, not both",
        )),
        (Some(l), None, None) => {
            if l.contains(&0) {
                Err(v(
                    format!("{p}.conc-list"),
                    "concurrencies must be positive",
                ))
            } else {
                Ok(())
            }
        }
        (None, Some(s), Some(e)) => {
            if s == 0 || e == 0 {
                Err(v(
                    format!("{p}.conc-start"),
                    "conc-start and conc-end must be positive",
                ))
            } else if s > e {
                Err(v(
                    format!("{p}.conc-start"),
                    format!("conc-start ({s}) must be <= conc-end ({e})"),
                ))
            } else {
                Ok(())
            }
        }
        (None, Some(_), None) => Err(v(format!("{p}.conc-start"), "conc-start needs conc-end")),
        (None, None, Some(_)) => Err(v(format!("{p}.conc-end"), "conc-end needs conc-start")),
        (None, None, None) => Err(v(p, "needs either conc-list or conc-start and conc-end")),
    }
}
