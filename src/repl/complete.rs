//! Tab completion: names where a receiver or an argument goes (globals, classes, session
//! variables, the input's own temporaries and block arguments, the pseudo-variables), selectors
//! where a message goes — those the receiver understands when its class can be told from the
//! text (a literal, a global, a session variable, `Foo new`), else every selector the system
//! knows — the next keyword of a keyword message being typed, meta commands, file names after
//! `:load`, classes and `Class>>selector` after `:browse`, `:source` and `:bytecode`.
//!
//! The completer cannot reach the VM while the line editor runs, so the REPL takes a
//! [`Catalog`] (a snapshot of the classes, their selectors and the globals) before each prompt.

use super::commands::{ArgKind, COMMANDS};
use rustyline::completion::{FilenameCompleter, Pair};
use smalt_gc::ClassIndex;
use smalt_vm::Vm;
use smalt_vm::objects::{association, class};
use std::collections::{BTreeSet, HashMap};

/// What the completer knows about the system: taken from the VM before each prompt.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Each class by name (metaclasses as `Foo class`): its superclass's name and its own
    /// selectors.
    classes: HashMap<String, ClassEntry>,
    /// Global name → the class of its value (`Foo class` for a class).
    globals: HashMap<String, String>,
    /// Every global name, sorted.
    global_names: Vec<String>,
    /// Every class name (not metaclasses), sorted.
    class_names: Vec<String>,
    /// Every selector of every class, sorted.
    all_selectors: Vec<String>,
}

#[derive(Debug, Default)]
struct ClassEntry {
    superclass: Option<String>,
    selectors: Vec<String>,
}

const PSEUDO_VARIABLES: &[&str] = &["self", "super", "nil", "true", "false", "thisContext"];

impl Catalog {
    /// A snapshot of the VM's classes and globals.
    pub fn of(vm: &Vm) -> Catalog {
        let mut cat = Catalog::default();
        let mut all = BTreeSet::new();
        let nil = vm.nil();
        let table = vm.heap.classes();
        let mut seen = std::collections::HashSet::new();
        for i in 1..table.len() {
            let Some(cls) = table.get(ClassIndex(i as u32)) else {
                continue;
            };
            for cls in [cls, vm.class_of(cls)] {
                if !vm.is_class_shaped(cls) || !seen.insert(cls) {
                    continue;
                }
                let name = vm.class_name(cls);
                if name == "?" {
                    continue;
                }
                let sup = vm.superclass(cls);
                let superclass =
                    (sup != nil && vm.is_class_shaped(sup)).then(|| vm.class_name(sup));
                let md = vm.heap.slot(cls.oop(), class::METHODS);
                let mut selectors: Vec<String> = if md == nil {
                    Vec::new()
                } else {
                    vm.dict_entries(md)
                        .into_iter()
                        .filter_map(|(k, _)| vm.string_value(k))
                        .collect()
                };
                selectors.sort();
                all.extend(selectors.iter().cloned());
                if !name.ends_with(" class") {
                    cat.class_names.push(name.clone());
                }
                cat.classes.insert(
                    name,
                    ClassEntry {
                        superclass,
                        selectors,
                    },
                );
            }
        }
        let globals = vm.special(smalt_vm::vm::sp::GLOBALS);
        for (key, binding) in vm.dict_entries(globals) {
            let Some(name) = vm.string_value(key) else {
                continue;
            };
            let value = vm.heap.slot(binding.oop(), association::VALUE);
            let cls = vm.class_of(value);
            cat.globals.insert(name.clone(), vm.class_name(cls));
            cat.global_names.push(name);
        }
        cat.global_names.sort();
        cat.class_names.sort();
        cat.class_names.dedup();
        cat.all_selectors = all.into_iter().collect();
        cat
    }

    /// A catalog made from a list of classes (for tests): `(name, superclass, selectors)`;
    /// globals name the classes and `values` (global → class name).
    #[cfg(test)]
    pub fn from_parts(classes: &[(&str, Option<&str>, &[&str])], values: &[(&str, &str)]) -> Self {
        let mut cat = Catalog::default();
        let mut all = BTreeSet::new();
        for (name, sup, sels) in classes {
            all.extend(sels.iter().map(|s| s.to_string()));
            cat.classes.insert(
                name.to_string(),
                ClassEntry {
                    superclass: sup.map(str::to_string),
                    selectors: sels.iter().map(|s| s.to_string()).collect(),
                },
            );
            if !name.ends_with(" class") {
                cat.class_names.push(name.to_string());
                cat.globals
                    .insert(name.to_string(), format!("{name} class"));
                cat.global_names.push(name.to_string());
            }
        }
        for (g, c) in values {
            cat.globals.insert(g.to_string(), c.to_string());
            cat.global_names.push(g.to_string());
        }
        cat.global_names.sort();
        cat.class_names.sort();
        cat.all_selectors = all.into_iter().collect();
        cat
    }

    /// Every selector understood by instances of the class named `cls` (own and inherited),
    /// sorted; `None` for an unknown class.
    pub fn understood(&self, cls: &str) -> Option<Vec<String>> {
        let mut out = BTreeSet::new();
        let mut name = Some(cls.to_string());
        let mut found = false;
        let mut steps = 0;
        while let Some(n) = name {
            let Some(entry) = self.classes.get(&n) else {
                break;
            };
            found = true;
            out.extend(entry.selectors.iter().cloned());
            name = entry.superclass.clone();
            steps += 1;
            if steps > 1000 {
                break;
            }
        }
        found.then(|| out.into_iter().collect())
    }

    fn has_class(&self, name: &str) -> bool {
        self.classes.contains_key(name)
    }
}

// ---- tokens ---------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Keyword(String),
    Binary,
    /// A literal, with its class when it is known.
    Literal(Option<&'static str>),
    /// An opening bracket: `(`, `[`, `{`, or `#` for a literal array `#(`.
    Open(char),
    Close,
    Assign,
    Period,
    Caret,
    Cascade,
    Bar,
    BlockArg(String),
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The tokens of `src` (which ends just before the word being completed).
fn tokens(src: &str) -> Vec<Tok> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        match c {
            b'\'' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                out.push(Tok::Literal(Some("String")));
            }
            b'"' => {
                i = src[i + 1..].find('"').map_or(b.len(), |k| i + k + 2);
            }
            b'$' => {
                i += 1;
                if let Some(ch) = src[i..].chars().next() {
                    i += ch.len_utf8();
                }
                out.push(Tok::Literal(Some("Character")));
            }
            b'#' => {
                i += 1;
                match b.get(i) {
                    Some(b'(') | Some(b'[') => {
                        i += 1;
                        out.push(Tok::Open('#'));
                    }
                    Some(b'{') => {
                        i += 1;
                        out.push(Tok::Open('{'));
                    }
                    Some(b'\'') => {
                        i += 1;
                        while i < b.len() && b[i] != b'\'' {
                            i += 1;
                        }
                        i += 1;
                        out.push(Tok::Literal(Some("Symbol")));
                    }
                    _ => {
                        while i < b.len() && (is_ident_byte(b[i]) || b[i] == b':') {
                            i += 1;
                        }
                        while i < b.len() && i == start + 1 && is_binary_byte(b[i]) {
                            i += 1;
                        }
                        out.push(Tok::Literal(Some("Symbol")));
                    }
                }
            }
            b'0'..=b'9' => {
                let mut float = false;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    if b[i] == b'.' {
                        if !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                            break;
                        }
                        float = true;
                    }
                    if b[i] == b'r' {
                        float = false;
                    } else if b[i] == b'e' && !src[start..i].contains('r') {
                        float = true;
                    }
                    i += 1;
                }
                out.push(Tok::Literal(Some(if float { "Double" } else { "Integer" })));
            }
            b'(' | b'[' | b'{' => {
                i += 1;
                out.push(Tok::Open(c as char));
            }
            b')' | b']' | b'}' => {
                i += 1;
                out.push(Tok::Close);
            }
            b'.' => {
                i += 1;
                out.push(Tok::Period);
            }
            b'^' => {
                i += 1;
                out.push(Tok::Caret);
            }
            b';' => {
                i += 1;
                out.push(Tok::Cascade);
            }
            b':' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                out.push(Tok::Assign);
            }
            b':' if b.get(i + 1).is_some_and(|&d| is_ident_byte(d)) => {
                i += 1;
                while i < b.len() && is_ident_byte(b[i]) {
                    i += 1;
                }
                out.push(Tok::BlockArg(src[start + 1..i].to_string()));
            }
            b'|' if b.get(i + 1).is_none_or(|&d| !is_binary_byte(d)) => {
                i += 1;
                out.push(Tok::Bar);
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && is_ident_byte(b[i]) {
                    i += 1;
                }
                if b.get(i) == Some(&b':') && b.get(i + 1) != Some(&b'=') {
                    i += 1;
                    out.push(Tok::Keyword(src[start..i].to_string()));
                } else {
                    out.push(Tok::Ident(src[start..i].to_string()));
                }
            }
            _ if is_binary_byte(c) => {
                while i < b.len() && is_binary_byte(b[i]) {
                    i += 1;
                }
                out.push(Tok::Binary);
            }
            _ => {
                // Anything else (non-ASCII text outside strings): skip the character.
                i += src[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    out
}

fn is_binary_byte(b: u8) -> bool {
    b"+-*/\\<>=~@%|&?,".contains(&b)
}

/// One element of a statement at bracket depth 0: a bracketed group becomes one primary.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    Primary(Option<String>),
    Ident(String),
    Keyword(String),
    Binary,
    Cascade,
}

/// The items of the statement that the word being completed belongs to, and the names the
/// input declares (temporaries and block arguments).
fn statement(toks: &[Tok]) -> Vec<Item> {
    // Back from the end to the start of the statement: an unmatched opening bracket, or a
    // period, caret, assignment or bar at depth 0.
    let mut depth = 0i32;
    let mut start = 0;
    for (k, t) in toks.iter().enumerate().rev() {
        match t {
            Tok::Close => depth += 1,
            Tok::Open(_) => {
                if depth == 0 {
                    start = k + 1;
                    break;
                }
                depth -= 1;
            }
            Tok::Period | Tok::Caret | Tok::Assign | Tok::Bar | Tok::BlockArg(_) if depth == 0 => {
                start = k + 1;
                break;
            }
            _ => {}
        }
    }
    let toks = &toks[start..];
    let mut items = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        match &toks[k] {
            Tok::Ident(n) => items.push(Item::Ident(n.clone())),
            Tok::Keyword(n) => items.push(Item::Keyword(n.clone())),
            Tok::Binary => items.push(Item::Binary),
            Tok::Cascade => items.push(Item::Cascade),
            Tok::Literal(c) => items.push(Item::Primary(c.map(str::to_string))),
            Tok::Open(o) => {
                // Find the matching close; the group is one primary.
                let mut d = 0;
                let mut end = toks.len();
                let mut args = 0;
                for (j, t) in toks.iter().enumerate().skip(k) {
                    match t {
                        Tok::Open(_) => d += 1,
                        Tok::Close => {
                            d -= 1;
                            if d == 0 {
                                end = j;
                                break;
                            }
                        }
                        Tok::BlockArg(_) if d == 1 => args += 1,
                        _ => {}
                    }
                }
                let ty = match o {
                    '#' | '{' => Some("Array".to_string()),
                    '[' => Some(format!("Block{}", args + 1)),
                    _ => None,
                };
                items.push(Item::Primary(ty));
                k = end;
            }
            Tok::Close | Tok::Period | Tok::Caret | Tok::Assign | Tok::Bar | Tok::BlockArg(_) => {}
        }
        k += 1;
    }
    items
}

/// Names the input declares: temporaries (`| a b |`) and block arguments (`:x`).
fn declared_names(toks: &[Tok]) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_temps = false;
    let mut prev_opens_temps = true;
    for t in toks {
        match t {
            Tok::Bar if in_temps => in_temps = false,
            Tok::Bar if prev_opens_temps => in_temps = true,
            Tok::Ident(n) if in_temps => names.push(n.clone()),
            Tok::BlockArg(n) => names.push(n.clone()),
            _ => {}
        }
        prev_opens_temps = matches!(t, Tok::Open('[') | Tok::Period) || matches!(t, Tok::Bar);
    }
    names
}

/// The class of the value of a unary chain (`3`, `x`, `Foo new`, `#(1 2) size`), if the text
/// tells it.
fn chain_type(items: &[Item], cat: &Catalog) -> Option<String> {
    let (first, rest) = items.split_first()?;
    let mut ty = match first {
        Item::Primary(t) => t.clone(),
        Item::Ident(name) => match name.as_str() {
            "nil" | "self" => Some("Nil".into()),
            "true" => Some("True".into()),
            "false" => Some("False".into()),
            "thisContext" => Some("Context".into()),
            _ => cat.globals.get(name).cloned(),
        },
        _ => return None,
    };
    for item in rest {
        let Item::Ident(sel) = item else {
            return None;
        };
        let t = ty?;
        ty = match sel.as_str() {
            "new" | "basicNew" => t.strip_suffix(" class").map(str::to_string),
            "class" => Some(match t.strip_suffix(" class") {
                Some(_) => "Metaclass".into(),
                None => format!("{t} class"),
            }),
            "yourself" | "copy" | "shallowCopy" | "deepCopy" => Some(t),
            "printString" | "displayString" | "asString" => Some("String".into()),
            "asSymbol" => Some("Symbol".into()),
            "size" | "hash" | "identityHash" => Some("Integer".into()),
            _ => None,
        };
    }
    ty.filter(|t| cat.has_class(t))
}

/// Completions for the word ending at the end of `before` (the input up to the cursor, earlier
/// lines of a multi-line input included): the byte offset in `before` where the word starts,
/// and (display, replacement) pairs.
pub fn complete_smalltalk(cat: &Catalog, before: &str) -> (usize, Vec<Pair>) {
    let b = before.as_bytes();
    let mut start = b.len();
    while start > 0 && (is_ident_byte(b[start - 1]) || b[start - 1] == b':') {
        start -= 1;
    }
    // `at:pu` is a word being typed; `:x` is a block argument; `x:=` never reaches here.
    let word = &before[start..];
    if word.starts_with(':') || word.starts_with(|c: char| c.is_ascii_digit()) {
        return (start, Vec::new());
    }
    // Inside a string or a comment nothing is completed.
    let (open, _) = super::scan::scan(&before[..start]);
    if open.in_string || open.in_comment {
        return (start, Vec::new());
    }
    if start > 0 && b[start - 1] == b'#' {
        let pairs = cat
            .all_selectors
            .iter()
            .filter(|s| s.starts_with(word))
            .map(|s| pair(s, s))
            .collect();
        return (start, pairs);
    }
    let toks = tokens(&before[..start]);
    let items = statement(&toks);
    let names_here = matches!(
        items.last(),
        None | Some(Item::Keyword(_)) | Some(Item::Binary)
    );
    if names_here {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        names.extend(cat.global_names.iter().map(String::as_str));
        names.extend(PSEUDO_VARIABLES.iter().copied());
        let declared = declared_names(&toks);
        names.extend(declared.iter().map(String::as_str));
        let pairs = names
            .into_iter()
            .filter(|n| n.starts_with(word) && !word.contains(':'))
            .map(|n| pair(n, n))
            .collect();
        return (start, pairs);
    }
    // A message goes here. Its receiver is the unary chain after the last keyword, binary
    // operator or cascade.
    let last_op = items
        .iter()
        .rposition(|i| matches!(i, Item::Keyword(_) | Item::Binary | Item::Cascade));
    let cascade = items.contains(&Item::Cascade);
    let chain = &items[last_op.map_or(0, |k| k + 1)..];
    let receiver = if cascade && last_op.is_some_and(|k| items[k] == Item::Cascade) {
        None
    } else {
        chain_type(chain, cat)
    };
    let mut out: Vec<Pair> = Vec::new();
    let first_kw = items.iter().position(|i| matches!(i, Item::Keyword(_)));
    let in_keyword_message = first_kw.is_some() && !cascade;
    // The next keyword of a keyword message being typed: `d at: 1 pu` → `put:`.
    if let Some(fk) = first_kw.filter(|_| in_keyword_message) {
        let so_far: String = items[fk..]
            .iter()
            .filter_map(|i| match i {
                Item::Keyword(k) => Some(k.as_str()),
                _ => None,
            })
            .collect();
        let recv_items = &items[..fk];
        let recv = if recv_items.contains(&Item::Binary) {
            None
        } else {
            chain_type(recv_items, cat)
        };
        let sels = selectors_of(cat, recv.as_deref());
        let wanted = format!("{so_far}{word}");
        let mut seen = BTreeSet::new();
        for s in sels.iter().filter(|s| s.starts_with(&wanted)) {
            let rest = &s[so_far.len()..];
            let part = match rest.find(':') {
                Some(k) => &rest[..=k],
                None => continue,
            };
            if seen.insert(part.to_string()) {
                out.push(pair(s, part));
            }
        }
    }
    // A message to the chain's value; after a keyword's argument only unary ones fit.
    let sels = selectors_of(cat, receiver.as_deref());
    let mut seen: BTreeSet<String> = out.iter().map(|p| p.replacement.clone()).collect();
    for s in sels.iter().filter(|s| s.starts_with(word)) {
        let keyword = s.contains(':');
        if in_keyword_message && keyword {
            continue;
        }
        if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            continue;
        }
        // A keyword selector inserts its first keyword: the arguments come between the parts.
        let replacement = match s.find(':') {
            Some(k) if k + 1 >= word.len() => &s[..=k],
            _ => s.as_str(),
        };
        if seen.insert(replacement.to_string()) || replacement != s.as_str() {
            out.push(pair(s, replacement));
        }
    }
    (start, out)
}

fn selectors_of<'a>(cat: &'a Catalog, cls: Option<&str>) -> std::borrow::Cow<'a, [String]> {
    match cls.and_then(|c| cat.understood(c)) {
        Some(v) => std::borrow::Cow::Owned(v),
        None => std::borrow::Cow::Borrowed(&cat.all_selectors),
    }
}

fn pair(display: &str, replacement: &str) -> Pair {
    Pair {
        display: display.to_string(),
        replacement: replacement.to_string(),
    }
}

/// Completions for a whole input line at `pos`: meta commands and their arguments, or
/// Smalltalk. `pending` holds the earlier lines of a multi-line input.
pub fn complete(
    cat: &Catalog,
    files: &FilenameCompleter,
    pending: &str,
    line: &str,
    pos: usize,
) -> (usize, Vec<Pair>) {
    let before = &line[..pos];
    if pending.is_empty() && before.trim_start().starts_with(':') {
        return complete_command(cat, files, line, pos);
    }
    let text = format!("{pending}{before}");
    let (start, pairs) = complete_smalltalk(cat, &text);
    (start.saturating_sub(pending.len()), pairs)
}

fn complete_command(
    cat: &Catalog,
    files: &FilenameCompleter,
    line: &str,
    pos: usize,
) -> (usize, Vec<Pair>) {
    let before = &line[..pos];
    let lead = before.len() - before.trim_start().len();
    let body = &before[lead + 1..];
    let Some(space) = body.find(char::is_whitespace) else {
        // The command name itself.
        let pairs = COMMANDS
            .iter()
            .filter(|c| c.name.starts_with(body))
            .map(|c| pair(&format!(":{}", c.name), &format!(":{} ", c.name)))
            .collect();
        return (lead, pairs);
    };
    let name = &body[..space];
    let Some(cmd) = super::commands::find(name) else {
        return (pos, Vec::new());
    };
    let arg_start = lead + 1 + space + (body[space..].len() - body[space..].trim_start().len());
    let arg = &line[arg_start..pos];
    match cmd.arg {
        ArgKind::None => (pos, Vec::new()),
        ArgKind::Words(words) => {
            if arg.contains(char::is_whitespace) {
                return (pos, Vec::new());
            }
            let pairs = words
                .iter()
                .filter(|w| w.starts_with(arg))
                .map(|w| pair(w, &format!("{w} ")))
                .collect();
            (arg_start, pairs)
        }
        ArgKind::Files => files.complete_path(line, pos).unwrap_or((pos, Vec::new())),
        ArgKind::Class => {
            let pairs = cat
                .class_names
                .iter()
                .filter(|n| n.starts_with(arg))
                .map(|n| pair(n, n))
                .collect();
            (arg_start, pairs)
        }
        ArgKind::Expression => {
            let (s, pairs) = complete_smalltalk(cat, arg);
            (arg_start + s, pairs)
        }
        ArgKind::Method | ArgKind::MethodOrExpression => {
            if let Some(k) = arg.find(">>") {
                let cls = arg[..k].trim();
                let prefix = arg[k + 2..].trim_start();
                let sels = cat.understood(cls).unwrap_or_default();
                let pairs = sels
                    .iter()
                    .filter(|s| s.starts_with(prefix))
                    .map(|s| pair(s, s))
                    .collect();
                return (pos - prefix.len(), pairs);
            }
            if cmd.arg == ArgKind::MethodOrExpression && arg.contains(char::is_whitespace) {
                let (s, pairs) = complete_smalltalk(cat, arg);
                return (arg_start + s, pairs);
            }
            let pairs = cat
                .class_names
                .iter()
                .filter(|n| n.starts_with(arg))
                .map(|n| pair(n, n))
                .collect();
            (arg_start, pairs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalog {
        Catalog::from_parts(
            &[
                (
                    "Object",
                    None,
                    &["printString", "printOn:", "=", "yourself", "class"],
                ),
                ("Object class", Some("Class"), &["new", "new:"]),
                ("Class", Some("Object"), &["name", "superclass"]),
                (
                    "Integer",
                    Some("Object"),
                    &[
                        "factorial",
                        "printString:",
                        "+",
                        "between:and:",
                        "timesRepeat:",
                    ],
                ),
                ("Integer class", Some("Object class"), &[]),
                ("String", Some("Object"), &["size", "reverse", "asSymbol"]),
                ("String class", Some("Object class"), &["new:withAll:"]),
                ("Symbol", Some("String"), &["numArgs"]),
                ("Symbol class", Some("String class"), &[]),
                (
                    "Dictionary",
                    Some("Object"),
                    &["at:", "at:put:", "at:ifAbsent:", "keys"],
                ),
                ("Dictionary class", Some("Object class"), &["newFrom:"]),
                ("Array", Some("Object"), &["at:", "inject:into:", "size"]),
                ("Array class", Some("Object class"), &["with:with:"]),
                ("Block2", Some("Object"), &["value:", "numArgs"]),
                ("Block2 class", Some("Object class"), &[]),
            ],
            &[("d", "Dictionary"), ("it", "Integer")],
        )
    }

    fn names(before: &str) -> Vec<String> {
        let (start, pairs) = complete_smalltalk(&cat(), before);
        assert!(start <= before.len());
        pairs.into_iter().map(|p| p.replacement).collect()
    }

    fn displays(before: &str) -> Vec<String> {
        complete_smalltalk(&cat(), before)
            .1
            .into_iter()
            .map(|p| p.display)
            .collect()
    }

    #[test]
    fn receivers_complete_to_globals_classes_and_pseudo_variables() {
        assert_eq!(names("Dic"), ["Dictionary"]);
        assert_eq!(names("x := In"), ["Integer"]);
        assert_eq!(names("3 + St"), ["String"]);
        assert_eq!(names("d at: 1 put: Sy"), ["Symbol"]);
        assert_eq!(names("th"), ["thisContext"]);
        assert_eq!(names("(Ar"), ["Array"]);
        assert_eq!(names("| total | tot"), ["total"]);
        assert_eq!(
            names("#(1 2) inject: 0 into: [ :sum :each | su"),
            ["sum", "super"]
        );
    }

    #[test]
    fn selectors_follow_the_receiver_class() {
        assert_eq!(names("3 fac"), ["factorial"]);
        assert_eq!(names("'abc' rev"), ["reverse"]);
        assert_eq!(names("#abc num"), ["numArgs"]);
        assert_eq!(names("d ke"), ["keys"]);
        assert_eq!(names("it fa"), ["factorial"]);
        assert_eq!(names("Dictionary new ke"), ["keys"]);
        assert_eq!(names("Dictionary ne"), ["new", "new:", "newFrom:"]);
        assert_eq!(names("[ :x | x ] val"), ["value:"]);
        assert_eq!(names("#(1 2) in"), ["inject:"]);
        assert_eq!(displays("#(1 2) in"), ["inject:into:"]);
        assert_eq!(names("3 printString rev"), ["reverse"]);
        assert_eq!(
            names("3 printString: 2; print"),
            ["printOn:", "printString", "printString:"]
        );
    }

    #[test]
    fn an_unknown_receiver_gets_every_selector() {
        let all = names("foo siz");
        assert_eq!(all, ["size"]);
        assert_eq!(names("(3 + 4) fac"), ["factorial"]);
        assert!(names("(3 + 4) ").len() > 10);
    }

    #[test]
    fn keyword_messages_continue_with_their_next_keyword() {
        assert_eq!(names("d at: 1 pu"), ["put:"]);
        assert_eq!(names("d at: 1 i"), ["ifAbsent:"]);
        assert_eq!(names("3 between: 1 a"), ["and:"]);
        // the argument may also get a unary message
        assert_eq!(names("d at: 'abc' re"), ["reverse"]);
    }

    #[test]
    fn nothing_is_completed_in_strings_comments_and_block_arguments() {
        assert!(names("'abc fa").is_empty());
        assert!(names("\"fa").is_empty());
        assert!(names("[ :fa").is_empty());
    }

    #[test]
    fn symbols_complete_to_whole_selectors() {
        assert_eq!(names("#at:p"), ["at:put:"]);
    }

    #[test]
    fn commands_and_their_arguments_complete() {
        let files = FilenameCompleter::new();
        let c = cat();
        let (s, p) = complete(&c, &files, "", ":he", 3);
        assert_eq!((s, p[0].replacement.as_str()), (0, ":help "));
        let (s, p) = complete(&c, &files, "", ":browse Dic", 11);
        assert_eq!((s, p[0].replacement.as_str()), (8, "Dictionary"));
        let line = ":source Dictionary>>at:p";
        let (s, p) = complete(&c, &files, "", line, line.len());
        assert_eq!((s, p[0].replacement.as_str()), (20, "at:put:"));
        let line = ":jit o";
        let (s, p) = complete(&c, &files, "", line, line.len());
        let words: Vec<&str> = p.iter().map(|p| p.replacement.as_str()).collect();
        assert_eq!((s, words), (5, vec!["on ", "off "]));
        let line = ":time 3 fac";
        let (s, p) = complete(&c, &files, "", line, line.len());
        assert_eq!((s, p[0].replacement.as_str()), (8, "factorial"));
        let dir = std::env::temp_dir().join(format!("smalt-complete-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Counter.som"), "Counter = ()").unwrap();
        let line = format!(":load {}/Cou", dir.display());
        let (_, p) = complete(&c, &files, "", &line, line.len());
        assert_eq!(p.len(), 1);
        assert!(
            p[0].replacement.ends_with("Counter.som"),
            "{}",
            p[0].replacement
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_catalog_of_a_real_vm_knows_classes_selectors_and_session_variables() {
        let mut vm = smalt_vm::Vm::new(smalt_vm::VmOptions::default()).unwrap();
        vm.evaluate("answer := 6 * 7", "test", true).unwrap();
        let t = std::time::Instant::now();
        let cat = Catalog::of(&vm);
        eprintln!("catalog of the class library: {:?}", t.elapsed());
        assert!(
            cat.understood("Integer")
                .unwrap()
                .iter()
                .any(|s| s == "factorial")
        );
        assert!(
            cat.understood("Integer")
                .unwrap()
                .iter()
                .any(|s| s == "printString")
        );
        assert!(
            cat.understood("OrderedCollection class")
                .unwrap()
                .iter()
                .any(|s| s == "new")
        );
        let names = |before: &str| -> Vec<String> {
            complete_smalltalk(&cat, before)
                .1
                .into_iter()
                .map(|p| p.replacement)
                .collect()
        };
        assert_eq!(names("answer fact"), ["factorial"]);
        assert_eq!(names("answ"), ["answer"]);
        assert!(names("OrderedCollection new removeFi").contains(&"removeFirst".to_string()));
        assert!(names("Transcr").contains(&"Transcript".to_string()));
    }

    proptest::proptest! {
        /// Whatever is typed, completing at any character boundary answers a start within the
        /// text and does not panic.
        #[test]
        fn completion_never_panics(text in "[ -~éß☃\t\n'\"#$:()\\[\\]{}|^;.]{0,40}", cut in 0usize..41) {
            let cat = cat();
            let files = FilenameCompleter::new();
            let mut pos = cut.min(text.len());
            while !text.is_char_boundary(pos) {
                pos -= 1;
            }
            let (start, _) = complete(&cat, &files, "", &text, pos);
            proptest::prop_assert!(start <= pos);
            let (start, _) = complete(&cat, &files, "| a |\n[ 'x", &text, pos);
            proptest::prop_assert!(start <= pos);
            let _ = super::super::scan::scan(&text);
        }
    }

    #[test]
    fn continuation_lines_see_the_earlier_lines() {
        let files = FilenameCompleter::new();
        let (s, p) = complete(&cat(), &files, "| total |\n", "tot", 3);
        assert_eq!((s, p[0].replacement.as_str()), (0, "total"));
    }
}
