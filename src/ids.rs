//! Socket and listener ids.
//!
//! An id is at once the mio token, the key of the JS thread's tables and the number events carry to
//! the JS dispatcher. Its low bits are a slot index, reused once every holder of the socket let go
//! (see `SocketCore::drop`); its high bits count how often that slot was reused. So an event still
//! queued for a closed socket never matches the newer socket that took its slot: every table
//! compares the whole id.

use parking_lot::Mutex;

/// Bits of an id that index a slot: up to 4M sockets open at once.
pub const INDEX_BITS: u32 = 22;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
/// Ids stay positive as `i32` (they cross to JS in an `Int32Array`).
const GENERATIONS: u32 = 1 << (31 - INDEX_BITS);

/// The slot of an id, for indexing tables.
pub fn index(id: u32) -> usize {
  (id & INDEX_MASK) as usize
}

#[derive(Default)]
pub struct IdPool {
  inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
  free: Vec<u32>,
  /// Generation of each slot handed out so far; slot 0 is the loop's waker.
  generations: Vec<u32>,
}

impl IdPool {
  pub fn alloc(&self) -> u32 {
    let mut inner = self.inner.lock();
    if inner.generations.is_empty() {
      inner.generations.push(0);
    }
    let slot = match inner.free.pop() {
      Some(slot) => slot,
      None => {
        inner.generations.push(0);
        (inner.generations.len() - 1) as u32
      }
    };
    let generation = &mut inner.generations[slot as usize];
    *generation = (*generation + 1) % GENERATIONS;
    slot | (*generation << INDEX_BITS)
  }

  pub fn free(&self, id: u32) {
    self.inner.lock().free.push(id & INDEX_MASK);
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn slots_start_at_one_and_are_reused_after_free() {
    let pool = IdPool::default();
    let a = pool.alloc();
    let b = pool.alloc();
    assert_eq!(index(a), 1);
    assert_eq!(index(b), 2);
    pool.free(a);
    let c = pool.alloc();
    assert_eq!(index(c), 1);
    assert_eq!(index(pool.alloc()), 3);
  }

  #[test]
  fn a_reused_slot_gets_a_new_id() {
    let pool = IdPool::default();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
      let id = pool.alloc();
      assert!(seen.insert(id), "id {id} handed out twice");
      assert!((id as i32) > 0);
      pool.free(id);
    }
  }
}
