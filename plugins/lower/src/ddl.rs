//! Data definition: `CREATE TABLE`, `CREATE VIEW`, `CREATE INDEX`,
//! `DROP TABLE/VIEW/INDEX/DATABASE`.

use rosetta_bytecode::{self as bc, CompileError};
use sqlparser::ast;

use crate::{reject, unsupported, DialectLowering, LowerQuery, Result};

/// Shared lowering of `CREATE TABLE`, `CREATE INDEX` and `DROP`, provided for every
/// [`DialectLowering`] (its methods need [`LowerQuery`], which every dialect has).
pub trait LowerDdl: DialectLowering {
    /// `CREATE [OR REPLACE] VIEW name [(columns)] AS query`: a named query, with every
    /// option a dialect's parser may attach refused.
    fn create_view(&mut self, create: &ast::CreateView) -> Result<bc::Statement>
    where
        Self: LowerQuery,
    {
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
        reject(
            *or_replace && !Self::has_create_or_replace_view(),
            "CREATE OR REPLACE VIEW",
        )?;
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
                Ok(Self::ident(name))
            })
            .collect::<Result<Vec<_>>>()?;
        let lowered = self.query(query)?;
        let max_param = *self.max_param_mut();
        if max_param > 0 {
            return Err(Self::view_parameter_error(max_param));
        }
        Ok(bc::Statement::CreateView(Box::new(bc::CreateView {
            name: Self::object_name(name)?,
            columns,
            query: lowered,
            or_replace: *or_replace,
            definition: Some(query.to_string()),
        })))
    }

    /// `CREATE TABLE [IF NOT EXISTS] name (columns, constraints)`.
    fn create_table(&mut self, create: &ast::CreateTable) -> Result<bc::Statement>
    where
        Self: LowerQuery,
    {
        let ast::CreateTable {
            or_replace,
            temporary,
            unlogged,
            external,
            dynamic,
            global,
            if_not_exists,
            transient,
            volatile,
            iceberg,
            snapshot,
            name,
            columns,
            constraints,
            hive_distribution,
            hive_formats,
            table_options,
            file_format,
            location,
            query,
            sqlite_table_options,
            like,
            clone,
            version,
            comment,
            on_commit,
            on_cluster,
            primary_key,
            order_by,
            partition_by,
            cluster_by,
            clustered_by,
            inherits,
            partition_of,
            for_values,
            copy_grants,
            enable_schema_evolution,
            change_tracking,
            data_retention_time_in_days,
            max_data_extension_time_in_days,
            default_ddl_collation,
            with_aggregation_policy,
            with_row_access_policy,
            with_storage_lifecycle_policy,
            with_tags,
            external_volume,
            with_connection,
            base_location,
            catalog,
            catalog_sync,
            storage_serialization_policy,
            target_lag,
            warehouse,
            refresh_mode,
            initialize,
            require_user,
            diststyle,
            distkey,
            sortkey,
            backup,
            multiset,
            fallback,
            with_data,
        } = create;
        reject(*or_replace, "CREATE OR REPLACE TABLE")?;
        reject(*temporary || global.is_some(), "temporary tables")?;
        reject(*unlogged, "UNLOGGED tables")?;
        reject(query.is_some(), "CREATE TABLE … AS")?;
        reject(like.is_some(), "CREATE TABLE … LIKE")?;
        reject(inherits.is_some(), "INHERITS")?;
        reject(
            partition_of.is_some() || for_values.is_some() || partition_by.is_some(),
            "partitioned tables",
        )?;
        reject(on_commit.is_some(), "ON COMMIT")?;
        Self::table_options(table_options)?;
        let ast::SqliteTableOptions {
            leading_comma: _,
            options: sqlite_options,
        } = sqlite_table_options;
        reject(
            *external
                || *dynamic
                || *transient
                || *volatile
                || *iceberg
                || *snapshot
                || !matches!(hive_distribution, ast::HiveDistributionStyle::NONE)
                || hive_formats.is_some()
                || file_format.is_some()
                || location.is_some()
                || !sqlite_options.is_empty()
                || clone.is_some()
                || version.is_some()
                || comment.is_some()
                || on_cluster.is_some()
                || primary_key.is_some()
                || order_by.is_some()
                || cluster_by.is_some()
                || clustered_by.is_some()
                || *copy_grants
                || enable_schema_evolution.is_some()
                || change_tracking.is_some()
                || data_retention_time_in_days.is_some()
                || max_data_extension_time_in_days.is_some()
                || default_ddl_collation.is_some()
                || with_aggregation_policy.is_some()
                || with_row_access_policy.is_some()
                || with_storage_lifecycle_policy.is_some()
                || with_tags.is_some()
                || external_volume.is_some()
                || with_connection.is_some()
                || base_location.is_some()
                || catalog.is_some()
                || catalog_sync.is_some()
                || storage_serialization_policy.is_some()
                || target_lag.is_some()
                || warehouse.is_some()
                || refresh_mode.is_some()
                || initialize.is_some()
                || *require_user
                || diststyle.is_some()
                || distkey.is_some()
                || sortkey.is_some()
                || backup.is_some()
                || multiset.is_some()
                || fallback.is_some()
                || with_data.is_some(),
            "this CREATE TABLE option",
        )?;
        let mut table_constraints = Vec::new();
        let columns = columns
            .iter()
            .map(|c| self.column_def(c, &mut table_constraints))
            .collect::<Result<Vec<_>>>()?;
        for constraint in constraints {
            table_constraints.push(table_constraint::<Self>(constraint)?);
        }
        Ok(bc::Statement::CreateTable(Box::new(bc::CreateTable {
            name: Self::object_name(name)?,
            if_not_exists: *if_not_exists,
            columns,
            constraints: table_constraints,
        })))
    }

    /// One column; a named `PRIMARY KEY`/`UNIQUE` column constraint becomes a table
    /// constraint (so its name is kept).
    fn column_def(
        &mut self,
        column: &ast::ColumnDef,
        table_constraints: &mut Vec<bc::TableConstraint>,
    ) -> Result<bc::ColumnDef>
    where
        Self: LowerQuery,
    {
        let ast::ColumnDef {
            name,
            data_type,
            options,
        } = column;
        let mut def = bc::ColumnDef {
            name: Self::ident(name),
            data_type: Self::data_type(data_type)?,
            not_null: false,
            default: None,
            primary_key: false,
            unique: false,
            auto_increment: false,
        };
        let mut explicit_null = false;
        for option in options {
            let ast::ColumnOptionDef {
                name: constraint_name,
                option,
            } = option;
            match option {
                ast::ColumnOption::Null => explicit_null = true,
                ast::ColumnOption::NotNull => def.not_null = true,
                ast::ColumnOption::Default(expr) => {
                    if def.default.is_some() {
                        return Err(CompileError::syntax(format!(
                            "multiple default values specified for column \"{}\"",
                            def.name.value
                        )));
                    }
                    def.default = Some(self.expr(expr)?);
                }
                ast::ColumnOption::PrimaryKey(pk) => {
                    let columns = key_columns::<Self>(&key_parts_pk(pk)?)?;
                    reject(!columns.is_empty(), "column lists on a column constraint")?;
                    match constraint_name {
                        None => def.primary_key = true,
                        Some(n) => table_constraints.push(bc::TableConstraint::PrimaryKey {
                            name: Some(Self::ident(n)),
                            columns: vec![def.name.clone()],
                        }),
                    }
                }
                ast::ColumnOption::Unique(unique) => {
                    let columns = key_columns::<Self>(&key_parts_unique(unique)?)?;
                    reject(!columns.is_empty(), "column lists on a column constraint")?;
                    match constraint_name {
                        None => def.unique = true,
                        Some(n) => table_constraints.push(bc::TableConstraint::Unique {
                            name: Some(Self::ident(n)),
                            columns: vec![def.name.clone()],
                        }),
                    }
                }
                ast::ColumnOption::ForeignKey(_) => return Err(unsupported("REFERENCES")),
                ast::ColumnOption::Check(_) => return Err(unsupported("CHECK constraints")),
                ast::ColumnOption::Generated { .. } | ast::ColumnOption::Identity(_) => {
                    return Err(unsupported("generated and identity columns"))
                }
                ast::ColumnOption::Collation(_) => return Err(unsupported("COLLATE on a column")),
                _ => return Err(unsupported(format!("column option {option}"))),
            }
        }
        if explicit_null && def.not_null {
            return Err(CompileError::syntax(format!(
                "conflicting NULL/NOT NULL declarations for column \"{}\"",
                def.name.value
            )));
        }
        Ok(def)
    }

    /// `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON t [USING btree] (…)`.
    fn create_index(&mut self, create: &ast::CreateIndex) -> Result<bc::Statement>
    where
        Self: LowerQuery,
    {
        let ast::CreateIndex {
            name,
            table_name,
            using,
            columns,
            unique,
            // Only changes how the build locks the table, never the result.
            concurrently: _,
            r#async,
            if_not_exists,
            include,
            nulls_distinct,
            with,
            predicate,
            index_options,
            alter_options,
        } = create;
        match using {
            None | Some(ast::IndexType::BTree) => {}
            Some(other) => return Err(unsupported(format!("index method {other}"))),
        }
        reject(*r#async, "CREATE INDEX ASYNC")?;
        reject(!include.is_empty(), "INCLUDE columns")?;
        reject(nulls_distinct.is_some(), "NULLS [NOT] DISTINCT")?;
        reject(!with.is_empty(), "index storage parameters")?;
        reject(predicate.is_some(), "partial indexes")?;
        reject(!index_options.is_empty(), "index options")?;
        reject(!alter_options.is_empty(), "index options")?;
        let name = name
            .as_ref()
            .map(|n| Self::single_ident(n, "index name"))
            .transpose()?;
        let columns = columns
            .iter()
            .map(index_column::<Self>)
            .collect::<Result<Vec<_>>>()?;
        Ok(bc::Statement::CreateIndex(Box::new(bc::CreateIndex {
            name,
            table: Self::object_name(table_name)?,
            columns,
            unique: *unique,
            if_not_exists: *if_not_exists,
        })))
    }

    /// `DROP TABLE|VIEW|INDEX|DATABASE [IF EXISTS] names [CASCADE|RESTRICT]`.
    fn drop(
        &mut self,
        object_type: ast::ObjectType,
        if_exists: bool,
        names: &[ast::ObjectName],
        cascade: bool,
        _restrict: bool,
    ) -> Result<bc::Statement>
    where
        Self: LowerQuery,
    {
        let names_lowered = || {
            names
                .iter()
                .map(Self::object_name)
                .collect::<Result<Vec<_>>>()
        };
        match object_type {
            ast::ObjectType::Table => Ok(bc::Statement::DropTable {
                names: names_lowered()?,
                if_exists,
                cascade,
            }),
            ast::ObjectType::View if Self::has_views() => Ok(bc::Statement::DropView {
                names: names_lowered()?,
                if_exists,
                cascade,
            }),
            ast::ObjectType::Index => {
                reject(cascade, "DROP INDEX … CASCADE")?;
                Ok(bc::Statement::DropIndex {
                    names: names_lowered()?,
                    if_exists,
                })
            }
            ast::ObjectType::Database => {
                reject(cascade, "DROP DATABASE … CASCADE")?;
                let [name] = names else {
                    return Err(CompileError::syntax(
                        "DROP DATABASE takes exactly one database name",
                    ));
                };
                Ok(bc::Statement::DropDatabase {
                    name: Self::single_ident(name, "database name")?,
                    if_exists,
                })
            }
            other => Err(unsupported(format!("DROP {other}"))),
        }
    }
}

/// `PRIMARY KEY (a, b)` / `UNIQUE (a, b)` with an optional `CONSTRAINT name`.
pub fn table_constraint<D: DialectLowering>(
    constraint: &ast::TableConstraint,
) -> Result<bc::TableConstraint> {
    match constraint {
        ast::TableConstraint::PrimaryKey(pk) => Ok(bc::TableConstraint::PrimaryKey {
            name: pk.name.as_ref().map(D::ident),
            columns: nonempty(key_columns::<D>(&key_parts_pk(pk)?)?)?,
        }),
        ast::TableConstraint::Unique(unique) => Ok(bc::TableConstraint::Unique {
            name: unique.name.as_ref().map(D::ident),
            columns: nonempty(key_columns::<D>(&key_parts_unique(unique)?)?)?,
        }),
        ast::TableConstraint::ForeignKey(_) => Err(unsupported("FOREIGN KEY")),
        ast::TableConstraint::Check(_) => Err(unsupported("CHECK constraints")),
        ast::TableConstraint::Exclude(_) => Err(unsupported("EXCLUDE constraints")),
        _ => Err(unsupported(format!("table constraint {constraint}"))),
    }
}

fn nonempty(columns: Vec<bc::Ident>) -> Result<Vec<bc::Ident>> {
    if columns.is_empty() {
        return Err(CompileError::syntax("a key needs at least one column"));
    }
    Ok(columns)
}

/// The key columns of a `PRIMARY KEY`, refusing what the bytecode cannot carry.
fn key_parts_pk(pk: &ast::PrimaryKeyConstraint) -> Result<Vec<ast::IndexColumn>> {
    let ast::PrimaryKeyConstraint {
        name: _,
        index_name,
        index_type,
        columns,
        include,
        index_options,
        characteristics,
    } = pk;
    reject(
        index_name.is_some() || index_type.is_some() || !index_options.is_empty(),
        "index options on a key",
    )?;
    reject(!include.is_empty(), "INCLUDE columns")?;
    reject(characteristics.is_some(), "DEFERRABLE constraints")?;
    Ok(columns.clone())
}

/// The key columns of a `UNIQUE` constraint, refusing what the bytecode cannot carry.
fn key_parts_unique(unique: &ast::UniqueConstraint) -> Result<Vec<ast::IndexColumn>> {
    let ast::UniqueConstraint {
        name: _,
        index_name,
        index_type_display,
        index_type,
        columns,
        include,
        index_options,
        characteristics,
        nulls_distinct,
    } = unique;
    reject(
        index_name.is_some()
            || index_type.is_some()
            || !index_options.is_empty()
            || !matches!(index_type_display, ast::KeyOrIndexDisplay::None),
        "index options on a key",
    )?;
    reject(!include.is_empty(), "INCLUDE columns")?;
    reject(characteristics.is_some(), "DEFERRABLE constraints")?;
    reject(
        !matches!(nulls_distinct, ast::NullsDistinctOption::None),
        "NULLS [NOT] DISTINCT",
    )?;
    Ok(columns.clone())
}

/// Plain column names of a key (no ordering, expressions or operator classes).
fn key_columns<D: DialectLowering>(columns: &[ast::IndexColumn]) -> Result<Vec<bc::Ident>> {
    columns
        .iter()
        .map(|c| {
            let column = index_column::<D>(c)?;
            reject(column.desc, "ASC/DESC in a key")?;
            Ok(column.name)
        })
        .collect()
}

/// One key column of an index: a plain column name with an optional direction.
fn index_column<D: DialectLowering>(column: &ast::IndexColumn) -> Result<bc::IndexColumn> {
    let ast::IndexColumn {
        column,
        operator_class,
    } = column;
    reject(operator_class.is_some(), "operator classes")?;
    let ast::OrderByExpr {
        expr,
        options,
        with_fill,
    } = column;
    reject(with_fill.is_some(), "WITH FILL")?;
    let (desc, nulls_first) = crate::order_options(options)?;
    reject(nulls_first.is_some(), "NULLS FIRST/LAST in an index")?;
    let name = match expr {
        ast::Expr::Identifier(id) => D::ident(id),
        _ => return Err(unsupported("expression indexes")),
    };
    Ok(bc::IndexColumn { name, desc })
}

impl<T: DialectLowering> LowerDdl for T {}
