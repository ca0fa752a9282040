//! Serialised API answers kept while the store does not change: a view of 100,000 points
//! takes longer to read and write than to send, and every visitor asks for the same few.
//!
//! Valid for one store generation (`Store::generation`, raised by every committed write of any
//! process): the first answer after a write is computed afresh, never an older one served.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// The answers of one store generation, by request target, within a byte budget (the oldest
/// kept go first).
#[derive(Debug)]
pub struct Answers {
    generation: Option<i64>,
    docs: HashMap<String, Arc<[u8]>>,
    order: VecDeque<String>,
    bytes: usize,
    budget: usize,
}

impl Answers {
    /// Keeps at most `budget` bytes of answers (0: none).
    pub fn new(budget: usize) -> Answers {
        Answers {
            generation: None,
            docs: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    /// Forgets every answer when the store is no longer at the generation they were read at.
    pub fn at(&mut self, generation: i64) {
        if self.generation != Some(generation) {
            self.docs.clear();
            self.order.clear();
            self.bytes = 0;
            self.generation = Some(generation);
        }
    }

    pub fn get(&self, target: &str) -> Option<Arc<[u8]>> {
        self.docs.get(target).cloned()
    }

    /// Keeps `body` as the answer to `target`, making room within the budget (an answer larger
    /// than the whole budget is not kept).
    pub fn put(&mut self, target: &str, body: Arc<[u8]>) {
        if body.len() > self.budget || self.docs.contains_key(target) {
            return;
        }
        while self.bytes + body.len() > self.budget {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(b) = self.docs.remove(&old) {
                self.bytes -= b.len();
            }
        }
        self.bytes += body.len();
        self.order.push_back(target.to_string());
        self.docs.insert(target.to_string(), body);
    }

    /// Bytes kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether any answer can be kept.
    pub fn keeps(&self) -> bool {
        self.budget > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(n: usize) -> Arc<[u8]> {
        vec![b'x'; n].into()
    }

    #[test]
    fn answers_last_one_generation_and_fit_the_budget_oldest_out_first() {
        let mut a = Answers::new(10);
        a.at(1);
        a.put("a", body(4));
        a.put("b", body(4));
        assert_eq!(a.bytes(), 8);
        // "c" needs room: "a", the oldest, goes.
        a.put("c", body(4));
        assert!(a.get("a").is_none());
        assert_eq!(a.get("b").unwrap().len(), 4);
        assert_eq!(a.bytes(), 8);
        // Larger than the budget: not kept, nothing evicted for it.
        a.put("d", body(11));
        assert!(a.get("d").is_none());
        assert_eq!(a.bytes(), 8);
        // The same generation keeps them; another forgets them all.
        a.at(1);
        assert!(a.get("c").is_some());
        a.at(2);
        assert!(a.get("b").is_none() && a.get("c").is_none());
        assert_eq!(a.bytes(), 0);
        // A budget of 0 keeps nothing.
        let mut none = Answers::new(0);
        assert!(a.keeps() && !none.keeps());
        none.at(1);
        none.put("a", body(1));
        assert!(none.get("a").is_none());
    }
}
