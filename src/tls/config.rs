//! TLS options → rustls configurations. Built once per listener (shared by all its connections)
//! and once per `connect`; every mistake in the options is reported here, naming the field.

use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite};

use super::pem;
use super::verify::{rustls_words, self_issued, ClientVerifier, ServerVerifier, TrustSet};

/// TLS options as the JS layer hands them over: every PEM input already a byte buffer.
#[derive(Default)]
pub struct TlsOptions {
  pub key: Vec<Vec<u8>>,
  pub cert: Vec<Vec<u8>>,
  pub ca: Vec<Vec<u8>>,
  pub passphrase: Option<String>,
  pub request_cert: bool,
  pub reject_unauthorized: bool,
  pub alpn: Vec<Vec<u8>>,
  pub server_name: Option<String>,
  /// `tls.ciphers`, an OpenSSL cipher list (ciphers.rs).
  pub ciphers: Option<String>,
}

pub struct ServerContext {
  pub config: Arc<ServerConfig>,
  /// Client certificates are checked by this (the listener asked for them).
  pub verifier: Option<Arc<ClientVerifier>>,
  /// What a configuration with another client-certificate policy (`setVerifyMode`) is built from.
  parts: ServerParts,
  /// Those configurations, built on first use: no certificate asked, asked, required.
  variants: Mutex<[Option<ServerVariant>; 3]>,
}

/// A server configuration and the verifier of its client certificates (none when it asks none).
pub type ServerVariant = (Arc<ServerConfig>, Option<Arc<ClientVerifier>>);

struct ServerParts {
  resolver: Arc<CertResolver>,
  /// The certificates given as `ca` (none: the public roots).
  anchors: Vec<CertificateDer<'static>>,
  alpn: Vec<Vec<u8>>,
  request_cert: bool,
  reject_unauthorized: bool,
  /// The suites `tls.ciphers` allows.
  suites: Arc<CryptoProvider>,
}

pub struct ClientContext {
  pub config: Arc<ClientConfig>,
  pub verifier: Arc<ServerVerifier>,
  pub server_name: Option<String>,
  /// The client certificate it presents, if any (`getCertificate()`).
  pub own_cert: Option<CertificateDer<'static>>,
}

impl ClientContext {
  /// The same configuration with another `rejectUnauthorized` (a client's `setVerifyMode`).
  pub fn with_reject(self: &Arc<Self>, reject: bool) -> Arc<ClientContext> {
    if self.verifier.reject == reject {
      return self.clone();
    }
    let verifier = Arc::new(ServerVerifier {
      reject,
      ..(*self.verifier).clone()
    });
    let mut config = (*self.config).clone();
    config
      .dangerous()
      .set_certificate_verifier(verifier.clone());
    Arc::new(ClientContext {
      config: Arc::new(config),
      verifier,
      server_name: self.server_name.clone(),
      own_cert: self.own_cert.clone(),
    })
  }
}

fn provider() -> Arc<CryptoProvider> {
  static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
  PROVIDER
    .get_or_init(|| {
      let mut provider = rustls::crypto::aws_lc_rs::default_provider();
      prefer_aes128(&mut provider.cipher_suites);
      Arc::new(provider)
    })
    .clone()
}

/// The provider for a connection's suites: the default one, or one limited to `tls.ciphers`.
fn suites_provider(ciphers: Option<&str>) -> Result<Arc<CryptoProvider>, String> {
  let Some(list) = ciphers else {
    return Ok(provider());
  };
  let mut limited = rustls::crypto::aws_lc_rs::default_provider();
  limited.cipher_suites = super::ciphers::select(list)?;
  Ok(Arc::new(limited))
}

/// The default order of suites: AES-128-GCM first, then AES-256-GCM, then ChaCha20 (rustls's own
/// order leads with AES-256). A client offers them so, as Bun's (BoringSSL's) client does. A server
/// chooses by it, as node:tls chooses by its own list: AES-128-GCM with SHA-256 costs a handshake
/// about 12% less CPU than the AES-256-GCM with SHA-384 that OpenSSL clients list first (aws-lc's
/// SHA-512 runs without AVX on AMD CPUs), at no loss that matters (it is TLS 1.3's mandatory suite
/// and Go's and Mozilla's first). A `tls.ciphers` list keeps its own order, for both; one that
/// names no TLS 1.3 suite keeps all three in rustls's order (AES-256 first), as node:tls keeps
/// its own TLS 1.3 list then.
fn prefer_aes128(suites: &mut [SupportedCipherSuite]) {
  suites.sort_by_key(|suite| {
    let name = format!("{:?}", suite.suite());
    let rank = if name.contains("AES_128") {
      0
    } else if name.contains("AES_256") {
      1
    } else {
      2
    };
    (
      suite.version().version != rustls::ProtocolVersion::TLSv1_3,
      rank,
    )
  });
}

/// The public roots `tls: true` trusts: Mozilla's set as shipped by webpki-root-certs, the same set
/// node:tls bundles, so behaviour does not depend on the machine's store, plus the certificates of
/// the file `NODE_EXTRA_CA_CERTS` names, as node:tls and Bun add them. Whole certificates, not just
/// trust anchors: `getPeerCertificate(true)` ends its chain with the root, as Node's does.
pub fn public_root_certs() -> &'static [CertificateDer<'static>] {
  static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
  ROOTS.get_or_init(|| {
    let mut roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec();
    roots.extend(extra_ca_certs());
    roots
  })
}

/// The certificates of `NODE_EXTRA_CA_CERTS`, read once. As in Node, a file that cannot be read or
/// parsed is ignored with a warning; the bundled roots still apply.
fn extra_ca_certs() -> Vec<CertificateDer<'static>> {
  let Some(path) = std::env::var_os("NODE_EXTRA_CA_CERTS").filter(|p| !p.is_empty()) else {
    return Vec::new();
  };
  let loaded = std::fs::read(&path)
    .map_err(|e| e.to_string())
    .and_then(|pem| pem::certificates(&[pem], "NODE_EXTRA_CA_CERTS"));
  match loaded {
    Ok(certs) => certs,
    Err(e) => {
      eprintln!(
        "node-bun-tcp: ignoring extra certs from `{}`, load failed: {e}",
        path.to_string_lossy()
      );
      Vec::new()
    }
  }
}

fn public_roots() -> Arc<RootCertStore> {
  static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
  ROOTS
    .get_or_init(|| {
      let mut store = RootCertStore::empty();
      store.add_parsable_certificates(public_root_certs().iter().cloned());
      Arc::new(store)
    })
    .clone()
}

/// The trust store of the certificates given as `ca` (the public roots when none were): its
/// self-issued ones, as OpenSSL without partial chains ends a chain only at a root. The others
/// link chains to them (`TrustSet::linking`). With no root among them, the store holds the linking
/// ones only because webpki needs an anchor; `roots_given` false makes every chain fail.
fn root_store(
  anchors: &[CertificateDer<'static>],
) -> Result<(Arc<RootCertStore>, TrustSet), String> {
  if anchors.is_empty() {
    return Ok((public_roots(), TrustSet::default()));
  }
  let (roots, linking): (Vec<_>, Vec<_>) = anchors.iter().cloned().partition(self_issued);
  let mut store = RootCertStore::empty();
  let in_store = if roots.is_empty() { &linking } else { &roots };
  for cert in in_store {
    store
      .add(cert.clone())
      .map_err(|e| format!("tls.ca: not a usable CA certificate ({})", rustls_words(&e)))?;
  }
  let set = TrustSet {
    roots_given: !roots.is_empty(),
    linking,
  };
  Ok((Arc::new(store), set))
}

/// A lone leaf's chain completed from the `ca` certificates, as OpenSSL completes the chain it
/// sends from its store when `cert` has no intermediates (so the common "intermediate in `ca`"
/// set-up works): each issuer found by name is added, up to the root when it is there.
fn complete_chain(chain: &mut Vec<CertificateDer<'static>>, ca: &[CertificateDer<'static>]) {
  if chain.len() != 1 || ca.is_empty() {
    return;
  }
  let names = |cert: &CertificateDer<'_>| {
    x509_parser::parse_x509_certificate(cert.as_ref())
      .ok()
      .map(|(_, c)| (c.subject().as_raw().to_vec(), c.issuer().as_raw().to_vec()))
  };
  let ca_names: Vec<_> = ca.iter().map(names).collect();
  while chain.len() < 10 {
    let Some((subject, issuer)) = chain.last().and_then(names) else {
      return;
    };
    if subject == issuer {
      return; // self-issued: the top
    }
    let found = ca.iter().zip(&ca_names).find(|(cert, n)| {
      n.as_ref().is_some_and(|(s, _)| *s == issuer) && !chain.iter().any(|c| c == *cert)
    });
    match found {
      Some((cert, _)) => chain.push(cert.clone()),
      None => return,
    }
  }
}

fn certified_keys(opts: &TlsOptions) -> Result<Vec<Arc<CertifiedKey>>, String> {
  let keys = pem::private_keys(&opts.key, opts.passphrase.as_deref())?;
  let ca = pem::certificates(&opts.ca, "tls.ca")?;
  // One certificate input per key; an input may carry the chain after the leaf.
  let mut chains = Vec::new();
  for (i, input) in opts.cert.iter().enumerate() {
    let field = if opts.cert.len() == 1 {
      "tls.cert".to_string()
    } else {
      format!("tls.cert[{i}]")
    };
    let mut chain = pem::certificates(std::slice::from_ref(input), &field)?;
    complete_chain(&mut chain, &ca);
    chains.push(chain);
  }
  if keys.len() != chains.len() {
    return Err(format!(
      "tls.key / tls.cert: {} key(s) but {} certificate(s); give one key per certificate",
      keys.len(),
      chains.len()
    ));
  }
  let provider = provider();
  let mut signers = keys
    .into_iter()
    .enumerate()
    .map(|(i, key)| {
      provider
        .key_provider
        .load_private_key(key)
        .map(Some)
        .map_err(|e| {
          format!(
            "tls.key{}: unusable private key ({})",
            index(i),
            rustls_words(&e)
          )
        })
    })
    .collect::<Result<Vec<_>, String>>()?;
  // Each certificate takes the key whose public key it carries, in whatever order the arrays
  // list them (node:tls and Bun pair them so), else the key at its own index. rustls's own check
  // (`CertifiedKey::keys_match`) parses the leaf with webpki, which refuses X.509 v1
  // certificates (what `openssl x509 -req` makes without extensions); OpenSSL, and so node:tls
  // and Bun, serve them. So the public keys are compared from x509-parser's reading.
  chains
    .into_iter()
    .enumerate()
    .map(|(i, chain)| {
      let leaf = chain.first().map(|c| c.as_ref()).unwrap_or_default();
      let spki = match x509_parser::parse_x509_certificate(leaf) {
        Ok((_, cert)) => cert.tbs_certificate.subject_pki.raw.to_vec(),
        Err(e) => {
          return Err(format!(
            "tls.cert{}: the certificate does not parse ({})",
            index(i),
            x509_words(&e)
          ))
        }
      };
      let matching = signers.iter().position(|s| {
        s.as_ref()
          .and_then(|s| s.public_key())
          .is_some_and(|public| public.as_ref() == spki.as_slice())
      });
      let unknown = signers
        .get(i)
        .and_then(|s| s.as_ref())
        .is_some_and(|s| s.public_key().is_none());
      let taken = match matching {
        Some(k) => signers[k].take(),
        None if unknown => signers[i].take(),
        None => None,
      };
      let Some(signer) = taken else {
        return Err(format!(
          "tls.key: the private key does not match the certificate (tls.cert{})",
          index(i)
        ));
      };
      Ok(Arc::new(CertifiedKey::new(chain, signer)))
    })
    .collect()
}

fn index(i: usize) -> String {
  if i == 0 {
    String::new()
  } else {
    format!("[{i}]")
  }
}

pub fn server_context(opts: &TlsOptions) -> Result<ServerContext, String> {
  if opts.key.is_empty() || opts.cert.is_empty() {
    return Err("tls.key and tls.cert are required for a TLS server".into());
  }
  let keys = certified_keys(opts)?;
  // Read now even when no certificate is asked for: a `ca` that does not parse is an error at
  // `listen` (as in Bun), not when `setVerifyMode` needs it.
  let anchors = pem::certificates(&opts.ca, "tls.ca")?;
  let parts = ServerParts {
    suites: suites_provider(opts.ciphers.as_deref())?,
    resolver: Arc::new(CertResolver::new(keys, opts.server_name.clone())),
    anchors,
    alpn: opts.alpn.clone(),
    request_cert: opts.request_cert,
    reject_unauthorized: opts.reject_unauthorized,
  };
  let (config, verifier) = parts.build(opts.request_cert, opts.reject_unauthorized)?;
  Ok(ServerContext {
    config,
    verifier,
    parts,
    variants: Mutex::new([None, None, None]),
  })
}

impl ServerParts {
  fn build(&self, request_cert: bool, reject: bool) -> Result<ServerVariant, String> {
    let builder = ServerConfig::builder_with_provider(self.suites.clone())
      .with_safe_default_protocol_versions()
      .map_err(|e| e.to_string())?;
    let (mut config, verifier) = if request_cert {
      let (store, trust) = root_store(&self.anchors)?;
      let inner = WebPkiClientVerifier::builder_with_provider(store, provider())
        .build()
        .map_err(|e| format!("tls.ca: {e}"))?;
      let verifier = Arc::new(ClientVerifier {
        inner,
        reject,
        trust,
        anchors: self.anchors.clone(),
      });
      (
        builder
          .with_client_cert_verifier(verifier.clone())
          .with_cert_resolver(self.resolver.clone()),
        Some(verifier),
      )
    } else {
      (
        builder
          .with_no_client_auth()
          .with_cert_resolver(self.resolver.clone()),
        None,
      )
    };
    config.alpn_protocols = self.alpn.clone();
    // The server's order picks the suite (see `prefer_aes128`), as in node:tls.
    config.ignore_client_order = true;
    Ok((Arc::new(config), verifier))
  }
}

impl ServerContext {
  /// The configuration for another client-certificate policy (`socket.setVerifyMode`): the
  /// listener's own when it is the same, else one built once per policy. A policy that asks for
  /// certificates checks them against the listener's `ca` (the public roots without one).
  pub fn variant(&self, request_cert: bool, reject: bool) -> Result<ServerVariant, String> {
    let reject = request_cert && reject;
    let own_reject = self.parts.request_cert && self.parts.reject_unauthorized;
    if request_cert == self.parts.request_cert && reject == own_reject {
      return Ok((self.config.clone(), self.verifier.clone()));
    }
    let index = match (request_cert, reject) {
      (false, _) => 0,
      (true, false) => 1,
      (true, true) => 2,
    };
    let mut variants = self.variants.lock();
    if let Some(built) = &variants[index] {
      return Ok(built.clone());
    }
    let built = self.parts.build(request_cert, reject)?;
    variants[index] = Some(built.clone());
    Ok(built)
  }
}

/// Why a certificate does not parse, in words (the parser's own text is its internals, such as
/// `NomError(Eof)`).
fn x509_words<E>(_: &E) -> &'static str {
  "cut short, or not an X.509 certificate"
}

pub fn client_context(opts: &TlsOptions) -> Result<ClientContext, String> {
  let anchors = pem::certificates(&opts.ca, "tls.ca")?;
  let (store, trust) = root_store(&anchors)?;
  let inner = WebPkiServerVerifier::builder_with_provider(store, provider())
    .build()
    .map_err(|e| format!("tls.ca: {e}"))?;
  let verifier = Arc::new(ServerVerifier {
    inner,
    reject: opts.reject_unauthorized,
    trust,
    anchors,
  });
  let builder = ClientConfig::builder_with_provider(suites_provider(opts.ciphers.as_deref())?)
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .dangerous()
    .with_custom_certificate_verifier(verifier.clone());
  let mut own_cert = None;
  let mut config = if opts.key.is_empty() && opts.cert.is_empty() {
    builder.with_no_client_auth()
  } else {
    let key = certified_keys(opts)?
      .into_iter()
      .next()
      .ok_or("tls.key: no key")?;
    own_cert = key.cert.first().cloned();
    builder.with_client_cert_resolver(Arc::new(SingleCert(key)))
  };
  config.alpn_protocols = opts.alpn.clone();
  Ok(ClientContext {
    config: Arc::new(config),
    verifier,
    server_name: opts.server_name.clone(),
    own_cert,
  })
}

#[derive(Debug)]
struct SingleCert(Arc<CertifiedKey>);

impl rustls::client::ResolvesClientCert for SingleCert {
  fn resolve(
    &self,
    _hints: &[&[u8]],
    _schemes: &[rustls::SignatureScheme],
  ) -> Option<Arc<CertifiedKey>> {
    Some(self.0.clone())
  }

  fn has_certs(&self) -> bool {
    true
  }
}

/// Several key/certificate pairs: the one whose names match the client's SNI and whose key can
/// sign with a scheme the client offers; else the first that can sign.
#[derive(Debug)]
struct CertResolver {
  keys: Vec<(Vec<String>, Arc<CertifiedKey>)>,
}

impl CertResolver {
  fn new(keys: Vec<Arc<CertifiedKey>>, server_name: Option<String>) -> Self {
    let keys = keys
      .into_iter()
      .enumerate()
      .map(|(i, key)| {
        let mut names = key.cert.first().map(cert_names).unwrap_or_default();
        if i == 0 {
          names.extend(server_name.clone());
        }
        (names, key)
      })
      .collect();
    CertResolver { keys }
  }
}

impl CertResolver {
  /// The certificate served to a client that asked for `sni`: as `resolve` chooses, by name,
  /// without knowing the schemes the client offered (several pairs for one name: the first).
  fn certificate_for(&self, sni: Option<&str>) -> Option<CertificateDer<'static>> {
    let named = sni.and_then(|sni| {
      self
        .keys
        .iter()
        .find(|(names, _)| names.iter().any(|n| name_matches(n, sni)))
    });
    let (_, key) = named.or(self.keys.first())?;
    key.cert.first().cloned()
  }
}

impl ServerContext {
  /// The certificate this server presents to a client that asked for `sni`, as far as the name
  /// tells (`getCertificate()` before the client's hello has chosen).
  pub fn certificate_for(&self, sni: Option<&str>) -> Option<CertificateDer<'static>> {
    self.parts.resolver.certificate_for(sni)
  }
}

/// Where a connection's resolver notes the certificate it chose.
pub type ServedCert = Arc<Mutex<Option<CertificateDer<'static>>>>;

/// `config` for one connection, whose resolver notes in `served` the certificate it chooses: with
/// several pairs that depends on what the client offers, which nothing reports afterwards.
pub fn recording(config: &Arc<ServerConfig>, served: &ServedCert) -> Arc<ServerConfig> {
  let mut own = (**config).clone();
  own.cert_resolver = Arc::new(RecordingResolver {
    inner: config.cert_resolver.clone(),
    served: served.clone(),
  });
  Arc::new(own)
}

#[derive(Debug)]
struct RecordingResolver {
  inner: Arc<dyn ResolvesServerCert>,
  served: ServedCert,
}

impl ResolvesServerCert for RecordingResolver {
  fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
    let key = self.inner.resolve(hello);
    *self.served.lock() = key.as_ref().and_then(|k| k.cert.first().cloned());
    key
  }
}

impl ResolvesServerCert for CertResolver {
  fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
    let schemes = hello.signature_schemes();
    let usable = |key: &Arc<CertifiedKey>| key.key.choose_scheme(schemes).is_some();
    if let Some(sni) = hello.server_name() {
      let hit = self
        .keys
        .iter()
        .find(|(names, key)| names.iter().any(|n| name_matches(n, sni)) && usable(key));
      if let Some((_, key)) = hit {
        return Some(key.clone());
      }
    }
    self
      .keys
      .iter()
      .find(|(_, key)| usable(key))
      .or(self.keys.first())
      .map(|(_, key)| key.clone())
  }
}

fn name_matches(pattern: &str, host: &str) -> bool {
  let (pattern, host) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
  match pattern.strip_prefix("*.") {
    Some(suffix) => host.split_once('.').is_some_and(|(_, rest)| rest == suffix),
    None => pattern == host,
  }
}

/// DNS names of a certificate: its subjectAltName DNS entries, else its common name.
fn cert_names(cert: &CertificateDer<'_>) -> Vec<String> {
  use x509_parser::extensions::GeneralName;
  let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
    return Vec::new();
  };
  let mut names: Vec<String> = match parsed.subject_alternative_name() {
    Ok(Some(san)) => san
      .value
      .general_names
      .iter()
      .filter_map(|n| match n {
        GeneralName::DNSName(d) => Some(d.to_string()),
        _ => None,
      })
      .collect(),
    _ => Vec::new(),
  };
  if names.is_empty() {
    names.extend(
      parsed
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_string)),
    );
  }
  names
}

#[cfg(test)]
mod roots_tests {
  /// Every public root certificate becomes a trust anchor: switching from webpki-roots' anchors to
  /// the whole certificates lost none.
  #[test]
  fn every_public_root_is_an_anchor() {
    let store = super::public_roots();
    assert!(store.len() > 100, "{} roots", store.len());
    assert_eq!(store.len(), super::public_root_certs().len());
  }
}

#[cfg(test)]
mod suite_order_tests {
  use rustls::CipherSuite;

  /// Our clients offer what Bun's offer first: AES-128-GCM, for TLS 1.3 and 1.2 alike.
  #[test]
  fn aes128_leads_each_version() {
    let suites: Vec<CipherSuite> = super::provider()
      .cipher_suites
      .iter()
      .map(|s| s.suite())
      .collect();
    assert_eq!(
      suites[0],
      CipherSuite::TLS13_AES_128_GCM_SHA256,
      "{suites:?}"
    );
    assert_eq!(
      suites[1],
      CipherSuite::TLS13_AES_256_GCM_SHA384,
      "{suites:?}"
    );
    let first12 = suites
      .iter()
      .position(|s| format!("{s:?}").starts_with("TLS_ECDHE"));
    assert!(
      first12.is_some_and(|i| format!("{:?}", suites[i]).contains("AES_128_GCM")),
      "{suites:?}"
    );
    let limited = super::suites_provider(Some(
      "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
    ))
    .unwrap();
    // A list of the user's is not reordered.
    assert!(format!("{:?}", limited.cipher_suites[0].suite()).contains("AES_256"));
  }
}
