//! Virtual catalogs: `pg_catalog` and `information_schema` tables generated on the fly
//! from the one catalog, inside the reading transaction (so they show exactly what that
//! transaction sees). psql's meta-commands and drivers query these.

use rosetta_bytecode::{DataType, Ident};
use rosetta_types::text::to_text;
use rosetta_types::Value;

use crate::catalog::{Catalog, TableDef};
use crate::error::Result;
use crate::sql::exec::{ExecCtx, Row};

const PG_CATALOG_OID: i64 = 11;
const PUBLIC_OID: i64 = 2200;
const INFO_SCHEMA_OID: i64 = 13000;
const OWNER_OID: i64 = 10;

use DataType::{BigInt as I8, Boolean as B, Integer as I4, SmallInt as I2, Text as T};

/// The virtual tables and their columns.
const TABLES: &[(&str, &[(&str, DataType)])] = &[
    (
        "pg_namespace",
        &[("oid", I8), ("nspname", T), ("nspowner", I8), ("nspacl", T)],
    ),
    (
        "pg_class",
        &[
            ("oid", I8),
            ("relname", T),
            ("relnamespace", I8),
            ("relkind", T),
            ("relowner", I8),
            ("relam", I8),
            ("reltuples", DataType::Real),
            ("relhasindex", B),
            ("relpersistence", T),
            ("relchecks", I2),
            ("relhasrules", B),
            ("relhastriggers", B),
            ("relrowsecurity", B),
            ("relforcerowsecurity", B),
            ("relispartition", B),
            ("reltablespace", I8),
            ("reloftype", I8),
            ("relreplident", T),
            ("reltoastrelid", I8),
            ("relacl", T),
            ("reloptions", T),
        ],
    ),
    (
        "pg_attribute",
        &[
            ("attrelid", I8),
            ("attname", T),
            ("atttypid", I8),
            ("attnum", I2),
            ("atttypmod", I4),
            ("attnotnull", B),
            ("atthasdef", B),
            ("attisdropped", B),
            ("attidentity", T),
            ("attgenerated", T),
            ("attcollation", I8),
        ],
    ),
    (
        "pg_type",
        &[
            ("oid", I8),
            ("typname", T),
            ("typnamespace", I8),
            ("typlen", I2),
            ("typtype", T),
            ("typcollation", I8),
        ],
    ),
    (
        "pg_database",
        &[
            ("oid", I8),
            ("datname", T),
            ("datdba", I8),
            ("encoding", I4),
            ("datcollate", T),
            ("datctype", T),
            ("daticulocale", T),
            ("datlocprovider", T),
            ("datacl", T),
            ("datallowconn", B),
        ],
    ),
    (
        "pg_roles",
        &[
            ("oid", I8),
            ("rolname", T),
            ("rolsuper", B),
            ("rolinherit", B),
            ("rolcreaterole", B),
            ("rolcreatedb", B),
            ("rolcanlogin", B),
            ("rolconnlimit", I4),
            ("rolvaliduntil", DataType::Timestamp),
            ("rolreplication", B),
            ("rolbypassrls", B),
        ],
    ),
    (
        "pg_index",
        &[
            ("indexrelid", I8),
            ("indrelid", I8),
            ("indisunique", B),
            ("indisprimary", B),
            ("indisclustered", B),
            ("indisvalid", B),
            ("indnatts", I2),
            ("indkey", T),
        ],
    ),
    ("pg_am", &[("oid", I8), ("amname", T)]),
    (
        "pg_attrdef",
        &[("oid", I8), ("adrelid", I8), ("adnum", I2), ("adbin", T)],
    ),
    (
        "pg_constraint",
        &[
            ("oid", I8),
            ("conname", T),
            ("conrelid", I8),
            ("contype", T),
            ("conindid", I8),
        ],
    ),
    (
        "pg_description",
        &[
            ("objoid", I8),
            ("classoid", I8),
            ("objsubid", I4),
            ("description", T),
        ],
    ),
    (
        "pg_tables",
        &[
            ("schemaname", T),
            ("tablename", T),
            ("tableowner", T),
            ("hasindexes", B),
        ],
    ),
    (
        "information_schema.tables",
        &[
            ("table_catalog", T),
            ("table_schema", T),
            ("table_name", T),
            ("table_type", T),
        ],
    ),
    (
        "information_schema.columns",
        &[
            ("table_catalog", T),
            ("table_schema", T),
            ("table_name", T),
            ("column_name", T),
            ("ordinal_position", I4),
            ("column_default", T),
            ("is_nullable", T),
            ("data_type", T),
            ("character_maximum_length", I4),
            ("numeric_precision", I4),
            ("numeric_scale", I4),
        ],
    ),
    (
        "information_schema.schemata",
        &[("catalog_name", T), ("schema_name", T), ("schema_owner", T)],
    ),
];

/// Resolves a FROM name to a virtual table, if it names one.
pub fn resolve(name: &[Ident]) -> Option<&'static str> {
    let last = name.last()?;
    let schema = if name.len() >= 2 {
        Some(name[name.len() - 2].value.to_ascii_lowercase())
    } else {
        None
    };
    let lname = last.value.to_ascii_lowercase();
    let full = match schema.as_deref() {
        Some("information_schema") => format!("information_schema.{lname}"),
        Some("pg_catalog") | None => lname,
        Some(_) => return None,
    };
    let full = if full == "pg_user" || full == "pg_authid" {
        "pg_roles".to_string()
    } else {
        full
    };
    TABLES.iter().find(|(n, _)| *n == full).map(|(n, _)| *n)
}

/// The columns of a virtual table.
pub fn columns(name: &str) -> Vec<(&'static str, DataType)> {
    TABLES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c.to_vec())
        .unwrap_or_default()
}

fn type_oid(t: &DataType) -> i64 {
    match t {
        DataType::Boolean => 16,
        DataType::Bytea => 17,
        DataType::BigInt => 20,
        DataType::SmallInt => 21,
        DataType::Integer => 23,
        DataType::Text => 25,
        DataType::Real => 700,
        DataType::Double => 701,
        DataType::Char(_) => 1042,
        DataType::Varchar(_) => 1043,
        DataType::Date => 1082,
        DataType::Timestamp => 1114,
        DataType::Numeric { .. } => 1700,
    }
}

fn typmod(t: &DataType) -> i32 {
    match t {
        DataType::Varchar(Some(n)) => *n as i32 + 4,
        DataType::Char(n) => n.unwrap_or(1) as i32 + 4,
        DataType::Numeric {
            precision: Some(p),
            scale,
        } => ((*p as i32) << 16) + scale.unwrap_or(0) as i32 + 4,
        _ => -1,
    }
}

const BUILTIN_TYPES: &[(i64, &str, DataType)] = &[
    (16, "bool", DataType::Boolean),
    (17, "bytea", DataType::Bytea),
    (20, "int8", DataType::BigInt),
    (21, "int2", DataType::SmallInt),
    (23, "int4", DataType::Integer),
    (25, "text", DataType::Text),
    (700, "float4", DataType::Real),
    (701, "float8", DataType::Double),
    (1042, "bpchar", DataType::Char(None)),
    (1043, "varchar", DataType::Varchar(None)),
    (1082, "date", DataType::Date),
    (1114, "timestamp", DataType::Timestamp),
    (
        1700,
        "numeric",
        DataType::Numeric {
            precision: None,
            scale: None,
        },
    ),
];

fn s(v: &str) -> Value {
    Value::Text(v.to_string())
}

/// Generates the rows of a virtual table.
pub fn rows(name: &str, ctx: &ExecCtx) -> Result<Vec<Row>> {
    let cat = Catalog::new(ctx.txn);
    let tables: Vec<TableDef> = cat.tables(ctx.database.id)?;
    let n = Value::Null;
    Ok(match name {
        "pg_namespace" => vec![
            vec![
                Value::Int64(PG_CATALOG_OID),
                s("pg_catalog"),
                Value::Int64(OWNER_OID),
                n.clone(),
            ],
            vec![
                Value::Int64(PUBLIC_OID),
                s("public"),
                Value::Int64(OWNER_OID),
                n.clone(),
            ],
            vec![
                Value::Int64(INFO_SCHEMA_OID),
                s("information_schema"),
                Value::Int64(OWNER_OID),
                n,
            ],
        ],
        "pg_class" => {
            let mut out = Vec::new();
            for t in &tables {
                out.push(class_row(
                    t.id as i64,
                    &t.name,
                    "r",
                    t.indexes.iter().any(|_| true),
                ));
                for i in &t.indexes {
                    out.push(class_row(i.id as i64, &i.name, "i", false));
                }
            }
            out
        }
        "pg_attribute" => {
            let mut out = Vec::new();
            for t in &tables {
                for (i, c) in t.columns.iter().enumerate() {
                    out.push(vec![
                        Value::Int64(t.id as i64),
                        s(&c.name),
                        Value::Int64(type_oid(&c.data_type)),
                        Value::Int16(i as i16 + 1),
                        Value::Int32(typmod(&c.data_type)),
                        Value::Bool(!c.nullable),
                        Value::Bool(c.default.is_some()),
                        Value::Bool(false),
                        s(""),
                        s(""),
                        Value::Int64(0),
                    ]);
                }
            }
            out
        }
        "pg_type" => BUILTIN_TYPES
            .iter()
            .map(|(oid, n, t)| {
                vec![
                    Value::Int64(*oid),
                    s(n),
                    Value::Int64(PG_CATALOG_OID),
                    Value::Int16(match t {
                        DataType::Boolean => 1,
                        DataType::SmallInt => 2,
                        DataType::Integer | DataType::Real | DataType::Date => 4,
                        DataType::BigInt | DataType::Double | DataType::Timestamp => 8,
                        _ => -1,
                    }),
                    s("b"),
                    Value::Int64(0),
                ]
            })
            .collect(),
        "pg_database" => cat
            .databases()?
            .into_iter()
            .map(|d| {
                vec![
                    Value::Int64(d.id as i64),
                    s(&d.name),
                    Value::Int64(OWNER_OID),
                    Value::Int32(6),
                    s("C"),
                    s("C"),
                    Value::Null,
                    s("c"),
                    Value::Null,
                    Value::Bool(true),
                ]
            })
            .collect(),
        "pg_roles" => cat
            .users()?
            .into_iter()
            .enumerate()
            .map(|(i, u)| {
                vec![
                    Value::Int64(OWNER_OID + i as i64),
                    s(&u.name),
                    Value::Bool(u.superuser),
                    Value::Bool(true),
                    Value::Bool(u.superuser),
                    Value::Bool(u.superuser),
                    Value::Bool(true),
                    Value::Int32(-1),
                    Value::Null,
                    Value::Bool(false),
                    Value::Bool(false),
                ]
            })
            .collect(),
        "pg_index" => {
            let mut out = Vec::new();
            for t in &tables {
                for i in &t.indexes {
                    out.push(vec![
                        Value::Int64(i.id as i64),
                        Value::Int64(t.id as i64),
                        Value::Bool(i.unique),
                        Value::Bool(i.primary),
                        Value::Bool(false),
                        Value::Bool(true),
                        Value::Int16(i.columns.len() as i16),
                        s(&i.columns
                            .iter()
                            .map(|c| (c + 1).to_string())
                            .collect::<Vec<_>>()
                            .join(" ")),
                    ]);
                }
            }
            out
        }
        "pg_am" => vec![vec![Value::Int64(403), s("btree")]],
        "pg_attrdef" => {
            let mut out = Vec::new();
            for t in &tables {
                for (i, c) in t.columns.iter().enumerate() {
                    if let Some(d) = &c.default {
                        out.push(vec![
                            Value::Int64(t.id as i64 * 1000 + i as i64),
                            Value::Int64(t.id as i64),
                            Value::Int16(i as i16 + 1),
                            s(&default_text(d)),
                        ]);
                    }
                }
            }
            out
        }
        "pg_constraint" => {
            let mut out = Vec::new();
            for t in &tables {
                for i in t.indexes.iter().filter(|i| i.unique) {
                    out.push(vec![
                        Value::Int64(i.id as i64 + 1_000_000),
                        s(&i.name),
                        Value::Int64(t.id as i64),
                        s(if i.primary { "p" } else { "u" }),
                        Value::Int64(i.id as i64),
                    ]);
                }
            }
            out
        }
        "pg_description" => vec![],
        "pg_tables" => tables
            .iter()
            .map(|t| {
                vec![
                    s("public"),
                    s(&t.name),
                    s(&ctx.database.owner),
                    Value::Bool(!t.indexes.is_empty()),
                ]
            })
            .collect(),
        "information_schema.tables" => tables
            .iter()
            .map(|t| {
                vec![
                    s(&ctx.database.name),
                    s("public"),
                    s(&t.name),
                    s("BASE TABLE"),
                ]
            })
            .collect(),
        "information_schema.columns" => {
            let mut out = Vec::new();
            for t in &tables {
                for (i, c) in t.columns.iter().enumerate() {
                    let (len, prec, scale) = match c.data_type {
                        DataType::Varchar(n) => (n.map(|n| n as i32), None, None),
                        DataType::Char(n) => (Some(n.unwrap_or(1) as i32), None, None),
                        DataType::Numeric { precision, scale } => {
                            (None, precision.map(i32::from), scale.map(i32::from))
                        }
                        DataType::SmallInt => (None, Some(16), Some(0)),
                        DataType::Integer => (None, Some(32), Some(0)),
                        DataType::BigInt => (None, Some(64), Some(0)),
                        _ => (None, None, None),
                    };
                    let opt = |v: Option<i32>| v.map(Value::Int32).unwrap_or(Value::Null);
                    out.push(vec![
                        s(&ctx.database.name),
                        s("public"),
                        s(&t.name),
                        s(&c.name),
                        Value::Int32(i as i32 + 1),
                        c.default
                            .as_ref()
                            .map(|d| s(&default_text(d)))
                            .unwrap_or(Value::Null),
                        s(if c.nullable { "YES" } else { "NO" }),
                        s(rosetta_types::type_name(&c.data_type)
                            .split('(')
                            .next()
                            .unwrap_or("")),
                        opt(len),
                        opt(prec),
                        opt(scale),
                    ]);
                }
            }
            out
        }
        "information_schema.schemata" => ["pg_catalog", "public", "information_schema"]
            .iter()
            .map(|n| vec![s(&ctx.database.name), s(n), s(&ctx.database.owner)])
            .collect(),
        _ => vec![],
    })
}

fn class_row(oid: i64, name: &str, kind: &str, has_index: bool) -> Row {
    vec![
        Value::Int64(oid),
        s(name),
        Value::Int64(PUBLIC_OID),
        s(kind),
        Value::Int64(OWNER_OID),
        Value::Int64(if kind == "i" { 403 } else { 2 }),
        Value::Float32(-1.0),
        Value::Bool(has_index),
        s("p"),
        Value::Int16(0),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(false),
        Value::Int64(0),
        Value::Int64(0),
        s("d"),
        Value::Int64(0),
        Value::Null,
        Value::Null,
    ]
}

fn default_text(e: &rosetta_bytecode::Expr) -> String {
    use rosetta_bytecode::{Expr, Literal};
    match e {
        Expr::Literal(Literal::Integer(i)) => i.to_string(),
        Expr::Literal(Literal::Decimal(d)) => d.clone(),
        Expr::Literal(Literal::String(s)) => format!("'{}'::text", s.replace('\'', "''")),
        Expr::Literal(Literal::Boolean(b)) => b.to_string(),
        Expr::Literal(Literal::Null) => "NULL".into(),
        Expr::Function(f) => format!("{}()", f.name),
        other => format!("{other:?}"),
    }
}

/// Catalog helper functions psql and drivers call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogFn {
    TableIsVisible,
    GetUserById,
    FormatType,
    EncodingToChar,
    ObjDescription,
    GetExpr,
    GetIndexDef,
    GetConstraintDef,
    RegClass,
    ArrayToString,
    QuoteIdent,
    HasPrivilege,
}

impl CatalogFn {
    /// Resolves a catalog function name.
    pub fn lookup(name: &str) -> Option<Self> {
        Some(match name {
            "pg_table_is_visible" | "pg_type_is_visible" => Self::TableIsVisible,
            "pg_get_userbyid" => Self::GetUserById,
            "format_type" => Self::FormatType,
            "pg_encoding_to_char" => Self::EncodingToChar,
            "obj_description" | "col_description" | "shobj_description" => Self::ObjDescription,
            "pg_get_expr" => Self::GetExpr,
            "pg_get_indexdef" => Self::GetIndexDef,
            "pg_get_constraintdef" => Self::GetConstraintDef,
            "regclass" => Self::RegClass,
            "array_to_string" => Self::ArrayToString,
            "quote_ident" => Self::QuoteIdent,
            "has_table_privilege" | "has_database_privilege" | "has_schema_privilege" => {
                Self::HasPrivilege
            }
            _ => return None,
        })
    }

    /// The result type.
    pub fn result_type(&self) -> DataType {
        match self {
            Self::TableIsVisible | Self::HasPrivilege => DataType::Boolean,
            Self::RegClass => DataType::BigInt,
            _ => DataType::Text,
        }
    }

    /// Evaluates the function.
    pub fn call(&self, args: &[Value], ctx: &ExecCtx) -> Result<Value> {
        let arg_i = |i: usize| args.get(i).and_then(|v| v.as_i64());
        let arg_s = |i: usize| args.get(i).and_then(to_text);
        Ok(match self {
            Self::TableIsVisible | Self::HasPrivilege => Value::Bool(true),
            Self::GetUserById => match arg_i(0) {
                Some(_) => s(&ctx.database.owner),
                None => Value::Null,
            },
            Self::FormatType => match arg_i(0) {
                Some(oid) => {
                    let tm = arg_i(1).unwrap_or(-1);
                    match BUILTIN_TYPES.iter().find(|(o, _, _)| *o == oid) {
                        Some((_, _, t)) => {
                            let t = match (t, tm) {
                                (DataType::Varchar(_), m) if m >= 4 => {
                                    DataType::Varchar(Some((m - 4) as u32))
                                }
                                (DataType::Char(_), m) if m >= 4 => {
                                    DataType::Char(Some((m - 4) as u32))
                                }
                                (DataType::Numeric { .. }, m) if m >= 4 => DataType::Numeric {
                                    precision: Some(((m - 4) >> 16) as u8),
                                    scale: Some(((m - 4) & 0xffff) as u8),
                                },
                                (t, _) => *t,
                            };
                            s(&rosetta_types::type_name(&t))
                        }
                        None => s("???"),
                    }
                }
                None => Value::Null,
            },
            Self::EncodingToChar => s("UTF8"),
            Self::ObjDescription => Value::Null,
            Self::GetExpr => args.first().cloned().unwrap_or(Value::Null),
            Self::GetIndexDef | Self::GetConstraintDef => {
                let Some(oid) = arg_i(0) else {
                    return Ok(Value::Null);
                };
                let oid = if *self == Self::GetConstraintDef {
                    oid - 1_000_000
                } else {
                    oid
                };
                for t in Catalog::new(ctx.txn).tables(ctx.database.id)? {
                    if let Some(i) = t.indexes.iter().find(|i| i.id as i64 == oid) {
                        let cols: Vec<&str> = i
                            .columns
                            .iter()
                            .map(|&c| t.columns[c].name.as_str())
                            .collect();
                        return Ok(s(&if *self == Self::GetConstraintDef {
                            format!(
                                "{} ({})",
                                if i.primary { "PRIMARY KEY" } else { "UNIQUE" },
                                cols.join(", ")
                            )
                        } else {
                            format!(
                                "CREATE {}INDEX {} ON public.{} USING btree ({})",
                                if i.unique { "UNIQUE " } else { "" },
                                i.name,
                                t.name,
                                cols.join(", ")
                            )
                        }));
                    }
                }
                Value::Null
            }
            Self::RegClass => match args.first() {
                Some(Value::Text(name)) => {
                    let ident = Ident::new(name.rsplit('.').next().unwrap_or(name));
                    match Catalog::new(ctx.txn).table(ctx.database.id, &ident)? {
                        Some(t) => Value::Int64(t.id as i64),
                        None => return Err(crate::error::Error::UndefinedTable(name.clone())),
                    }
                }
                Some(v) => v.clone(),
                None => Value::Null,
            },
            Self::ArrayToString => args.first().cloned().unwrap_or(Value::Null),
            Self::QuoteIdent => match arg_s(0) {
                Some(v) => s(&v),
                None => Value::Null,
            },
        })
    }
}
