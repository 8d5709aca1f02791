//! The frozen plugin surface shared by dialect plugins and their host (the gateway), and
//! the host-side loader.
//!
//! A dialect plugin is a shared library exporting one `abi_stable` root module,
//! [`PluginMod`], with exactly two functions:
//!
//! * `describe() -> bytes`: MessagePack of [`PluginInfo`];
//! * `compile(sql) -> bytes`: MessagePack of a [`rosetta_bytecode::CompileOutput`].
//!
//! This layout never changes: all evolution happens in the bytecode's version
//! ([`rosetta_bytecode::VERSION`]), which [`Plugin::load`] checks against the range this
//! host accepts. Plugin authors export their module with [`export_plugin!`]; hosts load
//! one with [`Plugin::load`].

mod export;
mod host;

pub use export::{compile_bytes, describe_bytes, panic_message};
pub use host::{LoadError, Plugin};

#[doc(hidden)]
pub use abi_stable;

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RStr, RVec},
    StableAbi,
};
use rosetta_bytecode::Dialect;
use serde::{Deserialize, Serialize};

/// The root module every dialect plugin exports. Frozen: never add, remove or reorder
/// fields (a host built against a larger layout would reject older plugins).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    /// Returns MessagePack of [`PluginInfo`].
    pub describe: extern "C" fn() -> RVec<u8>,
    /// Compiles SQL text; returns MessagePack of a [`rosetta_bytecode::CompileOutput`]
    /// (see [`rosetta_bytecode::encode_output`]).
    #[sabi(last_prefix_field)]
    pub compile: extern "C" fn(RStr<'_>) -> RVec<u8>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "rosetta_plugin";
    const NAME: &'static str = "rosetta_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// What a plugin says about itself (the answer of `describe`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Plugin name, e.g. `rosetta-plugin-postgres`.
    pub name: String,
    /// The SQL dialect the plugin compiles.
    pub dialect: Dialect,
    /// The plugin's own version (its crate version).
    pub version: String,
    /// An identifier of this particular build (distinguishes two builds of one version).
    pub build_id: String,
    /// The bytecode version the plugin emits.
    pub bytecode_version: u16,
}

impl PluginInfo {
    /// Encodes the info as MessagePack with named fields.
    pub fn encode(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    /// Decodes the info received from a plugin.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
    }
}

/// Exports a plugin's root module from a `cdylib`.
///
/// `info` is an expression of type [`PluginInfo`] (evaluated on every `describe` call) and
/// `compile` a `fn(&str) -> rosetta_bytecode::CompileOutput`. Both are wrapped in
/// `catch_unwind`, so a panic never crosses the plugin boundary: a panic in `compile`
/// becomes a compile error with SQLSTATE `XX000`. The crate invoking the macro must depend
/// on `abi_stable` (the attribute macro refers to it by name).
///
/// ```ignore
/// rosetta_plugin_abi::export_plugin!(info = my_info(), compile = my_crate::compile);
/// ```
#[macro_export]
macro_rules! export_plugin {
    (info = $info:expr, compile = $compile:path $(,)?) => {
        /// The plugin's root module, found by the host through `abi_stable`.
        #[$crate::abi_stable::export_root_module]
        pub fn get_library() -> $crate::PluginModRef {
            extern "C" fn __rosetta_describe() -> $crate::abi_stable::std_types::RVec<u8> {
                $crate::describe_bytes(|| $info)
            }
            extern "C" fn __rosetta_compile(
                sql: $crate::abi_stable::std_types::RStr<'_>,
            ) -> $crate::abi_stable::std_types::RVec<u8> {
                $crate::compile_bytes(sql, $compile)
            }
            $crate::abi_stable::prefix_type::PrefixTypeTrait::leak_into_prefix($crate::PluginMod {
                describe: __rosetta_describe,
                compile: __rosetta_compile,
            })
        }
    };
}

#[cfg(test)]
mod tests;
