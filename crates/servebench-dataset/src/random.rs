//! InferenceX's random dataset (rule and recipe format in the crate docs).

use crate::store::{replay, RequestHasher, Store};
use crate::{Built, DatasetError, DatasetSpec, LengthAcc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use servebench_tokenizer::Tokenizer;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// InferenceX's (vLLM's) retry limit for the length repair.
pub(crate) const MAX_REPAIRS: usize = 10;
/// Prompts per unit of work handed to a thread.
const BLOCK: usize = 32;

const STREAM_MEASURED: u64 = 0;
const STREAM_WARMUP: u64 = 1;
const STREAM_REQUEST_BASE: u64 = 2;

/// Target lengths and offsets of one group (measured or warmup) of requests.
struct Draws {
    input: Vec<u32>,
    output: Vec<u32>,
    offset: Vec<u32>,
}

fn lower(len: u32, ratio: f64) -> u32 {
    ((f64::from(len) * ratio).floor() as u32).min(len)
}

fn draw(spec: &DatasetSpec, stream: u64, n: usize, vocab: u32) -> Draws {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    rng.set_stream(stream);
    let (ilo, olo) = (
        lower(spec.isl, spec.range_ratio),
        lower(spec.osl, spec.range_ratio),
    );
    let input = (0..n).map(|_| rng.random_range(ilo..=spec.isl)).collect();
    let output = (0..n).map(|_| rng.random_range(olo..=spec.osl)).collect();
    let offset = (0..n).map(|_| rng.random_range(0..vocab)).collect();
    Draws {
        input,
        output,
        offset,
    }
}

/// One generated prompt.
pub(crate) struct Generated {
    /// The final text, exactly as the rule produced it.
    pub(crate) text: String,
    /// Client token count of `text`.
    pub(crate) input_len: u32,
    pub(crate) target: u32,
    /// The replay recipe (byte-level tokenizers only; not yet verified).
    pub(crate) recipe: Option<Vec<u32>>,
}

/// Generates prompt `i` (global index: measured `0..N`, warmups `N..N+W`) by the rule.
pub(crate) fn generate(
    tok: &Tokenizer,
    seed: u64,
    i: usize,
    target: u32,
    offset: u32,
) -> Generated {
    let vocab = u64::from(tok.vocab_size());
    let start = ((u64::from(offset) + i as u64) % vocab) as u32;
    let ids: Vec<u32> = (0..u64::from(target))
        .map(|j| ((u64::from(start) + j) % vocab) as u32)
        .collect();
    let mut text = tok.decode(&ids);
    let byte_level = tok.is_byte_level();
    let mut recipe = byte_level.then(|| vec![start, target]);
    let mut rng: Option<ChaCha8Rng> = None;
    let mut final_count = None;
    for _ in 0..MAX_REPAIRS {
        let mut enc = tok.encode(&text);
        if enc.len() == target as usize {
            final_count = Some(target);
            break;
        }
        let keep = enc.len().min(target as usize);
        enc.truncate(keep);
        let add = target as usize - keep;
        if let Some(r) = recipe.as_mut() {
            let kept: usize = enc
                .iter()
                .map(|&id| tok.token_bytes(id).map_or(0, <[u8]>::len))
                .sum();
            r.push(u32::try_from(kept).unwrap_or(u32::MAX));
            r.push(add as u32);
        }
        if add > 0 {
            let rng = rng.get_or_insert_with(|| {
                let mut r = ChaCha8Rng::seed_from_u64(seed);
                r.set_stream(STREAM_REQUEST_BASE + i as u64);
                r
            });
            for _ in 0..add {
                let id = rng.random_range(0..vocab as u32);
                enc.push(id);
                if let Some(r) = recipe.as_mut() {
                    r.push(id);
                }
            }
        }
        text = tok.decode(&enc);
    }
    let input_len = final_count.unwrap_or_else(|| tok.count(&text) as u32);
    Generated {
        text,
        input_len,
        target,
        recipe,
    }
}

/// Output of a worker for one prompt, in the order of assembly.
struct Item {
    gen: Generated,
    output_len: u32,
    /// The recipe replays to exactly `gen.text`.
    verified: bool,
}

/// Collects finished blocks and appends them to the store (and the hash) in index order.
struct Assembler {
    next_block: usize,
    pending: BTreeMap<usize, Vec<Item>>,
    store: Store,
    hasher: RequestHasher,
    n_measured: usize,
    done: usize,
    input: LengthAcc,
    output: LengthAcc,
}

impl Assembler {
    fn accept(&mut self, block: usize, items: Vec<Item>) {
        self.pending.insert(block, items);
        while let Some(items) = self.pending.remove(&self.next_block) {
            self.next_block += 1;
            for it in items {
                if self.done < self.n_measured {
                    self.hasher.add_raw(b'T', &it.gen.text, it.output_len);
                    self.input.add(it.gen.input_len, it.gen.target);
                    self.output.add(it.output_len, it.output_len);
                }
                self.done += 1;
                match (&it.gen.recipe, it.verified) {
                    (Some(r), true) => self.store.push_recipe(r, it.gen.input_len, it.output_len),
                    _ => {
                        let span = self.store.add_text(&it.gen.text);
                        self.store.push_span(
                            span,
                            crate::store::Body::Text,
                            it.gen.input_len,
                            it.output_len,
                        );
                    }
                }
            }
        }
    }
}

pub(crate) fn build(
    spec: &DatasetSpec,
    tok: &Tokenizer,
    threads: usize,
) -> Result<Built, DatasetError> {
    if spec.isl == 0 || spec.osl == 0 {
        return Err(DatasetError::Invalid(format!(
            "the random dataset needs positive input and output lengths (isl {}, osl {})",
            spec.isl, spec.osl
        )));
    }
    if !(0.0..=1.0).contains(&spec.range_ratio) {
        return Err(DatasetError::Invalid(format!(
            "range ratio must be in [0, 1], got {}",
            spec.range_ratio
        )));
    }
    let vocab = tok.vocab_size();
    if vocab == 0 {
        return Err(DatasetError::Invalid(
            "the tokenizer has an empty vocabulary".into(),
        ));
    }
    let (n, w) = (spec.num_prompts, spec.num_warmups);
    let measured = draw(spec, STREAM_MEASURED, n, vocab);
    let warm = draw(spec, STREAM_WARMUP, w, vocab);
    let params = |i: usize| -> (u32, u32, u32) {
        if i < n {
            (measured.input[i], measured.output[i], measured.offset[i])
        } else {
            let j = i - n;
            (warm.input[j], warm.output[j], warm.offset[j])
        }
    };

    let total = n + w;
    let blocks = total.div_ceil(BLOCK);
    let next = AtomicUsize::new(0);
    let asm = Mutex::new(Assembler {
        next_block: 0,
        pending: BTreeMap::new(),
        store: Store::with_capacity(total),
        hasher: RequestHasher::new(),
        n_measured: n,
        done: 0,
        input: LengthAcc::default(),
        output: LengthAcc::default(),
    });
    let work = || loop {
        let b = next.fetch_add(1, Ordering::Relaxed);
        if b >= blocks {
            break;
        }
        let items: Vec<Item> = (b * BLOCK..((b + 1) * BLOCK).min(total))
            .map(|i| {
                let (target, output_len, offset) = params(i);
                let gen = generate(tok, spec.seed, i, target, offset);
                let verified = gen
                    .recipe
                    .as_ref()
                    .is_some_and(|r| replay(tok, r).as_deref() == Some(gen.text.as_str()));
                Item {
                    gen,
                    output_len,
                    verified,
                }
            })
            .collect();
        asm.lock().expect("assembler lock").accept(b, items);
    };
    let threads = threads.clamp(1, blocks.max(1));
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(work);
        }
        work();
    });
    let asm = asm.into_inner().expect("assembler lock");
    debug_assert_eq!(asm.done, total);
    Ok(Built {
        store: asm.store,
        sha256: Some(asm.hasher.finish()),
        input_stats: asm.input.finish(),
        output_stats: asm.output.finish(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_bound_is_floor() {
        assert_eq!(lower(1024, 0.8), 819);
        assert_eq!(lower(8192, 0.8), 6553);
        assert_eq!(lower(1024, 1.0), 1024);
        assert_eq!(lower(1024, 0.0), 0);
        assert_eq!(lower(10, 0.5), 5);
    }
}
