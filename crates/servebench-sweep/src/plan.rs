//! Recipes → jobs, as InferenceX's matrix generator (`generate_sweep_configs.py full-sweep`)
//! expands them: the concurrency ladder, one row per concurrency (single-node) or one row with
//! the whole list (multi-node fixed), max-model-len = ISL + OSL + 256, exp-name, the agentic
//! DRAM budget, eval marking and the recipe fingerprint.
//!
//! A [`Job`] is typed; [`Job::ix_row`] renders it with InferenceX's field names for workflows
//! that consume its matrix.

use crate::recipe::{
    Component, KvOffloading, OffloadBackend, Recipe, Runners, SearchSpace, SpecDecoding, Worker,
};
use crate::Recipes;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Agentic trace replays run this long (not a recipe key in InferenceX).
pub const AGENTIC_DURATION_S: u32 = 3600;
/// Evals run on 8k/1k points at or above this concurrency.
pub const MIN_EVAL_CONC: u32 = 16;
/// The agentic DRAM budget is capped at 3 TB (decimal), expressed in MiB.
pub const MAX_AGENTIC_DRAM_MIB: u64 = 2_861_022;

/// Which recipes and points to plan (InferenceX's full-sweep filters).
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Geometric step of the concurrency ladder (> 1).
    pub step_size: u32,
    /// Config keys starting with one of these.
    pub model_prefix: Vec<String>,
    pub precision: Vec<String>,
    pub framework: Vec<String>,
    pub runner_type: Vec<String>,
    /// (ISL, OSL) pairs.
    pub seq_lens: Vec<(u32, u32)>,
    pub min_conc: Option<u32>,
    pub max_conc: Option<u32>,
    /// Only these concurrencies (InferenceX test-config's `--conc`); empty = all.
    pub conc: Vec<u32>,
    /// Skip single-node entries with a larger TP.
    pub max_tp: Option<u32>,
    /// Clamp single-node EP to this.
    pub max_ep: Option<u32>,
    pub single_node: bool,
    pub multi_node: bool,
    pub fixed_seq_len: bool,
    pub agentic: bool,
    /// Config-key globs (`*`, `?`); empty = every key.
    pub config_keys: Vec<String>,
    /// Which eval rows to mark, and whether to keep only them.
    pub evals: Evals,
    /// Replace each recipe's runner label by every concrete runner of it whose name contains
    /// this (one row per runner; recipes with none are skipped).
    pub runner_node_filter: Option<String>,
}

/// InferenceX's eval selection modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evals {
    /// No eval marking (`--no-evals`).
    None,
    /// The default policy on 8k/1k rows.
    Default,
    /// Only the eval rows of the default policy, agentic ones included (`--evals-only`).
    Only,
    /// Every 8k/1k row (multi-node rows of one topology merged) and agentic rows, eval rows
    /// only (`--all-evals`).
    All,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            step_size: 2,
            model_prefix: Vec::new(),
            precision: Vec::new(),
            framework: Vec::new(),
            runner_type: Vec::new(),
            seq_lens: Vec::new(),
            min_conc: None,
            max_conc: None,
            conc: Vec::new(),
            max_tp: None,
            max_ep: None,
            single_node: true,
            multi_node: true,
            fixed_seq_len: true,
            agentic: true,
            config_keys: Vec::new(),
            evals: Evals::Default,
            runner_node_filter: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Topology {
    Single {
        tp: u32,
        pp: u32,
        dcp_size: u32,
        pcp_size: u32,
        ep: u32,
        dp_attn: bool,
    },
    Multi {
        prefill: Worker,
        decode: Worker,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    Fixed {
        isl: u32,
        osl: u32,
    },
    Agentic {
        duration_s: u32,
        kv_offloading: KvOffloading,
        kv_offload_backend: Option<OffloadBackend>,
        total_cpu_dram_gb: u64,
    },
}

/// One job of the plan: what to deploy, the workload, and the concurrencies to run on it (one
/// for single-node rows; the whole list, run in turn on one allocation, for multi-node fixed).
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub config_key: String,
    pub image: String,
    pub model: String,
    pub model_prefix: String,
    pub precision: String,
    pub framework: String,
    pub runner: String,
    pub spec_decoding: SpecDecoding,
    pub topology: Topology,
    pub workload: Workload,
    pub conc: Vec<u32>,
    pub exp_name: String,
    pub disagg: bool,
    /// Whether an accuracy eval runs at this point; `None` on agentic rows of a plan without
    /// eval marking (InferenceX leaves the field out there).
    pub run_eval: Option<bool>,
    /// Multi-node: the concurrency the eval runs at.
    pub eval_conc: Option<u32>,
    /// The row is an eval run only (no throughput point).
    pub eval_only: bool,
    /// Multi-node: the eval runs at every concurrency of the row, on one engine.
    pub eval_all_concs: bool,
    pub router: Option<Component>,
    pub kv_p2p_transfer: Option<String>,
    /// llama.cpp slots (`llamacpp` recipes).
    pub slots: Option<u32>,
    /// servebench's own engine settings of the recipe (`engine-args`, `env`, llama.cpp's
    /// context and threads): not in InferenceX's rows, so a recipe in InferenceX's format keeps
    /// InferenceX's fingerprint; in the fingerprint where a recipe sets them (environment
    /// values only hashed, never written out).
    pub engine_args: Vec<String>,
    pub own_settings: Option<Value>,
    /// SHA-256 of the canonical row without conc, exp-name and fingerprint (with servebench's
    /// own settings where set).
    pub fingerprint: String,
}

impl Job {
    pub fn is_multinode(&self) -> bool {
        matches!(self.topology, Topology::Multi { .. })
    }

    /// GPUs the job's deployment uses (every worker replica of a multi-node one).
    pub fn gpus(&self) -> u32 {
        match &self.topology {
            Topology::Single {
                tp, pp, pcp_size, ..
            } => tp.saturating_mul(*pp).saturating_mul(*pcp_size),
            Topology::Multi { prefill, decode } => prefill
                .num_worker
                .saturating_mul(prefill.deployed_gpus())
                .saturating_add(decode.num_worker.saturating_mul(decode.deployed_gpus())),
        }
    }

    pub fn max_model_len(&self) -> Option<u32> {
        match self.workload {
            Workload::Fixed { isl, osl } => Some(isl.saturating_add(osl).saturating_add(256)),
            Workload::Agentic { .. } => None,
        }
    }

    /// The row InferenceX's generator emits for this job (its field names and shapes).
    pub fn ix_row(&self) -> Value {
        let mut m = self.ix_row_without_fingerprint();
        m.insert("recipe-fingerprint".into(), json!(self.fingerprint));
        Value::Object(m)
    }

    fn ix_row_without_fingerprint(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("image", json!(self.image));
        put("model", json!(self.model));
        put("model-prefix", json!(self.model_prefix));
        put("precision", json!(self.precision));
        put("framework", json!(self.framework));
        put("runner", json!(self.runner));
        put("spec-decoding", json!(self.spec_decoding.as_str()));
        // servebench's own (llama.cpp slots): absent from InferenceX's rows, so their
        // fingerprints stay InferenceX's.
        if let Some(n) = self.slots {
            put("slots", json!(n));
        }
        match &self.topology {
            Topology::Single {
                tp,
                pp,
                dcp_size,
                pcp_size,
                ep,
                dp_attn,
            } => {
                put("tp", json!(tp));
                put("pp", json!(pp));
                put("dcp-size", json!(dcp_size));
                put("pcp-size", json!(pcp_size));
                put("ep", json!(ep));
                put("dp-attn", json!(dp_attn));
            }
            Topology::Multi { prefill, decode } => {
                put("prefill", worker_json(prefill));
                put("decode", worker_json(decode));
            }
        }
        let agentic = matches!(self.workload, Workload::Agentic { .. });
        match &self.workload {
            Workload::Fixed { isl, osl } => {
                put("isl", json!(isl));
                put("osl", json!(osl));
                put("max-model-len", json!(isl + osl + 256));
            }
            Workload::Agentic {
                duration_s,
                kv_offloading,
                kv_offload_backend,
                total_cpu_dram_gb,
            } => {
                put("duration", json!(duration_s));
                put("kv-offloading", json!(kv_offloading.as_str()));
                if let Some(b) = kv_offload_backend {
                    put("kv-offload-backend", json!(b));
                }
                put("total-cpu-dram-gb", json!(total_cpu_dram_gb));
                put("scenario-type", json!("agentic-coding"));
            }
        }
        // Multi-node rows carry their list of concurrencies; single-node rows one.
        if self.is_multinode() {
            put("conc", json!(self.conc));
        } else {
            put("conc", json!(self.conc[0]));
        }
        put("exp-name", json!(self.exp_name));
        // Single-node agentic rows carry neither disagg nor run-eval (InferenceX's schema).
        if !agentic || self.is_multinode() {
            put("disagg", json!(self.disagg));
        }
        if let Some(e) = self.run_eval {
            put("run-eval", json!(e));
        }
        if self.eval_only {
            put("eval-only", json!(true));
        }
        if let Some(c) = self.eval_conc {
            put("eval-conc", json!(c));
        }
        if self.eval_all_concs {
            put("eval-all-concs", json!(true));
        }
        if let Some(r) = &self.router {
            put("router", json!(r));
        }
        if let Some(t) = &self.kv_p2p_transfer {
            put("kv-p2p-transfer", json!(t));
        }
        m
    }

    fn compute_fingerprint(&mut self) {
        let mut m = self.ix_row_without_fingerprint();
        m.remove("conc");
        m.remove("exp-name");
        if let Some(own) = &self.own_settings {
            m.insert("servebench-settings".into(), own.clone());
        }
        let canonical = ascii_json(&Value::Object(m));
        self.fingerprint = hex::encode(Sha256::digest(canonical.as_bytes()));
    }
}

/// A recipe's own engine settings as the fingerprint takes them; `None` where it sets none.
fn own_settings(r: &Recipe) -> Option<Value> {
    let (ctx, threads) = r
        .llamacpp
        .as_ref()
        .map_or((None, None), |l| (l.ctx_size, l.threads));
    let unset = r.engine_args.is_empty() && r.env.is_empty() && ctx.is_none() && threads.is_none();
    (!unset).then(|| {
        json!({
            "engine-args": r.engine_args,
            "env": r.env,
            "ctx-size": ctx,
            "threads": threads,
        })
    })
}

fn worker_json(w: &Worker) -> Value {
    let mut m = Map::new();
    m.insert("num-worker".into(), json!(w.num_worker));
    m.insert("tp".into(), json!(w.tp));
    m.insert("pp".into(), json!(w.pp));
    m.insert("dcp-size".into(), json!(w.dcp_size));
    m.insert("pcp-size".into(), json!(w.pcp_size));
    m.insert("ep".into(), json!(w.ep));
    m.insert("dp-attn".into(), json!(w.dp_attn));
    if let Some(h) = &w.hardware {
        m.insert("hardware".into(), json!(h));
    }
    if let Some(a) = &w.additional_settings {
        m.insert("additional-settings".into(), json!(a));
    }
    Value::Object(m)
}

/// Compact JSON with sorted keys and non-ASCII escaped: Python's
/// `json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`.
pub fn ascii_json(v: &Value) -> String {
    // serde_json's maps are sorted (no preserve_order) and its compact form has no spaces.
    let s = serde_json::to_string(v).expect("serializes");
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// `1k1k`, `8k1k`, else `ISL_OSL` (InferenceX's exp-name rule).
pub fn seq_len_name(isl: u32, osl: u32) -> String {
    match (isl, osl) {
        (1024, 1024) => "1k1k".into(),
        (8192, 1024) => "8k1k".into(),
        _ => format!("{isl}_{osl}"),
    }
}

/// The concurrency ladder: start, start × step, ... up to end, end always included.
pub fn ladder(start: u32, end: u32, step: u32) -> Vec<u32> {
    let mut v = Vec::new();
    let mut c = start;
    while c <= end {
        v.push(c);
        if c == end {
            break;
        }
        c = c.saturating_mul(step).min(end);
    }
    v
}

/// `*` and `?` globs over config keys (fnmatch without character classes).
pub fn glob_match(pattern: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("--step-size must be greater than 1")]
    StepSize,
    #[error("--min-conc {min} is above --max-conc {max}")]
    ConcRange { min: u32, max: u32 },
    #[error("unknown runner type(s) {0}; {1}")]
    RunnerType(String, String),
    #[error("config key pattern '{0}' matches no recipe")]
    NoMatch(String),
    #[error("{key}: {message}")]
    Recipe { key: String, message: String },
}

/// The concurrencies of an entry after the filters (`None`: skip the entry).
fn concurrencies(e: &SearchSpace, o: &PlanOptions, fixed_single: bool) -> Option<Vec<u32>> {
    let mut v = ladder_filtered(e, o, fixed_single)?;
    if !o.conc.is_empty() {
        v.retain(|c| o.conc.contains(c));
        if v.is_empty() {
            return None;
        }
    }
    Some(v)
}

fn ladder_filtered(e: &SearchSpace, o: &PlanOptions, fixed_single: bool) -> Option<Vec<u32>> {
    let positive = |x: Option<u32>| x.is_none_or(|v| v > 0);
    if !positive(o.min_conc) || !positive(o.max_conc) {
        return None;
    }
    // Values outside the bounds are dropped; nothing left under the maximum becomes [max].
    let bound = |mut v: Vec<u32>| {
        if let Some(min) = o.min_conc {
            v.retain(|&c| c >= min);
            if v.is_empty() {
                return None;
            }
        }
        if let Some(max) = o.max_conc {
            let under: Vec<u32> = v.iter().copied().filter(|&c| c <= max).collect();
            v = if under.is_empty() { vec![max] } else { under };
        }
        Some(v)
    };
    if let Some(list) = e.conc_list.as_ref().filter(|l| !l.is_empty()) {
        return bound(list.clone());
    }
    let (mut start, mut end) = (e.conc_start?, e.conc_end?);
    if fixed_single {
        // Single-node fixed: the filters move the ladder's ends before it is built.
        if let Some(min) = o.min_conc {
            if end < min {
                return None;
            }
            start = start.max(min);
        }
        if let Some(max) = o.max_conc {
            if start > max {
                (start, end) = (max, max);
            } else {
                end = end.min(max);
            }
        }
        return Some(ladder(start, end, o.step_size));
    }
    bound(ladder(start, end, o.step_size))
}

/// Plans every recipe that passes the filters.
pub fn plan(recipes: &Recipes, runners: &Runners, o: &PlanOptions) -> Result<Vec<Job>, PlanError> {
    if o.step_size <= 1 {
        return Err(PlanError::StepSize);
    }
    if let (Some(min), Some(max)) = (o.min_conc, o.max_conc) {
        if min > max {
            return Err(PlanError::ConcRange { min, max });
        }
    }
    // Runner labels come from the runner config; without one, from the recipes themselves.
    let known: std::collections::BTreeSet<&String> = if runners.labels.is_empty() {
        recipes.entries.iter().map(|(_, r, _)| &r.runner).collect()
    } else {
        runners.labels.keys().collect()
    };
    let unknown: Vec<&String> = o
        .runner_type
        .iter()
        .filter(|r| !known.contains(r))
        .collect();
    if !unknown.is_empty() {
        let source = if runners.labels.is_empty() {
            "the recipes use"
        } else {
            "the runner config has"
        };
        return Err(PlanError::RunnerType(
            format!("{unknown:?}"),
            format!("{source} {known:?}"),
        ));
    }
    for pat in &o.config_keys {
        if pat.is_empty() || !recipes.entries.iter().any(|(k, ..)| glob_match(pat, k)) {
            return Err(PlanError::NoMatch(pat.clone()));
        }
    }
    let mut jobs = Vec::new();
    for (key, r, _) in &recipes.entries {
        if !o.config_keys.is_empty() && !o.config_keys.iter().any(|p| glob_match(p, key)) {
            continue;
        }
        if !o.model_prefix.is_empty() && !o.model_prefix.iter().any(|p| key.starts_with(p.as_str()))
        {
            continue;
        }
        let any_of = |set: &[String], v: &str| set.is_empty() || set.iter().any(|s| s == v);
        if !any_of(&o.precision, &r.precision)
            || !any_of(&o.framework, &r.framework)
            || !any_of(&o.runner_type, &r.runner)
        {
            continue;
        }
        if (r.multinode && !o.multi_node) || (!r.multinode && !o.single_node) {
            continue;
        }
        expand(key, r, runners, o, &mut jobs)?;
    }
    if o.evals != Evals::None {
        mark_evals(&mut jobs, matches!(o.evals, Evals::Only | Evals::All));
    }
    if o.evals == Evals::All {
        jobs = mark_all_evals(jobs);
    }
    if matches!(o.evals, Evals::Only | Evals::All) {
        jobs.retain(|j| j.run_eval == Some(true));
        for j in &mut jobs {
            j.eval_only = true;
        }
    }
    for j in &mut jobs {
        j.compute_fingerprint();
    }
    Ok(jobs)
}

fn expand(
    key: &str,
    r: &Recipe,
    runners: &Runners,
    o: &PlanOptions,
    jobs: &mut Vec<Job>,
) -> Result<(), PlanError> {
    let runner_values: Vec<String> = match &o.runner_node_filter {
        None => vec![r.runner.clone()],
        Some(f) => {
            let nodes: Vec<String> = runners
                .labels
                .get(&r.runner)
                .map(|n| {
                    n.iter()
                        .filter(|n| n.contains(f.as_str()))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if nodes.is_empty() {
                return Ok(());
            }
            nodes
        }
    };
    // One row per runner value, after the concurrency (InferenceX's order).
    let push = |jobs: &mut Vec<Job>, j: Job| {
        for rv in &runner_values {
            let mut j = j.clone();
            j.runner = rv.clone();
            jobs.push(j);
        }
    };
    let base = |e: &SearchSpace,
                topology: Topology,
                workload: Workload,
                conc: Vec<u32>,
                exp_name: String| Job {
        config_key: key.to_string(),
        image: r.image.clone(),
        model: r.model.clone(),
        model_prefix: r.model_prefix.clone(),
        precision: r.precision.clone(),
        framework: r.framework.clone(),
        runner: r.runner.clone(),
        spec_decoding: e.spec_decoding.unwrap_or_default(),
        topology,
        run_eval: matches!(workload, Workload::Fixed { .. }).then_some(false),
        workload,
        conc,
        exp_name,
        disagg: r.disagg,
        eval_conc: None,
        eval_only: false,
        eval_all_concs: false,
        router: e.router.clone().or_else(|| r.router.clone()),
        kv_p2p_transfer: e
            .kv_p2p_transfer
            .clone()
            .or_else(|| r.kv_p2p_transfer.clone()),
        slots: r.llamacpp.as_ref().map(|l| l.slots),
        engine_args: r.engine_args.clone(),
        own_settings: own_settings(r),
        fingerprint: String::new(),
    };
    if o.fixed_seq_len {
        for s in &r.scenarios.fixed_seq_len {
            if !o.seq_lens.is_empty() && !o.seq_lens.contains(&(s.isl, s.osl)) {
                continue;
            }
            let exp_name = format!("{}_{}", r.model_prefix, seq_len_name(s.isl, s.osl));
            let workload = Workload::Fixed {
                isl: s.isl,
                osl: s.osl,
            };
            for e in &s.search_space {
                if r.multinode {
                    let Some(conc) = concurrencies(e, o, false) else {
                        continue;
                    };
                    let topology = Topology::Multi {
                        prefill: e.prefill.clone().expect("validated"),
                        decode: e.decode.clone().expect("validated"),
                    };
                    push(
                        jobs,
                        base(e, topology, workload.clone(), conc, exp_name.clone()),
                    );
                } else {
                    let tp = e.tp.expect("validated");
                    if o.max_tp.is_some_and(|m| m == 0 || tp > m) {
                        continue;
                    }
                    if o.max_ep == Some(0) {
                        continue;
                    }
                    let ep = e.ep.map(|ep| o.max_ep.map_or(ep, |m| ep.min(m)));
                    let Some(conc) = concurrencies(e, o, true) else {
                        continue;
                    };
                    let topology = single(e, tp, ep);
                    for c in conc {
                        push(
                            jobs,
                            base(
                                e,
                                topology.clone(),
                                workload.clone(),
                                vec![c],
                                exp_name.clone(),
                            ),
                        );
                    }
                }
            }
        }
    }
    if o.agentic {
        for a in &r.scenarios.agentic_coding {
            for e in &a.search_space {
                let kv = e.kv_offloading.unwrap_or(KvOffloading::None);
                let dram = dram_budget_gb(a.dram_utilization, e, &r.runner, runners).map_err(
                    |message| PlanError::Recipe {
                        key: key.to_string(),
                        message,
                    },
                )?;
                let mut conc = match (&e.conc_list, e.conc_start, e.conc_end) {
                    (Some(l), ..) if !l.is_empty() => l.clone(),
                    (_, Some(s), Some(end)) => ladder(s, end, o.step_size),
                    _ => Vec::new(),
                };
                if let Some(min) = o.min_conc {
                    conc.retain(|&c| c >= min);
                }
                if let Some(max) = o.max_conc {
                    conc.retain(|&c| c <= max);
                }
                if !o.conc.is_empty() {
                    conc.retain(|c| o.conc.contains(c));
                }
                let workload = Workload::Agentic {
                    duration_s: AGENTIC_DURATION_S,
                    kv_offloading: kv,
                    kv_offload_backend: e.kv_offload_backend.clone(),
                    total_cpu_dram_gb: dram,
                };
                let suffix = match kv {
                    KvOffloading::None => "kvnone".to_string(),
                    KvOffloading::Dram => format!(
                        "kvdram-{}",
                        e.kv_offload_backend
                            .as_ref()
                            .map_or("", |b| b.name.as_str())
                    ),
                };
                if let (Some(p), Some(d)) = (&e.prefill, &e.decode) {
                    let offload = if kv == KvOffloading::None {
                        String::new()
                    } else {
                        format!("_{suffix}")
                    };
                    // One allocation per concurrency; here the runner is the outer loop.
                    for rv in &runner_values {
                        for &c in &conc {
                            let name = format!(
                                "{}_{}_{}_conc{c}{offload}",
                                r.model_prefix,
                                worker_tag(p, 'p'),
                                worker_tag(d, 'd')
                            );
                            let topology = Topology::Multi {
                                prefill: p.clone(),
                                decode: d.clone(),
                            };
                            let mut j = base(e, topology, workload.clone(), vec![c], name);
                            j.runner = rv.clone();
                            jobs.push(j);
                        }
                    }
                } else {
                    let tp = e.tp.expect("validated");
                    let topology = single(e, tp, e.ep);
                    let spec = e.spec_decoding.unwrap_or_default();
                    for c in conc {
                        let mut name = format!("{}_tp{tp}_conc{c}_{suffix}", r.model_prefix);
                        if spec != SpecDecoding::None {
                            name.push_str(&format!("_spec-{}", spec.as_str()));
                        }
                        push(
                            jobs,
                            base(e, topology.clone(), workload.clone(), vec![c], name),
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

fn single(e: &SearchSpace, tp: u32, ep: Option<u32>) -> Topology {
    Topology::Single {
        tp,
        pp: e.pp.unwrap_or(1),
        dcp_size: e.dcp_size.unwrap_or(1),
        pcp_size: e.pcp_size.unwrap_or(1),
        ep: ep.unwrap_or(1),
        dp_attn: e.dp_attn.unwrap_or(false),
    }
}

fn worker_tag(w: &Worker, role: char) -> String {
    let mut t = format!("{role}{}x{}", w.num_worker, w.tp);
    if w.ep != 1 {
        t.push_str(&format!("ep{}", w.ep));
    }
    if w.dp_attn {
        t.push_str("dpa");
    }
    t
}

/// The agentic DRAM offload budget of one server node, GB: the node's available DRAM (capped
/// at 3 TB) × utilisation × the share of the node's GPUs the server (or, multi-node, one
/// prefill replica) uses.
fn dram_budget_gb(
    utilization: Option<f64>,
    e: &SearchSpace,
    runner: &str,
    runners: &Runners,
) -> Result<u64, String> {
    if e.kv_offloading != Some(KvOffloading::Dram) {
        return Ok(0);
    }
    let hw = runners.hardware.get(runner).ok_or_else(|| {
        let have: Vec<&String> = runners.hardware.keys().collect();
        format!("runner '{runner}' needs available-cpu-dram-mib and gpus-per-node in the runner config's hardware (it has {have:?})")
    })?;
    let per_node = hw.gpus_per_node;
    let gpus = match &e.prefill {
        Some(p) => {
            let g = p.gpus_per_replica();
            if g > per_node {
                if !g.is_multiple_of(per_node) {
                    return Err(format!("prefill worker of {g} GPUs spans nodes but is not a multiple of gpus-per-node {per_node}"));
                }
                per_node
            } else {
                if !per_node.is_multiple_of(g) {
                    return Err(format!(
                        "prefill worker of {g} GPUs does not divide gpus-per-node {per_node}"
                    ));
                }
                g
            }
        }
        None => {
            let g = e.tp.unwrap_or(1) * e.pp.unwrap_or(1) * e.pcp_size.unwrap_or(1);
            if g > per_node {
                return Err(format!(
                    "{g} GPUs exceed gpus-per-node {per_node} of runner '{runner}'"
                ));
            }
            g
        }
    };
    let mib = hw.available_cpu_dram_mib.min(MAX_AGENTIC_DRAM_MIB) as u128;
    // Exact decimal arithmetic as InferenceX's: utilisation in millionths.
    let u = (utilization.unwrap_or(0.0) * 1e6).round() as u128;
    let bytes = mib * 1_048_576 * u * gpus as u128 / (per_node as u128 * 1_000_000);
    Ok((bytes / 1_000_000_000) as u64)
}

/// InferenceX's default eval policy on 8k/1k rows: single-node, per (model, runner,
/// framework, precision, spec-decoding, dp-attn), the rows at the highest and the median
/// concurrency ≥ 16; multi-node, per topology, the row with the highest such concurrency.
/// With `include_agentic` (`--evals-only`, `--all-evals`) also agentic rows: single-node, the
/// highest concurrency per (model, runner, framework, precision); multi-node as fixed ones.
fn mark_evals(jobs: &mut [Job], include_agentic: bool) {
    use std::collections::BTreeMap;
    let is_8k1k = |j: &Job| {
        j.workload
            == Workload::Fixed {
                isl: 8192,
                osl: 1024,
            }
    };
    let mut single: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut multi: BTreeMap<String, Vec<(usize, u32)>> = BTreeMap::new();
    let mut agentic_single: BTreeMap<String, Vec<(usize, u32)>> = BTreeMap::new();
    for (i, j) in jobs.iter().enumerate() {
        let agentic = matches!(j.workload, Workload::Agentic { .. });
        if !(is_8k1k(j) || agentic && include_agentic) {
            continue;
        }
        let top = j.conc.iter().copied().filter(|&c| c >= MIN_EVAL_CONC).max();
        match (&j.topology, agentic) {
            (Topology::Single { .. }, true) => {
                let k = format!("{}|{}|{}|{}", j.model, j.runner, j.framework, j.precision);
                let c = j.conc.iter().copied().max().unwrap_or(0);
                agentic_single.entry(k).or_default().push((i, c));
            }
            (Topology::Single { dp_attn, .. }, false) => {
                if top.is_some() {
                    let k = format!(
                        "{}|{}|{}|{}|{}|{}",
                        j.model,
                        j.runner,
                        j.framework,
                        j.precision,
                        j.spec_decoding.as_str(),
                        dp_attn
                    );
                    single.entry(k).or_default().push(i);
                }
            }
            (Topology::Multi { .. }, _) => {
                if let Some(top) = top {
                    multi.entry(topology_key(j)).or_default().push((i, top));
                }
            }
        }
    }
    for j in jobs.iter_mut() {
        j.run_eval = Some(false);
    }
    for idx in single.values() {
        let mut concs: Vec<u32> = idx.iter().map(|&i| jobs[i].conc[0]).collect();
        concs.sort_unstable();
        concs.dedup();
        let targets = [concs[concs.len() - 1], concs[concs.len() / 2]];
        for &i in idx {
            if targets.contains(&jobs[i].conc[0]) {
                jobs[i].run_eval = Some(true);
            }
        }
    }
    // The first row with the highest (eligible) concurrency, as Python's max keeps the first.
    let best = |rows: &[(usize, u32)]| {
        rows.iter()
            .fold(rows[0], |b, &r| if r.1 > b.1 { r } else { b })
    };
    for rows in multi.values() {
        let (i, c) = best(rows);
        jobs[i].run_eval = Some(true);
        jobs[i].eval_conc = Some(c);
    }
    for rows in agentic_single.values() {
        jobs[best(rows).0].run_eval = Some(true);
    }
}

/// A multi-node row without its point-level fields: rows that differ only in concurrency
/// share it.
fn topology_key(j: &Job) -> String {
    let mut row = j.ix_row_without_fingerprint();
    for k in [
        "conc",
        "exp-name",
        "run-eval",
        "eval-only",
        "eval-conc",
        "eval-all-concs",
    ] {
        row.remove(k);
    }
    ascii_json(&Value::Object(row))
}

/// `--all-evals`: every 8k/1k fixed row becomes an eval row, multi-node rows of one topology
/// merged into one that runs all their concurrencies on one engine; every single-node agentic
/// row, and one multi-node agentic row per topology (at its highest concurrency).
fn mark_all_evals(jobs: Vec<Job>) -> Vec<Job> {
    use std::collections::HashMap;
    let mut out: Vec<Job> = Vec::with_capacity(jobs.len());
    let mut merged: HashMap<(bool, String), usize> = HashMap::new();
    for mut j in jobs {
        let agentic = matches!(j.workload, Workload::Agentic { .. });
        if !agentic
            && j.workload
                != (Workload::Fixed {
                    isl: 8192,
                    osl: 1024,
                })
        {
            out.push(j);
            continue;
        }
        if !j.is_multinode() {
            j.run_eval = Some(true);
            out.push(j);
            continue;
        }
        let key = (agentic, topology_key(&j));
        if let Some(&at) = merged.get(&key) {
            let e = &mut out[at];
            e.conc.extend(j.conc.iter().copied());
            e.conc.sort_unstable();
            e.conc.dedup();
            if agentic {
                e.eval_conc = e.conc.iter().copied().max();
            }
            continue;
        }
        j.conc.sort_unstable();
        j.conc.dedup();
        j.run_eval = Some(true);
        if agentic {
            j.eval_conc = j.conc.iter().copied().max();
        } else {
            j.eval_all_concs = true;
            j.eval_conc = None;
        }
        merged.insert(key, out.len());
        out.push(j);
    }
    out
}
