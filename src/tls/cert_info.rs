//! A peer certificate described the way `node:tls`'s `getPeerCertificate()` does.

use std::collections::HashMap;

use rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::x509::X509Name;

pub struct CertInfo {
  pub subject: HashMap<String, String>,
  pub issuer: HashMap<String, String>,
  pub subjectaltname: Option<String>,
  pub valid_from: String,
  pub valid_to: String,
  pub serial_number: String,
  pub fingerprint: String,
  pub fingerprint256: String,
  pub fingerprint512: String,
  pub raw: Vec<u8>,
}

pub fn describe(cert: &CertificateDer<'_>) -> Option<CertInfo> {
  let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
  let san = match parsed.subject_alternative_name() {
    Ok(Some(ext)) => {
      let parts: Vec<String> = ext
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
          GeneralName::DNSName(d) => Some(format!("DNS:{d}")),
          GeneralName::IPAddress(ip) => ip_string(ip).map(|ip| format!("IP Address:{ip}")),
          GeneralName::RFC822Name(e) => Some(format!("email:{e}")),
          GeneralName::URI(u) => Some(format!("URI:{u}")),
          _ => None,
        })
        .collect();
      Some(parts.join(", "))
    }
    _ => None,
  };
  Some(CertInfo {
    subject: name_map(parsed.subject()),
    issuer: name_map(parsed.issuer()),
    subjectaltname: san,
    valid_from: openssl_date(parsed.validity().not_before.timestamp()),
    valid_to: openssl_date(parsed.validity().not_after.timestamp()),
    serial_number: serial_hex(parsed.raw_serial()),
    fingerprint: fingerprint(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, cert),
    fingerprint256: fingerprint(&aws_lc_rs::digest::SHA256, cert),
    fingerprint512: fingerprint(&aws_lc_rs::digest::SHA512, cert),
    raw: cert.as_ref().to_vec(),
  })
}

/// The serial as OpenSSL prints it (and node:tls shows it): upper-case hex of the number, without
/// the zero byte DER puts before a serial whose top bit is set.
fn serial_hex(der: &[u8]) -> String {
  let digits = match der.iter().position(|&b| b != 0) {
    Some(first) => &der[first..],
    None => return "00".to_string(),
  };
  digits.iter().map(|b| format!("{b:02X}")).collect()
}

/// `AB:CD:...`: the digest of the DER certificate, as node:tls's fingerprint fields.
fn fingerprint(
  algorithm: &'static aws_lc_rs::digest::Algorithm,
  cert: &CertificateDer<'_>,
) -> String {
  aws_lc_rs::digest::digest(algorithm, cert.as_ref())
    .as_ref()
    .iter()
    .map(|b| format!("{b:02X}"))
    .collect::<Vec<_>>()
    .join(":")
}

fn ip_string(bytes: &[u8]) -> Option<String> {
  match bytes.len() {
    4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
    16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
    _ => None,
  }
}

/// `{ CN: 'localhost', O: 'Acme' }`, as node:tls shows a distinguished name.
fn name_map(name: &X509Name<'_>) -> HashMap<String, String> {
  let mut out = HashMap::new();
  for rdn in name.iter() {
    for attr in rdn.iter() {
      let key = match attr.attr_type().to_id_string().as_str() {
        "2.5.4.3" => "CN".to_string(),
        "2.5.4.6" => "C".to_string(),
        "2.5.4.7" => "L".to_string(),
        "2.5.4.8" => "ST".to_string(),
        "2.5.4.10" => "O".to_string(),
        "2.5.4.11" => "OU".to_string(),
        "1.2.840.113549.1.9.1" => "emailAddress".to_string(),
        other => other.to_string(),
      };
      if let Ok(value) = attr.as_str() {
        out.insert(key, value.to_string());
      }
    }
  }
  out
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
    assert_eq!(serial_hex(&[0x00]), "00");
  }
}
