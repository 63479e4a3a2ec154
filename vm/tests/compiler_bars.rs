//! `|` and `||` are binary selectors as well as the delimiters of temporaries and fields.

use smalt_vm::compiler::{ClassScope, Literal, compile_doit, parse_class};

#[test]
fn bar_methods_are_not_field_declarations() {
    let src = "Bars = (\n    || other = ( ^1 )\n    | other = ( ^2 )\n    & other = ( ^3 )\n----\n    | other = ( ^4 )\n)";
    let class = parse_class("Bars.som", src).unwrap();
    assert!(class.instance_vars.is_empty());
    let names: Vec<&str> = class
        .instance_methods
        .iter()
        .map(|m| m.selector.as_str())
        .collect();
    assert_eq!(names, ["||", "|", "&"]);
    assert!(class.class_vars.is_empty());
    assert_eq!(class.class_methods[0].selector, "|");
}

#[test]
fn fields_still_parse() {
    let class = parse_class(
        "F.som",
        "F = ( | a b | foo = ( ^a ) ---- | c | bar = ( ^c ) )",
    )
    .unwrap();
    assert_eq!(class.instance_vars, ["a", "b"]);
    assert_eq!(class.class_vars, ["c"]);
}

#[test]
fn double_bar_is_a_binary_send_but_not_in_block_headers() {
    let scope = ClassScope::default();
    let code = compile_doit("t", "true || false", &scope, false).unwrap();
    assert!(code.literals.contains(&Literal::Selector("||".into())));
    // `[:x || t | …]`: the bars end the parameters and open the temporaries.
    let code = compile_doit("t", "[:x || t | t := x. t] value: 3", &scope, false).unwrap();
    assert!(!code.literals.contains(&Literal::Selector("||".into())));
    // Spaced bars are two bars (empty temporaries), not a selector.
    let code = compile_doit("t", "| | 3 | 4", &scope, false).unwrap();
    assert!(code.literals.contains(&Literal::Selector("|".into())));
}
