//! String, Symbol and Character primitives.
//!
//! Strings and Symbols hold UTF-8. Indices and sizes count characters; for ASCII strings (the
//! common case) they are byte positions. Whether a string is ASCII is kept in its header
//! (`Heap::bytes_are_ascii`): known from its making, or learnt by one pass that holds until the
//! string's bytes are next written, so `at:`, `size` and substrings of a long ASCII string
//! cost the same at any length. Storing a character whose
//! encoding has another length than the one it replaces would need to resize the string, which
//! objects cannot do: `at:put:` fails then (documented in docs/som-differences.md).

use super::{Prim, PrimDef, done, prim_try};
use crate::objects::class_index as ci;
use crate::vm::Vm;
use smalt_gc::Word;

/// The text of a string-like argument.
fn text(vm: &Vm, w: Word) -> Option<String> {
    vm.string_value(w)
}

/// The bytes of the string-like `w` and whether they are all ASCII.
fn string_and_ascii(vm: &mut Vm, w: Word) -> Option<(&[u8], bool)> {
    vm.string_bytes(w)?;
    let ascii = vm.heap.bytes_are_ascii(w.oop());
    Some((vm.heap.bytes(w.oop()), ascii))
}

/// The byte range of the `i`-th character (0-based) of `s` (`ascii` if its bytes are).
fn char_range(s: &[u8], ascii: bool, i: usize) -> Option<(usize, usize)> {
    if ascii {
        return (i < s.len()).then_some((i, i + 1));
    }
    let st = std::str::from_utf8(s).ok()?;
    let (start, c) = st.char_indices().nth(i)?;
    Some((start, start + c.len_utf8()))
}

fn char_count(s: &[u8], ascii: bool) -> usize {
    if ascii {
        s.len()
    } else {
        String::from_utf8_lossy(s).chars().count()
    }
}

fn string_length(vm: &mut Vm, n: usize) -> Prim {
    let (s, ascii) = prim_try!(string_and_ascii(vm, vm.rcv(n)));
    Prim::Done(Word::from_usize(char_count(s, ascii)))
}

fn string_at(vm: &mut Vm, n: usize) -> Prim {
    let i = prim_try!(vm.int_arg(n, 1));
    if i < 1 {
        return Prim::Fail;
    }
    let (s, ascii) = prim_try!(string_and_ascii(vm, vm.rcv(n)));
    let (a, b) = prim_try!(char_range(s, ascii, i as usize - 1));
    let c = prim_try!(
        std::str::from_utf8(&s[a..b])
            .ok()
            .and_then(|t| t.chars().next())
    );
    Prim::Done(Word::character(c as u32))
}

fn string_at_put(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    let o = prim_try!(super::objects::writable(vm, w));
    let i = prim_try!(vm.int_arg(n, 1));
    let c = prim_try!(vm.arg(n, 2).as_character().and_then(char::from_u32));
    if i < 1 {
        return Prim::Fail;
    }
    let (s, ascii) = prim_try!(string_and_ascii(vm, w));
    let (a, b) = prim_try!(char_range(s, ascii, i as usize - 1));
    let mut buf = [0u8; 4];
    let enc = c.encode_utf8(&mut buf).as_bytes();
    if enc.len() != b - a {
        return Prim::Fail;
    }
    vm.heap.write_bytes(o, a, enc);
    Prim::Done(vm.arg(n, 2))
}

/// `concatenate:` / `,`: a new String.
fn string_concatenate(vm: &mut Vm, n: usize) -> Prim {
    let a = prim_try!(text(vm, vm.rcv(n)));
    let b = prim_try!(text(vm, vm.arg(n, 1)));
    done(vm.new_string(&(a + &b)))
}

fn string_equal(vm: &mut Vm, n: usize) -> Prim {
    let (a, b) = (vm.rcv(n), vm.arg(n, 1));
    let Some(bb) = vm.string_bytes(b) else {
        return Prim::Done(vm.false_obj());
    };
    let ab = prim_try!(vm.string_bytes(a));
    let eq = ab == bb;
    Prim::Done(vm.boolean(eq))
}

fn string_compare(vm: &mut Vm, n: usize, f: fn(std::cmp::Ordering) -> bool) -> Prim {
    let a = prim_try!(vm.string_bytes(vm.rcv(n)));
    let b = prim_try!(vm.string_bytes(vm.arg(n, 1)));
    let r = f(a.cmp(b));
    Prim::Done(vm.boolean(r))
}
fn string_lt(vm: &mut Vm, n: usize) -> Prim {
    string_compare(vm, n, |o| o.is_lt())
}
fn string_le(vm: &mut Vm, n: usize) -> Prim {
    string_compare(vm, n, |o| o.is_le())
}
fn string_gt(vm: &mut Vm, n: usize) -> Prim {
    string_compare(vm, n, |o| o.is_gt())
}
fn string_ge(vm: &mut Vm, n: usize) -> Prim {
    string_compare(vm, n, |o| o.is_ge())
}

/// Case-insensitive equality (`sameAs:`).
fn string_same_as(vm: &mut Vm, n: usize) -> Prim {
    let a = prim_try!(text(vm, vm.rcv(n)));
    let b = prim_try!(text(vm, vm.arg(n, 1)));
    Prim::Done(vm.boolean(a.to_lowercase() == b.to_lowercase()))
}

/// A content hash (FNV-1a), equal for equal strings and symbols.
fn string_hash(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(vm.string_bytes(vm.rcv(n)));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    Prim::Done(Word::small_int((h >> 4) as i64 & 0x0FFF_FFFF_FFFF_FFFF))
}

fn string_as_symbol(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    if vm.is_symbol(w) {
        return Prim::Done(w);
    }
    let s = prim_try!(text(vm, w));
    done(vm.intern(&s))
}

fn string_as_string(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    let s = prim_try!(text(vm, w));
    if vm.heap.class_index_of(w) == ci::STRING {
        return Prim::Done(w);
    }
    done(vm.new_string(&s))
}

/// SOM `primSubstringFrom:to:` / `copyFrom:to:`: characters start..=end (1-based). An ASCII
/// receiver (the common case, known from its header) is sliced by bytes, so taking a few
/// characters out of a long string costs what the substring costs, not a pass over the
/// receiver.
fn string_substring(vm: &mut Vm, n: usize) -> Prim {
    let start = prim_try!(vm.int_arg(n, 1));
    let end = prim_try!(vm.int_arg(n, 2));
    let (s, ascii) = prim_try!(string_and_ascii(vm, vm.rcv(n)));
    let in_bounds = |len: usize| start >= 1 && end <= len as i64 && end >= start - 1;
    // Characters 1..=end are bytes 1..=end when those bytes are ASCII: only that prefix is
    // checked when the whole string is not known to be ASCII.
    let ascii_prefix = ascii || end >= 0 && end as usize <= s.len() && s[..end as usize].is_ascii();
    let sub: String = if ascii_prefix {
        if !in_bounds(s.len()) {
            return Prim::Fail;
        }
        // ASCII bytes are their own UTF-8: copied as they are (a short one through the stack,
        // since the receiver's bytes cannot be borrowed across the allocation).
        let bytes = &s[start as usize - 1..end as usize];
        let mut short = [0u8; 32];
        let copy: std::borrow::Cow<[u8]> = match short.get_mut(..bytes.len()) {
            Some(buf) => {
                buf.copy_from_slice(bytes);
                std::borrow::Cow::Borrowed(buf)
            }
            None => std::borrow::Cow::Owned(bytes.to_vec()),
        };
        return done(vm.alloc_bytes(ci::STRING, &copy).map(|o| o.word()));
    } else {
        let s = String::from_utf8_lossy(s);
        if !in_bounds(s.chars().count()) {
            return Prim::Fail;
        }
        s.chars()
            .skip(start as usize - 1)
            .take((end - start + 1) as usize)
            .collect()
    };
    // Substrings of symbols are strings; of strings, strings of the same class.
    done(vm.new_string(&sub))
}

/// `indexOf: aCharacterOrString`: the 1-based character index of the first occurrence, or 0.
/// SOM `indexOf: aString` (and `indexOf: aString startingAt: start`): the index of the first
/// character of the first occurrence of a substring (or Character) at or after `start`; -1
/// when there is none.
fn string_index_of(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(text(vm, vm.rcv(n)));
    let arg = vm.arg(n, 1);
    let needle = match arg.as_character().and_then(char::from_u32) {
        Some(c) => c.to_string(),
        None => prim_try!(text(vm, arg)),
    };
    let start = if n == 2 {
        let i = prim_try!(vm.int_arg(n, 2));
        if i < 1 {
            return Prim::Fail;
        }
        i as usize
    } else {
        1
    };
    let Some((from, _)) = s.char_indices().chain([(s.len(), ' ')]).nth(start - 1) else {
        return Prim::Done(Word::small_int(-1));
    };
    let index = match s[from..].find(&needle) {
        Some(b) => (start + s[from..from + b].chars().count()) as i64,
        None => -1,
    };
    Prim::Done(Word::small_int(index))
}

fn string_begins_with(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(vm.string_bytes(vm.rcv(n)));
    let p = prim_try!(vm.string_bytes(vm.arg(n, 1)));
    let r = s.starts_with(p);
    Prim::Done(vm.boolean(r))
}

fn string_ends_with(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(vm.string_bytes(vm.rcv(n)));
    let p = prim_try!(vm.string_bytes(vm.arg(n, 1)));
    let r = s.ends_with(p);
    Prim::Done(vm.boolean(r))
}

fn string_includes_substring(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(text(vm, vm.rcv(n)));
    let p = prim_try!(text(vm, vm.arg(n, 1)));
    Prim::Done(vm.boolean(s.contains(&p)))
}

fn string_all(vm: &mut Vm, n: usize, f: fn(char) -> bool) -> Prim {
    let s = prim_try!(text(vm, vm.rcv(n)));
    Prim::Done(vm.boolean(!s.is_empty() && s.chars().all(f)))
}
fn string_is_whitespace(vm: &mut Vm, n: usize) -> Prim {
    string_all(vm, n, char::is_whitespace)
}
fn string_is_letters(vm: &mut Vm, n: usize) -> Prim {
    string_all(vm, n, char::is_alphabetic)
}
fn string_is_digits(vm: &mut Vm, n: usize) -> Prim {
    string_all(vm, n, |c| c.is_ascii_digit())
}

fn string_map(vm: &mut Vm, n: usize, f: fn(&str) -> String) -> Prim {
    let w = vm.rcv(n);
    let s = prim_try!(text(vm, w));
    let r = f(&s);
    if vm.is_symbol(w) {
        return done(vm.intern(&r));
    }
    done(vm.new_string(&r))
}
fn string_as_uppercase(vm: &mut Vm, n: usize) -> Prim {
    string_map(vm, n, str::to_uppercase)
}
fn string_as_lowercase(vm: &mut Vm, n: usize) -> Prim {
    string_map(vm, n, str::to_lowercase)
}
fn string_reversed(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(text(vm, vm.rcv(n)));
    done(vm.new_string(&s.chars().rev().collect::<String>()))
}
fn string_trim(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(text(vm, vm.rcv(n)));
    done(vm.new_string(s.trim()))
}

fn string_occurrences_of(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(text(vm, vm.rcv(n)));
    let c = prim_try!(vm.arg(n, 1).as_character().and_then(char::from_u32));
    Prim::Done(Word::from_usize(s.chars().filter(|x| *x == c).count()))
}

fn string_replace_all(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(text(vm, vm.rcv(n)));
    let old = prim_try!(text(vm, vm.arg(n, 1)));
    let new = prim_try!(text(vm, vm.arg(n, 2)));
    if old.is_empty() {
        return done(vm.new_string(&s));
    }
    let count = s.matches(&old).count();
    let len = (s.len() - count * old.len()).saturating_add(count.saturating_mul(new.len()));
    if len > vm.heap_limit_bytes() {
        return Prim::OutOfMemory;
    }
    done(vm.new_string(&s.replace(&old, &new)))
}

/// `substrings` / `substrings: separators` / SOM `split:` (by a separator string).
fn split_into(vm: &mut Vm, parts: Vec<String>) -> Prim {
    done(vm.new_string_array(&parts))
}

fn string_substrings(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(text(vm, vm.rcv(n)));
    let parts: Vec<String> = if n == 0 {
        s.split_whitespace().map(str::to_string).collect()
    } else {
        let arg = vm.arg(n, 1);
        let seps: Vec<char> = match arg.as_character().and_then(char::from_u32) {
            Some(c) => vec![c],
            None => prim_try!(text(vm, arg)).chars().collect(),
        };
        s.split(|c| seps.contains(&c))
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    split_into(vm, parts)
}

/// SOM `split: aString`: the pieces between occurrences of the separator string (empty pieces
/// kept).
fn string_split(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(text(vm, vm.rcv(n)));
    let arg = vm.arg(n, 1);
    let sep = match arg.as_character().and_then(char::from_u32) {
        Some(c) => c.to_string(),
        None => prim_try!(text(vm, arg)),
    };
    if sep.is_empty() {
        return Prim::Fail;
    }
    let parts: Vec<String> = s.split(&sep).map(str::to_string).collect();
    split_into(vm, parts)
}

/// `printString` of a String: quoted, with embedded quotes doubled.
fn string_print_string(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(text(vm, vm.rcv(n)));
    done(vm.new_string(&format!("'{}'", s.replace('\'', "''"))))
}

/// `printString` of a Symbol: `#foo`, `#at:put:`, `#+`, or `#'hello world'`.
fn symbol_print_string(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(text(vm, vm.rcv(n)));
    done(vm.new_string(&print_symbol(&s)))
}

/// The literal form of a symbol.
pub(crate) fn print_symbol(s: &str) -> String {
    let ident = |p: &str| {
        p.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    let plain = ident(s)
        || (s.ends_with(':') && s[..s.len() - 1].split(':').all(ident))
        || (!s.is_empty() && s.chars().all(|c| "+-*/\\<>=~@%|&?!,".contains(c)));
    if plain {
        format!("#{s}")
    } else {
        format!("#'{}'", s.replace('\'', "''"))
    }
}

/// `Symbol>>numArgs`.
fn symbol_num_args(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(text(vm, vm.rcv(n)));
    Prim::Done(Word::from_usize(crate::compiler::selector_arity(&s)))
}

// ---- Character ---------------------------------------------------------------------------

fn char_value(vm: &mut Vm, n: usize) -> Prim {
    let c = prim_try!(vm.rcv(n).as_character());
    Prim::Done(Word::small_int(i64::from(c)))
}

fn char_from_value(vm: &mut Vm, n: usize) -> Prim {
    let v = prim_try!(vm.int_arg(n, 1));
    let c = prim_try!(
        u32::try_from(v)
            .ok()
            .filter(|c| char::from_u32(*c).is_some())
    );
    Prim::Done(Word::character(c))
}

fn char_test(vm: &mut Vm, n: usize, f: fn(char) -> bool) -> Prim {
    let c = prim_try!(vm.rcv(n).as_character().and_then(char::from_u32));
    Prim::Done(vm.boolean(f(c)))
}
fn char_is_letter(vm: &mut Vm, n: usize) -> Prim {
    char_test(vm, n, char::is_alphabetic)
}
fn char_is_digit(vm: &mut Vm, n: usize) -> Prim {
    char_test(vm, n, |c| c.is_ascii_digit())
}
fn char_is_separator(vm: &mut Vm, n: usize) -> Prim {
    char_test(vm, n, char::is_whitespace)
}
fn char_is_uppercase(vm: &mut Vm, n: usize) -> Prim {
    char_test(vm, n, char::is_uppercase)
}
fn char_is_lowercase(vm: &mut Vm, n: usize) -> Prim {
    char_test(vm, n, char::is_lowercase)
}
fn char_map(vm: &mut Vm, n: usize, f: fn(char) -> char) -> Prim {
    let c = prim_try!(vm.rcv(n).as_character().and_then(char::from_u32));
    Prim::Done(Word::character(f(c) as u32))
}
/// The case mapping of one character when it is one character; a character whose mapping is
/// longer (`ß` → `SS`, `İ` → `i̇`) stays as it is, as in Pharo: a Character cannot become two.
fn single_char(mut mapped: impl Iterator<Item = char>, c: char) -> char {
    match (mapped.next(), mapped.next()) {
        (Some(m), None) => m,
        _ => c,
    }
}
fn char_as_uppercase(vm: &mut Vm, n: usize) -> Prim {
    char_map(vm, n, |c| single_char(c.to_uppercase(), c))
}
fn char_as_lowercase(vm: &mut Vm, n: usize) -> Prim {
    char_map(vm, n, |c| single_char(c.to_lowercase(), c))
}
fn char_as_string(vm: &mut Vm, n: usize) -> Prim {
    let c = prim_try!(vm.rcv(n).as_character().and_then(char::from_u32));
    done(vm.new_string(&c.to_string()))
}

/// `String new: n withAll: aCharacter` (class side).
fn string_new_with_all(vm: &mut Vm, n: usize) -> Prim {
    let c = prim_try!(vm.arg(n, 2).as_character().and_then(char::from_u32));
    let count = match vm.size_arg(n, 1) {
        Ok(count) => count,
        Err(p) => return p,
    };
    if count.saturating_mul(c.len_utf8()) > vm.heap_limit_bytes() {
        return Prim::OutOfMemory;
    }
    let s: String = std::iter::repeat_n(c, count).collect();
    done(vm.new_string(&s))
}

pub(super) const PRIMITIVES: &[PrimDef] = &[
    (
        &["String>>length", "String>>size", "stringLength"],
        string_length,
    ),
    (&["String>>at:", "String>>charAt:", "stringAt"], string_at),
    (&["String>>at:put:", "stringAtPut"], string_at_put),
    (
        &["String>>concatenate:", "String>>,", "stringConcatenate"],
        string_concatenate,
    ),
    (&["String>>=", "stringEqual"], string_equal),
    (&["String>><", "stringLess"], string_lt),
    (&["String>><=", "stringLessOrEqual"], string_le),
    (&["String>>>", "stringGreater"], string_gt),
    (&["String>>>=", "stringGreaterOrEqual"], string_ge),
    (&["String>>sameAs:", "stringSameAs"], string_same_as),
    (
        &["String>>hashcode", "String>>hash", "stringHash"],
        string_hash,
    ),
    (&["String>>asSymbol", "stringAsSymbol"], string_as_symbol),
    (
        &["String>>asString", "Symbol>>asString", "stringAsString"],
        string_as_string,
    ),
    (
        &[
            "String>>primSubstringFrom:to:",
            "String>>copyFrom:to:",
            "stringSubstring",
        ],
        string_substring,
    ),
    (
        &[
            "String>>indexOf:",
            "String>>indexOf:startingAt:",
            "stringIndexOf",
        ],
        string_index_of,
    ),
    (
        &[
            "String>>beginsWith:",
            "String>>startsWith:",
            "stringBeginsWith",
        ],
        string_begins_with,
    ),
    (&["String>>endsWith:", "stringEndsWith"], string_ends_with),
    (
        &["String>>includesSubstring:", "stringIncludesSubstring"],
        string_includes_substring,
    ),
    (
        &["String>>isWhiteSpace", "stringIsWhiteSpace"],
        string_is_whitespace,
    ),
    (&["String>>isLetters", "stringIsLetters"], string_is_letters),
    (&["String>>isDigits", "stringIsDigits"], string_is_digits),
    (
        &["String>>asUppercase", "stringAsUppercase"],
        string_as_uppercase,
    ),
    (
        &["String>>asLowercase", "stringAsLowercase"],
        string_as_lowercase,
    ),
    (
        &["String>>reversed", "String>>reverse", "stringReversed"],
        string_reversed,
    ),
    (
        &["String>>trimSeparators", "String>>trim", "stringTrim"],
        string_trim,
    ),
    (
        &["String>>occurrencesOf:", "stringOccurrencesOf"],
        string_occurrences_of,
    ),
    (
        &["String>>copyReplaceAll:with:", "stringReplaceAll"],
        string_replace_all,
    ),
    (
        &[
            "String>>substrings",
            "String>>substrings:",
            "stringSubstrings",
        ],
        string_substrings,
    ),
    (&["String>>split:", "stringSplit"], string_split),
    (
        &["String>>printString", "stringPrintString"],
        string_print_string,
    ),
    (
        &["Symbol>>printString", "symbolPrintString"],
        symbol_print_string,
    ),
    (&["Symbol>>numArgs", "symbolNumArgs"], symbol_num_args),
    (
        &["String class>>new:withAll:", "stringNewWithAll"],
        string_new_with_all,
    ),
    (
        &["Character>>value", "Character>>asInteger", "characterValue"],
        char_value,
    ),
    (
        &["Character class>>value:", "characterFromValue"],
        char_from_value,
    ),
    (
        &["Character>>isLetter", "characterIsLetter"],
        char_is_letter,
    ),
    (&["Character>>isDigit", "characterIsDigit"], char_is_digit),
    (
        &[
            "Character>>isSeparator",
            "Character>>isWhiteSpace",
            "characterIsSeparator",
        ],
        char_is_separator,
    ),
    (
        &["Character>>isUppercase", "characterIsUppercase"],
        char_is_uppercase,
    ),
    (
        &["Character>>isLowercase", "characterIsLowercase"],
        char_is_lowercase,
    ),
    (
        &["Character>>asUppercase", "characterAsUppercase"],
        char_as_uppercase,
    ),
    (
        &["Character>>asLowercase", "characterAsLowercase"],
        char_as_lowercase,
    ),
    (
        &["Character>>asString", "characterAsString"],
        char_as_string,
    ),
];

#[cfg(test)]
mod tests {
    use super::print_symbol;

    #[test]
    fn symbols_print_as_literals() {
        assert_eq!(print_symbol("foo"), "#foo");
        assert_eq!(print_symbol("at:put:"), "#at:put:");
        assert_eq!(print_symbol("+"), "#+");
        assert_eq!(print_symbol("hello world"), "#'hello world'");
        assert_eq!(print_symbol("it's"), "#'it''s'");
    }
}
