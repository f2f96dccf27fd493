//! Dense ids for sockets and listeners.
//!
//! An id is at once the mio token, the index into the JS thread's tables and the number the JS
//! dispatcher looks sockets up by. It goes back to the pool only when the last holder of the socket
//! lets go (see `SocketCore::drop`), so an event can never reach a newer socket that took its id.

use parking_lot::Mutex;

/// Token 0 belongs to the loop's waker; ids start at 1.
pub const FIRST_ID: u32 = 1;

#[derive(Default)]
pub struct IdPool {
  inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
  free: Vec<u32>,
  issued: u32,
}

impl IdPool {
  pub fn alloc(&self) -> u32 {
    let mut inner = self.inner.lock();
    match inner.free.pop() {
      Some(id) => id,
      None => {
        inner.issued += 1;
        inner.issued + FIRST_ID - 1
      }
    }
  }

  pub fn free(&self, id: u32) {
    self.inner.lock().free.push(id);
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn ids_start_at_one_and_are_reused_after_free() {
    let pool = IdPool::default();
    assert_eq!(pool.alloc(), 1);
    assert_eq!(pool.alloc(), 2);
    pool.free(1);
    assert_eq!(pool.alloc(), 1);
    assert_eq!(pool.alloc(), 3);
  }
}
