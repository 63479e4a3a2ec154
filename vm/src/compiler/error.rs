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

/// Line `line` (from 1) of `source`, without its terminator; empty past the end.
fn line_text(source: &str, line: u32) -> String {
    source
        .split('\n')
        .nth(line.saturating_sub(1) as usize)
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .unwrap_or_default()
}
