//! One client session: its transaction state machine, prepared statements and settings.
//!
//! ```text
//!            BEGIN                 error
//!   Idle ───────────▶ InBlock ───────────▶ Failed
//!    ▲  ◀─COMMIT/ROLLBACK─┘                  │ (everything but ROLLBACK/COMMIT → 25P02)
//!    └──────────── ROLLBACK / COMMIT ────────┘
//! ```
//! Outside a block every statement runs in its own transaction (autocommit).
//!
//! A statement that meets a row committed by someone else after its snapshot (after
//! waiting for that writer's lock) is *restarted* on a fresh snapshot when that is
//! invisible to the client: in autocommit and under READ COMMITTED, as PostgreSQL
//! re-evaluates such rows. Under snapshot isolation it fails with 40001.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use rosetta_bytecode::{self as bc, DataType, IsolationLevel, Limits};
use rosetta_proto::{Column, Completion, EngineError, PreparedInfo, Response, TxnState};
use rosetta_types::Value;

use crate::catalog::{Catalog, DatabaseDef};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::locks::WaitPolicy;
use crate::mvcc::Txn;
use crate::sql::{self, bind::OutCol, Env, Outcome};

/// What a failed statement inside a block leaves behind, for dialects whose statements
/// fail alone (see [`bc::Semantics::statement_errors_keep_transaction`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterError {
    /// The statement was undone; the transaction goes on.
    KeepTransaction,
    /// The whole transaction was rolled back (a deadlock victim, as in InnoDB).
    RolledBack,
}

struct Prepared {
    program: Arc<bc::Program>,
    param_types: Vec<Option<DataType>>,
    /// The statement as last bound, reused while the catalog has not changed.
    plan: Option<CachedPlan>,
}

/// A bound statement and the catalog version it was bound against.
struct CachedPlan {
    /// [`crate::mvcc::Mvcc::catalog_seq`] when it was bound.
    catalog_seq: u64,
    bound: Arc<sql::BoundStatement>,
}

/// A session's state.
pub struct Session {
    engine: Arc<Engine>,
    pub id: u32,
    pub secret: u32,
    pub cancel: Arc<AtomicBool>,
    user: String,
    database: DatabaseDef,
    txn: Option<Txn>,
    in_block: bool,
    failed: bool,
    isolation: IsolationLevel,
    block_isolation: IsolationLevel,
    /// Lock-wait options of the open block (`BEGIN`/`SET TRANSACTION` with WAIT, NO WAIT,
    /// LOCK TIMEOUT).
    block_wait: bc::TransactionMode,
    dialect: bc::Dialect,
    /// The plan cache slot of the prepared statement being executed (outer `None`: not
    /// executing a prepared statement).
    plan_slot: Option<Option<CachedPlan>>,
    /// What the last failed statement did to the open block, when not the default
    /// (failing it until ROLLBACK).
    after_error: Option<AfterError>,
    prepared: HashMap<u64, Prepared>,
    sql_prepared: HashMap<String, Prepared>,
    next_handle: u64,
    settings: HashMap<String, String>,
    /// MySQL's `LAST_INSERT_ID()` (see [`sql::Env::last_insert_id`]).
    last_insert_id: std::sync::atomic::AtomicU64,
}

impl Session {
    /// Opens a session for `user` on `database` (3D000 if it does not exist). The
    /// default isolation is the dialect's reference server's: READ COMMITTED for
    /// PostgreSQL, snapshot (REPEATABLE READ) for MySQL and Firebird.
    pub fn open(
        engine: Arc<Engine>,
        user: &str,
        database: &str,
        dialect: bc::Dialect,
    ) -> Result<Self> {
        let db = Self::find_database(&engine, database)?;
        let (id, secret, cancel) = engine.register_session(user);
        let isolation = default_isolation(dialect);
        Ok(Self {
            engine,
            id,
            secret,
            cancel,
            user: user.to_string(),
            database: db,
            txn: None,
            in_block: false,
            failed: false,
            isolation,
            block_isolation: isolation,
            block_wait: bc::TransactionMode::default(),
            dialect,
            plan_slot: None,
            after_error: None,
            prepared: HashMap::new(),
            sql_prepared: HashMap::new(),
            next_handle: 1,
            settings: HashMap::new(),
            last_insert_id: Default::default(),
        })
    }

    fn find_database(engine: &Arc<Engine>, name: &str) -> Result<DatabaseDef> {
        let txn = engine.mvcc.begin();
        Catalog::new(&txn)
            .database(name)?
            .ok_or_else(|| Error::UndefinedDatabase(name.to_string()))
    }

    /// Returns the session to the state of a fresh one (MySQL COM_RESET_CONNECTION /
    /// COM_CHANGE_USER): rolls back, forgets prepared statements and settings, and
    /// switches user and/or database when given. On error (unknown database) the session
    /// keeps its user and database.
    pub fn reset(&mut self, user: Option<&str>, database: Option<&str>) -> Result<()> {
        if let Some(t) = self.txn.take() {
            t.rollback();
        }
        self.in_block = false;
        self.failed = false;
        self.prepared.clear();
        self.sql_prepared.clear();
        self.settings.clear();
        self.last_insert_id
            .store(0, std::sync::atomic::Ordering::Relaxed);
        self.isolation = default_isolation(self.dialect);
        self.block_isolation = self.isolation;
        self.block_wait = bc::TransactionMode::default();
        if let Some(db) = database {
            self.database = Self::find_database(&self.engine, db)?;
        }
        if let Some(u) = user {
            self.user = u.to_string();
            self.engine.set_session_user(self.id, u);
        }
        Ok(())
    }

    /// A transaction with this session's lock-wait policy.
    fn begin_txn(&self) -> Txn {
        let mut txn = self.engine.mvcc.begin();
        let mode = if self.in_block {
            &self.block_wait
        } else {
            &bc::TransactionMode::default()
        };
        let timeout_ms = mode.lock_timeout_ms.or_else(|| {
            self.settings
                .get("lock_timeout")
                .and_then(|v| parse_duration_ms(v))
                .filter(|&ms| ms > 0)
        });
        txn.set_wait_policy(WaitPolicy {
            no_wait: mode.wait == Some(false),
            timeout: timeout_ms.map(|ms| std::time::Duration::from_millis(u64::from(ms))),
            cancel: Some(self.cancel.clone()),
        });
        txn
    }

    /// The session's transaction state.
    pub fn state(&self) -> TxnState {
        match (self.in_block, self.failed) {
            (false, _) => TxnState::Idle,
            (true, false) => TxnState::InBlock,
            (true, true) => TxnState::Failed,
        }
    }

    fn error(&self, e: &Error) -> EngineError {
        EngineError {
            sqlstate: e.sqlstate().to_string(),
            message: e.to_string(),
            detail: e.detail(),
            hint: e.hint(),
            position: None,
            txn: self.state(),
            fatal: false,
        }
    }

    fn decode(&self, bytes: &[u8]) -> Result<bc::Program> {
        bc::decode(bytes, &Limits::default()).map_err(|e| Error::InvalidProgram(e.to_string()))
    }

    /// Runs a program; sends its responses through `out`.
    pub fn execute(&mut self, bytes: &[u8], params: &[Value], out: &mut dyn FnMut(Response)) {
        self.cancel
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let r = self
            .decode(bytes)
            .and_then(|p| self.run_program(&p, params, None));
        self.finish(r, out);
    }

    /// Prepares a program for repeated execution.
    pub fn prepare(&mut self, bytes: &[u8], declared: Vec<Option<DataType>>) -> Response {
        let r = self.decode(bytes).and_then(|program| {
            if self.failed && !is_txn_end(&program.statement) {
                return Err(Error::InFailedTransaction);
            }
            let mut params = declared.clone();
            params.resize(params.len().max(program.param_count as usize), None);
            let (types, cols) = self.describe(&program.statement, &program.semantics, params)?;
            let handle = self.next_handle;
            self.next_handle += 1;
            self.prepared.insert(
                handle,
                Prepared {
                    program: Arc::new(program),
                    param_types: types.iter().copied().map(Some).collect(),
                    plan: None,
                },
            );
            Ok(PreparedInfo {
                handle,
                param_types: types,
                columns: cols.map(to_columns).unwrap_or_default(),
                txn: self.state(),
            })
        });
        match r {
            Ok(p) => Response::Prepared(p),
            Err(e) => Response::Error(self.error(&e)),
        }
    }

    /// Runs a prepared statement.
    pub fn execute_prepared(
        &mut self,
        handle: u64,
        params: &[Value],
        out: &mut dyn FnMut(Response),
    ) {
        self.cancel
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let r = match self.prepared.get_mut(&handle) {
            Some(p) => {
                let program = p.program.clone();
                let types = p.param_types.clone();
                self.plan_slot = Some(p.plan.take());
                let r = self.run_program(&program, params, Some(types));
                if let (Some(slot), Some(p)) =
                    (self.plan_slot.take(), self.prepared.get_mut(&handle))
                {
                    p.plan = slot;
                }
                r
            }
            None => Err(Error::UndefinedPrepared(handle.to_string())),
        };
        self.finish(r, out);
    }

    /// Forgets a prepared statement.
    pub fn close_prepared(&mut self, handle: u64) {
        self.prepared.remove(&handle);
    }

    fn finish(&mut self, r: Result<Outcome>, out: &mut dyn FnMut(Response)) {
        if r.is_ok() {
            self.after_error = None;
        }
        match r {
            Ok(o) => {
                for n in o.notices {
                    out(Response::Notice { message: n });
                }
                if let Some(cols) = o.columns {
                    out(Response::Columns(to_columns(cols)));
                    for chunk in o.rows.chunks(256) {
                        out(Response::Rows(chunk.to_vec()));
                    }
                }
                out(Response::Complete(Completion {
                    tag: o.tag,
                    rows: o.affected,
                    txn: self.state(),
                    suspended: false,
                    last_insert_id: o.last_insert_id,
                }));
            }
            Err(e) => {
                match self.after_error.take() {
                    Some(AfterError::KeepTransaction) => {}
                    Some(AfterError::RolledBack) => {
                        self.in_block = false;
                        self.failed = false;
                    }
                    None if self.in_block => self.failed = true,
                    None => {
                        if let Some(t) = self.txn.take() {
                            t.rollback();
                        }
                    }
                }
                out(Response::Error(self.error(&e)));
            }
        }
    }

    fn describe(
        &mut self,
        stmt: &bc::Statement,
        semantics: &bc::Semantics,
        params: Vec<Option<DataType>>,
    ) -> Result<(Vec<DataType>, Option<Vec<OutCol>>)> {
        let owned;
        let txn = match &self.txn {
            Some(t) => t,
            None => {
                owned = self.engine.mvcc.begin();
                &owned
            }
        };
        let env = Env {
            database: &self.database,
            user: &self.user,
            semantics,
            cancel: &self.cancel,
            ids: &self.engine.ids,
            last_insert_id: &self.last_insert_id,
            session_id: self.id,
        };
        sql::describe(stmt, txn, &env, params)
    }

    fn run_program(
        &mut self,
        program: &bc::Program,
        params: &[Value],
        param_types: Option<Vec<Option<DataType>>>,
    ) -> Result<Outcome> {
        let stmt = &program.statement;
        if self.failed && !is_txn_end(stmt) {
            return Err(Error::InFailedTransaction);
        }
        let tag = |t: &str| {
            Ok(Outcome {
                tag: t.into(),
                ..Default::default()
            })
        };
        match stmt {
            bc::Statement::Empty => tag(""),
            bc::Statement::Begin(mode) => {
                if self.in_block {
                    return Ok(Outcome {
                        tag: "BEGIN".into(),
                        notices: vec!["there is already a transaction in progress".into()],
                        ..Default::default()
                    });
                }
                self.in_block = true;
                self.block_isolation = mode.isolation.unwrap_or(self.isolation);
                self.block_wait = mode.clone();
                self.txn = Some(self.begin_txn());
                tag("BEGIN")
            }
            bc::Statement::Commit => {
                if !self.in_block {
                    return Ok(Outcome {
                        tag: "COMMIT".into(),
                        notices: vec!["there is no transaction in progress".into()],
                        ..Default::default()
                    });
                }
                let failed = self.failed;
                self.in_block = false;
                self.failed = false;
                let txn = self.txn.take();
                if failed {
                    drop(txn);
                    return tag("ROLLBACK");
                }
                if let Some(t) = txn {
                    t.commit()?;
                }
                tag("COMMIT")
            }
            bc::Statement::Rollback => {
                if !self.in_block {
                    return Ok(Outcome {
                        tag: "ROLLBACK".into(),
                        notices: vec!["there is no transaction in progress".into()],
                        ..Default::default()
                    });
                }
                self.in_block = false;
                self.failed = false;
                if let Some(t) = self.txn.take() {
                    t.rollback();
                }
                tag("ROLLBACK")
            }
            bc::Statement::SetTransaction(mode) => {
                if let Some(i) = mode.isolation {
                    if self.in_block {
                        self.block_isolation = i;
                    } else {
                        self.isolation = i;
                    }
                }
                if self.in_block && (mode.wait.is_some() || mode.lock_timeout_ms.is_some()) {
                    self.block_wait.wait = mode.wait.or(self.block_wait.wait);
                    self.block_wait.lock_timeout_ms =
                        mode.lock_timeout_ms.or(self.block_wait.lock_timeout_ms);
                    if let Some(t) = self.txn.as_mut() {
                        let mut policy = WaitPolicy {
                            no_wait: self.block_wait.wait == Some(false),
                            timeout: None,
                            cancel: Some(self.cancel.clone()),
                        };
                        policy.timeout = self
                            .block_wait
                            .lock_timeout_ms
                            .map(|ms| std::time::Duration::from_millis(u64::from(ms)));
                        t.set_wait_policy(policy);
                    }
                }
                tag("SET")
            }
            bc::Statement::SetVariable { name, values, .. } => {
                let v: Vec<String> = values
                    .iter()
                    .map(|e| match e {
                        bc::Expr::Literal(bc::Literal::String(s)) => s.clone(),
                        bc::Expr::Literal(bc::Literal::Integer(i)) => i.to_string(),
                        bc::Expr::Literal(bc::Literal::Decimal(d)) => d.clone(),
                        bc::Expr::Literal(bc::Literal::Boolean(b)) => b.to_string(),
                        bc::Expr::Column(p) => p
                            .iter()
                            .map(|i| i.value.clone())
                            .collect::<Vec<_>>()
                            .join("."),
                        other => format!("{other:?}"),
                    })
                    .collect();
                let name = name.to_ascii_lowercase();
                if name == "transaction_isolation" || name == "default_transaction_isolation" {
                    if let Some(l) = v.first().and_then(|s| parse_isolation(s)) {
                        self.isolation = l;
                    }
                }
                self.settings.insert(name, v.join(", "));
                tag("SET")
            }
            bc::Statement::ShowVariable { name } => {
                let lname = name.to_ascii_lowercase();
                let value = match lname.as_str() {
                    "server_version" => crate::PG_SERVER_VERSION.to_string(),
                    "transaction_isolation" | "transaction isolation level" => {
                        isolation_name(if self.in_block {
                            self.block_isolation
                        } else {
                            self.isolation
                        })
                        .into()
                    }
                    "server_encoding" | "client_encoding" => "UTF8".into(),
                    "datestyle" => "ISO, MDY".into(),
                    "timezone" => "UTC".into(),
                    "standard_conforming_strings" => "on".into(),
                    "integer_datetimes" => "on".into(),
                    _ => match self.settings.get(&lname) {
                        Some(v) => v.clone(),
                        None => {
                            return Err(Error::InvalidParameter(format!(
                                "unrecognized configuration parameter \"{name}\""
                            )))
                        }
                    },
                };
                Ok(Outcome {
                    columns: Some(vec![OutCol {
                        name: lname,
                        ty: DataType::Text,
                        table_id: 0,
                        colno: 0,
                    }]),
                    rows: vec![vec![Value::Text(value)]],
                    tag: "SHOW".into(),
                    affected: 1,
                    notices: vec![],
                    last_insert_id: 0,
                })
            }
            bc::Statement::Prepare {
                name,
                param_types,
                statement,
            } => {
                if self.sql_prepared.contains_key(&name.value) {
                    return Err(Error::DuplicatePrepared(name.value.clone()));
                }
                let declared: Vec<Option<DataType>> =
                    param_types.iter().copied().map(Some).collect();
                let (types, _) = self.describe(statement, &program.semantics, declared)?;
                let mut p = program.clone();
                p.statement = (**statement).clone();
                p.param_count = types.len() as u16;
                self.sql_prepared.insert(
                    name.value.clone(),
                    Prepared {
                        program: Arc::new(p),
                        param_types: types.into_iter().map(Some).collect(),
                        plan: None,
                    },
                );
                tag("PREPARE")
            }
            bc::Statement::Execute { name, args } => {
                let (p, types) = match self.sql_prepared.get(&name.value) {
                    Some(p) => (p.program.clone(), p.param_types.clone()),
                    None => return Err(Error::UndefinedPrepared(name.value.clone())),
                };
                if args.len() != types.len() {
                    return Err(Error::Syntax(format!(
                        "wrong number of parameters for prepared statement \"{}\"",
                        name.value
                    )));
                }
                let values = self.eval_args(args, &types)?;
                self.run_program(&p, &values, Some(types))
            }
            bc::Statement::Deallocate { name } => {
                match name {
                    Some(n) => {
                        if self.sql_prepared.remove(&n.value).is_none() {
                            return Err(Error::UndefinedPrepared(n.value.clone()));
                        }
                    }
                    None => self.sql_prepared.clear(),
                }
                tag("DEALLOCATE")
            }
            bc::Statement::CreateDatabase { .. } | bc::Statement::DropDatabase { .. }
                if self.in_block =>
            {
                let what = if matches!(stmt, bc::Statement::CreateDatabase { .. }) {
                    "CREATE DATABASE"
                } else {
                    "DROP DATABASE"
                };
                Err(Error::NoActiveBlockAllowed(what.into()))
            }
            bc::Statement::Maintain {
                vacuum,
                analyze,
                names,
            } => self.maintain(*vacuum, *analyze, names),
            bc::Statement::Kill {
                session_id,
                query_only,
            } => {
                let superuser = {
                    let txn = self.engine.mvcc.begin();
                    Catalog::new(&txn)
                        .user(&self.user)?
                        .is_some_and(|u| u.superuser)
                };
                self.engine
                    .kill(*session_id, &self.user, superuser, *query_only)?;
                tag("KILL")
            }
            bc::Statement::CopyFrom(_) => Err(Error::Unsupported(
                "COPY FROM STDIN outside the PostgreSQL gateway's copy protocol".into(),
            )),
            _ => self.run_in_txn(program, params, param_types),
        }
    }

    /// `VACUUM [ANALYZE]` / `ANALYZE`: ANALYZE counts each table's live rows and records
    /// the count in the catalog (shown as `pg_class.reltuples`), transactionally; VACUUM
    /// then compacts the whole store, which garbage-collects MVCC versions no snapshot can
    /// see. VACUUM cannot run in a transaction block (25001).
    fn maintain(
        &mut self,
        vacuum: bool,
        analyze: bool,
        names: &[bc::ObjectName],
    ) -> Result<Outcome> {
        if vacuum && self.in_block {
            return Err(Error::NoActiveBlockAllowed("VACUUM".into()));
        }
        let mut txn = match self.txn.take() {
            Some(t) => t,
            None => self.engine.mvcc.begin(),
        };
        let semantics = bc::Semantics::for_dialect(bc::Dialect::Postgres);
        let env = Env {
            database: &self.database,
            user: &self.user,
            semantics: &semantics,
            cancel: &self.cancel,
            ids: &self.engine.ids,
            last_insert_id: &self.last_insert_id,
            session_id: self.id,
        };
        let r = (|| -> Result<()> {
            let tables = sql::maint::maintained_tables(names, &txn, &env)?;
            if analyze {
                for t in &tables {
                    let n = sql::maint::count_rows(&txn, t)?;
                    sql::maint::put_row_estimate(&mut txn, t.id, n)?;
                    tracing::debug!(table = %t.name, rows = n, "analyze");
                }
            }
            Ok(())
        })();
        if self.in_block {
            self.txn = Some(txn);
            r?;
        } else if r.is_ok() {
            txn.commit()?;
        } else {
            txn.rollback();
            r?;
        }
        if vacuum {
            self.engine.mvcc.store().compact();
        }
        Ok(Outcome {
            tag: if vacuum { "VACUUM" } else { "ANALYZE" }.into(),
            ..Default::default()
        })
    }

    fn eval_args(&self, args: &[bc::Expr], types: &[Option<DataType>]) -> Result<Vec<Value>> {
        let txn = self.engine.mvcc.begin();
        let mut b = sql::bind::Binder::new(&txn, &self.database, vec![]);
        let semantics = bc::Semantics::for_dialect(bc::Dialect::Postgres);
        let ctx = sql::exec::ExecCtx::new(
            &txn,
            &[],
            &semantics,
            &self.database,
            &self.user,
            &self.cancel,
        );
        let mut out = Vec::new();
        for (a, t) in args.iter().zip(types) {
            let (e, _) = b.expr(a, &Default::default())?;
            let e = match t {
                Some(t) => sql::bind::coerce_literal(e, t)?,
                None => e,
            };
            out.push(e.eval(&[], &ctx)?);
        }
        Ok(out)
    }

    fn run_in_txn(
        &mut self,
        program: &bc::Program,
        params: &[Value],
        param_types: Option<Vec<Option<DataType>>>,
    ) -> Result<Outcome> {
        let autocommit = !self.in_block;
        let mut txn = match self.txn.take() {
            Some(t) => t,
            None => self.begin_txn(),
        };
        let read_committed = !autocommit && self.block_isolation == IsolationLevel::ReadCommitted;
        if read_committed {
            // Safe with writes pending: every written key stays locked until the end.
            txn.refresh_snapshot();
        }
        // A restart on a fresh snapshot cannot be told from the statement having simply
        // started later, except under snapshot isolation inside a block.
        // MySQL's DML reads the newest rows even at REPEATABLE READ (InnoDB current reads):
        // such a statement restarts on a newer snapshot of its own.
        let current_read = !autocommit
            && !read_committed
            && program.semantics.writes_read_latest
            && matches!(
                program.statement,
                bc::Statement::Insert(_) | bc::Statement::Update(_) | bc::Statement::Delete(_)
            );
        let restartable = autocommit || read_committed || current_read;
        let keep_txn_on_error = !autocommit && program.semantics.statement_errors_keep_transaction;
        let types = param_types
            .unwrap_or_else(|| vec![None; params.len().max(program.param_count as usize)]);
        let env = Env {
            database: &self.database,
            user: &self.user,
            semantics: &program.semantics,
            cancel: &self.cancel,
            ids: &self.engine.ids,
            last_insert_id: &self.last_insert_id,
            session_id: self.id,
        };
        let mut restarts = 0u32;
        let r = loop {
            if restartable || keep_txn_on_error {
                txn.begin_statement();
            }
            let r = match self.plan_slot.as_mut() {
                Some(slot) if sql::is_bindable(&program.statement) => {
                    run_cached(slot, &self.engine, program, &mut txn, &env, params, &types)
                }
                _ => sql::execute(
                    program,
                    &program.statement,
                    &mut txn,
                    &env,
                    params,
                    types.clone(),
                ),
            };
            match r {
                Err(Error::SerializationFailure) if restartable && restarts < MAX_RESTARTS => {
                    restarts += 1;
                    txn.rollback_statement();
                    if current_read {
                        txn.use_fresh_statement_snapshot();
                    } else {
                        txn.refresh_snapshot();
                    }
                }
                Err(e) => {
                    if keep_txn_on_error {
                        txn.rollback_statement();
                    }
                    txn.end_statement();
                    break Err(e);
                }
                Ok(o) => {
                    txn.end_statement();
                    break Ok(o);
                }
            }
        };
        if restarts > 0 {
            tracing::debug!(
                session = self.id,
                restarts,
                "statement restarted after write conflicts"
            );
        }
        match r {
            Ok(o) if autocommit => {
                txn.commit()?;
                Ok(o)
            }
            Ok(o) => {
                self.txn = Some(txn);
                Ok(o)
            }
            Err(e) => {
                if autocommit {
                    txn.rollback();
                } else if keep_txn_on_error && self.error_keeps_transaction(&e, &program.semantics)
                {
                    self.after_error = Some(AfterError::KeepTransaction);
                    self.txn = Some(txn);
                } else if keep_txn_on_error {
                    txn.rollback();
                    self.after_error = Some(AfterError::RolledBack);
                } else {
                    self.txn = Some(txn);
                }
                Err(e)
            }
        }
    }

    /// Whether a statement error leaves the open transaction usable (MySQL and Firebird
    /// undo just the statement; a deadlock or a failed commit still ends the transaction,
    /// as it does there).
    fn error_keeps_transaction(&self, e: &Error, semantics: &bc::Semantics) -> bool {
        semantics.statement_errors_keep_transaction
            && !matches!(e, Error::Deadlock | Error::InFailedTransaction)
    }
}

/// Runs a prepared query or write with its cached plan, binding (and caching) it first
/// when there is none or the catalog changed since. A plan is cached only when the
/// transaction saw every catalog change (its snapshot is at least the newest catalog
/// commit) and made none of its own.
fn run_cached(
    slot: &mut Option<CachedPlan>,
    engine: &Engine,
    program: &bc::Program,
    txn: &mut Txn,
    env: &Env,
    params: &[Value],
    types: &[Option<DataType>],
) -> Result<Outcome> {
    let catalog_seq = engine.mvcc.catalog_seq();
    let current = txn.snapshot() >= catalog_seq && !txn.has_catalog_writes();
    let bound = match slot {
        Some(c) if current && c.catalog_seq == catalog_seq => c.bound.clone(),
        _ => {
            let bound = Arc::new(sql::bind_statement(
                &program.statement,
                txn,
                env,
                types.to_vec(),
            )?);
            if let Some(old) = slot.as_ref() {
                // The client was told the result's shape at prepare time (PostgreSQL
                // refuses the same way).
                if old.bound.result_shape() != bound.result_shape() {
                    *slot = None;
                    return Err(Error::PlanChanged);
                }
            }
            *slot = current.then(|| CachedPlan {
                catalog_seq,
                bound: bound.clone(),
            });
            bound
        }
    };
    sql::run_bound(&bound, txn, env, params, types)
}

/// How often one statement may restart after write conflicts before it reports 40001.
const MAX_RESTARTS: u32 = 100;

/// The isolation level a dialect's reference server starts sessions with.
fn default_isolation(dialect: bc::Dialect) -> IsolationLevel {
    match dialect {
        bc::Dialect::Postgres => IsolationLevel::ReadCommitted,
        bc::Dialect::Mysql | bc::Dialect::Firebird => IsolationLevel::RepeatableRead,
    }
}

/// A PostgreSQL duration setting (`5000`, `5s`, `250ms`, `1min`) in milliseconds.
fn parse_duration_ms(v: &str) -> Option<u32> {
    let v = v.trim().trim_matches('\'').trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let ms = match unit.trim() {
        "" | "ms" => n,
        "s" => n * 1000,
        "min" => n * 60_000,
        "h" => n * 3_600_000,
        _ => return None,
    };
    u32::try_from(ms).ok()
}

impl Drop for Session {
    fn drop(&mut self) {
        self.engine.unregister_session(self.id);
    }
}

fn is_txn_end(s: &bc::Statement) -> bool {
    matches!(s, bc::Statement::Rollback | bc::Statement::Commit)
}

fn to_columns(cols: Vec<OutCol>) -> Vec<Column> {
    cols.into_iter()
        .map(|c| Column {
            name: c.name,
            data_type: c.ty,
            table_id: c.table_id,
            column_number: c.colno,
        })
        .collect()
}

fn parse_isolation(s: &str) -> Option<IsolationLevel> {
    Some(match s.to_ascii_lowercase().as_str() {
        "read committed" | "read uncommitted" => IsolationLevel::ReadCommitted,
        "repeatable read" => IsolationLevel::RepeatableRead,
        "serializable" => IsolationLevel::Serializable,
        _ => return None,
    })
}

fn isolation_name(l: IsolationLevel) -> &'static str {
    match l {
        IsolationLevel::ReadUncommitted => "read uncommitted",
        IsolationLevel::ReadCommitted => "read committed",
        IsolationLevel::RepeatableRead => "repeatable read",
        IsolationLevel::Serializable => "serializable",
    }
}
