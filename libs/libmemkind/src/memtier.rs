//! The memtier C API of memkind 1.14 (`memkind_memtier.h`): a builder collects kinds and
//! their ratios, the memory object it builds spreads allocations over them, and every
//! block allocated through this API is counted per kind (`memtier_kind_allocated_size`).

#![allow(non_camel_case_types, clippy::missing_safety_doc)]

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uint, c_void};

use super::memkind::memkind_t;
use super::{bad_alignment, boundary, boundary_int, set_errno};
use crate::error::Error;
use crate::kind::{self, file::MAX_KINDS, statics::NUM_STATIC, Slot};
use crate::tier::{Counter, Policy, PolicyKind, ThresholdCfg, Tuning, MAX_TIERS};

/// How a memory object spreads allocations over its tiers.
#[repr(C)]
pub enum memtier_policy_t {
    /// Bytes in each tier stay proportional to the tier's ratio.
    MEMTIER_POLICY_STATIC_RATIO = 0,
    /// Blocks below a size threshold go to the earlier tier; the threshold moves to keep
    /// the ratio.
    MEMTIER_POLICY_DYNAMIC_THRESHOLD = 1,
    MEMTIER_POLICY_MAX_VALUE,
}

/// `memtier_policy_t` as received from C.
pub type memtier_policy_t_arg = c_uint;

const BUILDER_MAGIC: u64 = 0x6d74_6275_696c_6472;
const MEMORY_MAGIC: u64 = 0x6d74_6d65_6d6f_7279;

/// Collects tiers and settings for `memtier_builder_construct_memtier_memory`.
pub struct memtier_builder {
    _private: [u8; 0],
}

/// Tiers and a policy, as built by `memtier_builder_construct_memtier_memory`.
pub struct memtier_memory {
    _private: [u8; 0],
}

/// What a `memtier_builder *` points at.
#[repr(C)]
struct Builder {
    magic: u64,
    policy: PolicyKind,
    tiers: Vec<(&'static Slot, u32)>,
    thresholds: [Option<usize>; 3 * (MAX_TIERS - 1)],
    tuning: Tuning,
}

/// What a `memtier_memory *` points at.
#[repr(C)]
struct Memory {
    magic: u64,
    policy: Policy,
    kinds: [&'static Slot; MAX_TIERS],
}

/// Bytes allocated through this API, per kind id.
static ALLOCATED: [Counter; NUM_STATIC + MAX_KINDS] =
    [const { Counter::new() }; NUM_STATIC + MAX_KINDS];

fn counter(slot: &Slot) -> &'static Counter {
    &ALLOCATED[slot.id as usize]
}

/// Clears a destroyed kind's count, so a new kind in its slot starts from zero.
pub(crate) fn forget_kind(slot: &Slot) {
    counter(slot).reset();
}

/// The API object at `p` if its magic word (first field) says it is live.
///
/// # Safety
/// `p` is NULL or came from `Box::into_raw` of a `#[repr(C)]` `T` that starts with its
/// magic word.
unsafe fn live<'a, T>(p: *mut T, magic: u64) -> Option<&'a mut T> {
    // SAFETY: per the contract; the magic word catches a deleted object in most cases.
    (!p.is_null() && unsafe { *(p as *const u64) } == magic).then(|| unsafe { &mut *p })
}

/// Frees a live API object and clears its magic word, so a second delete is ignored.
///
/// # Safety
/// As for [`live`].
unsafe fn delete<T>(p: *mut T, magic: u64) {
    // SAFETY: per the contract.
    if unsafe { live(p, magic) }.is_some() {
        // SAFETY: p is a live boxed T that starts with its magic word.
        unsafe {
            *(p as *mut u64) = 0;
            drop(Box::from_raw(p));
        }
    }
}

/// # Safety
/// `m` is NULL or a pointer returned by `memtier_builder_construct_memtier_memory`.
unsafe fn memory<'a>(m: *mut memtier_memory) -> Option<&'a Memory> {
    // SAFETY: per the contract.
    unsafe { live(m.cast::<Memory>(), MEMORY_MAGIC) }.map(|m| &*m)
}

/// # Safety
/// `b` is NULL or a pointer returned by `memtier_builder_new`.
unsafe fn builder<'a>(b: *mut memtier_builder) -> Option<&'a mut Builder> {
    // SAFETY: per the contract.
    unsafe { live(b.cast::<Builder>(), BUILDER_MAGIC) }
}

fn slot(kind: memkind_t) -> Option<&'static Slot> {
    kind::usable(kind as *const c_void).ok()
}

/// Counts a block just allocated in `slot`.
fn counted(slot: &Slot, p: *mut c_void) -> *mut c_void {
    if let Some(n) = kind::usable_size(p) {
        counter(slot).add(n as isize);
    }
    p
}

fn alloc(slot: &'static Slot, size: usize) -> *mut c_void {
    match kind::malloc(slot, size) {
        Ok(p) if !p.is_null() => counted(slot, p),
        Ok(p) => p,
        Err(e) => fail(e),
    }
}

fn fail(e: Error) -> *mut c_void {
    set_errno(if e == Error::Invalid {
        libc::EINVAL
    } else {
        libc::ENOMEM
    });
    std::ptr::null_mut()
}

fn free(p: *mut c_void, func: &str) {
    if p.is_null() {
        return;
    }
    match kind::free_sized(p) {
        Some((s, n)) => counter(s).add(-(n as isize)),
        None => kind::report_foreign(func, p),
    }
}

fn realloc_in(target: &'static Slot, p: *mut c_void, size: usize, func: &str) -> *mut c_void {
    let (Some(from), Some(old)) = (kind::detect(p), kind::usable_size(p)) else {
        kind::report_foreign(func, p);
        set_errno(libc::EINVAL);
        return std::ptr::null_mut();
    };
    match kind::realloc(target, p, size) {
        Ok(q) => {
            counter(from).add(-(old as isize));
            counted(target, q)
        }
        Err(e) => fail(e),
    }
}

impl Memory {
    fn pick(&self, size: usize) -> &'static Slot {
        let i = self
            .policy
            .choose(size, |i| counter(self.kinds[i]).flushed());
        self.kinds[i]
    }
}

/// A new builder for `policy`; NULL for an unknown policy.
#[no_mangle]
pub extern "C" fn memtier_builder_new(policy: memtier_policy_t_arg) -> *mut memtier_builder {
    boundary(|| {
        let policy = match policy {
            0 => PolicyKind::StaticRatio,
            1 => PolicyKind::DynamicThreshold,
            _ => return std::ptr::null_mut(),
        };
        Box::into_raw(Box::new(Builder {
            magic: BUILDER_MAGIC,
            policy,
            tiers: Vec::new(),
            thresholds: [None; 3 * (MAX_TIERS - 1)],
            tuning: Tuning::default(),
        }))
        .cast()
    })
}

/// Deletes a builder; memory objects built from it stay valid.
#[no_mangle]
pub unsafe extern "C" fn memtier_builder_delete(builder: *mut memtier_builder) {
    // SAFETY: builder is NULL or from memtier_builder_new.
    boundary(|| unsafe { delete(builder.cast::<Builder>(), BUILDER_MAGIC) })
}

/// Adds `kind` with weight `kind_ratio`; 0 on success, -1 for a NULL builder, an unusable
/// or repeated kind, a zero ratio or too many tiers.
#[no_mangle]
pub unsafe extern "C" fn memtier_builder_add_tier(
    builder: *mut memtier_builder,
    kind: memkind_t,
    kind_ratio: c_uint,
) -> c_int {
    boundary_int::<-1, _>(|| {
        // SAFETY: builder is NULL or from memtier_builder_new.
        let Some(b) = (unsafe { self::builder(builder) }) else {
            return -1;
        };
        let Some(s) = slot(kind) else { return -1 };
        if kind_ratio == 0 || b.tiers.len() == MAX_TIERS || b.tiers.iter().any(|t| t.0.id == s.id) {
            return -1;
        }
        b.tiers.push((s, kind_ratio));
        0
    })
}

/// Builds a memory object from the builder's tiers; NULL if they do not make a valid
/// policy (no tier, one tier for DYNAMIC_THRESHOLD, inconsistent thresholds).
#[no_mangle]
pub unsafe extern "C" fn memtier_builder_construct_memtier_memory(
    builder: *mut memtier_builder,
) -> *mut memtier_memory {
    boundary(|| {
        // SAFETY: builder is NULL or from memtier_builder_new.
        let Some(b) = (unsafe { self::builder(builder) }) else {
            return std::ptr::null_mut();
        };
        let ratios: Vec<u32> = b.tiers.iter().map(|t| t.1).collect();
        let thresholds: Vec<ThresholdCfg> = (0..b.tiers.len().saturating_sub(1))
            .map(|i| {
                let d = ThresholdCfg::default_for(i);
                let t = &b.thresholds[3 * i..3 * i + 3];
                ThresholdCfg {
                    val: t[0].unwrap_or(d.val),
                    min: t[1].unwrap_or(d.min),
                    max: t[2].unwrap_or(d.max),
                }
            })
            .collect();
        let Ok(policy) = Policy::new(b.policy, &ratios, &thresholds, b.tuning) else {
            return std::ptr::null_mut();
        };
        let mut kinds = [b.tiers[0].0; MAX_TIERS];
        for (k, t) in kinds.iter_mut().zip(&b.tiers) {
            *k = t.0;
        }
        Box::into_raw(Box::new(Memory {
            magic: MEMORY_MAGIC,
            policy,
            kinds,
        }))
        .cast()
    })
}

/// Deletes a memory object; blocks allocated through it stay valid.
#[no_mangle]
pub unsafe extern "C" fn memtier_delete_memtier_memory(memory: *mut memtier_memory) {
    // SAFETY: memory is NULL or from memtier_builder_construct_memtier_memory.
    boundary(|| unsafe { delete(memory.cast::<Memory>(), MEMORY_MAGIC) })
}

/// Sets a DYNAMIC_THRESHOLD parameter: `policy.dynamic_threshold.thresholds[ID].val|min|max`
/// (`*(const size_t *)val`), `.check_cnt` (`unsigned`), `.trigger` and `.degree` (`float`).
/// 0 on success, -1 for an unknown name, an ID without two tiers around it, a NULL
/// argument or a STATIC_RATIO builder.
#[no_mangle]
pub unsafe extern "C" fn memtier_ctl_set(
    builder: *mut memtier_builder,
    name: *const c_char,
    val: *const c_void,
) -> c_int {
    boundary_int::<-1, _>(|| {
        // SAFETY: builder is NULL or from memtier_builder_new.
        let Some(b) = (unsafe { self::builder(builder) }) else {
            return -1;
        };
        if name.is_null() || val.is_null() || b.policy != PolicyKind::DynamicThreshold {
            return -1;
        }
        // SAFETY: name is a NUL-terminated string.
        let Ok(name) = unsafe { CStr::from_ptr(name) }.to_str() else {
            return -1;
        };
        let Some(param) = name.strip_prefix("policy.dynamic_threshold.") else {
            return -1;
        };
        match param {
            "check_cnt" => {
                // SAFETY: this parameter is documented as an unsigned int.
                let v = unsafe { *(val as *const c_uint) };
                if v == 0 {
                    return -1;
                }
                b.tuning.check_cnt = v;
            }
            "trigger" | "degree" => {
                // SAFETY: these parameters are documented as floats.
                let v = unsafe { *(val as *const f32) };
                // As memkind: a negative value is taken here and refused when the
                // memory is built.
                if !v.is_finite() {
                    return -1;
                }
                if param == "trigger" {
                    b.tuning.trigger = v;
                } else {
                    b.tuning.degree = v;
                }
            }
            _ => {
                let Some((id, field)) = threshold_param(param) else {
                    return -1;
                };
                if id + 1 >= b.tiers.len() {
                    return -1;
                }
                // SAFETY: threshold parameters are documented as size_t.
                b.thresholds[3 * id + field] = Some(unsafe { *(val as *const usize) });
            }
        }
        0
    })
}

/// `thresholds[ID].val|min|max` -> (ID, 0|1|2).
fn threshold_param(param: &str) -> Option<(usize, usize)> {
    let rest = param.strip_prefix("thresholds[")?;
    let (id, field) = rest.split_once("].")?;
    if id.is_empty() || !id.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let id: usize = id.parse().ok()?;
    let field = match field {
        "val" => 0,
        "min" => 1,
        "max" => 2,
        _ => return None,
    };
    (id < MAX_TIERS - 1).then_some((id, field))
}

/// `size` bytes from the tier the policy picks; NULL for size 0.
#[no_mangle]
pub unsafe extern "C" fn memtier_malloc(memory: *mut memtier_memory, size: usize) -> *mut c_void {
    boundary(|| {
        // SAFETY: memory is NULL or from memtier_builder_construct_memtier_memory.
        match unsafe { self::memory(memory) } {
            Some(m) => alloc(m.pick(size), size),
            None => fail(Error::Invalid),
        }
    })
}

/// `memkind_malloc` on `kind`, counted.
#[no_mangle]
pub extern "C" fn memtier_kind_malloc(kind: memkind_t, size: usize) -> *mut c_void {
    boundary(|| match slot(kind) {
        Some(s) => alloc(s, size),
        None => fail(Error::Invalid),
    })
}

fn calloc_in(s: &'static Slot, num: usize, size: usize) -> *mut c_void {
    match kind::calloc(s, num, size) {
        Ok(p) if !p.is_null() => counted(s, p),
        Ok(p) => p,
        Err(e) => fail(e),
    }
}

/// Zeroed `num * size` bytes from the tier the policy picks.
#[no_mangle]
pub unsafe extern "C" fn memtier_calloc(
    memory: *mut memtier_memory,
    num: usize,
    size: usize,
) -> *mut c_void {
    boundary(|| {
        // SAFETY: memory is NULL or from memtier_builder_construct_memtier_memory.
        match unsafe { self::memory(memory) } {
            Some(m) => calloc_in(m.pick(num.saturating_mul(size)), num, size),
            None => fail(Error::Invalid),
        }
    })
}

/// `memkind_calloc` on `kind`, counted.
#[no_mangle]
pub extern "C" fn memtier_kind_calloc(kind: memkind_t, num: usize, size: usize) -> *mut c_void {
    boundary(|| match slot(kind) {
        Some(s) => calloc_in(s, num, size),
        None => fail(Error::Invalid),
    })
}

/// Resizes `ptr` within the tier that holds it; NULL `ptr` allocates through `memory`,
/// size 0 frees.
#[no_mangle]
pub unsafe extern "C" fn memtier_realloc(
    memory: *mut memtier_memory,
    ptr: *mut c_void,
    size: usize,
) -> *mut c_void {
    boundary(|| {
        if ptr.is_null() {
            // SAFETY: per this function's contract.
            return unsafe { memtier_malloc(memory, size) };
        }
        if size == 0 {
            free(ptr, "memtier_realloc");
            return std::ptr::null_mut();
        }
        match kind::detect(ptr) {
            Some(s) => realloc_in(s, ptr, size, "memtier_realloc"),
            None => {
                kind::report_foreign("memtier_realloc", ptr);
                fail(Error::Invalid)
            }
        }
    })
}

/// Resizes `ptr` into `kind`; NULL `ptr` allocates, size 0 frees.
#[no_mangle]
pub extern "C" fn memtier_kind_realloc(
    kind: memkind_t,
    ptr: *mut c_void,
    size: usize,
) -> *mut c_void {
    boundary(|| {
        if ptr.is_null() {
            return memtier_kind_malloc(kind, size);
        }
        if size == 0 {
            free(ptr, "memtier_kind_realloc");
            return std::ptr::null_mut();
        }
        let target = if kind.is_null() {
            kind::detect(ptr)
        } else {
            slot(kind)
        };
        match target {
            Some(t) => realloc_in(t, ptr, size, "memtier_kind_realloc"),
            None => fail(Error::Invalid),
        }
    })
}

/// `posix_memalign` into the kind `target` yields (EINVAL for a bad alignment or no kind),
/// counted.
fn memalign(
    memptr: *mut *mut c_void,
    align: usize,
    size: usize,
    target: impl FnOnce() -> Option<&'static Slot>,
) -> c_int {
    if bad_alignment(memptr, align) {
        return libc::EINVAL;
    }
    let Some(s) = target() else {
        return libc::EINVAL;
    };
    match kind::aligned(s, align, size) {
        Ok(p) => {
            let p = if p.is_null() { p } else { counted(s, p) };
            // SAFETY: memptr was checked non-NULL above.
            unsafe { *memptr = p };
            0
        }
        Err(Error::Invalid) => libc::EINVAL,
        Err(_) => libc::ENOMEM,
    }
}

/// Aligned allocation from the tier the policy picks; EINVAL for a bad alignment.
#[no_mangle]
pub unsafe extern "C" fn memtier_posix_memalign(
    memory: *mut memtier_memory,
    memptr: *mut *mut c_void,
    alignment: usize,
    size: usize,
) -> c_int {
    boundary_int::<{ libc::ENOMEM }, _>(|| {
        memalign(memptr, alignment, size, || {
            // SAFETY: memory is NULL or from memtier_builder_construct_memtier_memory.
            unsafe { self::memory(memory) }.map(|m| m.pick(size))
        })
    })
}

/// `memkind_posix_memalign` on `kind`, counted.
#[no_mangle]
pub unsafe extern "C" fn memtier_kind_posix_memalign(
    kind: memkind_t,
    memptr: *mut *mut c_void,
    alignment: usize,
    size: usize,
) -> c_int {
    boundary_int::<{ libc::ENOMEM }, _>(|| memalign(memptr, alignment, size, || slot(kind)))
}

/// Usable bytes of a block; 0 for NULL or a pointer no kind owns.
#[no_mangle]
pub extern "C" fn memtier_usable_size(ptr: *mut c_void) -> usize {
    boundary(|| kind::usable_size_or_report("memtier_usable_size", ptr))
}

/// Frees a block of any kind and uncounts it.
#[no_mangle]
pub extern "C" fn memtier_free(ptr: *mut c_void) {
    boundary(|| free(ptr, "memtier_free"))
}

/// Frees a block; the owning kind is found from the pointer, whatever `kind` says.
#[no_mangle]
pub extern "C" fn memtier_kind_free(kind: memkind_t, ptr: *mut c_void) {
    let _ = kind;
    boundary(|| free(ptr, "memtier_kind_free"))
}

/// Bytes allocated in `kind` through this API and not yet freed; 0 for an unknown kind.
#[no_mangle]
pub extern "C" fn memtier_kind_allocated_size(kind: memkind_t) -> usize {
    boundary(|| match kind::slot_of_handle(kind as *const c_void) {
        Some(s) => counter(s).sum().max(0) as usize,
        None => 0,
    })
}
