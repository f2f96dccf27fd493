//! PEM input → DER certificates and private keys, with errors that name the option they came from.

use pkcs8::der::Document;
use pkcs8::EncryptedPrivateKeyInfo;

use super::pkcs12_pbe;
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
    if let Some(key) = legacy_encrypted_key(input, passphrase, &field)? {
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
      None => {
        return Err(format!(
          "{field}: no PEM private key found (expected -----BEGIN PRIVATE KEY-----)"
        ))
      }
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
  let wrong = || format!("tls.passphrase: wrong passphrase, cannot decrypt {field}");
  if let Some(pbe) = pkcs12_pbe::parse(doc.as_bytes()) {
    let plain = pkcs12_pbe::decrypt(&pbe, passphrase).ok_or_else(wrong)?;
    return Ok(Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(plain))));
  }
  let info = EncryptedPrivateKeyInfo::try_from(doc.as_bytes())
    .map_err(|e| format!("{field}: invalid encrypted key ({e})"))?;
  let plain = info.decrypt(passphrase.as_bytes()).map_err(|_| wrong())?;
  Ok(Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
    plain.as_bytes().to_vec(),
  ))))
}

/// A traditional OpenSSL encrypted key: a `BEGIN RSA/EC PRIVATE KEY` block with
/// `Proc-Type: 4,ENCRYPTED` and `DEK-Info: <cipher>,<iv hex>` headers. The key is OpenSSL's
/// `EVP_BytesToKey` (MD5, one round, salted with the IV's first 8 bytes) of the passphrase.
fn legacy_encrypted_key(
  input: &[u8],
  passphrase: Option<&str>,
  field: &str,
) -> Result<Option<PrivateKeyDer<'static>>, String> {
  let text = String::from_utf8_lossy(input);
  let Some(marker) = text.find("Proc-Type: 4,ENCRYPTED") else {
    return Ok(None);
  };
  let invalid = |why: &str| format!("{field}: invalid encrypted PEM key ({why})");
  let begin = text[..marker]
    .rfind("-----BEGIN ")
    .ok_or_else(|| invalid("no BEGIN line"))?;
  let label_start = begin + "-----BEGIN ".len();
  let label_len = text[label_start..]
    .find("-----")
    .ok_or_else(|| invalid("no BEGIN line"))?;
  let label = &text[label_start..label_start + label_len];
  let end_line = format!("-----END {label}-----");
  let end = text[marker..]
    .find(&end_line)
    .map(|e| marker + e)
    .ok_or_else(|| invalid("unterminated block"))?;
  // Headers run to the first empty line; the base64 body follows.
  let block = &text[label_start + label_len + 5..end];
  let (headers, body) = block
    .split_once("\n\n")
    .or_else(|| block.split_once("\r\n\r\n"))
    .ok_or_else(|| invalid("no body after the headers"))?;
  let dek = headers
    .lines()
    .find_map(|l| l.trim().strip_prefix("DEK-Info:"))
    .ok_or_else(|| invalid("no DEK-Info header"))?;
  let (cipher, iv_hex) = dek
    .trim()
    .split_once(',')
    .ok_or_else(|| invalid("bad DEK-Info header"))?;
  let iv = hex(iv_hex.trim()).ok_or_else(|| invalid("bad IV"))?;
  // The body without its headers is an ordinary PEM block; the shared parser decodes it.
  let bare = format!("-----BEGIN {label}-----\n{}\n{end_line}\n", body.trim());
  let encrypted = sections(bare.as_bytes(), field, 0)?
    .into_iter()
    .next()
    .map(|(_, der)| der)
    .ok_or_else(|| invalid("empty body"))?;
  let Some(passphrase) = passphrase else {
    return Err(format!(
      "tls.passphrase: {field} is encrypted and no passphrase was given"
    ));
  };
  let plain = match legacy_decrypt(cipher.trim(), passphrase.as_bytes(), &iv, &encrypted) {
    Ok(plain) => plain,
    Err(None) => {
      return Err(format!(
        "tls.passphrase: wrong passphrase, cannot decrypt {field}"
      ))
    }
    Err(Some(why)) => return Err(invalid(&why)),
  };
  Ok(Some(match label {
    "RSA PRIVATE KEY" => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(plain)),
    "EC PRIVATE KEY" => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(plain)),
    "PRIVATE KEY" => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(plain)),
    other => return Err(invalid(&format!("unsupported key type {other}"))),
  }))
}

/// Decrypts a traditional PEM body. `Err(None)`: the padding is wrong, i.e. the passphrase is;
/// `Err(Some(why))`: a cipher this does not know.
fn legacy_decrypt(
  cipher: &str,
  passphrase: &[u8],
  iv: &[u8],
  data: &[u8],
) -> Result<Vec<u8>, Option<String>> {
  use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
  fn run<C: BlockDecryptMut + cbc::cipher::BlockCipher + cbc::cipher::KeyInit>(
    key: &[u8],
    iv: &[u8],
    data: &[u8],
  ) -> Result<Vec<u8>, Option<String>> {
    cbc::Decryptor::<C>::new_from_slices(key, iv)
      .map_err(|_| Some("bad IV length".to_string()))?
      .decrypt_padded_vec_mut::<Pkcs7>(data)
      .map_err(|_| None)
  }
  let key_len = match cipher {
    "AES-128-CBC" => 16,
    "AES-192-CBC" | "DES-EDE3-CBC" => 24,
    "AES-256-CBC" => 32,
    "DES-CBC" => 8,
    other => return Err(Some(format!("unsupported cipher {other}"))),
  };
  let salt = iv
    .get(..8)
    .ok_or_else(|| Some("bad IV length".to_string()))?;
  let key = bytes_to_key(passphrase, salt, key_len);
  let plain = match cipher {
    "AES-128-CBC" => run::<aes::Aes128>(&key, iv, data),
    "AES-192-CBC" => run::<aes::Aes192>(&key, iv, data),
    "AES-256-CBC" => run::<aes::Aes256>(&key, iv, data),
    "DES-EDE3-CBC" => run::<des::TdesEde3>(&key, iv, data),
    _ => run::<des::Des>(&key, iv, data),
  }?;
  // A wrong key passes the padding check now and then (about 1 in 256); the garbage it yields
  // is not one DER SEQUENCE spanning the whole plaintext, as every key is.
  if der_sequence_len(&plain) != Some(plain.len()) {
    return Err(None);
  }
  Ok(plain)
}

/// The total length of the DER SEQUENCE `der` starts with, from its header.
fn der_sequence_len(der: &[u8]) -> Option<usize> {
  let (&tag, rest) = der.split_first()?;
  let (&first, rest) = rest.split_first()?;
  if tag != 0x30 {
    return None;
  }
  if first < 0x80 {
    return Some(2 + first as usize);
  }
  let count = (first & 0x7f) as usize;
  if count == 0 || count > 4 || rest.len() < count {
    return None;
  }
  let len = rest[..count]
    .iter()
    .fold(0usize, |n, &b| (n << 8) | b as usize);
  Some(2 + count + len)
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one round: D_i = MD5(D_{i-1} || pass || salt).
fn bytes_to_key(passphrase: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
  use md5::{Digest, Md5};
  let mut key = Vec::with_capacity(len + 16);
  let mut prev: Vec<u8> = Vec::new();
  while key.len() < len {
    let mut h = Md5::new();
    h.update(&prev);
    h.update(passphrase);
    h.update(salt);
    prev = h.finalize().to_vec();
    key.extend_from_slice(&prev);
  }
  key.truncate(len);
  key
}

fn hex(s: &str) -> Option<Vec<u8>> {
  if !s.len().is_multiple_of(2) {
    return None;
  }
  (0..s.len())
    .step_by(2)
    .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
    .collect()
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
          "{}: invalid PEM ({})",
          name(field, i, usize::MAX),
          pem_words(&e)
        ))
      }
    }
  }
}

/// A PEM error in words (its own text shows the markers as lists of byte values).
fn pem_words(e: &pem::Error) -> String {
  match e {
    pem::Error::MissingSectionEnd { end_marker } => format!(
      "no \"-----END {}-----\" line ends its block",
      String::from_utf8_lossy(end_marker)
    ),
    pem::Error::IllegalSectionStart { line } => {
      format!("a malformed BEGIN line: {}", String::from_utf8_lossy(line))
    }
    other => other.to_string(),
  }
}

/// `tls.key`, or `tls.key[1]` when several were given.
fn name(field: &str, i: usize, count: usize) -> String {
  if count == 1 {
    field.to_string()
  } else {
    format!("{field}[{i}]")
  }
}
