//! Compile errors: where, what, and the offending line with a caret under the spot.
//!
//! Inside the compiler a problem is a [`Diag`] (a position and a message); at the API boundary
//! the diagnostics of one compilation become [`CompileErrors`], sorted by position, each with
//! the file name and a copy of its source line.

use std::fmt;

use super::code::SourcePos;

/// One compile error.
///
/// Displays as
/// ```text
/// file.som:12:7: error: expected ')' to close the method body
///    12 | foo = ( ^ 1 ]
///       |             ^
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// The file name given to the compiler.
    pub file: String,
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
    /// What was expected or what is wrong.
    pub message: String,
    /// The source line the error is on, without its line terminator.
    pub source_line: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.render(f, "error")
    }
}

/// Something legal but worth a look (`smalt --warn`): displays like a [`CompileError`] with
/// `warning:` in place of `error:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileWarning(pub CompileError);

impl fmt::Display for CompileWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.render(f, "warning")
    }
}

impl CompileError {
    fn render(&self, f: &mut fmt::Formatter<'_>, kind: &str) -> fmt::Result {
        writeln!(
            f,
            "{}:{}:{}: {kind}: {}",
            self.file, self.line, self.column, self.message
        )?;
        let number = self.line.to_string();
        let width = number.len().max(5);
        let (shown, caret_at) = window(&self.source_line, self.column);
        writeln!(f, "{number:>width$} | {shown}")?;
        // Keep tabs so the caret lines up with what a terminal shows above it.
        let mut pad = String::new();
        let mut chars = shown.chars();
        for _ in 0..caret_at {
            pad.push(match chars.next() {
                Some('\t') => '\t',
                _ => ' ',
            });
        }
        write!(f, "{:width$} | {pad}^", "")
    }
}

/// Lines longer than this are shown as a window around the error column.
const MAX_SHOWN: usize = 120;

/// The part of `line` to show and the number of characters before the caret in it.
fn window(line: &str, column: u32) -> (String, usize) {
    let len = line.chars().count();
    // A caret past the end of the line goes just after its last character.
    let before = (column as usize).saturating_sub(1).min(len);
    if len <= MAX_SHOWN {
        return (line.to_string(), before);
    }
    let start = before.saturating_sub(MAX_SHOWN - 40).min(len);
    let end = start.saturating_add(MAX_SHOWN).min(len);
    let mut shown = String::new();
    if start > 0 {
        shown.push_str("...");
    }
    shown.extend(line.chars().skip(start).take(end.saturating_sub(start)));
    if end < len {
        shown.push_str("...");
    }
    let prefix = if start > 0 { 3 } else { 0 };
    (shown, before.saturating_sub(start) + prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: &str, column: u32) -> CompileError {
        CompileError {
            file: "f".into(),
            line: 7,
            column,
            message: "m".into(),
            source_line: line.into(),
        }
    }

    #[test]
    fn caret_under_the_column() {
        assert_eq!(
            error("x := 1 +", 9).to_string(),
            "f:7:9: error: m\n    7 | x := 1 +\n      |         ^"
        );
    }

    #[test]
    fn lines_end_with_lf_crlf_or_a_lone_cr() {
        let text = "a\nb\r\nc\rd\r\re";
        let lines: Vec<String> = (1..=7).map(|n| line_text(text, n)).collect();
        assert_eq!(lines, ["a", "b", "c", "d", "", "e", ""]);
    }

    #[test]
    fn source_files_drop_a_bom_and_place_invalid_utf8() {
        assert_eq!(source_text("f", b"\xEF\xBB\xBFab".to_vec()).unwrap(), "ab");
        assert_eq!(source_text("f", b"\xEF\xBB\xBF".to_vec()).unwrap(), "");
        // Only one BOM is dropped; a second is text (and the lexer's business).
        assert_eq!(
            source_text("f", b"\xEF\xBB\xBF\xEF\xBB\xBF".to_vec()).unwrap(),
            "\u{FEFF}"
        );
        let e = source_text("f", b"\xFF".to_vec()).unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        let mut bytes = "x\r\n\u{e9}t\r\u{e9}".as_bytes().to_vec();
        bytes.extend_from_slice(b"\xC3(");
        let e = source_text("f", bytes).unwrap_err();
        assert_eq!((e.line, e.column), (3, 2), "{e}");
        assert!(e.message.contains("0xC3"), "{e}");
        assert_eq!(e.source_line, "\u{e9}\u{FFFD}(");
        // A truncated sequence at the very end.
        let e = source_text("f", b"ab\ncd\xE2\x82".to_vec()).unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
    }

    #[test]
    fn long_lines_are_windowed() {
        let line = format!("{}X{}", "a".repeat(200), "b".repeat(200));
        let shown = error(&line, 201).to_string();
        let lines: Vec<&str> = shown.lines().collect();
        let x = lines[1].find('X').unwrap();
        assert_eq!(lines[2].find('^'), Some(x));
        assert!(lines[1].contains("...aaa") && lines[1].ends_with("bbb..."));
    }

    #[test]
    fn any_column_displays() {
        for line in ["", "short", &"long ".repeat(100)] {
            for column in [0, 1, 2, 100, 499, 501, 10_000, u32::MAX] {
                let _ = error(line, column).to_string();
            }
        }
    }
}

impl std::error::Error for CompileError {}

impl CompileError {
    /// An error at `pos` in `source` (named `file`), for problems found after compilation
    /// (the VM's checks of primitives).
    pub fn at(
        file: &str,
        source: &str,
        pos: SourcePos,
        message: impl Into<String>,
    ) -> CompileError {
        CompileError {
            file: file.to_string(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
            source_line: line_text(source, pos.line),
        }
    }
}

/// All the errors found in one compilation, in source order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileErrors(pub Vec<CompileError>);

impl CompileErrors {
    /// The errors.
    pub fn errors(&self) -> &[CompileError] {
        &self.0
    }
}

impl fmt::Display for CompileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CompileErrors {}

/// A problem found inside the compiler, before it has a file name attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Diag {
    pub pos: SourcePos,
    pub message: String,
    /// A follow-on error already reported by the lexer: dropped when converting.
    pub silent: bool,
}

impl Diag {
    pub fn new(pos: SourcePos, message: impl Into<String>) -> Diag {
        Diag {
            pos,
            message: message.into(),
            silent: false,
        }
    }

    pub fn silent(pos: SourcePos) -> Diag {
        Diag {
            pos,
            message: String::new(),
            silent: true,
        }
    }
}

/// At most this many errors are reported for one compilation.
const MAX_ERRORS: usize = 100;

/// Turns diagnostics into public errors: sorted by position, duplicates and silent ones removed.
pub(crate) fn into_errors(file: &str, source: &str, mut diags: Vec<Diag>) -> CompileErrors {
    diags.retain(|d| !d.silent);
    diags.sort_by_key(|d| d.pos.offset);
    diags.dedup_by(|a, b| a.pos == b.pos && a.message == b.message);
    diags.truncate(MAX_ERRORS);
    CompileErrors(
        diags
            .into_iter()
            .map(|d| CompileError {
                file: file.to_string(),
                line: d.pos.line,
                column: d.pos.column,
                message: d.message,
                source_line: line_text(source, d.pos.line),
            })
            .collect(),
    )
}

/// Line `line` (from 1) of `source`, without its terminator; empty past the end. Lines end
/// as the lexer ends them (LF, CR LF or a lone CR).
fn line_text(source: &str, line: u32) -> String {
    let (start, len) = line_span(source.as_bytes(), line);
    source[start..start + len].to_string()
}

/// The byte offset and length (terminator excluded) of line `line` (from 1) of `text`;
/// `(text.len(), 0)` past the end. Line ends are ASCII bytes, so this works on any bytes.
fn line_span(text: &[u8], line: u32) -> (usize, usize) {
    let mut current = 1;
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == b'\n' || b == b'\r' {
            if current == line {
                return (start, i - start);
            }
            if b == b'\r' && text.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            current += 1;
            start = i + 1;
        }
        i += 1;
    }
    if current == line {
        (start, text.len() - start)
    } else {
        (text.len(), 0)
    }
}

/// The text of a source file read as `bytes`: UTF-8, without the byte-order mark some editors
/// put at the start. Invalid UTF-8 is an error at the line and column of the first bad byte.
pub fn source_text(file: &str, mut bytes: Vec<u8>) -> Result<String, CompileError> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if bytes.starts_with(BOM) {
        bytes.drain(..BOM.len());
    }
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let bad = e.utf8_error().valid_up_to();
        // The prefix is valid: count lines and characters in it as the lexer does.
        let prefix = std::str::from_utf8(&bytes[..bad]).unwrap_or_default();
        let (mut line, mut column) = (1u32, 1u32);
        let mut chars = prefix.chars().peekable();
        while let Some(c) = chars.next() {
            if super::lexer::ends_line(c, chars.peek().copied()) {
                line = line.saturating_add(1);
                column = 1;
            } else {
                column = column.saturating_add(1);
            }
        }
        let (start, len) = line_span(bytes, line);
        CompileError {
            file: file.to_string(),
            line,
            column,
            message: format!(
                "invalid UTF-8 (byte 0x{:02X}); source files must be UTF-8",
                bytes[bad]
            ),
            source_line: String::from_utf8_lossy(&bytes[start..start + len]).into_owned(),
        }
    })
}
