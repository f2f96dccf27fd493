//! PEM input → DER certificates and private keys, with errors that name the option they came from.

use pkcs8::der::Document;
use pkcs8::EncryptedPrivateKeyInfo;
use rustls_pki_types::pem::{self, SectionKind};
use rustls_pki_types::{
  CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};

const ENCRYPTED_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_END: &str = "-----END ENCRYPTED PRIVATE KEY-----";

/// Every certificate in `inputs` (each a PEM blob that may hold several).
pub fn certificates(
  inputs: &[Vec<u8>],
  field: &str,
) -> Result<Vec<CertificateDer<'static>>, String> {
  let mut out = Vec::new();
  for (i, input) in inputs.iter().enumerate() {
    let mut found = 0;
    for (kind, der) in sections(input, field, i)? {
      if kind == SectionKind::Certificate {
        out.push(CertificateDer::from(der));
        found += 1;
      }
    }
    if found == 0 {
      return Err(format!(
        "{}: no PEM certificate found (expected -----BEGIN CERTIFICATE-----)",
        name(field, i, inputs.len())
      ));
    }
  }
  Ok(out)
}

/// One private key per input: plain PKCS#8, PKCS#1 (RSA) or SEC1 (EC), or encrypted PKCS#8 opened
/// with `passphrase`.
pub fn private_keys(
  inputs: &[Vec<u8>],
  passphrase: Option<&str>,
) -> Result<Vec<PrivateKeyDer<'static>>, String> {
  let mut out = Vec::new();
  for (i, input) in inputs.iter().enumerate() {
    let field = name("tls.key", i, inputs.len());
    if let Some(key) = encrypted_key(input, passphrase, &field)? {
      out.push(key);
      continue;
    }
    let key = sections(input, "tls.key", i)?
      .into_iter()
      .find_map(|(kind, der)| match kind {
        SectionKind::PrivateKey => Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der))),
        SectionKind::RsaPrivateKey => Some(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der))),
        SectionKind::EcPrivateKey => Some(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der))),
        _ => None,
      });
    match key {
      Some(key) => out.push(key),
      None if contains(input, b"Proc-Type: 4,ENCRYPTED") => {
        return Err(format!(
          "{field}: legacy encrypted PEM keys are not supported; convert the key to encrypted PKCS#8 \
           (openssl pkcs8 -topk8)"
        ))
      }
      None => return Err(format!("{field}: no PEM private key found (expected -----BEGIN PRIVATE KEY-----)")),
    }
  }
  Ok(out)
}

fn encrypted_key(
  input: &[u8],
  passphrase: Option<&str>,
  field: &str,
) -> Result<Option<PrivateKeyDer<'static>>, String> {
  let text = String::from_utf8_lossy(input);
  let Some(start) = text.find(ENCRYPTED_BEGIN) else {
    return Ok(None);
  };
  let end = text[start..]
    .find(ENCRYPTED_END)
    .map(|e| start + e + ENCRYPTED_END.len())
    .ok_or_else(|| format!("{field}: unterminated ENCRYPTED PRIVATE KEY block"))?;
  let Some(passphrase) = passphrase else {
    return Err(format!(
      "tls.passphrase: {field} is encrypted and no passphrase was given"
    ));
  };
  let (_, doc) =
    Document::from_pem(&text[start..end]).map_err(|e| format!("{field}: invalid PEM ({e})"))?;
  let info = EncryptedPrivateKeyInfo::try_from(doc.as_bytes())
    .map_err(|e| format!("{field}: invalid encrypted key ({e})"))?;
  let plain = info
    .decrypt(passphrase.as_bytes())
    .map_err(|_| format!("tls.passphrase: wrong passphrase, cannot decrypt {field}"))?;
  Ok(Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
    plain.as_bytes().to_vec(),
  ))))
}

fn sections(input: &[u8], field: &str, i: usize) -> Result<Vec<(SectionKind, Vec<u8>)>, String> {
  let mut reader = std::io::BufReader::new(input);
  let mut out = Vec::new();
  loop {
    match pem::from_buf(&mut reader) {
      Ok(Some(section)) => out.push(section),
      Ok(None) => return Ok(out),
      Err(e) => {
        return Err(format!(
          "{}: invalid PEM ({e:?})",
          name(field, i, usize::MAX)
        ))
      }
    }
  }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
  haystack.windows(needle.len()).any(|w| w == needle)
}

/// `tls.key`, or `tls.key[1]` when several were given.
fn name(field: &str, i: usize, count: usize) -> String {
  if count == 1 {
    field.to_string()
  } else {
    format!("{field}[{i}]")
  }
}
