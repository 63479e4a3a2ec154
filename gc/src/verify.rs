//! The heap verifier: checks every header and every reference after a collection.
//!
//! It checks that each object has a valid format, a registered class and fits in the used part
//! of the space; that every pointer slot and every root is an immediate or a reference to the
//! header of an object (not into the middle of one, not past the top); that no from-space
//! forwarding word survived; and that compiled methods have a SmallInteger slot 0 whose pointer
//! count fits.

use crate::collector::Roots;
use crate::header::{Format, Header};
use crate::heap::{Heap, method_pointer_slots, object_extent};
use crate::word::{TAG_MASK, Word};

/// The first problem the verifier found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A header is corrupt.
    #[error("object at word {at}: {problem}")]
    BadObject { at: usize, problem: String },
    /// A slot holds something that is not a valid value.
    #[error("slot {slot} of object at word {at} holds {value:#x}: {problem}")]
    BadSlot {
        at: usize,
        slot: usize,
        value: u64,
        problem: &'static str,
    },
    /// A root holds something that is not a valid value.
    #[error("root {which} holds {value:#x}: {problem}")]
    BadRoot {
        which: String,
        value: u64,
        problem: &'static str,
    },
}

impl Heap {
    /// Checks the whole heap and the given roots; see the module docs.
    pub fn verify(&self, roots: &mut dyn Roots) -> Result<(), VerifyError> {
        let mut starts = vec![false; self.top];
        let mut at = 1;
        while at < self.top {
            let (h, end) = object_extent(&self.space, at);
            if end > self.top || h >= self.top {
                return Err(bad(at, "extends past the top of the space"));
            }
            let header = Header::from_raw(self.space[h]);
            if header.is_forwarded() {
                return Err(bad(h, "forwarding word in the current space"));
            }
            let Some(format) = header.format() else {
                return Err(bad(h, "reserved format"));
            };
            if self.classes.get(header.class_index()).is_none() {
                return Err(bad(
                    h,
                    &format!("unregistered class index {}", header.class_index().0),
                ));
            }
            if let Format::CompiledMethod { .. } = format {
                let slot0 = Word::from_raw(*self.space.get(h + 1).unwrap_or(&0));
                if !slot0.is_small_int() || h + method_pointer_slots(slot0.raw()) >= end {
                    return Err(bad(h, "compiled method with a bad slot 0"));
                }
            }
            starts[h] = true;
            at = end;
        }
        let check = |w: Word| -> Result<(), &'static str> { check_word(w, &starts, self.nil) };
        let mut at = 1;
        while at < self.top {
            let (h, end) = object_extent(&self.space, at);
            let pointer_end = match Header::from_raw(self.space[h]).format() {
                Some(f) if f.is_pointers() => end,
                Some(Format::CompiledMethod { .. }) => {
                    h + 1 + method_pointer_slots(self.space[h + 1])
                }
                _ => h + 1,
            };
            for s in h + 1..pointer_end {
                check(Word::from_raw(self.space[s])).map_err(|problem| VerifyError::BadSlot {
                    at: h,
                    slot: s - h - 1,
                    value: self.space[s],
                    problem,
                })?;
            }
            at = end;
        }
        let root_err = |which: String, w: Word, problem| VerifyError::BadRoot {
            which,
            value: w.raw(),
            problem,
        };
        check(self.nil).map_err(|p| root_err("nil".into(), self.nil, p))?;
        for (i, w) in self.classes.iter() {
            check(w).map_err(|p| root_err(format!("class table {}", i.0), w, p))?;
        }
        for (i, &w) in self.handles.iter().enumerate() {
            check(w).map_err(|p| root_err(format!("handle {i}"), w, p))?;
        }
        let mut first: Option<VerifyError> = None;
        let mut n = 0usize;
        let mut visit = |kind: &str, w: &mut Word| {
            if first.is_none()
                && let Err(p) = check(*w)
            {
                first = Some(root_err(format!("{kind} root #{n}"), *w, p));
            }
            n += 1;
        };
        roots.visit_strong(&mut |w| visit("strong", w));
        roots.visit_weak(&mut |w| visit("weak", w));
        first.map_or(Ok(()), Err)
    }
}

fn bad(at: usize, problem: &str) -> VerifyError {
    VerifyError::BadObject {
        at,
        problem: problem.to_string(),
    }
}

fn check_word(w: Word, starts: &[bool], nil: Word) -> Result<(), &'static str> {
    if w.is_small_int() || w.is_character() || w.is_small_float() {
        return Ok(());
    }
    if w.raw() & TAG_MASK != 0 {
        return Err("reserved tag");
    }
    if w == Word::INVALID {
        return if nil == Word::INVALID {
            Ok(())
        } else {
            Err("the invalid word")
        };
    }
    let i = w.oop().index();
    if i >= starts.len() {
        return Err("reference past the top of the space");
    }
    if !starts[i] {
        return Err("reference to something that is not an object header");
    }
    Ok(())
}
