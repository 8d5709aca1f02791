//! Statement dispatch ([`LowerStatement`]) and shared pieces of statement lowering:
//! `CREATE DATABASE`, transaction modes and
//! isolation levels, session characteristics, `EXPLAIN` options.

use rosetta_bytecode::{self as bc, IsolationLevel, TransactionMode};
use sqlparser::ast;

use crate::{is_word, reject, unsupported, DialectLowering, LowerDdl, LowerDml, Result};

/// Shared statement dispatch, provided for every [`DialectLowering`]: the statements both
/// dialects have; the dialect's own come first ([`DialectLowering::dialect_statement`]).
pub trait LowerStatement: DialectLowering {
    /// Lowers one statement.
    fn statement(&mut self, statement: &ast::Statement) -> Result<bc::Statement>
    where
        Self: LowerDml + LowerDdl,
    {
        if let Some(lowered) = self.dialect_statement(statement) {
            return lowered;
        }
        use ast::Statement as S;
        match statement {
            S::Query(query) => Ok(bc::Statement::Query(Box::new(self.query(query)?))),
            S::Insert(insert) => self.insert(insert),
            S::Update(update) => self.update(update),
            S::Delete(delete) => self.delete(delete),
            S::CreateTable(create) => self.create_table(create),
            S::CreateIndex(create) => self.create_index(create),
            S::Drop {
                object_type,
                if_exists,
                names,
                cascade,
                restrict,
                purge,
                temporary,
                table,
            } => {
                reject(*purge, "DROP … PURGE")?;
                reject(*temporary, "DROP TEMPORARY")?;
                reject(table.is_some(), "DROP INDEX … ON table")?;
                self.drop(*object_type, *if_exists, names, *cascade, *restrict)
            }
            S::CreateDatabase { .. } => create_database::<Self>(statement),
            S::StartTransaction {
                modes,
                begin: _,
                transaction,
                modifier,
                statements,
                exception,
                has_end_keyword,
            } => {
                reject(
                    matches!(transaction, Some(ast::BeginTransactionKind::Tran)),
                    "BEGIN TRAN",
                )?;
                reject(modifier.is_some(), "transaction modifiers")?;
                reject(
                    !statements.is_empty() || exception.is_some() || *has_end_keyword,
                    "BEGIN … END blocks",
                )?;
                Ok(bc::Statement::Begin(transaction_mode(modes)?))
            }
            S::Commit {
                chain,
                end: _,
                modifier,
            } => {
                reject(*chain, "COMMIT AND CHAIN")?;
                reject(modifier.is_some(), "transaction modifiers")?;
                Ok(bc::Statement::Commit)
            }
            S::Rollback { chain, savepoint } => {
                reject(*chain, "ROLLBACK AND CHAIN")?;
                reject(savepoint.is_some(), "ROLLBACK TO SAVEPOINT")?;
                Ok(bc::Statement::Rollback)
            }
            S::Explain {
                describe_alias,
                analyze,
                verbose,
                query_plan,
                estimate,
                statement,
                format,
                options,
            } => {
                reject(
                    !matches!(describe_alias, ast::DescribeAlias::Explain),
                    "DESCRIBE",
                )?;
                reject(*verbose, "EXPLAIN VERBOSE")?;
                reject(*query_plan, "EXPLAIN QUERY PLAN")?;
                reject(*estimate, "EXPLAIN ESTIMATE")?;
                reject(format.is_some(), "EXPLAIN FORMAT")?;
                let mut analyze = *analyze;
                for option in options.iter().flatten() {
                    analyze = explain_option(option, analyze)?;
                }
                let statement = Box::new(self.nested(|l| l.statement(statement))?);
                Ok(bc::Statement::Explain { analyze, statement })
            }
            S::Prepare {
                name,
                data_types,
                statement,
            } => {
                let param_types = data_types
                    .iter()
                    .map(Self::data_type)
                    .collect::<Result<Vec<_>>>()?;
                // `$n` inside the body are the prepared statement's parameters, not this
                // statement's.
                let outer = std::mem::take(self.max_param_mut());
                let statement = self.nested(|l| l.statement(statement));
                *self.max_param_mut() = outer;
                Ok(bc::Statement::Prepare {
                    name: Self::ident(name),
                    param_types,
                    statement: Box::new(statement?),
                })
            }
            S::Execute {
                name,
                parameters,
                has_parentheses: _,
                immediate,
                into,
                using,
                output,
                default,
            } => {
                reject(*immediate, "EXECUTE IMMEDIATE")?;
                reject(!into.is_empty(), "EXECUTE … INTO")?;
                reject(!using.is_empty(), "EXECUTE … USING")?;
                reject(*output || *default, "EXECUTE OUTPUT/DEFAULT")?;
                let Some(name) = name else {
                    return Err(unsupported("EXECUTE of a dynamic expression"));
                };
                let name = Self::single_ident(name, "prepared statement name")?;
                let args = parameters
                    .iter()
                    .map(|e| self.expr(e))
                    .collect::<Result<Vec<_>>>()?;
                Ok(bc::Statement::Execute { name, args })
            }
            S::Deallocate { name, prepare: _ } => Ok(bc::Statement::Deallocate {
                name: (!is_word(name, "all")).then(|| Self::ident(name)),
            }),
            S::Set(set) => self.set(set),
            other => Err(Self::unsupported_statement(other)),
        }
    }
}

impl<T: DialectLowering> LowerStatement for T {}

/// `CREATE DATABASE name [IF NOT EXISTS]`; every other option is refused.
pub fn create_database<D: DialectLowering>(statement: &ast::Statement) -> Result<bc::Statement> {
    let ast::Statement::CreateDatabase {
        db_name,
        if_not_exists,
        location,
        managed_location,
        or_replace,
        transient,
        clone,
        data_retention_time_in_days,
        max_data_extension_time_in_days,
        external_volume,
        catalog,
        replace_invalid_characters,
        default_ddl_collation,
        storage_serialization_policy,
        comment,
        default_charset,
        default_collation,
        catalog_sync,
        catalog_sync_namespace_mode,
        catalog_sync_namespace_flatten_delimiter,
        with_tags,
        with_contacts,
    } = statement
    else {
        return Err(unsupported("this statement"));
    };
    reject(*or_replace, "CREATE OR REPLACE DATABASE")?;
    reject(*transient, "CREATE TRANSIENT DATABASE")?;
    reject(
        location.is_some()
            || managed_location.is_some()
            || clone.is_some()
            || data_retention_time_in_days.is_some()
            || max_data_extension_time_in_days.is_some()
            || external_volume.is_some()
            || catalog.is_some()
            || replace_invalid_characters.is_some()
            || default_ddl_collation.is_some()
            || storage_serialization_policy.is_some()
            || comment.is_some()
            || default_charset.is_some()
            || default_collation.is_some()
            || catalog_sync.is_some()
            || catalog_sync_namespace_mode.is_some()
            || catalog_sync_namespace_flatten_delimiter.is_some()
            || with_tags.is_some()
            || with_contacts.is_some(),
        "CREATE DATABASE options",
    )?;
    Ok(bc::Statement::CreateDatabase {
        name: D::single_ident(db_name, "database name")?,
        if_not_exists: *if_not_exists,
    })
}

/// Lowers the modes of `BEGIN` / `SET TRANSACTION` (a later mode of one kind wins).
pub fn transaction_mode(modes: &[ast::TransactionMode]) -> Result<TransactionMode> {
    let mut mode = TransactionMode::default();
    for m in modes {
        match m {
            ast::TransactionMode::AccessMode(access) => {
                mode.read_only = Some(matches!(access, ast::TransactionAccessMode::ReadOnly));
            }
            ast::TransactionMode::IsolationLevel(level) => {
                mode.isolation = Some(isolation_level(level)?);
            }
        }
    }
    Ok(mode)
}

fn isolation_level(level: &ast::TransactionIsolationLevel) -> Result<IsolationLevel> {
    use ast::TransactionIsolationLevel as L;
    Ok(match level {
        L::ReadUncommitted => IsolationLevel::ReadUncommitted,
        L::ReadCommitted => IsolationLevel::ReadCommitted,
        L::RepeatableRead => IsolationLevel::RepeatableRead,
        L::Serializable => IsolationLevel::Serializable,
        L::Snapshot => return Err(unsupported("ISOLATION LEVEL SNAPSHOT")),
    })
}

/// `SET SESSION CHARACTERISTICS AS TRANSACTION mode` sets the session's defaults, which
/// PostgreSQL defines as `SET default_transaction_isolation` /
/// `SET default_transaction_read_only`; one mode compiles to that exact setting (the
/// bytecode's `SetTransaction` affects the current transaction only).
pub fn session_characteristics(modes: &[ast::TransactionMode]) -> Result<bc::Statement> {
    let [mode] = modes else {
        return Err(unsupported(
            "SET SESSION CHARACTERISTICS with more than one transaction mode",
        ));
    };
    let (name, value) = match mode {
        ast::TransactionMode::AccessMode(access) => (
            "default_transaction_read_only",
            match access {
                ast::TransactionAccessMode::ReadOnly => "on",
                ast::TransactionAccessMode::ReadWrite => "off",
            },
        ),
        ast::TransactionMode::IsolationLevel(level) => (
            "default_transaction_isolation",
            match isolation_level(level)? {
                IsolationLevel::ReadUncommitted => "read uncommitted",
                IsolationLevel::ReadCommitted => "read committed",
                IsolationLevel::RepeatableRead => "repeatable read",
                IsolationLevel::Serializable => "serializable",
            },
        ),
    };
    Ok(bc::Statement::SetVariable {
        name: name.into(),
        values: vec![bc::Expr::Literal(bc::Literal::String(value.into()))],
        local: false,
    })
}

/// `EXPLAIN (option [value], …)`: only `ANALYZE [boolean]` is understood.
pub fn explain_option(option: &ast::UtilityOption, analyze: bool) -> Result<bool> {
    let ast::UtilityOption { name, arg } = option;
    if !is_word(name, "analyze") {
        return Err(unsupported(format!("EXPLAIN option {}", name.value)));
    }
    let on = match arg {
        None => true,
        Some(ast::Expr::Value(v)) => match &v.value {
            ast::Value::Boolean(b) => *b,
            ast::Value::Number(n, _) if n == "1" || n == "0" => n == "1",
            ast::Value::SingleQuotedString(s) => boolean_word(s)?,
            _ => return Err(unsupported("this EXPLAIN ANALYZE value")),
        },
        Some(ast::Expr::Identifier(id)) => boolean_word(&id.value)?,
        Some(_) => return Err(unsupported("this EXPLAIN ANALYZE value")),
    };
    Ok(on || analyze)
}

fn boolean_word(word: &str) -> Result<bool> {
    match word.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(unsupported(format!("EXPLAIN ANALYZE value {word}"))),
    }
}
