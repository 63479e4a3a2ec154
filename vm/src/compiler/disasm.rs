//! The disassembler: one line per instruction, for people and golden tests.
//!
//! ```text
//!    4 <06 07>        PushLocal 7               ; sum
//!    6 <18 02>        Send 2                    ; #printString
//!    8 <2c f6 ff>     Jump -10                  ; -> 1
//! ```
//! The pc, the instruction's bytes, the mnemonic with its operands, and a comment: the name of a
//! local, the literal, the jump target, the selector of a send site (`Send 2` is site 2, whose
//! selector the site table names) or of a special send. [`disassemble`]
//! lists a whole [`CompiledCode`] (header, literals, code) and the blocks in its literals,
//! indented under it.

use std::fmt::Write;

use crate::bytecode::{Instr, Op, instructions, special_selector};

use super::code::{CompiledCode, Literal, symbol_text};

/// Disassembles raw bytecodes; `literal_text(k)` describes literal `k`, `site_text(s)` the
/// selector of send site `s`.
pub fn disassemble_bytes(
    code: &[u8],
    literal_text: &dyn Fn(usize) -> String,
    site_text: &dyn Fn(usize) -> String,
) -> String {
    let names = Names {
        literal: literal_text,
        site: site_text,
        local: &|_| None,
        indirect: &|_, _| None,
    };
    disassemble_with(code, &names)
}

/// How a listing names what operands refer to.
struct Names<'a> {
    literal: &'a dyn Fn(usize) -> String,
    site: &'a dyn Fn(usize) -> String,
    local: &'a dyn Fn(usize) -> Option<String>,
    indirect: &'a dyn Fn(usize, usize) -> Option<String>,
}

/// Disassembles with names for literals, sites, locals and temp-vector elements.
fn disassemble_with(code: &[u8], names: &Names<'_>) -> String {
    let mut out = String::new();
    for r in instructions(code) {
        match r {
            Ok(ins) => {
                let line = instruction_line(code, &ins, names);
                out.push_str(&line);
                out.push('\n');
            }
            Err(e) => {
                let _ = writeln!(out, "  ?? {e}");
                break;
            }
        }
    }
    out
}

fn instruction_line(code: &[u8], ins: &Instr, names: &Names<'_>) -> String {
    let bytes: Vec<String> = code
        .get(ins.pc..ins.next)
        .unwrap_or(&[])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let info = ins.op.info();
    let mut text = info.name.to_string();
    for v in &ins.operands[..info.operands.len()] {
        let _ = write!(text, " {v}");
    }
    let a = ins.operands[0];
    let comment = match ins.op.base() {
        Op::PushLiteral | Op::PushGlobal | Op::StoreGlobal | Op::PopStoreGlobal => {
            Some((names.literal)(a as usize))
        }
        Op::Send | Op::SuperSend => Some((names.site)(a as usize)),
        Op::PushClosure => Some((names.literal)(a as usize)),
        Op::PushLocal | Op::StoreLocal | Op::PopStoreLocal => (names.local)(a as usize),
        Op::PushIndirect | Op::StoreIndirect | Op::PopStoreIndirect => {
            let (i, k) = (a as usize, ins.operands[1] as usize);
            Some((names.indirect)(k, i).unwrap_or_else(|| format!("[{}] of local {k}", i + 1)))
        }
        Op::Jump | Op::JumpIfTrue | Op::JumpIfFalse | Op::JumpIfNil | Op::JumpIfNotNil => {
            ins.jump_target().map(|t| format!("-> {t}"))
        }
        Op::IdentityEq => Some("#==".into()),
        Op::IdentityNe => Some("#~~".into()),
        op => special_selector(op).map(|(s, _)| symbol_text(s)),
    };
    let head = format!("{:>4} <{}>", ins.pc, bytes.join(" "));
    match comment {
        Some(c) => format!("{head:<18} {text:<24} ; {c}"),
        None => format!("{head:<18} {text}"),
    }
}

/// Lists a compiled method or block: its header, names, literals, site table (the literal
/// index of each send site's selector) and code, then the code of each block literal.
pub fn disassemble(code: &CompiledCode) -> String {
    let mut out = String::new();
    let title = if code.is_block {
        "block".to_string()
    } else {
        format!("method {}", symbol_text(&code.selector))
    };
    write_code(&mut out, code, &title, 0);
    out
}

fn write_code(out: &mut String, code: &CompiledCode, title: &str, indent: usize) {
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "{pad}{title} {}", code.shape());
    if !code.arg_names.is_empty() {
        let _ = writeln!(out, "{pad}  args: {}", code.arg_names.join(" "));
    }
    if !code.temp_names.is_empty() {
        let temps: Vec<String> = code
            .temp_names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{}={n}", code.temp_local(i)))
            .collect();
        let _ = writeln!(out, "{pad}  temps: {}", temps.join(" "));
    }
    for v in &code.vectors {
        let _ = writeln!(out, "{pad}  vector in {}: {}", v.local, v.names.join(" "));
    }
    if !code.literals.is_empty() {
        let _ = writeln!(out, "{pad}  literals:");
        for (i, l) in code.literals.iter().enumerate() {
            let _ = writeln!(out, "{pad}    {i}: {}", l.listing_text());
        }
    }
    if !code.sites.is_empty() {
        // The site table: the literal each send site sends.
        let sites: Vec<String> = code.sites.iter().map(u16::to_string).collect();
        let _ = writeln!(out, "{pad}  sites: {}", sites.join(" "));
    }
    let literal_text = |k: usize| match code.literals.get(k) {
        Some(Literal::Block(_)) => format!("block {k}"),
        Some(Literal::CleanBlock(_)) => format!("clean block {k}"),
        Some(l) => l.to_string(),
        None => format!("<no literal {k}>"),
    };
    let site_text = |s: usize| match code.sites.get(s) {
        Some(&k) => literal_text(usize::from(k)),
        None => format!("<no send site {s}>"),
    };
    let local_name = |k: usize| code.local_name(k);
    let indirect_name = |k: usize, i: usize| {
        code.vectors
            .iter()
            .find(|v| v.local == k)
            .and_then(|v| v.names.get(i))
            .cloned()
    };
    let names = Names {
        literal: &literal_text,
        site: &site_text,
        local: &local_name,
        indirect: &indirect_name,
    };
    let listing = disassemble_with(&code.bytecodes, &names);
    for line in listing.lines() {
        let _ = writeln!(out, "{pad}  {line}");
    }
    for (i, l) in code.literals.iter().enumerate() {
        let (Literal::Block(block) | Literal::CleanBlock(block)) = l else {
            continue;
        };
        let _ = writeln!(out);
        write_code(out, block, &format!("block {i}"), indent + 4);
    }
}
