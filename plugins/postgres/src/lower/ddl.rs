//! PostgreSQL-only data definition: `CREATE VIEW` and the `WITH (fillfactor = n)` storage
//! parameter. The rest is shared ([`rosetta_sql_lower::LowerDdl`]).

use rosetta_bytecode::{self as bc, CompileError};
use rosetta_sql_lower::LowerQuery;
use sqlparser::ast;

use super::{ident, object_name, reject, unsupported, Lowerer, Result};

impl Lowerer {
    /// `CREATE [OR REPLACE] VIEW name [(columns)] AS query`.
    pub(crate) fn create_view(&mut self, create: &ast::CreateView) -> Result<bc::Statement> {
        let ast::CreateView {
            or_alter,
            or_replace,
            materialized,
            secure,
            name,
            name_before_not_exists: _,
            columns,
            query,
            options,
            cluster_by,
            comment,
            with_no_schema_binding,
            if_not_exists,
            temporary,
            copy_grants,
            to,
            params,
        } = create;
        reject(*or_alter, "CREATE OR ALTER VIEW")?;
        reject(*materialized, "CREATE MATERIALIZED VIEW")?;
        reject(*secure, "CREATE SECURE VIEW")?;
        reject(*temporary, "CREATE TEMPORARY VIEW")?;
        reject(*if_not_exists, "CREATE VIEW IF NOT EXISTS")?;
        reject(
            !matches!(options, ast::CreateTableOptions::None),
            "view options",
        )?;
        reject(!cluster_by.is_empty(), "CLUSTER BY")?;
        reject(comment.is_some(), "view comments")?;
        reject(*with_no_schema_binding, "WITH NO SCHEMA BINDING")?;
        reject(*copy_grants, "COPY GRANTS")?;
        reject(to.is_some(), "CREATE VIEW … TO")?;
        reject(params.is_some(), "view ALGORITHM/DEFINER/SQL SECURITY")?;
        let columns = columns
            .iter()
            .map(|c| {
                let ast::ViewColumnDef {
                    name,
                    data_type,
                    options,
                } = c;
                reject(data_type.is_some(), "view column types")?;
                reject(options.is_some(), "view column options")?;
                Ok(ident(name))
            })
            .collect::<Result<Vec<_>>>()?;
        let lowered = self.query(query)?;
        if self.max_param > 0 {
            return Err(CompileError {
                sqlstate: "42P02".into(),
                message: format!("there is no parameter ${}", self.max_param),
                position: None,
            });
        }
        Ok(bc::Statement::CreateView(Box::new(bc::CreateView {
            name: object_name(name)?,
            columns,
            query: lowered,
            or_replace: *or_replace,
            definition: Some(query.to_string()),
        })))
    }
}

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
