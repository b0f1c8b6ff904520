//! Printing: borderless tables for people, JSON for scripts. A closed pipe (`| head`) ends
//! output quietly instead of panicking.

use std::io::{self, Write};

use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

use crate::cli::Output;
use crate::error::{Error, Result};

/// Writes a line to stdout.
pub fn line(text: impl AsRef<str>) -> Result<()> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{}", text.as_ref()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Output(e.to_string())),
    }
}

/// Writes a line to stderr (notes and progress that must not mix with machine output).
pub fn note(text: impl AsRef<str>) {
    let _ = writeln!(io::stderr().lock(), "{}", text.as_ref());
}

/// Prints a value as pretty JSON.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    // Through a `Value`: members in one order (sorted), whatever type holds them.
    let value = serde_json::to_value(value).map_err(|e| Error::Output(e.to_string()))?;
    let text = serde_json::to_string_pretty(&value).map_err(|e| Error::Output(e.to_string()))?;
    line(text)
}

/// Prints a value as one compact JSON line (for streams).
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let value = serde_json::to_value(value).map_err(|e| Error::Output(e.to_string()))?;
    let text = serde_json::to_string(&value).map_err(|e| Error::Output(e.to_string()))?;
    line(text)
}

/// Prints a borderless table with a header row.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> Result<()> {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for row in rows {
        t.add_row(row);
    }
    let text = t.to_string();
    // comfy-table pads every cell; trailing blanks only make diffs and logs noisy.
    // The borderless preset also starts every line with the left padding.
    let trimmed: Vec<&str> = text
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
        .collect();
    line(trimmed.join("\n"))
}

/// Prints either a sentence (table mode) or a JSON value (json mode).
pub fn result<T: Serialize + ?Sized>(
    mode: Output,
    sentence: impl AsRef<str>,
    value: &T,
) -> Result<()> {
    match mode {
        Output::Table => line(sentence),
        Output::Json => json(value),
    }
}
