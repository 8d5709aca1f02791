//! Daemon entry point: open (or bootstrap) the data directory, then serve gateways on a
//! Unix domain socket until SIGINT/SIGTERM.
//!
//! Under systemd (`Type=notify`, see `scripts/systemd/`) it reports `READY=1` once
//! recovery is complete and the socket accepts, `STOPPING=1` on shutdown and `WATCHDOG=1`
//! keep-alives when `WATCHDOG_USEC` is set ([`crate::sd_notify`]).
//!
//! Data directory layout:
//! ```text
//!   <data>/ROSETTA_DATA      marker + format version (refuse directories without it)
//!   <data>/db/               RocksDB (WAL, SSTs)
//!   <data>/admin-password    generated admin password (0600), first start only
//!   <data>/engine.sock       default gateway socket (0600)
//! ```

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::catalog::{self, Catalog, DatabaseDef, IdAllocator, UserDef};
use crate::engine::Engine;
use crate::mvcc::Mvcc;
use crate::storage::RocksStore;

const MARKER: &str = "ROSETTA_DATA";
const FORMAT: &str = "rosetta-data-format 1\n";

/// How to run the engine daemon.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory (created and bootstrapped on first start).
    pub data_dir: PathBuf,
    /// Where to listen for gateways (`<data_dir>/engine.sock` by default).
    pub socket_path: PathBuf,
    /// Name of the admin user created on first start.
    pub admin_user: String,
    /// Password of the admin user on first start; `None` generates one and stores it in
    /// `<data_dir>/admin-password` (mode 0600).
    pub admin_password: Option<String>,
}

/// Opens the data directory: creates it on first start, refuses a directory that is not
/// Rosetta's.
pub fn open_data_dir(config: &Config) -> anyhow::Result<(Arc<Engine>, bool)> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let marker = dir.join(MARKER);
    let fresh = !marker.exists();
    if fresh {
        let non_empty = std::fs::read_dir(dir)?.next().is_some();
        if non_empty {
            bail!(
                "{} is not a Rosetta data directory (no {MARKER} file) and is not empty",
                dir.display()
            );
        }
    } else {
        let content = std::fs::read_to_string(&marker)?;
        if content != FORMAT {
            bail!(
                "{} has an unsupported data format: {}",
                dir.display(),
                content.trim()
            );
        }
    }
    let gc_horizon = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let store =
        Arc::new(RocksStore::open(&dir.join("db"), gc_horizon.clone()).context("opening storage")?);
    let mvcc = Mvcc::open(store.clone(), 1, gc_horizon)?;
    let ids = IdAllocator::open(store)?;
    let engine = Arc::new(Engine::new(mvcc, ids));
    crate::sql::write::ROW_ID.store(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(1),
        std::sync::atomic::Ordering::Relaxed,
    );
    if fresh {
        bootstrap(&engine, config)?;
        std::fs::write(&marker, FORMAT)?;
    }
    Ok((engine, fresh))
}

fn bootstrap(engine: &Engine, config: &Config) -> anyhow::Result<()> {
    let password = match &config.admin_password {
        Some(p) => p.clone(),
        None => {
            let p: String = (0..20)
                .map(|_| {
                    let chars = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
                    chars[rand::random_range(0..chars.len())] as char
                })
                .collect();
            let path = config.data_dir.join("admin-password");
            std::fs::write(&path, format!("{p}\n"))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            p
        }
    };
    let mut txn = engine.mvcc.begin();
    catalog::put_user(
        &mut txn,
        &UserDef {
            name: config.admin_user.clone(),
            superuser: true,
            auth: rosetta_proto::AuthInfo {
                user: config.admin_user.clone(),
                scram_sha256: scram_verifier(&password),
                mysql_native: mysql_native_hash(&password),
                firebird_srp: Some(crate::srp::verifier(&config.admin_user, &password)),
            },
        },
    )?;
    if Catalog::new(&txn).database("rosetta")?.is_none() {
        catalog::put_database(
            &mut txn,
            &DatabaseDef {
                id: engine.ids.next()?,
                name: "rosetta".into(),
                owner: config.admin_user.clone(),
            },
        )?;
    }
    txn.commit()?;
    Ok(())
}

/// The `mysql_native_password` verifier: SHA1(SHA1(password)), what MySQL stores in
/// `mysql.user.authentication_string` (the gateway checks a client's scramble against it
/// without ever seeing the password).
pub fn mysql_native_hash(password: &str) -> Vec<u8> {
    use sha1::{Digest, Sha1};
    Sha1::digest(Sha1::digest(password.as_bytes())).to_vec()
}

/// A SCRAM-SHA-256 verifier as PostgreSQL stores it (RFC 5802/7677).
pub fn scram_verifier(password: &str) -> rosetta_proto::ScramVerifier {
    let salt: [u8; 16] = rand::random();
    scram_verifier_with(password, &salt, 4096)
}

/// A SCRAM-SHA-256 verifier for a given salt and iteration count.
pub fn scram_verifier_with(
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> rosetta_proto::ScramVerifier {
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
    // HMAC accepts keys of any length, so `new_from_slice` never fails here.
    let hmac = |key: &[u8], msg: &[u8]| -> Vec<u8> {
        <Hmac<Sha256> as Mac>::new_from_slice(key)
            .map(|mut m| {
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            })
            .unwrap_or_default()
    };
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(&client_key).to_vec();
    let server_key = hmac(&salted, b"Server Key");
    rosetta_proto::ScramVerifier {
        salt: salt.to_vec(),
        iterations,
        stored_key,
        server_key,
    }
}

/// Runs the daemon in the foreground; returns when it has shut down cleanly.
pub fn run(config: Config) -> anyhow::Result<()> {
    use nix::sys::signal::{SigSet, Signal};
    // Block the shutdown signals in every thread; one thread waits for them.
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.thread_block()?;

    let (engine, fresh) = open_data_dir(&config)?;
    let socket = &config.socket_path;
    if socket.exists() {
        if std::os::unix::net::UnixStream::connect(socket).is_ok() {
            bail!(
                "another engine is already listening on {}",
                socket.display()
            );
        }
        std::fs::remove_file(socket)?;
    }
    let listener = std::os::unix::net::UnixListener::bind(socket)
        .with_context(|| format!("cannot listen on {}", socket.display()))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    tracing::info!(
        data_dir = %config.data_dir.display(),
        socket = %socket.display(),
        bootstrapped = fresh,
        "engine ready"
    );
    let server_engine = engine.clone();
    std::thread::Builder::new()
        .name("accept".into())
        .spawn(move || crate::server::serve(listener, server_engine))?;
    // Recovery is done (storage opened) and the socket accepts: tell systemd.
    crate::sd_notify::ready(&format!("serving gateways on {}", socket.display()));
    if let Some(interval) = crate::sd_notify::watchdog_interval() {
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || loop {
                crate::sd_notify::watchdog();
                std::thread::sleep(interval);
            })?;
    }
    let sig = set.wait()?;
    // Stop accepting first (the path goes away, so new gateway sessions fail fast), then
    // exit: every acknowledged commit is already durable (one fsync'd batch per commit),
    // and transactions still open in sessions were never written, so they roll back.
    crate::sd_notify::stopping(&format!("stopping on {sig:?}"));
    tracing::info!("engine stopping on {sig:?}");
    let _ = std::fs::remove_file(socket);
    drop(engine);
    tracing::info!("engine stopped");
    Ok(())
}

/// The default socket path for a data directory.
pub fn default_socket(data_dir: &Path) -> PathBuf {
    data_dir.join("engine.sock")
}
