//! The gateway's dialect plugin and its compiled-statement cache.
//!
//! A gateway compiles SQL text with exactly one plugin at a time. [`PluginHost`] holds it
//! behind an `Arc` that can be swapped atomically (hot reload on SIGHUP, architecture
//! §3a): statements already compiling keep their `Arc` to the old plugin and finish on it;
//! new compilations use the new one. Loaded libraries are never unloaded.
//!
//! A plugin is trusted only once it passed its checks ([`PluginHost::load`],
//! [`PluginHost::reload`]): the ABI and bytecode-version handshake of
//! [`Plugin::load`], the dialect the gateway speaks (on reload: the same as the active
//! plugin's), and a self-test — a small corpus of statements of its dialect must compile,
//! to the statement kinds expected, into bytecode that [`rosetta_bytecode::decode`]
//! accepts, and garbage must be refused; a Firebird plugin must also compile isql's
//! `SHOW TABLES` BLR request ([`PluginHost::compile_blr`], ADR 0006). A plugin that fails
//! any check is never swapped in; the old one stays active.
//!
//! Every load also records the SHA-256 of the exact bytes loaded, so that operators can
//! tell two builds apart even when their version and build id are equal. The active
//! plugin is visible from any session: `SHOW rosetta.plugin` is answered by the gateway
//! (the engine does not know the plugin; see `docs/adr/0004-plugin-visibility.md`).
//!
//! Compiling is pure (same SQL, same plugin → same programs), so results are cached per
//! SQL text in a small LRU-ish cache; a swap clears it and bumps a generation counter so
//! that a compilation that started on the old plugin never lands in the new cache.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use rosetta_bytecode::{
    CompileError, Dialect, Expr, Limits, Literal, Program, Query, Select, SelectItem, SetExpr,
    Statement,
};
use rosetta_plugin_abi::blr::BlrRequest;
use rosetta_plugin_abi::{LoadError, Plugin, PluginInfo};
use sha2::{Digest, Sha256};

/// The setting name under which the active plugin is reported (`SHOW rosetta.plugin`).
pub const PLUGIN_SETTING: &str = "rosetta.plugin";

/// Entries kept in the statement cache.
const CACHE_CAPACITY: usize = 512;
/// SQL longer than this is compiled every time rather than cached (bulk INSERTs with
/// inline data would only evict useful entries).
const CACHE_MAX_SQL: usize = 16 * 1024;
/// SQL longer than this is compiled on a blocking thread so that one huge statement does
/// not stall the other sessions sharing the async worker.
const BLOCKING_COMPILE_THRESHOLD: usize = 256 * 1024;

/// One statement of a compiled SQL string, ready to send to the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledStatement {
    /// The encoded program (`rosetta_bytecode::encode`), as `Request::Execute` wants it.
    pub bytes: Vec<u8>,
    /// Number of parameters the statement references.
    pub param_count: u16,
    /// True for an empty statement (`;`): PostgreSQL answers it with EmptyQueryResponse.
    pub is_empty: bool,
    /// What the statement does to a transaction block (needed to emulate PostgreSQL in a
    /// transaction that failed on the gateway side).
    pub kind: StatementKind,
}

/// The transaction-control role of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// `COMMIT` (in a failed block PostgreSQL rolls back instead).
    Commit,
    /// `ROLLBACK`.
    Rollback,
    /// `SHOW rosetta.plugin`: executed from a fresh
    /// [`PluginHost::plugin_show_program`] every time, so that a statement prepared before
    /// a reload still reports the plugin active now.
    ShowPlugin,
    /// `COPY … FROM STDIN`: run by the gateway's copy-in sub-protocol.
    CopyFrom,
    /// Anything else.
    Other,
}

impl CompiledStatement {
    /// Encodes one program.
    pub fn from_program(program: &Program) -> Self {
        Self {
            bytes: rosetta_bytecode::encode(program),
            param_count: program.param_count,
            is_empty: matches!(program.statement, Statement::Empty),
            kind: match program.statement {
                Statement::Commit => StatementKind::Commit,
                Statement::Rollback => StatementKind::Rollback,
                Statement::CopyFrom(_) => StatementKind::CopyFrom,
                _ => StatementKind::Other,
            },
        }
    }
}

/// The compiled form of one SQL string: every statement in it, in order.
pub type Compiled = Arc<Vec<CompiledStatement>>;

#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<String, (Compiled, u64)>,
    clock: u64,
    generation: u64,
}

/// Why a plugin was not loaded or not swapped in.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Reading the plugin file or writing its staging copy failed.
    #[error("cannot read plugin {path}: {source}")]
    Read {
        /// The configured plugin path.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The ABI or bytecode-version handshake failed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The plugin compiles another dialect than the gateway speaks.
    #[error("plugin {name} compiles {found:?}, but this gateway speaks {expected:?}")]
    WrongDialect {
        /// The plugin's name.
        name: String,
        /// The dialect it reports.
        found: Dialect,
        /// The dialect of the active plugin.
        expected: Dialect,
    },
    /// The out-of-process probe refused the plugin (it crashed or failed its checks in a
    /// throw-away process, before this process mapped it).
    #[error("plugin {path} failed its probe: {reason}")]
    Probe {
        /// The configured plugin path.
        path: PathBuf,
        /// What the probe reported.
        reason: String,
    },
    /// The plugin failed its self-test.
    #[error("plugin {name} failed its self-test on {sql:?}: {reason}")]
    SelfTest {
        /// The plugin's name.
        name: String,
        /// The statement of the corpus that failed.
        sql: String,
        /// What went wrong.
        reason: String,
    },
}

/// The plugin a gateway compiles with, and what is known about where it came from.
#[derive(Debug)]
pub struct ActivePlugin {
    plugin: Arc<Plugin>,
    source: PathBuf,
    sha256: String,
    loaded_at: SystemTime,
    generation: u64,
}

impl ActivePlugin {
    /// The loaded plugin.
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    /// What the plugin reported about itself.
    pub fn info(&self) -> &PluginInfo {
        self.plugin.info()
    }

    /// The configured path it was loaded from (a symlink stays a symlink here).
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Hex SHA-256 of the exact bytes loaded (empty if unknown).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// When it was loaded.
    pub fn loaded_at(&self) -> SystemTime {
        self.loaded_at
    }

    /// How many plugins this host had activated before this one (0 for the first).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// One line for logs and for `SHOW rosetta.plugin`:
    /// `name version build=<id> sha256=<first 16 hex digits>`.
    pub fn describe(&self) -> String {
        let info = self.info();
        let digest = self.sha256.get(..16).unwrap_or(&self.sha256);
        format!(
            "{} {} build={} sha256={}",
            info.name,
            info.version,
            info.build_id,
            if digest.is_empty() { "unknown" } else { digest }
        )
    }
}

/// A check run on the exact bytes about to be loaded, before this process loads them:
/// typically [`PluginHost::load`] in a throw-away child process, so that a library that
/// crashes when mapped or initialised (a truncated file, a foreign `.so`) takes down the
/// probe, not the gateway. Gets the path of the staged copy; returns why it refused.
pub type Probe<'a> = &'a (dyn Fn(&Path) -> Result<(), String> + Sync);

/// Holds the current plugin and the statement cache; shared by every session of a gateway.
#[derive(Debug)]
pub struct PluginHost {
    active: RwLock<Arc<ActivePlugin>>,
    cache: Mutex<Cache>,
    /// Serializes reloads (two SIGHUPs in a row never interleave their checks and swaps).
    reloading: Mutex<()>,
    generations: AtomicU64,
}

impl PluginHost {
    /// Wraps an already loaded plugin (trusted as is: no self-test; the digest is that of
    /// the file at its path now, best effort).
    pub fn new(plugin: Plugin) -> Self {
        let sha256 = std::fs::read(plugin.path())
            .map(|bytes| hex_sha256(&bytes))
            .unwrap_or_default();
        let source = plugin.path().to_path_buf();
        Self::with_active(ActivePlugin {
            plugin: Arc::new(plugin),
            source,
            sha256,
            loaded_at: SystemTime::now(),
            generation: 0,
        })
    }

    fn with_active(active: ActivePlugin) -> Self {
        Self {
            active: RwLock::new(Arc::new(active)),
            cache: Mutex::new(Cache::default()),
            reloading: Mutex::new(()),
            generations: AtomicU64::new(1),
        }
    }

    /// Loads the plugin at `path`, checks it (handshake and self-test) and wraps it.
    pub fn load(path: &Path) -> Result<Self, PluginError> {
        Self::load_probed(path, None)
    }

    /// [`PluginHost::load`], running `probe` on the staged bytes first.
    pub fn load_probed(path: &Path, probe: Option<Probe<'_>>) -> Result<Self, PluginError> {
        let (plugin, sha256) = load_checked(path, probe)?;
        Ok(Self::with_active(ActivePlugin {
            plugin: Arc::new(plugin),
            source: path.to_path_buf(),
            sha256,
            loaded_at: SystemTime::now(),
            generation: 0,
        }))
    }

    /// The plugin new compilations use.
    pub fn current(&self) -> Arc<Plugin> {
        self.active().plugin.clone()
    }

    /// The active plugin with its provenance.
    pub fn active(&self) -> Arc<ActivePlugin> {
        match self.active.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the plugin (hot reload) and invalidates the statement cache. Callers
    /// validate the new plugin first: on failure they simply do not call this, and the old
    /// plugin stays.
    pub fn swap(&self, plugin: Plugin) {
        let sha256 = std::fs::read(plugin.path())
            .map(|bytes| hex_sha256(&bytes))
            .unwrap_or_default();
        let source = plugin.path().to_path_buf();
        self.install(plugin, source, sha256);
    }

    fn install(&self, plugin: Plugin, source: PathBuf, sha256: String) -> Arc<ActivePlugin> {
        let active = Arc::new(ActivePlugin {
            plugin: Arc::new(plugin),
            source,
            sha256,
            loaded_at: SystemTime::now(),
            generation: self.generations.fetch_add(1, Ordering::Relaxed),
        });
        {
            let mut guard = match self.active.write() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            *guard = active.clone();
        }
        let mut cache = self.lock_cache();
        cache.entries.clear();
        cache.generation += 1;
        active
    }

    /// Loads a fresh build from `path`, checks it (handshake, same dialect as the active
    /// plugin, self-test) and swaps it in. On any error nothing changes: the old plugin
    /// stays active and the cache is kept. Blocking (file I/O, `dlopen`): call it from a
    /// blocking thread.
    pub fn reload(&self, path: &Path) -> Result<Arc<ActivePlugin>, PluginError> {
        self.reload_probed(path, None)
    }

    /// [`PluginHost::reload`], running `probe` on the staged bytes before loading them
    /// into this process.
    pub fn reload_probed(
        &self,
        path: &Path,
        probe: Option<Probe<'_>>,
    ) -> Result<Arc<ActivePlugin>, PluginError> {
        let _serial = match self.reloading.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (plugin, sha256) = load_checked(path, probe)?;
        let expected = self.active().info().dialect;
        if plugin.info().dialect != expected {
            return Err(PluginError::WrongDialect {
                name: plugin.info().name.clone(),
                found: plugin.info().dialect,
                expected,
            });
        }
        Ok(self.install(plugin, path.to_path_buf(), sha256))
    }

    /// Compiles SQL text (cached). A compile error is returned as is; it carries the
    /// SQLSTATE and position for the client.
    pub async fn compile(&self, sql: &str) -> Result<Compiled, CompileError> {
        let cacheable = sql.len() <= CACHE_MAX_SQL;
        let generation = {
            let mut cache = self.lock_cache();
            cache.clock += 1;
            let now = cache.clock;
            if cacheable {
                if let Some((compiled, used)) = cache.entries.get_mut(sql) {
                    *used = now;
                    return Ok(compiled.clone());
                }
            }
            cache.generation
        };
        let active = self.active();
        let plugin = active.plugin.clone();
        let output = if sql.len() > BLOCKING_COMPILE_THRESHOLD {
            let sql = sql.to_string();
            tokio::task::spawn_blocking(move || plugin.compile(&sql))
                .await
                .unwrap_or_else(|e| {
                    Err(CompileError {
                        sqlstate: "XX000".into(),
                        message: format!("internal error while compiling: {e}"),
                        position: None,
                    })
                })
        } else {
            plugin.compile(sql)
        };
        let compiled: Compiled = Arc::new(
            output?
                .iter()
                .map(|program| match answer_plugin_show(program, &active) {
                    Some(answer) => CompiledStatement {
                        kind: StatementKind::ShowPlugin,
                        ..CompiledStatement::from_program(&answer)
                    },
                    None => CompiledStatement::from_program(program),
                })
                .collect(),
        );
        if cacheable {
            let mut cache = self.lock_cache();
            if cache.generation == generation {
                if cache.entries.len() >= CACHE_CAPACITY {
                    evict_oldest(&mut cache.entries);
                }
                let now = cache.clock;
                cache
                    .entries
                    .insert(sql.to_string(), (compiled.clone(), now));
            }
        }
        Ok(compiled)
    }

    /// Compiles a Firebird BLR request (`op_compile`: isql's `SHOW` commands) with the
    /// plugin active now (not cached: isql compiles each request once per connection).
    /// `None` when the plugin has no BLR compiler.
    pub fn compile_blr(&self, blr: &[u8]) -> Option<Result<BlrRequest, CompileError>> {
        self.current().compile_blr(blr)
    }

    /// The answer to `SHOW rosetta.plugin` for the plugin active now: a
    /// `SELECT '<description>' AS "rosetta.plugin"` program in `dialect`.
    pub fn plugin_show_program(&self, dialect: Dialect) -> Vec<u8> {
        let show = Program::new(
            dialect,
            Statement::ShowVariable {
                name: PLUGIN_SETTING.into(),
            },
        );
        let answer = answer_plugin_show(&show, &self.active()).unwrap_or(show);
        rosetta_bytecode::encode(&answer)
    }

    /// A `ROLLBACK` program for `dialect` (sent instead of `COMMIT` in a failed block).
    pub fn rollback_program(dialect: rosetta_bytecode::Dialect) -> Vec<u8> {
        rosetta_bytecode::encode(&Program::new(dialect, Statement::Rollback))
    }

    /// Number of cached SQL strings (for tests and metrics).
    pub fn cached(&self) -> usize {
        self.lock_cache().entries.len()
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        match self.cache.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// `SHOW rosetta.plugin` becomes `SELECT '<description>' AS "rosetta.plugin"`, answered
/// by the engine like any query (so it works in the simple and the extended protocol and
/// has a real row description). The description is that of the plugin that compiled the
/// statement — the active one, since the cache is cleared on every swap.
fn answer_plugin_show(program: &Program, active: &ActivePlugin) -> Option<Program> {
    let Statement::ShowVariable { name } = &program.statement else {
        return None;
    };
    let name = name.to_ascii_lowercase();
    if name != PLUGIN_SETTING && name != "rosetta_plugin" {
        return None;
    }
    let select = Select {
        distinct: false,
        projection: vec![SelectItem::Expr {
            expr: Expr::Literal(Literal::String(active.describe())),
            alias: Some(rosetta_bytecode::Ident::quoted(PLUGIN_SETTING)),
        }],
        from: vec![],
        filter: None,
        group_by: vec![],
        having: None,
    };
    let query = Query {
        with: vec![],
        body: SetExpr::Select(Box::new(select)),
        order_by: vec![],
        limit: None,
        offset: None,
    };
    let mut answer = program.clone();
    answer.statement = Statement::Query(Box::new(query));
    answer.param_count = 0;
    Some(answer)
}

/// Reads the plugin file once, stages exactly those bytes in a private file (so that the
/// digest names what is really loaded even if the file is being replaced), checks that it
/// is a complete ELF shared object, runs the probe on it, loads the staged copy through
/// [`Plugin::load`] and self-tests it.
fn load_checked(path: &Path, probe: Option<Probe<'_>>) -> Result<(Plugin, String), PluginError> {
    let read_error = |source| PluginError::Read {
        path: path.to_path_buf(),
        source,
    };
    if !path.is_file() {
        return Err(LoadError::NotFound {
            path: path.to_path_buf(),
        }
        .into());
    }
    let bytes = std::fs::read(path).map_err(read_error)?;
    // Mapping a truncated library faults (SIGBUS) inside dlopen: refuse it before.
    check_elf(&bytes).map_err(|reason| LoadError::NotAPlugin {
        path: path.to_path_buf(),
        reason,
    })?;
    let sha256 = hex_sha256(&bytes);
    let staged = staging_path(path);
    let written = std::fs::File::create(&staged).and_then(|mut f| f.write_all(&bytes));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&staged);
        return Err(read_error(e));
    }
    if let Some(probe) = probe {
        if let Err(reason) = probe(&staged) {
            let _ = std::fs::remove_file(&staged);
            return Err(PluginError::Probe {
                path: path.to_path_buf(),
                reason,
            });
        }
    }
    let loaded = Plugin::load(&staged);
    let _ = std::fs::remove_file(&staged);
    let plugin = loaded.map_err(|e| match e {
        // Name the configured path in errors, not the staging copy.
        LoadError::NotAPlugin { reason, .. } => LoadError::NotAPlugin {
            path: path.to_path_buf(),
            reason,
        },
        other => other,
    })?;
    self_test(&plugin)?;
    Ok((plugin, sha256))
}

/// Checks that `bytes` are a whole 64-bit little-endian ELF shared object: header, program
/// headers and every segment's file range inside the file (a truncated copy fails here),
/// and the section header table too.
fn check_elf(bytes: &[u8]) -> Result<(), String> {
    let u16_at = |o: usize| -> Option<u64> {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as u64)
    };
    let u64_at = |o: usize| -> Option<u64> {
        let b = bytes.get(o..o + 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    };
    let within = |offset: u64, len: u64| {
        offset
            .checked_add(len)
            .is_some_and(|end| end <= bytes.len() as u64)
    };
    if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err("not an ELF file".into());
    }
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    if u16_at(16) != Some(3) {
        return Err("not a shared object (ELF type is not ET_DYN)".into());
    }
    let bad = || "truncated ELF header".to_string();
    let phoff = u64_at(32).ok_or_else(bad)?;
    let shoff = u64_at(40).ok_or_else(bad)?;
    let phentsize = u16_at(54).ok_or_else(bad)?;
    let phnum = u16_at(56).ok_or_else(bad)?;
    let shentsize = u16_at(58).ok_or_else(bad)?;
    let shnum = u16_at(60).ok_or_else(bad)?;
    if phentsize < 56 || !within(phoff, phentsize * phnum) {
        return Err("program headers lie outside the file (truncated?)".into());
    }
    if shnum > 0 && !within(shoff, shentsize * shnum) {
        return Err("section headers lie outside the file (truncated?)".into());
    }
    for i in 0..phnum {
        let h = (phoff + i * phentsize) as usize;
        let kind = bytes
            .get(h..h + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(bad)?;
        let offset = u64_at(h + 8).ok_or_else(bad)?;
        let filesz = u64_at(h + 32).ok_or_else(bad)?;
        // PT_LOAD = 1: mapped from the file.
        if kind == 1 && !within(offset, filesz) {
            return Err(format!(
                "segment {i} ends at byte {} but the file has {} bytes (truncated)",
                offset.saturating_add(filesz),
                bytes.len()
            ));
        }
    }
    Ok(())
}

fn staging_path(path: &Path) -> PathBuf {
    static STAGED: AtomicU64 = AtomicU64::new(0);
    let n = STAGED.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin.so");
    std::env::temp_dir().join(format!("rosetta-staged-{}-{n}-{name}", std::process::id()))
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The statement kinds a self-test expects (compared by name, not by full tree: a new
/// build may legitimately lower differently).
fn statement_kind(statement: &Statement) -> &'static str {
    match statement {
        Statement::Empty => "Empty",
        Statement::Query(_) => "Query",
        Statement::Insert(_) => "Insert",
        Statement::Update(_) => "Update",
        Statement::Delete(_) => "Delete",
        Statement::CreateTable(_) => "CreateTable",
        Statement::Begin(_) => "Begin",
        Statement::Commit => "Commit",
        Statement::Rollback => "Rollback",
        Statement::ShowVariable { .. } => "ShowVariable",
        _ => "Other",
    }
}

/// The self-test corpus of a dialect: (SQL, expected kinds of its statements, expected
/// parameter count of the first one). MySQL and Firebird keep to what every build of
/// their plugin must handle.
fn corpus(dialect: Dialect) -> &'static [(&'static str, &'static [&'static str], u16)] {
    match dialect {
        Dialect::Postgres => &[
            ("SELECT 1", &["Query"], 0),
            ("SELECT $1::int + 1 AS x", &["Query"], 1),
            (
                "CREATE TABLE rosetta_self_test (id int PRIMARY KEY, v text)",
                &["CreateTable"],
                0,
            ),
            (
                "INSERT INTO rosetta_self_test (id, v) VALUES ($1, $2)",
                &["Insert"],
                2,
            ),
            (
                "UPDATE rosetta_self_test SET v = 'x' WHERE id = 1",
                &["Update"],
                0,
            ),
            ("DELETE FROM rosetta_self_test WHERE id = 1", &["Delete"], 0),
            (
                "BEGIN; COMMIT; ROLLBACK",
                &["Begin", "Commit", "Rollback"],
                0,
            ),
            ("SHOW server_version", &["ShowVariable"], 0),
            (";", &["Empty"], 0),
        ],
        Dialect::Mysql => &[
            ("SELECT 1", &["Query"], 0),
            ("COMMIT", &["Commit"], 0),
            ("ROLLBACK", &["Rollback"], 0),
        ],
        Dialect::Firebird => &[
            ("SELECT 1 FROM RDB$DATABASE", &["Query"], 0),
            (
                "SELECT FIRST 1 SKIP 1 ID FROM ROSETTA_SELF_TEST WHERE ID = ? ORDER BY ID",
                &["Query"],
                1,
            ),
            (
                "CREATE TABLE ROSETTA_SELF_TEST (ID INTEGER NOT NULL PRIMARY KEY, \
                 V VARCHAR(20), N NUMERIC(9,2), B BLOB SUB_TYPE TEXT)",
                &["CreateTable"],
                0,
            ),
            (
                "INSERT INTO ROSETTA_SELF_TEST (ID, V) VALUES (?, ?) RETURNING ID",
                &["Insert"],
                2,
            ),
            (
                "UPDATE OR INSERT INTO ROSETTA_SELF_TEST (ID, V) VALUES (?, ?) MATCHING (ID)",
                &["Insert"],
                2,
            ),
            (
                "UPDATE ROSETTA_SELF_TEST SET V = 'x' WHERE ID = 1",
                &["Update"],
                0,
            ),
            ("DELETE FROM ROSETTA_SELF_TEST WHERE ID = 1", &["Delete"], 0),
            (
                "SET TRANSACTION READ WRITE WAIT ISOLATION LEVEL SNAPSHOT",
                &["Begin"],
                0,
            ),
            ("COMMIT RETAIN", &["Commit", "Begin"], 0),
            ("COMMIT", &["Commit"], 0),
            ("ROLLBACK", &["Rollback"], 0),
        ],
    }
}

/// isql-fb 3.0's `SHOW TABLES` request, as it sends it with `op_compile` (captured from
/// the client; `firebird-wire.md` §19): a Firebird plugin must compile it.
const ISQL_SHOW_TABLES_BLR: &[u8] = &[
    0x04, 0x02, 0x04, 0x01, 0x02, 0x00, 0x07, 0x00, 0x28, 0x7d, 0x00, 0x04, 0x00, 0x01, 0x00, 0x07,
    0x00, 0x0c, 0x00, 0x02, 0x07, 0x43, 0x01, 0x4a, 0x0d, b'R', b'D', b'B', b'$', b'R', b'E', b'L',
    b'A', b'T', b'I', b'O', b'N', b'S', 0x00, 0x47, 0x3a, 0x2f, 0x17, 0x00, 0x0f, b'R', b'D', b'B',
    b'$', b'S', b'Y', b'S', b'T', b'E', b'M', b'_', b'F', b'L', b'A', b'G', 0x19, 0x00, 0x00, 0x00,
    0x3d, 0x17, 0x00, 0x0c, b'R', b'D', b'B', b'$', b'V', b'I', b'E', b'W', b'_', b'B', b'L', b'R',
    0x46, 0x01, 0x48, 0x17, 0x00, 0x11, b'R', b'D', b'B', b'$', b'R', b'E', b'L', b'A', b'T', b'I',
    b'O', b'N', b'_', b'N', b'A', b'M', b'E', 0xff, 0x0e, 0x01, 0x02, 0x01, 0x15, 0x08, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x19, 0x01, 0x00, 0x00, 0x01, 0x17, 0x00, 0x11, b'R', b'D', b'B', b'$', b'R',
    b'E', b'L', b'A', b'T', b'I', b'O', b'N', b'_', b'N', b'A', b'M', b'E', 0x19, 0x01, 0x01, 0x00,
    0xff, 0x0e, 0x01, 0x01, 0x15, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x19, 0x01, 0x00, 0x00, 0xff,
    0xff, 0x4c,
];

/// A Firebird plugin must compile isql's `SHOW TABLES` BLR request into a query the
/// engine's decoder accepts; other dialects must answer `None` (or lack the entry).
fn blr_self_test(plugin: &Plugin) -> Result<(), PluginError> {
    let info = plugin.info();
    let fail = |reason: String| PluginError::SelfTest {
        name: info.name.clone(),
        sql: "isql SHOW TABLES (BLR request)".into(),
        reason,
    };
    match (info.dialect, plugin.compile_blr(ISQL_SHOW_TABLES_BLR)) {
        (Dialect::Firebird, Some(Ok(request))) => {
            rosetta_bytecode::decode(
                &rosetta_bytecode::encode(&request.program),
                &Limits::default(),
            )
            .map_err(|e| fail(format!("bytecode refused by the decoder: {e}")))?;
            Ok(())
        }
        (Dialect::Firebird, Some(Err(e))) => {
            Err(fail(format!("compile error {}: {}", e.sqlstate, e.message)))
        }
        (Dialect::Firebird, None) => Err(fail("the plugin has no BLR compiler".into())),
        (_, Some(Ok(_))) => Err(fail("a non-Firebird plugin compiled BLR".into())),
        (_, _) => Ok(()),
    }
}

/// Compiles the dialect's corpus: every statement must compile to the expected kinds,
/// into bytecode of the plugin's own dialect that the engine's decoder accepts; and a
/// garbage string must be refused with an error.
fn self_test(plugin: &Plugin) -> Result<(), PluginError> {
    let info = plugin.info();
    let fail = |sql: &str, reason: String| PluginError::SelfTest {
        name: info.name.clone(),
        sql: sql.to_string(),
        reason,
    };
    let limits = Limits::default();
    for (sql, kinds, params) in corpus(info.dialect) {
        let programs = plugin
            .compile(sql)
            .map_err(|e| fail(sql, format!("compile error {}: {}", e.sqlstate, e.message)))?;
        let found: Vec<&str> = programs
            .iter()
            .map(|p| statement_kind(&p.statement))
            .collect();
        if found != *kinds {
            return Err(fail(
                sql,
                format!("compiled to {found:?}, expected {kinds:?}"),
            ));
        }
        for program in &programs {
            if program.dialect != info.dialect {
                return Err(fail(
                    sql,
                    format!("program is marked {:?}", program.dialect),
                ));
            }
            let decoded = rosetta_bytecode::decode(&rosetta_bytecode::encode(program), &limits)
                .map_err(|e| fail(sql, format!("bytecode refused by the decoder: {e}")))?;
            if decoded != *program {
                return Err(fail(sql, "bytecode does not round-trip".into()));
            }
        }
        if programs.first().map(|p| p.param_count) != Some(*params) {
            return Err(fail(
                sql,
                format!(
                    "parameter count {:?}, expected {params}",
                    programs.first().map(|p| p.param_count)
                ),
            ));
        }
    }
    let garbage = "\u{1}rosetta self-test: this is not SQL (((";
    if plugin.compile(garbage).is_ok() {
        return Err(fail(garbage, "garbage was accepted".into()));
    }
    blr_self_test(plugin)
}

/// Drops the least recently used eighth of the cache (amortizes the O(n) scan).
fn evict_oldest(entries: &mut HashMap<String, (Compiled, u64)>) {
    let mut ages: Vec<u64> = entries.values().map(|(_, used)| *used).collect();
    ages.sort_unstable();
    let cut = ages.get(ages.len() / 8).copied().unwrap_or(u64::MAX);
    entries.retain(|_, (_, used)| *used > cut);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_keeps_recent_entries() {
        let mut entries = HashMap::new();
        for i in 0..64u64 {
            entries.insert(format!("q{i}"), (Arc::new(Vec::new()), i));
        }
        evict_oldest(&mut entries);
        assert!(entries.len() < 64);
        assert!(entries.contains_key("q63"));
        assert!(!entries.contains_key("q0"));
    }

    #[test]
    fn elf_check_refuses_truncated_and_foreign_files() {
        // The test executable is a position-independent (ET_DYN) ELF file.
        let exe = std::env::current_exe().expect("exe");
        let bytes = std::fs::read(exe).expect("read");
        assert_eq!(check_elf(&bytes), Ok(()));
        assert!(check_elf(&bytes[..bytes.len() / 2]).is_err());
        assert!(check_elf(&bytes[..100]).is_err());
        assert!(check_elf(b"#!/bin/sh\necho not a plugin\n").is_err());
        assert!(check_elf(&[]).is_err());
    }

    #[test]
    fn missing_plugin_is_refused() {
        let err = PluginHost::load(Path::new("/nonexistent/plugin.so")).expect_err("missing");
        assert!(
            matches!(err, PluginError::Load(LoadError::NotFound { .. })),
            "{err}"
        );
    }

    #[test]
    fn corpus_statements_are_distinct_kinds() {
        for dialect in [Dialect::Postgres, Dialect::Mysql, Dialect::Firebird] {
            assert!(corpus(dialect)
                .iter()
                .any(|(_, kinds, _)| kinds.contains(&"Query")));
        }
    }

    #[test]
    fn empty_statement_is_flagged() {
        let program = Program::new(rosetta_bytecode::Dialect::Postgres, Statement::Empty);
        let compiled = CompiledStatement::from_program(&program);
        assert!(compiled.is_empty);
        assert!(!compiled.bytes.is_empty());
    }
}
