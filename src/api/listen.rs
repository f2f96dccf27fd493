use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mio::unix::SourceFd;
use napi::{Env, Result};
use napi_derive::napi;
use socket2::Socket;

use crate::env_state::EnvState;
use crate::errors::neg_errno;
use crate::listener::{bind_first, bind_unix, resolve_listen_host, ListenOptions, ListenerCore};
use crate::reactor::Command;
use crate::tls::config::ServerContext;

use super::tls::TlsContext;

/// What `listen_tcp`/`listen_unix` report: the listener's id and port, or a negative errno in `id`
/// and the address that failed.
#[napi(object)]
pub struct ListenResult {
  pub id: i32,
  pub port: u32,
  pub address: String,
}

/// The socket options of `listen` (`reusePort` and `ipv6Only` apply to TCP only).
#[napi(object)]
pub struct ListenFlags {
  pub backlog: i32,
  pub reuse_port: bool,
  pub ipv6_only: bool,
  /// TLS: accepted connections wait for JS's `open` before their handshake (see
  /// `ListenerCore::open_first`).
  pub open_first: bool,
}

/// Binds and listens on the first address of `host` that this host can bind.
#[napi]
pub fn listen_tcp(
  env: Env,
  host: String,
  port: u32,
  flags: ListenFlags,
  tls: Option<&TlsContext>,
) -> Result<ListenResult> {
  let tls = tls.and_then(|t| t.server().cloned());
  let state = EnvState::get(&env)?;
  let open_first = flags.open_first;
  let opts = ListenOptions {
    backlog: flags.backlog,
    reuse_port: flags.reuse_port,
    ipv6_only: flags.ipv6_only,
  };
  let addrs = match resolve_listen_host(&host, port as u16) {
    Ok(addrs) => addrs,
    Err(e) => {
      return Ok(ListenResult {
        id: neg_errno(&e),
        port,
        address: host,
      })
    }
  };
  match bind_first(&addrs, &opts) {
    Ok((sock, addr)) => Ok(adopt(
      state,
      sock,
      addr.ip().to_string(),
      tls,
      false,
      open_first,
    )),
    Err((e, addr)) => Ok(ListenResult {
      id: neg_errno(&e),
      port,
      address: addr.map_or(host, |a| a.ip().to_string()),
    }),
  }
}

/// Binds a unix socket at `path` (a leading NUL byte: a Linux abstract name).
#[napi]
pub fn listen_unix(
  env: Env,
  path: String,
  flags: ListenFlags,
  tls: Option<&TlsContext>,
) -> Result<ListenResult> {
  let tls = tls.and_then(|t| t.server().cloned());
  let state = EnvState::get(&env)?;
  let open_first = flags.open_first;
  let opts = ListenOptions {
    backlog: flags.backlog,
    reuse_port: false,
    ipv6_only: false,
  };
  match bind_unix(&path, &opts) {
    Ok(sock) => Ok(adopt(state, sock, path, tls, true, open_first)),
    Err(e) => Ok(ListenResult {
      id: neg_errno(&e),
      port: 0,
      address: path,
    }),
  }
}

fn adopt(
  state: &mut EnvState,
  sock: Socket,
  address: String,
  tls: Option<Arc<ServerContext>>,
  unix: bool,
  open_first: bool,
) -> ListenResult {
  let port = sock
    .local_addr()
    .ok()
    .and_then(|a| a.as_socket())
    .map_or(0, |a| a.port() as u32);
  let mut core = ListenerCore::new(&state.shared.ids, sock, tls);
  core.open_first = AtomicBool::new(open_first);
  if unix {
    core = core.with_socket_file(&address);
  }
  let core = Arc::new(core);
  let id = core.id as i32;
  state.insert_listener(core.clone());
  state.send(Command::Listen(core));
  ListenResult { id, port, address }
}

/// TLS listeners: whether accepted connections wait for JS's `open` before their handshake (the
/// handler table has a `handshake` handler). Set again on `reload`.
#[napi]
pub fn set_listener_open_first(env: Env, id: u32, on: bool) -> Result<()> {
  let state = EnvState::get(&env)?;
  if let Some(core) = state.listener(id) {
    core.open_first.store(on, Ordering::SeqCst);
  }
  Ok(())
}

/// The listening socket's file descriptor (Bun's `listener.fd`), -1 once stopped.
#[napi]
pub fn listener_fd(env: Env, id: u32) -> Result<i32> {
  let state = EnvState::get(&env)?;
  Ok(state.listener(id).and_then(|c| c.fd()).unwrap_or(-1))
}

/// `[address, port, family]` the listener is bound to; `null` for unix listeners or once stopped.
#[napi]
pub fn listener_address(env: Env, id: u32) -> Result<Option<Vec<String>>> {
  let state = EnvState::get(&env)?;
  let addr = state.listener(id).and_then(|c| c.local_addr());
  Ok(addr.as_ref().and_then(super::socket::describe))
}

/// Closes the listening socket now: new connects are refused once this returns.
#[napi]
pub fn stop_listener(env: Env, id: u32) -> Result<bool> {
  let state = EnvState::get(&env)?;
  // Outside a dispatch, every connection the kernel has established is one a peer may already be
  // using: the backlog is accepted before the socket closes (closing would reset them), and they
  // open as the connections the loop accepted before. Inside a dispatch (a handler stopping the
  // listener) the rest of the backlog is refused, as node:net's accept loop stops at close().
  let drain = !state.in_dispatch;
  if let Some(core) = state.remove_listener(id) {
    if let Some(fd) = core.fd() {
      let _ = state.shared.registry.deregister(&mut SourceFd(&fd));
    }
    if drain {
      let mut accepted = Vec::new();
      while accepted.len() < MAX_DRAINED {
        match core.accept() {
          Ok(Some(conn)) => accepted.push(conn),
          Err(e)
            if e.raw_os_error() == Some(libc::ECONNABORTED) || crate::errors::interrupted(&e) => {}
          _ => break, // empty (EAGAIN), or out of descriptors: the rest is refused
        }
      }
      if !accepted.is_empty() {
        state.send(Command::Adopt {
          listener: core.clone(),
          accepted,
        });
      }
    }
    drop(core.close());
    state.send(Command::Unlisten(id));
  }
  Ok(drain)
}

/// The most backlog connections `stop()` accepts (a listen backlog is 511 by default).
const MAX_DRAINED: usize = 65_536;
