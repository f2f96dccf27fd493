//! Arenas for the bytes of big batches, handed to JS without a copy.
//!
//! A batch's bytes are read into one `Vec` (the arena). A big one becomes the JS `Buffer` itself
//! (an external buffer) rather than being copied into a new one: the copy, and the page faults
//! of a freshly allocated Buffer, were a fifth of the server's CPU when streaming. When JS lets go
//! of the Buffer (and every chunk viewing it), its finalizer returns the arena here, so the next
//! reads land in memory that is already mapped.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::clock::now_ms;

/// Arenas kept, as a rule.
const KEPT_IDLE: usize = 8;
/// Arenas kept while batches of `FULL` bytes or more keep coming. A scavenge hands back at once
/// every arena JS let go of since the last one (about 32 when one connection streams), and those
/// not kept were freed: the next batches then read into fresh pages, whose faults (and the frees'
/// munmap) were 7% of a streaming server's CPU. Smaller batches touch less of an arena, and there
/// many cold kept ones cost more than the faults of fresh ones (10 x 16 KiB echo: 10% more CPU).
const KEPT: usize = 48;
const FULL: usize = 512 << 10;
/// Kept arenas beyond `KEPT_IDLE` are freed once no big batch was made for this long.
const IDLE_MS: u64 = 2000;
/// An arena bigger than this is freed rather than kept.
const KEPT_CAPACITY: usize = 4 << 20;
/// Batches with fewer bytes are copied. Below malloc's mmap threshold (128 KiB) the new Buffer
/// comes from warm heap memory and the copy is cheap, cheaper than creating and finalizing an
/// external buffer (measured: 64 connections x 16 KiB echo, 20.0 us per message copied, 24.1
/// handed over at 32 KiB); above it every page of a new Buffer faults.
pub const HAND_OVER_MIN: usize = 128 << 10;

#[derive(Default)]
pub struct Arenas {
  kept: Mutex<Vec<Vec<u8>>>,
  /// `kept.len()` and when `take` last ran, for the loop's cheap look (`trim_at`).
  count: AtomicUsize,
  last_take_ms: AtomicU64,
}

impl Arenas {
  /// An empty arena, with room from an earlier batch when there is one.
  pub fn take(&self) -> Vec<u8> {
    self.last_take_ms.store(now_ms(), Ordering::Relaxed);
    let mut kept = self.kept.lock();
    let arena = kept.pop().unwrap_or_default();
    self.count.store(kept.len(), Ordering::Relaxed);
    arena
  }

  pub fn give(&self, mut arena: Vec<u8>) {
    if arena.capacity() == 0 || arena.capacity() > KEPT_CAPACITY {
      return;
    }
    let limit = if arena.len() >= FULL && !self.idle(now_ms()) {
      KEPT
    } else {
      KEPT_IDLE
    };
    arena.clear();
    let mut kept = self.kept.lock();
    if kept.len() < limit {
      kept.push(arena);
      self.count.store(kept.len(), Ordering::Relaxed);
    }
  }

  /// When the loop should call `trim`: the batches' stopping for `IDLE_MS` lets arenas go.
  pub fn trim_at(&self) -> Option<u64> {
    (self.count.load(Ordering::Relaxed) > KEPT_IDLE)
      .then(|| self.last_take_ms.load(Ordering::Relaxed) + IDLE_MS)
  }

  /// Frees the arenas beyond `KEPT_IDLE` once no big batch came for `IDLE_MS`.
  pub fn trim(&self, now: u64) {
    if self.count.load(Ordering::Relaxed) <= KEPT_IDLE || !self.idle(now) {
      return;
    }
    let surplus = {
      let mut kept = self.kept.lock();
      let keep = KEPT_IDLE.min(kept.len());
      let surplus = kept.split_off(keep);
      self.count.store(kept.len(), Ordering::Relaxed);
      surplus
    };
    drop(surplus); // freed outside the lock
  }

  fn idle(&self, now: u64) -> bool {
    now >= self.last_take_ms.load(Ordering::Relaxed) + IDLE_MS
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn arenas_come_back_empty_with_their_room() {
    let arenas = Arenas::default();
    let mut a = arenas.take();
    a.extend_from_slice(&[7; 1000]);
    let cap = a.capacity();
    arenas.give(a);
    let b = arenas.take();
    assert!(b.is_empty());
    assert_eq!(b.capacity(), cap);
    assert_eq!(arenas.take().capacity(), 0, "only one was given back");
  }

  #[test]
  fn huge_arenas_and_surplus_are_freed() {
    let arenas = Arenas::default();
    arenas.give(Vec::with_capacity(KEPT_CAPACITY + 1));
    assert_eq!(arenas.take().capacity(), 0);
    for _ in 0..KEPT_IDLE + 3 {
      arenas.give(vec![0; 16]);
    }
    assert_eq!(
      arenas.kept.lock().len(),
      KEPT_IDLE,
      "small batches' arenas: the usual few"
    );
    for _ in 0..KEPT + 3 {
      arenas.give(vec![0; FULL]);
    }
    assert_eq!(
      arenas.kept.lock().len(),
      KEPT,
      "big batches' arenas: more, not without limit"
    );
  }

  #[test]
  fn surplus_goes_once_big_batches_stop() {
    let arenas = Arenas::default();
    drop(arenas.take());
    let now = now_ms();
    for _ in 0..KEPT_IDLE + 2 {
      arenas.give(vec![0; FULL]);
    }
    assert_eq!(
      arenas.kept.lock().len(),
      KEPT_IDLE + 2,
      "kept while big batches come"
    );
    let at = arenas.trim_at().expect("more than the idle few are kept");
    assert!(at >= now + IDLE_MS);
    arenas.trim(now);
    assert_eq!(arenas.kept.lock().len(), KEPT_IDLE + 2, "not idle yet");
    arenas.trim(at + IDLE_MS);
    assert_eq!(arenas.kept.lock().len(), KEPT_IDLE);
    assert_eq!(arenas.trim_at(), None, "nothing left to trim");
  }
}
