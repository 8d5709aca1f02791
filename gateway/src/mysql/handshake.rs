//! The connection phase: the server's greeting (HandshakeV10), the client's
//! HandshakeResponse41, the AuthSwitchRequest, and COM_CHANGE_USER's payload (which
//! carries the same fields again).
//!
//! ```text
//!  server                              client
//!    HandshakeV10{version, id, scramble, caps}  ──▶
//!                                 ◀──  HandshakeResponse41{caps, user, auth, db, plugin}
//!   [AuthSwitchRequest{plugin, scramble}        ──▶
//!                                 ◀──  auth response]
//!    OK | ERR 1045                              ──▶
//! ```

use super::wire::{Cursor, WireError};

/// Capability flags this gateway understands (the subset it announces).
pub mod caps {
    /// New, longer password scheme (always set by modern clients).
    pub const LONG_PASSWORD: u32 = 0x1;
    /// UPDATE reports found rows instead of changed rows.
    pub const FOUND_ROWS: u32 = 0x2;
    /// Longer column flags.
    pub const LONG_FLAG: u32 = 0x4;
    /// A database may be named in the handshake response.
    pub const CONNECT_WITH_DB: u32 = 0x8;
    /// The 4.1 protocol (required).
    pub const PROTOCOL_41: u32 = 0x200;
    /// TLS requested (never announced).
    pub const SSL: u32 = 0x800;
    /// Transaction status in OK packets.
    pub const TRANSACTIONS: u32 = 0x2000;
    /// 4.1 authentication (length-prefixed auth response).
    pub const SECURE_CONNECTION: u32 = 0x8000;
    /// Several statements in one COM_QUERY (not announced).
    pub const MULTI_STATEMENTS: u32 = 0x1_0000;
    /// Several result sets for one command.
    pub const MULTI_RESULTS: u32 = 0x2_0000;
    /// Several result sets for COM_STMT_EXECUTE.
    pub const PS_MULTI_RESULTS: u32 = 0x4_0000;
    /// Authentication plugins are named.
    pub const PLUGIN_AUTH: u32 = 0x8_0000;
    /// Connection attributes follow the handshake response.
    pub const CONNECT_ATTRS: u32 = 0x10_0000;
    /// The auth response is length-encoded.
    pub const PLUGIN_AUTH_LENENC_CLIENT_DATA: u32 = 0x20_0000;
    /// Result sets end with an OK packet instead of EOF.
    pub const DEPRECATE_EOF: u32 = 0x100_0000;

    /// What the gateway announces.
    pub const SERVER: u32 = LONG_PASSWORD
        | FOUND_ROWS
        | LONG_FLAG
        | CONNECT_WITH_DB
        | PROTOCOL_41
        | TRANSACTIONS
        | SECURE_CONNECTION
        | MULTI_RESULTS
        | PS_MULTI_RESULTS
        | PLUGIN_AUTH
        | CONNECT_ATTRS
        | PLUGIN_AUTH_LENENC_CLIENT_DATA
        | DEPRECATE_EOF;
}

/// utf8mb4_general_ci, the character set announced and used for text columns.
pub const UTF8MB4_GENERAL_CI: u8 = 45;

/// The server greeting.
pub fn greeting(version: &str, connection_id: u32, scramble: &[u8; 20], plugin: &str) -> Vec<u8> {
    let caps = caps::SERVER.to_le_bytes();
    let mut p = Vec::with_capacity(96);
    p.push(10);
    p.extend_from_slice(version.as_bytes());
    p.push(0);
    p.extend_from_slice(&connection_id.to_le_bytes());
    p.extend_from_slice(&scramble[..8]);
    p.push(0);
    p.extend_from_slice(&caps[..2]);
    p.push(UTF8MB4_GENERAL_CI);
    p.extend_from_slice(&super::resultset::status::AUTOCOMMIT.to_le_bytes());
    p.extend_from_slice(&caps[2..]);
    p.push(21); // length of the scramble including its NUL
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(&scramble[8..]);
    p.push(0);
    p.extend_from_slice(plugin.as_bytes());
    p.push(0);
    p
}

/// AuthSwitchRequest: asks the client to answer for `plugin` with a new `scramble`.
pub fn auth_switch(plugin: &str, scramble: &[u8; 20]) -> Vec<u8> {
    let mut p = vec![0xfe];
    p.extend_from_slice(plugin.as_bytes());
    p.push(0);
    p.extend_from_slice(scramble);
    p.push(0);
    p
}

/// What the client said in its handshake response (or COM_CHANGE_USER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The client's capability flags (for COM_CHANGE_USER: those of the connection).
    pub caps: u32,
    /// User name (raw bytes; the caller checks UTF-8).
    pub user: Vec<u8>,
    /// Authentication response for `plugin`.
    pub auth: Vec<u8>,
    /// Database to start in, if any.
    pub database: Option<Vec<u8>>,
    /// The plugin the client computed `auth` for (empty when not said).
    pub plugin: Vec<u8>,
}

/// Parses HandshakeResponse41. A short packet with the SSL flag is an SSLRequest, which
/// the caller refuses (TLS is not offered).
pub fn parse_response(payload: &[u8]) -> Result<Login, WireError> {
    let mut c = Cursor::new(payload);
    let caps = c.u32("capabilities")?;
    if caps & caps::PROTOCOL_41 == 0 {
        return Err(WireError::Invalid(
            "pre-4.1 clients are not supported".into(),
        ));
    }
    c.u32("max packet")?;
    c.u8("charset")?;
    c.take(23, "filler")?;
    if caps & caps::SSL != 0 && c.is_empty() {
        return Err(WireError::Invalid("TLS is not supported".into()));
    }
    let user = c.null_str().to_vec();
    let auth = if caps & caps::PLUGIN_AUTH_LENENC_CLIENT_DATA != 0 {
        c.lenenc_bytes("auth response")?.to_vec()
    } else if caps & caps::SECURE_CONNECTION != 0 {
        let n = c.u8("auth length")?;
        c.take(usize::from(n), "auth response")?.to_vec()
    } else {
        c.null_str().to_vec()
    };
    let database = if caps & caps::CONNECT_WITH_DB != 0 && !c.is_empty() {
        Some(c.null_str().to_vec()).filter(|d| !d.is_empty())
    } else {
        None
    };
    let plugin = if caps & caps::PLUGIN_AUTH != 0 && !c.is_empty() {
        c.null_str().to_vec()
    } else {
        Vec::new()
    };
    // Connection attributes, if any, are not used.
    Ok(Login {
        caps,
        user,
        auth,
        database,
        plugin,
    })
}

/// Parses COM_CHANGE_USER's payload (after the command byte) for a connection whose
/// client announced `caps`.
pub fn parse_change_user(payload: &[u8], caps: u32) -> Result<Login, WireError> {
    let mut c = Cursor::new(payload);
    let user = c.null_str().to_vec();
    let auth = if caps & caps::SECURE_CONNECTION != 0 {
        let n = c.u8("auth length")?;
        c.take(usize::from(n), "auth response")?.to_vec()
    } else {
        c.null_str().to_vec()
    };
    let database = Some(c.null_str().to_vec()).filter(|d| !d.is_empty());
    let mut plugin = Vec::new();
    if c.remaining() >= 2 {
        c.u16("charset")?;
        if caps & caps::PLUGIN_AUTH != 0 {
            plugin = c.null_str().to_vec();
        }
    }
    Ok(Login {
        caps,
        user,
        auth,
        database,
        plugin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn response(caps: u32, user: &str, auth: &[u8], db: Option<&str>, plugin: &str) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&caps.to_le_bytes());
        p.extend_from_slice(&(1u32 << 24).to_le_bytes());
        p.push(45);
        p.extend_from_slice(&[0; 23]);
        p.extend_from_slice(user.as_bytes());
        p.push(0);
        p.push(auth.len() as u8);
        p.extend_from_slice(auth);
        if let Some(db) = db {
            p.extend_from_slice(db.as_bytes());
            p.push(0);
        }
        p.extend_from_slice(plugin.as_bytes());
        p.push(0);
        p
    }

    #[test]
    fn parses_a_handshake_response() {
        let caps = caps::SERVER;
        let login = parse_response(&response(
            caps,
            "admin",
            &[1; 20],
            Some("rosetta"),
            "mysql_native_password",
        ))
        .unwrap();
        assert_eq!(login.user, b"admin");
        assert_eq!(login.auth, vec![1; 20]);
        assert_eq!(login.database.as_deref(), Some(&b"rosetta"[..]));
        assert_eq!(login.plugin, b"mysql_native_password");
    }

    #[test]
    fn refuses_ssl_and_old_clients() {
        let mut ssl = Vec::new();
        ssl.extend_from_slice(&(caps::SERVER | caps::SSL).to_le_bytes());
        ssl.extend_from_slice(&[0; 28]);
        assert!(parse_response(&ssl).is_err());
        assert!(parse_response(&response(0, "a", &[], None, "")).is_err());
    }

    #[test]
    fn greeting_carries_the_scramble_and_id() {
        let g = greeting(
            "8.0.36-x",
            42,
            b"abcdefghijklmnopqrst",
            "mysql_native_password",
        );
        assert_eq!(g[0], 10);
        let at = 1 + "8.0.36-x".len() + 1;
        assert_eq!(&g[at..at + 4], &42u32.to_le_bytes());
        assert_eq!(&g[at + 4..at + 12], b"abcdefgh");
    }

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse_response(&bytes);
            let _ = parse_change_user(&bytes, caps::SERVER);
        }
    }
}
