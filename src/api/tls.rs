//! TLS from JS: contexts built from validated options, `upgradeTLS`, and the socket's TLS getters.

use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::Buffer;
use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use rustls::{Connection, ProtocolVersion};

use crate::env_state::EnvState;
use crate::tls::cert_info;
use crate::tls::config::{self, ClientContext, ServerContext, TlsOptions};
use crate::tls::session::TlsSession;

/// TLS options as lib/tls-options.js normalises them: PEM inputs as Buffers, ALPN as names.
#[napi(object)]
pub struct TlsOptionsInput {
  pub key: Vec<Buffer>,
  pub cert: Vec<Buffer>,
  pub ca: Vec<Buffer>,
  pub passphrase: Option<String>,
  pub request_cert: bool,
  pub reject_unauthorized: bool,
  pub alpn: Vec<Buffer>,
  pub server_name: Option<String>,
}

impl From<TlsOptionsInput> for TlsOptions {
  fn from(o: TlsOptionsInput) -> Self {
    let bytes = |v: Vec<Buffer>| v.into_iter().map(|b| b.to_vec()).collect();
    TlsOptions {
      key: bytes(o.key),
      cert: bytes(o.cert),
      ca: bytes(o.ca),
      passphrase: o.passphrase,
      request_cert: o.request_cert,
      reject_unauthorized: o.reject_unauthorized,
      alpn: bytes(o.alpn),
      server_name: o.server_name,
    }
  }
}

/// A built rustls configuration, for one listener or one connect.
#[napi]
pub struct TlsContext {
  server: Option<Arc<ServerContext>>,
  client: Option<Arc<ClientContext>>,
}

impl TlsContext {
  pub fn server(&self) -> Option<&Arc<ServerContext>> {
    self.server.as_ref()
  }

  /// A session for a new connection: server side with a server context, else client side
  /// checking `host`.
  pub fn session(&self, host: &str) -> Result<TlsSession> {
    let session = match (&self.server, &self.client) {
      (Some(server), _) => TlsSession::server(server),
      (None, Some(client)) => TlsSession::client(client, host),
      (None, None) => Err("empty TLS context".to_string()),
    };
    session.map_err(|e| Error::new(Status::InvalidArg, e))
  }
}

fn invalid(message: String) -> Error {
  Error::new(Status::InvalidArg, message)
}

#[napi]
pub fn tls_server_context(options: TlsOptionsInput) -> Result<TlsContext> {
  let ctx = config::server_context(&options.into()).map_err(invalid)?;
  Ok(TlsContext {
    server: Some(Arc::new(ctx)),
    client: None,
  })
}

#[napi]
pub fn tls_client_context(options: TlsOptionsInput) -> Result<TlsContext> {
  let ctx = config::client_context(&options.into()).map_err(invalid)?;
  Ok(TlsContext {
    server: None,
    client: Some(Arc::new(ctx)),
  })
}

/// Continues a plain connection under TLS (STARTTLS). A client context sends its ClientHello now.
#[napi]
pub fn upgrade_tls(env: Env, id: u32, context: &TlsContext, host: String) -> Result<bool> {
  let state = EnvState::get(&env)?;
  let Some(core) = state.socket(id) else {
    return Ok(false);
  };
  if !core.set_tls(context.session(&host)?) {
    return Ok(false);
  }
  if let (Some(tls), Some(sock)) = (core.tls(), core.socket()) {
    if !tls.flush(sock).unwrap_or(true) {
      core
        .flush_wanted
        .store(true, std::sync::atomic::Ordering::SeqCst);
      state.shared.rearm(core);
    }
  }
  Ok(true)
}

/// Ciphertext that was read as plain before `upgradeTLS` took effect: decrypt it first.
#[napi]
pub fn tls_feed(env: Env, id: u32, data: napi::bindgen_prelude::BufferSlice) -> Result<()> {
  let state = EnvState::get(&env)?;
  if let Some(tls) = state.socket(id).and_then(|c| c.tls()) {
    tls.feed(&data);
    state.send(crate::reactor::Command::Read(id));
  }
  Ok(())
}

#[napi(object)]
pub struct TlsState {
  pub version: Option<String>,
  pub cipher: Option<String>,
  pub alpn: Option<String>,
  pub servername: Option<String>,
  pub handshaking: bool,
  /// The handshake resumed an earlier session.
  pub resumed: bool,
  /// The key exchange group, as rustls names it (`X25519`, `secp256r1`, `X25519MLKEM768`, ...).
  pub group: Option<String>,
}

fn version_name(v: ProtocolVersion) -> String {
  match v {
    ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
    ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
    other => format!("{other:?}"),
  }
}

/// What the session negotiated; `null` for plain sockets.
#[napi]
pub fn tls_state(env: Env, id: u32) -> Result<Option<TlsState>> {
  let state = EnvState::get(&env)?;
  let Some(tls) = state.socket(id).and_then(|c| c.tls()) else {
    return Ok(None);
  };
  let conn = tls.lock();
  let servername = match &*conn {
    Connection::Server(s) => s.server_name().map(str::to_string),
    Connection::Client(_) => None,
  };
  Ok(Some(TlsState {
    version: conn.protocol_version().map(version_name),
    cipher: conn
      .negotiated_cipher_suite()
      .map(|s| format!("{:?}", s.suite()).replacen("TLS13_", "TLS_", 1)),
    alpn: conn
      .alpn_protocol()
      .map(|p| String::from_utf8_lossy(p).into_owned()),
    servername,
    handshaking: conn.is_handshaking(),
    resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
    group: conn
      .negotiated_key_exchange_group()
      .map(|g| format!("{:?}", g.name())),
  }))
}

#[napi(object)]
pub struct PeerCertificate {
  pub subject: HashMap<String, String>,
  pub issuer: HashMap<String, String>,
  pub subjectaltname: Option<String>,
  pub valid_from: String,
  pub valid_to: String,
  pub serial_number: String,
  pub fingerprint: String,
  pub fingerprint256: String,
  pub fingerprint512: String,
  pub raw: Buffer,
}

#[napi]
pub fn peer_certificate(env: Env, id: u32) -> Result<Option<PeerCertificate>> {
  let state = EnvState::get(&env)?;
  let Some(tls) = state.socket(id).and_then(|c| c.tls()) else {
    return Ok(None);
  };
  let conn = tls.lock();
  let Some(info) = conn
    .peer_certificates()
    .and_then(|c| c.first())
    .and_then(cert_info::describe)
  else {
    return Ok(None);
  };
  Ok(Some(PeerCertificate {
    subject: info.subject,
    issuer: info.issuer,
    subjectaltname: info.subjectaltname,
    valid_from: info.valid_from,
    valid_to: info.valid_to,
    serial_number: info.serial_number,
    fingerprint: info.fingerprint,
    fingerprint256: info.fingerprint256,
    fingerprint512: info.fingerprint512,
    raw: info.raw.into(),
  }))
}

/// RFC 5705 keying material (`exportKeyingMaterial(length, label, context?)`).
#[napi]
pub fn export_keying_material(
  env: Env,
  id: u32,
  length: u32,
  label: String,
  context: Option<Buffer>,
) -> Result<Buffer> {
  let state = EnvState::get(&env)?;
  let Some(tls) = state.socket(id).and_then(|c| c.tls()) else {
    return Err(Error::new(Status::GenericFailure, "not a TLS socket"));
  };
  let conn = tls.lock();
  let mut out = vec![0u8; length as usize];
  conn
    .export_keying_material(&mut out, label.as_bytes(), context.as_deref())
    .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
  Ok(out.into())
}
