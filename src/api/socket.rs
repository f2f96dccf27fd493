//! Socket operations on the JS thread. `write` is a direct non-blocking send: the loop thread is
//! involved only when the kernel refuses bytes and JS asks for `drain`.

use std::net::Shutdown;
use std::sync::atomic::Ordering;

use napi::bindgen_prelude::BufferSlice;
use napi::{Env, Result};
use napi_derive::napi;
use socket2::SockAddr;

use crate::env_state::EnvState;
use crate::errors::neg_errno;
use crate::reactor::Command;
use crate::socket_core::SocketCore;

/// What `write_bytes` returns for a range outside the view: JS checked the range against the
/// view's `byteLength`, so only a view that lies about it (a subclass's getter) gets here.
pub const OUT_OF_VIEW: i32 = i32::MIN;

/// Sends `data[offset..offset + length]` (the `write` call, src/api/raw_calls.rs). Returns the
/// bytes the kernel took (0 when full), or a negative errno when the connection failed, -1 for
/// an unknown socket, or `OUT_OF_VIEW`.
pub fn write_bytes(env: &Env, id: u32, data: &[u8], offset: u32, length: u32) -> Result<i32> {
  let start = offset as usize;
  let Some(bytes) = data.get(start..start.saturating_add(length as usize)) else {
    return Ok(OUT_OF_VIEW);
  };
  send(env, id, bytes)
}

/// `write` for a whole string, without a Buffer in between (`writeString`): its UTF-8 bytes.
pub fn write_str_bytes(env: &Env, id: u32, utf8: &[u8]) -> Result<i32> {
  send(env, id, utf8)
}

fn send(env: &Env, id: u32, bytes: &[u8]) -> Result<i32> {
  let state = EnvState::get(env)?;
  let Some(core) = state.socket(id) else {
    return Ok(-1);
  };
  let result = core.send(bytes);
  flush_later(state, core);
  Ok(match result {
    Ok(n) => n.min(i32::MAX as usize) as i32,
    Err(e) => neg_errno(&e),
  })
}

/// TLS records the socket did not take yet go out from the loop once it is writable.
fn flush_later(state: &EnvState, core: &SocketCore) {
  if core.flush_wanted.load(Ordering::Relaxed) {
    state.shared.rearm(core);
  }
}

/// Asks for a `DRAIN` event once the socket takes writes again.
#[napi]
pub fn want_drain(env: Env, id: u32) -> Result<()> {
  let state = EnvState::get(&env)?;
  if let Some(core) = state.socket(id) {
    core.want_drain.store(true, Ordering::SeqCst);
    state.shared.rearm(core);
  }
  Ok(())
}

/// `read: false` sends FIN; `read: true` stops reading.
#[napi]
pub fn shutdown(env: Env, id: u32, read: bool) -> Result<()> {
  let state = EnvState::get(&env)?;
  if let Some(core) = state.socket(id) {
    if read {
      core.discard_reads.store(true, Ordering::SeqCst);
      // A paused socket now reads (and drops) too: what the pause left unread is read now.
      if core.take_read_missed() {
        state.shared.rearm(core);
      }
    } else {
      let _ = core.finish_writes();
      flush_later(state, core);
    }
  }
  Ok(())
}

/// JS is done with the socket. `reset` closes with RST; otherwise `pending` (unsent `end()` data)
/// and, under TLS, the session's records and close_notify go out first, then FIN. True when JS
/// must keep the process alive for that until the socket's `FLUSHED` event.
#[napi]
pub fn release(
  env: Env,
  id: u32,
  reset: bool,
  pending: Option<BufferSlice>,
  abandon_handshake: Option<bool>,
) -> Result<bool> {
  let state = EnvState::get(&env)?;
  let Some(core) = state.remove_socket(id) else {
    return Ok(false);
  };
  // A hello still held (closed in `open`) goes now, as it would have at the connect: the
  // release below then treats the handshake as any other under way. Unsent, the loop sends it.
  if let Some(tls) = core.tls() {
    match core.socket() {
      Some(sock) => drop(tls.send_hello(sock)),
      None => tls.drop_hold(),
    }
  }
  if let (Some(true), Some(tls)) = (abandon_handshake, core.tls()) {
    tls.abandon_handshake.store(true, Ordering::Relaxed);
  }
  let pending = if reset {
    Vec::new()
  } else {
    pending.map(|p| p.to_vec()).unwrap_or_default()
  };
  let broken = core.is_broken();
  // Bytes write() handed the kernel that it has not sent yet: the process waits for them as for
  // end() data, or its exit would close the socket with them unsent (a reset, when the peer is
  // still talking, that the peer may not even see as one).
  let mut unsent = false;
  if broken {
    // Nothing to say goodbye to.
  } else if reset {
    core.set_reset_on_close();
  } else if pending.is_empty() && core.tls().is_none() {
    unsent = core.unacked_bytes() > 0;
    let _ = core.shutdown(Shutdown::Write);
  } else if let (true, Some(tls), Some(sock)) = (pending.is_empty(), core.tls(), core.socket()) {
    // close_notify (and FIN, when it all went out) now, from this thread, as a plain socket's FIN
    // goes: a process that exits in the `close` handler still ends the session cleanly. The
    // loop's linger finds it sent and finishes the rest.
    if !tls.is_handshaking() && matches!(tls.close_notify(sock), Ok(true)) {
      let _ = core.shutdown(Shutdown::Write);
    }
  }
  let hold = !reset && !broken && (!pending.is_empty() || core.tls().is_some() || unsent);
  drop(core);
  state.send(Command::Release { id, pending, hold });
  Ok(hold)
}

/// Test hook: how many times the loop thread has woken this environment's JS thread.
#[napi]
pub fn notifications(env: Env) -> Result<f64> {
  Ok(
    EnvState::get(&env)?
      .shared
      .notifications
      .load(Ordering::Relaxed) as f64,
  )
}

/// Test hook: makes the loop thread panic while handling socket `id`.
#[napi]
pub fn inject_panic(env: Env, id: u32) -> Result<()> {
  let state = EnvState::get(&env)?;
  state.send(Command::Panic(id));
  Ok(())
}

#[napi]
pub fn pause(env: Env, id: u32) -> Result<()> {
  let state = EnvState::get(&env)?;
  if let Some(core) = state.socket(id) {
    core.paused.store(true, Ordering::SeqCst);
  }
  Ok(())
}

#[napi]
pub fn resume(env: Env, id: u32) -> Result<()> {
  let state = EnvState::get(&env)?;
  if let Some(core) = state.socket(id) {
    if core.paused.swap(false, Ordering::SeqCst) {
      if core.take_read_missed() {
        state.shared.rearm(core);
      }
      // Ciphertext handed over while paused (upgradeTLS feeds it before resuming, so that the
      // loop cannot read newer bytes first) waits in the session: no readiness announces it.
      if core.tls().is_some_and(|tls| tls.has_early()) {
        state.send(crate::reactor::Command::Read(id));
      }
    }
  }
  Ok(())
}

/// Arms (ms > 0) or disarms (0) the inactivity timer.
#[napi]
pub fn set_timeout(env: Env, id: u32, ms: f64) -> Result<()> {
  let state = EnvState::get(&env)?;
  let Some(core) = state.socket(id) else {
    return Ok(());
  };
  let ms = if ms.is_finite() && ms > 0.0 {
    ms.ceil() as u64
  } else {
    0
  };
  core.arm_timeout(ms);
  if ms > 0 {
    state.send(Command::Watch(id));
  }
  Ok(())
}

#[napi]
pub fn set_no_delay(env: Env, id: u32, on: bool) -> Result<bool> {
  let state = EnvState::get(&env)?;
  Ok(state.socket(id).is_some_and(|c| c.set_nodelay(on)))
}

#[napi]
pub fn set_keep_alive(env: Env, id: u32, on: bool, initial_delay_ms: f64) -> Result<bool> {
  let state = EnvState::get(&env)?;
  let ms = if initial_delay_ms.is_finite() && initial_delay_ms > 0.0 {
    initial_delay_ms as u64
  } else {
    0
  };
  Ok(state.socket(id).is_some_and(|c| c.set_keepalive(on, ms)))
}

/// The socket's file descriptor (Bun's `socket.fd`), -1 once it is gone.
#[napi]
pub fn socket_fd(env: Env, id: u32) -> Result<i32> {
  let state = EnvState::get(&env)?;
  Ok(state.socket(id).and_then(|c| c.fd()).unwrap_or(-1))
}

/// Sets the type of service (0-255, checked by JS): 0, or a negative errno as Bun returns.
#[napi]
pub fn set_type_of_service(env: Env, id: u32, tos: u32) -> Result<i32> {
  let state = EnvState::get(&env)?;
  Ok(match state.socket(id).map(|c| c.set_type_of_service(tos)) {
    Some(Ok(())) => 0,
    Some(Err(e)) => neg_errno(&e),
    None => -libc::EBADF,
  })
}

/// The type of service, or a negative errno.
#[napi]
pub fn get_type_of_service(env: Env, id: u32) -> Result<i32> {
  let state = EnvState::get(&env)?;
  Ok(match state.socket(id).map(|c| c.type_of_service()) {
    Some(Ok(tos)) => tos as i32,
    Some(Err(e)) => neg_errno(&e),
    None => -libc::EBADF,
  })
}

/// `[address, port, family]` of the peer (`peer`) or the local end; `null` for unix sockets.
#[napi]
pub fn socket_address(env: Env, id: u32, peer: bool) -> Result<Option<Vec<String>>> {
  let state = EnvState::get(&env)?;
  let Some(core) = state.socket(id) else {
    return Ok(None);
  };
  let addr = if peer {
    core.peer_addr()
  } else {
    core.local_addr()
  };
  Ok(addr.as_ref().and_then(describe))
}

pub(crate) fn describe(addr: &SockAddr) -> Option<Vec<String>> {
  let sa = addr.as_socket()?;
  let family = if sa.is_ipv6() { "IPv6" } else { "IPv4" };
  Some(vec![
    sa.ip().to_string(),
    sa.port().to_string(),
    family.to_string(),
  ])
}
