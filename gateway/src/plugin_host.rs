//! The gateway's dialect plugin and its compiled-statement cache.
//!
//! A gateway compiles SQL text with exactly one plugin at a time. [`PluginHost`] holds it
//! behind an `Arc` that can be swapped atomically (hot reload on SIGHUP, architecture
//! §3a): statements already compiling keep their `Arc` to the old plugin and finish on it;
//! new compilations use the new one. Loaded libraries are never unloaded.
//!
//! Compiling is pure (same SQL, same plugin → same programs), so results are cached per
//! SQL text in a small LRU-ish cache; a swap clears it and bumps a generation counter so
//! that a compilation that started on the old plugin never lands in the new cache.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use rosetta_bytecode::{CompileError, Program, Statement};
use rosetta_plugin_abi::{LoadError, Plugin};

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

/// Holds the current plugin and the statement cache; shared by every session of a gateway.
#[derive(Debug)]
pub struct PluginHost {
    plugin: RwLock<Arc<Plugin>>,
    cache: Mutex<Cache>,
}

impl PluginHost {
    /// Wraps an already loaded plugin.
    pub fn new(plugin: Plugin) -> Self {
        Self {
            plugin: RwLock::new(Arc::new(plugin)),
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Loads the plugin at `path` and wraps it.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        Ok(Self::new(Plugin::load(path)?))
    }

    /// The plugin new compilations use.
    pub fn current(&self) -> Arc<Plugin> {
        match self.plugin.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the plugin (hot reload) and invalidates the statement cache. Callers
    /// validate the new plugin first: on failure they simply do not call this, and the old
    /// plugin stays.
    pub fn swap(&self, plugin: Plugin) {
        {
            let mut guard = match self.plugin.write() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            *guard = Arc::new(plugin);
        }
        let mut cache = self.lock_cache();
        cache.entries.clear();
        cache.generation += 1;
    }

    /// Loads a fresh build from `path` and swaps it in; on error the old plugin stays.
    pub fn reload(&self, path: &Path) -> Result<(), LoadError> {
        let plugin = Plugin::load(path)?;
        self.swap(plugin);
        Ok(())
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
        let plugin = self.current();
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
                .map(CompiledStatement::from_program)
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
    fn empty_statement_is_flagged() {
        let program = Program::new(rosetta_bytecode::Dialect::Postgres, Statement::Empty);
        let compiled = CompiledStatement::from_program(&program);
        assert!(compiled.is_empty);
        assert!(!compiled.bytes.is_empty());
    }
}
