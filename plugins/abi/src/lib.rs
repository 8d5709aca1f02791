//! The frozen plugin surface shared by dialect plugins and their host (the gateway), and
//! the host-side loader.
//!
//! A dialect plugin is a shared library exporting one `abi_stable` root module,
//! [`PluginMod`], a prefix type with two required functions and one optional one:
//!
//! * `describe() -> bytes`: MessagePack of [`PluginInfo`];
//! * `compile(sql) -> bytes`: MessagePack of a [`rosetta_bytecode::CompileOutput`];
//! * `compile_blr(blr) -> bytes` (optional, added after the prefix; ADR 0006):
//!   MessagePack of a [`blr::BlrOutput`] — Firebird's BLR requests (isql's `SHOW`)
//!   compiled into a query plus a message plan. Plugins built before it existed simply
//!   lack the field, and the host sees `None`.
//!
//! The prefix (`describe`, `compile`) never changes; fields may only be appended after
//! it, each optional for the host. Everything else evolves in the bytecode's version
//! ([`rosetta_bytecode::VERSION`]), which [`Plugin::load`] checks against the range this
//! host accepts. Plugin authors export their module with [`export_plugin!`]; hosts load
//! one with [`Plugin::load`].

pub mod blr;
mod export;
mod host;

pub use export::{compile_blr_bytes, compile_bytes, describe_bytes, no_blr_bytes, panic_message};
pub use host::{LoadError, Plugin};

#[doc(hidden)]
pub use abi_stable;

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RSlice, RStr, RVec},
    StableAbi,
};
use rosetta_bytecode::Dialect;
use serde::{Deserialize, Serialize};

/// The root module every dialect plugin exports. The prefix (up to `compile`) is frozen:
/// never remove or reorder those fields. Fields after the prefix are optional: a plugin
/// built before one was added lacks it and the host's accessor returns `None` (ADR 0006).
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
    /// Compiles a Firebird BLR request; returns MessagePack of a [`blr::BlrOutput`]
    /// (see [`blr::encode_blr_output`]). Optional: absent in plugins built before it.
    #[sabi(missing_field(option))]
    pub compile_blr: extern "C" fn(RSlice<'_, u8>) -> RVec<u8>,
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
/// `info` is an expression of type [`PluginInfo`] (evaluated on every `describe` call),
/// `compile` a `fn(&str) -> rosetta_bytecode::CompileOutput` and, optionally,
/// `compile_blr` a `fn(&[u8]) -> blr::BlrOutput` (without it the plugin answers `None`
/// to BLR). All are wrapped in `catch_unwind`, so a panic never crosses the plugin
/// boundary: a panic in `compile`/`compile_blr` becomes a compile error with SQLSTATE
/// `XX000`. The crate invoking the macro must depend on `abi_stable` (the attribute
/// macro refers to it by name).
///
/// ```ignore
/// rosetta_plugin_abi::export_plugin!(info = my_info(), compile = my_crate::compile);
/// ```
#[macro_export]
macro_rules! export_plugin {
    (info = $info:expr, compile = $compile:path $(,)?) => {
        $crate::export_plugin!(@module $info, $compile, |blr| $crate::no_blr_bytes(blr));
    };
    (info = $info:expr, compile = $compile:path, compile_blr = $blr:path $(,)?) => {
        $crate::export_plugin!(@module $info, $compile, |blr| $crate::compile_blr_bytes(blr, $blr));
    };
    (@module $info:expr, $compile:path, |$b:ident| $blr_body:expr) => {
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
            extern "C" fn __rosetta_compile_blr(
                $b: $crate::abi_stable::std_types::RSlice<'_, u8>,
            ) -> $crate::abi_stable::std_types::RVec<u8> {
                $blr_body
            }
            $crate::abi_stable::prefix_type::PrefixTypeTrait::leak_into_prefix($crate::PluginMod {
                describe: __rosetta_describe,
                compile: __rosetta_compile,
                compile_blr: __rosetta_compile_blr,
            })
        }
    };
}

#[cfg(test)]
mod tests;
