//! Statement dispatch, and the statements that are neither queries, DML nor DDL:
//! transactions, `EXPLAIN`, SQL-level `PREPARE`/`EXECUTE`/`DEALLOCATE`, `SET`, `SHOW`.

use rosetta_bytecode as bc;
use rosetta_sql_lower::stmt::{session_characteristics, transaction_mode};
use rosetta_sql_lower::{LowerDdl, LowerExpr};
use sqlparser::ast;

use super::{ident, is_word, reject, unsupported, Lowerer, Result};

impl Lowerer {
    /// Lowers the dialect-only statements (`None` for the shared ones).
    pub(crate) fn dialect_statement(
        &mut self,
        statement: &ast::Statement,
    ) -> Option<Result<bc::Statement>> {
        self.dialect_statement_inner(statement).transpose()
    }

    /// [`Self::dialect_statement`], with `Ok(None)` for the shared statements.
    fn dialect_statement_inner(
        &mut self,
        statement: &ast::Statement,
    ) -> Result<Option<bc::Statement>> {
        use ast::Statement as S;
        let lowered: Result<bc::Statement> = match statement {
            S::CreateView(create) => self.create_view(create),
            S::ShowVariable { variable } => Ok(bc::Statement::ShowVariable {
                name: show_name(variable),
            }),
            S::Truncate(truncate) => self.truncate(truncate),
            S::Analyze(analyze) => self.analyze(analyze),
            S::AlterTable(alter) => self.alter_table(alter),
            S::Copy { .. } => self.copy(statement),
            S::CreateSequence {
                temporary,
                if_not_exists,
                name,
                sequence_options,
            } => {
                super::sequence::create_sequence(*temporary, *if_not_exists, name, sequence_options)
            }
            S::Drop {
                object_type: ast::ObjectType::Sequence,
                if_exists,
                names,
                cascade,
                restrict: _,
                purge,
                temporary,
                table,
            } => {
                reject(
                    *purge || *temporary || table.is_some(),
                    "DROP SEQUENCE options",
                )?;
                super::sequence::drop_sequence(names, *if_exists, *cascade)
            }
            S::CreateTable(create) => {
                let mut lowered = rosetta_sql_lower::LowerDdl::create_table(self, create)?;
                super::sequence::apply_serials(create, &mut lowered)?;
                Ok(lowered)
            }
            _ => return Ok(None),
        };
        lowered.map(Some)
    }

    /// Lowers the `SET` family.
    pub(crate) fn set(&mut self, set: &ast::Set) -> Result<bc::Statement> {
        use ast::Set as S;
        match set {
            S::SingleAssignment {
                scope,
                hivevar,
                variable,
                values,
            } => {
                reject(*hivevar, "SET HIVEVAR")?;
                let local = match scope {
                    None | Some(ast::ContextModifier::Session) => false,
                    Some(ast::ContextModifier::Local) => true,
                    Some(ast::ContextModifier::Global) => return Err(unsupported("SET GLOBAL")),
                };
                let name = variable
                    .0
                    .iter()
                    .map(|part| match part {
                        ast::ObjectNamePart::Identifier(id) => Ok(ident(id).value),
                        ast::ObjectNamePart::Function(_) => {
                            Err(unsupported("a function call as a setting name"))
                        }
                    })
                    .collect::<Result<Vec<_>>>()?
                    .join(".");
                let values = values
                    .iter()
                    .map(|v| self.setting_value(v))
                    .collect::<Result<Vec<_>>>()?;
                Ok(bc::Statement::SetVariable {
                    name,
                    values,
                    local,
                })
            }
            S::SetTimeZone { local, value } => Ok(bc::Statement::SetVariable {
                name: "timezone".into(),
                values: vec![match value {
                    ast::Expr::Identifier(id) if is_word(id, "local") => bc::Expr::Default,
                    other => self.setting_value(other)?,
                }],
                local: *local,
            }),
            S::SetNames {
                charset_name,
                collation_name,
            } => {
                reject(collation_name.is_some(), "SET NAMES … COLLATE")?;
                Ok(bc::Statement::SetVariable {
                    name: "client_encoding".into(),
                    values: vec![bc::Expr::Literal(bc::Literal::String(
                        charset_name.value.clone(),
                    ))],
                    local: false,
                })
            }
            S::SetTransaction {
                modes,
                snapshot,
                session,
            } => {
                reject(snapshot.is_some(), "SET TRANSACTION SNAPSHOT")?;
                if *session {
                    session_characteristics(modes)
                } else {
                    Ok(bc::Statement::SetTransaction(transaction_mode(modes)?))
                }
            }
            S::SetNamesDefault {} => Err(unsupported("SET NAMES DEFAULT")),
            S::SetRole { .. } => Err(unsupported("SET ROLE")),
            S::SetSessionAuthorization(_) => Err(unsupported("SET SESSION AUTHORIZATION")),
            S::SetSessionParam(_) => Err(unsupported("this SET statement")),
            S::ParenthesizedAssignments { .. } | S::MultipleAssignments { .. } => {
                Err(unsupported("SET of several variables at once"))
            }
        }
    }

    /// A `SET` value: bare words are strings (`SET x TO on`), `DEFAULT` is the default.
    fn setting_value(&mut self, value: &ast::Expr) -> Result<bc::Expr> {
        match value {
            ast::Expr::Identifier(id) if is_word(id, "default") => Ok(bc::Expr::Default),
            ast::Expr::Identifier(id) => {
                Ok(bc::Expr::Literal(bc::Literal::String(ident(id).value)))
            }
            other => self.expr(other),
        }
    }
}

/// The setting named by `SHOW …` (multi-word spellings mapped to their setting names).
fn show_name(variable: &[ast::Ident]) -> String {
    let words: Vec<String> = variable.iter().map(|id| ident(id).value).collect();
    match words.join(" ").as_str() {
        "time zone" => "timezone".into(),
        "transaction isolation level" => "transaction_isolation".into(),
        "session authorization" => "session_authorization".into(),
        _ => words.join("."),
    }
}

/// The leading keywords of a statement (`CREATE VIEW`, `ALTER TABLE`, …) for messages.
pub(crate) fn statement_label(statement: &ast::Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text
        .split_whitespace()
        .take(3)
        .take_while(|w| w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    if words.is_empty() {
        "this statement".into()
    } else {
        words.join(" ")
    }
}
