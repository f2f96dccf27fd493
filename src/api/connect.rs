use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use socket2::SockAddr;

use crate::env_state::EnvState;
use crate::reactor::Command;
use crate::socket_core::SocketCore;

/// Starts connecting to each address in turn (IP literals; JS resolves names first). Returns the
/// socket's id; the outcome arrives as a `CONNECTED` or `CONNECT_ERROR` event.
#[napi]
pub fn connect_tcp(env: Env, addrs: Vec<String>, port: u32) -> Result<u32> {
  let targets: Vec<SockAddr> = addrs
    .iter()
    .filter_map(|a| a.parse::<IpAddr>().ok())
    .map(|ip| SockAddr::from(SocketAddr::new(ip, port as u16)))
    .collect();
  if targets.is_empty() {
    return Err(Error::new(Status::InvalidArg, "no address to connect to"));
  }
  start(env, targets)
}

#[napi]
pub fn connect_unix(env: Env, path: String) -> Result<u32> {
  let addr = SockAddr::unix(&path).map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
  start(env, vec![addr])
}

fn start(env: Env, addrs: Vec<SockAddr>) -> Result<u32> {
  let state = EnvState::get(&env)?;
  let core = Arc::new(SocketCore::new(&state.shared.ids));
  let id = core.id;
  state.insert_socket(core.clone());
  state.send(Command::Connect { core, addrs });
  Ok(id)
}
