//! TLS from JS: contexts built from validated options, `upgradeTLS`, and the socket's TLS getters.

use std::sync::Arc;

use napi::bindgen_prelude::{Buffer, Either, Null};
use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use rustls::{Connection, ProtocolVersion};

use crate::env_state::EnvState;
use crate::socket_core::SocketCore;
use crate::tls::cert_chain;
use crate::tls::cert_info::{self, KeyInfo};
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
  pub ciphers: Option<String>,
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
      ciphers: o.ciphers,
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
      flush_when_writable(state, core);
    }
  }
  Ok(true)
}

/// Records the socket did not take go out from the loop once it is writable.
fn flush_when_writable(state: &EnvState, core: &SocketCore) {
  core
    .flush_wanted
    .store(true, std::sync::atomic::Ordering::SeqCst);
  state.shared.rearm(core);
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

/// One certificate as `node:tls` describes it; lib/socket-tls.js builds Node's object from it
/// (key order, null-prototype names, `infoAccess` split into an object, the issuer links).
#[napi(object)]
pub struct PeerCertificate {
  /// The subject's entries as `[key, value, key, value, ...]`, in order; absent when Node leaves
  /// `subject` out.
  pub subject: Option<Vec<String>>,
  pub issuer: Option<Vec<String>>,
  /// Absent without the extension, `null` when it does not parse.
  pub subjectaltname: Option<Either<String, Null>>,
  /// Node's C++ form (`OCSP - URI:...` lines), before its JS splits it.
  pub info_access: Option<Either<String, Null>>,
  pub ca: bool,
  pub modulus: Option<String>,
  pub bits: Option<u32>,
  pub exponent: Option<String>,
  pub pubkey: Option<Buffer>,
  pub asn1_curve: Option<String>,
  pub nist_curve: Option<String>,
  pub valid_from: String,
  pub valid_to: String,
  pub fingerprint: String,
  pub fingerprint256: String,
  pub fingerprint512: String,
  pub ext_key_usage: Option<Vec<String>>,
  pub serial_number: String,
  pub raw: Buffer,
}

/// `getPeerCertificate(detailed)`: the leaf, and with `detailed` its issuers in order.
#[napi(object)]
pub struct PeerCertificateChain {
  pub certificates: Vec<PeerCertificate>,
  /// The last certificate is its own issuer (Node's `issuerCertificate` pointing to itself).
  pub ends_self_issued: bool,
}

fn field(f: cert_info::Field<String>) -> Option<Either<String, Null>> {
  match f {
    cert_info::Field::Absent => None,
    cert_info::Field::Null => Some(Either::B(Null)),
    cert_info::Field::Value(v) => Some(Either::A(v)),
  }
}

fn flat(entries: Vec<(String, String)>) -> Vec<String> {
  entries.into_iter().flat_map(|(k, v)| [k, v]).collect()
}

fn to_js(info: cert_info::CertInfo) -> PeerCertificate {
  let mut out = PeerCertificate {
    subject: info.subject.map(flat),
    issuer: info.issuer.map(flat),
    subjectaltname: field(info.subjectaltname),
    info_access: field(info.info_access),
    ca: info.ca,
    modulus: None,
    bits: None,
    exponent: None,
    pubkey: None,
    asn1_curve: None,
    nist_curve: None,
    valid_from: info.valid_from,
    valid_to: info.valid_to,
    fingerprint: info.fingerprint,
    fingerprint256: info.fingerprint256,
    fingerprint512: info.fingerprint512,
    ext_key_usage: info.ext_key_usage,
    serial_number: info.serial_number,
    raw: info.raw.into(),
  };
  match info.key {
    Some(KeyInfo::Rsa {
      modulus,
      bits,
      exponent,
      pubkey,
    }) => {
      out.modulus = Some(modulus);
      out.bits = Some(bits);
      out.exponent = Some(exponent);
      out.pubkey = Some(pubkey.into());
    }
    Some(KeyInfo::Ec {
      bits,
      pubkey,
      asn1_curve,
      nist_curve,
    }) => {
      out.bits = Some(bits);
      out.pubkey = Some(pubkey.into());
      out.asn1_curve = Some(asn1_curve.to_string());
      out.nist_curve = nist_curve.map(str::to_string);
    }
    None => {}
  }
  out
}

/// Whether the session holds records (of data `write()` accepted) that wait for the socket.
#[napi]
pub fn tls_pending_records(env: Env, id: u32) -> Result<bool> {
  let state = EnvState::get(&env)?;
  Ok(
    state
      .socket(id)
      .and_then(|c| c.tls())
      .is_some_and(|t| t.wants_write()),
  )
}

/// The peer's certificate (`detailed`: and its issuers); `null` for plain sockets and when the
/// peer has sent none (yet).
// Both parse certificates the peer chose: a panic there must throw, not abort the process.
#[napi(catch_unwind)]
pub fn peer_certificate(env: Env, id: u32, detailed: bool) -> Result<Option<PeerCertificateChain>> {
  let state = EnvState::get(&env)?;
  let Some(tls) = state.socket(id).and_then(|c| c.tls()) else {
    return Ok(None);
  };
  let peer = tls.peer_chain();
  if peer.is_empty() {
    return Ok(None);
  }
  let peer: Vec<&[u8]> = peer.iter().map(|c| c.as_ref()).collect();
  let anchors = if detailed {
    tls.trusted()
  } else {
    Default::default()
  };
  let chain = if detailed {
    let trusted: Vec<&[u8]> = anchors.iter().map(|c| c.as_ref()).collect();
    let now = std::time::SystemTime::now()
      .duration_since(std::time::UNIX_EPOCH)
      .map_or(0, |d| d.as_secs() as i64);
    cert_chain::build(&peer, &trusted, now)
  } else {
    cert_chain::Chain {
      certificates: peer[..1].to_vec(),
      ends_self_issued: false,
    }
  };
  let mut certificates = Vec::with_capacity(chain.certificates.len());
  for der in &chain.certificates {
    match cert_info::describe(der) {
      Some(info) => certificates.push(to_js(info)),
      // Only the leaf can fail here (chain building skips what does not parse).
      None => return Ok(None),
    }
  }
  Ok(Some(PeerCertificateChain {
    certificates,
    ends_self_issued: chain.ends_self_issued,
  }))
}

/// The DER certificate this end presents (`getCertificate()`, `getX509Certificate()`); `null` on
/// plain sockets and for a client without one.
#[napi]
pub fn own_certificate(env: Env, id: u32) -> Result<Option<Buffer>> {
  let state = EnvState::get(&env)?;
  Ok(
    state
      .socket(id)
      .and_then(|c| c.tls())
      .and_then(|tls| tls.own_certificate())
      .map(|der| der.as_ref().to_vec().into()),
  )
}

/// One DER certificate described as `peerCertificate` describes it (for the tests, which compare
/// it with `node:crypto`'s `X509Certificate#toLegacyObject()`).
#[napi(catch_unwind)]
pub fn describe_certificate(der: Buffer) -> Option<PeerCertificate> {
  cert_info::describe(&der).map(to_js)
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
    .map_err(|e| Error::new(Status::GenericFailure, crate::tls::verify::rustls_words(&e)))?;
  Ok(out.into())
}

/// `socket.setVerifyMode(requestCert, rejectUnauthorized)` on a server socket whose handshake has
/// not started (its `open` handler, with a `handshake` handler in the table): the handshake then
/// asks for, and checks, a client certificate as `listen`'s options with these values would.
/// False when it is too late, or on a client; throws when the configuration cannot be made (the
/// connection must not go on with the old one).
#[napi]
pub fn tls_set_verify_mode(env: Env, id: u32, request_cert: bool, reject: bool) -> Result<bool> {
  let state = EnvState::get(&env)?;
  match state.socket(id).and_then(|c| c.tls()) {
    Some(tls) => tls.set_verify_mode(request_cert, reject).map_err(invalid),
    None => Ok(false),
  }
}

/// A `connect()`ed client's hello goes out now (JS has run `open`, or will run it only after the
/// handshake). Records the socket does not take yet go out from the loop once it is writable.
#[napi]
pub fn tls_send_hello(env: Env, id: u32) -> Result<()> {
  let state = EnvState::get(&env)?;
  let Some(core) = state.socket(id) else {
    return Ok(());
  };
  if let (Some(tls), Some(sock)) = (core.tls(), core.socket()) {
    // A failure here shows at the next read or write, as for any flush.
    if !tls.send_hello(sock).unwrap_or(true) {
      flush_when_writable(state, core);
    }
  }
  Ok(())
}

/// `setServername(name)` on a client whose hello is still held (its `open` handler): the
/// handshake then sends, and checks the certificate against, `name`. False when it is too late.
#[napi]
pub fn tls_set_servername(env: Env, id: u32, name: String) -> Result<bool> {
  let state = EnvState::get(&env)?;
  match state.socket(id).and_then(|c| c.tls()) {
    Some(tls) => tls.set_server_name(&name).map_err(invalid),
    None => Ok(false),
  }
}
