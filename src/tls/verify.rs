//! Certificate verification with Node's error codes, and the "verify but do not reject" mode of
//! `rejectUnauthorized: false`, where the handshake goes on and the error is only reported.

use std::fmt;
use std::sync::Arc;

use super::identity::{common_name_matches, mismatch_reason};
use super::v1_certs;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
  CertificateError, DigitallySignedStruct, DistinguishedName, Error, OtherError, SignatureScheme,
};

/// Handshake signatures are checked by the wrapped webpki verifier as they are: only the
/// certificate verdict differs between our verifiers and webpki's.
macro_rules! delegate_signature_checks {
  () => {
    fn verify_tls12_signature(
      &self,
      message: &[u8],
      cert: &CertificateDer<'_>,
      dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
      self
        .inner
        .verify_tls12_signature(message, cert, dss)
        .or_else(|e| {
          if !v1_certs::is_v1(cert) {
            return Err(e);
          }
          v1_certs::verify_tls12_signature(message, cert, dss, &algorithms())
            .map(|()| HandshakeSignatureValid::assertion())
        })
    }

    fn verify_tls13_signature(
      &self,
      message: &[u8],
      cert: &CertificateDer<'_>,
      dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
      self
        .inner
        .verify_tls13_signature(message, cert, dss)
        .or_else(|e| tls13_signature_of_v1_cert(message, cert, dss, e))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
      self.inner.supported_verify_schemes()
    }
  };
}

/// webpki refuses to parse X.509 v1 certificates, which OpenSSL (and so node:tls) accepts. Their
/// verdict is reported as any other (they do not verify), but with `rejectUnauthorized: false` the
/// handshake must still check the peer's signature: with the key x509-parser reads from them.
fn tls13_signature_of_v1_cert(
  message: &[u8],
  cert: &CertificateDer<'_>,
  dss: &DigitallySignedStruct,
  err: Error,
) -> Result<HandshakeSignatureValid, Error> {
  let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
    return Err(err);
  };
  if parsed.version() != x509_parser::x509::X509Version::V1 {
    return Err(err);
  }
  let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(parsed.public_key().raw);
  rustls::crypto::verify_tls13_signature_with_raw_key(message, &spki, dss, &algorithms())
}

/// The signature algorithms our provider verifies with.
fn algorithms() -> rustls::crypto::WebPkiSupportedAlgorithms {
  rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms
}

/// The certificates a chain may end at: those given as `ca`, else the public roots.
fn trust_set<'a>(anchors: &'a [CertificateDer<'static>]) -> &'a [CertificateDer<'static>] {
  if anchors.is_empty() {
    super::config::public_root_certs()
  } else {
    anchors
  }
}

/// A rustls error in words for a message: without rustls's "unexpected error:" wrapper, and
/// `BadEncoding` said plainly.
pub fn rustls_words(e: &rustls::Error) -> String {
  match e {
    rustls::Error::General(msg) => msg.clone(),
    rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding) => {
      "not a valid DER certificate".to_string()
    }
    other => other.to_string(),
  }
}

/// A verification failure as Node names it (`err.code`, `err.message`).
#[derive(Debug, Clone)]
pub struct NodeTlsError {
  pub code: &'static str,
  pub message: String,
}

impl fmt::Display for NodeTlsError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}", self.message)
  }
}

impl std::error::Error for NodeTlsError {}

/// How the `ca` certificates are trusted (config.rs `root_store`): only the self-issued ones end a
/// chain; the others (`linking`) link a chain to them, as OpenSSL without partial chains uses
/// them. Without `ca` the public roots are the store (`roots_given`, nothing linking).
#[derive(Debug, Clone)]
pub struct TrustSet {
  /// A root is in the store: false when `ca` held intermediates only, which trust nothing alone.
  pub roots_given: bool,
  pub linking: Vec<CertificateDer<'static>>,
}

impl Default for TrustSet {
  fn default() -> Self {
    TrustSet {
      roots_given: true,
      linking: Vec::new(),
    }
  }
}

impl TrustSet {
  /// The chain the peer sent, with the linking certificates a path may go through.
  fn linked<'a>(&self, intermediates: &[CertificateDer<'a>]) -> Option<Vec<CertificateDer<'a>>> {
    if self.linking.is_empty() {
      return None;
    }
    Some(
      intermediates
        .iter()
        .cloned()
        .chain(self.linking.iter().cloned())
        .collect(),
    )
  }

  /// A chain that reached a `ca` certificate whose own issuer is nowhere: OpenSSL's "unable to get
  /// issuer certificate". Other chains keep `err`.
  fn unknown_issuer(
    &self,
    err: Error,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
  ) -> Error {
    let unknown = matches!(
      err,
      Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
    if !unknown && self.roots_given {
      return err;
    }
    // A linking certificate issued one the peer sent (not merely is one: a leaf pinned as `ca`
    // gets OpenSSL's codes for a chain that found no issuer).
    let reaches = std::iter::once(end_entity).chain(intermediates).any(|c| {
      let issuer = issuer_of(c);
      self
        .linking
        .iter()
        .any(|l| l != c && issuer.is_some() && subject_of(l) == issuer)
    });
    if !reaches {
      return if unknown {
        err
      } else {
        Error::InvalidCertificate(CertificateError::UnknownIssuer)
      };
    }
    let node = NodeTlsError {
      code: "UNABLE_TO_GET_ISSUER_CERT",
      message: "unable to get issuer certificate".into(),
    };
    Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(node))))
  }
}

fn subject_of(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
  x509_parser::parse_x509_certificate(cert.as_ref())
    .ok()
    .map(|(_, c)| c.subject().as_raw().to_vec())
}

fn issuer_of(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
  x509_parser::parse_x509_certificate(cert.as_ref())
    .ok()
    .map(|(_, c)| c.issuer().as_raw().to_vec())
}

/// Whether a signature AlgorithmIdentifier (DER) is one of SHA-1's: sha1WithRSAEncryption
/// (1.2.840.113549.1.1.5), ecdsa-with-SHA1 (1.2.840.10045.4.1), dsa-with-sha1 (1.2.840.10040.4.3).
fn is_sha1_signature(id: &[u8]) -> bool {
  const OIDS: [&[u8]; 3] = [
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05],
    &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01],
    &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03],
  ];
  OIDS
    .iter()
    .any(|oid| id.windows(oid.len()).any(|w| w == *oid))
}

pub(crate) fn self_issued(cert: &CertificateDer<'_>) -> bool {
  match x509_parser::parse_x509_certificate(cert.as_ref()) {
    Ok((_, c)) => c.subject().as_raw() == c.issuer().as_raw(),
    Err(_) => false,
  }
}

/// Maps a rustls certificate error to Node's code for it.
pub fn node_cert_error(
  err: &Error,
  end_entity: Option<&CertificateDer<'_>>,
  intermediates: &[CertificateDer<'_>],
  host: Option<&str>,
) -> NodeTlsError {
  let other = |code: &'static str, message: &str| NodeTlsError {
    code,
    message: message.to_string(),
  };
  match err {
    Error::InvalidCertificate(cert_err) => match cert_err {
      CertificateError::Other(OtherError(inner)) => match inner.downcast_ref::<NodeTlsError>() {
        Some(e) => e.clone(),
        // webpki refuses a CA certificate as the leaf (`openssl req -x509` makes them CA:TRUE);
        // an untrusted self-signed one is what OpenSSL reports first.
        None if end_entity.is_some_and(self_issued) => {
          other("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate")
        }
        // An issuer without CA:TRUE (webpki's error, passed through by rustls as it is): OpenSSL
        // reports its purpose check.
        None if inner.to_string().contains("EndEntityUsedAsCa") => {
          other("INVALID_PURPOSE", "unsupported certificate purpose")
        }
        None => other("UNABLE_TO_VERIFY_LEAF_SIGNATURE", &inner.to_string()),
      },
      CertificateError::UnknownIssuer => {
        if end_entity.is_some_and(self_issued) {
          other("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate")
        } else if intermediates.iter().any(self_issued) {
          other(
            "SELF_SIGNED_CERT_IN_CHAIN",
            "self-signed certificate in certificate chain",
          )
        } else if !intermediates.is_empty() {
          // OpenSSL's words when a chain was sent but its top's issuer is nowhere trusted; a
          // lone leaf is "unable to verify the first certificate".
          other(
            "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
            "unable to get local issuer certificate",
          )
        } else {
          other(
            "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
            "unable to verify the first certificate",
          )
        }
      }
      CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
        let host = host.unwrap_or("?");
        let reason = end_entity.map_or_else(
          || format!("Host: {host}. is not in the cert's altnames"),
          |cert| mismatch_reason(cert, host),
        );
        NodeTlsError {
          code: "ERR_TLS_CERT_ALTNAME_INVALID",
          message: format!("Hostname/IP does not match certificate's altnames: {reason}"),
        }
      }
      CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
        other("CERT_HAS_EXPIRED", "certificate has expired")
      }
      CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
        other("CERT_NOT_YET_VALID", "certificate is not yet valid")
      }
      CertificateError::Revoked => other("CERT_REVOKED", "certificate revoked"),
      CertificateError::BadSignature => {
        other("CERT_SIGNATURE_FAILURE", "certificate signature failure")
      }
      // The extended key usage does not allow the use (a client-only certificate on a server).
      CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
        other("INVALID_PURPOSE", "unsupported certificate purpose")
      }
      // Signed with SHA-1, which OpenSSL 3 refuses as too weak.
      CertificateError::UnsupportedSignatureAlgorithmContext {
        signature_algorithm_id,
        ..
      } if is_sha1_signature(signature_algorithm_id) => {
        other("CA_MD_TOO_WEAK", "CA signature digest algorithm too weak")
      }
      #[allow(deprecated)]
      CertificateError::UnsupportedSignatureAlgorithm
      | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
      | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => other(
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        "certificate signed with an unsupported algorithm",
      ),
      e => other(
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        &format!("certificate verification failed: {e:?}"),
      ),
    },
    Error::NoCertificatesPresented => other(
      "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE",
      "peer did not return a certificate",
    ),
    Error::AlertReceived(alert) => NodeTlsError {
      code: "EPROTO",
      message: format!("TLS alert received from peer: {alert:?}"),
    },
    Error::NoApplicationProtocol => other("EPROTO", "no application protocol in common (ALPN)"),
    Error::DecryptError => other(
      "ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC",
      "decryption failed or bad record mac",
    ),
    e => NodeTlsError {
      code: "EPROTO",
      message: format!("TLS error: {e}"),
    },
  }
}

fn wrap(
  err: Error,
  end_entity: &CertificateDer<'_>,
  intermediates: &[CertificateDer<'_>],
  host: Option<&str>,
) -> Error {
  let node = node_cert_error(&err, Some(end_entity), intermediates, host);
  Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(node))))
}

fn is_name_error(err: &Error) -> bool {
  matches!(
    err,
    Error::InvalidCertificate(
      CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
    )
  )
}

/// What error messages name for the stand-in a session uses for a server name rustls cannot take
/// (session.rs `TlsSession::client`); the session puts the name asked for in its place.
pub const STAND_IN_HOST: &str = "\u{0}";

/// The stand-in itself: an address of IPv6's discard prefix (100::/64, RFC 6666), which no
/// server is reached at. It sends no SNI, and no certificate matches it: `verify` fails the name
/// check for it whatever the certificate names.
pub fn stand_in_name() -> ServerName<'static> {
  ServerName::IpAddress(std::net::IpAddr::from(STAND_IN_IP).into())
}

const STAND_IN_IP: [u8; 16] = [1, 0, 0, 0, 0, 0, 0, 0, 0x6e, 0x62, 0x74, 0, 0, 0, 0, 1];

fn is_stand_in(name: &ServerName<'_>) -> bool {
  matches!(name, ServerName::IpAddress(rustls::pki_types::IpAddr::V6(ip)) if ip.as_ref() == &STAND_IN_IP)
}

fn host_of(name: &ServerName<'_>) -> String {
  match name {
    _ if is_stand_in(name) => STAND_IN_HOST.to_string(),
    ServerName::DnsName(d) => d.as_ref().to_string(),
    ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
    _ => String::new(),
  }
}

/// The client's check of the server certificate. With `reject` false it lets the handshake finish
/// and the session re-runs `inner` afterwards to report the error.
#[derive(Debug, Clone)]
pub struct ServerVerifier {
  pub inner: Arc<WebPkiServerVerifier>,
  pub reject: bool,
  pub trust: TrustSet,
  /// The certificates given as `ca`. A server certificate that is one of them is trusted as it is,
  /// as OpenSSL (and so node:tls) does for a self-signed certificate passed as its own CA; webpki
  /// alone refuses a CA certificate used as the server's.
  pub anchors: Vec<CertificateDer<'static>>,
}

impl ServerVerifier {
  fn verify(
    &self,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    name: &ServerName<'_>,
    ocsp: &[u8],
    now: UnixTime,
  ) -> Result<ServerCertVerified, Error> {
    let linked = self.trust.linked(intermediates);
    let result = if !self.trust.roots_given {
      Err(Error::InvalidCertificate(CertificateError::UnknownIssuer))
    } else {
      let chain = linked.as_deref().unwrap_or(intermediates);
      self
        .inner
        .verify_server_cert(end_entity, chain, name, ocsp, now)
    };
    let verdict = match result {
      // webpki checks the chain before the name: only the name failed.
      Err(e) if is_name_error(&e) && common_name_matches(end_entity, name) => {
        Ok(ServerCertVerified::assertion())
      }
      Err(_) if v1_certs::is_v1(end_entity) => {
        v1_certs::verify_leaf(end_entity, trust_set(&self.anchors), &algorithms())?;
        in_date(end_entity)?;
        // Without extensions, the common name is all a v1 certificate names.
        if common_name_matches(end_entity, name) {
          Ok(ServerCertVerified::assertion())
        } else {
          Err(Error::InvalidCertificate(CertificateError::NotValidForName))
        }
      }
      Err(_) if is_trusted_itself(trust_set(&self.anchors), end_entity) => {
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        match rustls::client::verify_server_name(&parsed, name) {
          Err(e) if !(is_name_error(&e) && common_name_matches(end_entity, name)) => return Err(e),
          _ => {}
        }
        in_date(end_entity).map(|()| ServerCertVerified::assertion())
      }
      Err(e) => Err(self.trust.unknown_issuer(e, end_entity, intermediates)),
      ok => ok,
    };
    // A good chain, but the stand-in for a name that is no hostname names no certificate.
    verdict.and_then(|ok| {
      if is_stand_in(name) {
        Err(Error::InvalidCertificate(CertificateError::NotValidForName))
      } else {
        Ok(ok)
      }
    })
  }

  /// The chain's verdict, as Node would report it.
  pub fn check(&self, chain: &[CertificateDer<'_>], name: &ServerName<'_>) -> Option<NodeTlsError> {
    let Some((end_entity, intermediates)) = chain.split_first() else {
      return Some(NodeTlsError {
        code: "UNABLE_TO_GET_ISSUER_CERT",
        message: "no peer certificate".into(),
      });
    };
    let host = host_of(name);
    self
      .verify(end_entity, intermediates, name, &[], UnixTime::now())
      .err()
      .map(|e| node_cert_error(&e, Some(end_entity), intermediates, Some(&host)))
  }
}

impl ServerCertVerifier for ServerVerifier {
  fn verify_server_cert(
    &self,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    ocsp: &[u8],
    now: UnixTime,
  ) -> Result<ServerCertVerified, Error> {
    match self.verify(end_entity, intermediates, server_name, ocsp, now) {
      Ok(ok) => Ok(ok),
      Err(_) if !self.reject => Ok(ServerCertVerified::assertion()),
      Err(e) => {
        note_rejected(end_entity, intermediates);
        Err(wrap(
          e,
          end_entity,
          intermediates,
          Some(&host_of(server_name)),
        ))
      }
    }
  }

  delegate_signature_checks!();
}

thread_local! {
  /// The chain a client's check just refused (rustls keeps no peer certificates from a handshake
  /// it aborted): the session that ran the check takes it at once, on this thread (`take_rejected`).
  static REJECTED: std::cell::RefCell<Vec<CertificateDer<'static>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn note_rejected(end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) {
  let chain = std::iter::once(end_entity)
    .chain(intermediates)
    .map(|c| c.clone().into_owned())
    .collect();
  REJECTED.with(|r| *r.borrow_mut() = chain);
}

/// The chain the last refused check on this thread saw (empty when none), cleared.
pub fn take_rejected() -> Vec<CertificateDer<'static>> {
  REJECTED.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

/// The server's check of client certificates (`requestCert`). With `reject` false a missing or
/// untrusted certificate is let through and reported after the handshake.
#[derive(Debug)]
pub struct ClientVerifier {
  pub inner: Arc<dyn ClientCertVerifier>,
  pub reject: bool,
  pub trust: TrustSet,
  /// The certificates given as `ca`: where `getPeerCertificate(true)` looks for the issuers the
  /// client did not send, as OpenSSL looks in the context's store.
  pub anchors: Vec<CertificateDer<'static>>,
}

/// Whether `end_entity` is one of the trusted certificates (`trust_set`: those given as `ca`, else
/// the public roots with `NODE_EXTRA_CA_CERTS`'s): those are trusted as they are, as OpenSSL
/// trusts a self-signed certificate in its store (webpki refuses a CA certificate, or any trust
/// anchor, used as the leaf). They must still be in date (`in_date`).
fn is_trusted_itself(trusted: &[CertificateDer<'static>], end_entity: &CertificateDer<'_>) -> bool {
  trusted.iter().any(|a| a.as_ref() == end_entity.as_ref()) && self_issued(end_entity)
}

fn in_date(cert: &CertificateDer<'_>) -> Result<(), Error> {
  let valid = x509_parser::parse_x509_certificate(cert.as_ref())
    .map(|(_, c)| c.validity().is_valid())
    .unwrap_or(false);
  if valid {
    Ok(())
  } else {
    Err(Error::InvalidCertificate(CertificateError::Expired))
  }
}

impl ClientVerifier {
  fn verify(
    &self,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
  ) -> Result<ClientCertVerified, Error> {
    let linked = self.trust.linked(intermediates);
    let result = if !self.trust.roots_given {
      Err(Error::InvalidCertificate(CertificateError::UnknownIssuer))
    } else {
      let chain = linked.as_deref().unwrap_or(intermediates);
      self.inner.verify_client_cert(end_entity, chain, now)
    };
    match result {
      Err(_) if v1_certs::is_v1(end_entity) => {
        v1_certs::verify_leaf(end_entity, trust_set(&self.anchors), &algorithms())?;
        in_date(end_entity).map(|()| ClientCertVerified::assertion())
      }
      Err(_) if is_trusted_itself(trust_set(&self.anchors), end_entity) => {
        in_date(end_entity).map(|()| ClientCertVerified::assertion())
      }
      Err(e) => Err(self.trust.unknown_issuer(e, end_entity, intermediates)),
      ok => ok,
    }
  }

  pub fn check(&self, chain: Option<&[CertificateDer<'_>]>) -> Option<NodeTlsError> {
    let Some((end_entity, intermediates)) = chain.and_then(|c| c.split_first()) else {
      // What node:tls and Bun report as the authorization error of a server socket whose client
      // sent no certificate (the handshake failure, with rejectUnauthorized, keeps its own code).
      return Some(NodeTlsError {
        code: "UNABLE_TO_GET_ISSUER_CERT",
        message: "unable to get issuer certificate".into(),
      });
    };
    self
      .verify(end_entity, intermediates, UnixTime::now())
      .err()
      .map(|e| node_cert_error(&e, Some(end_entity), intermediates, None))
  }
}

impl ClientCertVerifier for ClientVerifier {
  fn offer_client_auth(&self) -> bool {
    true
  }

  fn client_auth_mandatory(&self) -> bool {
    self.reject
  }

  fn root_hint_subjects(&self) -> &[DistinguishedName] {
    self.inner.root_hint_subjects()
  }

  fn verify_client_cert(
    &self,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
  ) -> Result<ClientCertVerified, Error> {
    match self.verify(end_entity, intermediates, now) {
      Ok(ok) => Ok(ok),
      Err(_) if !self.reject => Ok(ClientCertVerified::assertion()),
      Err(e) => Err(wrap(e, end_entity, intermediates, None)),
    }
  }

  delegate_signature_checks!();
}
