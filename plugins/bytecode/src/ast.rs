//! The program tree. Every struct is a named MessagePack map on the wire; fields added in
//! later versions must be `#[serde(default)]` so that older programs still decode.

use serde::{Deserialize, Serialize};

/// One compiled statement, ready to ship to the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// Bytecode version this program was written for ([`crate::VERSION`] when emitted).
    pub version: u16,
    /// The dialect the SQL was written in (for error wording and virtual catalogs only:
    /// meaning is carried by [`Semantics`], never inferred from the dialect).
    pub dialect: Dialect,
    /// The dialect rules the statement needs, spelled out.
    pub semantics: Semantics,
    /// The statement itself.
    pub statement: Statement,
    /// Number of `$n` / `?` parameters the statement references (highest index).
    #[serde(default)]
    pub param_count: u16,
}

impl Program {
    /// Wraps a statement compiled from `dialect` with that dialect's default semantics.
    pub fn new(dialect: Dialect, statement: Statement) -> Self {
        Self {
            version: crate::VERSION,
            dialect,
            semantics: Semantics::for_dialect(dialect),
            statement,
            param_count: 0,
        }
    }
}

/// The SQL dialect a program was compiled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dialect {
    Postgres,
    Mysql,
    Firebird,
}

/// How unquoted identifiers were folded by the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentFold {
    Lower,
    Upper,
    Preserve,
}

/// Dialect meaning that the engine must honour, made explicit per statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Semantics {
    /// How unquoted identifiers were folded (resolution in the catalog is
    /// case-insensitive for unquoted names whatever the fold, see architecture §4).
    pub ident_fold: IdentFold,
    /// `'a' || NULL` is NULL (standard) rather than `'a'`.
    pub null_concat_is_null: bool,
    /// Integer `/` integer truncates to an integer (PostgreSQL, Firebird) rather than
    /// producing a decimal (MySQL).
    pub integer_division_truncates: bool,
    /// Division by zero raises an error (PostgreSQL) rather than yielding NULL (MySQL).
    pub division_by_zero_errors: bool,
    /// A failed statement inside a transaction undoes only itself and the transaction
    /// goes on (MySQL, Firebird), rather than failing the whole transaction until
    /// ROLLBACK (PostgreSQL's 25P02). Added in v1 without a version bump.
    #[serde(default)]
    pub statement_errors_keep_transaction: bool,
    /// INSERT/UPDATE/DELETE work on the newest committed rows, after waiting for their
    /// writers, even under snapshot isolation, while queries keep the transaction's
    /// snapshot (InnoDB's "current reads" at REPEATABLE READ) — rather than failing with
    /// a serialization error. Added in v1 without a version bump.
    #[serde(default)]
    pub writes_read_latest: bool,
    /// String results of expressions are described with a size, as Firebird does: a
    /// literal `'abc'` is `CHAR(3)`, `a || b` over sized operands is `VARCHAR(len a + len
    /// b)` (PostgreSQL and MySQL report them as unbounded text). Only the reported type
    /// changes; values are the same. Added in v1 without a version bump.
    #[serde(default)]
    pub sized_string_results: bool,
}

impl Semantics {
    /// The rules of a dialect's reference server.
    pub fn for_dialect(dialect: Dialect) -> Self {
        match dialect {
            Dialect::Postgres => Self {
                ident_fold: IdentFold::Lower,
                null_concat_is_null: true,
                integer_division_truncates: true,
                division_by_zero_errors: true,
                statement_errors_keep_transaction: false,
                writes_read_latest: false,
                sized_string_results: false,
            },
            Dialect::Mysql => Self {
                ident_fold: IdentFold::Preserve,
                null_concat_is_null: true,
                integer_division_truncates: false,
                division_by_zero_errors: false,
                statement_errors_keep_transaction: true,
                writes_read_latest: true,
                sized_string_results: false,
            },
            Dialect::Firebird => Self {
                ident_fold: IdentFold::Upper,
                null_concat_is_null: true,
                integer_division_truncates: true,
                division_by_zero_errors: true,
                statement_errors_keep_transaction: true,
                writes_read_latest: false,
                sized_string_results: true,
            },
        }
    }
}

/// An identifier, already folded by the dialect's rule, with its quoting kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ident {
    pub value: String,
    pub quoted: bool,
}

impl Ident {
    /// An unquoted identifier (already folded).
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            quoted: false,
        }
    }

    /// A quoted identifier: matched exactly.
    pub fn quoted(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            quoted: true,
        }
    }
}

/// A possibly qualified name: `[database.][schema.]object`.
pub type ObjectName = Vec<Ident>;

/// Every statement kind the engine runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Statement {
    /// An empty query string (`;`).
    Empty,
    Query(Box<Query>),
    Insert(Box<Insert>),
    Update(Box<Update>),
    Delete(Box<Delete>),
    CreateTable(Box<CreateTable>),
    DropTable {
        names: Vec<ObjectName>,
        if_exists: bool,
        cascade: bool,
    },
    CreateIndex(Box<CreateIndex>),
    DropIndex {
        names: Vec<ObjectName>,
        if_exists: bool,
    },
    CreateDatabase {
        name: Ident,
        if_not_exists: bool,
    },
    DropDatabase {
        name: Ident,
        if_exists: bool,
    },
    /// `BEGIN` / `START TRANSACTION`.
    Begin(TransactionMode),
    Commit,
    Rollback,
    /// `EXPLAIN [ANALYZE] statement`: prints the bytecode and the engine's plan.
    Explain {
        analyze: bool,
        statement: Box<Statement>,
    },
    /// SQL-level `PREPARE name [(types)] AS statement`.
    Prepare {
        name: Ident,
        param_types: Vec<DataType>,
        statement: Box<Statement>,
    },
    /// SQL-level `EXECUTE name [(args)]`.
    Execute {
        name: Ident,
        args: Vec<Expr>,
    },
    /// `DEALLOCATE [PREPARE] name | ALL` (`None` = all).
    Deallocate {
        name: Option<Ident>,
    },
    /// `SET [SESSION|LOCAL] name = value[, …]` for a session setting.
    SetVariable {
        name: String,
        values: Vec<Expr>,
        local: bool,
    },
    /// `SET TRANSACTION …` (or `SET SESSION CHARACTERISTICS AS TRANSACTION …`).
    SetTransaction(TransactionMode),
    /// `SHOW name` / `SHOW ALL`.
    ShowVariable {
        name: String,
    },
    /// `CREATE [OR REPLACE] VIEW name [(columns)] AS query`. Added in v1 without a
    /// version bump (a new variant).
    CreateView(Box<CreateView>),
    /// `DROP VIEW [IF EXISTS] names [CASCADE]`. Added in v1 without a version bump (a
    /// new variant).
    DropView {
        names: Vec<ObjectName>,
        if_exists: bool,
        cascade: bool,
    },
    /// `TRUNCATE [TABLE] names`: deletes every row (and index entry), transactionally.
    /// Added in v1 without a version bump (a new variant).
    Truncate {
        names: Vec<ObjectName>,
    },
    /// `VACUUM [FULL] [ANALYZE] [names]` / `ANALYZE [names]`: `vacuum` compacts storage
    /// (MVCC garbage collection), `analyze` recomputes table statistics. Empty `names`:
    /// every table of the database. Added in v1 without a version bump (a new variant).
    Maintain {
        vacuum: bool,
        analyze: bool,
        names: Vec<ObjectName>,
    },
    /// `ALTER TABLE table ADD [CONSTRAINT name] PRIMARY KEY (columns)`. Added in v1
    /// without a version bump (a new variant).
    AddPrimaryKey {
        table: ObjectName,
        name: Option<Ident>,
        columns: Vec<Ident>,
    },
    /// `COPY table [(columns)] FROM STDIN`: the gateway receives the data and sends it
    /// as inserts; the engine never executes this statement itself. Added in v1
    /// without a version bump (a new variant).
    CopyFrom(Box<CopyFrom>),
    /// `CREATE SEQUENCE` / Firebird `CREATE GENERATOR`. Added in v1 without a version
    /// bump (new variants below too).
    CreateSequence(Box<CreateSequence>),
    /// `DROP SEQUENCE [IF EXISTS] names` / Firebird `DROP GENERATOR`.
    DropSequence {
        names: Vec<ObjectName>,
        if_exists: bool,
    },
    /// `ALTER SEQUENCE name RESTART WITH n` / Firebird `SET GENERATOR name TO n`.
    AlterSequence {
        name: ObjectName,
        /// The value the next `NEXT VALUE FOR` returns (the plugin translates its
        /// dialect's convention, e.g. Firebird 3's `SET GENERATOR g TO n` → `n + 1`).
        restart: Option<i64>,
        increment: Option<i64>,
    },
    /// MySQL `KILL [CONNECTION | QUERY] id`: cancels the statement another session is
    /// running and, unless `query_only`, ends that session. Allowed on one's own
    /// sessions, or any session for a superuser.
    Kill {
        session_id: u32,
        query_only: bool,
    },
}

/// `CREATE SEQUENCE [IF NOT EXISTS] name [START WITH n] [INCREMENT BY n]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateSequence {
    pub name: ObjectName,
    pub if_not_exists: bool,
    /// The value the first `NEXT VALUE FOR` returns (the plugin translates its dialect's
    /// convention; PostgreSQL and MySQL default 1, Firebird 3 `START WITH n` → `n + 1`).
    pub first: i64,
    /// Step of each `NEXT VALUE FOR` (non-zero).
    pub increment: i64,
}

/// `COPY table [(columns)] FROM STDIN [WITH (…)]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyFrom {
    pub table: ObjectName,
    /// Target columns (empty: all columns, in table order).
    pub columns: Vec<Ident>,
    /// `true` for `FORMAT csv`, `false` for the text format.
    pub csv: bool,
    /// Field delimiter (tab for text, comma for CSV unless given).
    pub delimiter: char,
    /// The string that stands for NULL (`\N` for text, empty for CSV unless given).
    pub null: String,
    /// CSV `HEADER`: the first line is skipped.
    pub header: bool,
}

/// `CREATE [OR REPLACE] VIEW name [(columns)] AS query`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateView {
    pub name: ObjectName,
    /// Column names given after the view name (empty: the query's own column names).
    pub columns: Vec<Ident>,
    pub query: Query,
    /// `OR REPLACE`: an existing view of that name is replaced (its columns must stay
    /// a prefix of the new ones, as in PostgreSQL).
    pub or_replace: bool,
    /// The query's SQL text as the plugin rendered it, for catalogs (`pg_views`,
    /// `information_schema.views`); meaning is carried by `query` only.
    #[serde(default)]
    pub definition: Option<String>,
}

/// Options of `BEGIN` / `SET TRANSACTION`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransactionMode {
    #[serde(default)]
    pub isolation: Option<IsolationLevel>,
    #[serde(default)]
    pub read_only: Option<bool>,
    /// Whether a write that meets a row locked by another open transaction waits for it
    /// (`Some(true)`, the default) or fails at once (`Some(false)`: Firebird `NO WAIT`,
    /// MySQL `NOWAIT`). Added in v1 without a version bump.
    #[serde(default)]
    pub wait: Option<bool>,
    /// How long such a wait may last, in milliseconds (Firebird `LOCK TIMEOUT n` is in
    /// seconds: the plugin converts). `None`: the session's default.
    #[serde(default)]
    pub lock_timeout_ms: Option<u32>,
}

/// The isolation levels a client may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

/// A query: a set expression with ordering and limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// `WITH` common table expressions, in order.
    #[serde(default)]
    pub with: Vec<Cte>,
    pub body: SetExpr,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<Expr>,
    pub offset: Option<Expr>,
}

/// `name [(columns)] AS (query)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cte {
    pub name: Ident,
    pub columns: Vec<Ident>,
    pub query: Query,
}

/// The body of a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SetExpr {
    Select(Box<Select>),
    Values(Vec<Vec<Expr>>),
    SetOp {
        op: SetOperator,
        all: bool,
        left: Box<SetExpr>,
        right: Box<SetExpr>,
    },
    Query(Box<Query>),
}

/// `UNION`, `INTERSECT`, `EXCEPT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetOperator {
    Union,
    Intersect,
    Except,
}

/// `SELECT … FROM … WHERE … GROUP BY … HAVING …`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Select {
    pub distinct: bool,
    pub projection: Vec<SelectItem>,
    pub from: Vec<FromItem>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
}

/// One entry of a select list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SelectItem {
    Expr {
        expr: Expr,
        alias: Option<Ident>,
    },
    /// `*`
    Wildcard,
    /// `t.*`
    QualifiedWildcard(ObjectName),
}

/// An item of a `FROM` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FromItem {
    Table {
        name: ObjectName,
        alias: Option<TableAlias>,
    },
    Subquery {
        query: Box<Query>,
        alias: Option<TableAlias>,
    },
    Join {
        left: Box<FromItem>,
        right: Box<FromItem>,
        kind: JoinKind,
        constraint: JoinConstraint,
    },
    /// A set-returning (table) function, e.g. `generate_series(1, 3) AS s` or
    /// `unnest(a) AS x`. Without column aliases its one output column is named after the
    /// alias (PostgreSQL's rule for functions returning a scalar type), else after the
    /// function. Added in v1 without a version bump (a new variant).
    Function {
        function: Function,
        alias: Option<TableAlias>,
    },
}

/// `AS alias [(column aliases)]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableAlias {
    pub name: Ident,
    pub columns: Vec<Ident>,
}

/// The kinds of join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    Cross,
}

/// How a join matches rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JoinConstraint {
    On(Expr),
    Using(Vec<Ident>),
    Natural,
    None,
}

/// `expr [ASC|DESC] [NULLS FIRST|LAST]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderItem {
    pub expr: Expr,
    pub desc: bool,
    /// `None`: the dialect default (PostgreSQL: NULLs sort as larger than any value).
    pub nulls_first: Option<bool>,
}

/// `INSERT INTO table [(columns)] source [RETURNING …]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Insert {
    pub table: ObjectName,
    pub columns: Vec<Ident>,
    pub source: InsertSource,
    pub returning: Vec<SelectItem>,
    /// What to do with a row that matches an existing one (`ON CONFLICT`, `ON DUPLICATE
    /// KEY UPDATE`, Firebird `UPDATE OR INSERT … MATCHING`). Added in v1 without a version
    /// bump.
    #[serde(default)]
    pub upsert: Option<Upsert>,
}

/// An insert that becomes an update (or nothing) when the new row matches an existing one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upsert {
    /// The columns that decide whether a row already exists: an existing row matches when
    /// it equals the new row on all of them (`IS NOT DISTINCT FROM`). Empty: any primary
    /// key or unique index of the table (MySQL's `ON DUPLICATE KEY`).
    pub match_columns: Vec<Ident>,
    pub action: UpsertAction,
}

/// What an [`Upsert`] does with a matching row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UpsertAction {
    /// Keep the existing row; the new one is dropped (`ON CONFLICT DO NOTHING`).
    Nothing,
    /// Update the existing row. In `assignments` and `filter`, plain columns refer to the
    /// existing row and `excluded.column` to the row that was proposed for insertion.
    Update {
        assignments: Vec<Assignment>,
        filter: Option<Expr>,
    },
}

/// Where inserted rows come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InsertSource {
    /// `VALUES (…), (…)`; [`Expr::Default`] marks a `DEFAULT` entry.
    Values(Vec<Vec<Expr>>),
    Query(Box<Query>),
    DefaultValues,
}

/// `UPDATE table [alias] SET col = expr, … [WHERE …] [RETURNING …]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub table: ObjectName,
    pub alias: Option<Ident>,
    pub assignments: Vec<Assignment>,
    pub filter: Option<Expr>,
    pub returning: Vec<SelectItem>,
}

/// `column = expr` in `UPDATE … SET`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub column: Ident,
    pub value: Expr,
}

/// `DELETE FROM table [alias] [WHERE …] [RETURNING …]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delete {
    pub table: ObjectName,
    pub alias: Option<Ident>,
    pub filter: Option<Expr>,
    pub returning: Vec<SelectItem>,
}

/// `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateTable {
    pub name: ObjectName,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnDef>,
    pub constraints: Vec<TableConstraint>,
}

/// A column of `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: Ident,
    pub data_type: DataType,
    pub not_null: bool,
    pub default: Option<Expr>,
    pub primary_key: bool,
    pub unique: bool,
    /// MySQL `AUTO_INCREMENT`: an insert that gives no value, `DEFAULT`, NULL or 0 takes
    /// the next value of the column's own counter; an explicit larger value moves the
    /// counter past it. Added in v1 without a version bump.
    #[serde(default)]
    pub auto_increment: bool,
}

/// A table-level constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TableConstraint {
    PrimaryKey {
        name: Option<Ident>,
        columns: Vec<Ident>,
    },
    Unique {
        name: Option<Ident>,
        columns: Vec<Ident>,
    },
}

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] [name] ON table (columns)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateIndex {
    pub name: Option<Ident>,
    pub table: ObjectName,
    pub columns: Vec<IndexColumn>,
    pub unique: bool,
    pub if_not_exists: bool,
}

/// One key column of an index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexColumn {
    pub name: Ident,
    pub desc: bool,
}

/// The one type system's SQL types, as named in DDL and casts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    Boolean,
    SmallInt,
    Integer,
    BigInt,
    /// `NUMERIC(precision, scale)`; `None` = unconstrained.
    Numeric {
        precision: Option<u8>,
        scale: Option<u8>,
    },
    Real,
    Double,
    /// `TEXT`, unbounded.
    Text,
    /// `VARCHAR(n)`; `None` = unbounded.
    Varchar(Option<u32>),
    /// `CHAR(n)`, blank padded; `None` = `CHAR(1)`.
    Char(Option<u32>),
    Bytea,
    Date,
    /// Timestamp without time zone, microsecond precision.
    Timestamp,
    /// Time of day without time zone, microsecond precision. Added in v1 without a
    /// version bump.
    Time,
    /// A one-dimensional array of `element` values (PostgreSQL's `int2[]`, `text[]` …),
    /// lower bound 1. Element type modifiers (`varchar(5)[]`) are not carried. Added in
    /// v1 without a version bump (a new variant).
    Array(ElementType),
}

/// The element type of an [`DataType::Array`]: a scalar type without modifiers (kept
/// small and `Copy` so that [`DataType`] stays `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ElementType {
    Boolean,
    SmallInt,
    Integer,
    BigInt,
    Numeric,
    Real,
    Double,
    Text,
    Varchar,
    Char,
    Bytea,
    Date,
    Timestamp,
    Time,
}

impl ElementType {
    /// The scalar type of the elements (unconstrained: no length, precision or scale).
    pub fn data_type(self) -> DataType {
        match self {
            ElementType::Boolean => DataType::Boolean,
            ElementType::SmallInt => DataType::SmallInt,
            ElementType::Integer => DataType::Integer,
            ElementType::BigInt => DataType::BigInt,
            ElementType::Numeric => DataType::Numeric {
                precision: None,
                scale: None,
            },
            ElementType::Real => DataType::Real,
            ElementType::Double => DataType::Double,
            ElementType::Text => DataType::Text,
            ElementType::Varchar => DataType::Varchar(None),
            ElementType::Char => DataType::Char(None),
            ElementType::Bytea => DataType::Bytea,
            ElementType::Date => DataType::Date,
            ElementType::Timestamp => DataType::Timestamp,
            ElementType::Time => DataType::Time,
        }
    }

    /// The element type for values of scalar type `ty` (`None` for an array type:
    /// arrays of arrays are multi-dimensional arrays, which Rosetta does not have).
    pub fn of(ty: DataType) -> Option<ElementType> {
        Some(match ty {
            DataType::Boolean => ElementType::Boolean,
            DataType::SmallInt => ElementType::SmallInt,
            DataType::Integer => ElementType::Integer,
            DataType::BigInt => ElementType::BigInt,
            DataType::Numeric { .. } => ElementType::Numeric,
            DataType::Real => ElementType::Real,
            DataType::Double => ElementType::Double,
            DataType::Text => ElementType::Text,
            DataType::Varchar(_) => ElementType::Varchar,
            DataType::Char(_) => ElementType::Char,
            DataType::Bytea => ElementType::Bytea,
            DataType::Date => ElementType::Date,
            DataType::Timestamp => ElementType::Timestamp,
            DataType::Time => ElementType::Time,
            DataType::Array(_) => return None,
        })
    }
}

impl DataType {
    /// The array type whose elements have this type (`None` if this is an array type).
    pub fn array_of(self) -> Option<DataType> {
        ElementType::of(self).map(DataType::Array)
    }

    /// The element type if this is an array type.
    pub fn element(self) -> Option<DataType> {
        match self {
            DataType::Array(e) => Some(e.data_type()),
            _ => None,
        }
    }
}

/// A scalar expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// A column reference, possibly qualified (`t.c`, `s.t.c`).
    Column(Vec<Ident>),
    Literal(Literal),
    /// A positional parameter, 1-based (`$1`, or the n-th `?`).
    Param(u16),
    /// `DEFAULT` in a `VALUES` list or `SET col = DEFAULT`.
    Default,
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `a IS [NOT] DISTINCT FROM b`.
    IsDistinctFrom {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
    },
    /// `x IS [NOT] TRUE|FALSE`.
    IsBool {
        expr: Box<Expr>,
        value: bool,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    InSubquery {
        expr: Box<Expr>,
        query: Box<Query>,
        negated: bool,
    },
    Exists {
        query: Box<Query>,
        negated: bool,
    },
    /// A scalar subquery.
    Subquery(Box<Query>),
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<Box<Expr>>,
        negated: bool,
        case_insensitive: bool,
    },
    Case {
        operand: Option<Box<Expr>>,
        branches: Vec<(Expr, Expr)>,
        else_result: Option<Box<Expr>>,
    },
    Cast {
        expr: Box<Expr>,
        data_type: DataType,
    },
    /// A function or aggregate call; the engine decides which it is.
    Function(Function),
    /// `ARRAY[a, b, …]`: a one-dimensional array of the elements' common type. Added in
    /// v1 without a version bump (new variants below too).
    Array(Vec<Expr>),
    /// `ARRAY(subquery)`: the subquery's one column collected into an array, in row
    /// order (an empty array, not NULL, when it returns no rows).
    ArraySubquery(Box<Query>),
    /// `left op ANY (right)` / `left op ALL (right)` where `right` is an array value;
    /// `op` is a comparison operator. (`op ANY (subquery)` is lowered to other nodes.)
    AnyAll {
        left: Box<Expr>,
        op: BinaryOp,
        right: Box<Expr>,
        all: bool,
    },
    /// `expr[index]`: one element of an array (1-based for arrays; NULL when out of
    /// range).
    Subscript {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    /// `NEXT VALUE FOR seq` / `nextval('seq')` / Firebird `GEN_ID(seq, step)`: advances the
    /// sequence by `step` (default: its increment; 0 reads the current value) and returns
    /// the new value. Not transactional: a rollback does not give values back.
    NextValue {
        sequence: ObjectName,
        step: Option<Box<Expr>>,
    },
}

/// A function call `namespace.name([DISTINCT] args | *)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    /// `std` for standard SQL functions, or a dialect namespace (`pg`, `mysql`, `fb`)
    /// for dialect-specific ones.
    pub namespace: String,
    /// Lower-case function name.
    pub name: String,
    pub args: Vec<Expr>,
    pub distinct: bool,
    /// `count(*)`.
    pub star: bool,
}

/// A literal constant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Literal {
    Null,
    Boolean(bool),
    /// An integer literal that fits in 64 bits.
    Integer(i64),
    /// An exact decimal literal (`1.50`, or an integer too big for 64 bits), as text.
    Decimal(String),
    /// An approximate literal (`1e3`).
    Float(f64),
    /// A string literal; its type is decided by context (PostgreSQL's `unknown`).
    String(String),
    /// A byte-string literal (`'\x..'::bytea`, `X'..'`).
    Bytes(Vec<u8>),
    /// `TYPE 'text'`, e.g. `DATE '2024-01-01'`.
    Typed {
        data_type: DataType,
        value: String,
    },
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnaryOp {
    Neg,
    Plus,
    Not,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    /// String concatenation (`||` in PostgreSQL and Firebird).
    Concat,
    /// POSIX regular expression match `~` (`~*` when case-insensitive).
    RegexMatch {
        case_insensitive: bool,
        negated: bool,
    },
}
