//! Damaged images: every truncation, byte flip, wrong checksum, swapped section or foreign
//! header gives a one-line error, never a panic (a panic fails the test case). Damage hidden
//! behind recomputed checksums must not panic the loader either: the structural checks and,
//! in these debug builds, the heap verifier stand behind the checksums.

mod common;
use common::{library_image, library_vm, mem_writer};
use proptest::prelude::*;
use smalt_image::format::{
    ENTRY_BYTES, FORMAT_VERSION, HEADER_BYTES, HEADER_CRC_OFFSET, SECTIONS, TABLE_OFFSET,
};
use smalt_image::{ImageError, Trust};
use smalt_vm::VmOptions;
use std::sync::OnceLock;

/// An image holding a run suspended in saveImage: (with frames, contexts, a handler and
/// type feedback), so that every section has contents.
fn active_image() -> &'static [u8] {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let (mut vm, _out) = library_vm();
        let writer = mem_writer(&mut vm);
        common::eval(
            &mut vm,
            "| c | c := thisContext.
             #(1 2 3) do: [:i | i printString].
             [ [:x | (Smalltalk saveImage: 'm') ifTrue: [ x ] ] value: c ]
                on: ZeroDivide do: [:e | e return: 0 ]",
        );
        writer.images.borrow()[0].1.clone()
    })
}

fn load(bytes: &[u8]) -> Result<smalt_image::Loaded, ImageError> {
    smalt_image::load_bytes(bytes, VmOptions::default(), Trust::File)
}

/// Asserts a clean error: one line, no panic (a panic fails the caller's case).
fn assert_clean_error(bytes: &[u8], what: &str) -> String {
    match load(bytes) {
        Ok(_) => panic!("{what}: the damaged image loaded"),
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'), "{what}: {msg:?}");
            msg
        }
    }
}

/// The section table's entries: (offset, length) of each section.
fn sections(bytes: &[u8]) -> Vec<(usize, usize)> {
    (0..SECTIONS.len())
        .map(|i| {
            let at = TABLE_OFFSET + i * ENTRY_BYTES;
            let off = u64::from_ne_bytes(bytes[at + 8..at + 16].try_into().unwrap()) as usize;
            let len = u64::from_ne_bytes(bytes[at + 16..at + 24].try_into().unwrap()) as usize;
            (off, len)
        })
        .collect()
}

/// Recomputes every section's CRC and the header's, so that only the structural checks can
/// find the damage.
fn fix_checksums(bytes: &mut [u8]) {
    for (i, (off, len)) in sections(bytes).into_iter().enumerate() {
        if off + len <= bytes.len() {
            let crc = crc32fast::hash(&bytes[off..off + len]);
            let at = TABLE_OFFSET + i * ENTRY_BYTES + 4;
            bytes[at..at + 4].copy_from_slice(&crc.to_ne_bytes());
        }
    }
    let crc = smalt_image::format::header_crc(bytes);
    bytes[HEADER_CRC_OFFSET..HEADER_CRC_OFFSET + 4].copy_from_slice(&crc.to_ne_bytes());
}

#[test]
fn both_images_load() {
    for bytes in [library_image(), active_image()] {
        let loaded = load(bytes).expect("an undamaged image loads");
        drop(loaded);
    }
    assert!(load(active_image()).unwrap().vm.has_suspended_run());
}

#[test]
fn every_header_byte_flip_is_an_error() {
    let image = active_image();
    for i in 0..HEADER_BYTES {
        for bit in [0, 3, 7] {
            let mut b = image.to_vec();
            b[i] ^= 1 << bit;
            assert_clean_error(&b, &format!("header byte {i} bit {bit}"));
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    let image = active_image();
    let mut lens: Vec<usize> = (0..HEADER_BYTES + 16).collect();
    lens.extend((HEADER_BYTES..image.len()).step_by(4093));
    for (off, len) in sections(image) {
        lens.extend([off, off + 1, off + len.saturating_sub(1)]);
    }
    lens.push(image.len() - 1);
    for len in lens.into_iter().filter(|l| *l < image.len()) {
        let msg = assert_clean_error(&image[..len], &format!("truncated to {len}"));
        if len >= 16 {
            assert!(msg.contains("truncated"), "truncated to {len}: {msg}");
        }
    }
}

#[test]
fn foreign_future_and_incompatible_files_are_named() {
    let image = library_image();
    let named = |patch: &dyn Fn(&mut Vec<u8>), fix: bool, expect: &str| {
        let mut b = image.to_vec();
        patch(&mut b);
        if fix {
            fix_checksums(&mut b);
        }
        let msg = assert_clean_error(&b, expect);
        assert!(msg.contains(expect), "expected {expect:?}, got {msg:?}");
    };
    named(
        &|b| b[0..8].copy_from_slice(b"GIF89a\0\0"),
        false,
        "not a smalt image",
    );
    named(&|b| b.truncate(3), false, "not a smalt image");
    let future = FORMAT_VERSION + 1;
    named(
        &|b| b[8..12].copy_from_slice(&future.to_ne_bytes()),
        false,
        &format!("image format {future} is newer than this smalt reads ({FORMAT_VERSION})"),
    );
    named(
        &|b| b[8..12].copy_from_slice(&(FORMAT_VERSION - 1).to_ne_bytes()),
        false,
        "is older",
    );
    named(
        &|b| b[8..12].copy_from_slice(&0u32.to_ne_bytes()),
        false,
        "is older",
    );
    named(&|b| b[12] = 4, false, "4-byte words");
    named(
        &|b| b[13] = 2,
        false,
        "saved on a big-endian machine; this one is little-endian",
    );
    named(&|b| b[13] = 9, false, "no byte order");
    named(&|b| b[16] ^= 1, true, "incompatible build of smalt");
    named(&|b| b.push(0), true, "garbage after the last section");
    named(&|b| b[HEADER_CRC_OFFSET] ^= 1, false, "header's checksum");
    named(
        &|b| b[TABLE_OFFSET + 4] ^= 1,
        false,
        "header's checksum", // the table is part of the header
    );
    // A wrong section checksum, with the header's made right again.
    let mut b = image.to_vec();
    b[TABLE_OFFSET + 4] ^= 1;
    let crc = smalt_image::format::header_crc(&b);
    b[HEADER_CRC_OFFSET..HEADER_CRC_OFFSET + 4].copy_from_slice(&crc.to_ne_bytes());
    let msg = assert_clean_error(&b, "heap checksum");
    assert!(msg.contains("heap section's checksum"), "{msg}");
    // The last byte of the heap.
    let (off, len) = sections(image)[0];
    let mut b = image.to_vec();
    b[off + len - 1] ^= 0x40;
    assert!(assert_clean_error(&b, "heap byte").contains("heap section's checksum"));
}

#[test]
fn swapped_sections_are_errors() {
    let image = active_image();
    for i in 0..SECTIONS.len() {
        for j in i + 1..SECTIONS.len() {
            // Swap two table entries (their CRCs travel with them), header CRC made right.
            let mut b = image.to_vec();
            let (a, c) = (
                TABLE_OFFSET + i * ENTRY_BYTES,
                TABLE_OFFSET + j * ENTRY_BYTES,
            );
            let ea: Vec<u8> = b[a..a + ENTRY_BYTES].to_vec();
            let ec: Vec<u8> = b[c..c + ENTRY_BYTES].to_vec();
            b[a..a + ENTRY_BYTES].copy_from_slice(&ec);
            b[c..c + ENTRY_BYTES].copy_from_slice(&ea);
            fix_checksums(&mut b);
            assert_clean_error(&b, &format!("sections {i} and {j} swapped"));
            // Swap the entries' places but keep the kinds in order (a reader that trusted
            // offsets would read one section as another).
            let mut b = image.to_vec();
            b[a + 4..a + ENTRY_BYTES].copy_from_slice(&ec[4..]);
            b[c + 4..c + ENTRY_BYTES].copy_from_slice(&ea[4..]);
            fix_checksums(&mut b);
            assert_clean_error(&b, &format!("places of sections {i} and {j} swapped"));
        }
    }
}

#[test]
fn a_heap_index_that_disagrees_with_the_heap_is_an_error() {
    let image = library_image();
    let index = SECTIONS.len() - 1;
    let (off, len) = sections(image)[index];
    assert!(len > 8, "the default image has a heap index");
    let word = |b: &[u8], i: usize| {
        u64::from_ne_bytes(b[off + 8 * i..off + 8 * i + 8].try_into().unwrap())
    };
    let methods = word(image, 0) as usize;
    assert!(methods > 1000, "{methods} methods in the index");
    // One method named twice (the second in place of the first), checksums made right.
    let mut b = image.to_vec();
    let second = word(&b, 2);
    b[off + 8..off + 16].copy_from_slice(&second.to_ne_bytes());
    fix_checksums(&mut b);
    let msg = assert_clean_error(&b, "index entry");
    assert!(msg.contains("heap index disagrees"), "{msg}");
    // A count that runs past the section.
    let mut b = image.to_vec();
    b[off..off + 8].copy_from_slice(&(len as u64).to_ne_bytes());
    fix_checksums(&mut b);
    let msg = assert_clean_error(&b, "index count");
    assert!(msg.contains("heap index runs past"), "{msg}");
    // An empty index section is allowed: the loader walks the heap.
    let mut b = image[..off].to_vec();
    let at = TABLE_OFFSET + index * ENTRY_BYTES + 16;
    b[at..at + 8].copy_from_slice(&0u64.to_ne_bytes());
    fix_checksums(&mut b);
    assert!(load(&b).is_ok());
}

#[test]
fn damaged_files_are_errors_too() {
    let dir = std::env::temp_dir().join(format!("smalt-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("x.image");
    let image = active_image();
    let (off, len) = sections(image)[2];
    let cases: Vec<(String, Vec<u8>)> = vec![
        ("truncated".into(), image[..image.len() / 2].to_vec()),
        ("empty".into(), Vec::new()),
        ("header only".into(), image[..HEADER_BYTES].to_vec()),
        ("stack byte".into(), {
            let mut b = image.to_vec();
            b[off + len / 2] ^= 1;
            b
        }),
        ("feedback byte".into(), {
            let mut b = image.to_vec();
            let n = b.len();
            b[n - 1] ^= 1;
            b
        }),
    ];
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let e = smalt_image::load_file(&path, VmOptions::default()).unwrap_err();
        let msg = e.to_string();
        assert!(!msg.contains('\n'), "{what}: {msg}");
    }
    let e = smalt_image::load_file(&dir.join("missing.image"), VmOptions::default()).unwrap_err();
    assert!(matches!(e, ImageError::Io(_)), "{e}");
    std::fs::write(&path, image).unwrap();
    assert!(smalt_image::load_file(&path, VmOptions::default()).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One piece of damage.
#[derive(Clone, Debug)]
enum Damage {
    /// Cut the file to this fraction of its length (per mille).
    Truncate(u32),
    /// Flip these bits (position per million of the file, bit).
    Flip(Vec<(u32, u8)>),
    /// Flip bits in the header only.
    FlipHeader(Vec<(u16, u8)>),
    /// Overwrite a run of bytes with a value.
    Smear { at: u32, len: u16, byte: u8 },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0u32..1000).prop_map(Damage::Truncate),
        prop::collection::vec((0u32..1_000_000, 0u8..8), 1..6).prop_map(Damage::Flip),
        prop::collection::vec((0u16..HEADER_BYTES as u16, 0u8..8), 1..4)
            .prop_map(Damage::FlipHeader),
        (0u32..1_000_000, 1u16..64, any::<u8>()).prop_map(|(at, len, byte)| Damage::Smear {
            at,
            len,
            byte
        }),
    ]
}

/// Applies damage; answers false if it changed nothing.
fn apply(bytes: &mut Vec<u8>, d: &Damage) -> bool {
    let n = bytes.len();
    let pos = |p: u32| (p as usize * n / 1_000_000).min(n - 1);
    let before = bytes.clone();
    match d {
        Damage::Truncate(f) => bytes.truncate(*f as usize * n / 1000),
        Damage::Flip(flips) => {
            for (p, bit) in flips {
                bytes[pos(*p)] ^= 1 << bit;
            }
        }
        Damage::FlipHeader(flips) => {
            for (p, bit) in flips {
                bytes[*p as usize] ^= 1 << bit;
            }
        }
        Damage::Smear { at, len, byte } => {
            let at = pos(*at);
            let end = (at + *len as usize).min(n);
            bytes[at..end].fill(*byte);
        }
    }
    *bytes != before
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// Any damage the checksums can see is a clean error.
    #[test]
    fn damage_is_a_clean_error(d in damage(), active in any::<bool>()) {
        let image = if active { active_image() } else { library_image() };
        let mut b = image.to_vec();
        if apply(&mut b, &d) {
            assert_clean_error(&b, &format!("{d:?}"));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    /// Damage behind recomputed checksums: the loader answers an error or a VM, never panics.
    #[test]
    fn damage_behind_good_checksums_never_panics(d in damage(), active in any::<bool>()) {
        let image = if active { active_image() } else { library_image() };
        let mut b = image.to_vec();
        apply(&mut b, &d);
        if b.len() >= HEADER_BYTES {
            fix_checksums(&mut b);
        }
        let r = load(&b);
        if std::env::var_os("SMALT_SHOW_DAMAGE").is_some() {
            eprintln!("{:?}", r.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        }
        if let Err(e) = r {
            let msg = e.to_string();
            prop_assert!(!msg.contains('\n'), "{}", msg);
        }
    }
}
