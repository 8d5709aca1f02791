//! Info buffers: the answers to `op_info_database`, `op_info_sql` (and the describe part
//! of `op_prepare_statement`), `op_info_blob` and `op_info_transaction` (guide §9, §11.2).
//!
//! An answer is a list of `item u8, length u16 LE, value` closed by `isc_info_end`, and
//! must never exceed the client's `buffer_length` — a Firebird client treats a longer
//! answer as a broken connection. [`InfoWriter`] enforces that: when the next piece does
//! not fit, it writes `isc_info_truncated` and refuses everything after it.

use super::types::SqlType;

/// `isc_info_end`.
pub const END: u8 = 1;
/// `isc_info_truncated`.
pub const TRUNCATED: u8 = 2;

/// Writes an info answer within a byte budget.
#[derive(Debug)]
pub struct InfoWriter {
    out: Vec<u8>,
    limit: usize,
    truncated: bool,
}

impl InfoWriter {
    /// A writer for a client buffer of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            out: Vec::new(),
            limit,
            truncated: false,
        }
    }

    /// True once a piece did not fit.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Appends raw bytes if they fit together with one byte for the closing marker;
    /// otherwise marks truncation. Returns whether they were written.
    pub fn piece(&mut self, bytes: &[u8]) -> bool {
        if self.truncated {
            return false;
        }
        if self.out.len() + bytes.len() + 1 > self.limit {
            self.truncated = true;
            if self.out.len() < self.limit {
                self.out.push(TRUNCATED);
            }
            return false;
        }
        self.out.extend_from_slice(bytes);
        true
    }

    /// `item, len, value`.
    pub fn item(&mut self, item: u8, value: &[u8]) -> bool {
        let mut b = Vec::with_capacity(3 + value.len());
        b.push(item);
        b.extend_from_slice(&(value.len().min(u16::MAX as usize) as u16).to_le_bytes());
        b.extend_from_slice(&value[..value.len().min(u16::MAX as usize)]);
        self.piece(&b)
    }

    /// `item, 4, i32 LE`.
    pub fn int(&mut self, item: u8, value: i32) -> bool {
        self.item(item, &value.to_le_bytes())
    }

    /// Closes the answer with `isc_info_end` (unless truncated).
    pub fn finish(mut self) -> Vec<u8> {
        if !self.truncated && self.out.len() < self.limit.max(1) {
            self.out.push(END);
        }
        self.out
    }
}

/// What `op_info_database` reports.
#[derive(Debug, Clone)]
pub struct DatabaseFacts {
    /// Connection character set id.
    pub charset: i32,
    /// Attachment id.
    pub attachment_id: i32,
    /// The database name as attached.
    pub name: String,
}

/// The version string (Jaybird parses it: `XX-Vmajor.minor.release.build name`).
pub const VERSION: &str = concat!("LI-V3.0.11.0 Rosetta ", env!("CARGO_PKG_VERSION"));

/// Answers `op_info_database`: exactly the items asked, in order; unknown ones left out.
pub fn database_info(items: &[u8], limit: usize, facts: &DatabaseFacts) -> Vec<u8> {
    let mut w = InfoWriter::new(limit);
    for &item in items {
        let ok = match item {
            END => break,
            32 => w.int(32, 12),                  // isc_info_ods_version
            33 => w.int(33, 0),                   // isc_info_ods_minor_version
            62 => w.item(62, &[3]),               // isc_info_db_sql_dialect
            101 => w.int(101, facts.charset),     // frb_info_att_charset
            14 => w.int(14, 8192),                // isc_info_page_size
            22 => w.int(22, facts.attachment_id), // isc_info_attachment_id
            63 => w.int(63, 0),                   // isc_info_db_read_only
            12 => w.int(12, 2),                   // isc_info_base_level (legacy, Firebird 2+)
            103 | 4 => {
                // isc_info_firebird_version / isc_info_db_id: counted strings.
                let strings: Vec<&str> = if item == 103 {
                    vec![
                        VERSION,
                        concat!(
                            "LI-V3.0.11.0 Rosetta ",
                            env!("CARGO_PKG_VERSION"),
                            "/tcp/P15:C"
                        ),
                    ]
                } else {
                    vec![facts.name.as_str(), "localhost"]
                };
                let mut value = vec![strings.len() as u8];
                for s in strings {
                    let b = &s.as_bytes()[..s.len().min(255)];
                    value.push(b.len() as u8);
                    value.extend_from_slice(b);
                }
                w.item(item, &value)
            }
            _ => true,
        };
        if !ok {
            break;
        }
    }
    w.finish()
}

/// One described variable (a result column or a parameter).
#[derive(Debug, Clone)]
pub struct Var {
    /// Its type.
    pub ty: SqlType,
    /// Nullable (the type code gets +1).
    pub nullable: bool,
    /// Field (column) name; empty for expressions and parameters.
    pub field: String,
    /// Table name (may be empty).
    pub relation: String,
    /// Column label (what isql prints as the heading).
    pub alias: String,
}

/// The describe facts of a prepared statement.
#[derive(Debug, Clone)]
pub struct Described {
    /// `isc_info_sql_stmt_type` value.
    pub stmt_type: i32,
    /// Result columns.
    pub select: Vec<Var>,
    /// Parameters.
    pub bind: Vec<Var>,
    /// Row counters of the last execution: (selected, inserted, updated, deleted).
    pub records: (u32, u32, u32, u32),
    /// Whether the statement was executed at all (item 23 is left out for DDL and
    /// unexecuted statements).
    pub has_records: bool,
}

/// Answers an `op_info_sql` / the describe part of `op_prepare_statement` (guide §11.2):
/// walks the requested items in order, as Firebird's `sql_info` does.
pub fn sql_info(items: &[u8], limit: usize, d: &Described) -> Vec<u8> {
    let mut w = InfoWriter::new(limit);
    let mut vars: &[Var] = &[];
    let mut first: usize = 1;
    let mut i = 0;
    while i < items.len() && !w.truncated() {
        let item = items[i];
        i += 1;
        match item {
            END => break,
            21 => {
                w.int(21, d.stmt_type);
            }
            27 => {
                let flags = match d.stmt_type {
                    1 | 12 => 3,
                    5 => 0,
                    _ => 2,
                };
                w.int(27, flags);
            }
            4 | 5 => {
                vars = if item == 4 { &d.select } else { &d.bind };
                w.piece(&[item]);
            }
            20 => {
                // isc_info_sql_sqlda_start: one-byte length, LE value, no output.
                let len = items.get(i).copied().unwrap_or(0) as usize;
                let value = items.get(i + 1..i + 1 + len).unwrap_or(&[]);
                let mut le = [0u8; 4];
                for (d, s) in le.iter_mut().zip(value) {
                    *d = *s;
                }
                first = (u32::from_le_bytes(le) as usize).max(1);
                i += 1 + len;
            }
            7 => {
                // The per-variable items follow up to and including describe_end (8).
                let start = i;
                while i < items.len() && items[i] != 8 && items[i] != END {
                    i += 1;
                }
                let per_var = &items[start..i];
                if items.get(i) == Some(&8) {
                    i += 1;
                }
                if !w.int(7, vars.len() as i32) {
                    break;
                }
                for (index, var) in vars.iter().enumerate().skip(first.saturating_sub(1)) {
                    let piece = describe_var(per_var, index + 1, var);
                    if !w.piece(&piece) {
                        break;
                    }
                }
                first = 1;
            }
            23 if d.has_records => {
                let (sel, ins, upd, del) = d.records;
                let mut v = Vec::with_capacity(29);
                for (code, n) in [(15u8, upd), (16, del), (13, sel), (14, ins)] {
                    v.push(code);
                    v.extend_from_slice(&4u16.to_le_bytes());
                    v.extend_from_slice(&n.to_le_bytes());
                }
                v.push(END);
                w.item(23, &v);
            }
            // Anything else (plans, batch fetch, explain) is left out.
            _ => {}
        }
    }
    w.finish()
}

fn describe_var(per_var: &[u8], seq: usize, var: &Var) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |item: u8, value: &[u8]| {
        out.push(item);
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(value);
    };
    let name = |s: &str| s.as_bytes()[..s.len().min(252)].to_vec();
    for &item in per_var {
        match item {
            9 => put(9, &(seq as i32).to_le_bytes()),
            11 => put(11, &(var.ty.code + var.nullable as i32).to_le_bytes()),
            12 => put(12, &var.ty.sub_type.to_le_bytes()),
            13 => put(13, &var.ty.scale.to_le_bytes()),
            14 => put(14, &var.ty.length.to_le_bytes()),
            15 => put(15, &(var.nullable as i32).to_le_bytes()),
            16 => put(16, &name(&var.field)),
            17 => put(17, &name(&var.relation)),
            18 => put(18, b""),
            19 => put(19, &name(&var.alias)),
            25 => put(25, b""),
            _ => {}
        }
    }
    out.push(8);
    out
}

/// Answers `op_info_blob` for a blob of `len` bytes.
pub fn blob_info(items: &[u8], limit: usize, len: usize) -> Vec<u8> {
    let mut w = InfoWriter::new(limit);
    let len = len.min(i32::MAX as usize) as i32;
    for &item in items {
        let ok = match item {
            END => break,
            4 => w.int(4, if len == 0 { 0 } else { 1 }),
            5 => w.int(5, len.min(u16::MAX as i32)),
            6 => w.int(6, len),
            7 => w.int(7, 0),
            _ => true,
        };
        if !ok {
            break;
        }
    }
    w.finish()
}

/// Answers `op_info_transaction` (only `isc_info_tra_id` is known).
pub fn transaction_info(items: &[u8], limit: usize, id: i32) -> Vec<u8> {
    let mut w = InfoWriter::new(limit);
    for &item in items {
        let ok = match item {
            END => break,
            4 => w.int(4, id),
            _ => true,
        };
        if !ok {
            break;
        }
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// isql's request and the real server's answer (guide Appendix C).
    #[test]
    fn isql_database_info() {
        let facts = DatabaseFacts {
            charset: 0,
            attachment_id: 1,
            name: "rosetta".into(),
        };
        let out = database_info(&[0x20, 0x21, 0x3E, 0x65, 1, 1], 1024, &facts);
        assert_eq!(
            out,
            vec![
                0x20, 4, 0, 12, 0, 0, 0, 0x21, 4, 0, 0, 0, 0, 0, 0x3E, 1, 0, 3, 0x65, 4, 0, 0, 0,
                0, 0, 1
            ]
        );
    }

    fn var(alias: &str) -> Var {
        Var {
            ty: super::super::types::describe(&rosetta_bytecode::DataType::Integer),
            nullable: true,
            field: alias.into(),
            relation: String::new(),
            alias: alias.into(),
        }
    }

    #[test]
    fn describe_truncates_at_variable_boundaries_and_continues() {
        let d = Described {
            stmt_type: 1,
            select: (0..30).map(|i| var(&format!("COLUMN_{i}"))).collect(),
            bind: vec![],
            records: (0, 0, 0, 0),
            has_records: false,
        };
        let items = [21, 4, 7, 9, 11, 12, 13, 14, 16, 19, 8, 5, 7, 9, 11, 8];
        let out = sql_info(&items, 256, &d);
        assert!(out.len() <= 256);
        assert_eq!(out.last(), Some(&TRUNCATED));
        // Continuation from variable 5.
        let cont = [20, 2, 5, 0, 4, 7, 9, 11, 8];
        let out = sql_info(&cont, 64_000, &d);
        assert_eq!(&out[..8], &[4, 7, 4, 0, 30, 0, 0, 0]);
        assert_eq!(&out[8..15], &[9, 4, 0, 5, 0, 0, 0]);
        assert_eq!(out.last(), Some(&END));
    }

    #[test]
    fn records_layout_matches_capture() {
        let d = Described {
            stmt_type: 2,
            select: vec![],
            bind: vec![],
            records: (0, 1, 0, 0),
            has_records: true,
        };
        let out = sql_info(&[23], 1024, &d);
        assert_eq!(out.len(), 3 + 29 + 1);
        assert_eq!(&out[..3], &[0x17, 0x1D, 0]);
        assert_eq!(&out[out.len() - 9..], &[0x0E, 4, 0, 1, 0, 0, 0, 1, 1]);
    }
}
