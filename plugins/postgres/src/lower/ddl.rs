//! PostgreSQL-only data definition: the `WITH (fillfactor = n)` storage parameter. The
//! rest (`CREATE VIEW` included) is shared ([`rosetta_sql_lower::LowerDdl`]).

use rosetta_bytecode::CompileError;
use sqlparser::ast;

use super::{unsupported, Result};

/// `WITH (fillfactor = n)`: accepted and checked (10–100, as PostgreSQL), without effect —
/// fillfactor reserves room in heap pages for updates, and an LSM store has no such pages.
/// Every other storage parameter or table option is refused.
pub(crate) fn storage_parameters(options: &ast::CreateTableOptions) -> Result<()> {
    let list = match options {
        ast::CreateTableOptions::None => return Ok(()),
        ast::CreateTableOptions::With(list) => list,
        _ => return Err(unsupported("table options (OPTIONS, TABLESPACE, …)")),
    };
    for option in list {
        match option {
            ast::SqlOption::KeyValue { key, value }
                if key.0.len() == 1 && key.to_string().eq_ignore_ascii_case("fillfactor") =>
            {
                let n = match value {
                    ast::Expr::Value(v) => match &v.value {
                        ast::Value::Number(n, _) => n.parse::<i64>().ok(),
                        _ => None,
                    },
                    _ => None,
                };
                match n {
                    Some(10..=100) => {}
                    _ => {
                        return Err(CompileError {
                            sqlstate: "22023".into(),
                            message: format!(
                                "value {value} out of bounds for option \"fillfactor\""
                            ),
                            position: None,
                        })
                    }
                }
            }
            other => return Err(unsupported(format!("storage parameter {other}"))),
        }
    }
    Ok(())
}
