//! Literal parsing edge cases and the encoding limits of the compiler.

use dashu_int::IBig;
use smalt_vm::bytecode::{Op, instructions};
use smalt_vm::compiler::{
    ClassScope, CompiledCode, Literal, compile_doit, compile_method, parse_method, verify,
};

fn scope() -> ClassScope {
    ClassScope::new("Foo", &[], false)
}

fn doit(src: &str) -> CompiledCode {
    let code = compile_doit("t", src, &scope(), false).unwrap_or_else(|e| panic!("{e}"));
    verify(&code).unwrap();
    code
}

/// The constant a do-it `src` (a single literal expression) pushes first.
fn literal(src: &str) -> Literal {
    let code = doit(src);
    let first = instructions(&code.bytecodes).next().unwrap().unwrap();
    match first.op {
        Op::PushSmallInt => Literal::Int(i64::from(first.operands[0])),
        Op::PushLiteral => code.literals[first.operands[0] as usize].clone(),
        Op::PushNil => Literal::Nil,
        Op::PushTrue => Literal::True,
        Op::PushFalse => Literal::False,
        op => panic!("{src}: first instruction is {op:?}"),
    }
}

fn errors(src: &str) -> String {
    match compile_doit("t", src, &scope(), false) {
        Ok(_) => panic!("{src:?} compiled"),
        Err(e) => e.to_string(),
    }
}

fn big(s: &str) -> Literal {
    Literal::BigInt(s.parse::<IBig>().unwrap())
}

#[test]
fn integers_small_and_large() {
    assert_eq!(literal("0"), Literal::Int(0));
    assert_eq!(literal("127"), Literal::Int(127));
    assert_eq!(literal("128"), Literal::Int(128));
    assert_eq!(literal("-128"), Literal::Int(-128));
    assert_eq!(literal("-129"), Literal::Int(-129));
    assert_eq!(
        literal("4611686018427387903"),
        Literal::Int(4611686018427387903)
    );
    assert_eq!(literal("9223372036854775807"), Literal::Int(i64::MAX));
    assert_eq!(literal("-9223372036854775808"), Literal::Int(i64::MIN));
    assert_eq!(literal("9223372036854775808"), big("9223372036854775808"));
    assert_eq!(literal("-9223372036854775809"), big("-9223372036854775809"));
    assert_eq!(
        literal("123456789012345678901234567890123456789"),
        big("123456789012345678901234567890123456789")
    );
}

#[test]
fn radix_and_exponent_integers() {
    assert_eq!(literal("16r1F"), Literal::Int(31));
    assert_eq!(literal("-16rFF"), Literal::Int(-255));
    assert_eq!(literal("16r-FF"), Literal::Int(-255));
    assert_eq!(literal("2r1010"), Literal::Int(10));
    assert_eq!(literal("8r777"), Literal::Int(511));
    assert_eq!(literal("36rSMALLTALK"), Literal::Int(80738163270632));
    assert_eq!(literal("16rFFFFFFFFFFFFFFFF"), big("18446744073709551615"));
    assert_eq!(literal("1e10"), Literal::Int(10_000_000_000));
    assert_eq!(literal("1e100"), big(&format!("1{}", "0".repeat(100))));
    assert_eq!(literal("2r1e10"), Literal::Int(1024));
    assert_eq!(literal("-1e3"), Literal::Int(-1000));
}

#[test]
fn radix_fractions_and_negative_exponents() {
    // Smalltalk-80 radix syntax with a fraction; without Fractions, a negative exponent makes
    // a float in any radix, as it does in decimal (`1e-3`).
    assert_eq!(literal("16r1.8"), Literal::Float(1.5));
    assert_eq!(literal("-2r1.01"), Literal::Float(-1.25));
    assert_eq!(literal("2r1e-3"), Literal::Float(0.125));
    assert_eq!(literal("1e-3"), Literal::Float(0.001));
    assert_eq!(
        literal("#(2r0.1 16r-0.8)"),
        Literal::Array(vec![Literal::Float(0.5), Literal::Float(-0.5)])
    );
}

#[test]
fn floats() {
    assert_eq!(literal("1.5"), Literal::Float(1.5));
    assert_eq!(literal("-1.5"), Literal::Float(-1.5));
    assert_eq!(literal("2.5e-3"), Literal::Float(0.0025));
    assert_eq!(literal("1.5e+2"), Literal::Float(150.0));
    assert_eq!(literal("1.5e2"), Literal::Float(150.0));
    assert_eq!(literal("1e-2"), Literal::Float(0.01));
    assert_eq!(literal("0.1"), Literal::Float(0.1));
    assert_eq!(literal("1.7976931348623157e308"), Literal::Float(f64::MAX));
    assert_eq!(literal("4.9e-324"), Literal::Float(5e-324));
    assert_eq!(literal("1.0e-400"), Literal::Float(0.0));
    assert!(errors("1.0e400").contains("float literal out of range"));
}

#[test]
fn strings_characters_symbols() {
    assert_eq!(literal("'it''s'"), Literal::String("it's".into()));
    assert_eq!(
        literal(r"'a\tb\nc\\d\'e'"),
        Literal::String("a\tb\nc\\d'e".into())
    );
    assert_eq!(
        literal(r"'\0\b\f\r'"),
        Literal::String("\0\u{8}\u{c}\r".into())
    );
    assert_eq!(
        literal("'multi\nline'"),
        Literal::String("multi\nline".into())
    );
    assert_eq!(literal("''"), Literal::String(String::new()));
    assert_eq!(literal("$a"), Literal::Char('a'));
    assert_eq!(literal("$ "), Literal::Char(' '));
    assert_eq!(literal("$'"), Literal::Char('\''));
    assert_eq!(literal("$\""), Literal::Char('"'));
    assert_eq!(literal("$λ"), Literal::Char('λ'));
    assert_eq!(literal("#foo"), Literal::Symbol("foo".into()));
    assert_eq!(literal("#at:put:"), Literal::Symbol("at:put:".into()));
    assert_eq!(literal("#+"), Literal::Symbol("+".into()));
    assert_eq!(
        literal("#'hello world'"),
        Literal::Symbol("hello world".into())
    );
    assert_eq!(literal("#'it''s'"), Literal::Symbol("it's".into()));
}

#[test]
fn literal_arrays() {
    use Literal::*;
    assert_eq!(
        literal("#(1 $a 'b' #c (2 3) #[1 2] true false nil foo at:put: #(4) - -3 1.5 |)"),
        Array(vec![
            Int(1),
            Char('a'),
            String("b".into()),
            Symbol("c".into()),
            Array(vec![Int(2), Int(3)]),
            ByteArray(vec![1, 2]),
            True,
            False,
            Nil,
            Symbol("foo".into()),
            Symbol("at:put:".into()),
            Array(vec![Int(4)]),
            Symbol("-".into()),
            Int(-3),
            Float(1.5),
            Symbol("|".into()),
        ])
    );
    assert_eq!(
        literal("#(at: put:)"),
        Array(vec![Symbol("at:".into()), Symbol("put:".into())])
    );
    assert_eq!(literal("#()"), Array(vec![]));
    assert_eq!(literal("#(#true)"), Array(vec![Symbol("true".into())]));
    assert_eq!(literal("#[]"), ByteArray(vec![]));
    assert_eq!(literal("#[0 255 16rFF]"), ByteArray(vec![0, 255, 255]));
    assert!(errors("#[1 -1]").contains("from 0 to 255"));
    assert!(errors("#[1 a]").contains("a byte"));
    assert!(errors("#(1 [2])").contains("literal array"));
}

#[test]
fn negative_literals_and_minus() {
    // `3 - -2`: a binary minus and a negative literal
    let code = doit("3 - -2");
    let ops: Vec<(Op, i32)> = instructions(&code.bytecodes)
        .map(|i| i.unwrap())
        .map(|i| (i.op, i.operands[0]))
        .collect();
    assert_eq!(
        ops,
        [
            (Op::PushSmallInt, 3),
            (Op::PushSmallInt, -2),
            (Op::Sub, 0),
            (Op::ReturnTop, 0)
        ]
    );
    // `3-2` and `3 -2` are both subtractions of 2
    for src in ["3-2", "3 -2", "3--2"] {
        let ops: Vec<Op> = instructions(&doit(src).bytecodes)
            .map(|i| i.unwrap().op)
            .collect();
        assert_eq!(
            ops,
            [Op::PushSmallInt, Op::PushSmallInt, Op::Sub, Op::ReturnTop],
            "{src}"
        );
    }
    // a `-` separated from its number is not a literal
    assert!(errors("- 3").contains("expected a statement"));
    assert_eq!(literal("-0"), Literal::Int(0));
    assert_eq!(literal("-0.0"), Literal::Float(-0.0));
}

// ---- limits ------------------------------------------------------------------------------

fn method(src: &str) -> Result<CompiledCode, String> {
    let def = parse_method("m.st", src).map_err(|e| e.to_string())?;
    compile_method(&def, &scope(), "m.st", src).map_err(|e| e.to_string())
}

#[test]
fn frame_slot_limit() {
    let temps = |n: usize| {
        (0..n)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // 249 temporaries fill local indices 7..=255 (0 is self, 1..=6 the frame header)
    let ok = method(&format!("foo | {} | t248 := 1. ^t248", temps(249))).unwrap();
    verify(&ok).unwrap();
    assert_eq!(ok.num_temps, 249);
    let err = method(&format!("foo | {} | ^1", temps(250))).unwrap_err();
    assert!(err.contains("too many arguments and temporaries"), "{err}");
    // hidden loop temporaries count too
    let err = method(&format!("foo | {} | 1 to: self n do: [:i | i]", temps(248))).unwrap_err();
    assert!(err.contains("too many arguments and temporaries"), "{err}");
}

#[test]
fn many_literals_use_ext_a() {
    let body: String = (0..300).map(|i| format!("self m{i}. ")).collect();
    let code = method(&format!("foo {body}")).unwrap();
    verify(&code).unwrap();
    assert_eq!(code.literals.len(), 300);
    let sends: Vec<i32> = instructions(&code.bytecodes)
        .map(|i| i.unwrap())
        .filter(|i| i.op == Op::Send)
        .map(|i| i.operands[0])
        .collect();
    assert_eq!(sends, (0..300).collect::<Vec<i32>>());
}

#[test]
fn repeated_sends_of_one_selector_share_one_literal() {
    // 70 000 sends: more sites than one ExtA prefix can name, one literal for the selector.
    let body = "self bump. ".repeat(70_000);
    let code = method(&format!("foo {body}")).unwrap();
    verify(&code).unwrap();
    assert_eq!(code.literals, vec![Literal::Selector("bump".into())]);
    assert_eq!(code.sites, vec![0u16; 70_000]);
    let sends: Vec<(i32, usize)> = instructions(&code.bytecodes)
        .map(|i| i.unwrap())
        .filter(|i| i.op == Op::Send)
        .map(|i| (i.operands[0], i.next - i.pc))
        .collect();
    assert_eq!(sends.len(), 70_000);
    for (s, &(site, len)) in sends.iter().enumerate() {
        assert_eq!(
            site, s as i32,
            "every send names a site of its own, in order"
        );
        let prefixes = match s {
            0..=255 => 0,
            256..=0xFFFF => 1,
            _ => 2,
        };
        assert_eq!(len, 2 + 2 * prefixes, "site {s}");
    }
}

#[test]
fn super_sends_take_their_selector_from_the_site() {
    let code = method("foo super foo. self foo. ^super foo").unwrap();
    verify(&code).unwrap();
    assert_eq!(code.literals, vec![Literal::Selector("foo".into())]);
    assert_eq!(code.sites, vec![0, 0, 0]);
    let sends: Vec<(Op, i32)> = instructions(&code.bytecodes)
        .map(|i| i.unwrap())
        .filter(|i| matches!(i.op, Op::Send | Op::SuperSend))
        .map(|i| (i.op, i.operands[0]))
        .collect();
    assert_eq!(
        sends,
        [(Op::SuperSend, 0), (Op::Send, 1), (Op::SuperSend, 2)]
    );
}

#[test]
fn literal_limit() {
    let body: String = (0..65_537).map(|i| format!("#s{i}. ")).collect();
    let err = method(&format!("foo ^{{{body}}}")).unwrap_err();
    assert!(err.contains("too many literals"), "{err}");
}

#[test]
fn jump_limit() {
    // each `self mN.` is 5 bytes (PushSelf, ExtA prefix, Send, Pop): 7000 of them exceed 32 KB
    let body: String = (0..7000).map(|i| format!("self m{i}. ")).collect();
    let err = method(&format!("foo: c c ifTrue: [{body}]")).unwrap_err();
    assert!(err.contains("method too large"), "{err}");
    let err = method(&format!("foo [{body} false] whileTrue")).unwrap_err();
    assert!(err.contains("method too large"), "{err}");
    // without jumps a large method is fine
    verify(&method(&format!("foo {body}")).unwrap()).unwrap();
}

#[test]
fn source_map_points_at_selectors() {
    let src = "foo: x\n  ^x bar: (x + 1)";
    let code = method(src).unwrap();
    let positions: Vec<(u32, u32)> = code
        .source_map
        .iter()
        .map(|(_, p)| (p.line, p.column))
        .collect();
    // `+` at 2:14, then `bar:` at 2:6
    assert_eq!(positions, [(2, 14), (2, 6)]);
    assert_eq!(code.source.as_deref(), Some(src));
    let add_pc = code.source_map[0].0 as usize;
    assert_eq!(code.position_at(add_pc).map(|p| p.column), Some(14));
}

#[test]
fn stack_depth_limit() {
    let items: String = (0..65_535).map(|_| "1. ").collect();
    verify(&doit(&format!("{{{items}}}"))).unwrap();
    let err = errors(&format!("3 + {{{items}}}"));
    assert!(err.contains("expression too large"), "{err}");
}
