//! Loads the built shared library through the host loader, as the gateway does, and
//! calls both entries: `compile` (SQL) and the optional `compile_blr` (isql's BLR).

use std::path::PathBuf;

use rosetta_bytecode::{Dialect, Statement};
use rosetta_plugin_abi::Plugin;

/// Finds `librosetta_plugin_firebird.so` next to (or above) this test binary.
fn built_plugin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors().skip(1).take(3).find_map(|dir| {
        [
            "deps/librosetta_plugin_firebird.so",
            "librosetta_plugin_firebird.so",
        ]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
    })
}

fn hex(line: &str) -> Vec<u8> {
    (0..line.len() / 2)
        .filter_map(|i| u8::from_str_radix(line.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

#[test]
fn load_and_compile_sql_and_blr() {
    let Some(path) = built_plugin() else {
        eprintln!("SKIPPED: librosetta_plugin_firebird.so not found near the test binary");
        return;
    };
    let plugin = Plugin::load(&path).expect("load plugin");
    assert_eq!(plugin.info().dialect, Dialect::Firebird);
    assert_eq!(plugin.info().name, "rosetta-plugin-firebird");

    let programs = plugin
        .compile("SELECT 1 FROM RDB$DATABASE")
        .expect("compiles");
    assert!(matches!(programs[0].statement, Statement::Query(_)));
    assert_eq!(plugin.compile("selec 1").unwrap_err().sqlstate, "42601");

    let show_tables = hex(include_str!("fixtures/isql_show_blr.hex")
        .lines()
        .next()
        .unwrap_or_default());
    let request = plugin
        .compile_blr(&show_tables)
        .expect("the Firebird plugin has a BLR compiler")
        .expect("SHOW TABLES compiles");
    assert_eq!(
        Some(Ok(request)),
        rosetta_plugin_firebird::blr::compile_blr_output(&show_tables)
    );
    let refused = plugin.compile_blr(&[0x05, 0x02, 0x99]).expect("answered");
    assert_eq!(refused.unwrap_err().sqlstate, "0A000");
}
