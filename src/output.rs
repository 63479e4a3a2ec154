//! Where the VM's own messages and the program's output go, and what happens when they cannot
//! be written.
//!
//! * Messages to stderr (errors, stack traces) go through [`error_output`], which never fails
//!   and never panics: with stderr closed or full there is nowhere to report that, so the
//!   message is dropped (`eprintln!` would panic).
//! * The program's stdout is a [`ProgramOutput`]: buffered, and after a failed write it drops
//!   what it holds (it could not be written anyway) and remembers the failure, so a program
//!   that writes into a closed pipe or a full disk stops once, with one message.
//! * [`finish_output`] flushes stdout at the end of a run: output that could not be written
//!   makes the run fail even if the program succeeded (`smalt Out.som > /dev/full`).
//! * A closed pipe (`smalt prog | head`) stops the program quietly, with status 141 (128 +
//!   SIGPIPE), as a command-line tool killed by SIGPIPE ends.

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::rc::Rc;

/// Writes to stderr, ignoring failure: a closed or full stderr must not stop (or panic) the
/// VM, and there is nowhere else to report it.
pub(crate) fn error_output(text: std::fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(text);
    let _ = err.flush();
}

/// The state of the program's stdout, shared by its [`ProgramOutput`] and the driver.
#[derive(Clone, Default)]
pub(crate) struct OutputState(Rc<StateCells>);

#[derive(Default)]
struct StateCells {
    /// The first write error (its kind and text), once the output is broken.
    failure: RefCell<Option<(io::ErrorKind, String)>>,
    /// Whether the output was already broken when the program's error was reported: then the
    /// program stopped because of it and its report says so.
    broken_at_report: Cell<bool>,
}

impl OutputState {
    /// Whether a write failed.
    fn is_broken(&self) -> bool {
        self.0.failure.borrow().is_some()
    }

    /// The error every write answers once the output is broken: the first one again.
    fn error(&self) -> Option<io::Error> {
        let f = self.0.failure.borrow();
        f.as_ref()
            .map(|(kind, text)| io::Error::new(*kind, text.clone()))
    }

    fn fail(&self, e: &io::Error) {
        if !self.is_broken() {
            *self.0.failure.borrow_mut() = Some((e.kind(), e.to_string()));
        }
    }
}

thread_local! {
    static STATE: OutputState = OutputState::default();
}

/// Whether the program's stdout failed because its reader closed the pipe.
pub(crate) fn stdout_pipe_closed() -> bool {
    STATE.with(|s| {
        s.0.failure
            .borrow()
            .as_ref()
            .is_some_and(|(kind, _)| *kind == io::ErrorKind::BrokenPipe)
    })
}

/// Notes, before an error of the program is reported, whether the output was broken by then.
pub(crate) fn before_report() {
    STATE.with(|s| s.0.broken_at_report.set(s.is_broken()));
}

/// The program's standard output: an 8 KiB buffer in front of stdout.
pub(crate) struct ProgramOutput {
    buffer: Vec<u8>,
    state: OutputState,
}

const BUFFER: usize = 8 << 10;

impl ProgramOutput {
    /// A buffered stdout (there is one state per thread: the driver's).
    pub(crate) fn new() -> ProgramOutput {
        ProgramOutput {
            buffer: Vec::with_capacity(BUFFER),
            state: STATE.with(|s| s.clone()),
        }
    }

    /// Writes the buffer out; on failure drops it and records the error.
    fn drain(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        let r = out.write_all(&self.buffer).and_then(|()| out.flush());
        self.buffer.clear();
        if let Err(e) = &r {
            self.state.fail(e);
        }
        r
    }
}

impl Write for ProgramOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(e) = self.state.error() {
            // The output is gone: fail every later write the same way (and quickly).
            return Err(e);
        }
        if self.buffer.len() + buf.len() > BUFFER {
            self.drain()?;
        }
        if buf.len() >= BUFFER {
            let mut out = io::stdout().lock();
            if let Err(e) = out.write_all(buf) {
                self.state.fail(&e);
                return Err(e);
            }
        } else {
            self.buffer.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.state.error() {
            return Err(e);
        }
        self.drain()
    }
}

/// Flushes the program's output at the end of the run. Output that could not be written is
/// an error even when the program itself succeeded: it is reported, unless the program's own
/// error report already was about it, and the status becomes non-zero.
pub(crate) fn finish_output(out: &mut dyn Write, status: i32) -> i32 {
    match out.flush() {
        Ok(()) => status,
        Err(e) => {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return if status == 0 { 128 + 13 } else { status };
            }
            let already = STATE.with(|s| s.0.broken_at_report.get());
            if status == 0 || !already {
                error_output(format_args!("smalt: cannot write the output: {e}\n"));
            }
            if status == 0 { 1 } else { status }
        }
    }
}
