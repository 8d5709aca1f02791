//! Loads the built shared library through the host loader, as the gateway does.

use std::path::PathBuf;

use rosetta_bytecode::{Dialect, Statement};
use rosetta_plugin_abi::Plugin;

/// Finds `librosetta_plugin_postgres.so` next to (or above) this test binary.
fn built_plugin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors().skip(1).take(3).find_map(|dir| {
        [
            "deps/librosetta_plugin_postgres.so",
            "librosetta_plugin_postgres.so",
        ]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
    })
}

#[test]
fn load_and_compile_select_1() {
    let Some(path) = built_plugin() else {
        eprintln!("SKIPPED: librosetta_plugin_postgres.so not found near the test binary");
        return;
    };
    let plugin = Plugin::load(&path).expect("load plugin");
    let info = plugin.info();
    assert_eq!(info.dialect, Dialect::Postgres);
    assert_eq!(info.name, "rosetta-plugin-postgres");
    assert_eq!(info.bytecode_version, rosetta_bytecode::VERSION);
    assert_eq!(plugin.path(), path.as_path());

    let programs = plugin.compile("SELECT 1").expect("compiles");
    assert_eq!(programs.len(), 1);
    assert!(matches!(programs[0].statement, Statement::Query(_)));
    assert_eq!(
        programs,
        rosetta_plugin_postgres::compile("SELECT 1").unwrap()
    );

    let err = plugin.compile("SELECT FROM WHERE").unwrap_err();
    assert_eq!(err.sqlstate, "42601");

    // A second load (hot reload) gets a fresh copy of the library, not the cached one.
    let again = Plugin::load(&path).expect("reload plugin");
    assert_eq!(again.compile("SELECT 2").map(|p| p.len()), Ok(1));
}
