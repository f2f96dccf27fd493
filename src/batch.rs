//! The batch of events that crosses from the loop thread to JS in one wake-up.
//!
//! Events are four `i32`s: `[kind, id, a, b]`. Bytes read from sockets are appended to one arena;
//! a `DATA` event points into it (`a` = offset, `b` = length). JS receives the events as an
//! `Int32Array` and the arena as one `Buffer`, and hands each `data` handler a view of its part.

use std::sync::Arc;

use crate::socket_core::SocketCore;
use crate::tls::verify::NodeTlsError;

/// `[OPEN, id, listener_id, 0]`: a listener accepted a connection.
pub const OPEN: i32 = 1;
/// `[CONNECTED, id, 0, 0]`: a client connect succeeded.
pub const CONNECTED: i32 = 2;
/// `[CONNECT_ERROR, id, errno, index]`: every address failed; `errno` is the last failure, of
/// the address at `index` in the list given to connect.
pub const CONNECT_ERROR: i32 = 3;
/// `[DATA, id, offset, length]`: bytes of one read.
pub const DATA: i32 = 4;
/// `[END, id, 0, 0]`: the peer sent FIN.
pub const END: i32 = 5;
/// `[DRAIN, id, 0, 0]`: the socket takes writes again.
pub const DRAIN: i32 = 6;
/// `[ERROR, id, errno, 0]`: the connection failed (reset, ...).
pub const ERROR: i32 = 7;
/// `[TIMEOUT, id, 0, 0]`: the inactivity timer expired.
pub const TIMEOUT: i32 = 8;
/// `[ACCEPT_ERROR, listener_id, errno, 0]`: accept failed (out of descriptors, ...).
pub const ACCEPT_ERROR: i32 = 9;
/// `[UNLISTENED, listener_id, 0, 0]`: the loop dropped a stopped listener; no event names it again.
pub const UNLISTENED: i32 = 10;
/// `[FLUSHED, id, 0, 0]`: a released socket's queued `end()` data is out (or the peer is gone); the
/// process no longer needs to stay alive for it.
pub const FLUSHED: i32 = 11;
/// `[HANDSHAKE, id, ok, error]`: the TLS handshake ended; `error` indexes `Batch::errors` (-1: none):
/// the failure, or with `ok` the verification error that `rejectUnauthorized: false` let pass.
pub const HANDSHAKE: i32 = 12;
/// `[TLS_ERROR, id, error, 0]`: a fatal TLS error after the handshake (alert, bad record).
pub const TLS_ERROR: i32 = 13;
/// `[TLS_DATA, id, offset, length]`: decrypted bytes. (`DATA` on a TLS socket can only be
/// ciphertext read as plain before `upgradeTLS` took effect; JS feeds it back to the session.)
pub const TLS_DATA: i32 = 14;
/// `[FAILED, id, errno, 0]`: the loop itself failed while handling the socket (a panic): JS reports
/// it to `error`, then closes the socket with it.
pub const FAILED: i32 = 15;

pub const EVENT_WORDS: usize = 4;

#[derive(Default)]
pub struct Batch {
  pub events: Vec<i32>,
  pub data: Vec<u8>,
  /// Sockets created on the loop thread that JS has not seen yet, in event order.
  pub opened: Vec<Arc<SocketCore>>,
  /// `(code, message)` of TLS errors that events refer to by index.
  pub errors: Vec<(String, String)>,
}

impl Batch {
  pub fn push(&mut self, kind: i32, id: u32, a: i32, b: i32) {
    self.events.extend_from_slice(&[kind, id as i32, a, b]);
  }

  /// Stores an error for an event to refer to; -1 for none.
  pub fn push_error(&mut self, err: Option<NodeTlsError>) -> i32 {
    match err {
      Some(e) => {
        self.errors.push((e.code.to_string(), e.message));
        (self.errors.len() - 1) as i32
      }
      None => -1,
    }
  }

  pub fn is_empty(&self) -> bool {
    self.events.is_empty()
  }

  pub fn len(&self) -> usize {
    self.events.len() / EVENT_WORDS
  }

  pub fn clear(&mut self) {
    self.events.clear();
    self.data.clear();
    self.opened.clear();
    self.errors.clear();
  }

  /// Moves `other`'s events after ours, rebasing its data offsets. Cheap when we are empty.
  pub fn append(&mut self, other: &mut Batch) {
    if self.is_empty() {
      std::mem::swap(self, other);
      other.clear();
      return;
    }
    let base = self.data.len() as i32;
    let error_base = self.errors.len() as i32;
    self.data.extend_from_slice(&other.data);
    for ev in other.events.chunks_exact_mut(EVENT_WORDS) {
      match ev[0] {
        DATA | TLS_DATA => ev[2] += base,
        HANDSHAKE if ev[3] >= 0 => ev[3] += error_base,
        TLS_ERROR => ev[2] += error_base,
        _ => {}
      }
    }
    self.errors.append(&mut other.errors);
    self.events.extend_from_slice(&other.events);
    self.opened.append(&mut other.opened);
    other.clear();
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn append_rebases_data_offsets() {
    let mut a = Batch::default();
    a.data.extend_from_slice(b"abc");
    a.push(DATA, 1, 0, 3);
    let mut b = Batch::default();
    b.data.extend_from_slice(b"de");
    b.push(DATA, 2, 0, 2);
    b.push(END, 2, 0, 0);
    a.append(&mut b);
    assert_eq!(a.data, b"abcde");
    assert_eq!(a.events, vec![DATA, 1, 0, 3, DATA, 2, 3, 2, END, 2, 0, 0]);
    assert!(b.is_empty() && b.data.is_empty());
  }

  #[test]
  fn append_into_empty_swaps() {
    let mut a = Batch::default();
    let mut b = Batch::default();
    b.data.extend_from_slice(b"xy");
    b.push(DATA, 7, 0, 2);
    a.append(&mut b);
    assert_eq!(a.len(), 1);
    assert_eq!(a.data, b"xy");
    assert!(b.is_empty());
  }
}
