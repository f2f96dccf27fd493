//! Arenas for the bytes of big batches, handed to JS without a copy.
//!
//! A batch's bytes are read into one `Vec` (the arena). A big one becomes the JS `Buffer` itself
//! (an external buffer) rather than being copied into a new one: the copy, and the page faults
//! of a freshly allocated Buffer, were a fifth of the server's CPU when streaming. When JS lets go
//! of the Buffer (and every chunk viewing it), its finalizer returns the arena here, so the next
//! reads land in memory that is already mapped.

use parking_lot::Mutex;

/// Arenas kept for reuse; more are freed.
const KEPT: usize = 8;
/// An arena bigger than this is freed rather than kept.
const KEPT_CAPACITY: usize = 4 << 20;
/// Batches with fewer bytes are copied. Below malloc's mmap threshold (128 KiB) the new Buffer
/// comes from warm heap memory and the copy is cheap, cheaper than creating and finalizing an
/// external buffer (measured: 64 connections x 16 KiB echo, 20.0 us per message copied, 24.1
/// handed over at 32 KiB); above it every page of a new Buffer faults.
pub const HAND_OVER_MIN: usize = 128 << 10;

#[derive(Default)]
pub struct Arenas(Mutex<Vec<Vec<u8>>>);

impl Arenas {
  /// An empty arena, with room from an earlier batch when there is one.
  pub fn take(&self) -> Vec<u8> {
    self.0.lock().pop().unwrap_or_default()
  }

  pub fn give(&self, mut arena: Vec<u8>) {
    if arena.capacity() == 0 || arena.capacity() > KEPT_CAPACITY {
      return;
    }
    arena.clear();
    let mut kept = self.0.lock();
    if kept.len() < KEPT {
      kept.push(arena);
    }
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
    for _ in 0..KEPT + 3 {
      arenas.give(Vec::with_capacity(16));
    }
    assert_eq!(arenas.0.lock().len(), KEPT);
  }
}
