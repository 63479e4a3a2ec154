//! smalt-jit: the Cranelift tier of smalt. Hot methods and blocks become native code that runs
//! on the interpreter's frames, sends through the interpreter's inline-cache cells, and hands
//! anything unusual back to the VM.
//!
//! # How it fits together
//!
//! * [`install`] registers [`attach`] with the VM (`smalt_vm::tier::register_tier_factory`);
//!   `Vm::new` then attaches a [`Jit`] when `VmOptions::jit` asks for one. The VM counts
//!   invocations and loop back-edges and calls [`Jit`] (as a `smalt_vm::tier::Tier`) to compile
//!   what passes the threshold; `--jit=eager` sets the threshold to one.
//! * [`translate`] turns the bytecodes of one method or block into one Cranelift function
//!   (see its docs for how values, sends and unwinding work); Cranelift compiles it; [`code`]
//!   copies the machine code into memory smalt manages, and the method's `native_entry` is set.
//!   From then on the interpreter enters native code when it activates the method, at a loop
//!   head of a running frame (on-stack replacement), and native callers reach it through their
//!   cells.
//! * [`runtime`] holds the `extern "C"` functions native code calls (each a thin shim around a
//!   safe `Vm::native_*` method) and [`runtime::enter`], the one place Rust calls native code.
//! * [`os`] gives native code its machine-stack limit (deep recursions continue in the
//!   interpreter) and measures compile times in thread CPU time.
//! * Code is freed when the method is replaced or dies and no frame on the VM stack runs it
//!   any more ([`Jit::sweep`]).
//!
//! The unsafe code is in `code` (the mapping), `runtime` (calling native code and being called
//! by it) and `os` (asking the system for the thread's stack and CPU time); each states its
//! invariants at the top.

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::UserFuncName;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, ir::InstBuilder};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Module, default_libcall_names};
use smalt_gc::Word;
use smalt_vm::layout::{self as vml, Activation, CELL_CAPACITY};
use smalt_vm::methods::MethodId;
use smalt_vm::tier::{JitMode, ResumePoint, Tier, TierCounters};
use smalt_vm::vm::sp;
use smalt_vm::{Vm, VmError};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

pub mod code;
pub mod os;
pub mod runtime;
pub mod translate;

use translate::{MethodDesc, Translator, entry_signature, special_sites};

/// Size of the code memory (address space; pages are backed on use).
pub const CODE_MEMORY: usize = 256 << 20;

/// Largest method or block the JIT compiles, in bytes of bytecode; bigger code stays in the
/// interpreter. Cranelift's register allocator takes time superlinear in the number of blocks
/// (a send makes three), so a method of 16 000 sends took 33 s to compile in a test build
/// (`docs/jit.md`, "Decisions"); the largest method of the class library has 375 bytes.
pub const MAX_BYTECODES: usize = 8192;

/// Registers the JIT with the VM, so that `Vm::new` attaches it when `VmOptions::jit` is `On`
/// or `Eager`. Call once at start-up (idempotent).
pub fn install() {
    smalt_vm::tier::register_tier_factory(attach);
}

/// Attaches a JIT to `vm` according to its options.
pub fn attach(vm: &mut Vm) -> Result<(), VmError> {
    let threshold = match vm.options.jit {
        JitMode::Off => return Ok(()),
        JitMode::On => vm.options.jit_threshold.max(1),
        JitMode::Eager => 1,
    };
    let jit = Jit::new(vm).map_err(VmError::Load)?;
    vm.tiering.stack_limit_fn = Some(os::limit);
    vm.native.stack_limit = os::limit();
    vm.install_tier(Box::new(jit), runtime::enter, threshold);
    Ok(())
}

/// Native code of one method or block.
#[derive(Clone, Debug)]
struct Record {
    mid: u32,
    frame_info: u64,
    addr: usize,
    len: usize,
    /// The cells of its special-selector sends: (first, count).
    cells: (usize, usize),
    /// Resume points: (relative pc, operand depth).
    resume: Vec<(usize, usize)>,
}

/// Counters for `--jit-stats`.
#[derive(Clone, Debug, Default)]
struct Stats {
    methods: usize,
    blocks: usize,
    compile_time: Duration,
    max_compile: Duration,
    max_compile_name: String,
    code_bytes: usize,
    bytecodes: usize,
    freed: usize,
    failed: usize,
    /// Methods and blocks left to the interpreter for their size ([`MAX_BYTECODES`]).
    too_large: usize,
}

/// The JIT: compiler state, code memory and the records of what is compiled.
pub struct Jit {
    isa: OwnedTargetIsa,
    ctx: Context,
    fctx: FunctionBuilderContext,
    code: CodeArenaBox,
    helpers: runtime::Helpers,
    records: HashMap<u32, Record>,
    zombies: Vec<Record>,
    failed: HashMap<u32, Word>,
    print_ir: HashSet<String>,
    hit_counters: Option<Box<[u64]>>,
    perf_map: Option<std::fs::File>,
    stats: Stats,
    /// Holds the quick-method stubs (never freed). They are made by the first compilation,
    /// not when the JIT is attached: only native code calls them (through cells that
    /// compiling fills, or a miss from native code), and making them costs about a million
    /// instructions, a fifth of a start from the default image.
    stubs: Option<JITModule>,
}

/// The code arena (a newtype so that `Jit` stays `Send`-agnostic).
struct CodeArenaBox(code::CodeArena);

fn make_isa() -> Result<OwnedTargetIsa, String> {
    let mut fb = settings::builder();
    let set = |fb: &mut settings::Builder, k: &str, v: &str| {
        fb.set(k, v)
            .map_err(|e| format!("cranelift setting {k}: {e}"))
    };
    let opt = std::env::var("SMALT_JIT_OPT").unwrap_or_else(|_| "speed".into());
    set(&mut fb, "opt_level", &opt)?;
    if let Ok(ra) = std::env::var("SMALT_JIT_REGALLOC") {
        set(&mut fb, "regalloc_algorithm", &ra)?;
    }
    set(&mut fb, "is_pic", "false")?;
    set(&mut fb, "use_colocated_libcalls", "false")?;
    set(
        &mut fb,
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    let builder = cranelift_native::builder().map_err(|e| format!("no native ISA: {e}"))?;
    builder
        .finish(settings::Flags::new(fb))
        .map_err(|e| format!("cranelift ISA: {e}"))
}

impl Jit {
    /// A JIT for `vm`: sets the VM's native runtime fields too.
    pub fn new(vm: &mut Vm) -> Result<Jit, String> {
        let isa = make_isa()?;
        let arena = code::CodeArena::new(CODE_MEMORY).ok_or("cannot map code memory")?;
        let (lo, hi) = arena.range();
        let helpers = runtime::Helpers::new();
        vm.native.code_lo = lo;
        vm.native.code_hi = hi;
        vm.native.bridge_entry = helpers.bridge;
        vm.native.dnu_entry = helpers.dnu;
        vm.native.quick_entries = [0; vml::ACTIVATION_KINDS];
        let hit_counters = vm
            .options
            .jit_stats
            .then(|| vec![0u64; CELL_CAPACITY].into_boxed_slice());
        Ok(Jit {
            isa,
            ctx: Context::new(),
            fctx: FunctionBuilderContext::new(),
            code: CodeArenaBox(arena),
            helpers,
            records: HashMap::new(),
            zombies: Vec::new(),
            failed: HashMap::new(),
            print_ir: vm
                .options
                .print_ir
                .iter()
                .map(|s| s.trim().to_string())
                .collect(),
            hit_counters,
            perf_map: std::env::var_os("SMALT_PERF_MAP").and_then(|_| {
                std::fs::File::create(format!("/tmp/perf-{}.map", std::process::id())).ok()
            }),
            stats: Stats::default(),
            stubs: None,
        })
    }

    /// `Class>>selector` of a method (`[] in Class>>selector` for a block).
    fn name_of(vm: &Vm, method: Word) -> (String, bool) {
        let home = vm.home_method(method);
        let holder = vm.class_name(vm.method_holder(home));
        let selector = vm
            .string_value(vm.method_selector(home))
            .unwrap_or_else(|| "?".into());
        let is_block = home != method;
        (format!("{holder}>>{selector}"), is_block)
    }

    /// What the translator needs to know about method `mid`.
    fn describe(&self, vm: &Vm, mid: u32, special_cells: usize) -> MethodDesc {
        let info = vm.methods.infos[mid as usize];
        let code = (0..info.code_len)
            .map(|i| vm.methods.code[info.code_start + i])
            .collect();
        let cell_nargs = (0..info.num_sites as usize)
            .map(|k| vm.methods.cells[info.cell_base + k].nargs)
            .collect();
        let literal_immediates = (0..info.num_literals)
            .map(|k| {
                let w = vm.literal(info.method, k);
                w.is_immediate().then_some(w.raw())
            })
            .collect();
        let closure_classes = (0..info.num_literals)
            .map(|k| {
                let w = vm.literal(info.method, k);
                let Some(o) = w.as_oop() else { return 0 };
                if !matches!(vm.heap.format(o), smalt_gc::Format::CompiledMethod { .. }) {
                    return 0;
                }
                let id = vm.method_id(w);
                let Some(b) = vm.methods.infos.get(id.0 as usize) else {
                    return 0;
                };
                if id == MethodId::NONE
                    || b.method != w
                    || !b.is_block()
                    || b.flags & smalt_vm::objects::FLAG_NEEDS_OUTER != 0
                {
                    return 0;
                }
                use smalt_vm::objects::class_index as ci;
                match b.num_args {
                    0 => ci::BLOCK1,
                    1 => ci::BLOCK2,
                    2 => ci::BLOCK3,
                    _ => ci::BLOCK,
                }
                .0
            })
            .collect();
        let (name, _) = Self::name_of(vm, info.method);
        MethodDesc {
            closure_classes,
            mid,
            name,
            code,
            code_start: info.code_start,
            num_args: info.num_args,
            num_temps: info.num_temps,
            num_copied: info.num_copied,
            frame_words: info.frame_words,
            is_block: info.is_block(),
            has_primitive: info.prim_fn.is_some(),
            frame_info: info.frame_info.raw(),
            cell_base: info.cell_base,
            cell_nargs,
            literal_immediates,
            special_cells,
            cells_base: vm.rt.cells_base,
            info_addr: vm.rt.infos_base + mid as usize * vml::info::SIZE,
            infos_base: vm.rt.infos_base,
            hit_counters: self.hit_counters.as_ref().map(|c| c.as_ptr() as usize),
            site_quick: (0..info.num_sites as usize)
                .map(|k| {
                    let e = vm.methods.cells[info.cell_base + k].entries[0];
                    if e.class == 0 {
                        return 0;
                    }
                    let a = vm.methods.infos[e.method as usize].activation;
                    if a.is_quick() || a == Activation::Setter {
                        a as u8
                    } else {
                        0
                    }
                })
                .collect(),
            site_prim: (0..info.num_sites as usize)
                .map(|k| {
                    let c = &vm.methods.cells[info.cell_base + k];
                    let e = c.entries[0];
                    let p = if e.class != 0 {
                        vm.methods.infos[e.method as usize].primitive
                    } else {
                        // No feedback yet (a path not taken before compiling): guess from
                        // the selector; the site tests the method it finds anyway.
                        let sel = vm.string_value(c.selector).unwrap_or_default();
                        let guess = match sel.as_str() {
                            "/" => "doubleDivide",
                            "//" => "doubleSomDivide",
                            "\\\\" => "integerModulo",
                            "%" => "integerPercent",
                            _ => return (0, 0),
                        };
                        smalt_vm::tier::primitive_index(guess).unwrap_or(0)
                    };
                    let kind = inline_primitives()
                        .iter()
                        .find(|&&(index, _)| index == p && p != 0)
                        .map_or(0, |&(_, kind)| kind);
                    if kind == 0 { (0, 0) } else { (p, kind) }
                })
                .collect(),
            string_eq_prim: smalt_vm::tier::primitive_index("stringEqual").unwrap_or(0),
            quick_entries: vm.native.quick_entries,
        }
    }

    /// Compiles `mid`; answers its entry address.
    fn compile_method(&mut self, vm: &mut Vm, mid: u32) -> Result<usize, String> {
        let info = vm.methods.infos[mid as usize];
        if info.method == Word::INVALID || info.method == vm.nil() {
            return Err("no method".into());
        }
        let started = os::thread_cpu_time();
        // Cells for the special-selector sends of this code.
        let code: Vec<u8> = (0..info.code_len)
            .map(|i| vm.methods.code[info.code_start + i])
            .collect();
        let sites = special_sites(&code);
        let selectors: Vec<(Word, u8)> = sites
            .iter()
            .map(|&(_, op)| {
                let index = smalt_vm::bytecode::SPECIAL_SELECTORS
                    .iter()
                    .position(|(o, _, _)| *o == op)
                    .unwrap_or(0);
                let nargs = smalt_vm::bytecode::SPECIAL_SELECTORS[index].2 as u8;
                (vm.special(sp::FIRST_SPECIAL_SELECTOR + index), nargs)
            })
            .collect();
        let cells = if selectors.is_empty() {
            0
        } else {
            vm.alloc_native_cells(&selectors)
                .ok_or("the cell arena is full")?
        };
        let desc = self.describe(vm, mid, cells);
        let result = self.build(&desc);
        let (bytes, translated, ir) = match result {
            Ok(r) => r,
            Err(e) => {
                if !selectors.is_empty() {
                    vm.release_native_cells(cells, selectors.len());
                }
                return Err(e);
            }
        };
        let Some(addr) = self.install_code(vm, &bytes) else {
            if !selectors.is_empty() {
                vm.release_native_cells(cells, selectors.len());
            }
            return Err("the code memory is full".into());
        };
        let elapsed = os::thread_cpu_time().saturating_sub(started);
        if let Some(map) = &mut self.perf_map {
            // `perf report` names native code from this file (SMALT_PERF_MAP=1).
            use std::io::Write;
            let _ = writeln!(
                map,
                "{addr:x} {:x} {}{}",
                bytes.len(),
                if desc.is_block { "[] in " } else { "" },
                desc.name
            );
            let _ = map.flush();
        }
        if let Some(ir) = ir {
            let _ = writeln_err(
                vm,
                &format!(
                    "{}{} (method id {mid}): {} bytes of machine code for {} bytecodes, compiled in {:.0?}\n{ir}",
                    if desc.is_block { "[] in " } else { "" },
                    desc.name,
                    bytes.len(),
                    translated.bytecodes,
                    elapsed
                ),
            );
        }
        self.records.insert(
            mid,
            Record {
                mid,
                frame_info: desc.frame_info,
                addr,
                len: bytes.len(),
                cells: (cells, selectors.len()),
                resume: translated.resume_points,
            },
        );
        let s = &mut self.stats;
        if desc.is_block {
            s.blocks += 1;
        } else {
            s.methods += 1;
        }
        s.compile_time += elapsed;
        if elapsed > s.max_compile {
            s.max_compile = elapsed;
            s.max_compile_name = desc.name.clone();
        }
        s.code_bytes += bytes.len();
        s.bytecodes += translated.bytecodes;
        Ok(addr)
    }

    /// Translates and compiles; answers the machine code, what translation found, and the IR
    /// text if `--print-ir` names the method.
    fn build(
        &mut self,
        desc: &MethodDesc,
    ) -> Result<(Vec<u8>, translate::Translated, Option<String>), String> {
        self.ctx.clear();
        self.ctx.func.signature = entry_signature();
        self.ctx.func.name = UserFuncName::user(0, desc.mid);
        let cfg = self.isa.frontend_config();
        let translated = {
            let mut b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
            let t = Translator::translate(&mut b, desc, &self.helpers)
                .map_err(|e| format!("{}: {}", desc.name, e.0))?;
            b.finalize(cfg);
            t
        };
        let wanted = self.print_ir.contains(&desc.name);
        let mut ir = wanted.then(|| self.ctx.func.display().to_string());
        self.ctx.set_disasm(wanted);
        let compiled = self
            .ctx
            .compile(&*self.isa, &mut ControlPlane::default())
            .map_err(|e| format!("{}: cranelift: {:?}", desc.name, e.inner))?;
        if !compiled.buffer.relocs().is_empty() {
            return Err(format!("{}: code with relocations", desc.name));
        }
        if let (Some(text), Some(asm)) = (ir.as_mut(), compiled.vcode.as_ref()) {
            text.push_str("\nmachine code:\n");
            text.push_str(asm);
        }
        Ok((compiled.code_buffer().to_vec(), translated, ir))
    }

    fn install_code(&mut self, vm: &mut Vm, bytes: &[u8]) -> Option<usize> {
        if let Some(a) = self.code.0.install(bytes) {
            return Some(a);
        }
        self.sweep(vm);
        self.code.0.install(bytes)
    }

    /// Fills the native entries of the cells of `mid` from what their methods have now (type
    /// feedback from the interpreter becomes direct calls right away).
    fn seed_cells(vm: &mut Vm, mid: u32) {
        let info = vm.methods.infos[mid as usize];
        for k in 0..info.num_sites as usize {
            let cell = info.cell_base + k;
            for e in 0..vml::PIC_SIZE {
                let entry = vm.methods.cells[cell].entries[e];
                if entry.class != 0 && entry.entry == 0 {
                    let native = vm.native_entry_of(entry.method);
                    vm.methods.cells[cell].entries[e].entry = native;
                }
            }
        }
    }

    /// Moves the code of `mid` out of reach: no cell or info refers to it any more; it is
    /// freed once no frame runs it.
    fn retire(&mut self, vm: &mut Vm, mid: u32) {
        let Some(rec) = self.records.remove(&mid) else {
            return;
        };
        let info = &mut vm.methods.infos[mid as usize];
        if info.native_entry == rec.addr as u64 {
            info.native_entry = 0;
        }
        let (lo, hi) = (rec.addr as u64, (rec.addr + rec.len) as u64);
        for c in vm.methods.cells.iter_mut() {
            for e in c.entries.iter_mut() {
                if e.entry >= lo && e.entry < hi {
                    e.entry = 0;
                }
            }
        }
        self.zombies.push(rec);
    }

    /// Frees the code of retired methods that no frame on the VM stack runs (a frame's
    /// FRAME_INFO names its method; a method whose native code is between its entry and its
    /// frame is pinned).
    pub fn sweep(&mut self, vm: &mut Vm) {
        if self.zombies.is_empty() {
            return;
        }
        let wanted: HashSet<u64> = self.zombies.iter().map(|z| z.frame_info).collect();
        let mut live: HashSet<u64> = HashSet::new();
        let top = vm.regs.sp.min(vm.stack.capacity());
        for i in 0..top {
            let w = vm.stack[i].raw();
            if wanted.contains(&w) {
                live.insert(w);
            }
        }
        let pinned: HashSet<u32> = vm.tiering.pinned.iter().copied().collect();
        let zombies = std::mem::take(&mut self.zombies);
        for z in zombies {
            if live.contains(&z.frame_info) || pinned.contains(&z.mid) {
                self.zombies.push(z);
                continue;
            }
            self.code.0.free(z.addr, z.len);
            if z.cells.1 > 0 {
                vm.release_native_cells(z.cells.0, z.cells.1);
            }
            self.stats.freed += 1;
        }
    }
}

fn writeln_err(vm: &mut Vm, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let _ = vm.out.flush();
    vm.err.write_all(text.as_bytes())?;
    vm.err.write_all(b"\n")?;
    vm.err.flush()
}

impl Tier for Jit {
    fn compile(&mut self, vm: &mut Vm, mid: MethodId) {
        let m = mid.0;
        let info = vm.methods.infos[m as usize];
        if info.native_entry != 0 {
            return;
        }
        if let Some(&w) = self.failed.get(&m) {
            if w == info.method {
                vm.methods.infos[m as usize].invocations = 0;
                return;
            }
            self.failed.remove(&m);
        }
        if self.stubs.is_none() {
            let mut module = JITModule::new(JITBuilder::with_isa(
                self.isa.clone(),
                default_libcall_names(),
            ));
            match quick_stubs(&mut module, &self.isa) {
                Ok(quick) => {
                    vm.native.quick_entries = quick;
                    self.stubs = Some(module);
                }
                Err(e) => {
                    // Quick methods are then entered through the bridge; tried again next time.
                    let _ = writeln!(vm.err, "smalt: jit: the quick-method stubs: {e}");
                }
            }
        }
        if info.code_len > MAX_BYTECODES {
            // Not a failure: too large to be worth the compile time. Never tried again.
            self.stats.too_large += 1;
            self.failed.insert(m, info.method);
            vm.methods.infos[m as usize].invocations = 0;
            return;
        }
        if self.records.contains_key(&m) {
            // Code for an earlier method with this id that was not retired yet.
            self.retire(vm, m);
        }
        self.sweep(vm);
        match self.compile_method(vm, m) {
            Ok(addr) => {
                vm.methods.infos[m as usize].native_entry = addr as u64;
                Self::seed_cells(vm, m);
            }
            Err(e) => {
                self.stats.failed += 1;
                self.failed.insert(m, info.method);
                vm.methods.infos[m as usize].invocations = 0;
                if cfg!(debug_assertions) {
                    let short: String = e.chars().take(400).collect();
                    let _ = writeln_err(vm, &format!("smalt-jit: not compiled: {short}"));
                }
            }
        }
    }

    fn resume_point(&self, mid: MethodId, rel_pc: usize) -> Option<ResumePoint> {
        let rec = self.records.get(&mid.0)?;
        rec.resume
            .iter()
            .position(|&(pc, _)| pc == rel_pc)
            .map(|i| ResumePoint {
                index: i as u32,
                depth: rec.resume[i].1,
            })
    }

    fn method_replaced(&mut self, vm: &mut Vm, mid: MethodId) {
        self.retire(vm, mid.0);
        vm.methods.infos[mid.0 as usize].invocations = 0;
        self.sweep(vm);
    }

    fn after_gc(&mut self, vm: &mut Vm) {
        let dead: Vec<u32> = self
            .records
            .values()
            .filter(|r| vm.methods.infos[r.mid as usize].native_entry != r.addr as u64)
            .map(|r| r.mid)
            .collect();
        for mid in dead {
            self.retire(vm, mid);
        }
        self.sweep(vm);
    }

    fn image_loaded(&mut self, vm: &mut Vm) {
        let threshold = vm.tiering.threshold;
        let hot: Vec<u32> = (1..vm.methods.infos.len())
            .filter(|&i| {
                let info = &vm.methods.infos[i];
                info.method != Word::INVALID
                    && info.native_entry == 0
                    && info.invocations >= threshold
            })
            .map(|i| i as u32)
            .collect();
        for mid in hot {
            self.compile(vm, MethodId(mid));
        }
    }

    fn counters(&self) -> TierCounters {
        TierCounters {
            compiled: (self.stats.methods + self.stats.blocks) as u64,
            failed: self.stats.failed as u64,
            compile_time: self.stats.compile_time,
        }
    }

    fn report(&self, vm: &Vm) -> String {
        let s = &self.stats;
        let compiled = s.methods + s.blocks;
        let mean = if compiled > 0 {
            s.compile_time / compiled as u32
        } else {
            Duration::ZERO
        };
        let mut out = format!(
            "jit: {} methods and {} blocks compiled ({} failed, {} too large), {} bytecodes\n\
             jit: compile time {:.1?} total, {:.0?} mean, {:.0?} max ({})\n\
             jit: {} bytes of machine code made ({:.1} per bytecode), {} in use, {} freed methods\n",
            s.methods,
            s.blocks,
            s.failed,
            s.too_large,
            s.bytecodes,
            s.compile_time,
            mean,
            s.max_compile,
            s.max_compile_name,
            s.code_bytes,
            if s.bytecodes > 0 {
                s.code_bytes as f64 / s.bytecodes as f64
            } else {
                0.0
            },
            self.code.0.used(),
            s.freed,
        );
        // Send sites of native code, by the state of their cells.
        let names = ["empty", "monomorphic", "polymorphic", "megamorphic"];
        let mut sites = [0usize; 4];
        let mut misses = [0u64; 4];
        let mut hits = [0u64; 4];
        let mut visit = |cell: usize| {
            let c = &vm.methods.cells[cell];
            if c.selector == Word::INVALID {
                return;
            }
            let st = c.state as usize;
            sites[st] += 1;
            misses[st] += u64::from(c.misses);
            if let Some(h) = &self.hit_counters {
                hits[st] += h[cell];
            }
        };
        for r in self.records.values() {
            let info = &vm.methods.infos[r.mid as usize];
            for k in 0..info.num_sites as usize {
                visit(info.cell_base + k);
            }
            for k in 0..r.cells.1 {
                visit(r.cells.0 + k);
            }
        }
        for (i, name) in names.iter().enumerate() {
            out.push_str(&format!(
                "jit: {name:>11} send sites: {:>7}, misses {:>10}{}\n",
                sites[i],
                misses[i],
                if self.hit_counters.is_some() {
                    format!(", native hits {:>12}", hits[i])
                } else {
                    String::new()
                }
            ));
        }
        out
    }
}

/// The primitives send sites can run inline: (primitive index, `translate::PRIM_*` kind).
fn inline_primitives() -> &'static [(u16, u8)] {
    static TABLE: std::sync::LazyLock<Vec<(u16, u8)>> = std::sync::LazyLock::new(|| {
        use crate::translate::{
            PRIM_FLOAT_DIV, PRIM_INT_MOD, PRIM_NEW, PRIM_NEW_SIZE, PRIM_STRING_EQ,
        };
        [
            ("doubleDivide", PRIM_FLOAT_DIV),
            ("doubleSomDivide", PRIM_FLOAT_DIV),
            ("integerModulo", PRIM_INT_MOD),
            ("integerPercent", PRIM_INT_MOD),
            ("stringEqual", PRIM_STRING_EQ),
            ("classNew", PRIM_NEW),
            ("classNewSize", PRIM_NEW_SIZE),
        ]
        .iter()
        .filter_map(|&(name, kind)| Some((smalt_vm::tier::primitive_index(name)?, kind)))
        .collect()
    });
    &TABLE
}

/// The native entries of quick methods, by `Activation` kind: they answer without a frame.
fn quick_stubs(
    module: &mut JITModule,
    isa: &OwnedTargetIsa,
) -> Result<[u64; smalt_vm::layout::ACTIVATION_KINDS], String> {
    use cranelift_codegen::ir::MemFlagsData;
    use cranelift_codegen::ir::types::I64;
    let mut ids = Vec::new();
    let cfg = isa.frontend_config();
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    for kind in [
        Activation::ReturnSelf,
        Activation::ReturnInstVar,
        Activation::ReturnLiteral,
        Activation::ReturnConstant,
    ] {
        let id = module
            .declare_anonymous_function(&entry_signature())
            .map_err(|e| e.to_string())?;
        module.clear_context(&mut ctx);
        ctx.func.signature = entry_signature();
        {
            let fl = MemFlagsData::trusted();
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let p = b.block_params(entry).to_vec();
            let (vm, fp, mid) = (p[0], p[1], p[2]);
            let rt = |f: usize| (vml::VM_RUNTIME + f) as i32;
            let sb = b.ins().load(I64, fl, vm, rt(vml::runtime::STACK_BASE));
            let hb = b.ins().load(I64, fl, vm, rt(vml::runtime::HEAP_BASE));
            let infos = b.ins().load(I64, fl, vm, rt(vml::runtime::INFOS_BASE));
            let off = b.ins().imul_imm_s(mid, vml::info::SIZE as i64);
            let info = b.ins().iadd(infos, off);
            let nargs = b.ins().load(I64, fl, info, vml::info::NUM_ARGS as i32);
            let bp = b.ins().isub(fp, nargs);
            let bp = b.ins().iadd_imm_s(bp, -1);
            let bp = b.ins().ishl_imm_s(bp, 3);
            let bp_addr = b.ins().iadd(sb, bp);
            let value = match kind {
                Activation::ReturnInstVar | Activation::ReturnLiteral => {
                    let k = b.ins().uload16(I64, fl, info, vml::info::QUICK_ARG as i32);
                    let k = b.ins().ishl_imm_s(k, 3);
                    let (obj, first) = if kind == Activation::ReturnInstVar {
                        (b.ins().load(I64, fl, bp_addr, 0), 0)
                    } else {
                        (
                            b.ins().load(I64, fl, info, vml::info::METHOD as i32),
                            smalt_vm::objects::method::FIRST_LITERAL,
                        )
                    };
                    let addr = b.ins().iadd(hb, obj);
                    let addr = b.ins().iadd(addr, k);
                    Some(
                        b.ins()
                            .load(I64, fl, addr, smalt_gc::layout::SLOT_0 + (first * 8) as i32),
                    )
                }
                Activation::ReturnConstant => {
                    Some(b.ins().load(I64, fl, info, vml::info::QUICK_VALUE as i32))
                }
                _ => None,
            };
            if let Some(v) = value {
                b.ins().store(fl, v, bp_addr, 0);
            }
            let zero = b.ins().iconst(I64, 0);
            b.ins().return_(&[zero]);
            b.seal_all_blocks();
            b.finalize(cfg);
        }
        module
            .define_function(id, &mut ctx)
            .map_err(|e| format!("quick stub: {e:?}"))?;
        module.clear_context(&mut ctx);
        ids.push((kind, id));
    }
    module
        .finalize_definitions()
        .map_err(|e| format!("quick stub: {e}"))?;
    let mut out = [0u64; vml::ACTIVATION_KINDS];
    for (kind, id) in ids {
        out[kind as usize] = module.get_finalized_function(id) as u64;
    }
    Ok(out)
}
