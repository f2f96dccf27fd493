use std::sync::Arc;

use mio::unix::SourceFd;
use napi::{Env, Result};
use napi_derive::napi;
use socket2::Socket;

use crate::env_state::EnvState;
use crate::errors::neg_errno;
use crate::listener::{bind_tcp, bind_unix, resolve_listen_host, ListenOptions, ListenerCore};
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

/// Binds and listens on the first address of `host` that works.
#[napi]
pub fn listen_tcp(
  env: Env,
  host: String,
  port: u32,
  backlog: i32,
  reuse_port: bool,
  ipv6_only: bool,
  tls: Option<&TlsContext>,
) -> Result<ListenResult> {
  let tls = tls.and_then(|t| t.server().cloned());
  let state = EnvState::get(&env)?;
  let opts = ListenOptions {
    backlog,
    reuse_port,
    ipv6_only,
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
  let mut failure = ListenResult {
    id: -libc::EADDRNOTAVAIL,
    port,
    address: host,
  };
  for addr in addrs {
    match bind_tcp(addr, &opts) {
      Ok(sock) => return Ok(adopt(state, sock, addr.ip().to_string(), tls, false)),
      Err(e) => {
        failure = ListenResult {
          id: neg_errno(&e),
          port,
          address: addr.ip().to_string(),
        }
      }
    }
  }
  Ok(failure)
}

/// Binds a unix socket at `path` (a leading NUL byte: a Linux abstract name).
#[napi]
pub fn listen_unix(
  env: Env,
  path: String,
  backlog: i32,
  tls: Option<&TlsContext>,
) -> Result<ListenResult> {
  let tls = tls.and_then(|t| t.server().cloned());
  let state = EnvState::get(&env)?;
  let opts = ListenOptions {
    backlog,
    reuse_port: false,
    ipv6_only: false,
  };
  match bind_unix(&path, &opts) {
    Ok(sock) => Ok(adopt(state, sock, path, tls, true)),
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
) -> ListenResult {
  let port = sock
    .local_addr()
    .ok()
    .and_then(|a| a.as_socket())
    .map_or(0, |a| a.port() as u32);
  let mut core = ListenerCore::new(&state.shared.ids, sock, tls);
  if unix {
    core = core.with_socket_file(&address);
  }
  let core = Arc::new(core);
  let id = core.id as i32;
  state.insert_listener(core.clone());
  state.send(Command::Listen(core));
  ListenResult { id, port, address }
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
pub fn stop_listener(env: Env, id: u32) -> Result<()> {
  let state = EnvState::get(&env)?;
  if let Some(core) = state.remove_listener(id) {
    if let Some(fd) = core.fd() {
      let _ = state.shared.registry.deregister(&mut SourceFd(&fd));
    }
    drop(core.close());
    state.send(Command::Unlisten(id));
  }
  Ok(())
}
