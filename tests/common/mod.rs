//! Helpers shared by the integration tests (each test crate uses some of them).
#![allow(dead_code)]

pub mod cli;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// Output captured from a VM: set `vm.out` (and `vm.err`) to a clone.
#[derive(Clone, Default)]
pub struct Capture(pub Rc<RefCell<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}
