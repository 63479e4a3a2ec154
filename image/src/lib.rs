//! smalt-image: images, the whole running system in a file.
//!
//! The VM side of an image is `smalt_vm::snapshot`: [`Snapshot`] is the VM's state as plain
//! data. This crate gives it a file format ([`format`], drawn there), writes it atomically
//! ([`save`]), and reads it back with every part checked before it is trusted ([`load_file`],
//! [`load_bytes`]).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use smalt_vm::{Vm, VmOptions};
//! let mut vm = Vm::new(VmOptions::default())?;          // compile the class library
//! vm.evaluate("Answer := 42", "doit", true)?;
//! smalt_image::save(std::path::Path::new("my.image"), &vm.snapshot()?, 0)?;
//! let loaded = smalt_image::load_file(std::path::Path::new("my.image"), VmOptions::default())?;
//! assert_eq!(loaded.vm.global("Answer"), Some(smalt_gc::Word::small_int(42)));
//! # Ok(()) }
//! ```
//!
//! # Checks on load
//!
//! In this order, each failure a one-line [`ImageError`]: the magic; the format version (a
//! newer one is named as such); word size and byte order; the header's CRC-32; the layout
//! stamp (an image from a build with another object, frame or bytecode layout is refused);
//! the section table (kinds in order, offsets and lengths inside the file and consistent with
//! the header); each section's CRC-32; the sections' own structure; then the VM's checks
//! (`Vm::from_snapshot`: every object's extent, format and class, the kernel objects, every
//! reference the loader follows, methods and their primitives by name, frames, contexts, type
//! feedback), and the full heap verifier in debug builds and under `--verify-heap`.
//!
//! The default image embedded in the binary is loaded with [`Trust::Embedded`], which skips
//! the CRCs: it is part of the executable, built by the same build, and checked by the tests.
//! It also takes the methods, symbols and contexts from the image's heap index instead of
//! walking the heap to find them; a file's index is checked against the walk.
//!
//! # Saving
//!
//! [`save`] writes a temporary file beside the target, flushes and syncs it, renames it over
//! the target and syncs the directory: a crash at any moment leaves either the old image or
//! the new one, never a mixture. A killed save leaves its temporary file behind; the next
//! successful save of the same image removes it (where `/proc` tells which processes run).

pub mod format;
pub mod world;

use format::{
    ENTRY_BYTES, Entry, FLAG_ACTIVE, FORMAT_VERSION, HEADER_BYTES, HEADER_CRC_OFFSET, HOST_ORDER,
    Header, LITTLE_ENDIAN, MAGIC, SECTIONS, Section, TABLE_OFFSET, get_u16, get_u32, get_u64,
};
use smalt_vm::methods::PIC_SIZE;
use smalt_vm::snapshot::{
    ActiveRun, CellFeedback, Checks, HeapIndex, ImageWriter, MethodFeedback, Snapshot,
    SnapshotRoots, layout_stamp, primitive_stamp,
};
use smalt_vm::{Vm, VmOptions};
use std::borrow::Cow;
use std::cell::Cell;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Why an image could not be read or written: one line, naming the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The file does not start with the image magic.
    #[error("not a smalt image")]
    NotAnImage,
    /// The file ends early.
    #[error("truncated image: {expected} bytes expected, {found} found")]
    Truncated {
        /// Bytes the header announces (or at least needed).
        expected: u64,
        /// Bytes there are.
        found: u64,
    },
    /// Written by a newer smalt.
    #[error("image format {found} is newer than this smalt reads ({supported}): use a newer smalt")]
    FutureVersion {
        /// The file's format version.
        found: u32,
        /// The version this code reads.
        supported: u32,
    },
    /// Written by an older smalt in a format no longer read.
    #[error("image format {found} is older than this smalt reads ({supported})")]
    OldVersion {
        /// The file's format version.
        found: u32,
        /// The version this code reads.
        supported: u32,
    },
    /// Another word size.
    #[error("image for {0}-byte words; this smalt uses 8-byte words")]
    WordSize(u8),
    /// Another byte order.
    #[error("image saved on a {0} machine; this one is {1}")]
    ByteOrder(&'static str, &'static str),
    /// Saved by a build with another object, frame or bytecode layout.
    #[error(
        "image saved by an incompatible build of smalt (layout {found:016x}, this build {expected:016x})"
    )]
    IncompatibleBuild {
        /// The file's layout stamp.
        found: u64,
        /// This build's.
        expected: u64,
    },
    /// Anything else wrong with the contents.
    #[error("corrupt image: {0}")]
    Corrupt(String),
}

fn corrupt<T>(msg: impl Into<String>) -> Result<T, ImageError> {
    Err(ImageError::Corrupt(msg.into()))
}

/// How far to trust the bytes being loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Bytes from a file: check everything.
    File,
    /// The default image inside the executable: skip the CRCs (see the crate docs).
    Embedded,
}

/// A VM loaded from an image.
pub struct Loaded {
    /// The VM; if the image holds a suspended run, `vm.resume()` continues it.
    pub vm: Vm,
    /// The embedder's tag saved with the image.
    pub tag: u32,
    /// Whether the image came from a build whose primitive table differs (its primitives were
    /// found by name).
    pub primitives_renamed: bool,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

// ---- writing ---------------------------------------------------------------------------------

/// The header and the sections' bytes of an image of `snapshot`.
fn encode_parts<'s>(
    snapshot: &'s Snapshot<'_>,
    tag: u32,
) -> ([u8; HEADER_BYTES], Vec<Cow<'s, [u8]>>) {
    let words = |w: &[u64]| -> Vec<u8> { bytemuck::cast_slice(w).to_vec() };
    let heap: &[u8] = bytemuck::cast_slice(&snapshot.heap[..snapshot.top]);
    let mut active = Vec::new();
    if let Some(a) = &snapshot.active {
        for v in [
            a.fp,
            a.pc as u64,
            a.stack_limit,
            a.overflow_limits.len() as u64,
        ] {
            active.extend_from_slice(&v.to_ne_bytes());
        }
        for l in &a.overflow_limits {
            active.extend_from_slice(&l.to_ne_bytes());
        }
    }
    let mut feedback = Vec::new();
    for m in &snapshot.feedback {
        feedback.extend_from_slice(&m.method.to_ne_bytes());
        feedback.extend_from_slice(&m.invocations.to_ne_bytes());
        feedback.extend_from_slice(&(m.cells.len() as u32).to_ne_bytes());
        for c in &m.cells {
            for v in [c.site, u32::from(c.state), c.misses] {
                feedback.extend_from_slice(&v.to_ne_bytes());
            }
            for (class, _) in &c.entries {
                feedback.extend_from_slice(&class.to_ne_bytes());
            }
            for (_, method) in &c.entries {
                feedback.extend_from_slice(&method.to_ne_bytes());
            }
        }
    }
    let mut index = Vec::new();
    if let Some(i) = &snapshot.index {
        for list in [&i.methods, &i.symbols, &i.contexts] {
            index.extend_from_slice(&(list.len() as u64).to_ne_bytes());
            index.extend_from_slice(bytemuck::cast_slice(list));
        }
    }
    let parts: Vec<Cow<[u8]>> = vec![
        Cow::Borrowed(heap),
        Cow::Owned(words(&snapshot.classes)),
        Cow::Owned(words(&snapshot.stack)),
        Cow::Owned(active),
        Cow::Owned(feedback),
        Cow::Owned(index),
    ];
    let mut offset = HEADER_BYTES as u64;
    let sections = SECTIONS
        .iter()
        .zip(&parts)
        .map(|(kind, bytes)| {
            offset = offset.next_multiple_of(8);
            let e = Entry {
                kind: *kind as u32,
                crc: crc32fast::hash(bytes),
                offset,
                length: bytes.len() as u64,
            };
            offset += e.length;
            e
        })
        .collect();
    let r = snapshot.roots;
    let header = Header {
        version: FORMAT_VERSION,
        flags: if snapshot.active.is_some() {
            FLAG_ACTIVE
        } else {
            0
        },
        layout_stamp: layout_stamp(),
        primitive_stamp: snapshot.primitive_stamp,
        roots: [r.nil, r.true_obj, r.false_obj, r.specials],
        top: snapshot.top as u64,
        rng: snapshot.rng,
        hash_state: snapshot.hash_state,
        tag,
        sections,
    };
    (header.encode(), parts)
}

/// Writes an image of `snapshot` (with the embedder's `tag`) to `out`.
pub fn write_to(out: &mut impl Write, snapshot: &Snapshot<'_>, tag: u32) -> std::io::Result<()> {
    let (header, parts) = encode_parts(snapshot, tag);
    out.write_all(&header)?;
    let mut at = HEADER_BYTES;
    for p in &parts {
        let pad = at.next_multiple_of(8) - at;
        out.write_all(&[0u8; 8][..pad])?;
        out.write_all(p)?;
        at += pad + p.len();
    }
    Ok(())
}

/// The bytes of an image of `snapshot`.
pub fn encode(snapshot: &Snapshot<'_>, tag: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + snapshot.top * 8 + 4096);
    write_to(&mut out, snapshot, tag).expect("writing to a Vec cannot fail");
    out
}

/// Saves an image of `snapshot` at `path` atomically: a temporary file beside it is written,
/// flushed and synced, then renamed over `path`, and the directory is synced.
pub fn save(path: &Path, snapshot: &Snapshot<'_>, tag: u32) -> Result<(), ImageError> {
    let io = |what: &str, e: std::io::Error| {
        ImageError::Io(format!("cannot {what} {}: {e}", path.display()))
    };
    let name = path.file_name().ok_or_else(|| {
        ImageError::Io(format!(
            "cannot save to {}: not a file name",
            path.display()
        ))
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| io("write", e))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        write_to(&mut out, snapshot, tag).map_err(|e| io("write", e))?;
        let file = out.into_inner().map_err(|e| io("write", e.into_error()))?;
        file.sync_all().map_err(|e| io("write", e))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| io("write", e))?;
        // The rename is durable once the directory is synced (not possible everywhere).
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    } else {
        remove_dead_temporaries(&dir, &name.to_string_lossy());
    }
    result
}

/// Removes the temporary files that saves of `name` in `dir` by processes that no longer run
/// left behind (a save killed before its rename). Where processes cannot be asked about
/// (no `/proc`), nothing is removed: a running save's file must never go.
fn remove_dead_temporaries(dir: &Path, name: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// An [`ImageWriter`] for `Smalltalk saveImage:` that saves image files with [`save`],
/// recording the embedder's current tag (what it was running when Smalltalk saved).
#[derive(Debug, Default)]
pub struct FileWriter {
    /// The tag saved with the next image.
    pub tag: Cell<u32>,
}

impl ImageWriter for FileWriter {
    fn write_image(&self, snapshot: &Snapshot<'_>, path: &str) -> Result<(), String> {
        save(Path::new(path), snapshot, self.tag.get()).map_err(|e| e.to_string())
    }
}

// ---- reading ---------------------------------------------------------------------------------

/// Decodes and checks the header: everything up to (not including) the sections' contents.
/// `file_len` is the length of the whole file.
pub fn read_header(bytes: &[u8], file_len: u64) -> Result<Header, ImageError> {
    if bytes.len() < MAGIC.len() || bytes[..8] != MAGIC {
        return Err(ImageError::NotAnImage);
    }
    if bytes.len() < 16 {
        return Err(ImageError::Truncated {
            expected: HEADER_BYTES as u64,
            found: file_len,
        });
    }
    if bytes[12] != 8 {
        return Err(ImageError::WordSize(bytes[12]));
    }
    let order = |b: u8| {
        if b == LITTLE_ENDIAN {
            "little-endian"
        } else {
            "big-endian"
        }
    };
    if bytes[13] != HOST_ORDER {
        if bytes[13] != LITTLE_ENDIAN && bytes[13] != format::BIG_ENDIAN {
            return corrupt("the header names no byte order");
        }
        return Err(ImageError::ByteOrder(order(bytes[13]), order(HOST_ORDER)));
    }
    let version = get_u32(bytes, 8);
    if version > FORMAT_VERSION {
        return Err(ImageError::FutureVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version < FORMAT_VERSION {
        return Err(ImageError::OldVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if bytes.len() < HEADER_BYTES {
        return Err(ImageError::Truncated {
            expected: HEADER_BYTES as u64,
            found: file_len,
        });
    }
    if format::header_crc(bytes) != get_u32(bytes, HEADER_CRC_OFFSET) {
        return corrupt("the header's checksum does not match");
    }
    let stamp = get_u64(bytes, 16);
    if stamp != layout_stamp() {
        return Err(ImageError::IncompatibleBuild {
            found: stamp,
            expected: layout_stamp(),
        });
    }
    let count = get_u32(bytes, 88) as usize;
    if count != SECTIONS.len() {
        return corrupt(format!("{count} sections instead of {}", SECTIONS.len()));
    }
    let sections: Vec<Entry> = (0..count)
        .map(|i| {
            let at = TABLE_OFFSET + i * ENTRY_BYTES;
            Entry {
                kind: get_u32(bytes, at),
                crc: get_u32(bytes, at + 4),
                offset: get_u64(bytes, at + 8),
                length: get_u64(bytes, at + 16),
            }
        })
        .collect();
    let header = Header {
        version,
        flags: get_u16(bytes, 14),
        layout_stamp: stamp,
        primitive_stamp: get_u64(bytes, 24),
        roots: [0, 1, 2, 3].map(|i| get_u64(bytes, 32 + 8 * i)),
        top: get_u64(bytes, 64),
        rng: get_u64(bytes, 72),
        hash_state: get_u32(bytes, 80),
        tag: get_u32(bytes, 84),
        sections,
    };
    check_sections(&header, file_len)?;
    Ok(header)
}

/// Checks the section table: kinds in order, back to back at aligned offsets, lengths
/// consistent with the header, the last ending at the end of the file.
fn check_sections(h: &Header, file_len: u64) -> Result<(), ImageError> {
    let mut at = HEADER_BYTES as u64;
    for (e, kind) in h.sections.iter().zip(SECTIONS) {
        if e.kind != kind as u32 {
            return corrupt(format!(
                "the section table lists section kind {} where the {} belongs",
                e.kind,
                kind.name()
            ));
        }
        let expected_offset = at.next_multiple_of(8);
        if e.offset != expected_offset {
            return corrupt(format!("the {} section is misplaced", kind.name()));
        }
        let words = matches!(
            kind,
            Section::Heap | Section::Classes | Section::Stack | Section::Index
        );
        if words && e.length % 8 != 0 {
            return corrupt(format!("the {} section is not whole words", kind.name()));
        }
        at = e.offset.checked_add(e.length).ok_or_else(|| {
            ImageError::Corrupt(format!("the {} section is too long", kind.name()))
        })?;
    }
    let heap = &h.sections[0];
    if heap.length / 8 != h.top {
        return corrupt("the heap section's length disagrees with the header");
    }
    if h.top > (smalt_gc::MAX_SPACE_BYTES / 8) as u64 {
        return corrupt("the heap is larger than any heap can be");
    }
    if (h.flags & FLAG_ACTIVE != 0) != (h.sections[3].length != 0) || h.flags & !FLAG_ACTIVE != 0 {
        return corrupt("the header's flags disagree with the sections");
    }
    if at > file_len {
        return Err(ImageError::Truncated {
            expected: at,
            found: file_len,
        });
    }
    if at < file_len {
        return corrupt(format!(
            "{} bytes of garbage after the last section",
            file_len - at
        ));
    }
    Ok(())
}

/// Reads little sections: a cursor over bytes that reports running out as corruption.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'static str,
}

impl Cursor<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], ImageError> {
        let end = self.at + N;
        let Some(b) = self.bytes.get(self.at..end) else {
            return corrupt(format!("the {} section ends early", self.what));
        };
        self.at = end;
        Ok(b.try_into().expect("N bytes"))
    }
    fn u32(&mut self) -> Result<u32, ImageError> {
        self.take::<4>().map(u32::from_ne_bytes)
    }
    fn u64(&mut self) -> Result<u64, ImageError> {
        self.take::<8>().map(u64::from_ne_bytes)
    }
    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
}

fn words_of(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

fn decode_active(bytes: &[u8]) -> Result<Option<ActiveRun>, ImageError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let mut c = Cursor {
        bytes,
        at: 0,
        what: Section::Active.name(),
    };
    let (fp, pc, stack_limit, n) = (c.u64()?, c.u64()? as i64, c.u64()?, c.u64()?);
    if n > 64 {
        return corrupt("too many raised stack limits");
    }
    let overflow_limits = (0..n).map(|_| c.u64()).collect::<Result<_, _>>()?;
    if !c.done() {
        return corrupt("the suspended-run section is too long");
    }
    Ok(Some(ActiveRun {
        fp,
        pc,
        stack_limit,
        overflow_limits,
    }))
}

fn decode_feedback(bytes: &[u8]) -> Result<Vec<MethodFeedback>, ImageError> {
    let mut c = Cursor {
        bytes,
        at: 0,
        what: Section::Feedback.name(),
    };
    let mut out = Vec::new();
    while !c.done() {
        let method = c.u64()?;
        let invocations = c.u32()?;
        let n = c.u32()? as usize;
        // Each cell takes 60 bytes: a count beyond what is left is corrupt (and must not
        // make us reserve memory for it).
        if n > (bytes.len() - c.at) / 60 {
            return corrupt("a method's type feedback runs past its section");
        }
        let mut cells = Vec::with_capacity(n);
        for _ in 0..n {
            let site = c.u32()?;
            let state = c.u32()?;
            let misses = c.u32()?;
            let mut entries = [(0u32, 0u64); PIC_SIZE];
            for e in entries.iter_mut() {
                e.0 = c.u32()?;
            }
            for e in entries.iter_mut() {
                e.1 = c.u64()?;
            }
            cells.push(CellFeedback {
                site,
                state: u8::try_from(state)
                    .map_err(|_| ImageError::Corrupt("a cache cell's state is damaged".into()))?,
                misses,
                entries,
            });
        }
        out.push(MethodFeedback {
            method,
            invocations,
            cells,
        });
    }
    Ok(out)
}

fn decode_index(bytes: &[u8]) -> Result<Option<HeapIndex>, ImageError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let mut words = bytes
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().expect("8 bytes")));
    let mut list = || -> Result<Vec<u64>, ImageError> {
        let n = words.next().unwrap_or(u64::MAX);
        // A count beyond what is left is corrupt (and must not reserve memory for it).
        if n > words.len() as u64 {
            return corrupt("a list of the heap index runs past its section");
        }
        Ok(words.by_ref().take(n as usize).collect())
    };
    let index = HeapIndex {
        methods: list()?,
        symbols: list()?,
        contexts: list()?,
    };
    if words.next().is_some() {
        return corrupt("the heap index section is too long");
    }
    Ok(Some(index))
}

/// Checks a section's CRC.
fn check_crc(e: &Entry, kind: Section, crc: u32) -> Result<(), ImageError> {
    if crc != e.crc {
        return corrupt(format!(
            "the {} section's checksum does not match",
            kind.name()
        ));
    }
    Ok(())
}

/// The heap space for an image of `top` words, zeroed (mapped lazily by the host).
fn heap_space(options: &VmOptions, top: u64) -> Result<Vec<u64>, ImageError> {
    let top = top as usize;
    let words = options.heap.image_space_words(top);
    if top > words || top * 8 > options.heap.max_bytes {
        return Err(ImageError::Io(format!(
            "the image's heap ({} MiB) is larger than the heap limit (--max-heap)",
            (top * 8) >> 20
        )));
    }
    bytemuck::allocation::try_zeroed_vec::<u64>(words)
        .map_err(|_| ImageError::Io("not enough memory for the image's heap".into()))
}

/// Everything but the heap, from the bytes of the small sections.
fn finish(
    header: &Header,
    heap: Vec<u64>,
    small: [&[u8]; 5],
    options: VmOptions,
    trust: Trust,
) -> Result<Loaded, ImageError> {
    let [classes, stack, active, feedback, index] = small;
    let [nil, true_obj, false_obj, specials] = header.roots;
    let snapshot = Snapshot {
        heap: Cow::Owned(heap),
        top: header.top as usize,
        classes: words_of(classes),
        roots: SnapshotRoots {
            nil,
            true_obj,
            false_obj,
            specials,
        },
        hash_state: header.hash_state,
        primitive_stamp: header.primitive_stamp,
        rng: header.rng,
        stack: words_of(stack),
        active: decode_active(active)?,
        feedback: decode_feedback(feedback)?,
        index: decode_index(index)?,
    };
    let checks = match trust {
        Trust::File => Checks::All,
        Trust::Embedded => Checks::Trusted,
    };
    let vm = Vm::from_snapshot(options, snapshot, checks).map_err(|e| ImageError::Corrupt(e.0))?;
    Ok(Loaded {
        vm,
        tag: header.tag,
        primitives_renamed: header.primitive_stamp != primitive_stamp(),
    })
}

/// Copies bytes into words, in the host's byte order (the image's, checked before).
fn copy_words(words: &mut [u64], bytes: &[u8]) {
    for (w, b) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        *w = u64::from_ne_bytes(b.try_into().expect("8 bytes"));
    }
}

/// Loads an image from its bytes.
pub fn load_bytes(bytes: &[u8], options: VmOptions, trust: Trust) -> Result<Loaded, ImageError> {
    let header = read_header(bytes, bytes.len() as u64)?;
    let section = |i: usize| -> Result<&[u8], ImageError> {
        let e = &header.sections[i];
        let s = &bytes[e.offset as usize..(e.offset + e.length) as usize];
        if trust == Trust::File {
            check_crc(e, SECTIONS[i], crc32fast::hash(s))?;
        }
        Ok(s)
    };
    let heap_bytes = section(0)?;
    let small = [
        section(1)?,
        section(2)?,
        section(3)?,
        section(4)?,
        section(5)?,
    ];
    let mut heap = heap_space(&options, header.top)?;
    copy_words(&mut heap[..header.top as usize], heap_bytes);
    finish(&header, heap, small, options, trust)
}

/// Loads an image file: the header first, then the heap read straight into the new heap's
/// space (one read, no other copy), then the small sections. Every part is checked.
pub fn load_file(path: &Path, options: VmOptions) -> Result<Loaded, ImageError> {
    let io = |e: std::io::Error| ImageError::Io(e.to_string());
    let mut file = File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let mut head = vec![0u8; HEADER_BYTES.min(file_len as usize)];
    file.read_exact(&mut head).map_err(io)?;
    let header = read_header(&head, file_len)?;
    let mut heap = heap_space(&options, header.top)?;
    let mut at = HEADER_BYTES as u64;
    let skip = |file: &mut File, to: u64, at: &mut u64| -> Result<(), ImageError> {
        let mut pad = [0u8; 8];
        file.read_exact(&mut pad[..(to - *at) as usize])
            .map_err(io)?;
        *at = to;
        Ok(())
    };
    let e = header.sections[0];
    skip(&mut file, e.offset, &mut at)?;
    let heap_bytes = bytemuck::cast_slice_mut::<u64, u8>(&mut heap[..header.top as usize]);
    file.read_exact(heap_bytes).map_err(io)?;
    check_crc(&e, Section::Heap, crc32fast::hash(heap_bytes))?;
    at += e.length;
    let rest_start = header.sections[1].offset;
    skip(&mut file, rest_start, &mut at)?;
    let mut rest = Vec::with_capacity((file_len - rest_start) as usize);
    file.read_to_end(&mut rest).map_err(io)?;
    if rest.len() as u64 != file_len - rest_start {
        return corrupt("the file changed while it was read");
    }
    let mut small: [&[u8]; 5] = [&[]; 5];
    for i in 1..SECTIONS.len() {
        let e = &header.sections[i];
        let s =
            &rest[(e.offset - rest_start) as usize..(e.offset - rest_start + e.length) as usize];
        check_crc(e, SECTIONS[i], crc32fast::hash(s))?;
        small[i - 1] = s;
    }
    finish(&header, heap, small, options, Trust::File)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An image of a VM with the kernel classes only (cheap to make).
    fn kernel_image(tag: u32) -> (Snapshot<'static>, Vec<u8>) {
        let mut vm = Vm::new_kernel(VmOptions::default()).expect("kernel");
        let snapshot = vm.snapshot().expect("snapshot").into_owned();
        let bytes = encode(&snapshot, tag);
        (snapshot, bytes)
    }

    #[test]
    fn the_header_round_trips_and_matches_the_diagram() {
        let (snapshot, bytes) = kernel_image(0xABCD);
        let h = read_header(&bytes, bytes.len() as u64).expect("a good header");
        assert_eq!(&bytes[0..8], b"SMALTIMG");
        assert_eq!((bytes[12], bytes[13]), (8, HOST_ORDER));
        assert_eq!(h.version, FORMAT_VERSION);
        assert_eq!(h.tag, 0xABCD);
        assert_eq!(h.top, snapshot.top as u64);
        assert_eq!(h.roots, [8, 16, 24, snapshot.roots.specials]);
        assert_eq!((h.rng, h.hash_state), (snapshot.rng, snapshot.hash_state));
        assert_eq!(h.layout_stamp, layout_stamp());
        assert_eq!(h.flags, 0);
        // The sections follow the header back to back, 8-aligned, in kind order.
        assert_eq!(h.sections[0].offset, HEADER_BYTES as u64);
        for (e, kind) in h.sections.iter().zip(SECTIONS) {
            assert_eq!(e.kind, kind as u32);
            assert_eq!(e.offset % 8, 0);
        }
        let last = h.sections.last().unwrap();
        assert_eq!(last.offset + last.length, bytes.len() as u64);
        // Encoding the decoded header gives the same bytes.
        assert_eq!(h.encode()[..], bytes[..HEADER_BYTES]);
    }

    #[test]
    fn a_kernel_image_loads_into_an_equal_world() {
        let mut vm = Vm::new_kernel(VmOptions::default()).expect("kernel");
        let bytes = encode(&vm.snapshot().expect("snapshot"), 1);
        let loaded = load_bytes(&bytes, VmOptions::default(), Trust::File).expect("loads");
        assert_eq!(loaded.tag, 1);
        assert!(!loaded.primitives_renamed);
        assert!(world::world(&vm) == world::world(&loaded.vm));
    }
}
