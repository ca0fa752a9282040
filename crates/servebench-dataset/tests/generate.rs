//! The session generator against the published statistics it is drawn from
//! (data/agentic-sessions.yaml cites them) and against published figures it is not given.

use servebench_dataset::generate::{profile, profile_names, Generator};
use servebench_dataset::trace::{read, Format, Session};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn within(x: f64, target: f64, tol: f64) -> bool {
    (x / target - 1.0).abs() <= tol
}

fn sessions(name: &str, seed: u64, n: u64) -> Vec<Session> {
    Generator::new(&profile(name).unwrap(), seed)
        .unwrap()
        .sessions(n)
        .collect()
}

#[test]
fn sessions_depend_on_the_seed_and_their_index_only() {
    let g = Generator::new(&profile("claude-code-042026").unwrap(), 7).unwrap();
    let all: Vec<Session> = Generator::new(&profile("claude-code-042026").unwrap(), 7)
        .unwrap()
        .sessions(5)
        .collect();
    assert_eq!(g.session(3), all[3]);
    let other = Generator::new(&profile("claude-code-042026").unwrap(), 8).unwrap();
    assert_ne!(other.session(3), all[3]);
    assert_eq!(
        profile_names(),
        ["agentx-062126", "claude-code-042026"].map(String::from)
    );
    assert!(profile("gpt")
        .unwrap_err()
        .to_string()
        .contains("claude-code-042026"));
}

#[test]
fn the_claude_code_profile_reproduces_the_published_corpus() {
    let s = sessions("claude-code-042026", 1, 800);
    // Quantities the profile is drawn from (WEKA kv-cache-tester, published or derived).
    let turns = median(s.iter().map(|x| x.turns.len() as f64).collect());
    assert!(
        within(turns, 48.0, 0.15),
        "main turns per session p50 {turns}"
    );
    let first = median(
        s.iter()
            .map(|x| f64::from(x.turns[0].input_tokens))
            .collect(),
    );
    assert!(within(first, 24_775.0, 0.15), "first input p50 {first}");
    let mains = || s.iter().flat_map(|x| &x.turns);
    let out = median(mains().map(|t| f64::from(t.output_tokens)).collect());
    assert!(within(out, 218.0, 0.05), "output p50 {out}");
    let growth: Vec<f64> = s
        .iter()
        .flat_map(|x| x.turns.windows(2))
        .map(|w| f64::from(w[1].input_tokens) - f64::from(w[0].input_tokens))
        .filter(|d| *d > 0.0)
        .collect();
    assert!(within(median(growth), 646.0, 0.05));
    let forks: usize = s.iter().map(|x| x.subagents.len()).sum();
    assert!(
        within(forks as f64 / 800.0, 70.0 / 739.0, 0.3),
        "{forks} subagents"
    );
    let streamed = mains().filter(|t| t.streaming).count() as f64 / mains().count() as f64;
    assert!((streamed - 0.174).abs() < 0.01, "{streamed}");
    // Figures it is not given: the corpus's overall think-time median, 10 s (P25 6, P75 30),
    // from the mixture of its after-tool and before-human parts.
    let think = median(mains().filter_map(|t| t.think_time).collect());
    assert!(within(think, 10.0, 0.15), "think p50 {think}");
    // ... and the prefix reuse: 96 % of prompt tokens served from cache (TraceLab, 95.7 %
    // token-weighted; kv-cache-tester: median 96 % between consecutive requests).
    let (hits, blocks) = s[..100].iter().fold((0, 0), |(h, b), x| {
        let (a, c) = x.theoretical_hit_blocks();
        (h + a, b + c)
    });
    let rate = hits as f64 / blocks as f64;
    assert!((0.93..0.98).contains(&rate), "theoretical hit rate {rate}");
}

#[test]
fn the_agentx_profile_has_the_cards_fan_out() {
    let s = sessions("agentx-062126", 2, 400);
    let groups = s.iter().map(|x| x.subagents.len()).sum::<usize>() as f64 / 400.0;
    // 1,697 subagent groups over 393 traces.
    assert!(
        within(groups, 1697.0 / 393.0, 0.1),
        "{groups} groups per session"
    );
    let inner: Vec<f64> = s
        .iter()
        .flat_map(|x| &x.subagents)
        .map(|a| a.turns.len() as f64)
        .collect();
    let mean = inner.iter().sum::<f64>() / inner.len() as f64;
    // 42,029 inner requests over 1,697 groups.
    assert!(
        within(mean, 42_029.0 / 1_697.0, 0.1),
        "{mean} turns per subagent"
    );
    let turns = s.iter().map(|x| x.turns.len()).sum::<usize>() as f64 / 400.0;
    // 56,798 main turns over 393 traces (the clamp at 2,180 trims the tail a little).
    assert!(
        within(turns, 56_798.0 / 393.0, 0.15),
        "{turns} main turns per session"
    );
}

#[test]
fn generated_sessions_are_valid_trace_lines_that_grow_by_extension() {
    let s = sessions("agentx-062126", 3, 20);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("gen.jsonl");
    let text: String = s.iter().map(|x| x.to_json_line() + "\n").collect();
    std::fs::write(&p, text).unwrap();
    // The reader checks every turn's length against its blocks.
    let back: Vec<Session> = read(&p, Format::Sessions)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(back, s);
    for x in &s {
        for w in x.turns.windows(2) {
            let (a, b) = (&w[0].hash_ids, &w[1].hash_ids);
            // Each prompt extends the last, or keeps a part of it (an edit or a compaction).
            let kept = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            assert!(b.starts_with(a) || (kept > 0 && kept < a.len()));
            assert!(w[1].start >= w[0].start);
        }
        for a in &x.subagents {
            // A spawn: a fresh context, no block of its parent's.
            assert!(!x
                .turns
                .iter()
                .any(|t| t.hash_ids.contains(&a.turns[0].hash_ids[0])));
            assert_eq!(a.start, x.turns[a.after_turn.unwrap()].start);
        }
    }
}
