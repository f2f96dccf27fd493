use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use socket2::SockAddr;

use crate::env_state::EnvState;
use crate::reactor::Command;
use crate::socket_core::SocketCore;
use crate::tls::session::TlsSession;

use super::tls::TlsContext;

/// Starts connecting to each address in turn (IP literals; JS resolves names first). Returns the
/// socket's id; the outcome arrives as a `CONNECTED` or `CONNECT_ERROR` event.
#[napi]
pub fn connect_tcp(
  env: Env,
  addrs: Vec<String>,
  port: u32,
  tls: Option<&TlsContext>,
  host: Option<String>,
) -> Result<u32> {
  let targets: Vec<SockAddr> = addrs
    .iter()
    .filter_map(|a| a.parse::<IpAddr>().ok())
    .map(|ip| SockAddr::from(SocketAddr::new(ip, port as u16)))
    .collect();
  if targets.is_empty() {
    return Err(Error::new(Status::InvalidArg, "no address to connect to"));
  }
  let session = match tls {
    Some(ctx) => Some(ctx.session(host.as_deref().unwrap_or(&addrs[0]))?),
    None => None,
  };
  start(env, targets, session)
}

#[napi]
pub fn connect_unix(
  env: Env,
  path: String,
  tls: Option<&TlsContext>,
  host: Option<String>,
) -> Result<u32> {
  let addr = SockAddr::unix(&path).map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
  let session = match tls {
    Some(ctx) => Some(ctx.session(host.as_deref().unwrap_or("localhost"))?),
    None => None,
  };
  start(env, vec![addr], session)
}

fn start(env: Env, addrs: Vec<SockAddr>, tls: Option<TlsSession>) -> Result<u32> {
  let state = EnvState::get(&env)?;
  let core = Arc::new(SocketCore::new(&state.shared.ids));
  if let Some(session) = tls {
    core.set_tls(session);
  }
  let id = core.id;
  state.insert_socket(core.clone());
  state.send(Command::Connect { core, addrs });
  Ok(id)
}
