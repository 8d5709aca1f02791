//! `COPY table [(columns)] FROM STDIN`: the copy-in sub-protocol.
//!
//! The plugin lowers the statement to [`bc::CopyFrom`]; the engine never runs it. The
//! gateway answers CopyInResponse, parses the CopyData stream (text or CSV format) into
//! rows of untyped string literals, and sends them to the engine in bounded batches as
//! multi-row `INSERT` programs ([`BATCH_ROWS`] rows or [`BATCH_BYTES`] bytes, whichever
//! comes first), so memory stays bounded whatever the size of the load. In autocommit
//! mode the gateway wraps the whole COPY in one transaction (BEGIN … COMMIT, ROLLBACK on
//! any error); inside a transaction block it runs in the block. The engine casts each
//! string to its column's type with PostgreSQL's input rules, so bad input fails with the
//! engine's SQLSTATE (22P02, 23502, 23505, …). After an error the remaining CopyData is
//! discarded, as PostgreSQL does.

#![allow(clippy::result_large_err)]

use std::fmt::Debug;

use async_trait::async_trait;
use futures::sink::{Sink, SinkExt};
use pgwire::api::copy::CopyHandler;
use pgwire::api::ClientInfo;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail, CopyInResponse};
use pgwire::messages::response::CommandComplete;
use pgwire::messages::PgWireBackendMessage;
use rosetta_bytecode::{self as bc, Dialect, Program};
use rosetta_proto::{Response, TxnState};

use super::errors::{self, error, into_pgwire};
use super::handler::{engine, put, ConnState, Fail, PgConnection};
use crate::engine_client::EngineClientError;
use crate::plugin_host::PluginHost;

/// Most rows sent to the engine in one INSERT.
pub const BATCH_ROWS: usize = 1000;
/// Most field bytes buffered before a batch is sent.
pub const BATCH_BYTES: usize = 1 << 20;
/// Longest line (record) accepted, in bytes.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// A COPY FROM STDIN in progress.
#[derive(Debug)]
pub(crate) struct CopyIn {
    pub(crate) spec: bc::CopyFrom,
    /// Target column names (the table's, when the statement names none).
    pub(crate) columns: Vec<bc::Ident>,
    /// True when the gateway opened the transaction (autocommit mode).
    pub(crate) own_block: bool,
    /// Bytes received but not yet parsed (an incomplete last line).
    pub(crate) pending: Vec<u8>,
    /// Parsed rows not yet sent.
    pub(crate) rows: Vec<Vec<bc::Expr>>,
    pub(crate) row_bytes: usize,
    /// Rows sent so far.
    pub(crate) count: u64,
    /// The `\.` end-of-data line was seen: later data is ignored.
    pub(crate) ended: bool,
    /// CSV HEADER: the first record is still to be skipped.
    pub(crate) skip_header: bool,
}

impl CopyIn {
    /// A copy into `columns` of `spec.table`.
    pub(crate) fn new(spec: bc::CopyFrom, columns: Vec<bc::Ident>, own_block: bool) -> Self {
        let skip_header = spec.header;
        Self {
            spec,
            columns,
            own_block,
            pending: Vec::new(),
            rows: Vec::new(),
            row_bytes: 0,
            count: 0,
            ended: false,
            skip_header,
        }
    }

    /// Takes in one CopyData payload; complete records are parsed into rows.
    pub(crate) fn feed(&mut self, data: &[u8]) -> Result<(), ErrorInfo> {
        if self.ended {
            return Ok(());
        }
        self.pending.extend_from_slice(data);
        let mut start = 0;
        while let Some(end) = self.record_end(start) {
            let line = self.pending[start..end].to_vec();
            start = end + 1;
            self.record(&line)?;
            if self.ended {
                break;
            }
        }
        self.pending.drain(..start);
        if self.pending.len() > MAX_LINE_BYTES {
            return Err(error("54000", "COPY line is too long"));
        }
        Ok(())
    }

    /// At CopyDone: parses a last line without a newline.
    pub(crate) fn finish(&mut self) -> Result<(), ErrorInfo> {
        if !self.ended && !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.record(&line)?;
        }
        Ok(())
    }

    /// True when a batch should be sent now.
    pub(crate) fn batch_full(&self) -> bool {
        self.rows.len() >= BATCH_ROWS || self.row_bytes >= BATCH_BYTES
    }

    /// The INSERT program for the buffered rows (and forgets them), if any.
    pub(crate) fn take_batch(&mut self) -> Option<Vec<u8>> {
        if self.rows.is_empty() {
            return None;
        }
        let rows = std::mem::take(&mut self.rows);
        self.count += rows.len() as u64;
        self.row_bytes = 0;
        let insert = bc::Insert {
            upsert: None,
            table: self.spec.table.clone(),
            columns: self.columns.clone(),
            source: bc::InsertSource::Values(rows),
            returning: vec![],
        };
        Some(bc::encode(&Program::new(
            Dialect::Postgres,
            bc::Statement::Insert(Box::new(insert)),
        )))
    }

    /// The position of the newline ending the record that starts at `start`.
    fn record_end(&self, start: usize) -> Option<usize> {
        let buf = &self.pending[start..];
        if !self.spec.csv {
            return buf.iter().position(|&b| b == b'\n').map(|p| p + start);
        }
        let mut quoted = false;
        for (i, &b) in buf.iter().enumerate() {
            match b {
                b'"' => quoted = !quoted,
                b'\n' if !quoted => return Some(i + start),
                _ => {}
            }
        }
        None
    }

    /// Parses one record (without its newline) into a row.
    fn record(&mut self, line: &[u8]) -> Result<(), ErrorInfo> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line == b"\\." {
            self.ended = true;
            return Ok(());
        }
        if self.skip_header {
            self.skip_header = false;
            return Ok(());
        }
        let fields = if self.spec.csv {
            csv_fields(line, self.spec.delimiter as u8, &self.spec.null)?
        } else {
            text_fields(line, self.spec.delimiter as u8, &self.spec.null)?
        };
        if fields.len() < self.columns.len() {
            return Err(error(
                "22P04",
                format!(
                    "missing data for column \"{}\"",
                    self.columns[fields.len()].value
                ),
            ));
        }
        if fields.len() > self.columns.len() {
            return Err(error("22P04", "extra data after last expected column"));
        }
        let row = fields
            .into_iter()
            .map(|f| match f {
                Some(s) => {
                    self.row_bytes += s.len() + 8;
                    bc::Expr::Literal(bc::Literal::String(s))
                }
                None => {
                    self.row_bytes += 8;
                    bc::Expr::Literal(bc::Literal::Null)
                }
            })
            .collect();
        self.rows.push(row);
        Ok(())
    }
}

fn utf8(bytes: Vec<u8>) -> Result<String, ErrorInfo> {
    String::from_utf8(bytes)
        .map_err(|_| error("22021", "invalid byte sequence for encoding \"UTF8\""))
}

/// Splits a text-format line: backslash escapes, `null` (compared before de-escaping)
/// for NULL.
pub(crate) fn text_fields(
    line: &[u8],
    delimiter: u8,
    null: &str,
) -> Result<Vec<Option<String>>, ErrorInfo> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        let mut field = Vec::new();
        while i < line.len() && line[i] != delimiter {
            let b = line[i];
            i += 1;
            if b != b'\\' {
                field.push(b);
                continue;
            }
            let Some(&c) = line.get(i) else {
                return Err(error("22P04", "unexpected end of line after a backslash"));
            };
            i += 1;
            match c {
                b'b' => field.push(8),
                b'f' => field.push(12),
                b'n' => field.push(b'\n'),
                b'r' => field.push(b'\r'),
                b't' => field.push(b'\t'),
                b'v' => field.push(11),
                b'0'..=b'7' => {
                    let mut v = u32::from(c - b'0');
                    for _ in 0..2 {
                        match line.get(i) {
                            Some(&d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    field.push((v & 0xff) as u8);
                }
                b'x' if line.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                    let mut v = 0u8;
                    for _ in 0..2 {
                        match line.get(i) {
                            Some(d) if d.is_ascii_hexdigit() => {
                                v = v * 16 + (*d as char).to_digit(16).unwrap_or(0) as u8;
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    field.push(v);
                }
                other => field.push(other),
            }
        }
        let raw = &line[start..i];
        out.push(if raw == null.as_bytes() {
            None
        } else {
            Some(utf8(field)?)
        });
        if i >= line.len() {
            return Ok(out);
        }
        i += 1;
    }
}

/// Splits a CSV record: `"` quotes, `""` inside quotes; an unquoted field equal to
/// `null` is NULL.
pub(crate) fn csv_fields(
    line: &[u8],
    delimiter: u8,
    null: &str,
) -> Result<Vec<Option<String>>, ErrorInfo> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let mut field = Vec::new();
        let mut any_quoted = false;
        let start = i;
        let mut quoted = false;
        while i < line.len() {
            let b = line[i];
            if quoted {
                if b == b'"' {
                    if line.get(i + 1) == Some(&b'"') {
                        field.push(b'"');
                        i += 2;
                        continue;
                    }
                    quoted = false;
                } else {
                    field.push(b);
                }
            } else if b == delimiter {
                break;
            } else if b == b'"' {
                quoted = true;
                any_quoted = true;
            } else {
                field.push(b);
            }
            i += 1;
        }
        if quoted {
            return Err(error("22P04", "unterminated CSV quoted field"));
        }
        let raw = &line[start..i];
        out.push(if !any_quoted && raw == null.as_bytes() {
            None
        } else {
            Some(utf8(field)?)
        });
        if i >= line.len() {
            return Ok(out);
        }
        i += 1;
    }
}

impl PgConnection {
    /// Runs one engine program to its end, recording the transaction state it reports.
    async fn copy_exec(&self, st: &mut ConnState, program: Vec<u8>) -> Result<Vec<String>, Fail> {
        let engine = engine(st)?;
        let mut stream = engine.execute(program, Vec::new(), 0).await?;
        let mut txn = None;
        let mut failure = None;
        let mut columns = Vec::new();
        while let Some(resp) = stream.next().await {
            match resp? {
                Response::Columns(cols) => columns = cols.into_iter().map(|c| c.name).collect(),
                Response::Complete(c) => txn = Some(c.txn),
                Response::Error(e) => {
                    txn = Some(e.txn);
                    failure = Some(EngineClientError::Engine(e));
                }
                _ => {}
            }
        }
        if let Some(t) = txn {
            st.set_txn(t);
        }
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(columns),
        }
    }

    /// Starts `COPY … FROM STDIN`: checks the table and columns, opens the transaction
    /// in autocommit mode and answers CopyInResponse.
    pub(super) async fn start_copy<C>(
        &self,
        st: &mut ConnState,
        client: &mut C,
        program: &[u8],
    ) -> Result<(), Fail>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let decoded = bc::decode(program, &bc::Limits::default())
            .map_err(|e| Fail::Sql(error("XX000", format!("undecodable COPY program: {e}"))))?;
        let bc::Statement::CopyFrom(spec) = decoded.statement else {
            return Err(Fail::Sql(error("XX000", "not a COPY FROM STDIN program")));
        };
        // The table's columns (and a 42P01 before any data is sent, as PostgreSQL does).
        let quote = |i: &bc::Ident| format!("\"{}\"", i.value.replace('"', "\"\""));
        let name: Vec<String> = spec.table.iter().map(quote).collect();
        let probe = format!("SELECT * FROM {} LIMIT 0", name.join("."));
        let compiled = self
            .shared
            .plugins
            .compile(&probe)
            .await
            .map_err(|e| Fail::Sql(errors::from_compile(&e)))?;
        let probe = compiled
            .first()
            .map(|c| c.bytes.clone())
            .ok_or_else(|| Fail::Sql(error("XX000", "empty COPY probe")))?;
        let table_columns = self.copy_exec(st, probe).await?;
        let columns = if spec.columns.is_empty() {
            table_columns.into_iter().map(bc::Ident::quoted).collect()
        } else {
            spec.columns.clone()
        };
        let own_block = st.txn != Some(TxnState::InBlock);
        if own_block {
            let begin = Program::new(
                Dialect::Postgres,
                bc::Statement::Begin(bc::TransactionMode::default()),
            );
            self.copy_exec(st, bc::encode(&begin)).await?;
        }
        let n = columns.len();
        st.copy = Some(CopyIn::new(*spec, columns, own_block));
        put(
            client,
            PgWireBackendMessage::CopyInResponse(CopyInResponse::new(0, n as i16, vec![0; n])),
        )
        .await
    }

    /// Sends the buffered rows, if any.
    async fn copy_flush(&self, st: &mut ConnState) -> Result<(), Fail> {
        if let Some(program) = st.copy.as_mut().and_then(CopyIn::take_batch) {
            self.copy_exec(st, program).await?;
        }
        Ok(())
    }

    /// Ends a failed copy: rolls back the transaction the gateway opened, and turns the
    /// failure into the error pgwire sends (followed by ReadyForQuery).
    async fn copy_failed<C>(&self, st: &mut ConnState, client: &mut C, fail: Fail) -> PgWireError
    where
        C: ClientInfo,
    {
        st.note_failure(&fail);
        if let Some(copy) = st.copy.take() {
            if copy.own_block && st.txn != Some(TxnState::Idle) {
                let rollback = PluginHost::rollback_program(Dialect::Postgres);
                let _ = self.copy_exec(st, rollback).await;
            }
        }
        client.set_transaction_status(st.status());
        match fail {
            Fail::Sql(info) | Fail::Engine(info) => PgWireError::UserError(Box::new(info)),
            Fail::Fatal(info) => into_pgwire(info),
            Fail::Io(e) => e,
        }
    }

    async fn copy_data(&self, st: &mut ConnState, data: &[u8]) -> Result<(), Fail> {
        let Some(copy) = st.copy.as_mut() else {
            return Ok(());
        };
        copy.feed(data).map_err(Fail::Sql)?;
        if copy.batch_full() {
            self.copy_flush(st).await?;
        }
        Ok(())
    }

    async fn copy_done(&self, st: &mut ConnState) -> Result<String, Fail> {
        let Some(copy) = st.copy.as_mut() else {
            return Err(Fail::Sql(error(
                "08P01",
                "CopyDone without a COPY in progress",
            )));
        };
        copy.finish().map_err(Fail::Sql)?;
        self.copy_flush(st).await?;
        let Some(copy) = st.copy.take() else {
            return Err(Fail::Sql(error("XX000", "the COPY state vanished")));
        };
        if copy.own_block {
            let commit = Program::new(Dialect::Postgres, bc::Statement::Commit);
            self.copy_exec(st, bc::encode(&commit)).await?;
        }
        Ok(format!("COPY {}", copy.count))
    }
}

#[async_trait]
impl CopyHandler for PgConnection {
    async fn on_copy_data<C>(&self, client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let st = &mut *guard;
        match self.copy_data(st, &copy_data.data).await {
            Ok(()) => Ok(()),
            Err(fail) => Err(self.copy_failed(st, client, fail).await),
        }
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let st = &mut *guard;
        match self.copy_done(st).await {
            Ok(tag) => {
                client
                    .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                        tag,
                    )))
                    .await?;
                client.set_transaction_status(st.status());
                Ok(())
            }
            Err(fail) => Err(self.copy_failed(st, client, fail).await),
        }
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let st = &mut *guard;
        let info = error("57014", format!("COPY from stdin failed: {}", fail.message));
        self.copy_failed(st, client, Fail::Sql(info)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_fields() {
        let f = text_fields(b"1\t\\N\ta\\tb\\\\c\t\\101\\x41", b'\t', "\\N").unwrap();
        assert_eq!(
            f,
            vec![
                Some("1".into()),
                None,
                Some("a\tb\\c".into()),
                Some("AA".into())
            ]
        );
        assert_eq!(
            text_fields(b"", b'\t', "\\N").unwrap(),
            vec![Some("".into())]
        );
        assert!(text_fields(b"a\\", b'\t', "\\N").is_err());
    }

    #[test]
    fn csv_fields_and_quotes() {
        let f = csv_fields(b"1,,\"\",\"a,\"\"b\"", b',', "").unwrap();
        assert_eq!(
            f,
            vec![
                Some("1".into()),
                None,
                Some("".into()),
                Some("a,\"b".into())
            ]
        );
    }

    #[test]
    fn feed_splits_records_across_chunks() {
        let spec = bc::CopyFrom {
            table: vec![bc::Ident::new("t")],
            columns: vec![],
            csv: false,
            delimiter: '\t',
            null: "\\N".into(),
            header: false,
        };
        let mut c = CopyIn::new(spec, vec![bc::Ident::new("a"), bc::Ident::new("b")], true);
        c.feed(b"1\tx\n2\t").unwrap();
        assert_eq!(c.rows.len(), 1);
        c.feed(b"y\n\\.\n3\tz\n").unwrap();
        assert_eq!(c.rows.len(), 2);
        assert!(c.ended);
        assert!(c.feed(b"").is_ok());
        let mut bad = CopyIn::new(c.spec.clone(), c.columns.clone(), true);
        assert_eq!(bad.feed(b"1\n").unwrap_err().code, "22P04");
    }
}
