//! Data modification: `INSERT`, `UPDATE`, `DELETE` (each with `RETURNING`).

use rosetta_bytecode as bc;
use sqlparser::ast;

use rosetta_bytecode::CompileError;

use crate::{reject, unsupported, DialectLowering, LowerQuery, Result};

/// Shared lowering of `INSERT`, `UPDATE` and `DELETE`, provided for every [`DialectLowering`].
pub trait LowerDml: LowerQuery {
    /// `INSERT INTO t [(cols)] {VALUES … | query | DEFAULT VALUES} [RETURNING …]`.
    fn insert(&mut self, insert: &ast::Insert) -> Result<bc::Statement> {
        let ast::Insert {
            insert_token: _,
            optimizer_hints,
            or,
            ignore,
            into: _,
            table,
            table_alias,
            columns,
            by_name,
            overwrite,
            source,
            assignments,
            partitioned,
            after_columns,
            overriding,
            has_table_keyword,
            on,
            returning,
            output,
            replace_into,
            priority,
            insert_alias,
            settings,
            format_clause,
            multi_table_insert_type,
            multi_table_into_clauses,
            multi_table_when_clauses,
            multi_table_else_clause,
        } = insert;
        reject(!optimizer_hints.is_empty(), "optimizer hints")?;
        reject(or.is_some(), "INSERT OR …")?;
        reject(*ignore, "INSERT IGNORE")?;
        reject(table_alias.is_some(), "INSERT INTO … AS alias")?;
        reject(*by_name, "INSERT … BY NAME")?;
        reject(*overwrite, "INSERT OVERWRITE")?;
        reject(!assignments.is_empty(), "INSERT … SET")?;
        reject(partitioned.is_some(), "INSERT … PARTITION")?;
        reject(!after_columns.is_empty(), "INSERT … PARTITION columns")?;
        reject(overriding.is_some(), "INSERT … OVERRIDING")?;
        reject(*has_table_keyword, "INSERT INTO TABLE")?;
        reject(output.is_some(), "OUTPUT")?;
        reject(*replace_into, "REPLACE INTO")?;
        reject(priority.is_some(), "INSERT priorities")?;
        reject(insert_alias.is_some(), "INSERT row aliases")?;
        reject(settings.is_some(), "SETTINGS")?;
        reject(format_clause.is_some(), "FORMAT")?;
        reject(
            multi_table_insert_type.is_some()
                || !multi_table_into_clauses.is_empty()
                || !multi_table_when_clauses.is_empty()
                || multi_table_else_clause.is_some(),
            "multi-table INSERT",
        )?;
        let table = match table {
            ast::TableObject::TableName(name) => Self::object_name(name)?,
            ast::TableObject::TableFunction(_) => {
                return Err(unsupported("INSERT INTO a table function"))
            }
            ast::TableObject::TableQuery(_) => return Err(unsupported("INSERT INTO a subquery")),
        };
        let columns = columns
            .iter()
            .map(|c| Self::single_ident(c, "column name"))
            .collect::<Result<Vec<_>>>()?;
        let source = match source {
            None => bc::InsertSource::DefaultValues,
            Some(query) => match plain_values(query) {
                Some(values) => bc::InsertSource::Values(self.values(values, true)?),
                None => bc::InsertSource::Query(Box::new(self.query(query)?)),
            },
        };
        let upsert = on.as_ref().map(|on| self.upsert(on)).transpose()?;
        let returning = self.returning(returning)?;
        Ok(bc::Statement::Insert(Box::new(bc::Insert {
            table,
            columns,
            source,
            returning,
            upsert,
        })))
    }

    /// PostgreSQL's `ON CONFLICT [(cols)] DO NOTHING | DO UPDATE SET … [WHERE …]` and
    /// MySQL's `ON DUPLICATE KEY UPDATE col = expr, …`, where `VALUES(col)` is the row
    /// proposed for insertion (`excluded.col`).
    fn upsert(&mut self, on: &ast::OnInsert) -> Result<bc::Upsert> {
        match on {
            ast::OnInsert::DuplicateKeyUpdate(assignments) => {
                let rewritten = assignments
                    .iter()
                    .map(|a| {
                        Ok(ast::Assignment {
                            target: a.target.clone(),
                            value: values_to_excluded(&a.value)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(bc::Upsert {
                    match_columns: Vec::new(),
                    action: bc::UpsertAction::Update {
                        assignments: self.assignments(&rewritten)?,
                        filter: None,
                    },
                })
            }
            ast::OnInsert::OnConflict(ast::OnConflict {
                conflict_target,
                action,
            }) => {
                let match_columns = match conflict_target {
                    None => Vec::new(),
                    Some(ast::ConflictTarget::Columns { columns, predicate }) => {
                        reject(predicate.is_some(), "ON CONFLICT (…) WHERE")?;
                        columns.iter().map(Self::ident).collect()
                    }
                    Some(ast::ConflictTarget::OnConstraint(_)) => {
                        return Err(unsupported("ON CONFLICT ON CONSTRAINT"))
                    }
                };
                let action = match action {
                    ast::OnConflictAction::DoNothing => bc::UpsertAction::Nothing,
                    ast::OnConflictAction::DoUpdate(ast::DoUpdate {
                        assignments,
                        selection,
                    }) => {
                        if match_columns.is_empty() {
                            return Err(CompileError {
                                sqlstate: "42601".into(),
                                message: "ON CONFLICT DO UPDATE requires inference \
                                          specification or constraint name"
                                    .into(),
                                position: None,
                            });
                        }
                        bc::UpsertAction::Update {
                            assignments: self.assignments(assignments)?,
                            filter: selection.as_ref().map(|e| self.expr(e)).transpose()?,
                        }
                    }
                };
                Ok(bc::Upsert {
                    match_columns,
                    action,
                })
            }
            other => Err(unsupported(format!("INSERT … {other}"))),
        }
    }

    /// The `SET col = expr, …` list of UPDATE and of an upsert.
    fn assignments(&mut self, assignments: &[ast::Assignment]) -> Result<Vec<bc::Assignment>> {
        assignments
            .iter()
            .map(|a| {
                let ast::Assignment { target, value } = a;
                let column = match target {
                    ast::AssignmentTarget::ColumnName(name) => {
                        Self::single_ident(name, "column in SET")?
                    }
                    ast::AssignmentTarget::Tuple(_) => return Err(unsupported("SET (a, b) = …")),
                };
                Ok(bc::Assignment {
                    column,
                    value: self.value_or_default(value)?,
                })
            })
            .collect()
    }

    /// `UPDATE t [alias] SET col = expr, … [WHERE …] [RETURNING …]`.
    fn update(&mut self, update: &ast::Update) -> Result<bc::Statement> {
        let ast::Update {
            update_token: _,
            optimizer_hints,
            table,
            on_cluster,
            assignments,
            from,
            selection,
            returning,
            output,
            or,
            order_by,
            limit,
            settings,
        } = update;
        reject(!optimizer_hints.is_empty(), "optimizer hints")?;
        reject(on_cluster.is_some(), "ON CLUSTER")?;
        reject(from.is_some(), "UPDATE … FROM")?;
        reject(output.is_some(), "OUTPUT")?;
        reject(or.is_some(), "UPDATE OR …")?;
        reject(!order_by.is_empty(), "UPDATE … ORDER BY")?;
        reject(limit.is_some(), "UPDATE … LIMIT")?;
        reject(settings.is_some(), "SETTINGS")?;
        let ast::TableWithJoins { relation, joins } = table;
        reject(!joins.is_empty(), "UPDATE of a join")?;
        let (table, alias) = dml_target::<Self>(relation)?;
        let assignments = self.assignments(assignments)?;
        let filter = selection.as_ref().map(|e| self.expr(e)).transpose()?;
        let returning = self.returning(returning)?;
        Ok(bc::Statement::Update(Box::new(bc::Update {
            table,
            alias,
            assignments,
            filter,
            returning,
        })))
    }

    /// `DELETE FROM t [alias] [WHERE …] [RETURNING …]`.
    fn delete(&mut self, delete: &ast::Delete) -> Result<bc::Statement> {
        let ast::Delete {
            delete_token: _,
            optimizer_hints,
            tables,
            from,
            on_cluster,
            using,
            selection,
            returning,
            output,
            order_by,
            limit,
            settings,
        } = delete;
        reject(!optimizer_hints.is_empty(), "optimizer hints")?;
        reject(!tables.is_empty(), "multi-table DELETE")?;
        reject(on_cluster.is_some(), "ON CLUSTER")?;
        reject(using.is_some(), "DELETE … USING")?;
        reject(output.is_some(), "OUTPUT")?;
        reject(!order_by.is_empty(), "DELETE … ORDER BY")?;
        reject(limit.is_some(), "DELETE … LIMIT")?;
        reject(settings.is_some(), "SETTINGS")?;
        let ast::FromTable::WithFromKeyword(from) = from else {
            return Err(unsupported("DELETE without FROM"));
        };
        let [ast::TableWithJoins { relation, joins }] = from.as_slice() else {
            return Err(unsupported("DELETE from several tables"));
        };
        reject(!joins.is_empty(), "DELETE from a join")?;
        let (table, alias) = dml_target::<Self>(relation)?;
        let filter = selection.as_ref().map(|e| self.expr(e)).transpose()?;
        let returning = self.returning(returning)?;
        Ok(bc::Statement::Delete(Box::new(bc::Delete {
            table,
            alias,
            filter,
            returning,
        })))
    }

    fn returning(
        &mut self,
        returning: &Option<Vec<ast::SelectItem>>,
    ) -> Result<Vec<bc::SelectItem>> {
        match returning {
            Some(items) => self.select_items(items),
            None => Ok(Vec::new()),
        }
    }
}

/// Rewrites MySQL's `VALUES(col)` (the value proposed for `col` in `INSERT … ON
/// DUPLICATE KEY UPDATE`) to `excluded.col`, through the expression forms an assignment
/// commonly uses; a `VALUES(…)` anywhere else is refused rather than misread.
fn values_to_excluded(expr: &ast::Expr) -> Result<ast::Expr> {
    use ast::Expr as E;
    let rec = |e: &ast::Expr| values_to_excluded(e).map(Box::new);
    Ok(match expr {
        E::Function(f) if f.name.to_string().eq_ignore_ascii_case("values") => {
            let column = match &f.args {
                ast::FunctionArguments::List(list) => match list.args.as_slice() {
                    [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(E::Identifier(c)))] => {
                        Some(c.clone())
                    }
                    [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                        E::CompoundIdentifier(parts),
                    ))] => parts.last().cloned(),
                    _ => None,
                },
                _ => None,
            };
            let column =
                column.ok_or_else(|| unsupported("VALUES() of something other than a column"))?;
            E::CompoundIdentifier(vec![ast::Ident::new("excluded"), column])
        }
        E::BinaryOp { left, op, right } => E::BinaryOp {
            left: rec(left)?,
            op: op.clone(),
            right: rec(right)?,
        },
        E::UnaryOp { op, expr } => E::UnaryOp {
            op: *op,
            expr: rec(expr)?,
        },
        E::Nested(e) => E::Nested(rec(e)?),
        E::IsNull(e) => E::IsNull(rec(e)?),
        E::IsNotNull(e) => E::IsNotNull(rec(e)?),
        E::Function(f) => {
            let mut f = f.clone();
            if let ast::FunctionArguments::List(list) = &mut f.args {
                for arg in list.args.iter_mut() {
                    if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = arg {
                        *e = values_to_excluded(e)?;
                    } else if arg.to_string().to_ascii_uppercase().contains("VALUES(") {
                        return Err(unsupported("VALUES() in this position"));
                    }
                }
            }
            E::Function(f)
        }
        other => {
            let text = other.to_string().to_ascii_uppercase();
            if text.contains("VALUES(") || text.contains("VALUES (") {
                return Err(unsupported("VALUES() in this position"));
            }
            other.clone()
        }
    })
}

/// The `VALUES` of `INSERT … VALUES`, when the source is exactly that (no `ORDER BY`,
/// `LIMIT`, `WITH`, …, which make it a general query).
fn plain_values(query: &ast::Query) -> Option<&ast::Values> {
    let ast::Query {
        with,
        body,
        order_by,
        limit_clause,
        fetch,
        locks,
        for_clause,
        settings,
        format_clause,
        pipe_operators,
    } = query;
    let plain = with.is_none()
        && order_by.is_none()
        && limit_clause.is_none()
        && fetch.is_none()
        && locks.is_empty()
        && for_clause.is_none()
        && settings.is_none()
        && format_clause.is_none()
        && pipe_operators.is_empty();
    match body.as_ref() {
        ast::SetExpr::Values(values) if plain => Some(values),
        _ => None,
    }
}

/// The target table of `UPDATE`/`DELETE`, with its optional alias.
fn dml_target<D: DialectLowering>(
    factor: &ast::TableFactor,
) -> Result<(bc::ObjectName, Option<bc::Ident>)> {
    let ast::TableFactor::Table {
        name,
        alias,
        args,
        with_hints,
        version,
        with_ordinality,
        partitions,
        json_path,
        sample,
        index_directives,
        inheritance: _, // no table inheritance: `ONLY t` is `t`
    } = factor
    else {
        return Err(unsupported("UPDATE/DELETE of something other than a table"));
    };
    reject(
        args.is_some()
            || !with_hints.is_empty()
            || version.is_some()
            || *with_ordinality
            || !partitions.is_empty()
            || json_path.is_some()
            || sample.is_some()
            || !index_directives.is_empty(),
        "options on the target table",
    )?;
    let alias = match alias {
        None => None,
        Some(ast::TableAlias {
            explicit: _,
            name,
            columns,
            at,
        }) => {
            reject(
                !columns.is_empty() || at.is_some(),
                "column aliases on the target table",
            )?;
            Some(D::ident(name))
        }
    };
    Ok((D::object_name(name)?, alias))
}

impl<T: DialectLowering> LowerDml for T {}
