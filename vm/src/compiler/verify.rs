//! The bytecode validator: operand checks and the operand-stack depth of every path.
//!
//! [`max_stack`] follows every path from pc 0 with the stack effects of the bytecode table
//! ([`crate::bytecode::Effect`]): a send pops its receiver and as many arguments as its
//! selector takes; `MakeArray`/`PushClosure` pop their count operand. Paths that meet must
//! agree on the depth; no path may pop below zero or run off the end. The compiler computes
//! `max_stack` with it, and [`verify`] checks a whole method (operands, literal kinds, send
//! sites, blocks, the recorded `max_stack`) — the invariant the interpreter and JIT rely on.

use crate::bytecode::{Effect, FRAME_HEADER_WORDS, Instr, Op, instructions, special_selector};

use super::code::{CompiledCode, Literal, selector_arity};

/// Why a compiled method is not valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("pc {pc}: {message}")]
pub struct VerifyError {
    /// Where the problem is (in the method or block that has it).
    pub pc: usize,
    /// What is wrong.
    pub message: String,
}

fn err<T>(pc: usize, message: impl Into<String>) -> Result<T, VerifyError> {
    Err(VerifyError {
        pc,
        message: message.into(),
    })
}

fn decode_all(code: &CompiledCode) -> Result<Vec<Instr>, VerifyError> {
    instructions(&code.bytecodes)
        .map(|r| {
            r.map_err(|e| VerifyError {
                pc: match e {
                    crate::bytecode::DecodeError::BadOpcode { pc, .. }
                    | crate::bytecode::DecodeError::Truncated { pc }
                    | crate::bytecode::DecodeError::BadPrefix { pc } => pc,
                },
                message: e.to_string(),
            })
        })
        .collect()
}

/// The selector of send site `s`: the `Selector` literal the site table names.
fn site_selector(code: &CompiledCode, s: i32) -> Option<&str> {
    let k = *code.sites.get(usize::try_from(s).ok()?)?;
    match code.literals.get(usize::from(k)) {
        Some(Literal::Selector(sel)) => Some(sel),
        _ => None,
    }
}

/// (pops, pushes) of one instruction.
fn effect(code: &CompiledCode, ins: &Instr) -> Result<(usize, usize), VerifyError> {
    let info = ins.op.info();
    Ok(match info.effect {
        Effect::Fixed { pop, push } => (pop as usize, push as usize),
        Effect::Send => {
            let nargs = match ins.op.base() {
                Op::Send | Op::SuperSend => match site_selector(code, ins.operands[0]) {
                    Some(s) => selector_arity(s),
                    None => return err(ins.pc, "send through a site without a selector"),
                },
                op => match special_selector(op) {
                    Some((_, n)) => n,
                    None => return err(ins.pc, "send opcode without a selector"),
                },
            };
            (1 + nargs, 1)
        }
        Effect::PopOperand { operand } => (ins.operands[operand as usize] as usize, 1),
        Effect::Return => match ins.op.base() {
            Op::ReturnSelf => (0, 0),
            _ => (1, 0),
        },
    })
}

/// The largest operand-stack depth of `code` (not of its blocks), following every path.
pub fn max_stack(code: &CompiledCode) -> Result<usize, VerifyError> {
    let instrs = decode_all(code)?;
    if instrs.is_empty() {
        return err(0, "empty code");
    }
    let mut index_at = vec![None; code.bytecodes.len() + 1];
    for (i, ins) in instrs.iter().enumerate() {
        index_at[ins.pc] = Some(i);
    }
    let mut depth: Vec<Option<usize>> = vec![None; instrs.len()];
    depth[0] = Some(0);
    let mut work = vec![0usize];
    let mut max = 0;
    while let Some(i) = work.pop() {
        let ins = &instrs[i];
        let d = depth[i].unwrap_or(0);
        let (pop, push) = effect(code, ins)?;
        if d < pop {
            return err(
                ins.pc,
                format!("{:?} pops {pop} values from a stack of {d}", ins.op),
            );
        }
        let after = d - pop + push;
        max = max.max(after).max(d);
        let mut successors = Vec::with_capacity(2);
        if ins.op.info().falls_through {
            if ins.next >= code.bytecodes.len() {
                return err(ins.pc, "control runs off the end of the code");
            }
            successors.push(ins.next);
        }
        if let Some(target) = ins.jump_target() {
            successors.push(target);
        }
        for target in successors {
            let Some(j) = index_at.get(target).copied().flatten() else {
                return err(ins.pc, format!("jump to {target}, not an instruction"));
            };
            match depth[j] {
                None => {
                    depth[j] = Some(after);
                    work.push(j);
                }
                Some(other) if other != after => {
                    return err(
                        instrs[j].pc,
                        format!(
                            "stack depth {other} here, but {after} coming from pc {}",
                            ins.pc
                        ),
                    );
                }
                Some(_) => {}
            }
        }
    }
    Ok(max)
}

/// Checks a compiled method or block and, recursively, its blocks: every instruction decodes,
/// operands address existing locals and literals of the right kind, copied-value counts agree,
/// and `max_stack` is what the code needs.
pub fn verify(code: &CompiledCode) -> Result<(), VerifyError> {
    let instrs = decode_all(code)?;
    let first_temp = code.num_args + 1 + FRAME_HEADER_WORDS;
    let local_ok = |k: i32| {
        let k = k as usize;
        k <= code.num_args || (first_temp..first_temp + code.num_temps).contains(&k)
    };
    if code.temp_names.len() != code.num_temps {
        return err(0, "temp_names does not name every temp slot");
    }
    if code.num_copied > code.num_temps {
        return err(0, "more copied values than temp slots");
    }
    // Every site is the operand of exactly one send (its cell is that send's type feedback).
    let mut site_used = vec![false; code.sites.len()];
    for (i, ins) in instrs.iter().enumerate() {
        let lit = |i: i32| code.literals.get(i as usize);
        let pc = ins.pc;
        let info = ins.op.info();
        if info.base.is_some() {
            // A superinstruction's fast path reads the instructions it heads and skips them.
            if code.bytecodes[pc] != ins.op as u8 {
                return err(pc, format!("{} with an ExtA prefix", info.name));
            }
            let follows = instrs
                .get(i + 1..i + 1 + info.then.len())
                .is_some_and(|next| {
                    next.iter()
                        .zip(info.then)
                        .all(|(n, t)| n.op.base() == *t && code.bytecodes[n.pc] == n.op as u8)
                });
            if !follows {
                return err(pc, format!("{} not followed by {:?}", info.name, info.then));
            }
        }
        match ins.op.base() {
            Op::PushLocal | Op::StoreLocal | Op::PopStoreLocal if !local_ok(ins.operands[0]) => {
                return err(pc, format!("local {} does not exist", ins.operands[0]));
            }
            Op::PushIndirect | Op::StoreIndirect | Op::PopStoreIndirect
                if !local_ok(ins.operands[1]) =>
            {
                return err(pc, format!("local {} does not exist", ins.operands[1]));
            }
            Op::PushLiteral => match lit(ins.operands[0]) {
                Some(l) if l.is_constant() => {}
                Some(Literal::CleanBlock(b)) => {
                    if b.num_copied != 0 || !b.is_block {
                        return err(pc, "clean block with copied values");
                    }
                    verify(b)?;
                }
                _ => return err(pc, "PushLiteral of a literal that is not a constant"),
            },
            Op::PushGlobal | Op::StoreGlobal | Op::PopStoreGlobal
                if !matches!(lit(ins.operands[0]), Some(Literal::Global(_))) =>
            {
                return err(pc, "global access through a literal that is not a global");
            }
            Op::PushClosure => match lit(ins.operands[0]) {
                Some(Literal::Block(b)) => {
                    if b.num_copied != ins.operands[1] as usize || !b.is_block {
                        return err(
                            pc,
                            "PushClosure count differs from the block's copied values",
                        );
                    }
                    verify(b)?;
                }
                _ => return err(pc, "PushClosure of a literal that is not a block"),
            },
            Op::NonLocalReturn if !code.is_block => {
                return err(pc, "NonLocalReturn in a method");
            }
            Op::Send | Op::SuperSend => {
                let s = ins.operands[0] as usize;
                if site_selector(code, ins.operands[0]).is_none() {
                    return err(pc, format!("send site {s} has no selector literal"));
                }
                if std::mem::replace(&mut site_used[s], true) {
                    return err(pc, format!("send site {s} used by a second send"));
                }
            }
            _ => {}
        }
    }
    if let Some(s) = site_used.iter().position(|used| !used) {
        return err(0, format!("send site {s} is not used by any send"));
    }
    let depth = max_stack(code)?;
    if depth != code.max_stack {
        return err(
            0,
            format!("max_stack is {} but the code needs {depth}", code.max_stack),
        );
    }
    // Both lists are sorted by pc, so one merge walk checks every entry (a search per entry
    // made methods of many statements quadratic to install).
    let mut last = None;
    let mut starts = instrs.iter().map(|i| i.pc).peekable();
    for &(pc, _) in &code.source_map {
        if last.is_some_and(|l| l >= pc) {
            return err(pc as usize, "source map not sorted by pc");
        }
        while starts.next_if(|&start| start < pc as usize).is_some() {}
        if starts.peek() != Some(&(pc as usize)) {
            return err(pc as usize, "source map entry not at an instruction");
        }
        last = Some(pc);
    }
    Ok(())
}
