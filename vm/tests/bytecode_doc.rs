//! `docs/bytecode.md` carries tables generated from the bytecode table in `vm/src/bytecode.rs`.
//! This test fails when they differ; run it with `UPDATE_DOCS=1` to rewrite them.

use smalt_vm::bytecode::{Effect, OPS, Op, Operand, SPECIAL_SELECTORS, special_selector};

const BEGIN: &str =
    "<!-- BEGIN GENERATED: opcode tables (cargo test -p smalt-vm --test bytecode_doc) -->";
const END: &str = "<!-- END GENERATED -->";

fn operand_text(o: &Operand) -> &'static str {
    match o {
        Operand::U8 => "u8",
        Operand::I8 => "i8",
        Operand::I16 => "i16",
    }
}

fn counts(pop: usize, push: usize) -> String {
    match (pop, push) {
        (0, 0) => "—".to_string(),
        (0, n) => format!("+{n}"),
        (n, 0) => format!("−{n}"),
        (p, q) => format!("−{p} +{q}"),
    }
}

fn effect_text(op: Op) -> String {
    let info = op.info();
    match info.effect {
        Effect::Fixed { pop, push } => counts(pop.into(), push.into()),
        Effect::Send => match special_selector(op) {
            Some((_, nargs)) => counts(1 + nargs, 1),
            None => "−(1+nargs) +1".to_string(),
        },
        Effect::PopOperand { operand } => format!("−operand{} +1", operand + 1),
        Effect::Return if op == Op::ReturnSelf => "returns".to_string(),
        Effect::Return => "−1, returns".to_string(),
    }
}

fn tables() -> String {
    let mut s = String::new();
    s.push_str("| byte | opcode | operands | stack | falls through | meaning |\n");
    s.push_str("|---:|---|---|---|:-:|---|\n");
    for (byte, op) in OPS.iter().enumerate() {
        let operands: Vec<&str> = op.operands.iter().map(operand_text).collect();
        s.push_str(&format!(
            "| {byte:#04x} | `{}` | {} | {} | {} | {} |\n",
            op.name,
            if operands.is_empty() {
                "—".to_string()
            } else {
                operands.join(", ")
            },
            effect_text(Op::from_byte(byte as u8).expect("an opcode")),
            if op.falls_through { "yes" } else { "no" },
            op.doc.replace('|', "\\|"),
        ));
    }
    s.push_str(
        "\nSpecial selectors (the slow path of each opcode sends exactly this selector):\n\n",
    );
    s.push_str("| opcode | selector | arguments |\n|---|---|---:|\n");
    for (op, sel, n) in SPECIAL_SELECTORS {
        s.push_str(&format!("| `{op:?}` | `{sel}` | {n} |\n"));
    }
    s.push_str(
        "\nSuperinstructions (each is its base instruction, heading the instructions listed):\n\n",
    );
    s.push_str("| opcode | base | followed by |\n|---|---|---|\n");
    for op in Op::all() {
        if let Some(base) = op.info().base {
            let then: Vec<String> = op.info().then.iter().map(|t| format!("`{t:?}`")).collect();
            s.push_str(&format!(
                "| `{op:?}` | `{base:?}` | {} |\n",
                then.join(", ")
            ));
        }
    }
    s
}

#[test]
fn generated_tables_are_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/bytecode.md");
    let doc = std::fs::read_to_string(path).expect("docs/bytecode.md");
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/bytecode.md lacks the generated-section markers");
    };
    let current = &doc[b + BEGIN.len()..e];
    let wanted = format!("\n{}", tables());
    if current != wanted {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{BEGIN}{wanted}{}", &doc[..b], &doc[e..]);
            std::fs::write(path, updated).unwrap();
        } else {
            panic!(
                "docs/bytecode.md is out of date: run `UPDATE_DOCS=1 cargo test -p smalt-vm --test bytecode_doc`"
            );
        }
    }
}
