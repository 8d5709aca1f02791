//! `CREATE VIEW name [(columns)] AS select`: Firebird's views are plain named queries
//! (no options); `DROP VIEW` is the shared lowering (enabled by `has_views`).

use rosetta_bytecode::{self as bc, CompileError};
use rosetta_sql_lower::{reject, DialectLowering, LowerQuery};
use sqlparser::ast;

use super::{ident, Lowerer, Result};

impl Lowerer {
    /// Lowers `CREATE VIEW`, refusing every option Firebird does not have.
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
        reject(*or_replace, "CREATE OR REPLACE VIEW")?;
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
            return Err(CompileError::syntax(
                "Dynamic SQL Error: parameters are not allowed in a view definition",
            ));
        }
        Ok(bc::Statement::CreateView(Box::new(bc::CreateView {
            name: Self::object_name(name)?,
            columns,
            query: lowered,
            or_replace: false,
            definition: Some(query.to_string()),
        })))
    }
}
