//! Virtual catalogs: `pg_catalog` and `information_schema` tables generated on the fly
//! from the one catalog, inside the reading transaction (so they show exactly what that
//! transaction sees). psql's meta-commands and drivers query these. Firebird's `RDB$…`
//! tables are generated the same way, in [`crate::sql::rdb`].

use rosetta_bytecode::{DataType, Ident};
use rosetta_types::text::to_text;
use rosetta_types::Value;

use crate::catalog::{Catalog, TableDef, ViewDef};
use crate::error::Result;
use crate::sql::exec::{ExecCtx, Row};

const PG_CATALOG_OID: i64 = 11;
const PUBLIC_OID: i64 = 2200;
const INFO_SCHEMA_OID: i64 = 13000;
const OWNER_OID: i64 = 10;

use rosetta_bytecode::ElementType;
use DataType::{BigInt as I8, Boolean as B, Integer as I4, SmallInt as I2, Text as T};

/// `text[]` (and PostgreSQL's `aclitem[]`, `"char"[]`, which Rosetta shows as text).
const TA: DataType = DataType::Array(ElementType::Text);
/// `int2[]` (also standing in for `int2vector` columns that psql subscripts).
const I2A: DataType = DataType::Array(ElementType::SmallInt);
/// `oid[]` (oids are bigints in Rosetta).
const I8A: DataType = DataType::Array(ElementType::BigInt);
/// OID of the default collation (`pg_collation`).
const DEFAULT_COLLATION_OID: i64 = 100;
/// OID of the `pg_default` tablespace.
const DEFAULT_TABLESPACE_OID: i64 = 1663;

/// The virtual tables and their columns.
const TABLES: &[(&str, &[(&str, DataType)])] = &[
    (
        "pg_namespace",
        &[
            ("oid", I8),
            ("nspname", T),
            ("nspowner", I8),
            ("nspacl", TA),
        ],
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
            ("relacl", TA),
            ("reloptions", TA),
            ("relpartbound", T),
            ("relnatts", I2),
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
            ("attstorage", T),
            ("attcompression", T),
            ("attstattarget", I4),
            ("attlen", I2),
            ("attislocal", B),
            ("attinhcount", I4),
            ("attacl", TA),
            ("attoptions", TA),
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
            ("typelem", I8),
            ("typarray", I8),
            ("typcategory", T),
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
            ("datacl", TA),
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
            ("indisreplident", B),
            ("indisexclusion", B),
            ("indimmediate", B),
            ("indnkeyatts", I2),
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
            ("connamespace", I8),
            ("condeferrable", B),
            ("condeferred", B),
            ("convalidated", B),
            ("conkey", I2A),
            ("confrelid", I8),
            ("conislocal", B),
            ("coninhcount", I4),
            ("conparentid", I8),
        ],
    ),
    (
        "pg_collation",
        &[
            ("oid", I8),
            ("collname", T),
            ("collnamespace", I8),
            ("collowner", I8),
            ("collprovider", T),
            ("collisdeterministic", B),
            ("collencoding", I4),
            ("collcollate", T),
            ("collctype", T),
        ],
    ),
    (
        "pg_auth_members",
        &[
            ("roleid", I8),
            ("member", I8),
            ("grantor", I8),
            ("admin_option", B),
        ],
    ),
    (
        "pg_policy",
        &[
            ("oid", I8),
            ("polname", T),
            ("polrelid", I8),
            ("polcmd", T),
            ("polpermissive", B),
            ("polroles", I8A),
            ("polqual", T),
            ("polwithcheck", T),
        ],
    ),
    (
        "pg_statistic_ext",
        &[
            ("oid", I8),
            ("stxrelid", I8),
            ("stxname", T),
            ("stxnamespace", I8),
            ("stxowner", I8),
            ("stxstattarget", I4),
            ("stxkeys", I2A),
            ("stxkind", TA),
            ("stxexprs", T),
        ],
    ),
    (
        "pg_publication",
        &[
            ("oid", I8),
            ("pubname", T),
            ("pubowner", I8),
            ("puballtables", B),
            ("pubinsert", B),
            ("pubupdate", B),
            ("pubdelete", B),
            ("pubtruncate", B),
            ("pubviaroot", B),
        ],
    ),
    (
        "pg_publication_rel",
        &[
            ("oid", I8),
            ("prpubid", I8),
            ("prrelid", I8),
            ("prqual", T),
            ("prattrs", I2A),
        ],
    ),
    (
        "pg_publication_namespace",
        &[("oid", I8), ("pnpubid", I8), ("pnnspid", I8)],
    ),
    (
        "pg_inherits",
        &[
            ("inhrelid", I8),
            ("inhparent", I8),
            ("inhseqno", I4),
            ("inhdetachpending", B),
        ],
    ),
    (
        "pg_partitioned_table",
        &[
            ("partrelid", I8),
            ("partstrat", T),
            ("partnatts", I2),
            ("partdefid", I8),
            ("partattrs", I2A),
            ("partexprs", T),
        ],
    ),
    (
        "pg_trigger",
        &[
            ("oid", I8),
            ("tgrelid", I8),
            ("tgparentid", I8),
            ("tgname", T),
            ("tgfoid", I8),
            ("tgtype", I2),
            ("tgenabled", T),
            ("tgisinternal", B),
            ("tgconstraint", I8),
            ("tgdeferrable", B),
            ("tginitdeferred", B),
            ("tgnargs", I2),
        ],
    ),
    (
        "pg_rewrite",
        &[
            ("oid", I8),
            ("rulename", T),
            ("ev_class", I8),
            ("ev_type", T),
            ("ev_enabled", T),
            ("is_instead", B),
            ("ev_qual", T),
            ("ev_action", T),
        ],
    ),
    (
        "pg_foreign_table",
        &[("ftrelid", I8), ("ftserver", I8), ("ftoptions", TA)],
    ),
    (
        "pg_tablespace",
        &[
            ("oid", I8),
            ("spcname", T),
            ("spcowner", I8),
            ("spcacl", TA),
            ("spcoptions", TA),
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
            // MySQL's extra columns (`DESCRIBE`, `SHOW COLUMNS`).
            ("column_type", T),
            ("column_key", T),
            ("extra", T),
        ],
    ),
    (
        "information_schema.schemata",
        &[("catalog_name", T), ("schema_name", T), ("schema_owner", T)],
    ),
    (
        "pg_views",
        &[
            ("schemaname", T),
            ("viewname", T),
            ("viewowner", T),
            ("definition", T),
        ],
    ),
    (
        "information_schema.views",
        &[
            ("table_catalog", T),
            ("table_schema", T),
            ("table_name", T),
            ("view_definition", T),
            ("check_option", T),
            ("is_updatable", T),
            ("is_insertable_into", T),
        ],
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
    if schema.is_none() {
        if let Some(t) = crate::sql::rdb::resolve(&lname) {
            return Some(t);
        }
    }
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
    if let Some(cols) = crate::sql::rdb::columns(name) {
        return cols;
    }
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
        DataType::Time => 1083,
        DataType::Numeric { .. } => 1700,
        DataType::Array(e) => array_type_oid(*e),
    }
}

/// PostgreSQL's OID of the array type over `e` (`_int4` is 1007 …).
fn array_type_oid(e: ElementType) -> i64 {
    match e {
        ElementType::Boolean => 1000,
        ElementType::Bytea => 1001,
        ElementType::SmallInt => 1005,
        ElementType::Integer => 1007,
        ElementType::Text => 1009,
        ElementType::Char => 1014,
        ElementType::Varchar => 1015,
        ElementType::BigInt => 1016,
        ElementType::Real => 1021,
        ElementType::Double => 1022,
        ElementType::Timestamp => 1115,
        ElementType::Time => 1183,
        ElementType::Date => 1182,
        ElementType::Numeric => 1231,
    }
}

/// Whether values of a type are compared with a collation (character types).
fn is_collatable(t: &DataType) -> bool {
    match t {
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => true,
        DataType::Array(e) => is_collatable(&e.data_type()),
        _ => false,
    }
}

/// `pg_type.typlen`.
fn type_len(t: &DataType) -> i16 {
    match t {
        DataType::Boolean => 1,
        DataType::SmallInt => 2,
        DataType::Integer | DataType::Real | DataType::Date => 4,
        DataType::BigInt | DataType::Double | DataType::Timestamp => 8,
        _ => -1,
    }
}

/// `pg_attribute.attstorage` for a type, as PostgreSQL's defaults: `p`lain for
/// fixed-length types, `m`ain for numeric, e`x`tended for other variable-length ones.
fn storage(t: &DataType) -> &'static str {
    match t {
        DataType::Numeric { .. } => "m",
        t if type_len(t) > 0 => "p",
        _ => "x",
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

/// The types `pg_type` lists and `format_type` knows: Rosetta's scalar types and the
/// arrays over them.
const BUILTIN_TYPES: &[(i64, &str, DataType)] = &[
    (1000, "_bool", DataType::Array(ElementType::Boolean)),
    (1001, "_bytea", DataType::Array(ElementType::Bytea)),
    (1005, "_int2", DataType::Array(ElementType::SmallInt)),
    (1007, "_int4", DataType::Array(ElementType::Integer)),
    (1009, "_text", DataType::Array(ElementType::Text)),
    (1014, "_bpchar", DataType::Array(ElementType::Char)),
    (1015, "_varchar", DataType::Array(ElementType::Varchar)),
    (1016, "_int8", DataType::Array(ElementType::BigInt)),
    (1021, "_float4", DataType::Array(ElementType::Real)),
    (1022, "_float8", DataType::Array(ElementType::Double)),
    (1115, "_timestamp", DataType::Array(ElementType::Timestamp)),
    (1182, "_date", DataType::Array(ElementType::Date)),
    (1231, "_numeric", DataType::Array(ElementType::Numeric)),
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
    if crate::sql::rdb::resolve(name).is_some() {
        return crate::sql::rdb::rows(name, ctx);
    }
    let cat = Catalog::new(ctx.txn);
    let tables: Vec<TableDef> = cat.tables(ctx.database.id)?;
    let views: Vec<ViewDef> = cat.views(ctx.database.id)?;
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
                    !t.indexes.is_empty(),
                    t.columns.len(),
                ));
                // The live-row count of the last ANALYZE (-1 until then, as PostgreSQL).
                if let Some(n) = crate::sql::maint::row_estimate(ctx.txn, t.id)? {
                    if let Some(row) = out.last_mut() {
                        row[6] = Value::Float32(n as f32);
                    }
                }
                for i in &t.indexes {
                    out.push(class_row(i.id as i64, &i.name, "i", false, i.columns.len()));
                }
            }
            for v in &views {
                out.push(class_row(v.id as i64, &v.name, "v", false, v.columns.len()));
            }
            for q in cat.sequences(ctx.database.id)? {
                out.push(class_row(q.id as i64, &q.name, "S", false, 3));
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
                        Value::Int64(collation(&c.data_type)),
                        s(storage(&c.data_type)),
                        s(""),
                        Value::Int32(-1),
                        Value::Int16(type_len(&c.data_type)),
                        Value::Bool(true),
                        Value::Int32(0),
                        Value::Null,
                        Value::Null,
                    ]);
                }
            }
            for v in &views {
                for (i, c) in v.columns.iter().enumerate() {
                    out.push(vec![
                        Value::Int64(v.id as i64),
                        s(&c.name),
                        Value::Int64(type_oid(&c.data_type)),
                        Value::Int16(i as i16 + 1),
                        Value::Int32(typmod(&c.data_type)),
                        Value::Bool(false),
                        Value::Bool(false),
                        Value::Bool(false),
                        s(""),
                        s(""),
                        Value::Int64(collation(&c.data_type)),
                        s(storage(&c.data_type)),
                        s(""),
                        Value::Int32(-1),
                        Value::Int16(type_len(&c.data_type)),
                        Value::Bool(true),
                        Value::Int32(0),
                        Value::Null,
                        Value::Null,
                    ]);
                }
            }
            out
        }
        "pg_type" => BUILTIN_TYPES
            .iter()
            .map(|(oid, n, t)| {
                let (elem, array) = match t {
                    DataType::Array(e) => (type_oid(&e.data_type()), 0),
                    t => (0, t.array_of().map(|a| type_oid(&a)).unwrap_or(0)),
                };
                vec![
                    Value::Int64(*oid),
                    s(n),
                    Value::Int64(PG_CATALOG_OID),
                    Value::Int16(type_len(t)),
                    s("b"),
                    Value::Int64(collation(t)),
                    Value::Int64(elem),
                    Value::Int64(array),
                    s(type_category(t)),
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
                        Value::Bool(false),
                        Value::Bool(false),
                        Value::Bool(true),
                        Value::Int16(i.columns.len() as i16),
                    ]);
                }
            }
            out
        }
        "pg_am" => vec![
            vec![Value::Int64(2), s("heap")],
            vec![Value::Int64(403), s("btree")],
        ],
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
                for i in t.indexes.iter().filter(|i| i.constraint || i.primary) {
                    out.push(vec![
                        Value::Int64(i.id as i64 + CONSTRAINT_OID_OFFSET),
                        s(&i.name),
                        Value::Int64(t.id as i64),
                        s(if i.primary { "p" } else { "u" }),
                        Value::Int64(i.id as i64),
                        Value::Int64(PUBLIC_OID),
                        Value::Bool(false),
                        Value::Bool(false),
                        Value::Bool(true),
                        Value::Array(
                            i.columns
                                .iter()
                                .map(|c| Value::Int16(*c as i16 + 1))
                                .collect(),
                        ),
                        Value::Int64(0),
                        Value::Bool(true),
                        Value::Int32(0),
                        Value::Int64(0),
                    ]);
                }
            }
            out
        }
        "pg_description" => vec![],
        "pg_collation" => [
            (DEFAULT_COLLATION_OID, "default", "d"),
            (950, "C", "c"),
            (951, "POSIX", "c"),
        ]
        .iter()
        .map(|(oid, name, provider)| {
            vec![
                Value::Int64(*oid),
                s(name),
                Value::Int64(PG_CATALOG_OID),
                Value::Int64(OWNER_OID),
                s(provider),
                Value::Bool(true),
                Value::Int32(-1),
                if *provider == "d" { n.clone() } else { s(name) },
                if *provider == "d" { n.clone() } else { s(name) },
            ]
        })
        .collect(),
        "pg_tablespace" => [(DEFAULT_TABLESPACE_OID, "pg_default"), (1664, "pg_global")]
            .iter()
            .map(|(oid, name)| {
                vec![
                    Value::Int64(*oid),
                    s(name),
                    Value::Int64(OWNER_OID),
                    n.clone(),
                    n.clone(),
                ]
            })
            .collect(),
        // Catalogs of features Rosetta does not have (role membership, row security,
        // extended statistics, publications, inheritance and partitions, triggers,
        // rules, foreign tables): always empty, but queryable.
        "pg_auth_members"
        | "pg_policy"
        | "pg_statistic_ext"
        | "pg_publication"
        | "pg_publication_rel"
        | "pg_publication_namespace"
        | "pg_inherits"
        | "pg_partitioned_table"
        | "pg_trigger"
        | "pg_rewrite"
        | "pg_foreign_table" => {
            vec![]
        }
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
            .map(|t| (&t.name, "BASE TABLE"))
            .chain(views.iter().map(|v| (&v.name, "VIEW")))
            .map(|(name, kind)| vec![s(&ctx.database.name), s("public"), s(name), s(kind)])
            .collect(),
        "pg_views" => views
            .iter()
            .map(|v| vec![s("public"), s(&v.name), s(&v.owner), s(&view_definition(v))])
            .collect(),
        "information_schema.views" => views
            .iter()
            .map(|v| {
                vec![
                    s(&ctx.database.name),
                    s("public"),
                    s(&v.name),
                    s(&view_definition(v)),
                    s("NONE"),
                    s("NO"),
                    s("NO"),
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
                        s(&mysql_column_type(&c.data_type)),
                        s(mysql_column_key(t, i)),
                        s(if c.auto_increment.is_some() {
                            "auto_increment"
                        } else {
                            ""
                        }),
                    ]);
                }
            }
            for v in &views {
                for (i, c) in v.columns.iter().enumerate() {
                    out.push(vec![
                        s(&ctx.database.name),
                        s("public"),
                        s(&v.name),
                        s(&c.name),
                        Value::Int32(i as i32 + 1),
                        Value::Null,
                        s("YES"),
                        s(rosetta_types::type_name(&c.data_type)
                            .split('(')
                            .next()
                            .unwrap_or("")),
                        Value::Null,
                        Value::Null,
                        Value::Null,
                        s(&mysql_column_type(&c.data_type)),
                        s(""),
                        s(""),
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

/// A column type as MySQL spells it in `information_schema.columns.column_type`.
fn mysql_column_type(t: &DataType) -> String {
    match t {
        DataType::Boolean => "tinyint(1)".into(),
        DataType::SmallInt => "smallint".into(),
        DataType::Integer => "int".into(),
        DataType::BigInt => "bigint".into(),
        DataType::Numeric {
            precision: Some(p),
            scale,
        } => format!("decimal({p},{})", scale.unwrap_or(0)),
        DataType::Numeric {
            precision: None, ..
        } => "decimal(65,30)".into(),
        DataType::Real => "float".into(),
        DataType::Double => "double".into(),
        DataType::Text => "text".into(),
        DataType::Varchar(Some(n)) => format!("varchar({n})"),
        DataType::Varchar(None) => "text".into(),
        DataType::Char(n) => format!("char({})", n.unwrap_or(1)),
        DataType::Bytea => "blob".into(),
        DataType::Date => "date".into(),
        DataType::Timestamp => "datetime(6)".into(),
        DataType::Time => "time(6)".into(),
        DataType::Array(_) => rosetta_types::type_name(t),
    }
}

/// `PRI` / `UNI` / `""` for column `col` of `t`, as MySQL's `column_key` shows it.
fn mysql_column_key(t: &TableDef, col: usize) -> &'static str {
    if t.primary_key.contains(&col) {
        "PRI"
    } else if t
        .indexes
        .iter()
        .any(|i| i.unique && !i.primary && i.columns.first() == Some(&col))
    {
        "UNI"
    } else {
        ""
    }
}

/// Constraint OIDs are their index's OID plus this (a constraint is shown by its index).
const CONSTRAINT_OID_OFFSET: i64 = 1_000_000;

/// The collation of a type's values: the default one for character types, else none.
fn collation(t: &DataType) -> i64 {
    if is_collatable(t) {
        DEFAULT_COLLATION_OID
    } else {
        0
    }
}

/// `pg_type.typcategory`.
fn type_category(t: &DataType) -> &'static str {
    match t {
        DataType::Boolean => "B",
        DataType::SmallInt
        | DataType::Integer
        | DataType::BigInt
        | DataType::Real
        | DataType::Double
        | DataType::Numeric { .. } => "N",
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => "S",
        DataType::Date | DataType::Timestamp | DataType::Time => "D",
        DataType::Bytea => "U",
        DataType::Array(_) => "A",
    }
}

fn class_row(oid: i64, name: &str, kind: &str, has_index: bool, natts: usize) -> Row {
    vec![
        Value::Int64(oid),
        s(name),
        Value::Int64(PUBLIC_OID),
        s(kind),
        Value::Int64(OWNER_OID),
        Value::Int64(match kind {
            "i" => 403,
            "v" => 0,
            _ => 2,
        }),
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
        Value::Null,
        Value::Int16(i16::try_from(natts).unwrap_or(i16::MAX)),
    ]
}

/// A view's definition text as `pg_get_viewdef` shows it (PostgreSQL indents the query
/// and ends it with a semicolon).
fn view_definition(v: &ViewDef) -> String {
    match &v.definition {
        Some(text) => format!(" {text};"),
        None => String::new(),
    }
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
        Expr::NextValue {
            sequence,
            step: None,
        } => {
            let name: Vec<&str> = sequence.iter().map(|p| p.value.as_str()).collect();
            format!(
                "nextval('{}'::regclass)",
                name.join(".").replace('\'', "''")
            )
        }
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
    /// `x::regtype`: a type OID shown as its name (text input is kept as it is).
    RegType,
    /// `x::regnamespace`: a schema OID shown as its name.
    RegNamespace,
    QuoteIdent,
    HasPrivilege,
    /// `pg_get_statisticsobjdef_columns(oid)`: Rosetta has no extended statistics.
    StatisticsObjDefColumns,
    /// `pg_relation_is_publishable(rel)`: true for tables.
    RelationIsPublishable,
    /// `pg_get_viewdef(oid [, pretty])`: a view's query text.
    GetViewDef,
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
            "regtype" => Self::RegType,
            "regnamespace" => Self::RegNamespace,
            "quote_ident" => Self::QuoteIdent,
            "has_table_privilege" | "has_database_privilege" | "has_schema_privilege" => {
                Self::HasPrivilege
            }
            "pg_get_statisticsobjdef_columns" => Self::StatisticsObjDefColumns,
            "pg_relation_is_publishable" => Self::RelationIsPublishable,
            "pg_get_viewdef" => Self::GetViewDef,
            _ => return None,
        })
    }

    /// The result type.
    pub fn result_type(&self) -> DataType {
        match self {
            Self::TableIsVisible | Self::HasPrivilege | Self::RelationIsPublishable => {
                DataType::Boolean
            }
            Self::RegClass => DataType::BigInt,
            _ => DataType::Text,
        }
    }

    /// Evaluates the function.
    pub fn call(&self, args: &[Value], ctx: &ExecCtx) -> Result<Value> {
        let arg_i = |i: usize| {
            args.get(i).and_then(|v| match v {
                Value::Text(t) => t.trim().parse().ok(),
                v => v.as_i64(),
            })
        };
        let arg_s = |i: usize| args.get(i).and_then(to_text);
        Ok(match self {
            Self::TableIsVisible | Self::HasPrivilege => Value::Bool(true),
            Self::GetUserById => match arg_i(0) {
                Some(_) => s(&ctx.database.owner),
                None => Value::Null,
            },
            Self::FormatType => match arg_i(0) {
                Some(oid) => match type_by_oid(oid) {
                    Some(t) => s(&rosetta_types::type_name(&with_typmod(t, arg_i(1)))),
                    None => s("???"),
                },
                None => Value::Null,
            },
            Self::RegType => match args.first() {
                Some(Value::Null) | None => Value::Null,
                Some(Value::Text(name)) => s(name),
                Some(_) => match arg_i(0) {
                    Some(0) => s("-"),
                    Some(oid) => match type_by_oid(oid) {
                        Some(t) => s(&rosetta_types::type_name(&t)),
                        None => s(&oid.to_string()),
                    },
                    None => Value::Null,
                },
            },
            Self::RegNamespace => match args.first() {
                Some(Value::Null) | None => Value::Null,
                Some(Value::Text(name)) => s(name),
                Some(_) => match arg_i(0) {
                    Some(PG_CATALOG_OID) => s("pg_catalog"),
                    Some(PUBLIC_OID) => s("public"),
                    Some(INFO_SCHEMA_OID) => s("information_schema"),
                    Some(oid) => s(&oid.to_string()),
                    None => Value::Null,
                },
            },
            Self::EncodingToChar => s("UTF8"),
            Self::ObjDescription | Self::StatisticsObjDefColumns => Value::Null,
            Self::RelationIsPublishable => match arg_i(0) {
                Some(oid) => Value::Bool(
                    Catalog::new(ctx.txn)
                        .tables(ctx.database.id)?
                        .iter()
                        .any(|t| t.id as i64 == oid),
                ),
                None => Value::Null,
            },
            Self::GetExpr => args.first().cloned().unwrap_or(Value::Null),
            Self::GetViewDef => match arg_i(0) {
                Some(oid) => Catalog::new(ctx.txn)
                    .views(ctx.database.id)?
                    .iter()
                    .find(|v| v.id as i64 == oid)
                    .map(|v| s(&view_definition(v)))
                    .unwrap_or(Value::Null),
                None => Value::Null,
            },
            Self::GetIndexDef => match arg_i(0) {
                Some(oid) => index_def(ctx, oid, arg_i(1).unwrap_or(0))?,
                None => Value::Null,
            },
            Self::GetConstraintDef => match arg_i(0) {
                Some(oid) => constraint_def(ctx, oid - CONSTRAINT_OID_OFFSET)?,
                None => Value::Null,
            },
            Self::RegClass => match args.first() {
                Some(Value::Text(name)) => {
                    let ident = Ident::new(name.rsplit('.').next().unwrap_or(name));
                    match Catalog::new(ctx.txn).relation(ctx.database.id, &ident)? {
                        Some(crate::catalog::Relation::Table(t)) => Value::Int64(t.id as i64),
                        Some(crate::catalog::Relation::View(v)) => Value::Int64(v.id as i64),
                        None => return Err(crate::error::Error::UndefinedTable(name.clone())),
                    }
                }
                Some(v) => v.clone(),
                None => Value::Null,
            },
            Self::QuoteIdent => match arg_s(0) {
                Some(v) => s(&quote_ident(&v)),
                None => Value::Null,
            },
        })
    }
}

/// The type a `pg_type` OID stands for.
fn type_by_oid(oid: i64) -> Option<DataType> {
    BUILTIN_TYPES
        .iter()
        .find(|(o, _, _)| *o == oid)
        .map(|(_, _, t)| *t)
}

/// Applies an `atttypmod` to a type, as `format_type(oid, typmod)` does.
fn with_typmod(t: DataType, typmod: Option<i64>) -> DataType {
    let Some(m) = typmod.filter(|m| *m >= 4) else {
        return t;
    };
    let m = m - 4;
    match t {
        DataType::Varchar(_) => DataType::Varchar(u32::try_from(m).ok()),
        DataType::Char(_) => DataType::Char(u32::try_from(m).ok()),
        DataType::Numeric { .. } => DataType::Numeric {
            precision: u8::try_from(m >> 16).ok(),
            scale: u8::try_from(m & 0xffff).ok(),
        },
        t => t,
    }
}

/// PostgreSQL's `quote_ident`: double quotes unless the name is a plain lower-case
/// identifier.
fn quote_ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Finds an index (by OID) and its table.
fn find_index(ctx: &ExecCtx, oid: i64) -> Result<Option<(TableDef, crate::catalog::IndexDef)>> {
    for t in Catalog::new(ctx.txn).tables(ctx.database.id)? {
        if let Some(i) = t.indexes.iter().find(|i| i.id as i64 == oid).cloned() {
            return Ok(Some((t, i)));
        }
    }
    Ok(None)
}

/// The (quoted) names of an index's key columns.
fn key_columns(t: &TableDef, columns: &[usize]) -> Vec<String> {
    columns
        .iter()
        .map(|&c| {
            t.columns
                .get(c)
                .map(|col| quote_ident(&col.name))
                .unwrap_or_else(|| "?".into())
        })
        .collect()
}

/// `pg_get_indexdef(index, column, pretty)`: the whole `CREATE INDEX` statement for
/// column 0, else the name of that key column.
fn index_def(ctx: &ExecCtx, oid: i64, column: i64) -> Result<Value> {
    let Some((t, i)) = find_index(ctx, oid)? else {
        return Ok(Value::Null);
    };
    let cols = key_columns(&t, &i.columns);
    if column != 0 {
        return Ok(usize::try_from(column - 1)
            .ok()
            .and_then(|c| cols.get(c))
            .map(|c| s(c))
            .unwrap_or(Value::Null));
    }
    Ok(s(&format!(
        "CREATE {}INDEX {} ON public.{} USING btree ({})",
        if i.unique { "UNIQUE " } else { "" },
        quote_ident(&i.name),
        quote_ident(&t.name),
        cols.join(", ")
    )))
}

/// `pg_get_constraintdef(constraint)`: `PRIMARY KEY (…)` / `UNIQUE (…)`.
fn constraint_def(ctx: &ExecCtx, index_oid: i64) -> Result<Value> {
    let Some((t, i)) = find_index(ctx, index_oid)? else {
        return Ok(Value::Null);
    };
    if !(i.constraint || i.primary) {
        return Ok(Value::Null);
    }
    Ok(s(&format!(
        "{} ({})",
        if i.primary { "PRIMARY KEY" } else { "UNIQUE" },
        key_columns(&t, &i.columns).join(", ")
    )))
}
