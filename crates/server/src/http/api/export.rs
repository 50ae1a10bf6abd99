//! `GET /cases/export` (R16): the case list, with its filters, as CSV or XLSX.
//!
//! Memory stays bounded whatever the number of cases: pages of
//! [`PAGE`] cases are read from the store by cursor, one read job each.
//! CSV is written by the `csv` crate, one writer per page, to the response
//! as each page arrives. XLSX is a zip whose directory comes last, so the
//! workbook is built in rust_xlsxwriter's constant-memory mode (rows go to
//! a temporary file as they are written), saved to an anonymous temporary
//! file, and that file is streamed out.

use std::borrow::Cow;
use std::io::{Seek, SeekFrom};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use casedesk_domain::{AccountTimeZone, ChatState, Status, Time};
use casedesk_store::{CaseFilter, CaseSort, ExportRow, SortOrder, Store, StoreError, read};
use futures::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use super::Query;
use crate::App;
use crate::auth::Agent;
use crate::error::AppError;
use crate::util::rfc3339;

/// Cases read per store job.
const PAGE: i64 = 1000;
/// Data rows per worksheet: Excel's 1,048,576 rows less the header.
const XLSX_ROWS_PER_SHEET: u32 = 1_048_575;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (default) or `xlsx`.
    #[param(schema_with = super::schema::export_format)]
    pub format: Option<String>,
    /// CSV only: start with a UTF-8 byte order mark, for Excel.
    pub bom: Option<bool>,
    #[param(schema_with = super::schema::status)]
    pub status: Option<Status>,
    #[param(schema_with = super::schema::chat_state)]
    pub chat_state: Option<ChatState>,
    pub channel_id: Option<String>,
    pub customer_id: Option<String>,
    pub assignee_id: Option<String>,
    /// `true`: only cases nobody is assigned to.
    pub unassigned: Option<bool>,
    /// Only cases with this label.
    pub label_id: Option<String>,
    /// Text searched in subjects and messages.
    pub q: Option<String>,
    /// `created_at` (default) or `last_activity_at`.
    #[param(schema_with = super::schema::case_sort)]
    pub sort: Option<String>,
    /// `desc` (default) or `asc`.
    #[param(schema_with = super::schema::order)]
    pub order: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv { bom: bool },
    Xlsx,
}

const COLUMNS: [&str; 17] = [
    "number",
    "subject",
    "channel",
    "customer_name",
    "customer_id",
    "customer_external_id",
    "status",
    "chat_state",
    "assignee",
    "created_at",
    "first_response_at",
    "finished_at",
    "closed_at",
    "message_count",
    "previous_case_number",
    "next_case_number",
    "labels",
];

/// One exported cell.
enum Cell<'a> {
    Text(&'a str),
    /// Names joined by `, ` in one text cell.
    List(&'a [String]),
    Int(Option<i64>),
    Time(Option<Time>),
}

fn cells(r: &ExportRow) -> [Cell<'_>; 17] {
    let c = &r.case;
    [
        Cell::Int(Some(c.number)),
        Cell::Text(&c.subject),
        Cell::Text(&r.channel_name),
        Cell::Text(r.customer_name.as_deref().unwrap_or("")),
        Cell::Text(&c.customer_id),
        Cell::Text(&r.customer_external_id),
        Cell::Text(c.state.status.as_str()),
        Cell::Text(c.state.chat_state.map_or("", ChatState::as_str)),
        Cell::Text(r.assignee_name.as_deref().unwrap_or("")),
        Cell::Time(Some(c.created_at)),
        Cell::Time(c.first_response_at),
        Cell::Time(c.state.finished_at),
        Cell::Time(c.state.closed_at),
        Cell::Int(Some(c.message_count)),
        Cell::Int(r.previous_number),
        Cell::Int(r.next_number),
        Cell::List(&r.labels),
    ]
}

/// A spreadsheet would run a cell starting with one of these as a formula
/// (or strip the control character and then do so).
fn needs_formula_guard(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Text as exported: what a spreadsheet would run as a formula gets a
/// leading `'` (OWASP's CSV-injection advice). Quoting is the CSV writer's.
fn guarded(s: &str) -> Cow<'_, str> {
    if needs_formula_guard(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

fn csv_field<'a>(cell: &Cell<'a>) -> Cow<'a, str> {
    match cell {
        Cell::Text(s) => guarded(s),
        Cell::List(names) => Cow::Owned(guarded(&names.join(", ")).into_owned()),
        Cell::Int(Some(n)) => Cow::Owned(n.to_string()),
        Cell::Time(Some(t)) => Cow::Owned(rfc3339(*t)),
        Cell::Int(None) | Cell::Time(None) => Cow::Borrowed(""),
    }
}

/// Where a CSV chunk goes in the file.
#[derive(Clone, Copy)]
enum ChunkAt {
    /// The start: the byte order mark if asked for, then the header.
    Start { bom: bool },
    /// After what was already sent.
    Rest,
}

/// `records` as CSV through the `csv` crate (RFC 4180: fields quoted when
/// they hold a comma, quote or line break, quotes doubled, CRLF line ends).
/// One writer per page, so memory holds one page whatever the export.
fn csv_chunk<'a, R: AsRef<[Cell<'a>]>>(
    at: ChunkAt,
    records: impl IntoIterator<Item = R>,
) -> Result<Vec<u8>, StoreError> {
    let err = |e: csv::Error| StoreError::Other(format!("csv: {e}"));
    let mut out = Vec::new();
    if let ChunkAt::Start { bom: true } = at {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    if let ChunkAt::Start { .. } = at {
        writer.write_record(COLUMNS).map_err(err)?;
    }
    for record in records {
        for cell in record.as_ref() {
            writer
                .write_field(csv_field(cell).as_bytes())
                .map_err(err)?;
        }
        writer.write_record(None::<&[u8]>).map_err(err)?;
    }
    writer
        .into_inner()
        .map_err(|e| StoreError::Other(format!("csv: {}", e.error())))
}

/// Reads the export page after `filter.cursor` and moves the cursor past it.
async fn next_page(
    store: &dyn Store,
    account_id: &str,
    filter: &mut CaseFilter,
) -> Result<Vec<ExportRow>, StoreError> {
    let (account_id, f) = (account_id.to_owned(), filter.clone());
    let rows = read::<_, StoreError, _>(store, move |tx| {
        Box::pin(async move {
            let mut rows = tx.export_cases(&account_id, &f).await?;
            let ids: Vec<String> = rows.iter().map(|r| r.case.id.clone()).collect();
            let at: std::collections::HashMap<String, usize> =
                ids.iter().cloned().zip(0..).collect();
            for (case_id, label) in tx.case_labels(&account_id, &ids).await? {
                if let Some(&i) = at.get(&case_id) {
                    rows[i].labels.push(label.name);
                }
            }
            Ok(rows)
        })
    })
    .await?;
    if let Some(last) = rows.last() {
        filter.cursor = Some((filter.sort.key(&last.case), last.case.id.clone()));
    }
    Ok(rows)
}

struct CsvState {
    store: Arc<dyn Store>,
    account_id: String,
    filter: CaseFilter,
    /// Where the next chunk goes.
    at: ChunkAt,
    done: bool,
}

fn csv_body(state: CsvState) -> Body {
    let stream = futures::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        let page = next_page(&*s.store, &s.account_id, &mut s.filter).await;
        let chunk = page.and_then(|rows| {
            s.done = (rows.len() as i64) < s.filter.limit;
            csv_chunk(
                std::mem::replace(&mut s.at, ChunkAt::Rest),
                rows.iter().map(cells),
            )
        });
        match chunk {
            Ok(chunk) => Some((Ok::<_, StoreError>(Bytes::from(chunk)), s)),
            Err(e) => {
                // Headers are gone already: all we can do is cut the body
                // short, which the client sees as a failed download.
                tracing::error!("export failed mid-stream: {e}");
                s.done = true;
                Some((Err(e), s))
            }
        }
    });
    Body::from_stream(stream)
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> StoreError {
    StoreError::Other(format!("xlsx: {e}"))
}

/// Builds the workbook into an anonymous temporary file, page by page.
/// Runs on a blocking thread: the workbook is synchronous.
fn build_xlsx(
    store: Arc<dyn Store>,
    account_id: String,
    mut filter: CaseFilter,
    tz: AccountTimeZone,
    runtime: tokio::runtime::Handle,
) -> Result<std::fs::File, StoreError> {
    use rust_xlsxwriter::{ExcelDateTime, Format as CellFormat, Workbook};

    let io = |e: std::io::Error| StoreError::Other(format!("export file: {e}"));
    let header_format = CellFormat::new().set_bold();
    let date_format = CellFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let mut workbook = Workbook::new();
    let mut sheets = 0usize;
    let mut row_in_sheet = XLSX_ROWS_PER_SHEET; // forces the first sheet
    loop {
        let rows = runtime.block_on(next_page(&*store, &account_id, &mut filter))?;
        for r in &rows {
            if row_in_sheet == XLSX_ROWS_PER_SHEET {
                let sheet = workbook.add_worksheet_with_constant_memory();
                sheets += 1;
                let name = if sheets == 1 {
                    "Cases".to_owned()
                } else {
                    format!("Cases ({sheets})")
                };
                sheet.set_name(name).map_err(xlsx_err)?;
                for (i, title) in COLUMNS.iter().enumerate() {
                    let width = match *title {
                        "subject" => 40.0,
                        n if n.ends_with("_at") => 20.0,
                        _ => 14.0,
                    };
                    sheet.set_column_width(i as u16, width).map_err(xlsx_err)?;
                }
                for (i, title) in COLUMNS.iter().enumerate() {
                    let title = if title.ends_with("_at") {
                        format!("{title} ({tz})")
                    } else {
                        (*title).to_owned()
                    };
                    sheet
                        .write_string_with_format(0, i as u16, title, &header_format)
                        .map_err(xlsx_err)?;
                }
                sheet.set_freeze_panes(1, 0).map_err(xlsx_err)?;
                row_in_sheet = 0;
            }
            row_in_sheet += 1;
            let sheet = workbook
                .worksheet_from_index(sheets - 1)
                .map_err(xlsx_err)?;
            for (i, cell) in cells(r).iter().enumerate() {
                let col = i as u16;
                match cell {
                    Cell::Text(s) => {
                        // Strings are stored as strings, never formulas.
                        sheet
                            .write_string(row_in_sheet, col, *s)
                            .map_err(xlsx_err)?;
                    }
                    Cell::List(names) => {
                        sheet
                            .write_string(row_in_sheet, col, names.join(", "))
                            .map_err(xlsx_err)?;
                    }
                    Cell::Int(Some(n)) => {
                        sheet
                            .write_number(row_in_sheet, col, *n as f64)
                            .map_err(xlsx_err)?;
                    }
                    Cell::Time(Some(t)) => {
                        // Spreadsheet dates have no zone: the account's local time.
                        let local = t.with_timezone(&tz.tz()).naive_local();
                        let secs = local.and_utc().timestamp();
                        let dt = ExcelDateTime::from_timestamp(secs).map_err(xlsx_err)?;
                        sheet
                            .write_datetime_with_format(row_in_sheet, col, dt, &date_format)
                            .map_err(xlsx_err)?;
                    }
                    Cell::Int(None) | Cell::Time(None) => {}
                }
            }
        }
        if (rows.len() as i64) < filter.limit {
            break;
        }
    }
    if sheets == 0 {
        let sheet = workbook.add_worksheet_with_constant_memory();
        sheet.set_name("Cases").map_err(xlsx_err)?;
        for (i, title) in COLUMNS.iter().enumerate() {
            sheet
                .write_string_with_format(0, i as u16, *title, &header_format)
                .map_err(xlsx_err)?;
        }
    }
    let mut file = tempfile::tempfile().map_err(io)?;
    workbook.save_to_writer(&mut file).map_err(xlsx_err)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok(file)
}

fn xlsx_body(
    store: Arc<dyn Store>,
    account_id: String,
    filter: CaseFilter,
    tz: AccountTimeZone,
) -> Body {
    let runtime = tokio::runtime::Handle::current();
    let built =
        tokio::task::spawn_blocking(move || build_xlsx(store, account_id, filter, tz, runtime));
    let file = futures::stream::once(async move {
        match built.await {
            Ok(Ok(file)) => Ok(tokio::fs::File::from_std(file)),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(StoreError::Other(format!("export task failed: {e}"))),
        }
    });
    let stream = file
        .map(|file| match file {
            Ok(file) => futures::stream::unfold(Some(file), |file| async move {
                use tokio::io::AsyncReadExt;
                let mut file = file?;
                let mut buf = vec![0u8; 64 * 1024];
                match file.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(Bytes::from(buf)), Some(file)))
                    }
                    Err(e) => Some((Err(StoreError::Other(format!("export file: {e}"))), None)),
                }
            })
            .boxed(),
            Err(e) => {
                tracing::error!("export failed: {e}");
                futures::stream::once(async move { Err(e) }).boxed()
            }
        })
        .flatten();
    Body::from_stream(stream)
}

fn parse_sort(s: Option<&str>) -> Result<CaseSort, AppError> {
    match s {
        None | Some("created_at") => Ok(CaseSort::CreatedAt),
        Some("last_activity_at") => Ok(CaseSort::LastActivityAt),
        Some(other) => Err(AppError::unknown_value(
            "sort",
            other,
            &["created_at", "last_activity_at"],
        )),
    }
}

fn parse_order(s: Option<&str>) -> Result<SortOrder, AppError> {
    match s {
        None | Some("desc") => Ok(SortOrder::Desc),
        Some("asc") => Ok(SortOrder::Asc),
        Some(other) => Err(AppError::unknown_value("order", other, &["asc", "desc"])),
    }
}

#[utoipa::path(get, path = "/api/v1/cases/export", tag = "reports", params(ExportParams),
    responses(
        (status = 200, description = "The cases as `text/csv` (RFC 4180, UTF-8) or an XLSX \
            workbook, streamed, as an attachment", content(
                (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400)))]
pub async fn export_cases(
    State(app): State<App>,
    agent: Agent,
    Query(p): Query<ExportParams>,
) -> Result<Response, AppError> {
    let format = match p.format.as_deref() {
        None | Some("csv") => Format::Csv {
            bom: p.bom.unwrap_or(false),
        },
        Some("xlsx") => Format::Xlsx,
        Some(other) => {
            return Err(AppError::unknown_value("format", other, &["csv", "xlsx"]));
        }
    };
    let filter = CaseFilter {
        status: p.status,
        chat_state: p.chat_state,
        channel_id: p.channel_id.filter(|s| !s.is_empty()),
        customer_id: p.customer_id.filter(|s| !s.is_empty()),
        assignee_id: p.assignee_id.filter(|s| !s.is_empty()),
        unassigned: p.unassigned.unwrap_or(false),
        label_id: p.label_id.filter(|s| !s.is_empty()),
        q: p.q.filter(|s| !s.trim().is_empty()),
        include_merged: false,
        sort: parse_sort(p.sort.as_deref())?,
        order: parse_order(p.order.as_deref())?,
        cursor: None,
        limit: PAGE,
    };
    let account_id = agent.account_id().to_owned();
    let id = account_id.clone();
    let tz = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { Ok(tx.get_account(&id).await?.time_zone) })
    })
    .await?;
    let date = tz.date_of(app.clock.now()).format("%Y-%m-%d");
    let store = Arc::clone(&app.store);
    let (body, content_type, ext) = match format {
        Format::Csv { bom } => (
            csv_body(CsvState {
                store,
                account_id,
                filter,
                at: ChunkAt::Start { bom },
                done: false,
            }),
            "text/csv; charset=utf-8",
            "csv",
        ),
        Format::Xlsx => (
            xlsx_body(store, account_id, filter, tz),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    let disposition = format!("attachment; filename=\"casedesk-cases-{date}.{ext}\"");
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One record of `fields` as the export writes it.
    fn record(fields: &[Cell<'_>]) -> String {
        let bytes = csv_chunk(ChunkAt::Rest, [fields]).expect("record");
        String::from_utf8(bytes).expect("UTF-8")
    }

    #[test]
    fn csv_fields_are_quoted_and_guarded() {
        let cases = [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\r\nlines", "\"two\r\nlines\""),
            ("=SUM(A1)", "'=SUM(A1)"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@cmd", "'@cmd"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("=1,2", "\"'=1,2\""),
            ("Привет", "Привет"),
            ("", ""),
        ];
        for (input, want) in cases {
            let got = record(&[Cell::Text(input), Cell::Text("end")]);
            assert_eq!(got, format!("{want},end\r\n"), "{input:?}");
        }
    }

    #[test]
    fn a_field_with_quotes_commas_line_breaks_and_non_ascii_reads_back_intact() {
        let subject = "Zahlung \"offen\", bitte prüfen\r\nзаказ №42 — 東京";
        let labels = ["VIP".to_owned(), "=cmd|' /C calc'!A0".to_owned()];
        let line = record(&[
            Cell::Text(subject),
            Cell::List(&labels),
            Cell::Int(Some(-7)),
            Cell::Int(None),
        ]);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert_eq!(rows.len(), 1, "{line:?}");
        let fields: Vec<&str> = rows[0].iter().collect();
        assert_eq!(
            fields,
            [subject, "VIP, =cmd|' /C calc'!A0", "-7", ""],
            "a list is guarded as a whole only when it starts like a formula"
        );
        let guarded_first = record(&[Cell::List(&["=x".to_owned(), "y".to_owned()])]);
        assert_eq!(guarded_first, "\"'=x, y\"\r\n");
    }

    #[test]
    fn the_first_chunk_starts_with_the_bom_and_the_header() {
        let none: [&[Cell<'_>]; 0] = [];
        let head = csv_chunk(ChunkAt::Start { bom: true }, none).expect("header");
        let head = String::from_utf8(head).expect("UTF-8");
        assert_eq!(head, format!("\u{feff}{}\r\n", COLUMNS.join(",")));
        let head = csv_chunk(ChunkAt::Start { bom: false }, none).expect("header");
        assert!(head.starts_with(b"number,subject,"));
        assert!(csv_chunk(ChunkAt::Rest, none).expect("empty").is_empty());
    }
}
