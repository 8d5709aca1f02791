//! Structural validation of decoded programs.
//!
//! A program comes from a plugin, which may be buggy or hostile. Before the engine binds a
//! program it must know that walking it terminates quickly and within bounded memory and
//! stack: so we bound nesting depth, the total number of nodes and the size of every
//! string and list. Semantic checks (names, types) are the binder's job.

use crate::ast::*;

/// Bounds a program must respect.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest encoded program accepted, in bytes.
    pub max_program_bytes: usize,
    /// Deepest nesting of expressions / queries.
    pub max_depth: usize,
    /// Most nodes (expressions, select items, rows …) in one program.
    pub max_nodes: usize,
    /// Longest single string or identifier, in bytes.
    pub max_string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_program_bytes: 64 << 20,
            max_depth: 200,
            max_nodes: 4_000_000,
            max_string_bytes: 32 << 20,
        }
    }
}

/// Why a program was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("{what} is too large ({size} > {limit})")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("program nests deeper than {0} levels")]
    TooDeep(usize),
    #[error("program has more than {0} nodes")]
    TooManyNodes(usize),
    #[error("parameter ${index} is out of range (program declares {count})")]
    BadParam { index: u16, count: u16 },
    #[error("empty identifier")]
    EmptyIdent,
    /// `ANY`/`ALL` with an operator that is not a comparison.
    #[error("operator {0} cannot be used with ANY/ALL")]
    BadOperator(String),
    /// A sequence whose increment is zero would hand out the same value forever.
    #[error("sequence increment must not be zero")]
    ZeroIncrement,
}

/// Whether `op` is one of `=`, `<>`, `<`, `<=`, `>`, `>=`.
fn is_comparison(op: &BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Eq
            | BinaryOp::NotEq
            | BinaryOp::Lt
            | BinaryOp::LtEq
            | BinaryOp::Gt
            | BinaryOp::GtEq
    )
}

/// Checks a decoded program against `limits`.
pub fn validate(program: &Program, limits: &Limits) -> Result<(), ValidationError> {
    let mut v = Validator {
        limits,
        nodes: 0,
        param_count: program.param_count,
    };
    v.statement(&program.statement, 0)
}

struct Validator<'a> {
    limits: &'a Limits,
    nodes: usize,
    param_count: u16,
}

type VResult = Result<(), ValidationError>;

impl Validator<'_> {
    fn enter(&mut self, depth: usize) -> VResult {
        if depth > self.limits.max_depth {
            return Err(ValidationError::TooDeep(self.limits.max_depth));
        }
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(ValidationError::TooManyNodes(self.limits.max_nodes));
        }
        Ok(())
    }

    fn string(&self, s: &str) -> VResult {
        if s.len() > self.limits.max_string_bytes {
            return Err(ValidationError::TooLarge {
                what: "string",
                size: s.len(),
                limit: self.limits.max_string_bytes,
            });
        }
        Ok(())
    }

    fn ident(&self, i: &Ident) -> VResult {
        if i.value.is_empty() {
            return Err(ValidationError::EmptyIdent);
        }
        self.string(&i.value)
    }

    fn name(&self, n: &[Ident]) -> VResult {
        if n.is_empty() || n.len() > 4 {
            return Err(ValidationError::TooLarge {
                what: "qualified name",
                size: n.len(),
                limit: 4,
            });
        }
        n.iter().try_for_each(|i| self.ident(i))
    }

    fn statement(&mut self, s: &Statement, d: usize) -> VResult {
        self.enter(d)?;
        match s {
            Statement::Empty
            | Statement::Commit
            | Statement::Rollback
            | Statement::Begin(_)
            | Statement::SetTransaction(_) => Ok(()),
            Statement::Query(q) => self.query(q, d + 1),
            Statement::Insert(i) => {
                self.name(&i.table)?;
                i.columns.iter().try_for_each(|c| self.ident(c))?;
                match &i.source {
                    InsertSource::Values(rows) => self.rows(rows, d + 1)?,
                    InsertSource::Query(q) => self.query(q, d + 1)?,
                    InsertSource::DefaultValues => {}
                }
                if let Some(upsert) = &i.upsert {
                    upsert
                        .match_columns
                        .iter()
                        .try_for_each(|c| self.ident(c))?;
                    if let UpsertAction::Update {
                        assignments,
                        filter,
                    } = &upsert.action
                    {
                        for a in assignments {
                            self.ident(&a.column)?;
                            self.expr(&a.value, d + 1)?;
                        }
                        self.opt_expr(filter, d + 1)?;
                    }
                }
                self.items(&i.returning, d + 1)
            }
            Statement::Update(u) => {
                self.name(&u.table)?;
                for a in &u.assignments {
                    self.ident(&a.column)?;
                    self.expr(&a.value, d + 1)?;
                }
                self.opt_expr(&u.filter, d + 1)?;
                self.items(&u.returning, d + 1)
            }
            Statement::Delete(x) => {
                self.name(&x.table)?;
                self.opt_expr(&x.filter, d + 1)?;
                self.items(&x.returning, d + 1)
            }
            Statement::CreateTable(c) => {
                self.name(&c.name)?;
                for col in &c.columns {
                    self.enter(d + 1)?;
                    self.ident(&col.name)?;
                    self.opt_expr(&col.default, d + 2)?;
                }
                for con in &c.constraints {
                    let (TableConstraint::PrimaryKey { columns, .. }
                    | TableConstraint::Unique { columns, .. }) = con;
                    columns.iter().try_for_each(|c| self.ident(c))?;
                }
                Ok(())
            }
            Statement::DropTable { names, .. } | Statement::DropIndex { names, .. } => {
                names.iter().try_for_each(|n| self.name(n))
            }
            Statement::CreateIndex(c) => {
                self.name(&c.table)?;
                c.columns.iter().try_for_each(|c| self.ident(&c.name))
            }
            Statement::CreateDatabase { name, .. } | Statement::DropDatabase { name, .. } => {
                self.ident(name)
            }
            Statement::Explain { statement, .. } => self.statement(statement, d + 1),
            Statement::Prepare {
                name, statement, ..
            } => {
                self.ident(name)?;
                // Parameters inside a PREPARE body are numbered by the PREPARE, not by
                // the outer program.
                let outer = std::mem::replace(&mut self.param_count, u16::MAX);
                let r = self.statement(statement, d + 1);
                self.param_count = outer;
                r
            }
            Statement::Execute { name, args } => {
                self.ident(name)?;
                args.iter().try_for_each(|a| self.expr(a, d + 1))
            }
            Statement::Deallocate { name } => name.iter().try_for_each(|n| self.ident(n)),
            Statement::SetVariable { name, values, .. } => {
                self.string(name)?;
                values.iter().try_for_each(|a| self.expr(a, d + 1))
            }
            Statement::ShowVariable { name } => self.string(name),
            Statement::CreateView(v) => {
                self.name(&v.name)?;
                v.columns.iter().try_for_each(|c| self.ident(c))?;
                if let Some(text) = &v.definition {
                    self.string(text)?;
                }
                self.query(&v.query, d + 1)
            }
            Statement::DropView { names, .. } => names.iter().try_for_each(|n| self.name(n)),
            Statement::Truncate { names } | Statement::Maintain { names, .. } => {
                names.iter().try_for_each(|n| self.name(n))
            }
            Statement::AddPrimaryKey {
                table,
                name,
                columns,
            } => {
                self.name(table)?;
                name.iter().try_for_each(|n| self.ident(n))?;
                columns.iter().try_for_each(|c| self.ident(c))
            }
            Statement::CreateSequence(c) => {
                if c.increment == 0 {
                    return Err(ValidationError::ZeroIncrement);
                }
                self.name(&c.name)
            }
            Statement::DropSequence { names, .. } => names.iter().try_for_each(|n| self.name(n)),
            Statement::AlterSequence {
                name, increment, ..
            } => {
                if *increment == Some(0) {
                    return Err(ValidationError::ZeroIncrement);
                }
                self.name(name)
            }
            Statement::Kill { .. } => Ok(()),
            Statement::CopyFrom(c) => {
                self.name(&c.table)?;
                c.columns.iter().try_for_each(|col| self.ident(col))?;
                self.string(&c.null)
            }
        }
    }

    fn rows(&mut self, rows: &[Vec<Expr>], d: usize) -> VResult {
        for row in rows {
            self.enter(d)?;
            row.iter().try_for_each(|e| self.expr(e, d + 1))?;
        }
        Ok(())
    }

    fn items(&mut self, items: &[SelectItem], d: usize) -> VResult {
        for item in items {
            self.enter(d)?;
            match item {
                SelectItem::Expr { expr, alias } => {
                    self.expr(expr, d + 1)?;
                    alias.iter().try_for_each(|a| self.ident(a))?;
                }
                SelectItem::Wildcard => {}
                SelectItem::QualifiedWildcard(n) => self.name(n)?,
            }
        }
        Ok(())
    }

    fn query(&mut self, q: &Query, d: usize) -> VResult {
        self.enter(d)?;
        for cte in &q.with {
            self.ident(&cte.name)?;
            self.query(&cte.query, d + 1)?;
        }
        self.set_expr(&q.body, d + 1)?;
        for o in &q.order_by {
            self.expr(&o.expr, d + 1)?;
        }
        self.opt_expr(&q.limit, d + 1)?;
        self.opt_expr(&q.offset, d + 1)
    }

    fn set_expr(&mut self, s: &SetExpr, d: usize) -> VResult {
        self.enter(d)?;
        match s {
            SetExpr::Select(sel) => {
                self.items(&sel.projection, d + 1)?;
                for f in &sel.from {
                    self.from(f, d + 1)?;
                }
                self.opt_expr(&sel.filter, d + 1)?;
                sel.group_by.iter().try_for_each(|e| self.expr(e, d + 1))?;
                self.opt_expr(&sel.having, d + 1)
            }
            SetExpr::Values(rows) => self.rows(rows, d + 1),
            SetExpr::SetOp { left, right, .. } => {
                self.set_expr(left, d + 1)?;
                self.set_expr(right, d + 1)
            }
            SetExpr::Query(q) => self.query(q, d + 1),
        }
    }

    fn from(&mut self, f: &FromItem, d: usize) -> VResult {
        self.enter(d)?;
        match f {
            FromItem::Table { name, alias } => {
                self.name(name)?;
                self.alias(alias)
            }
            FromItem::Subquery { query, alias } => {
                self.query(query, d + 1)?;
                self.alias(alias)
            }
            FromItem::Join {
                left,
                right,
                constraint,
                ..
            } => {
                self.from(left, d + 1)?;
                self.from(right, d + 1)?;
                match constraint {
                    JoinConstraint::On(e) => self.expr(e, d + 1),
                    JoinConstraint::Using(cols) => cols.iter().try_for_each(|c| self.ident(c)),
                    JoinConstraint::Natural | JoinConstraint::None => Ok(()),
                }
            }
            FromItem::Function { function, alias } => {
                self.function(function, d + 1)?;
                self.alias(alias)
            }
        }
    }

    fn alias(&self, a: &Option<TableAlias>) -> VResult {
        if let Some(a) = a {
            self.ident(&a.name)?;
            a.columns.iter().try_for_each(|c| self.ident(c))?;
        }
        Ok(())
    }

    fn opt_expr(&mut self, e: &Option<Expr>, d: usize) -> VResult {
        e.as_ref().map_or(Ok(()), |e| self.expr(e, d))
    }

    fn expr(&mut self, e: &Expr, d: usize) -> VResult {
        self.enter(d)?;
        let d = d + 1;
        match e {
            Expr::Column(parts) => self.name(parts),
            Expr::Literal(l) => match l {
                Literal::Decimal(s) | Literal::String(s) => self.string(s),
                Literal::Typed { value, .. } => self.string(value),
                Literal::Bytes(b) if b.len() > self.limits.max_string_bytes => {
                    Err(ValidationError::TooLarge {
                        what: "byte string",
                        size: b.len(),
                        limit: self.limits.max_string_bytes,
                    })
                }
                _ => Ok(()),
            },
            Expr::Param(i) => {
                if *i == 0 || *i > self.param_count {
                    Err(ValidationError::BadParam {
                        index: *i,
                        count: self.param_count,
                    })
                } else {
                    Ok(())
                }
            }
            Expr::Default => Ok(()),
            Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::IsBool { expr, .. } => {
                self.expr(expr, d)
            }
            Expr::Cast { expr, .. } => self.expr(expr, d),
            Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => {
                self.expr(left, d)?;
                self.expr(right, d)
            }
            Expr::InList { expr, list, .. } => {
                self.expr(expr, d)?;
                list.iter().try_for_each(|e| self.expr(e, d))
            }
            Expr::InSubquery { expr, query, .. } => {
                self.expr(expr, d)?;
                self.query(query, d)
            }
            Expr::Exists { query, .. } | Expr::Subquery(query) => self.query(query, d),
            Expr::Between {
                expr, low, high, ..
            } => {
                self.expr(expr, d)?;
                self.expr(low, d)?;
                self.expr(high, d)
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                ..
            } => {
                self.expr(expr, d)?;
                self.expr(pattern, d)?;
                escape.as_ref().map_or(Ok(()), |e| self.expr(e, d))
            }
            Expr::Case {
                operand,
                branches,
                else_result,
            } => {
                if let Some(o) = operand {
                    self.expr(o, d)?;
                }
                for (w, t) in branches {
                    self.expr(w, d)?;
                    self.expr(t, d)?;
                }
                else_result.as_ref().map_or(Ok(()), |e| self.expr(e, d))
            }
            Expr::Function(f) => self.function(f, d),
            Expr::Array(items) => items.iter().try_for_each(|e| self.expr(e, d)),
            Expr::ArraySubquery(query) => self.query(query, d),
            Expr::AnyAll {
                left, op, right, ..
            } => {
                if !is_comparison(op) {
                    return Err(ValidationError::BadOperator(format!("{op:?}")));
                }
                self.expr(left, d)?;
                self.expr(right, d)
            }
            Expr::Subscript { expr, index } => {
                self.expr(expr, d)?;
                self.expr(index, d)
            }
            Expr::NextValue { sequence, step } => {
                self.name(sequence)?;
                match step {
                    Some(step) => self.expr(step, d),
                    None => Ok(()),
                }
            }
        }
    }

    fn function(&mut self, f: &Function, d: usize) -> VResult {
        if f.name.is_empty() {
            return Err(ValidationError::EmptyIdent);
        }
        self.string(&f.namespace)?;
        self.string(&f.name)?;
        f.args.iter().try_for_each(|a| self.expr(a, d))
    }
}
