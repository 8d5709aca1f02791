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
pub mod rdb;
pub mod sequence;
mod sequence_ddl;
mod upsert;
pub mod write;

#[cfg(test)]
mod feature_tests;
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
    /// The session's `LAST_INSERT_ID()`, which statements read and set.
    pub last_insert_id: &'a std::sync::atomic::AtomicU64,
    /// The session's id (MySQL's `CONNECTION_ID()`, the id KILL takes).
    pub session_id: u32,
}

impl Env<'_> {
    /// The services expressions reach through their [`ExecCtx`].
    pub fn services(&self) -> sequence::Services<'_> {
        sequence::Services {
            sequences: &self.ids.sequences,
            last_insert_id: self.last_insert_id,
            session_id: self.session_id,
        }
    }
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
    /// The first value an AUTO_INCREMENT column took in this statement (0 if none).
    pub last_insert_id: u64,
}

/// The shape of a statement's result, computed without running it (prepare / Describe).
pub fn describe(
    stmt: &bc::Statement,
    txn: &Txn,
    env: &Env,
    params: Vec<Option<DataType>>,
) -> Result<(Vec<DataType>, Option<Vec<OutCol>>)> {
    let mut b =
        Binder::new(txn, env.database, params).sized_strings(env.semantics.sized_string_results);
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
    match stmt {
        bc::Statement::Query(_)
        | bc::Statement::Insert(_)
        | bc::Statement::Update(_)
        | bc::Statement::Delete(_) => {
            let bound = bind_statement(stmt, txn, env, param_types.clone())?;
            run_bound(&bound, txn, env, params, &param_types)
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
                ..Default::default()
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

/// A query or data-changing statement bound to the catalog: what a prepared statement
/// keeps between executions (see [`crate::session`]'s plan cache), since binding —
/// name resolution through the catalog, type checking, access-path choice — costs more
/// than running a point query.
pub enum BoundStatement {
    Query {
        plan: plan::Plan,
        columns: Vec<OutCol>,
    },
    Write {
        plan: write::WritePlan,
        /// `INSERT`, `UPDATE` or `DELETE`, for the command tag.
        verb: &'static str,
    },
}

impl BoundStatement {
    /// Names and types of the result columns (empty for a write without RETURNING).
    pub fn result_shape(&self) -> Vec<(&str, DataType)> {
        let cols = match self {
            BoundStatement::Query { columns, .. } => columns,
            BoundStatement::Write { plan, .. } => &plan.returning_cols,
        };
        cols.iter().map(|c| (c.name.as_str(), c.ty)).collect()
    }
}

/// Whether [`bind_statement`] handles a statement (and so whether it can be cached).
pub fn is_bindable(stmt: &bc::Statement) -> bool {
    matches!(
        stmt,
        bc::Statement::Query(_)
            | bc::Statement::Insert(_)
            | bc::Statement::Update(_)
            | bc::Statement::Delete(_)
    )
}

/// Binds a query or a data-changing statement in `txn`'s view of the catalog.
pub fn bind_statement(
    stmt: &bc::Statement,
    txn: &Txn,
    env: &Env,
    param_types: Vec<Option<DataType>>,
) -> Result<BoundStatement> {
    let mut b = Binder::new(txn, env.database, param_types)
        .sized_strings(env.semantics.sized_string_results);
    Ok(match stmt {
        bc::Statement::Query(q) => {
            let (plan, columns) = b.query(q)?;
            BoundStatement::Query { plan, columns }
        }
        bc::Statement::Insert(i) => BoundStatement::Write {
            plan: write::bind_insert(&mut b, i)?,
            verb: "INSERT",
        },
        bc::Statement::Update(u) => BoundStatement::Write {
            plan: write::bind_update(&mut b, u)?,
            verb: "UPDATE",
        },
        bc::Statement::Delete(d) => BoundStatement::Write {
            plan: write::bind_delete(&mut b, d)?,
            verb: "DELETE",
        },
        _ => return Err(Error::Internal("statement cannot be bound ahead".into())),
    })
}

/// Runs a bound statement with one set of parameter values.
pub fn run_bound(
    bound: &BoundStatement,
    txn: &mut Txn,
    env: &Env,
    params: &[Value],
    param_types: &[Option<DataType>],
) -> Result<Outcome> {
    let params = cast_params(params, param_types)?;
    match bound {
        BoundStatement::Query { plan, columns } => {
            let mut ctx = ExecCtx::new(
                txn,
                &params,
                env.semantics,
                env.database,
                env.user,
                env.cancel,
            );
            ctx.services = Some(env.services());
            let rows = exec::run(plan, &ctx)?;
            Ok(Outcome {
                tag: format!("SELECT {}", rows.len()),
                affected: rows.len() as u64,
                columns: Some(columns.clone()),
                rows,
                ..Default::default()
            })
        }
        BoundStatement::Write { plan, verb } => {
            let cp = write::CtxParams {
                params: &params,
                semantics: env.semantics,
                database: env.database,
                user: env.user,
                cancel: env.cancel,
                services: env.services(),
            };
            let (n, rows, generated) = write::run_write(plan, txn, cp)?;
            if generated != 0 {
                env.last_insert_id
                    .store(generated, std::sync::atomic::Ordering::Relaxed);
            }
            let tag = match *verb {
                "INSERT" => format!("INSERT 0 {n}"),
                v => format!("{v} {n}"),
            };
            Ok(Outcome {
                columns: (!plan.returning.is_empty()).then(|| plan.returning_cols.clone()),
                rows,
                tag,
                affected: n,
                notices: vec![],
                last_insert_id: generated,
            })
        }
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
