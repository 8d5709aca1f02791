//! Lowering of the statements the front dispatcher recognised: Firebird's sequences
//! and generators, `UPDATE OR INSERT`, `RECREATE TABLE`, `SET TRANSACTION` and
//! `COMMIT`/`ROLLBACK [RETAIN]`. Statements `sqlparser` parsed go to the shared
//! [`LowerStatement`].

use rosetta_bytecode::{self as bc, CompileError, IsolationLevel, TransactionMode};
use rosetta_sql_lower::{DialectLowering, LowerExpr, LowerQuery, LowerStatement};

use super::{ident, unsupported, Lowerer, Result};
use crate::front::{FbIsolation, Parsed, TransactionOptions, UpdateOrInsert};

/// Column qualifier that names the proposed row in an upsert's assignments.
const EXCLUDED: &str = "excluded";

impl Lowerer {
    /// Lowers one parsed statement into the statements to run, in order.
    pub(crate) fn parsed(&mut self, parsed: &Parsed) -> Result<Vec<bc::Statement>> {
        Ok(match parsed {
            Parsed::Sql(statement) => vec![self.statement(statement)?],
            Parsed::UpdateOrInsert(u) => vec![self.update_or_insert(u)?],
            Parsed::Recreate(create) => {
                let created = self.statement(create)?;
                let bc::Statement::CreateTable(table) = &created else {
                    return Err(unsupported("RECREATE of anything but a table"));
                };
                if table.if_not_exists {
                    return Err(CompileError::syntax(
                        "RECREATE TABLE takes no IF NOT EXISTS",
                    ));
                }
                let drop = bc::Statement::DropTable {
                    names: vec![table.name.clone()],
                    if_exists: true,
                    cascade: false,
                };
                vec![drop, created]
            }
            Parsed::CreateSequence {
                name,
                start,
                increment,
            } => {
                let increment = nonzero_increment(*increment)?;
                // Firebird 3: START WITH n sets the *current* value; the first
                // NEXT VALUE FOR returns n + increment.
                let first = start
                    .unwrap_or(0)
                    .checked_add(increment)
                    .ok_or_else(out_of_range)?;
                vec![bc::Statement::CreateSequence(Box::new(
                    bc::CreateSequence {
                        name: Self::object_name(name)?,
                        if_not_exists: false,
                        first,
                        increment,
                    },
                ))]
            }
            Parsed::DropSequence { name } => vec![bc::Statement::DropSequence {
                names: vec![Self::object_name(name)?],
                if_exists: false,
            }],
            Parsed::AlterSequence {
                name,
                restart,
                increment,
            } => {
                let step = match increment {
                    Some(_) => Some(nonzero_increment(*increment)?),
                    None => None,
                };
                let name = Self::object_name(name)?;
                // A new increment is DDL (transactional, like the rest of the catalog).
                let mut out = Vec::new();
                if step.is_some() {
                    out.push(bc::Statement::AlterSequence {
                        name: name.clone(),
                        restart: None,
                        increment: step,
                    });
                }
                // RESTART WITH n / SET GENERATOR TO n set the current value at once, for
                // every transaction, and survive a rollback (generators are outside
                // transactions in Firebird): `setval(name, n)`, after which the next
                // value is n + increment.
                if let Some(value) = restart {
                    out.push(set_generator(&name, *value)?);
                }
                out
            }
            Parsed::SetTransaction(options) => {
                vec![bc::Statement::Begin(transaction_mode(options)?)]
            }
            Parsed::Commit { retain } => retained(bc::Statement::Commit, *retain),
            Parsed::Rollback { retain } => retained(bc::Statement::Rollback, *retain),
            Parsed::Refused(error) => return Err(error.clone()),
        })
    }

    /// `UPDATE OR INSERT`: an insert whose conflicting row (equal on the `MATCHING`
    /// columns, or on the primary key when there is no `MATCHING`) is updated instead,
    /// every other given column taking the proposed value.
    fn update_or_insert(&mut self, u: &UpdateOrInsert) -> Result<bc::Statement> {
        let UpdateOrInsert {
            table,
            columns,
            values,
            matching,
            returning,
        } = u;
        if columns.is_empty() {
            return Err(unsupported(
                "UPDATE OR INSERT without a column list (name the columns)",
            ));
        }
        if columns.len() != values.len() {
            return Err(CompileError::syntax(
                "Dynamic SQL Error: count of column list and value list don't match",
            ));
        }
        let columns: Vec<bc::Ident> = columns.iter().map(ident).collect();
        let match_columns: Vec<bc::Ident> = matching.iter().map(ident).collect();
        for m in &match_columns {
            if !columns.contains(m) {
                return Err(CompileError::syntax(format!(
                    "Dynamic SQL Error: MATCHING column {} is not in the column list",
                    m.value
                )));
            }
        }
        let row = values
            .iter()
            .map(|v| self.value_or_default(v))
            .collect::<Result<Vec<_>>>()?;
        let assignments = columns
            .iter()
            .filter(|c| !match_columns.contains(c))
            .map(|c| bc::Assignment {
                column: c.clone(),
                value: bc::Expr::Column(vec![bc::Ident::new(EXCLUDED), c.clone()]),
            })
            .collect();
        let returning = self.select_items(returning)?;
        Ok(bc::Statement::Insert(Box::new(bc::Insert {
            table: Self::object_name(table)?,
            columns,
            source: bc::InsertSource::Values(vec![row]),
            returning,
            upsert: Some(bc::Upsert {
                match_columns,
                action: bc::UpsertAction::Update {
                    assignments,
                    filter: None,
                },
            }),
        })))
    }
}

/// `COMMIT/ROLLBACK RETAIN`: end the transaction and start the next one at once. The
/// `Begin` carries no options: the gateway starts it with the options of the
/// transaction that ended (it knows them from the TPB or `SET TRANSACTION`).
fn retained(end: bc::Statement, retain: bool) -> Vec<bc::Statement> {
    if retain {
        vec![end, bc::Statement::Begin(TransactionMode::default())]
    } else {
        vec![end]
    }
}

/// `SELECT setval('NAME', value)`: the engine's immediate, non-transactional counter
/// set. The Firebird gateway recognises this shape and reports it as DDL.
fn set_generator(name: &bc::ObjectName, value: i64) -> Result<bc::Statement> {
    if name.iter().any(|part| part.value.contains('.')) {
        return Err(unsupported("a generator name containing '.'"));
    }
    let text = name
        .iter()
        .map(|part| part.value.as_str())
        .collect::<Vec<_>>()
        .join(".");
    let call = bc::Expr::Function(bc::Function {
        namespace: rosetta_sql_lower::STD.into(),
        name: "setval".into(),
        args: vec![
            bc::Expr::Literal(bc::Literal::String(text)),
            bc::Expr::Literal(bc::Literal::Integer(value)),
        ],
        distinct: false,
        star: false,
    });
    Ok(bc::Statement::Query(Box::new(bc::Query {
        with: Vec::new(),
        body: bc::SetExpr::Select(Box::new(bc::Select {
            distinct: false,
            projection: vec![bc::SelectItem::Expr {
                expr: call,
                alias: None,
            }],
            from: Vec::new(),
            filter: None,
            group_by: Vec::new(),
            having: None,
        })),
        order_by: Vec::new(),
        limit: None,
        offset: None,
    })))
}

fn out_of_range() -> CompileError {
    CompileError {
        sqlstate: "22003".into(),
        message: "arithmetic exception, numeric overflow, or string truncation".into(),
        position: None,
    }
}

fn nonzero_increment(increment: Option<i64>) -> Result<i64> {
    match increment.unwrap_or(1) {
        0 => Err(CompileError::syntax(
            "Dynamic SQL Error: INCREMENT BY 0 is not allowed",
        )),
        n => Ok(n),
    }
}

/// `SET TRANSACTION` options with Firebird's defaults made explicit: READ WRITE, WAIT,
/// SNAPSHOT. Snapshot → repeatable read (snapshot isolation), read committed → read
/// committed, snapshot table stability → serializable.
fn transaction_mode(o: &TransactionOptions) -> Result<TransactionMode> {
    let wait = o.wait.unwrap_or(true);
    let lock_timeout_ms = match o.lock_timeout {
        None => None,
        Some(_) if !wait => {
            return Err(CompileError::syntax(
                "Dynamic SQL Error: LOCK TIMEOUT cannot be used with NO WAIT",
            ))
        }
        Some(seconds) => Some(
            u32::try_from(seconds)
                .ok()
                .and_then(|s| s.checked_mul(1000))
                .ok_or_else(|| {
                    CompileError::syntax(format!(
                        "Dynamic SQL Error: LOCK TIMEOUT {seconds} is out of range"
                    ))
                })?,
        ),
    };
    Ok(TransactionMode {
        isolation: Some(match o.isolation.unwrap_or(FbIsolation::Snapshot) {
            FbIsolation::Snapshot => IsolationLevel::RepeatableRead,
            FbIsolation::ReadCommitted => IsolationLevel::ReadCommitted,
            FbIsolation::TableStability => IsolationLevel::Serializable,
        }),
        read_only: Some(o.read_only.unwrap_or(false)),
        wait: Some(wait),
        lock_timeout_ms,
    })
}
