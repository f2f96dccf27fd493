//! `tls.ciphers`: an OpenSSL cipher list (`'ECDHE-RSA-AES128-GCM-SHA256:!CHACHA20'`, node:tls's
//! and Bun's option) read as far as rustls's suites go. Suite names (OpenSSL's and the TLS 1.3
//! ones), the keywords that select among them (`HIGH`, `ECDHE`, `AESGCM`, `AES128`, `CHACHA20`,
//! `aRSA`, `ECDSA`, `SHA256`, ...), `+` for "and", `!` to exclude for good and `-` to remove. As in
//! node:tls, TLS 1.3 suites named in the list are the TLS 1.3 suites offered; a list naming none
//! keeps them all. A list that selects no suite at all is an error, as OpenSSL's "no cipher match".

use rustls::crypto::aws_lc_rs::cipher_suite as cs;
use rustls::SupportedCipherSuite;

/// rustls's suites by OpenSSL's names, in rustls's order of preference.
const NAMED: [(&str, SupportedCipherSuite); 9] = [
  ("TLS_AES_256_GCM_SHA384", cs::TLS13_AES_256_GCM_SHA384),
  ("TLS_AES_128_GCM_SHA256", cs::TLS13_AES_128_GCM_SHA256),
  (
    "TLS_CHACHA20_POLY1305_SHA256",
    cs::TLS13_CHACHA20_POLY1305_SHA256,
  ),
  (
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
  ),
  (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  ),
  (
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
  ),
  (
    "ECDHE-RSA-AES256-GCM-SHA384",
    cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
  ),
  (
    "ECDHE-RSA-AES128-GCM-SHA256",
    cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
  ),
  (
    "ECDHE-RSA-CHACHA20-POLY1305",
    cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
  ),
];

fn is_tls13(name: &str) -> bool {
  name.starts_with("TLS_")
}

/// Whether the TLS 1.2 suite `name` is selected by `word`, an OpenSSL keyword; `None` for a word
/// that is no keyword known here.
fn keyword_selects(word: &str, name: &str) -> Option<bool> {
  let has = |part: &str| name.contains(part);
  Some(match word {
    "DEFAULT" | "ALL" | "HIGH" | "ECDHE" | "EECDH" | "kECDHE" | "kEECDH" | "AEAD" | "TLSv1.2"
    | "SECURE" | "FIPS" => true,
    "AESGCM" | "AES" => has("-AES"),
    "AES128" => has("AES128"),
    "AES256" => has("AES256"),
    "CHACHA20" => has("CHACHA20"),
    "ECDSA" | "aECDSA" => has("-ECDSA-"),
    "RSA" | "aRSA" => has("-RSA-"),
    "SHA256" => has("SHA256"),
    "SHA384" => has("SHA384"),
    // What no suite here has: nothing is selected (nor an error), as OpenSSL's own lists name them.
    "aNULL"
    | "eNULL"
    | "NULL"
    | "MD5"
    | "RC4"
    | "DES"
    | "3DES"
    | "EXP"
    | "EXPORT"
    | "LOW"
    | "MEDIUM"
    | "PSK"
    | "SRP"
    | "CAMELLIA"
    | "ARIA"
    | "SEED"
    | "IDEA"
    | "DSS"
    | "aDSS"
    | "kRSA"
    | "DHE"
    | "EDH"
    | "kDHE"
    | "SHA1"
    | "SHA"
    | "CBC"
    | "COMPLEMENTOFDEFAULT"
    | "COMPLEMENTOFALL" => false,
    _ => return None,
  })
}

/// Whether `entry` (names and keywords joined by `+`) selects the suite `name`.
fn selects(entry: &str, name: &str) -> bool {
  entry.split('+').all(|part| {
    if part == name {
      return true;
    }
    !is_tls13(name) && keyword_selects(part, name) == Some(true)
  })
}

/// The suites `list` selects, in the list's order.
pub fn select(list: &str) -> Result<Vec<SupportedCipherSuite>, String> {
  let mut chosen: Vec<&str> = Vec::new();
  let mut banned: Vec<&str> = Vec::new();
  let mut names_tls13 = false;
  for entry in list
    .split([':', ',', ' '])
    .map(str::trim)
    .filter(|e| !e.is_empty())
  {
    if entry.starts_with('@') {
      continue; // @STRENGTH, @SECLEVEL=n: orderings and levels, not selections
    }
    let (op, body) = match entry.as_bytes()[0] {
      b'!' | b'-' | b'+' => (entry.as_bytes()[0], &entry[1..]),
      _ => (0, entry),
    };
    let known = body
      .split('+')
      .all(|part| NAMED.iter().any(|(n, _)| *n == part) || keyword_selects(part, "").is_some());
    if !known {
      continue; // a suite rustls does not have (AES128-SHA, ...): it selects nothing
    }
    let matching = NAMED.iter().map(|(n, _)| *n).filter(|n| selects(body, n));
    match op {
      b'!' => banned.extend(matching),
      b'-' => {
        let removed: Vec<&str> = matching.collect();
        chosen.retain(|n| !removed.contains(n));
      }
      b'+' => {} // moves to the end in OpenSSL; not done here
      _ => {
        for n in matching {
          names_tls13 |= is_tls13(n);
          if !chosen.contains(&n) {
            chosen.push(n);
          }
        }
      }
    }
  }
  // In the list's order, as OpenSSL offers them (node:tls and Bun clients alike); TLS 1.3 suites
  // the list does not name keep rustls's order.
  let mut ranked: Vec<(usize, SupportedCipherSuite)> = NAMED
    .iter()
    .enumerate()
    .filter(|(_, (n, _))| !banned.contains(n))
    .filter(|(_, (n, _))| chosen.contains(n) || (is_tls13(n) && !names_tls13))
    .map(|(i, (n, suite))| {
      let rank = chosen
        .iter()
        .position(|c| c == n)
        .unwrap_or(chosen.len() + i);
      (rank, *suite)
    })
    .collect();
  ranked.sort_by_key(|(rank, _)| *rank);
  let suites: Vec<SupportedCipherSuite> = ranked.into_iter().map(|(_, suite)| suite).collect();
  if !chosen.iter().any(|n| !banned.contains(n)) {
    return Err(format!(
      "tls.ciphers: no cipher match in {list:?} (supported: {})",
      NAMED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    ));
  }
  Ok(suites)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn names(list: &str) -> Vec<String> {
    select(list)
      .unwrap()
      .iter()
      .map(|s| format!("{:?}", s.suite()))
      .collect()
  }

  #[test]
  fn a_tls12_name_keeps_every_tls13_suite() {
    let got = names("ECDHE-RSA-AES128-GCM-SHA256");
    assert_eq!(got.len(), 4);
    assert!(got
      .iter()
      .any(|n| n == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
  }

  #[test]
  fn tls13_names_choose_the_tls13_suites() {
    assert_eq!(
      names("TLS_AES_128_GCM_SHA256"),
      ["TLS13_AES_128_GCM_SHA256"]
    );
  }

  #[test]
  fn keywords_plus_and_exclusions() {
    let got = names("ECDHE+AESGCM:!AES256");
    assert!(got.contains(&"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".to_string()));
    assert!(!got
      .iter()
      .any(|n| n.contains("AES_256") && n.contains("ECDHE")));
    assert!(!got
      .iter()
      .any(|n| n.contains("CHACHA20") && n.contains("ECDHE")));
    // node:tls's default list.
    assert_eq!(names("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA256:DHE-RSA-AES256-SHA256:HIGH:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!PSK:!SRP:!CAMELLIA").len(), 9);
  }

  #[test]
  fn nothing_selected_is_an_error() {
    assert!(select("BOGUS").is_err());
    assert!(select("AES128-SHA").is_err());
    assert!(select("").is_err());
    assert!(select("!HIGH").is_err());
  }
}
