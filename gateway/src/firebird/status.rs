//! Firebird status vectors and the mapping from engine errors to Firebird error codes.
//!
//! Firebird clients print errors from their own message tables, keyed by the gds codes in
//! the status vector (guide §8): the codes matter, not text. So every engine error (a
//! SQLSTATE plus a message) is turned into the vector a real Firebird 3 server sends for
//! the same situation — e.g. an unknown table becomes `dsql_error, sqlerr -204,
//! dsql_relation_err, <name>, line/column` — and isql then prints the same lines and
//! derives the same SQLSTATE (42S02) as against Firebird. Errors with no Firebird
//! counterpart become `isc_random` with the engine's message.

use super::xdr::Writer;

/// One argument of a status vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// `isc_arg_gds`: an error code.
    Gds(u32),
    /// `isc_arg_string`: fills the previous code's next `@n`.
    Str(String),
    /// `isc_arg_number`.
    Num(i32),
    /// `isc_arg_unix`: an OS error number (`errno`).
    Unix(i32),
}

/// Error codes used by the gateway (names as in Firebird's `iberror.h`).
pub mod gds {
    /// Dynamic SQL Error
    pub const DSQL_ERROR: u32 = 335544569;
    /// SQL error code = @1
    pub const SQLERR: u32 = 335544436;
    /// Table unknown
    pub const RELATION_ERR: u32 = 335544580;
    /// Column unknown
    pub const FIELD_ERR: u32 = 335544578;
    /// Token unknown - line @1, column @2
    pub const TOKEN_UNK: u32 = 335544634;
    /// Invalid command
    pub const COMMAND_ERR: u32 = 335544570;
    /// At line @1, column @2
    pub const LINE_COL: u32 = 336397208;
    /// unsuccessful metadata update
    pub const NO_META_UPDATE: u32 = 335544351;
    /// Table @1 does not exist
    pub const TABLE_NOT_FOUND: u32 = 336397206;
    /// Problematic key value is @1
    pub const PROBLEMATIC_KEY_VALUE: u32 = 335545072;
    /// DROP TABLE @1 failed
    pub const DROP_TABLE_FAILED: u32 = 336397288;
    /// violation of PRIMARY or UNIQUE KEY constraint "@1" on table "@2"
    pub const UNIQUE_KEY: u32 = 335544665;
    /// validation error for column @1, value "@2"
    pub const NOT_VALID: u32 = 335544347;
    /// arithmetic exception, numeric overflow, or string truncation
    pub const ARITH_EXCEPT: u32 = 335544321;
    /// string right truncation
    pub const STRING_TRUNCATION: u32 = 335544914;
    /// numeric value is out of range
    pub const NUMERIC_OUT_OF_RANGE: u32 = 335544916;
    /// Integer divide by zero
    pub const EXCEPTION_INTEGER_DIVIDE_BY_ZERO: u32 = 335544778;
    /// conversion error from string "@1"
    pub const CONVERT_ERROR: u32 = 335544334;
    /// deadlock
    pub const DEADLOCK: u32 = 335544336;
    /// lock conflict on no wait transaction
    pub const LOCK_CONFLICT: u32 = 335544345;
    /// update conflicts with concurrent update
    pub const UPDATE_CONFLICT: u32 = 335544451;
    /// Your user name and password are not defined…
    pub const LOGIN: u32 = 335544472;
    /// no permission for @1 access to @2 @3
    pub const NO_PRIV: u32 = 335544352;
    /// feature is not supported
    pub const WISH_LIST: u32 = 335544378;
    /// @1
    pub const RANDOM: u32 = 335544382;
    /// invalid database handle
    pub const BAD_DB_HANDLE: u32 = 335544324;
    /// invalid transaction handle
    pub const BAD_TRANS_HANDLE: u32 = 335544332;
    /// Invalid statement handle
    pub const DSQL_STMT_HANDLE: u32 = 335544585;
    /// invalid BLOB handle
    pub const BAD_SEGSTR_HANDLE: u32 = 335544328;
    /// invalid BLOB ID
    pub const BAD_SEGSTR_ID: u32 = 335544329;
    /// unknown information item
    pub const INFUNK: u32 = 335544341;
    /// Attempt to reopen an open cursor
    pub const DSQL_CURSOR_OPEN_ERR: u32 = 336330835;
    /// Attempt to fetch from a closed cursor / cursor is not open
    pub const DSQL_CURSOR_ERR: u32 = 335544577;
    /// I/O error during "@1" operation for file "@2"
    pub const IO_ERROR: u32 = 335544344;
    /// Error while trying to open file
    pub const IO_OPEN_ERR: u32 = 335544734;
    /// operation was cancelled
    pub const CANCELLED: u32 = 335544794;
    /// Attempt to execute an unprepared dynamic SQL statement.
    pub const UNPREPARED_STMT: u32 = 335544711;
    /// Incompatible wire encryption levels requested on client and server
    pub const WIRECRYPT_INCOMPATIBLE: u32 = 335545064;
    /// attempt to store duplicate value (visible to active transactions) in unique index "@1"
    pub const NO_DUP: u32 = 335544349;
    /// Segment buffer length shorter than expected / BLOB too big
    pub const BLOB_TOO_BIG: u32 = 335544793;
}

/// A Firebird error: the arguments of its status vector (without the end marker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status(pub Vec<Arg>);

impl Status {
    /// A single error code.
    pub fn code(code: u32) -> Self {
        Status(vec![Arg::Gds(code)])
    }

    /// An error code followed by a free text (`isc_random`).
    pub fn text(code: u32, text: impl Into<String>) -> Self {
        Status(vec![
            Arg::Gds(code),
            Arg::Gds(gds::RANDOM),
            Arg::Str(text.into()),
        ])
    }

    /// "feature is not supported" with an explanation.
    pub fn unsupported(what: impl Into<String>) -> Self {
        Self::text(gds::WISH_LIST, what)
    }

    /// The first error code (for logs and tests).
    pub fn first_code(&self) -> u32 {
        self.0
            .iter()
            .find_map(|a| match a {
                Arg::Gds(c) => Some(*c),
                _ => None,
            })
            .unwrap_or(0)
    }
}

/// Writes a status vector: success (`None`) or the error's arguments, then `isc_arg_end`.
pub fn write_status(w: &mut Writer, status: Option<&Status>) {
    match status {
        None => {
            w.int(1).int(0).int(0);
        }
        Some(Status(args)) => {
            for arg in args {
                match arg {
                    Arg::Gds(code) => w.int(1).int(*code as i32),
                    Arg::Str(s) => w.int(2).buffer(&truncate(s.as_bytes(), 1024)),
                    Arg::Num(n) => w.int(4).int(*n),
                    Arg::Unix(n) => w.int(7).int(*n),
                };
            }
            w.int(0);
        }
    }
}

fn truncate(s: &[u8], max: usize) -> Vec<u8> {
    s[..s.len().min(max)].to_vec()
}

/// Line and column (1-based) of a 1-based character position in `sql`.
pub fn line_col(sql: &str, position: u32) -> (i32, i32) {
    let mut line = 1;
    let mut col = 1;
    for (i, ch) in sql.chars().enumerate() {
        if i + 1 >= position as usize {
            break;
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// The first double-quoted name in an engine message (`relation "T" does not exist`).
fn quoted_names(message: &str) -> Vec<String> {
    message
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// The 1-based character position of the first whole-word, case-insensitive mention of
/// `word` in `sql`.
fn find_word(sql: &str, word: &str) -> Option<u32> {
    if word.is_empty() {
        return None;
    }
    let chars: Vec<char> = sql.chars().collect();
    let target: Vec<char> = word.chars().flat_map(char::to_uppercase).collect();
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    (0..chars.len()).find_map(|i| {
        let end = i + target.len();
        let candidate = chars.get(i..end)?;
        let same = candidate
            .iter()
            .flat_map(|c| c.to_uppercase())
            .eq(target.iter().copied());
        let before_ok = i == 0 || !is_word(chars[i - 1]);
        let after_ok = chars.get(end).is_none_or(|c| !is_word(*c));
        (same && before_ok && after_ok).then_some(i as u32 + 1)
    })
}

/// The token at a 1-based character position (for "Token unknown").
fn token_at(sql: &str, position: u32) -> String {
    let rest: String = sql
        .chars()
        .skip((position as usize).saturating_sub(1))
        .collect();
    let rest = rest.trim_start();
    let token: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
        .collect();
    if token.is_empty() {
        rest.chars().next().map(String::from).unwrap_or_default()
    } else {
        token
    }
}

/// Maps an engine (or compile) error onto the status vector Firebird sends for the same
/// situation. `sql` is the statement text, for line/column.
pub fn from_sqlstate(sqlstate: &str, message: &str, position: Option<u32>, sql: &str) -> Status {
    let names = quoted_names(message);
    let first = names.first().cloned().unwrap_or_default();
    // Without a position from the engine, point at the first mention of the name, as
    // Firebird does for unknown tables and columns.
    let position = position.or_else(|| find_word(sql, &first));
    let mut args = Vec::new();
    let line_col_args = |args: &mut Vec<Arg>| {
        if let Some(p) = position {
            let (l, c) = line_col(sql, p);
            args.extend([Arg::Gds(gds::LINE_COL), Arg::Num(l), Arg::Num(c)]);
        }
    };
    let drop_table = sql
        .trim_start()
        .get(..10)
        .is_some_and(|head| head.eq_ignore_ascii_case("DROP TABLE"));
    match sqlstate {
        // Firebird reports a DROP TABLE of a missing table as a failed metadata update.
        "42P01" if drop_table => {
            let name = if first.is_empty() {
                message.to_string()
            } else {
                first
            };
            args.extend([
                Arg::Gds(gds::NO_META_UPDATE),
                Arg::Gds(gds::DROP_TABLE_FAILED),
                Arg::Str(name.clone()),
                Arg::Gds(gds::SQLERR),
                Arg::Num(-607),
                Arg::Gds(gds::COMMAND_ERR),
                Arg::Gds(gds::TABLE_NOT_FOUND),
                Arg::Str(name),
            ]);
        }
        "42P01" => {
            args.extend([
                Arg::Gds(gds::DSQL_ERROR),
                Arg::Gds(gds::SQLERR),
                Arg::Num(-204),
                Arg::Gds(gds::RELATION_ERR),
                Arg::Gds(gds::RANDOM),
                Arg::Str(if first.is_empty() {
                    message.into()
                } else {
                    first
                }),
            ]);
            line_col_args(&mut args);
        }
        "42703" => {
            args.extend([
                Arg::Gds(gds::DSQL_ERROR),
                Arg::Gds(gds::SQLERR),
                Arg::Num(-206),
                Arg::Gds(gds::FIELD_ERR),
                Arg::Gds(gds::RANDOM),
                Arg::Str(if first.is_empty() {
                    message.into()
                } else {
                    first
                }),
            ]);
            line_col_args(&mut args);
        }
        "42601" => {
            args.extend([
                Arg::Gds(gds::DSQL_ERROR),
                Arg::Gds(gds::SQLERR),
                Arg::Num(-104),
            ]);
            match position {
                Some(p) => {
                    let (l, c) = line_col(sql, p);
                    args.extend([
                        Arg::Gds(gds::TOKEN_UNK),
                        Arg::Num(l),
                        Arg::Num(c),
                        Arg::Gds(gds::RANDOM),
                        Arg::Str(token_at(sql, p)),
                    ]);
                }
                None => args.extend([Arg::Gds(gds::RANDOM), Arg::Str(message.into())]),
            }
        }
        "42P07" | "42710" | "2BP01" | "42P16" => {
            args.extend([
                Arg::Gds(gds::NO_META_UPDATE),
                Arg::Gds(gds::RANDOM),
                Arg::Str(message.into()),
            ]);
        }
        "23505" => {
            let constraint = names.first().cloned().unwrap_or_else(|| "PRIMARY".into());
            // Rosetta names constraints `<table>_pkey` / `<table>_<columns>_key`.
            let table = names.get(1).cloned().unwrap_or_else(|| {
                constraint
                    .strip_suffix("_pkey")
                    .map(str::to_string)
                    .or_else(|| constraint.split('_').next().map(str::to_string))
                    .unwrap_or_default()
            });
            args.extend([
                Arg::Gds(gds::UNIQUE_KEY),
                Arg::Str(constraint),
                Arg::Str(table),
            ]);
        }
        "23502" => {
            // Firebird names the column `"TABLE"."COLUMN"`.
            let column = match names.get(1) {
                Some(table) => format!("\"{table}\".\"{first}\""),
                None if !first.is_empty() => first,
                None => "?".into(),
            };
            args.extend([
                Arg::Gds(gds::NOT_VALID),
                Arg::Str(column),
                Arg::Str("*** null ***".into()),
            ]);
        }
        "22001" => {
            args.extend([
                Arg::Gds(gds::ARITH_EXCEPT),
                Arg::Gds(gds::STRING_TRUNCATION),
            ]);
        }
        "22003" => {
            args.extend([
                Arg::Gds(gds::ARITH_EXCEPT),
                Arg::Gds(gds::NUMERIC_OUT_OF_RANGE),
            ]);
        }
        "22012" => {
            args.extend([
                Arg::Gds(gds::ARITH_EXCEPT),
                Arg::Gds(gds::EXCEPTION_INTEGER_DIVIDE_BY_ZERO),
            ]);
        }
        "22P02" | "22007" | "22008" | "22018" => {
            let text = names.first().cloned().unwrap_or_else(|| message.into());
            args.extend([Arg::Gds(gds::CONVERT_ERROR), Arg::Str(text)]);
        }
        "40001" => args.push(Arg::Gds(gds::UPDATE_CONFLICT)),
        "40P01" => args.push(Arg::Gds(gds::DEADLOCK)),
        "55P03" => args.extend([Arg::Gds(gds::LOCK_CONFLICT), Arg::Gds(gds::UPDATE_CONFLICT)]),
        "57014" => args.push(Arg::Gds(gds::CANCELLED)),
        "28000" | "28P01" => args.push(Arg::Gds(gds::LOGIN)),
        "42501" => args.extend([
            Arg::Gds(gds::NO_PRIV),
            Arg::Str("access".into()),
            Arg::Str(message.into()),
            Arg::Str(String::new()),
        ]),
        "0A000" => args.extend([
            Arg::Gds(gds::WISH_LIST),
            Arg::Gds(gds::RANDOM),
            Arg::Str(message.into()),
        ]),
        s if s.starts_with("42") => {
            args.extend([
                Arg::Gds(gds::DSQL_ERROR),
                Arg::Gds(gds::RANDOM),
                Arg::Str(message.into()),
            ]);
            line_col_args(&mut args);
        }
        _ => args.extend([Arg::Gds(gds::RANDOM), Arg::Str(message.into())]),
    }
    Status(args)
}

/// The "Problematic key value is (…)" line Firebird adds to a unique violation, from the
/// engine's detail `Key (id)=(1) already exists.`.
pub fn problematic_key(detail: &str) -> Option<Vec<Arg>> {
    let rest = detail.strip_prefix("Key (")?;
    let (columns, rest) = rest.split_once(")=(")?;
    let values = rest.rsplit_once(')')?.0;
    let columns: Vec<&str> = columns.split(", ").collect();
    let values: Vec<&str> = values.split(", ").collect();
    if columns.len() != values.len() {
        return None;
    }
    let pairs: Vec<String> = columns
        .iter()
        .zip(&values)
        .map(|(c, v)| format!("\"{}\" = {v}", c.trim_matches('"')))
        .collect();
    Some(vec![
        Arg::Gds(gds::PROBLEMATIC_KEY_VALUE),
        Arg::Str(format!("({})", pairs.join(", "))),
    ])
}

/// Firebird's answer to an attach naming no database: "I/O error during "open"
/// operation for file …" / "Error while trying to open file" / ENOENT.
pub fn database_not_found(name: &str) -> Status {
    Status(vec![
        Arg::Gds(gds::IO_ERROR),
        Arg::Str("open".into()),
        Arg::Str(name.into()),
        Arg::Gds(gds::IO_OPEN_ERR),
        Arg::Unix(2),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector of guide §8.3 for `SELECT COUNT(*) FROM NO_SUCH_TABLE`.
    #[test]
    fn table_unknown_matches_firebird() {
        let sql = "SELECT COUNT(*) FROM NO_SUCH_TABLE";
        let s = from_sqlstate(
            "42P01",
            "table \"NO_SUCH_TABLE\" does not exist",
            Some(22),
            sql,
        );
        // Without an engine position the name is found in the text.
        assert_eq!(
            from_sqlstate("42P01", "table \"no_such_table\" does not exist", None, sql),
            {
                let mut t = s.clone();
                if let Some(Arg::Str(n)) = t.0.get_mut(5) {
                    *n = "no_such_table".into();
                }
                t
            }
        );
        assert_eq!(
            s.0,
            vec![
                Arg::Gds(335544569),
                Arg::Gds(335544436),
                Arg::Num(-204),
                Arg::Gds(335544580),
                Arg::Gds(335544382),
                Arg::Str("NO_SUCH_TABLE".into()),
                Arg::Gds(336397208),
                Arg::Num(1),
                Arg::Num(22),
            ]
        );
    }

    #[test]
    fn success_and_error_encodings() {
        let mut w = Writer::new();
        write_status(&mut w, None);
        assert_eq!(w.into_bytes(), vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut w = Writer::new();
        write_status(&mut w, Some(&Status::code(gds::LOGIN)));
        let bytes = w.into_bytes();
        assert_eq!(bytes.len(), 12);
        assert_eq!(&bytes[4..8], &335544472u32.to_be_bytes());
    }

    #[test]
    fn problematic_key_from_engine_detail() {
        assert_eq!(
            problematic_key("Key (ID)=(1) already exists."),
            Some(vec![
                Arg::Gds(gds::PROBLEMATIC_KEY_VALUE),
                Arg::Str("(\"ID\" = 1)".into())
            ])
        );
        assert_eq!(problematic_key("something else"), None);
    }

    #[test]
    fn line_and_column_count_from_one() {
        assert_eq!(line_col("SELECT\n  x FROM t", 10), (2, 3));
        assert_eq!(line_col("abc", 1), (1, 1));
        assert_eq!(token_at("SELECT FROMM x", 8), "FROMM");
    }
}
