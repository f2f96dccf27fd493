//! The part of Node's `tls.checkServerIdentity` that webpki leaves out: a certificate without DNS
//! subjectAltNames is matched by its subject's common name (what `openssl req -x509 -subj
//! /CN=localhost` makes, and what node:tls and Bun accept). Names are compared as Node compares
//! them (`check` in lib/tls.js).

use rustls::pki_types::{CertificateDer, ServerName};
use x509_parser::extensions::GeneralName;

use super::cert_info::{self, Field};

/// Whether `end_entity` names `name` by its common name, as Node falls back to when the
/// certificate has no DNS subjectAltName. IP addresses are only ever matched by IP SANs.
pub fn common_name_matches(end_entity: &CertificateDer<'_>, name: &ServerName<'_>) -> bool {
  let ServerName::DnsName(host) = name else {
    return false;
  };
  let Ok((_, cert)) = x509_parser::parse_x509_certificate(end_entity.as_ref()) else {
    return false;
  };
  if let Ok(Some(san)) = cert.subject_alternative_name() {
    let has_dns = san
      .value
      .general_names
      .iter()
      .any(|n| matches!(n, GeneralName::DNSName(_)));
    if has_dns {
      return false;
    }
  }
  let host = split_host(host.as_ref());
  let found = cert
    .subject()
    .iter_common_name()
    .filter_map(|cn| cn.as_str().ok())
    .any(|cn| host_matches(&host, cn));
  found
}

/// Why `cert` does not name `host`, in the words of Node's `checkServerIdentity` (its `reason`).
pub fn mismatch_reason(cert: &CertificateDer<'_>, host: &str) -> String {
  let info = cert_info::describe(cert.as_ref());
  let alt_names = match info.as_ref().map(|i| &i.subjectaltname) {
    Some(Field::Value(names)) => names.clone(),
    _ => String::new(),
  };
  let entries: Vec<&str> = alt_names.split(", ").collect();
  let dns = entries.iter().any(|e| e.starts_with("DNS:"));
  if let Ok(ip) = host.parse::<std::net::IpAddr>() {
    let ips: Vec<String> = entries
      .iter()
      .filter_map(|e| e.strip_prefix("IP Address:"))
      .map(|a| {
        a.parse::<std::net::IpAddr>()
          .map_or(a.to_string(), |a| a.to_string())
      })
      .collect();
    return format!("IP: {ip} is not in the cert's list: {}", ips.join(", "));
  }
  if dns {
    return format!("Host: {host}. is not in the cert's altnames: {alt_names}");
  }
  let common_names: Vec<String> = info
    .and_then(|i| i.subject)
    .unwrap_or_default()
    .into_iter()
    .filter(|(key, _)| key == "CN")
    .map(|(_, value)| value)
    .collect();
  if common_names.is_empty() {
    "Cert does not contain a DNS name".to_string()
  } else {
    format!("Host: {host}. is not cert's CN: {}", common_names.join(","))
  }
}

/// Lower-cased labels, without a trailing dot.
fn split_host(host: &str) -> Vec<String> {
  host
    .strip_suffix('.')
    .unwrap_or(host)
    .to_ascii_lowercase()
    .split('.')
    .map(str::to_string)
    .collect()
}

/// Node's `check(hostParts, pattern, wildcards = true)`.
fn host_matches(host: &[String], pattern: &str) -> bool {
  if pattern.is_empty() {
    return false;
  }
  let parts = split_host(pattern);
  if parts.len() != host.len() || parts.iter().any(String::is_empty) {
    return false;
  }
  // IDNA U-labels, control characters and blanks never match.
  if parts
    .iter()
    .any(|p| p.chars().any(|c| !('\u{21}'..='\u{7f}').contains(&c)))
  {
    return false;
  }
  if host[1..] != parts[1..] {
    return false;
  }
  let (sub, pattern_sub) = (&host[0], &parts[0]);
  let pieces: Vec<&str> = pattern_sub.split('*').collect();
  if pieces.len() == 1 || pattern_sub.contains("xn--") {
    return sub == pattern_sub;
  }
  // One wildcard at most, and never for a whole registrable name (`*.tld`).
  if pieces.len() > 2 || parts.len() <= 2 {
    return false;
  }
  let (prefix, suffix) = (pieces[0], pieces[1]);
  prefix.len() + suffix.len() <= sub.len() && sub.starts_with(prefix) && sub.ends_with(suffix)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn matches(host: &str, pattern: &str) -> bool {
    host_matches(&split_host(host), pattern)
  }

  #[test]
  fn as_node_compares_names() {
    assert!(matches("localhost", "localhost"));
    assert!(matches("LocalHost.", "localhost"));
    assert!(matches("a.example.com", "*.example.com"));
    assert!(matches("foo.example.com", "f*.example.com"));
    assert!(matches("foo.example.com", "*o.example.com"));
    assert!(!matches("example.com", "*.example.com"));
    assert!(!matches("a.b.example.com", "*.example.com"));
    assert!(!matches("a.com", "*.com"));
    assert!(!matches("foo.example.com", "f*o*.example.com"));
    assert!(!matches("other", "localhost"));
    assert!(!matches("localhost", ""));
    assert!(!matches("a..b", "a..b"));
    assert!(!matches("xn--a.example.com", "xn--*.example.com"));
  }
}
