//! A canonical description of a VM's world, for tests and tools that compare two VMs (a
//! loaded image with the VM that saved it, the embedded default image with a VM that compiled
//! the class library).

use smalt_gc::{Format, Oop, Word};
use smalt_vm::Vm;
use std::collections::{HashMap, VecDeque};

/// A canonical description of everything reachable in a VM: objects are numbered in the
/// order a breadth-first walk from the roots (specials, class table in index order, the
/// stack) meets them, and each is described by its class index, format, identity hash,
/// read-only bit and contents, references replaced by numbers. Method ids (a side-table
/// detail) are left out; each method's invocation count and cache cells (classes and methods
/// as numbers) are included. Two VMs hold equal worlds when their descriptions are equal.
pub fn world(vm: &Vm) -> Vec<u64> {
    let heap = &vm.heap;
    let mut number: HashMap<u64, u64> = HashMap::new();
    let mut queue: VecDeque<Oop> = VecDeque::new();
    let mut out = Vec::new();
    let visit = |w: Word, number: &mut HashMap<u64, u64>, queue: &mut VecDeque<Oop>| -> u64 {
        match w.as_oop() {
            Some(o) => {
                let n = number.len() as u64;
                let n = *number.entry(w.raw()).or_insert_with(|| {
                    queue.push_back(o);
                    n
                });
                (n << 3) | 6 // the reserved tag marks a numbered reference
            }
            None => w.raw(),
        }
    };
    let mut roots = vec![vm.specials];
    roots.extend(heap.classes().entries().iter().copied());
    roots.extend((0..vm.regs.sp).map(|i| vm.stack[i]));
    for r in roots {
        let v = visit(r, &mut number, &mut queue);
        out.push(v);
    }
    let mut methods = Vec::new();
    while let Some(o) = queue.pop_front() {
        let h = heap.header(o);
        let format = heap.format(o);
        out.extend([
            u64::from(h.class_index().0),
            u64::from(format.bits()),
            u64::from(h.hash()),
            u64::from(h.is_read_only()),
            heap.num_slots(o) as u64,
        ]);
        let slots = heap.slots(o);
        let pointers = match format {
            Format::CompiledMethod { .. } => {
                methods.push(o);
                heap.method_pointer_slots(o)
            }
            f if f.is_pointers() || f == Format::Weak => slots.len(),
            _ => 0,
        };
        for (i, s) in slots.iter().enumerate() {
            let is_method_id = matches!(format, Format::CompiledMethod { .. }) && i == 2;
            if is_method_id {
                out.push(0);
            } else if i < pointers {
                let v = visit(Word::from_raw(*s), &mut number, &mut queue);
                out.push(v);
            } else {
                out.push(*s);
            }
        }
    }
    // Type feedback, methods in walk order.
    for m in methods {
        let id = vm.method_id(m.word());
        out.push(u64::from(vm.methods.info(id).invocations));
        for c in vm.cell_feedback(id) {
            out.extend([u64::from(c.site), u64::from(c.state), u64::from(c.misses)]);
            for (class, method) in c.entries {
                out.push(u64::from(class));
                out.push(number.get(&method).copied().unwrap_or(u64::MAX));
            }
        }
    }
    out
}
