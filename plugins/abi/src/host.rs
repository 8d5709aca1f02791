//! Host side: loading a plugin shared library and calling it.
//!
//! Every load copies the library to a fresh, unique path first and loads that copy with
//! `lib_header_from_path(..).init_root_module()`, so that loading a rebuilt plugin from
//! the same path (hot reload) really loads the new code (`RootModule::load_from*` is
//! load-once per type). Loaded libraries are never unloaded.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::std_types::{RSlice, RStr};
use rosetta_bytecode::{decode_output, CompileOutput, MIN_VERSION, VERSION};

use crate::blr::{decode_blr_output, BlrOutput};
use crate::export::internal_error;
use crate::{PluginInfo, PluginModRef};

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The plugin file does not exist (or is not a regular file).
    #[error("plugin file {path} not found")]
    NotFound {
        /// The path given to [`Plugin::load`].
        path: PathBuf,
    },
    /// Copying the plugin to its private load path failed.
    #[error("cannot copy plugin {path} to {copy}: {source}")]
    Copy {
        /// The path given to [`Plugin::load`].
        path: PathBuf,
        /// Where the copy was to be written.
        copy: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The file is not a loadable Rosetta plugin, or was built against an incompatible
    /// plugin ABI.
    #[error("{path} is not a compatible Rosetta plugin: {reason}")]
    NotAPlugin {
        /// The path given to [`Plugin::load`].
        path: PathBuf,
        /// What `abi_stable` or the `describe` handshake reported.
        reason: String,
    },
    /// The plugin emits a bytecode version this host does not accept.
    #[error("plugin {name} emits bytecode version {found}, but this host accepts {min}..={max}")]
    UnsupportedBytecode {
        /// The plugin's name.
        name: String,
        /// The bytecode version the plugin reports.
        found: u16,
        /// Oldest accepted bytecode version.
        min: u16,
        /// Newest accepted bytecode version.
        max: u16,
    },
}

/// A loaded dialect plugin.
#[derive(Clone)]
pub struct Plugin {
    module: PluginModRef,
    info: PluginInfo,
    path: PathBuf,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("info", &self.info)
            .field("path", &self.path)
            .finish()
    }
}

static LOAD_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Plugin {
    /// Loads the plugin at `path` (through a private copy), checks its ABI and that its
    /// bytecode version is one this host accepts.
    pub fn load(path: &Path) -> Result<Plugin, LoadError> {
        if !path.is_file() {
            return Err(LoadError::NotFound {
                path: path.to_path_buf(),
            });
        }
        let copy = unique_copy_path(path);
        std::fs::copy(path, &copy).map_err(|source| LoadError::Copy {
            path: path.to_path_buf(),
            copy: copy.clone(),
            source,
        })?;
        let not_a_plugin = |reason: String| LoadError::NotAPlugin {
            path: path.to_path_buf(),
            reason,
        };
        let module = lib_header_from_path(&copy)
            .and_then(|header| header.init_root_module::<PluginModRef>())
            .map_err(|e: LibraryError| not_a_plugin(e.to_string()));
        // The loaded copy stays mapped; its file is no longer needed on disk.
        let _ = std::fs::remove_file(&copy);
        let module = module?;
        let info = PluginInfo::decode(&(module.describe())())
            .map_err(|e| not_a_plugin(format!("undecodable describe() answer: {e}")))?;
        if !(MIN_VERSION..=VERSION).contains(&info.bytecode_version) {
            return Err(LoadError::UnsupportedBytecode {
                name: info.name,
                found: info.bytecode_version,
                min: MIN_VERSION,
                max: VERSION,
            });
        }
        Ok(Plugin {
            module,
            info,
            path: path.to_path_buf(),
        })
    }

    /// What the plugin reported about itself when loaded.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The path the plugin was loaded from (not the private copy).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Compiles SQL text through the plugin. Undecodable output from the plugin becomes a
    /// compile error with SQLSTATE `XX000`.
    pub fn compile(&self, sql: &str) -> CompileOutput {
        let bytes = (self.module.compile())(RStr::from_str(sql));
        match decode_output(&bytes) {
            Ok(output) => output,
            Err(e) => Err(internal_error(&format!("undecodable compile output: {e}"))),
        }
    }
}

impl Plugin {
    /// Compiles a Firebird BLR request (`op_compile`) through the plugin. `None` when the
    /// plugin has no BLR compiler — it predates the optional `compile_blr` entry or its
    /// dialect has no BLR. Undecodable output becomes a compile error with SQLSTATE
    /// `XX000`.
    pub fn compile_blr(&self, blr: &[u8]) -> BlrOutput {
        let compile_blr = self.module.compile_blr()?;
        let bytes = compile_blr(RSlice::from_slice(blr));
        match decode_blr_output(&bytes) {
            Ok(output) => output,
            Err(e) => Some(Err(internal_error(&format!(
                "undecodable compile_blr output: {e}"
            )))),
        }
    }
}

/// A fresh path in the temp directory for the private copy of `path`.
fn unique_copy_path(path: &Path) -> PathBuf {
    let n = LOAD_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("so");
    std::env::temp_dir().join(format!("{stem}-{}-{n}-{nanos}.{ext}", std::process::id()))
}
