//! A certificate's public key as `node:tls` describes it: `modulus`, `bits`, `exponent` and
//! `pubkey` (the DER SubjectPublicKeyInfo, re-encoded as OpenSSL's `i2d_RSA_PUBKEY` does) for RSA;
//! `bits`, `pubkey` (the uncompressed point), `asn1Curve` and `nistCurve` for EC. Other key types
//! (Ed25519, RSA-PSS, DSA, ...) get none of these, as in Node.

use super::der::{self, Reader};

pub enum KeyInfo {
  Rsa {
    modulus: String,
    bits: u32,
    exponent: String,
    pubkey: Vec<u8>,
  },
  Ec {
    bits: u32,
    pubkey: Vec<u8>,
    asn1_curve: &'static str,
    nist_curve: Option<&'static str>,
  },
}

/// What kind of key a SubjectPublicKeyInfo holds, as `X509_check_issued` matches it against a
/// signature algorithm.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyKind {
  Rsa,
  RsaPss,
  Ec,
  Ed25519,
  Ed448,
  Dsa,
}

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const RSA_PSS: &str = "1.2.840.113549.1.1.10";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// A named curve: OID, OpenSSL's short name, its NIST name, the bits of its order (what
/// `EC_GROUP_order_bits` says, and so `bits`), and the bytes of one coordinate.
struct Curve {
  oid: &'static str,
  name: &'static str,
  nist: Option<&'static str>,
  bits: u32,
  field_bytes: usize,
}

macro_rules! curves {
  ($(($oid:expr, $name:expr, $nist:expr, $bits:expr, $field:expr)),* $(,)?) => {
    &[$(Curve { oid: $oid, name: $name, nist: $nist, bits: $bits, field_bytes: $field }),*]
  };
}

/// The named curves OpenSSL 3 decodes in certificates, with what Node reports for each (read off
/// `X509Certificate#toLegacyObject()` for a key on each curve).
const CURVES: &[Curve] = curves![
  ("1.2.840.10045.3.1.7", "prime256v1", Some("P-256"), 256, 32),
  ("1.3.132.0.34", "secp384r1", Some("P-384"), 384, 48),
  ("1.3.132.0.35", "secp521r1", Some("P-521"), 521, 66),
  ("1.3.132.0.33", "secp224r1", Some("P-224"), 224, 28),
  ("1.2.840.10045.3.1.1", "prime192v1", Some("P-192"), 192, 24),
  ("1.3.132.0.10", "secp256k1", None, 256, 32),
  ("1.3.36.3.3.2.8.1.1.1", "brainpoolP160r1", None, 160, 20),
  ("1.3.36.3.3.2.8.1.1.2", "brainpoolP160t1", None, 160, 20),
  ("1.3.36.3.3.2.8.1.1.3", "brainpoolP192r1", None, 192, 24),
  ("1.3.36.3.3.2.8.1.1.4", "brainpoolP192t1", None, 192, 24),
  ("1.3.36.3.3.2.8.1.1.5", "brainpoolP224r1", None, 224, 28),
  ("1.3.36.3.3.2.8.1.1.6", "brainpoolP224t1", None, 224, 28),
  ("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1", None, 256, 32),
  ("1.3.36.3.3.2.8.1.1.8", "brainpoolP256t1", None, 256, 32),
  ("1.3.36.3.3.2.8.1.1.9", "brainpoolP320r1", None, 320, 40),
  ("1.3.36.3.3.2.8.1.1.10", "brainpoolP320t1", None, 320, 40),
  ("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1", None, 384, 48),
  ("1.3.36.3.3.2.8.1.1.12", "brainpoolP384t1", None, 384, 48),
  ("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1", None, 512, 64),
  ("1.3.36.3.3.2.8.1.1.14", "brainpoolP512t1", None, 512, 64),
  ("1.2.840.10045.3.0.1", "c2pnb163v1", None, 163, 21),
  ("1.2.840.10045.3.0.2", "c2pnb163v2", None, 162, 21),
  ("1.2.840.10045.3.0.3", "c2pnb163v3", None, 162, 21),
  ("1.2.840.10045.3.0.4", "c2pnb176v1", None, 161, 22),
  ("1.2.840.10045.3.0.10", "c2pnb208w1", None, 193, 26),
  ("1.2.840.10045.3.0.16", "c2pnb272w1", None, 257, 34),
  ("1.2.840.10045.3.0.17", "c2pnb304w1", None, 289, 38),
  ("1.2.840.10045.3.0.19", "c2pnb368w1", None, 353, 46),
  ("1.2.840.10045.3.0.5", "c2tnb191v1", None, 191, 24),
  ("1.2.840.10045.3.0.6", "c2tnb191v2", None, 190, 24),
  ("1.2.840.10045.3.0.7", "c2tnb191v3", None, 189, 24),
  ("1.2.840.10045.3.0.11", "c2tnb239v1", None, 238, 30),
  ("1.2.840.10045.3.0.12", "c2tnb239v2", None, 237, 30),
  ("1.2.840.10045.3.0.13", "c2tnb239v3", None, 236, 30),
  ("1.2.840.10045.3.0.18", "c2tnb359v1", None, 353, 45),
  ("1.2.840.10045.3.0.20", "c2tnb431r1", None, 418, 54),
  ("1.2.840.10045.3.1.2", "prime192v2", None, 192, 24),
  ("1.2.840.10045.3.1.3", "prime192v3", None, 192, 24),
  ("1.2.840.10045.3.1.4", "prime239v1", None, 239, 30),
  ("1.2.840.10045.3.1.5", "prime239v2", None, 239, 30),
  ("1.2.840.10045.3.1.6", "prime239v3", None, 239, 30),
  ("1.3.132.0.6", "secp112r1", None, 112, 14),
  ("1.3.132.0.7", "secp112r2", None, 110, 14),
  ("1.3.132.0.28", "secp128r1", None, 128, 16),
  ("1.3.132.0.29", "secp128r2", None, 126, 16),
  ("1.3.132.0.9", "secp160k1", None, 161, 20),
  ("1.3.132.0.8", "secp160r1", None, 161, 20),
  ("1.3.132.0.30", "secp160r2", None, 161, 20),
  ("1.3.132.0.31", "secp192k1", None, 192, 24),
  ("1.3.132.0.32", "secp224k1", None, 225, 28),
  ("1.3.132.0.4", "sect113r1", None, 113, 15),
  ("1.3.132.0.5", "sect113r2", None, 113, 15),
  ("1.3.132.0.22", "sect131r1", None, 131, 17),
  ("1.3.132.0.23", "sect131r2", None, 131, 17),
  ("1.3.132.0.1", "sect163k1", Some("K-163"), 163, 21),
  ("1.3.132.0.2", "sect163r1", None, 162, 21),
  ("1.3.132.0.15", "sect163r2", Some("B-163"), 163, 21),
  ("1.3.132.0.24", "sect193r1", None, 193, 25),
  ("1.3.132.0.25", "sect193r2", None, 193, 25),
  ("1.3.132.0.26", "sect233k1", Some("K-233"), 232, 30),
  ("1.3.132.0.27", "sect233r1", Some("B-233"), 233, 30),
  ("1.3.132.0.3", "sect239k1", None, 238, 30),
  ("1.3.132.0.16", "sect283k1", Some("K-283"), 281, 36),
  ("1.3.132.0.17", "sect283r1", Some("B-283"), 282, 36),
  ("1.3.132.0.36", "sect409k1", Some("K-409"), 407, 52),
  ("1.3.132.0.37", "sect409r1", Some("B-409"), 409, 52),
  ("1.3.132.0.38", "sect571k1", Some("K-571"), 570, 72),
  ("1.3.132.0.39", "sect571r1", Some("B-571"), 570, 72),
  ("2.23.43.1.4.1", "wap-wsg-idm-ecid-wtls1", None, 112, 15),
  ("2.23.43.1.4.3", "wap-wsg-idm-ecid-wtls3", None, 163, 21),
  ("2.23.43.1.4.4", "wap-wsg-idm-ecid-wtls4", None, 113, 15),
  ("2.23.43.1.4.5", "wap-wsg-idm-ecid-wtls5", None, 163, 21),
  ("2.23.43.1.4.6", "wap-wsg-idm-ecid-wtls6", None, 112, 14),
  ("2.23.43.1.4.7", "wap-wsg-idm-ecid-wtls7", None, 161, 20),
  ("2.23.43.1.4.8", "wap-wsg-idm-ecid-wtls8", None, 113, 14),
  ("2.23.43.1.4.9", "wap-wsg-idm-ecid-wtls9", None, 161, 20),
  ("2.23.43.1.4.10", "wap-wsg-idm-ecid-wtls10", None, 232, 30),
  ("2.23.43.1.4.11", "wap-wsg-idm-ecid-wtls11", None, 233, 30),
  ("2.23.43.1.4.12", "wap-wsg-idm-ecid-wtls12", None, 224, 28),
];

/// The parts of a SubjectPublicKeyInfo: algorithm OID (dotted), its parameters, the key bits.
fn split(spki: &[u8]) -> Option<(String, Option<der::Tlv<'_>>, &[u8])> {
  let mut r = Reader::new(der::first(spki, der::SEQUENCE)?);
  let mut alg = Reader::new(r.expect(der::SEQUENCE)?);
  let oid = der::oid_string(alg.expect(der::OID)?)?;
  let params = alg.next_tlv();
  let bits = r.expect(der::BIT_STRING)?;
  // The leading byte counts unused bits; keys are whole bytes.
  let (&unused, key) = bits.split_first()?;
  (unused == 0).then_some((oid, params, key))
}

/// The key's kind when OpenSSL would decode it (`X509_get0_pubkey` non-null), else `None`.
pub fn kind(spki: &[u8]) -> Option<KeyKind> {
  let (oid, _, key) = split(spki)?;
  match oid.as_str() {
    RSA_ENCRYPTION | EC_PUBLIC_KEY => match describe(spki)? {
      KeyInfo::Rsa { .. } => Some(KeyKind::Rsa),
      KeyInfo::Ec { .. } => Some(KeyKind::Ec),
    },
    RSA_PSS => Some(KeyKind::RsaPss),
    "1.3.101.112" => (key.len() == 32).then_some(KeyKind::Ed25519),
    "1.3.101.113" => (key.len() == 57).then_some(KeyKind::Ed448),
    "1.2.840.10040.4.1" => Some(KeyKind::Dsa),
    _ => None,
  }
}

/// The RSA or EC fields of a key; `None` for other kinds and for keys OpenSSL would not decode.
pub fn describe(spki: &[u8]) -> Option<KeyInfo> {
  let (oid, params, key) = split(spki)?;
  match oid.as_str() {
    RSA_ENCRYPTION => rsa(key),
    EC_PUBLIC_KEY => {
      let params = params.filter(|p| p.tag == der::OID)?;
      let curve_oid = der::oid_string(params.content)?;
      let curve = CURVES.iter().find(|c| c.oid == curve_oid)?;
      Some(KeyInfo::Ec {
        bits: curve.bits,
        pubkey: ec_point(curve, key)?,
        asn1_curve: curve.name,
        nist_curve: curve.nist,
      })
    }
    _ => None,
  }
}

/// RSAPublicKey `{ n, e }`. OpenSSL reads both INTEGERs as unsigned magnitudes and ignores bytes
/// after the SEQUENCE.
fn rsa(key: &[u8]) -> Option<KeyInfo> {
  let mut r = Reader::new(der::first(key, der::SEQUENCE)?);
  let n = der::strip_zeros(r.expect(der::INTEGER)?);
  let e = der::strip_zeros(r.expect(der::INTEGER)?);
  if !r.is_empty() {
    return None;
  }
  // BN_print: upper-case hex without leading zero digits, "0" for zero.
  let mut modulus: String = n.iter().map(|b| format!("{b:02X}")).collect();
  if modulus.starts_with('0') {
    modulus.remove(0);
  }
  if modulus.is_empty() {
    modulus.push('0');
  }
  let bits = n.first().map_or(0, |top| {
    (n.len() as u32 - 1) * 8 + (8 - top.leading_zeros())
  });
  // BN_get_word: the value, or all ones when it does not fit 64 bits; printed "0x%lx".
  let word = if e.len() > 8 {
    u64::MAX
  } else {
    e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
  };
  let rsa_key = der::encode(
    der::SEQUENCE,
    &[der::encode_unsigned(n), der::encode_unsigned(e)].concat(),
  );
  let mut bit_string = vec![0u8];
  bit_string.extend_from_slice(&rsa_key);
  let algorithm = der::encode(
    der::SEQUENCE,
    &[
      der::encode(
        der::OID,
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
      ),
      der::encode(der::NULL, &[]),
    ]
    .concat(),
  );
  let pubkey = der::encode(
    der::SEQUENCE,
    &[algorithm, der::encode(der::BIT_STRING, &bit_string)].concat(),
  );
  Some(KeyInfo::Rsa {
    modulus,
    bits,
    exponent: format!("0x{word:x}"),
    pubkey,
  })
}

/// The point as Node gives it: uncompressed (`04 || x || y`), whatever form the certificate holds
/// it in. Points on the curves aws-lc has (P-256, P-384, P-521, secp256k1) are checked and
/// decompressed there, and one that is not on its curve gets no key fields, as in Node. On the other
/// curves an uncompressed or hybrid point of the right length is taken unchecked, and a compressed
/// one is left compressed (OpenSSL would decompress it): we have no arithmetic for those curves.
fn ec_point(curve: &Curve, point: &[u8]) -> Option<Vec<u8>> {
  use aws_lc_rs::encoding::AsDer;
  use aws_lc_rs::signature::{self, ParsedPublicKey};

  let full = 1 + 2 * curve.field_bytes;
  let (&form, coords) = point.split_first()?;
  // A hybrid point (06/07) is an uncompressed one whose prefix also tells y's parity.
  let uncompressed = match form {
    0x06 | 0x07 if point.len() == full => {
      let y_odd = coords.last().is_some_and(|b| b & 1 == 1);
      if y_odd != (form == 0x07) {
        return None;
      }
      let mut p = point.to_vec();
      p[0] = 0x04;
      Some(p)
    }
    0x04 if point.len() == full => Some(point.to_vec()),
    0x02 | 0x03 if point.len() == 1 + curve.field_bytes => None,
    _ => return None,
  };
  let algorithm: &'static dyn signature::VerificationAlgorithm = match curve.name {
    "prime256v1" => &signature::ECDSA_P256_SHA256_ASN1,
    "secp384r1" => &signature::ECDSA_P384_SHA384_ASN1,
    "secp521r1" => &signature::ECDSA_P521_SHA512_ASN1,
    "secp256k1" => &signature::ECDSA_P256K1_SHA256_ASN1,
    _ => return Some(uncompressed.unwrap_or_else(|| point.to_vec())),
  };
  let input = uncompressed.as_deref().unwrap_or(point);
  let parsed = ParsedPublicKey::new(algorithm, input).ok()?;
  let spki = parsed.as_der().ok()?;
  // The SubjectPublicKeyInfo aws-lc writes ends with the uncompressed point.
  let der = spki.as_ref();
  let start = der.len().checked_sub(full)?;
  let out = &der[start..];
  (out.first() == Some(&0x04)).then(|| out.to_vec())
}

#[cfg(test)]
mod tests {
  use super::*;

  fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let key = der::encode(
      der::SEQUENCE,
      &[der::encode(der::INTEGER, n), der::encode(der::INTEGER, e)].concat(),
    );
    let alg = der::encode(
      der::SEQUENCE,
      &der::encode(
        der::OID,
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
      ),
    );
    der::encode(
      der::SEQUENCE,
      &[
        alg,
        der::encode(der::BIT_STRING, &[&[0u8][..], &key].concat()),
      ]
      .concat(),
    )
  }

  #[test]
  fn rsa_fields_are_printed_as_openssl_does() {
    let Some(KeyInfo::Rsa {
      modulus,
      bits,
      exponent,
      pubkey,
    }) = describe(&rsa_spki(&[0x00, 0x01, 0xab], &[0x01, 0x00, 0x01]))
    else {
      panic!("an RSA key");
    };
    assert_eq!(modulus, "1AB");
    assert_eq!(bits, 9);
    assert_eq!(exponent, "0x10001");
    // Re-encoded as OpenSSL writes it: NULL parameters, minimal integers.
    let key = der::encode(
      der::SEQUENCE,
      &[
        der::encode(der::INTEGER, &[0x01, 0xab]),
        der::encode(der::INTEGER, &[0x01, 0x00, 0x01]),
      ]
      .concat(),
    );
    let alg = der::encode(
      der::SEQUENCE,
      &[
        der::encode(
          der::OID,
          &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
        ),
        der::encode(der::NULL, &[]),
      ]
      .concat(),
    );
    let expected = der::encode(
      der::SEQUENCE,
      &[
        alg,
        der::encode(der::BIT_STRING, &[&[0u8][..], &key].concat()),
      ]
      .concat(),
    );
    assert_eq!(pubkey, expected);
    let Some(KeyInfo::Rsa { exponent, .. }) = describe(&rsa_spki(&[0x05], &[1; 9])) else {
      panic!("an RSA key");
    };
    assert_eq!(exponent, "0xffffffffffffffff");
  }

  #[test]
  fn malformed_keys_have_no_fields() {
    assert!(describe(&[]).is_none());
    assert!(describe(&[0x30, 0x00]).is_none());
    let mut spki = rsa_spki(&[0x05], &[0x03]);
    let last = spki.len() - 1;
    spki.truncate(last);
    assert!(describe(&spki).is_none());
  }
}
