//! A peer certificate described the way `node:tls`'s `getPeerCertificate()` does (OpenSSL's
//! `X509ToObject` in Node's C++): the fields, their formats, and when each is left out.

use super::cert_ext::Extensions;
use super::cert_key;
pub use super::cert_key::KeyInfo;
use super::cert_names;

/// A value Node sets, sets to `null` (an extension that does not parse), or leaves out.
pub enum Field<T> {
  Absent,
  Null,
  Value(T),
}

pub struct CertInfo {
  /// `(key, value)` in order; `None` when Node leaves `subject` out (a value it cannot convert).
  pub subject: Option<Vec<(String, String)>>,
  pub issuer: Option<Vec<(String, String)>>,
  pub subjectaltname: Field<String>,
  /// Node's C++ string, before its JS side splits it into an object.
  pub info_access: Field<String>,
  pub ca: bool,
  pub key: Option<KeyInfo>,
  pub valid_from: String,
  pub valid_to: String,
  pub fingerprint: String,
  pub fingerprint256: String,
  pub fingerprint512: String,
  pub ext_key_usage: Option<Vec<String>>,
  pub serial_number: String,
  pub raw: Vec<u8>,
}

/// The description of a DER certificate; `None` when it does not parse (OpenSSL, and so Node,
/// would not have got as far as describing it).
pub fn describe(der: &[u8]) -> Option<CertInfo> {
  let (_, parsed) = x509_parser::parse_x509_certificate(der).ok()?;
  let tbs = &parsed.tbs_certificate;
  let ext = Extensions::read(tbs.extensions());
  let printed = |value: Option<&[u8]>, print: fn(&[u8]) -> Option<String>| match value {
    None => Field::Absent,
    Some(v) => print(v).map_or(Field::Null, Field::Value),
  };
  Some(CertInfo {
    subject: cert_names::entries(tbs.subject.as_raw()),
    issuer: cert_names::entries(tbs.issuer.as_raw()),
    subjectaltname: printed(ext.subject_alt_name, cert_names::subject_alt_names),
    info_access: printed(ext.info_access, cert_names::info_access),
    ca: ext.is_ca(),
    key: cert_key::describe(tbs.subject_pki.raw),
    valid_from: openssl_date(tbs.validity.not_before.timestamp()),
    valid_to: openssl_date(tbs.validity.not_after.timestamp()),
    fingerprint: fingerprint(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der),
    fingerprint256: fingerprint(&aws_lc_rs::digest::SHA256, der),
    fingerprint512: fingerprint(&aws_lc_rs::digest::SHA512, der),
    ext_key_usage: ext.ext_key_usage,
    serial_number: serial_hex(tbs.raw_serial()),
    raw: der.to_vec(),
  })
}

/// The serial as OpenSSL prints it (`BN_bn2hex`, and so node:tls): upper-case hex of the number
/// without leading zero bytes, `0` for zero, `-` before a negative one (DER two's complement).
fn serial_hex(der: &[u8]) -> String {
  let negative = der.first().is_some_and(|b| b & 0x80 != 0);
  let magnitude: Vec<u8> = if negative {
    // Two's complement: invert and add one.
    let mut m: Vec<u8> = der.iter().map(|b| !b).collect();
    for byte in m.iter_mut().rev() {
      let (sum, carry) = byte.overflowing_add(1);
      *byte = sum;
      if !carry {
        break;
      }
    }
    m
  } else {
    der.to_vec()
  };
  let digits = super::der::strip_zeros(&magnitude);
  if digits.is_empty() {
    return "0".to_string();
  }
  let hex: String = digits.iter().map(|b| format!("{b:02X}")).collect();
  if negative {
    format!("-{hex}")
  } else {
    hex
  }
}

/// `AB:CD:...`: the digest of the DER certificate, as node:tls's fingerprint fields.
fn fingerprint(algorithm: &'static aws_lc_rs::digest::Algorithm, der: &[u8]) -> String {
  aws_lc_rs::digest::digest(algorithm, der)
    .as_ref()
    .iter()
    .map(|b| format!("{b:02X}"))
    .collect::<Vec<_>>()
    .join(":")
}

/// `Nov 25 18:20:45 2026 GMT`, OpenSSL's (and so Node's) format.
fn openssl_date(ts: i64) -> String {
  const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
  ];
  let days = ts.div_euclid(86_400);
  let secs = ts.rem_euclid(86_400);
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  let z = days + 719_468;
  let era = z.div_euclid(146_097);
  let doe = z - era * 146_097;
  let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
  let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  let mp = (5 * doy + 2) / 153;
  let day = doy - (153 * mp + 2) / 5 + 1;
  let month = if mp < 10 { mp + 3 } else { mp - 9 };
  let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
  format!(
    "{} {:>2} {:02}:{:02}:{:02} {} GMT",
    MONTHS[(month - 1) as usize],
    day,
    secs / 3600,
    secs % 3600 / 60,
    secs % 60,
    year
  )
}

#[cfg(test)]
mod tests {
  use super::{openssl_date, serial_hex};

  #[test]
  fn dates_print_as_openssl_does() {
    assert_eq!(openssl_date(0), "Jan  1 00:00:00 1970 GMT");
    assert_eq!(openssl_date(1_795_544_445), "Nov 24 18:20:45 2026 GMT");
  }

  #[test]
  fn serials_print_as_openssl_does() {
    // DER puts a zero byte before a serial whose top bit is set; OpenSSL (and node:tls) do not.
    assert_eq!(serial_hex(&[0x00, 0xD3, 0x77, 0xD9]), "D377D9");
    assert_eq!(serial_hex(&[0x01, 0x00]), "0100");
    assert_eq!(serial_hex(&[0x7F]), "7F");
    assert_eq!(serial_hex(&[0x00]), "0");
    // Negative serials (malformed, but seen): OpenSSL prints the sign and the magnitude.
    assert_eq!(serial_hex(&[0xFF]), "-01");
    assert_eq!(serial_hex(&[0xFF, 0x00]), "-0100");
  }
}
