//! Colours for what smalt prints itself (REPL results and prompts, errors, stack traces, the
//! benchmark report). A stream gets colours only when it is a terminal that supports them and
//! `NO_COLOR` is not set (anstream's choice, which also honours `CLICOLOR_FORCE`); a program's own
//! output is never coloured.

use anstream::ColorChoice;
use owo_colors::{OwoColorize, Style};

/// Whether to colour one output stream, and the styles smalt uses on it.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    on: bool,
}

impl Palette {
    /// Colours for standard output, if it takes them.
    pub fn stdout() -> Palette {
        Palette::new(anstream::AutoStream::choice(&std::io::stdout()) != ColorChoice::Never)
    }

    /// Colours for standard error, if it takes them.
    pub fn stderr() -> Palette {
        Palette::new(anstream::AutoStream::choice(&std::io::stderr()) != ColorChoice::Never)
    }

    /// A palette that colours (`on`) or not.
    pub fn new(on: bool) -> Palette {
        Palette { on }
    }

    /// `text` in `style` (unchanged when colours are off).
    pub fn paint(self, text: &str, style: Style) -> String {
        if self.on {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    }

    /// The description of an error.
    pub fn error(self, text: &str) -> String {
        self.paint(text, Style::new().red().bold())
    }

    /// A heading or a label (the stack trace's title, table headings).
    pub fn heading(self, text: &str) -> String {
        self.paint(text, Style::new().bold())
    }

    /// Secondary text: file positions, units, the noise in a measurement.
    pub fn dim(self, text: &str) -> String {
        self.paint(text, Style::new().dimmed())
    }

    /// A name the user may type next (a class or a selector in a listing).
    pub fn name(self, text: &str) -> String {
        self.paint(text, Style::new().cyan())
    }

    /// A good outcome (a speed-up; a command that did what was asked).
    pub fn good(self, text: &str) -> String {
        self.paint(text, Style::new().green())
    }

    /// A warning or a slow-down.
    pub fn warn(self, text: &str) -> String {
        self.paint(text, Style::new().yellow())
    }

    /// One line of a Smalltalk stack trace (`  Class(Holder)>>selector (file:line)`): the
    /// method in the normal colour, the position dimmed.
    pub fn trace_line(self, line: &str) -> String {
        match line.rfind(" (") {
            Some(i) if line.ends_with(')') => {
                format!("{}{}", &line[..i], self.dim(&line[i..]))
            }
            _ => line.to_string(),
        }
    }
}

/// The style of a value printed by the REPL, by its kind (as the node and IPython shells do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Numbers.
    Number,
    /// Strings.
    String,
    /// Symbols and characters.
    Symbol,
    /// nil, true and false.
    Constant,
    /// Classes.
    Class,
    /// Everything else.
    Other,
}

impl Palette {
    /// The printString of a value of kind `kind`.
    pub fn value(self, text: &str, kind: ValueKind) -> String {
        let style = match kind {
            ValueKind::Number => Style::new().yellow(),
            ValueKind::String => Style::new().green(),
            ValueKind::Symbol => Style::new().cyan(),
            ValueKind::Constant => Style::new().magenta(),
            ValueKind::Class => Style::new().blue().bold(),
            ValueKind::Other => return text.to_string(),
        };
        self.paint(text, style)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_palette_that_is_off_leaves_text_alone() {
        let p = Palette::new(false);
        assert_eq!(p.error("ZeroDivide"), "ZeroDivide");
        assert_eq!(p.value("3", ValueKind::Number), "3");
        assert_eq!(p.trace_line("  Nil>>DoIt (repl:1)"), "  Nil>>DoIt (repl:1)");
    }

    #[test]
    fn a_palette_that_is_on_wraps_text_in_escape_sequences() {
        let p = Palette::new(true);
        let e = p.error("ZeroDivide");
        assert!(e.contains("ZeroDivide") && e.starts_with("\x1b[") && e.ends_with("\x1b[0m"));
        let t = p.trace_line("  Nil>>DoIt (repl:1)");
        assert!(t.starts_with("  Nil>>DoIt\x1b["), "{t:?}");
        assert_eq!(p.value("x", ValueKind::Other), "x");
    }
}
