use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::OwnedFd;
use std::sync::Arc;

use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use socket2::SockAddr;

use crate::env_state::EnvState;
use crate::errors::neg_errno;
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
  hold_hello: Option<bool>,
) -> Result<u32> {
  let targets: Vec<SockAddr> = addrs
    .iter()
    .filter_map(|a| socket_addr(a, port as u16))
    .map(SockAddr::from)
    .collect();
  if targets.is_empty() {
    return Err(Error::new(Status::InvalidArg, "no address to connect to"));
  }
  let session = match tls {
    Some(ctx) => Some(ctx.session(host.as_deref().unwrap_or(&addrs[0]))?),
    None => None,
  };
  start(env, Ok(targets), None, session, hold_hello.unwrap_or(false))
}

/// An IP literal and port; IPv6 may carry a zone (`fe80::1%eth0`, `::1%1`), as node:net takes.
fn socket_addr(address: &str, port: u16) -> Option<SocketAddr> {
  let Some((ip, zone)) = address.split_once('%') else {
    return Some(SocketAddr::new(address.parse::<IpAddr>().ok()?, port));
  };
  let ip: Ipv6Addr = ip.parse().ok()?;
  let scope = match zone.parse::<u32>() {
    Ok(index) => index,
    Err(_) => {
      let name = std::ffi::CString::new(zone).ok()?;
      // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
      match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => return None,
        index => index,
      }
    }
  };
  Some(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope)))
}

#[napi]
pub fn connect_unix(
  env: Env,
  path: String,
  tls: Option<&TlsContext>,
  host: Option<String>,
  hold_hello: Option<bool>,
) -> Result<u32> {
  // A path the kernel cannot take (its folder missing, an abstract name too long) fails as the
  // connect, through `connectError`, like a path that does not exist.
  let (addrs, folder) = match crate::listener::unix_target(&path) {
    Ok((addr, folder)) => (Ok(vec![addr]), folder),
    Err(e) => (Err(neg_errno(&e)), None),
  };
  let session = match tls {
    Some(ctx) => Some(ctx.session(host.as_deref().unwrap_or("localhost"))?),
    None => None,
  };
  start(env, addrs, folder, session, hold_hello.unwrap_or(false))
}

/// With `hold_hello`, a TLS client's hello waits for JS (`tlsSendHello`, after an `open` that runs
/// at the connect, where a `setServername()` names the server); otherwise it goes at the connect.
fn start(
  env: Env,
  addrs: std::result::Result<Vec<SockAddr>, i32>,
  folder: Option<OwnedFd>,
  tls: Option<TlsSession>,
  hold_hello: bool,
) -> Result<u32> {
  let state = EnvState::get(&env)?;
  let core = Arc::new(SocketCore::new(&state.shared.ids));
  if let Some(session) = tls {
    if hold_hello {
      session.hold_hello();
    }
    core.set_tls(session);
  }
  let id = core.id;
  state.insert_socket(core.clone());
  state.send(Command::Connect {
    core,
    addrs,
    folder,
  });
  Ok(id)
}

#[cfg(test)]
mod tests {
  use super::socket_addr;

  #[test]
  fn ip_literals_with_and_without_zones() {
    assert_eq!(
      socket_addr("127.0.0.1", 80),
      Some("127.0.0.1:80".parse().unwrap())
    );
    assert_eq!(socket_addr("::1", 80), Some("[::1]:80".parse().unwrap()));
    let lo = socket_addr("::1%lo", 80).expect("the loopback interface has an index");
    let numeric = socket_addr("::1%1", 80).expect("numeric zone");
    assert!(matches!(lo, std::net::SocketAddr::V6(a) if a.scope_id() > 0));
    assert!(matches!(numeric, std::net::SocketAddr::V6(a) if a.scope_id() == 1));
    assert_eq!(socket_addr("::1%no-such-interface", 80), None);
    assert_eq!(socket_addr("127.0.0.1%lo", 80), None);
    assert_eq!(socket_addr("example.com", 80), None);
  }
}
