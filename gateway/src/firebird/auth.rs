//! The connect half of the handshake: CNCT clumplets, login normalisation, protocol choice
//! and the DPB items we honour (guide §3, §7.1).

use super::packets::ProtocolOffer;

/// Lowest and highest protocol versions we accept: 13–15 are Firebird 3's (packed
/// messages, SRP, wire crypt); 16+ would oblige us to the batch API (guide §15).
pub const PROTOCOLS: std::ops::RangeInclusive<u16> = 13..=15;

/// What the client said about itself in `op_connect`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// `CNCT_login` as typed (before normalisation).
    pub login: String,
    /// `CNCT_plugin_name`: the plugin whose first step is in `specific_data`.
    pub plugin: String,
    /// `CNCT_plugin_list`.
    pub plugin_list: String,
    /// `CNCT_specific_data`, parts joined in order (SRP: hex of `A`).
    pub specific_data: Vec<u8>,
    /// `CNCT_client_crypt`: 0 disabled, 1 enabled, 2 required.
    pub client_crypt: u32,
}

/// Parses the CNCT user-id clumplets (`tag u8, len u8, value`). Unknown tags are skipped;
/// a clumplet running past the end is ignored (what a client meant cannot be guessed).
pub fn parse_user_id(bytes: &[u8]) -> ClientHello {
    let mut hello = ClientHello::default();
    let mut parts: Vec<(u8, &[u8])> = Vec::new();
    let mut i = 0;
    while i + 2 <= bytes.len() {
        let tag = bytes[i];
        let len = bytes[i + 1] as usize;
        let Some(value) = bytes.get(i + 2..i + 2 + len) else {
            break;
        };
        match tag {
            9 => hello.login = String::from_utf8_lossy(value).into_owned(),
            8 => hello.plugin = String::from_utf8_lossy(value).into_owned(),
            10 => hello.plugin_list = String::from_utf8_lossy(value).into_owned(),
            7 => {
                if let Some((&index, data)) = value.split_first() {
                    parts.push((index, data));
                }
            }
            11 => {
                let mut le = [0u8; 4];
                for (d, s) in le.iter_mut().zip(value) {
                    *d = *s;
                }
                hello.client_crypt = u32::from_le_bytes(le);
            }
            _ => {}
        }
        i += 2 + len;
    }
    parts.sort_by_key(|(index, _)| *index);
    for (_, data) in parts {
        hello.specific_data.extend_from_slice(data);
    }
    hello
}

/// The plugin names in a client's list (comma and/or space separated).
pub fn plugin_names(list: &str) -> impl Iterator<Item = &str> {
    list.split([',', ' ']).filter(|s| !s.is_empty())
}

/// Firebird's login normalisation (`dpbItemUpper`): `"Name"` keeps its case (with `""`
/// → `"`); `'name'` and unquoted plain identifiers are upper-cased; anything else is kept.
pub fn normalize_login(login: &str) -> String {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    if login.len() >= 2 && login.starts_with('"') && login.ends_with('"') {
        return login[1..login.len() - 1].replace("\"\"", "\"");
    }
    if login.len() >= 2 && login.starts_with('\'') && login.ends_with('\'') {
        let inner = &login[1..login.len() - 1];
        return if plain(inner) {
            inner.to_ascii_uppercase()
        } else {
            inner.to_string()
        };
    }
    if plain(login) {
        login.to_ascii_uppercase()
    } else {
        login.to_string()
    }
}

/// The accepted protocol: among generic-arch offers in [`PROTOCOLS`], the one with the
/// highest weight; packet type `min(max_type, 5)`. `None`: nothing acceptable (reject).
pub fn choose_protocol(offers: &[ProtocolOffer]) -> Option<(u16, u16)> {
    offers
        .iter()
        .filter(|o| PROTOCOLS.contains(&o.version) && o.arch == 1)
        .max_by_key(|o| o.weight)
        .map(|o| (o.version, o.max_type.min(5)))
}

/// The DPB items the gateway uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dpb {
    /// `isc_dpb_user_name`.
    pub user_name: Option<String>,
    /// `isc_dpb_lc_ctype` (connection character set).
    pub lc_ctype: Option<String>,
}

/// Parses a DPB (version 1: `tag, u8 len`; version 2: `tag, u32 LE len`). Unknown items
/// are ignored, never rejected.
pub fn parse_dpb(bytes: &[u8]) -> Dpb {
    let mut dpb = Dpb::default();
    let Some((&version, mut rest)) = bytes.split_first() else {
        return dpb;
    };
    let wide = version == 2;
    while let Some((&tag, after)) = rest.split_first() {
        let (len, after) = if wide {
            match after.get(..4) {
                Some(b) => (
                    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
                    &after[4..],
                ),
                None => break,
            }
        } else {
            match after.split_first() {
                Some((&l, a)) => (l as usize, a),
                None => break,
            }
        };
        let Some(value) = after.get(..len) else {
            break;
        };
        match tag {
            28 => dpb.user_name = Some(String::from_utf8_lossy(value).into_owned()),
            48 => dpb.lc_ctype = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        }
        rest = &after[len..];
    }
    dpb
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_isql_clumplets() {
        let mut bytes = vec![9, 6];
        bytes.extend_from_slice(b"SYSDBA");
        bytes.extend_from_slice(&[8, 3]);
        bytes.extend_from_slice(b"Srp");
        bytes.extend_from_slice(&[7, 4, 1]);
        bytes.extend_from_slice(b"EF9");
        bytes.extend_from_slice(&[7, 3, 0]);
        bytes.extend_from_slice(b"AB");
        bytes.extend_from_slice(&[11, 4, 1, 0, 0, 0, 6, 0]);
        let hello = parse_user_id(&bytes);
        assert_eq!(hello.login, "SYSDBA");
        assert_eq!(hello.plugin, "Srp");
        assert_eq!(hello.specific_data, b"ABEF9");
        assert_eq!(hello.client_crypt, 1);
    }

    #[test]
    fn logins_are_normalised_like_firebird() {
        assert_eq!(normalize_login("admin"), "ADMIN");
        assert_eq!(normalize_login("'sysdba'"), "SYSDBA");
        assert_eq!(normalize_login("\"Mixed\"\"Q\""), "Mixed\"Q");
        assert_eq!(normalize_login("a-b"), "a-b");
    }

    #[test]
    fn chooses_highest_weight_in_range() {
        let offer = |version, weight| ProtocolOffer {
            version,
            arch: 1,
            max_type: 5,
            weight,
        };
        // Jaybird's order: 16, 18, 19, 13, 15.
        let offers = [
            offer(16, 6),
            offer(18, 7),
            offer(19, 8),
            offer(13, 4),
            offer(15, 5),
        ];
        assert_eq!(choose_protocol(&offers), Some((15, 5)));
        assert_eq!(choose_protocol(&[offer(10, 2)]), None);
    }

    #[test]
    fn dpb_versions() {
        let v1 = [
            1, 28, 3, b'B', b'O', b'B', 48, 4, b'U', b'T', b'F', b'8', 99, 200,
        ];
        let dpb = parse_dpb(&v1);
        assert_eq!(dpb.user_name.as_deref(), Some("BOB"));
        assert_eq!(dpb.lc_ctype.as_deref(), Some("UTF8"));
        let v2 = [2, 48, 4, 0, 0, 0, b'N', b'O', b'N', b'E'];
        assert_eq!(parse_dpb(&v2).lc_ctype.as_deref(), Some("NONE"));
    }

    proptest! {
        #[test]
        fn parsers_are_total(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_user_id(&bytes);
            let _ = parse_dpb(&bytes);
            let _ = normalize_login(&String::from_utf8_lossy(&bytes));
        }
    }
}
