//! Unit tests of the plugin-side helpers and the loader's failure paths.

use super::*;
use abi_stable::std_types::RStr;
use rosetta_bytecode::{decode_output, CompileOutput, Program, Statement};

fn panicking_compile(_: &str) -> CompileOutput {
    panic!("boom")
}

fn empty_compile(_: &str) -> CompileOutput {
    Ok(vec![Program::new(Dialect::Postgres, Statement::Empty)])
}

#[test]
fn compile_bytes_turns_a_panic_into_xx000() {
    let bytes = compile_bytes(RStr::from_str("x"), panicking_compile);
    let err = decode_output(&bytes).unwrap().unwrap_err();
    assert_eq!(err.sqlstate, "XX000");
    assert_eq!(err.message, "internal error in plugin: boom");
}

#[test]
fn compile_bytes_round_trips_programs() {
    let bytes = compile_bytes(RStr::from_str(";"), empty_compile);
    let programs = decode_output(&bytes).unwrap().unwrap();
    assert_eq!(programs[0].statement, Statement::Empty);
}

#[test]
fn describe_bytes_round_trips_and_survives_panics() {
    let info = PluginInfo {
        name: "p".into(),
        dialect: Dialect::Postgres,
        version: "1".into(),
        build_id: "b".into(),
        bytecode_version: 1,
    };
    let bytes = describe_bytes(|| info.clone());
    assert_eq!(PluginInfo::decode(&bytes).unwrap(), info);
    let bytes = describe_bytes(|| panic!("nope"));
    assert!(bytes.is_empty());
    assert!(PluginInfo::decode(&bytes).is_err());
}

#[test]
fn load_reports_missing_file() {
    let err = Plugin::load(std::path::Path::new("/nonexistent/librosetta_x.so")).unwrap_err();
    assert!(matches!(err, LoadError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("not found"));
}

#[test]
fn load_refuses_a_file_that_is_not_a_library() {
    let path = std::env::temp_dir().join(format!("rosetta-not-a-plugin-{}.so", std::process::id()));
    std::fs::write(&path, b"definitely not ELF").unwrap();
    let err = Plugin::load(&path).unwrap_err();
    let _ = std::fs::remove_file(&path);
    assert!(matches!(err, LoadError::NotAPlugin { .. }), "{err}");
}

#[test]
fn plugin_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Plugin>();
}

fn panicking_blr(_: &[u8]) -> blr::BlrOutput {
    panic!("blr boom")
}

#[test]
fn compile_blr_bytes_turns_a_panic_into_xx000() {
    use abi_stable::std_types::RSlice;
    let bytes = compile_blr_bytes(RSlice::from_slice(&[5, 2]), panicking_blr);
    let output = blr::decode_blr_output(&bytes).unwrap();
    let err = output.expect("answered").unwrap_err();
    assert_eq!(err.sqlstate, "XX000");
    assert_eq!(err.message, "internal error in plugin: blr boom");
}

#[test]
fn plugins_without_a_blr_compiler_answer_none() {
    use abi_stable::std_types::RSlice;
    let bytes = no_blr_bytes(RSlice::from_slice(&[5, 2]));
    assert_eq!(blr::decode_blr_output(&bytes), Ok(None));
}
