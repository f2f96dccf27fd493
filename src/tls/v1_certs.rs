//! X.509 version 1 certificates, which webpki refuses outright (it reads v3 only) and OpenSSL,
//! so node:tls and Bun, accepts: what `openssl x509 -req` makes without an extensions file (before
//! OpenSSL 3.2). A v1 leaf is trusted when a trusted certificate signed it (a v1 certificate cannot
//! be a CA, so its chain is that one step), and its signatures are checked with its key.

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, SignatureVerificationAlgorithm};
use rustls::{CertificateError, DigitallySignedStruct, Error};

use super::der::{self, BIT_STRING, SEQUENCE};

/// Whether `cert` is an X.509 v1 certificate.
pub fn is_v1(cert: &CertificateDer<'_>) -> bool {
  x509_parser::parse_x509_certificate(cert.as_ref())
    .is_ok_and(|(_, c)| c.version() == x509_parser::x509::X509Version::V1)
}

/// A v1 leaf's chain: one of `trusted` issued it (same issuer name, and its key verifies the
/// leaf's signature). `UnknownIssuer` when none did; its dates are the caller's to check.
pub fn verify_leaf(
  leaf: &CertificateDer<'_>,
  trusted: &[CertificateDer<'_>],
  algorithms: &WebPkiSupportedAlgorithms,
) -> Result<(), Error> {
  let Ok((_, parsed)) = x509_parser::parse_x509_certificate(leaf.as_ref()) else {
    return Err(Error::InvalidCertificate(CertificateError::BadEncoding));
  };
  let Some((tbs, signature_alg, signature)) = signed_parts(leaf.as_ref()) else {
    return Err(Error::InvalidCertificate(CertificateError::BadEncoding));
  };
  let issuer_name = parsed.issuer().as_raw();
  let signed_by = |issuer: &CertificateDer<'_>| {
    let Ok((_, candidate)) = x509_parser::parse_x509_certificate(issuer.as_ref()) else {
      return false;
    };
    candidate.subject().as_raw() == issuer_name
      && spki_parts(candidate.public_key().raw).is_some_and(|(key_alg, key)| {
        algorithms.all.iter().any(|alg| {
          alg.signature_alg_id().as_ref() == signature_alg
            && alg.public_key_alg_id().as_ref() == key_alg
            && alg.verify_signature(key, tbs, signature).is_ok()
        })
      })
  };
  if !trusted.iter().any(signed_by) {
    return Err(Error::InvalidCertificate(CertificateError::UnknownIssuer));
  }
  Ok(())
}

/// A handshake signature (TLS 1.2's ServerKeyExchange or CertificateVerify) made with a v1
/// certificate's key, which webpki will not read from the certificate.
pub fn verify_tls12_signature(
  message: &[u8],
  cert: &CertificateDer<'_>,
  dss: &DigitallySignedStruct,
  algorithms: &WebPkiSupportedAlgorithms,
) -> Result<(), Error> {
  let bad = || Error::InvalidCertificate(CertificateError::BadSignature);
  let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|_| bad())?;
  let (key_alg, key) = spki_parts(parsed.public_key().raw).ok_or_else(bad)?;
  let candidates: &[&dyn SignatureVerificationAlgorithm] = algorithms
    .mapping
    .iter()
    .find(|(scheme, _)| *scheme == dss.scheme)
    .map_or(&[], |(_, algs)| algs);
  let verified = candidates.iter().any(|alg| {
    alg.public_key_alg_id().as_ref() == key_alg
      && alg.verify_signature(key, message, dss.signature()).is_ok()
  });
  if verified {
    Ok(())
  } else {
    Err(bad())
  }
}

/// A certificate's signed bytes (the whole TBSCertificate), its signature algorithm (the
/// AlgorithmIdentifier's content, as webpki names algorithms) and the signature.
fn signed_parts(cert: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
  let mut outer = der::Reader::new(der::first(cert, SEQUENCE)?);
  let tbs = outer.next_if(SEQUENCE)?.raw;
  let alg = outer.expect(SEQUENCE)?;
  let signature = bit_string(outer.expect(BIT_STRING)?)?;
  Some((tbs, alg, signature))
}

/// A SubjectPublicKeyInfo's algorithm (AlgorithmIdentifier content) and key bits.
fn spki_parts(spki: &[u8]) -> Option<(&[u8], &[u8])> {
  let mut reader = der::Reader::new(der::first(spki, SEQUENCE)?);
  let alg = reader.expect(SEQUENCE)?;
  let key = bit_string(reader.expect(BIT_STRING)?)?;
  Some((alg, key))
}

/// A BIT STRING's bits, which must be whole bytes.
fn bit_string(content: &[u8]) -> Option<&[u8]> {
  match content.split_first()? {
    (0, bits) => Some(bits),
    _ => None,
  }
}
