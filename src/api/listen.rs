use std::sync::Arc;

use mio::unix::SourceFd;
use napi::{Env, Result};
use napi_derive::napi;
use socket2::Socket;

use crate::env_state::EnvState;
use crate::errors::neg_errno;
use crate::listener::{bind_tcp, bind_unix, resolve_listen_host, ListenOptions, ListenerCore};
use crate::reactor::Command;

/// Binds and listens. Returns `[id, port]`, or `[-errno, 0]` when it fails.
#[napi]
pub fn listen_tcp(
  env: Env,
  host: String,
  port: u32,
  backlog: i32,
  reuse_port: bool,
  ipv6_only: bool,
) -> Result<Vec<i32>> {
  let state = EnvState::get(&env)?;
  let opts = ListenOptions {
    backlog,
    reuse_port,
    ipv6_only,
  };
  let addrs = match resolve_listen_host(&host, port as u16) {
    Ok(addrs) => addrs,
    Err(e) => return Ok(vec![neg_errno(&e), 0]),
  };
  let mut errno = -libc::EADDRNOTAVAIL;
  for addr in addrs {
    match bind_tcp(addr, &opts) {
      Ok(sock) => return Ok(adopt(state, sock)),
      Err(e) => errno = neg_errno(&e),
    }
  }
  Ok(vec![errno, 0])
}

/// Binds a unix socket at `path` (`"\0name"`: abstract). Returns `[id, 0]` or `[-errno, 0]`.
#[napi]
pub fn listen_unix(env: Env, path: String, backlog: i32) -> Result<Vec<i32>> {
  let state = EnvState::get(&env)?;
  let opts = ListenOptions {
    backlog,
    reuse_port: false,
    ipv6_only: false,
  };
  match bind_unix(&path, &opts) {
    Ok(sock) => Ok(adopt(state, sock)),
    Err(e) => Ok(vec![neg_errno(&e), 0]),
  }
}

fn adopt(state: &mut EnvState, sock: Socket) -> Vec<i32> {
  let port = sock
    .local_addr()
    .ok()
    .and_then(|a| a.as_socket())
    .map_or(0, |a| a.port() as i32);
  let core = Arc::new(ListenerCore::new(&state.shared.ids, sock));
  let id = core.id;
  state.insert_listener(core.clone());
  state.send(Command::Listen(core));
  vec![id as i32, port]
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
