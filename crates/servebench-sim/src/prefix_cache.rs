//! Automatic prefix caching, as vLLM's V1 engine and SGLang's radix cache do it: a finished
//! request's full prompt blocks stay in GPU memory under the hash of their content and all
//! blocks before them; a later request whose prompt starts with the same blocks uses them
//! instead of computing them again. Cached blocks no running request uses occupy otherwise
//! free memory and are evicted least recently used first when a request needs the room.
//!
//! Hashes come with the request ([`prompt_block_hashes`]), so two prompts share a block only
//! when they share every token up to its end.

use std::collections::{BTreeMap, HashMap};

pub use servebench_core::hash::chained_block_hashes as prompt_block_hashes;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Running requests using the block.
    refs: u32,
    /// When it was last released (its place in the eviction order while unused).
    tick: u64,
}

/// The cached blocks: each one block of KV memory.
#[derive(Debug, Default)]
pub struct PrefixCache {
    entries: HashMap<u64, Entry>,
    /// Unused blocks by release time: the eviction order.
    unused: BTreeMap<u64, u64>,
    tick: u64,
}

impl PrefixCache {
    /// Blocks held (used or not).
    pub fn blocks(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Blocks held that no running request uses.
    pub fn evictable(&self) -> u64 {
        self.unused.len() as u64
    }

    /// How many of `hashes`' leading blocks are cached, at most `limit`; those are now used.
    pub fn acquire(&mut self, hashes: &[u64], limit: usize) -> u64 {
        let mut n = 0;
        for h in hashes.iter().take(limit) {
            let Some(e) = self.entries.get_mut(h) else {
                break;
            };
            if e.refs == 0 {
                self.unused.remove(&e.tick);
            }
            e.refs += 1;
            n += 1;
        }
        n
    }

    /// A request using `hashes[..used]` is done with them. The last blocks are released first,
    /// so that they are evicted first and a prefix outlives its tail (as vLLM frees them).
    pub fn release(&mut self, hashes: &[u64], used: u64) {
        for h in hashes[..used as usize].iter().rev() {
            if let Some(e) = self.entries.get_mut(h) {
                e.refs -= 1;
                if e.refs == 0 {
                    self.tick += 1;
                    e.tick = self.tick;
                    self.unused.insert(self.tick, *h);
                }
            }
        }
    }

    /// Keeps a finished request's blocks `hashes[from..]` (it computed them), at most `most`
    /// new ones (the blocks it holds); returns how many were new, which the cache now holds
    /// (the others were cached already).
    pub fn insert(&mut self, hashes: &[u64], from: u64, most: u64) -> u64 {
        let mut new = 0;
        let from = (from as usize).min(hashes.len());
        let to = hashes.len().min(from + most as usize);
        // Tail first, as in `release`.
        for h in hashes[from..to].iter().rev() {
            if self.entries.contains_key(h) {
                continue;
            }
            self.tick += 1;
            self.entries.insert(
                *h,
                Entry {
                    refs: 0,
                    tick: self.tick,
                },
            );
            self.unused.insert(self.tick, *h);
            new += 1;
        }
        new
    }

    /// Evicts up to `n` unused blocks, least recently used first; returns how many.
    pub fn evict(&mut self, n: u64) -> u64 {
        let mut freed = 0;
        while freed < n {
            let Some((_, h)) = self.unused.pop_first() else {
                break;
            };
            self.entries.remove(&h);
            freed += 1;
        }
        freed
    }
}

/// Blocks kept in CPU memory (vLLM's CPU offloading connector, SGLang's HiCache host pool):
/// every prompt block a finished request leaves cached on the GPU is also stored here
/// (write-through), and past the capacity the least recently used are dropped. A request whose
/// next blocks after its GPU hits are here loads them over the host link instead of computing
/// them.
#[derive(Debug)]
pub struct HostTier {
    capacity: u64,
    /// Block hash → its tick in `order`.
    at: HashMap<u64, u64>,
    order: BTreeMap<u64, u64>,
    tick: u64,
}

impl HostTier {
    pub fn new(capacity_blocks: u64) -> HostTier {
        HostTier {
            capacity: capacity_blocks,
            at: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
        }
    }

    /// Blocks held.
    pub fn blocks(&self) -> u64 {
        self.at.len() as u64
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Stores (or refreshes) a block, dropping the least recently used past the capacity.
    fn store(&mut self, h: u64) {
        self.tick += 1;
        if let Some(old) = self.at.insert(h, self.tick) {
            self.order.remove(&old);
        }
        self.order.insert(self.tick, h);
        while self.at.len() as u64 > self.capacity {
            let Some((_, gone)) = self.order.pop_first() else {
                break;
            };
            self.at.remove(&gone);
        }
    }

    /// Stores a prompt's blocks, its last ones first, so that a prefix outlives its tail.
    pub fn store_all(&mut self, hashes: &[u64]) {
        for &h in hashes.iter().rev() {
            self.store(h);
        }
    }

    /// How many of `hashes`, from the first, are held; those are now the most recently used.
    pub fn take(&mut self, hashes: &[u64]) -> u64 {
        let n = hashes
            .iter()
            .take_while(|h| self.at.contains_key(h))
            .count();
        self.store_all(&hashes[..n]);
        n as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_outlives_its_tail() {
        let mut c = PrefixCache::default();
        c.insert(&[1, 2, 3, 4], 0, 9);
        assert_eq!(c.evict(2), 2);
        assert_eq!(c.acquire(&[1, 2, 3, 4], 4), 2, "blocks 3 and 4 went first");
    }

    #[test]
    fn unused_blocks_are_evicted_least_recently_released_first() {
        let mut c = PrefixCache::default();
        assert_eq!(c.insert(&[1, 2, 3], 0, 9), 3);
        assert_eq!(c.insert(&[1, 2, 3, 4], 0, 9), 1);
        assert_eq!(c.acquire(&[1, 2, 7], 3), 2);
        assert_eq!(c.evictable(), 2);
        // 3 was cached before 4: it goes first; 1 and 2 are in use.
        assert_eq!(c.evict(1), 1);
        assert_eq!(c.acquire(&[1, 2, 3], 3), 2);
        c.release(&[1, 2, 3], 2);
        c.release(&[1, 2, 7], 2);
        assert_eq!(c.evict(10), 3);
        assert_eq!(c.blocks(), 0);
    }

    #[test]
    fn the_host_tier_keeps_the_most_recent_blocks_and_matches_prefixes() {
        let mut h = HostTier::new(4);
        h.store_all(&[1, 2, 3]);
        h.store_all(&[1, 2, 5]);
        // 1, 2, 3, 5 fit; after 1, 2, 3 are used again, storing 6 and 7 drops the two least
        // recently used: 5, then 3.
        assert_eq!(h.take(&[1, 2, 3]), 3);
        h.store_all(&[6, 7]);
        assert_eq!(h.blocks(), 4);
        assert_eq!(h.take(&[1, 2, 5]), 2, "5 was dropped");
        assert_eq!(h.take(&[1, 2, 3]), 2, "so was 3");
        assert_eq!(h.take(&[6, 7]), 2);
        assert_eq!(h.take(&[9, 1, 2]), 0, "a match starts at the first block");
    }
}
