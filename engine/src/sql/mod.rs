//! SQL execution: the life of a statement inside the engine.
//!
//! ```text
//!  bytecode Program ──bind (bind.rs, in the txn)──▶ Plan / WritePlan ──run (exec.rs,
//!  write.rs)──▶ rows + command tag
//! ```
//!
//! Transaction control (BEGIN/COMMIT/…) and session settings are handled by the session
//! ([`crate::session`]); everything that touches data or the catalog comes through
//! [`execute`] with the transaction it must run in.

pub mod bind;
mod ddl;
pub mod exec;
pub mod expr;
pub mod functions;
pub mod maint;
pub mod plan;
pub mod write;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod view_tests;

use rosetta_bytecode::{self as bc, DataType};
use rosetta_types::Value;

use crate::catalog::DatabaseDef;
use crate::error::{Error, Result};
use crate::mvcc::Txn;
use bind::{Binder, OutCol};
use exec::{ExecCtx, Row};

/// Services a statement may need beyond its transaction.
pub struct Env<'a> {
    pub database: &'a DatabaseDef,
    pub user: &'a str,
    pub semantics: &'a bc::Semantics,
    pub cancel: &'a std::sync::atomic::AtomicBool,
    pub ids: &'a crate::catalog::IdAllocator,
}

/// The result of one statement.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Result columns, for statements that return rows.
    pub columns: Option<Vec<OutCol>>,
    pub rows: Vec<Row>,
    /// PostgreSQL-style command tag.
    pub tag: String,
    pub affected: u64,
    pub notices: Vec<String>,
}

/// The shape of a statement's result, computed without running it (prepare / Describe).
pub fn describe(
    stmt: &bc::Statement,
    txn: &Txn,
    env: &Env,
    params: Vec<Option<DataType>>,
) -> Result<(Vec<DataType>, Option<Vec<OutCol>>)> {
    let mut b = Binder::new(txn, env.database, params);
    let cols = match stmt {
        bc::Statement::Query(q) => Some(b.query(q)?.1),
        bc::Statement::Insert(i) => {
            let w = write::bind_insert(&mut b, i)?;
            (!w.returning.is_empty()).then_some(w.returning_cols)
        }
        bc::Statement::Update(u) => {
            let w = write::bind_update(&mut b, u)?;
            (!w.returning.is_empty()).then_some(w.returning_cols)
        }
        bc::Statement::Delete(d) => {
            let w = write::bind_delete(&mut b, d)?;
            (!w.returning.is_empty()).then_some(w.returning_cols)
        }
        bc::Statement::Explain { .. } => Some(vec![explain_col()]),
        bc::Statement::ShowVariable { name } => Some(vec![OutCol {
            name: name.clone(),
            ty: DataType::Text,
            table_id: 0,
            colno: 0,
        }]),
        _ => None,
    };
    Ok((b.param_types(), cols))
}

fn explain_col() -> OutCol {
    OutCol {
        name: "QUERY PLAN".into(),
        ty: DataType::Text,
        table_id: 0,
        colno: 0,
    }
}

/// Runs a data or catalog statement inside `txn`.
pub fn execute(
    program: &bc::Program,
    stmt: &bc::Statement,
    txn: &mut Txn,
    env: &Env,
    params: &[Value],
    param_types: Vec<Option<DataType>>,
) -> Result<Outcome> {
    let params = cast_params(params, &param_types)?;
    match stmt {
        bc::Statement::Query(q) => {
            let mut b = Binder::new(txn, env.database, param_types);
            let (plan, cols) = b.query(q)?;
            let ctx = ExecCtx::new(
                txn,
                &params,
                env.semantics,
                env.database,
                env.user,
                env.cancel,
            );
            let rows = exec::run(&plan, &ctx)?;
            Ok(Outcome {
                tag: format!("SELECT {}", rows.len()),
                affected: rows.len() as u64,
                columns: Some(cols),
                rows,
                notices: vec![],
            })
        }
        bc::Statement::Insert(_) | bc::Statement::Update(_) | bc::Statement::Delete(_) => {
            let wp = {
                let mut b = Binder::new(txn, env.database, param_types);
                match stmt {
                    bc::Statement::Insert(i) => write::bind_insert(&mut b, i)?,
                    bc::Statement::Update(u) => write::bind_update(&mut b, u)?,
                    bc::Statement::Delete(d) => write::bind_delete(&mut b, d)?,
                    _ => return Err(Error::Internal("unreachable write kind".into())),
                }
            };
            let cp = write::CtxParams {
                params: &params,
                semantics: env.semantics,
                database: env.database,
                user: env.user,
                cancel: env.cancel,
            };
            let (n, rows) = write::run_write(&wp, txn, cp)?;
            let tag = match stmt {
                bc::Statement::Insert(_) => format!("INSERT 0 {n}"),
                bc::Statement::Update(_) => format!("UPDATE {n}"),
                _ => format!("DELETE {n}"),
            };
            Ok(Outcome {
                columns: (!wp.returning.is_empty()).then_some(wp.returning_cols),
                rows,
                tag,
                affected: n,
                notices: vec![],
            })
        }
        bc::Statement::Explain { analyze, statement } => {
            if *analyze {
                return Err(Error::Unsupported("EXPLAIN ANALYZE".into()));
            }
            let mut lines = vec![format!(
                "Bytecode v{} ({:?}):",
                program.version, program.dialect
            )];
            for l in format!("{statement:#?}").lines() {
                lines.push(format!("  {l}"));
            }
            lines.push("Plan:".into());
            let mut b = Binder::new(txn, env.database, param_types);
            let plan_lines = match statement.as_ref() {
                bc::Statement::Query(q) => b.query(q)?.0.explain(),
                bc::Statement::Update(u) => explain_write(&write::bind_update(&mut b, u)?),
                bc::Statement::Delete(d) => explain_write(&write::bind_delete(&mut b, d)?),
                bc::Statement::Insert(i) => explain_write(&write::bind_insert(&mut b, i)?),
                _ => vec!["(utility statement)".into()],
            };
            lines.extend(plan_lines.into_iter().map(|l| format!("  {l}")));
            let rows: Vec<Row> = lines.into_iter().map(|l| vec![Value::Text(l)]).collect();
            Ok(Outcome {
                columns: Some(vec![explain_col()]),
                tag: "EXPLAIN".into(),
                affected: rows.len() as u64,
                rows,
                notices: vec![],
            })
        }
        bc::Statement::Truncate { names } => maint::truncate(names, txn, env),
        bc::Statement::AddPrimaryKey {
            table,
            name,
            columns,
        } => maint::add_primary_key(table, name.as_ref(), columns, txn, env),
        other => ddl::execute(other, txn, env),
    }
}

fn explain_write(w: &write::WritePlan) -> Vec<String> {
    use write::WriteKind;
    let mut out = Vec::new();
    match &w.kind {
        WriteKind::Insert { .. } => out.push(format!("Insert on {}", w.table.name)),
        WriteKind::Update { access, filter, .. } | WriteKind::Delete { access, filter } => {
            let verb = if matches!(w.kind, WriteKind::Update { .. }) {
                "Update"
            } else {
                "Delete"
            };
            out.push(format!("{verb} on {}", w.table.name));
            let scan = plan::Plan::Scan {
                table: w.table.clone(),
                access: access.clone(),
                filter: filter.clone(),
            };
            out.extend(scan.explain().into_iter().map(|l| format!("  {l}")));
        }
    }
    out
}

/// Casts parameter values to the statement's parameter types.
fn cast_params(params: &[Value], types: &[Option<DataType>]) -> Result<Vec<Value>> {
    params
        .iter()
        .enumerate()
        .map(|(i, v)| match types.get(i).copied().flatten() {
            Some(t) if !v.is_null() && v.data_type() != Some(t) => Ok(rosetta_types::cast::cast(
                v,
                &t,
                rosetta_types::cast::CastMode::Explicit,
            )?),
            _ => Ok(v.clone()),
        })
        .collect()
}
