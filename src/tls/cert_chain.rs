//! The issuer chain of `getPeerCertificate(true)`, built as Node builds it (`GetPeerCert` in its
//! `crypto_common.cc`): from the leaf, each next certificate is the first of the peer's others that
//! OpenSSL's `X509_check_issued` says issued the last one; when they run out, the trust store (the
//! `ca` option) is asked for the issuer (`X509_STORE_CTX_get1_issuer`) until a self-issued
//! certificate is reached; a self-issued last certificate is its own issuer.

use x509_parser::certificate::X509Certificate;

use super::cert_ext::{Extensions, KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN};
use super::cert_key::{self, KeyKind};
use super::cert_names::same_name;

/// What chain building needs of one certificate.
struct Cert<'a> {
  der: &'a [u8],
  subject: &'a [u8],
  issuer: &'a [u8],
  serial: &'a [u8],
  signature: String,
  key: Option<KeyKind>,
  ext: Extensions<'a>,
  not_before: i64,
  not_after: i64,
}

impl<'a> Cert<'a> {
  fn parse(der: &'a [u8]) -> Option<Self> {
    let (_, c): (_, X509Certificate<'a>) = x509_parser::parse_x509_certificate(der).ok()?;
    let tbs = &c.tbs_certificate;
    Some(Cert {
      der,
      subject: tbs.subject.as_raw(),
      issuer: tbs.issuer.as_raw(),
      serial: tbs.raw_serial(),
      signature: tbs.signature.algorithm.to_id_string(),
      key: cert_key::kind(tbs.subject_pki.raw),
      ext: Extensions::read(tbs.extensions()),
      not_before: tbs.validity.not_before.timestamp(),
      not_after: tbs.validity.not_after.timestamp(),
    })
  }
}

/// The key kind a signature algorithm needs of the issuer's key (`OBJ_find_sigid_algs`).
fn signature_key_kind(oid: &str) -> Option<&'static [KeyKind]> {
  const RSA: &[KeyKind] = &[KeyKind::Rsa];
  const PSS: &[KeyKind] = &[KeyKind::RsaPss, KeyKind::Rsa];
  const EC: &[KeyKind] = &[KeyKind::Ec];
  const DSA: &[KeyKind] = &[KeyKind::Dsa];
  match oid {
    "1.2.840.113549.1.1.2"
    | "1.2.840.113549.1.1.3"
    | "1.2.840.113549.1.1.4"
    | "1.2.840.113549.1.1.5"
    | "1.2.840.113549.1.1.11"
    | "1.2.840.113549.1.1.12"
    | "1.2.840.113549.1.1.13"
    | "1.2.840.113549.1.1.14"
    | "1.2.840.113549.1.1.15"
    | "1.2.840.113549.1.1.16"
    | "1.3.14.3.2.29"
    | "2.16.840.1.101.3.4.3.13"
    | "2.16.840.1.101.3.4.3.14"
    | "2.16.840.1.101.3.4.3.15"
    | "2.16.840.1.101.3.4.3.16" => Some(RSA),
    "1.2.840.113549.1.1.10" => Some(PSS),
    "1.2.840.10045.4.1"
    | "1.2.840.10045.4.3.1"
    | "1.2.840.10045.4.3.2"
    | "1.2.840.10045.4.3.3"
    | "1.2.840.10045.4.3.4"
    | "2.16.840.1.101.3.4.3.9"
    | "2.16.840.1.101.3.4.3.10"
    | "2.16.840.1.101.3.4.3.11"
    | "2.16.840.1.101.3.4.3.12" => Some(EC),
    "1.2.840.10040.4.3" | "2.16.840.1.101.3.4.3.1" | "2.16.840.1.101.3.4.3.2" => Some(DSA),
    "1.3.101.112" => Some(&[KeyKind::Ed25519]),
    "1.3.101.113" => Some(&[KeyKind::Ed448]),
    _ => None,
  }
}

/// `ossl_x509_likely_issued`: names match, the authority key identifier (if any) fits the issuer,
/// and the subject's signature algorithm fits the issuer's key.
fn likely_issued(issuer: &Cert<'_>, subject: &Cert<'_>) -> bool {
  if !same_name(issuer.subject, subject.issuer) || issuer.ext.invalid || subject.ext.invalid {
    return false;
  }
  if let Some(akid) = &subject.ext.authority_key_id {
    if let (Some(wanted), Some(have)) = (akid.key_id, issuer.ext.subject_key_id) {
      if wanted != have {
        return false;
      }
    }
    if akid.serial.is_some_and(|s| s != issuer.serial) {
      return false;
    }
    if akid.issuer.is_some_and(|n| !same_name(n, issuer.issuer)) {
      return false;
    }
  }
  match (issuer.key, signature_key_kind(&subject.signature)) {
    (Some(key), Some(kinds)) => kinds.contains(&key),
    _ => false,
  }
}

/// `X509_check_issued(issuer, subject) == X509_V_OK`: likely issued, and the issuer's key usage
/// (if present) allows signing certificates.
fn check_issued(issuer: &Cert<'_>, subject: &Cert<'_>) -> bool {
  let usage = if subject.ext.proxy {
    KU_DIGITAL_SIGNATURE
  } else {
    KU_KEY_CERT_SIGN
  };
  likely_issued(issuer, subject) && !issuer.ext.rejects_usage(usage)
}

/// The chain for `getPeerCertificate(true)`: DER certificates, leaf first.
pub struct Chain<'a> {
  pub certificates: Vec<&'a [u8]>,
  /// The last certificate is its own `issuerCertificate`.
  pub ends_self_issued: bool,
}

/// `peer`: the certificates the peer sent, leaf first. `store`: the trusted certificates (the `ca`
/// option). `now`: seconds since the epoch, for preferring an issuer that is in date.
pub fn build<'a>(peer: &[&'a [u8]], store: &[&'a [u8]], now: i64) -> Chain<'a> {
  let Some(mut current) = peer.first().and_then(|d| Cert::parse(d)) else {
    return Chain {
      certificates: peer.iter().take(1).copied().collect(),
      ends_self_issued: false,
    };
  };
  let mut pool: Vec<Cert<'a>> = peer[1..].iter().filter_map(|d| Cert::parse(d)).collect();
  let mut out = vec![current.der];
  // AddIssuerChainToObject: issuers among what the peer sent.
  while let Some(i) = pool.iter().position(|ca| check_issued(ca, &current)) {
    current = pool.remove(i);
    out.push(current.der);
    // Node's loop checks `i == sk_X509_num(...)` after deleting the issuer it found, so it stops
    // when that issuer was the last in the list, even if others could go on: a chain sent out of
    // order ([leaf, root, intermediate]) ends at the intermediate there, and so here.
    if i == pool.len() {
      break;
    }
  }
  // GetLastIssuedCert: issuers from the trust store (each certificate once, as X509_STORE keeps
  // them), preferring one in date, else the one that expired last.
  let mut trusted: Vec<Cert<'a>> = Vec::new();
  for der in store {
    if trusted.iter().all(|c| c.der != *der) {
      trusted.extend(Cert::parse(der));
    }
  }
  let mut current_from_store: Option<usize> = None;
  // Node loops until it reaches a self-issued certificate or finds no issuer; a cycle of
  // cross-signed certificates in the store would never end, so stop after every one was used.
  for _ in 0..=trusted.len() {
    if check_issued(&current, &current) {
      break;
    }
    let candidates = trusted
      .iter()
      .enumerate()
      .filter(|(_, ca)| same_name(ca.subject, current.issuer) && likely_issued(ca, &current));
    let mut chosen: Option<usize> = None;
    for (i, ca) in candidates {
      if ca.not_before <= now && now <= ca.not_after {
        chosen = Some(i);
        break;
      }
      if chosen.is_none_or(|c| ca.not_after > trusted[c].not_after) {
        chosen = Some(i);
      }
    }
    let Some(i) = chosen else { break };
    out.push(trusted[i].der);
    // Node stops when the store returns the certificate it asked about (a self-signed
    // certificate whose key usage does not allow signing certificates).
    if current_from_store == Some(i) {
      break;
    }
    current_from_store = Some(i);
    current = Cert::parse(trusted[i].der).unwrap_or(current);
  }
  let ends_self_issued = check_issued(&current, &current);
  Chain {
    certificates: out,
    ends_self_issued,
  }
}
