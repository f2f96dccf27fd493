//! io errors → the negative errno numbers that Node uses (`err.errno`), for JS to build
//! `node:net`-style errors from (`code` via `util.getSystemErrorName`).

use std::io;

/// Node's `UV_EAI_NONAME`: what `dns.lookup` reports as `ENOTFOUND`.
pub const ENOTFOUND: i32 = -3008;

/// The negative errno of an io error, as Node reports it; `EIO` when the error has none.
/// The negative errno a read reports for `err`: a reset the kernel recorded as EPIPE (one that
/// came after the peer's FIN, in CLOSE_WAIT, or that a send met first) is ECONNRESET, as node:net
/// and Bun name a peer's reset when reading.
pub fn read_errno(err: &io::Error) -> i32 {
  match err.raw_os_error() {
    Some(libc::EPIPE) => -libc::ECONNRESET,
    _ => neg_errno(err),
  }
}

pub fn neg_errno(err: &io::Error) -> i32 {
  match err.raw_os_error() {
    Some(code) if code > 0 => -code,
    _ => match err.kind() {
      io::ErrorKind::InvalidInput => -libc::EINVAL,
      io::ErrorKind::NotFound => ENOTFOUND,
      _ => -libc::EIO,
    },
  }
}

pub fn would_block(err: &io::Error) -> bool {
  err.kind() == io::ErrorKind::WouldBlock
}

pub fn interrupted(err: &io::Error) -> bool {
  err.kind() == io::ErrorKind::Interrupted
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn os_errors_become_negative_errno() {
    let err = io::Error::from_raw_os_error(libc::ECONNREFUSED);
    assert_eq!(neg_errno(&err), -libc::ECONNREFUSED);
  }

  #[test]
  fn errors_without_errno_still_get_one() {
    let err = io::Error::other("boom");
    assert_eq!(neg_errno(&err), -libc::EIO);
  }
}
