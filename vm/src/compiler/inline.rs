//! Which sends are compiled inline, as jumps, instead of as message sends.
//!
//! A send is inlined only when its block arguments are literal blocks of the right arity (and
//! its receiver is not `super`); otherwise it is an ordinary send and the blocks are real
//! closures. The analysis and code generation passes both ask [`classify`], so they always
//! agree on which blocks are inlined.

use super::ast::{Expr, Send};
use super::code::Literal;

/// An inlined control construct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inline {
    IfTrue,
    IfFalse,
    IfTrueIfFalse,
    IfFalseIfTrue,
    And,
    Or,
    /// `[c] whileTrue: [b]`
    WhileTrue,
    /// `[c] whileFalse: [b]`
    WhileFalse,
    /// `[c] whileTrue`
    WhileTrueUnary,
    /// `[c] whileFalse`
    WhileFalseUnary,
    ToDo,
    /// `to:by:do:` with a literal, non-zero step.
    ToByDo,
    DownToDo,
    TimesRepeat,
    IfNil,
    IfNotNil,
    IfNilIfNotNil,
    IfNotNilIfNil,
}

/// Whether `e` is a literal block taking one of `arities` arguments.
fn block_taking(e: &Expr, arities: &[usize]) -> bool {
    matches!(e, Expr::Block(b) if arities.contains(&b.params.len()))
}

/// The step of a `to:by:do:` if it is a literal, non-zero number.
pub(crate) fn literal_step(e: &Expr) -> Option<&Literal> {
    match e {
        Expr::Literal { value, .. } => match value {
            Literal::Int(n) if *n != 0 => Some(value),
            Literal::Float(x) if *x != 0.0 && x.is_finite() => Some(value),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a literal step is negative (the loop counts down).
pub(crate) fn step_is_negative(step: &Literal) -> bool {
    match step {
        Literal::Int(n) => *n < 0,
        Literal::Float(x) => *x < 0.0,
        _ => false,
    }
}

/// How `send` is compiled inline, or `None` for an ordinary send.
pub(crate) fn classify(send: &Send) -> Option<Inline> {
    if send.receiver.is_super() {
        return None;
    }
    let a = &send.args;
    if a.len() != super::code::selector_arity(&send.selector) {
        return None;
    }
    let zero = &[0][..];
    let zero_or_one = &[0, 1][..];
    let kind = match send.selector.as_str() {
        "ifTrue:" if block_taking(&a[0], zero) => Inline::IfTrue,
        "ifFalse:" if block_taking(&a[0], zero) => Inline::IfFalse,
        "ifTrue:ifFalse:" if block_taking(&a[0], zero) && block_taking(&a[1], zero) => {
            Inline::IfTrueIfFalse
        }
        "ifFalse:ifTrue:" if block_taking(&a[0], zero) && block_taking(&a[1], zero) => {
            Inline::IfFalseIfTrue
        }
        "and:" if block_taking(&a[0], zero) => Inline::And,
        "or:" if block_taking(&a[0], zero) => Inline::Or,
        "whileTrue:" if block_taking(&send.receiver, zero) && block_taking(&a[0], zero) => {
            Inline::WhileTrue
        }
        "whileFalse:" if block_taking(&send.receiver, zero) && block_taking(&a[0], zero) => {
            Inline::WhileFalse
        }
        "whileTrue" if block_taking(&send.receiver, zero) => Inline::WhileTrueUnary,
        "whileFalse" if block_taking(&send.receiver, zero) => Inline::WhileFalseUnary,
        "to:do:" if block_taking(&a[1], &[1]) => Inline::ToDo,
        "to:by:do:" if literal_step(&a[1]).is_some() && block_taking(&a[2], &[1]) => Inline::ToByDo,
        "downTo:do:" if block_taking(&a[1], &[1]) => Inline::DownToDo,
        "timesRepeat:" if block_taking(&a[0], zero) => Inline::TimesRepeat,
        "ifNil:" if block_taking(&a[0], zero) => Inline::IfNil,
        "ifNotNil:" if block_taking(&a[0], zero_or_one) => Inline::IfNotNil,
        "ifNil:ifNotNil:" if block_taking(&a[0], zero) && block_taking(&a[1], zero_or_one) => {
            Inline::IfNilIfNotNil
        }
        "ifNotNil:ifNil:" if block_taking(&a[0], zero_or_one) && block_taking(&a[1], zero) => {
            Inline::IfNotNilIfNil
        }
        _ => return None,
    };
    Some(kind)
}

/// The literal block at `e` (callers know from [`classify`] that it is one).
pub(crate) fn block_of(e: &Expr) -> Option<&super::ast::Block> {
    match e {
        Expr::Block(b) => Some(b),
        _ => None,
    }
}
