//! Firebird's system tables (`RDB$DATABASE`, `RDB$RELATIONS`, `RDB$RELATION_FIELDS`,
//! `RDB$FIELDS`, `RDB$INDICES`, `RDB$INDEX_SEGMENTS`, `RDB$RELATION_CONSTRAINTS`,
//! `RDB$GENERATORS`, `RDB$CHARACTER_SETS`, `RDB$COLLATIONS`, `RDB$CHECK_CONSTRAINTS`,
//! `RDB$TRIGGERS`) as read-only views of the one catalog, generated on each read like
//! the rest of [`crate::vcat`].
//!
//! Column names and types follow Firebird 3's, so that SQL written for Firebird and the
//! metadata requests isql compiles (its `SHOW` commands) find what they expect:
//!
//! * names are `CHAR(63)`, blank-padded, as `RDB$…` names are (Firebird 3 itself has
//!   `CHAR(31)`; 63 keeps Rosetta's longer names whole);
//! * a name stored in lower case that is a plain identifier (what PostgreSQL's and
//!   MySQL's unquoted names become) is shown upper-cased, which is how Firebird would
//!   have stored the same unquoted name — `SHOW TABLE emp` then finds `emp`;
//! * every column has its own domain `RDB$<n>` in `RDB$FIELDS`, as Firebird creates one
//!   for a column declared with a type; `RDB$FIELD_TYPE` carries Firebird's type codes
//!   (7 SMALLINT, 8 INTEGER, 16 BIGINT, 10 FLOAT, 27 DOUBLE, 12 DATE, 13 TIME,
//!   35 TIMESTAMP, 14 CHAR, 37 VARCHAR, 23 BOOLEAN, 261 BLOB);
//! * a NOT NULL column has a `NOT NULL` constraint `INTEG_<n>` in
//!   `RDB$RELATION_CONSTRAINTS`, tied to the column by `RDB$CHECK_CONSTRAINTS` (its
//!   `RDB$TRIGGER_NAME` holds the column name), as Firebird records it;
//! * relation ids, index ids and domain numbers are positions in the catalog as the
//!   reading transaction sees it: consistent within a statement, not stable across DDL.

use rosetta_bytecode::DataType;
use rosetta_types::Value;

use crate::catalog::{Catalog, SequenceDef, TableDef, ViewDef};
use crate::error::Result;
use crate::sql::exec::{ExecCtx, Row};

/// `CHAR(63)`: an object name.
const NAME: DataType = DataType::Char(Some(63));
const I2: DataType = DataType::SmallInt;
const I4: DataType = DataType::Integer;
const I8: DataType = DataType::BigInt;
/// A text BLOB (descriptions, sources).
const TEXT_BLOB: DataType = DataType::Text;
/// A BLR BLOB (NULL here, but for [`VIEW_BLR`]: Rosetta keeps no BLR).
const BLR_BLOB: DataType = DataType::Bytea;
/// `RDB$VIEW_BLR` of a view: an empty BLR program (`blr_version5`, `blr_eoc`). Rosetta
/// keeps a view as bytecode, not BLR, but Firebird tools (isql's `SHOW TABLES` and
/// `SHOW VIEWS`) tell a view from a table by this column being present.
const VIEW_BLR: &[u8] = &[5, 76];

/// Width of the name columns.
const NAME_LEN: usize = 63;
/// Firebird's first user relation id.
const FIRST_RELATION_ID: i64 = 128;
/// UTF8's character set id.
const UTF8: i16 = 4;

/// The character sets listed in `RDB$CHARACTER_SETS`, as Firebird 3 numbers them:
/// `(name, id, bytes per character)`. Rosetta stores all text as UTF-8; these are the
/// sets a Firebird client names when it connects or describes a column.
const CHARACTER_SETS: &[(&str, i64, i64)] = &[
    ("NONE", 0, 1),
    ("OCTETS", 1, 1),
    ("ASCII", 2, 1),
    ("UNICODE_FSS", 3, 3),
    ("UTF8", 4, 4),
];

/// The collations listed in `RDB$COLLATIONS`: `(name, collation id, character set id,
/// attributes, base collation)`, Firebird 3's for [`CHARACTER_SETS`].
const COLLATIONS: &[(&str, i64, i64, i64, Option<&str>)] = &[
    ("NONE", 0, 0, 1, None),
    ("OCTETS", 0, 1, 1, None),
    ("ASCII", 0, 2, 1, None),
    ("UNICODE_FSS", 0, 3, 1, None),
    ("UTF8", 0, 4, 1, None),
    ("UCS_BASIC", 1, 4, 1, None),
    ("UNICODE", 2, 4, 1, None),
    ("UNICODE_CI", 3, 4, 3, Some("UNICODE")),
    ("UNICODE_CI_AI", 4, 4, 7, Some("UNICODE")),
];

/// The tables, as `(lower-case name, columns)`.
pub const TABLES: &[(&str, &[(&str, DataType)])] = &[
    (
        "rdb$database",
        &[
            ("RDB$DESCRIPTION", TEXT_BLOB),
            ("RDB$RELATION_ID", I2),
            ("RDB$SECURITY_CLASS", NAME),
            ("RDB$CHARACTER_SET_NAME", NAME),
            ("RDB$LINGER", I4),
        ],
    ),
    (
        "rdb$relations",
        &[
            ("RDB$VIEW_BLR", BLR_BLOB),
            ("RDB$VIEW_SOURCE", TEXT_BLOB),
            ("RDB$DESCRIPTION", TEXT_BLOB),
            ("RDB$RELATION_ID", I2),
            ("RDB$SYSTEM_FLAG", I2),
            ("RDB$DBKEY_LENGTH", I2),
            ("RDB$FORMAT", I2),
            ("RDB$FIELD_ID", I2),
            ("RDB$RELATION_NAME", NAME),
            ("RDB$SECURITY_CLASS", NAME),
            ("RDB$EXTERNAL_FILE", DataType::Varchar(Some(255))),
            ("RDB$RUNTIME", BLR_BLOB),
            ("RDB$EXTERNAL_DESCRIPTION", BLR_BLOB),
            ("RDB$OWNER_NAME", NAME),
            ("RDB$DEFAULT_CLASS", NAME),
            ("RDB$FLAGS", I2),
            ("RDB$RELATION_TYPE", I2),
        ],
    ),
    (
        "rdb$relation_fields",
        &[
            ("RDB$FIELD_NAME", NAME),
            ("RDB$RELATION_NAME", NAME),
            ("RDB$FIELD_SOURCE", NAME),
            ("RDB$QUERY_NAME", NAME),
            ("RDB$BASE_FIELD", NAME),
            ("RDB$EDIT_STRING", DataType::Varchar(Some(127))),
            ("RDB$FIELD_POSITION", I2),
            ("RDB$QUERY_HEADER", TEXT_BLOB),
            ("RDB$UPDATE_FLAG", I2),
            ("RDB$FIELD_ID", I2),
            ("RDB$VIEW_CONTEXT", I2),
            ("RDB$DESCRIPTION", TEXT_BLOB),
            ("RDB$DEFAULT_VALUE", BLR_BLOB),
            ("RDB$SYSTEM_FLAG", I2),
            ("RDB$SECURITY_CLASS", NAME),
            ("RDB$COMPLEX_NAME", NAME),
            ("RDB$NULL_FLAG", I2),
            ("RDB$DEFAULT_SOURCE", TEXT_BLOB),
            ("RDB$COLLATION_ID", I2),
            ("RDB$GENERATOR_NAME", NAME),
            ("RDB$IDENTITY_TYPE", I2),
        ],
    ),
    (
        "rdb$fields",
        &[
            ("RDB$FIELD_NAME", NAME),
            ("RDB$QUERY_NAME", NAME),
            ("RDB$VALIDATION_BLR", BLR_BLOB),
            ("RDB$VALIDATION_SOURCE", TEXT_BLOB),
            ("RDB$COMPUTED_BLR", BLR_BLOB),
            ("RDB$COMPUTED_SOURCE", TEXT_BLOB),
            ("RDB$DEFAULT_VALUE", BLR_BLOB),
            ("RDB$DEFAULT_SOURCE", TEXT_BLOB),
            ("RDB$FIELD_LENGTH", I2),
            ("RDB$FIELD_SCALE", I2),
            ("RDB$FIELD_TYPE", I2),
            ("RDB$FIELD_SUB_TYPE", I2),
            ("RDB$MISSING_VALUE", BLR_BLOB),
            ("RDB$MISSING_SOURCE", TEXT_BLOB),
            ("RDB$DESCRIPTION", TEXT_BLOB),
            ("RDB$SYSTEM_FLAG", I2),
            ("RDB$QUERY_HEADER", TEXT_BLOB),
            ("RDB$SEGMENT_LENGTH", I2),
            ("RDB$EDIT_STRING", DataType::Varchar(Some(127))),
            ("RDB$EXTERNAL_LENGTH", I2),
            ("RDB$EXTERNAL_SCALE", I2),
            ("RDB$EXTERNAL_TYPE", I2),
            ("RDB$DIMENSIONS", I2),
            ("RDB$NULL_FLAG", I2),
            ("RDB$CHARACTER_LENGTH", I2),
            ("RDB$COLLATION_ID", I2),
            ("RDB$CHARACTER_SET_ID", I2),
            ("RDB$FIELD_PRECISION", I2),
            ("RDB$SECURITY_CLASS", NAME),
            ("RDB$OWNER_NAME", NAME),
        ],
    ),
    (
        "rdb$indices",
        &[
            ("RDB$INDEX_NAME", NAME),
            ("RDB$RELATION_NAME", NAME),
            ("RDB$INDEX_ID", I2),
            ("RDB$UNIQUE_FLAG", I2),
            ("RDB$DESCRIPTION", TEXT_BLOB),
            ("RDB$SEGMENT_COUNT", I2),
            ("RDB$INDEX_INACTIVE", I2),
            ("RDB$INDEX_TYPE", I2),
            ("RDB$FOREIGN_KEY", NAME),
            ("RDB$SYSTEM_FLAG", I2),
            ("RDB$EXPRESSION_BLR", BLR_BLOB),
            ("RDB$EXPRESSION_SOURCE", TEXT_BLOB),
            ("RDB$STATISTICS", DataType::Double),
        ],
    ),
    (
        "rdb$index_segments",
        &[
            ("RDB$INDEX_NAME", NAME),
            ("RDB$FIELD_NAME", NAME),
            ("RDB$FIELD_POSITION", I2),
            ("RDB$STATISTICS", DataType::Double),
        ],
    ),
    (
        "rdb$relation_constraints",
        &[
            ("RDB$CONSTRAINT_NAME", NAME),
            ("RDB$CONSTRAINT_TYPE", DataType::Char(Some(11))),
            ("RDB$RELATION_NAME", NAME),
            ("RDB$DEFERRABLE", DataType::Char(Some(3))),
            ("RDB$INITIALLY_DEFERRED", DataType::Char(Some(3))),
            ("RDB$INDEX_NAME", NAME),
        ],
    ),
    (
        "rdb$character_sets",
        &[
            ("RDB$CHARACTER_SET_NAME", NAME),
            ("RDB$FORM_OF_USE", NAME),
            ("RDB$NUMBER_OF_CHARACTERS", I4),
            ("RDB$DEFAULT_COLLATE_NAME", NAME),
            ("RDB$CHARACTER_SET_ID", I2),
            ("RDB$SYSTEM_FLAG", I2),
            ("RDB$DESCRIPTION", TEXT_BLOB),
            ("RDB$FUNCTION_NAME", NAME),
            ("RDB$BYTES_PER_CHARACTER", I2),
            ("RDB$SECURITY_CLASS", NAME),
            ("RDB$OWNER_NAME", NAME),
        ],
    ),
    (
        "rdb$collations",
        &[
            ("RDB$COLLATION_NAME", NAME),
            ("RDB$COLLATION_ID", I2),
            ("RDB$CHARACTER_SET_ID", I2),
            ("RDB$COLLATION_ATTRIBUTES", I2),
            ("RDB$SYSTEM_FLAG", I2),
            ("RDB$DESCRIPTION", TEXT_BLOB),
            ("RDB$FUNCTION_NAME", NAME),
            ("RDB$BASE_COLLATION_NAME", NAME),
            ("RDB$SPECIFIC_ATTRIBUTES", TEXT_BLOB),
            ("RDB$SECURITY_CLASS", NAME),
            ("RDB$OWNER_NAME", NAME),
        ],
    ),
    (
        "rdb$check_constraints",
        &[("RDB$CONSTRAINT_NAME", NAME), ("RDB$TRIGGER_NAME", NAME)],
    ),
    (
        "rdb$triggers",
        &[
            ("RDB$TRIGGER_NAME", NAME),
            ("RDB$RELATION_NAME", NAME),
            ("RDB$TRIGGER_SEQUENCE", I2),
            ("RDB$TRIGGER_TYPE", I8),
            ("RDB$TRIGGER_SOURCE", TEXT_BLOB),
            ("RDB$TRIGGER_BLR", BLR_BLOB),
            ("RDB$DESCRIPTION", TEXT_BLOB),
            ("RDB$TRIGGER_INACTIVE", I2),
            ("RDB$SYSTEM_FLAG", I2),
            ("RDB$FLAGS", I2),
            ("RDB$VALID_BLR", I2),
            ("RDB$DEBUG_INFO", BLR_BLOB),
            ("RDB$ENGINE_NAME", NAME),
            ("RDB$ENTRYPOINT", DataType::Char(Some(255))),
        ],
    ),
    (
        "rdb$generators",
        &[
            ("RDB$GENERATOR_NAME", NAME),
            ("RDB$GENERATOR_ID", I2),
            ("RDB$SYSTEM_FLAG", I2),
            ("RDB$DESCRIPTION", TEXT_BLOB),
            ("RDB$SECURITY_CLASS", NAME),
            ("RDB$OWNER_NAME", NAME),
            ("RDB$INITIAL_VALUE", I8),
            ("RDB$GENERATOR_INCREMENT", I4),
        ],
    ),
];

/// The lower-case name of a Firebird system table, if `name` (any case) is one.
pub fn resolve(name: &str) -> Option<&'static str> {
    TABLES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(n, _)| *n)
}

/// The columns of a Firebird system table.
pub fn columns(name: &str) -> Option<Vec<(&'static str, DataType)>> {
    TABLES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c.to_vec())
}

/// An object name as Firebird shows it (see the module comment), blank-padded.
fn name(n: &str) -> Value {
    let plain = n
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    let shown = if plain {
        n.to_ascii_uppercase()
    } else {
        n.to_string()
    };
    Value::Text(format!("{shown:<NAME_LEN$}"))
}

/// A fixed-width `CHAR(width)` value.
fn fixed(s: &str, width: usize) -> Value {
    Value::Text(format!("{s:<width$}"))
}

fn i2(v: i64) -> Value {
    Value::Int16(i16::try_from(v).unwrap_or(i16::MAX))
}

const NULL: Value = Value::Null;

/// The owner of built-in objects (character sets, collations), as Firebird shows it.
fn owner_sysdba() -> Value {
    name("SYSDBA")
}

/// A relation of the database in Firebird's view: a table or a view, with its id.
enum Rel<'a> {
    Table(&'a TableDef),
    View(&'a ViewDef),
}

impl Rel<'_> {
    fn name(&self) -> &str {
        match self {
            Rel::Table(t) => &t.name,
            Rel::View(v) => &v.name,
        }
    }

    /// The relation's columns as Firebird describes them.
    fn columns(&self) -> Vec<Column> {
        match self {
            Rel::Table(t) => t
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    ty: c.data_type,
                    nullable: c.nullable,
                    default: c.default.as_ref().map(default_source),
                    generator: c.auto_increment.clone(),
                })
                .collect(),
            Rel::View(v) => v
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    ty: c.data_type,
                    nullable: true,
                    default: None,
                    generator: None,
                })
                .collect(),
        }
    }
}

/// A column of a relation, as `RDB$RELATION_FIELDS` and `RDB$FIELDS` need it.
struct Column {
    name: String,
    ty: DataType,
    nullable: bool,
    /// `DEFAULT …` source text.
    default: Option<String>,
    /// The sequence of an AUTO_INCREMENT column (Firebird's identity generator).
    generator: Option<String>,
}

/// `DEFAULT <value>` as Firebird keeps the source of a default.
fn default_source(e: &rosetta_bytecode::Expr) -> String {
    use rosetta_bytecode::{Expr, Literal};
    let text = match e {
        Expr::Literal(Literal::Integer(i)) => i.to_string(),
        Expr::Literal(Literal::Decimal(d)) => d.clone(),
        Expr::Literal(Literal::String(s)) => format!("'{}'", s.replace('\'', "''")),
        Expr::Literal(Literal::Boolean(b)) => b.to_string().to_ascii_uppercase(),
        Expr::Literal(Literal::Null) => "NULL".into(),
        Expr::Function(f) => f.name.to_ascii_uppercase(),
        Expr::NextValue { sequence, .. } => format!(
            "NEXT VALUE FOR {}",
            sequence.last().map(|p| p.value.as_str()).unwrap_or("")
        ),
        _ => "(expression)".into(),
    };
    format!("DEFAULT {text}")
}

/// Firebird's description of a type: `(field type, sub type, length, scale, precision,
/// character length, character set)`.
struct FieldType {
    code: i64,
    /// NULL for types without sub types (dates, floats, BOOLEAN), as Firebird leaves it.
    sub_type: Option<i64>,
    length: i64,
    scale: i64,
    precision: Option<i64>,
    char_length: Option<i64>,
    charset: Option<i16>,
}

fn field_type(t: &DataType) -> FieldType {
    let simple = |code, length| FieldType {
        code,
        sub_type: None,
        length,
        scale: 0,
        precision: None,
        char_length: None,
        charset: None,
    };
    let text = |code, chars: i64| FieldType {
        code,
        sub_type: Some(0),
        length: chars.saturating_mul(4),
        scale: 0,
        precision: None,
        char_length: Some(chars),
        charset: Some(UTF8),
    };
    match t {
        DataType::Boolean => simple(23, 1),
        DataType::SmallInt => FieldType {
            precision: Some(0),
            sub_type: Some(0),
            ..simple(7, 2)
        },
        DataType::Integer => FieldType {
            precision: Some(0),
            sub_type: Some(0),
            ..simple(8, 4)
        },
        DataType::BigInt => FieldType {
            precision: Some(0),
            sub_type: Some(0),
            ..simple(16, 8)
        },
        DataType::Real => simple(10, 4),
        DataType::Double => simple(27, 8),
        DataType::Numeric {
            precision: Some(p),
            scale,
        } if *p <= 18 => {
            let (code, length) = match p {
                0..=4 => (7, 2),
                5..=9 => (8, 4),
                _ => (16, 8),
            };
            FieldType {
                code,
                sub_type: Some(1),
                length,
                scale: -i64::from(scale.unwrap_or(0)),
                precision: Some(i64::from(*p)),
                char_length: None,
                charset: None,
            }
        }
        // Wider or unconstrained numerics have no exact Firebird 3 type.
        DataType::Numeric { .. } => simple(27, 8),
        DataType::Char(n) => text(14, i64::from(n.unwrap_or(1))),
        DataType::Varchar(Some(n)) => text(37, i64::from(*n).min(8191)),
        DataType::Varchar(None) => text(37, 8191),
        DataType::Text | DataType::Array(_) => FieldType {
            sub_type: Some(1),
            charset: Some(UTF8),
            ..simple(261, 8)
        },
        DataType::Bytea => FieldType {
            sub_type: Some(0),
            ..simple(261, 8)
        },
        DataType::Date => simple(12, 4),
        DataType::Time => simple(13, 4),
        DataType::Timestamp => simple(35, 8),
    }
}

/// The NOT NULL constraints Firebird would record for `tables`: `(constraint name,
/// table name, column name)`, numbered `INTEG_1…` in catalog order.
fn not_null_constraints(tables: &[TableDef]) -> Vec<(String, &str, &str)> {
    tables
        .iter()
        .flat_map(|t| {
            t.columns
                .iter()
                .filter(|c| !c.nullable)
                .map(move |c| (t.name.as_str(), c.name.as_str()))
        })
        .enumerate()
        .map(|(i, (t, c))| (format!("INTEG_{}", i + 1), t, c))
        .collect()
}

/// Generates the rows of Firebird system table `table` (a name [`resolve`] returned).
pub fn rows(table: &str, ctx: &ExecCtx) -> Result<Vec<Row>> {
    let cat = Catalog::new(ctx.txn);
    let tables = cat.tables(ctx.database.id)?;
    let views = cat.views(ctx.database.id)?;
    let sequences: Vec<SequenceDef> = cat.sequences(ctx.database.id)?;
    let mut rels: Vec<Rel> = tables.iter().map(Rel::Table).collect();
    rels.extend(views.iter().map(Rel::View));
    let owner = name(&ctx.database.owner);
    Ok(match table {
        "rdb$database" => vec![vec![
            NULL,
            i2(FIRST_RELATION_ID + rels.len() as i64),
            NULL,
            name("UTF8"),
            NULL,
        ]],
        "rdb$relations" => rels
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (blr, source, kind) = match r {
                    Rel::View(v) => (
                        Value::Bytes(VIEW_BLR.to_vec()),
                        v.definition
                            .as_ref()
                            .map(|d| Value::Text(d.clone()))
                            .unwrap_or(NULL),
                        1,
                    ),
                    Rel::Table(_) => (NULL, NULL, 0),
                };
                vec![
                    blr,
                    source,
                    NULL,
                    i2(FIRST_RELATION_ID + i as i64),
                    i2(0),
                    i2(8),
                    i2(1),
                    i2(r.columns().len() as i64),
                    name(r.name()),
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    owner.clone(),
                    NULL,
                    i2(1),
                    i2(kind),
                ]
            })
            .collect(),
        "rdb$relation_fields" => {
            let mut out = Vec::new();
            let mut domain = 0;
            for r in &rels {
                for (pos, c) in r.columns().into_iter().enumerate() {
                    domain += 1;
                    out.push(vec![
                        name(&c.name),
                        name(r.name()),
                        name(&format!("RDB${domain}")),
                        NULL,
                        NULL,
                        NULL,
                        i2(pos as i64),
                        NULL,
                        i2(1),
                        i2(pos as i64),
                        NULL,
                        NULL,
                        NULL,
                        i2(0),
                        NULL,
                        NULL,
                        if c.nullable { NULL } else { i2(1) },
                        c.default.map(Value::Text).unwrap_or(NULL),
                        NULL,
                        c.generator.as_deref().map(name).unwrap_or(NULL),
                        if c.generator.is_some() { i2(1) } else { NULL },
                    ]);
                }
            }
            out
        }
        "rdb$fields" => {
            let mut out = Vec::new();
            let mut domain = 0;
            for r in &rels {
                for c in r.columns() {
                    domain += 1;
                    let f = field_type(&c.ty);
                    let opt = |v: Option<i64>| v.map(i2).unwrap_or(NULL);
                    out.push(vec![
                        name(&format!("RDB${domain}")),
                        NULL,
                        NULL,
                        NULL,
                        NULL,
                        NULL,
                        NULL,
                        NULL,
                        i2(f.length),
                        i2(f.scale),
                        i2(f.code),
                        opt(f.sub_type),
                        NULL,
                        NULL,
                        NULL,
                        i2(0),
                        NULL,
                        if f.code == 261 { i2(80) } else { NULL },
                        NULL,
                        NULL,
                        NULL,
                        NULL,
                        NULL,
                        NULL,
                        opt(f.char_length),
                        f.charset.map(|_| i2(0)).unwrap_or(NULL),
                        f.charset.map(|c| i2(i64::from(c))).unwrap_or(NULL),
                        opt(f.precision),
                        NULL,
                        owner.clone(),
                    ]);
                }
            }
            out
        }
        "rdb$indices" => {
            let mut out = Vec::new();
            for t in &tables {
                for (i, idx) in t.indexes.iter().enumerate() {
                    out.push(vec![
                        name(&idx.name),
                        name(&t.name),
                        i2(i as i64 + 1),
                        i2(i64::from(idx.unique)),
                        NULL,
                        i2(idx.columns.len() as i64),
                        i2(0),
                        i2(0),
                        NULL,
                        i2(0),
                        NULL,
                        NULL,
                        NULL,
                    ]);
                }
            }
            out
        }
        "rdb$index_segments" => {
            let mut out = Vec::new();
            for t in &tables {
                for idx in &t.indexes {
                    for (pos, &c) in idx.columns.iter().enumerate() {
                        let col = t.columns.get(c).map(|c| c.name.as_str()).unwrap_or("");
                        out.push(vec![name(&idx.name), name(col), i2(pos as i64), NULL]);
                    }
                }
            }
            out
        }
        "rdb$relation_constraints" => {
            let mut out: Vec<Row> = not_null_constraints(&tables)
                .into_iter()
                .map(|(constraint, table, _)| {
                    vec![
                        name(&constraint),
                        fixed("NOT NULL", 11),
                        name(table),
                        fixed("NO", 3),
                        fixed("NO", 3),
                        NULL,
                    ]
                })
                .collect();
            for t in &tables {
                for idx in t.indexes.iter().filter(|i| i.constraint || i.primary) {
                    let kind = if idx.primary { "PRIMARY KEY" } else { "UNIQUE" };
                    out.push(vec![
                        name(&idx.name),
                        fixed(kind, 11),
                        name(&t.name),
                        fixed("NO", 3),
                        fixed("NO", 3),
                        name(&idx.name),
                    ]);
                }
            }
            out
        }
        "rdb$check_constraints" => not_null_constraints(&tables)
            .into_iter()
            .map(|(constraint, _, column)| vec![name(&constraint), name(column)])
            .collect(),
        "rdb$character_sets" => CHARACTER_SETS
            .iter()
            .map(|&(set, id, bytes)| {
                vec![
                    name(set),
                    NULL,
                    NULL,
                    name(set),
                    i2(id),
                    i2(1),
                    NULL,
                    NULL,
                    i2(bytes),
                    NULL,
                    owner_sysdba(),
                ]
            })
            .collect(),
        "rdb$collations" => COLLATIONS
            .iter()
            .map(|&(collation, id, set, attributes, base)| {
                vec![
                    name(collation),
                    i2(id),
                    i2(set),
                    i2(attributes),
                    i2(1),
                    NULL,
                    NULL,
                    base.map(name).unwrap_or(NULL),
                    NULL,
                    NULL,
                    owner_sysdba(),
                ]
            })
            .collect(),
        // Rosetta has no triggers: the table exists, with Firebird's columns, so that
        // `SHOW TABLE` and tools that list triggers find none.
        "rdb$triggers" => vec![],
        "rdb$generators" => sequences
            .iter()
            .enumerate()
            .map(|(i, s)| {
                vec![
                    name(&s.name),
                    i2(i as i64 + 1),
                    // Firebird 3 marks the generators of identity columns with 6.
                    i2(if s.owner.is_some() { 6 } else { 0 }),
                    NULL,
                    NULL,
                    owner.clone(),
                    Value::Int64(s.first.saturating_sub(s.increment)),
                    Value::Int32(i32::try_from(s.increment).unwrap_or(i32::MAX)),
                ]
            })
            .collect(),
        _ => vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shown_as_firebird_stores_them() {
        let shown = |n: &str| match name(n) {
            Value::Text(s) => s.trim_end().to_string(),
            _ => String::new(),
        };
        assert_eq!(shown("emp"), "EMP");
        assert_eq!(shown("t_1$x"), "T_1$X");
        assert_eq!(shown("Mixed"), "Mixed");
        assert_eq!(shown("has space"), "has space");
        assert_eq!(shown("1abc"), "1abc");
        assert!(matches!(name("x"), Value::Text(s) if s.len() == NAME_LEN));
    }

    #[test]
    fn every_table_resolves_in_any_case() {
        for (table, cols) in TABLES {
            assert_eq!(resolve(&table.to_ascii_uppercase()), Some(*table));
            assert_eq!(columns(table).map(|c| c.len()), Some(cols.len()));
        }
    }

    #[test]
    fn types_map_to_firebird_codes() {
        assert_eq!(field_type(&DataType::Integer).code, 8);
        let n = field_type(&DataType::Numeric {
            precision: Some(9),
            scale: Some(2),
        });
        assert_eq!(
            (n.code, n.sub_type, n.scale, n.precision),
            (8, Some(1), -2, Some(9))
        );
        let v = field_type(&DataType::Varchar(Some(10)));
        assert_eq!((v.code, v.length, v.char_length), (37, 40, Some(10)));
        assert_eq!(field_type(&DataType::Time).code, 13);
        assert_eq!(field_type(&DataType::Text).sub_type, Some(1));
        assert_eq!(field_type(&DataType::Date).sub_type, None);
    }
}
