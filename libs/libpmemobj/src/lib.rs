//! libpmemobj: PMDK 1.12 compatible persistent object pools on our persistence primitives.
//! This file is the C boundary: every export converts its arguments, runs inside
//! `boundary` (no panic reaches C; a panic yields the function's documented failure value)
//! and sets errno and the error text on failure. The pool format, recovery and allocator
//! live in the modules below.
#![allow(clippy::missing_safety_doc)]

pub mod error;
pub mod heap;
pub mod layout;
pub mod media;
pub mod os;
pub mod pool;
pub mod ulog;

use error::{set_err, set_errno, Error};
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI32, Ordering};

/// Bumped on every close; the inline `pmemobj_direct` of the header compares it with its
/// per-thread cache.
#[no_mangle]
pub static _pobj_cache_invalidate: AtomicI32 = AtomicI32::new(0);

pub fn bump_cache_invalidate() {
    _pobj_cache_invalidate.fetch_add(1, Ordering::AcqRel);
}

/// `PMEMoid` as C lays it out.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PMEMoid {
    pub pool_uuid_lo: u64,
    pub off: u64,
}

const OID_NULL: PMEMoid = PMEMoid {
    pool_uuid_lo: 0,
    off: 0,
};

pub type Constr = Option<unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_void) -> c_int>;

fn boundary<T>(fail: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => {
            set_err(format_args!("internal error"));
            set_errno(libc::EIO);
            fail
        }
    }
}

/// Optional C string argument.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn cstr<'a>(p: *const c_char) -> Option<&'a CStr> {
    if p.is_null() {
        None
    } else {
        // SAFETY: caller guarantee.
        Some(unsafe { CStr::from_ptr(p) })
    }
}

fn fail_ptr<T>(e: Error) -> *mut T {
    set_errno(e.0);
    std::ptr::null_mut()
}

#[no_mangle]
pub unsafe extern "C" fn pmemobj_create(
    path: *const c_char,
    layout: *const c_char,
    poolsize: usize,
    mode: libc::mode_t,
) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        // SAFETY: C strings from the caller.
        let (Some(p), l) = (unsafe { cstr(path) }, unsafe { cstr(layout) }) else {
            set_err(format_args!("invalid path (NULL)"));
            return fail_ptr(Error(libc::EINVAL));
        };
        match pool::create(p, l, poolsize, mode) {
            Ok(pool) => pool.mem.base as *mut c_void,
            Err(e) => fail_ptr(e),
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn pmemobj_open(path: *const c_char, layout: *const c_char) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        // SAFETY: C strings from the caller.
        let (Some(p), l) = (unsafe { cstr(path) }, unsafe { cstr(layout) }) else {
            set_err(format_args!("invalid path (NULL)"));
            return fail_ptr(Error(libc::EINVAL));
        };
        match pool::open(p, l) {
            Ok(pool) => pool.mem.base as *mut c_void,
            Err(e) => fail_ptr(e),
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn pmemobj_check(path: *const c_char, layout: *const c_char) -> c_int {
    boundary(-1, || {
        // SAFETY: C strings from the caller.
        let (Some(p), l) = (unsafe { cstr(path) }, unsafe { cstr(layout) }) else {
            set_err(format_args!("invalid path (NULL)"));
            set_errno(libc::EINVAL);
            return -1;
        };
        match pool::check(p, l) {
            Ok(true) => 1,
            Ok(false) => 0,
            Err(e) => {
                set_errno(e.0);
                -1
            }
        }
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_close(pop: *mut c_void) {
    boundary((), || {
        if !pool::close(pop as *const u8) {
            set_err(format_args!("pmemobj_close: {pop:p} is not an open pool"));
        }
    })
}

fn constr_fn<'a>(
    pop: *mut c_void,
    constructor: Constr,
    arg: *mut c_void,
) -> impl FnMut(*mut u8, usize) -> i32 + 'a {
    move |p, _| match constructor {
        // SAFETY: the user's constructor gets the pool and the new object, as documented.
        Some(f) => unsafe { f(pop, p as *mut c_void, arg) },
        None => 0,
    }
}

#[no_mangle]
pub extern "C" fn pmemobj_root_construct(
    pop: *mut c_void,
    size: usize,
    constructor: Constr,
    arg: *mut c_void,
) -> PMEMoid {
    boundary(OID_NULL, || {
        let Some(p) = pool::by_base(pop as *const u8) else {
            set_err(format_args!("invalid pool handle"));
            set_errno(libc::EINVAL);
            return OID_NULL;
        };
        let mut f = constr_fn(pop, constructor, arg);
        let init: Option<&mut dyn FnMut(*mut u8, usize) -> i32> = if constructor.is_some() {
            Some(&mut f)
        } else {
            None
        };
        match p.root(size, init) {
            Ok(off) => PMEMoid {
                pool_uuid_lo: p.uuid_lo,
                off,
            },
            Err(e) => {
                set_errno(e.0);
                OID_NULL
            }
        }
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_root(pop: *mut c_void, size: usize) -> PMEMoid {
    pmemobj_root_construct(pop, size, None, std::ptr::null_mut())
}

#[no_mangle]
pub extern "C" fn pmemobj_root_size(pop: *mut c_void) -> usize {
    boundary(0, || {
        pool::by_base(pop as *const u8)
            .map(|p| p.root_size() as usize)
            .unwrap_or(0)
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_pool_by_ptr(addr: *const c_void) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        pool::by_ptr(addr as *const u8)
            .map(|p| p.mem.base as *mut c_void)
            .unwrap_or(std::ptr::null_mut())
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_pool_by_oid(oid: PMEMoid) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        pool::by_uuid(oid.pool_uuid_lo)
            .map(|p| p.mem.base as *mut c_void)
            .unwrap_or(std::ptr::null_mut())
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_direct(oid: PMEMoid) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        if oid.off == 0 {
            return std::ptr::null_mut();
        }
        match pool::by_uuid(oid.pool_uuid_lo) {
            Some(p) if (oid.off as usize) < p.mem.len => p.mem.ptr(oid.off) as *mut c_void,
            _ => std::ptr::null_mut(),
        }
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_oid(addr: *const c_void) -> PMEMoid {
    boundary(OID_NULL, || match pool::by_ptr(addr as *const u8) {
        Some(p) => PMEMoid {
            pool_uuid_lo: p.uuid_lo,
            off: addr as u64 - p.mem.base as u64,
        },
        None => OID_NULL,
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_errormsg() -> *const c_char {
    boundary(c"internal error".as_ptr(), error::errormsg)
}

#[no_mangle]
pub extern "C" fn pmemobj_check_version(major: c_uint, minor: c_uint) -> *const c_char {
    boundary(std::ptr::null(), || {
        if major != 2 {
            set_err(format_args!(
                "libpmemobj major version mismatch (need {major}, found 2)"
            ));
            return error::errormsg();
        }
        if minor > 4 {
            set_err(format_args!(
                "libpmemobj minor version mismatch (need {minor}, found 4)"
            ));
            return error::errormsg();
        }
        std::ptr::null()
    })
}

const XALLOC_VALID: u64 = 1 | 2 | (0xffff << 48) | (0xffff << 32);

fn do_alloc(
    pop: *mut c_void,
    oidp: *mut PMEMoid,
    size: usize,
    type_num: u64,
    flags: u64,
    init: &mut dyn FnMut(*mut u8, usize) -> i32,
) -> c_int {
    if flags & !XALLOC_VALID != 0 {
        set_err(format_args!("unknown flags {:#x}", flags & !XALLOC_VALID));
        set_errno(libc::EINVAL);
        return -1;
    }
    let Some(p) = pool::by_base(pop as *const u8) else {
        set_err(format_args!("invalid pool handle"));
        set_errno(libc::EINVAL);
        return -1;
    };
    // SAFETY: `oidp` is NULL or the caller's PMEMoid, as the C API requires.
    match unsafe {
        p.alloc(
            oidp as *mut [u64; 2],
            size,
            type_num,
            flags & 1 != 0,
            flags & 2 == 0,
            init,
        )
    } {
        Ok(_) => 0,
        Err(e) => {
            set_errno(e.0);
            -1
        }
    }
}

#[no_mangle]
pub extern "C" fn pmemobj_xalloc(
    pop: *mut c_void,
    oidp: *mut PMEMoid,
    size: usize,
    type_num: u64,
    flags: u64,
    constructor: Constr,
    arg: *mut c_void,
) -> c_int {
    boundary(-1, || {
        let mut f = constr_fn(pop, constructor, arg);
        do_alloc(pop, oidp, size, type_num, flags, &mut f)
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_alloc(
    pop: *mut c_void,
    oidp: *mut PMEMoid,
    size: usize,
    type_num: u64,
    constructor: Constr,
    arg: *mut c_void,
) -> c_int {
    pmemobj_xalloc(pop, oidp, size, type_num, 0, constructor, arg)
}

#[no_mangle]
pub extern "C" fn pmemobj_zalloc(
    pop: *mut c_void,
    oidp: *mut PMEMoid,
    size: usize,
    type_num: u64,
) -> c_int {
    pmemobj_xalloc(pop, oidp, size, type_num, 1, None, std::ptr::null_mut())
}

fn do_realloc(
    pop: *mut c_void,
    oidp: *mut PMEMoid,
    size: usize,
    type_num: u64,
    zero: bool,
) -> c_int {
    boundary(-1, || {
        if oidp.is_null() {
            set_err(format_args!("NULL object id pointer"));
            set_errno(libc::EINVAL);
            return -1;
        }
        let Some(p) = pool::by_base(pop as *const u8) else {
            set_err(format_args!("invalid pool handle"));
            set_errno(libc::EINVAL);
            return -1;
        };
        // SAFETY: non-NULL PMEMoid pointer from the caller.
        let oid = unsafe { *oidp };
        if oid.off != 0 && oid.pool_uuid_lo != p.uuid_lo {
            set_err(format_args!("object id belongs to another pool"));
            set_errno(libc::EINVAL);
            return -1;
        }
        // SAFETY: non-NULL PMEMoid of this pool (checked above).
        match unsafe { p.realloc(oidp as *mut [u64; 2], size, type_num, zero) } {
            Ok(()) => 0,
            Err(e) => {
                set_errno(e.0);
                -1
            }
        }
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_realloc(
    pop: *mut c_void,
    oidp: *mut PMEMoid,
    size: usize,
    type_num: u64,
) -> c_int {
    do_realloc(pop, oidp, size, type_num, false)
}

#[no_mangle]
pub extern "C" fn pmemobj_zrealloc(
    pop: *mut c_void,
    oidp: *mut PMEMoid,
    size: usize,
    type_num: u64,
) -> c_int {
    do_realloc(pop, oidp, size, type_num, true)
}

fn dup_bytes(
    pop: *mut c_void,
    oidp: *mut PMEMoid,
    src: *const u8,
    len: usize,
    type_num: u64,
) -> c_int {
    let persist_pool = pool::by_base(pop as *const u8);
    let mut init = |p: *mut u8, _: usize| {
        // SAFETY: the new block holds at least len bytes; src is the caller's string.
        unsafe { std::ptr::copy_nonoverlapping(src, p, len) };
        if let Some(pp) = &persist_pool {
            pp.mem.flush(p as u64 - pp.mem.base as u64, len);
        }
        0
    };
    do_alloc(pop, oidp, len, type_num, 0, &mut init)
}

#[no_mangle]
pub unsafe extern "C" fn pmemobj_strdup(
    pop: *mut c_void,
    oidp: *mut PMEMoid,
    s: *const c_char,
    type_num: u64,
) -> c_int {
    boundary(-1, || {
        if s.is_null() {
            set_err(format_args!("NULL string"));
            set_errno(libc::EINVAL);
            return -1;
        }
        // SAFETY: NUL-terminated string from the caller.
        let len = unsafe { os::strlen(s) } + 1;
        dup_bytes(pop, oidp, s as *const u8, len, type_num)
    })
}

#[no_mangle]
pub unsafe extern "C" fn pmemobj_wcsdup(
    pop: *mut c_void,
    oidp: *mut PMEMoid,
    s: *const libc::wchar_t,
    type_num: u64,
) -> c_int {
    boundary(-1, || {
        if s.is_null() {
            set_err(format_args!("NULL string"));
            set_errno(libc::EINVAL);
            return -1;
        }
        let mut n = 0;
        // SAFETY: NUL-terminated wide string from the caller.
        while unsafe { *s.add(n) } != 0 {
            n += 1;
        }
        let len = (n + 1) * std::mem::size_of::<libc::wchar_t>();
        dup_bytes(pop, oidp, s as *const u8, len, type_num)
    })
}

#[no_mangle]
pub unsafe extern "C" fn pmemobj_free(oidp: *mut PMEMoid) {
    boundary((), || {
        if oidp.is_null() {
            return;
        }
        // SAFETY: non-NULL PMEMoid pointer from the caller.
        let oid = unsafe { *oidp };
        if oid.off == 0 {
            return;
        }
        match pool::by_uuid(oid.pool_uuid_lo) {
            // SAFETY: non-NULL PMEMoid from the caller.
            Some(p) => unsafe { p.free(oidp as *mut [u64; 2], oid.off) },
            None => set_err(format_args!("pmemobj_free: object id of no open pool")),
        }
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_alloc_usable_size(oid: PMEMoid) -> usize {
    boundary(0, || {
        if oid.off == 0 {
            return 0;
        }
        pool::by_uuid(oid.pool_uuid_lo)
            .map(|p| p.usable_size(oid.off))
            .unwrap_or(0)
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_type_num(oid: PMEMoid) -> u64 {
    boundary(0, || {
        if oid.off == 0 {
            return 0;
        }
        pool::by_uuid(oid.pool_uuid_lo)
            .map(|p| p.type_num(oid.off))
            .unwrap_or(0)
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_first(pop: *mut c_void) -> PMEMoid {
    boundary(OID_NULL, || match pool::by_base(pop as *const u8) {
        Some(p) => match p.first() {
            0 => OID_NULL,
            off => PMEMoid {
                pool_uuid_lo: p.uuid_lo,
                off,
            },
        },
        None => OID_NULL,
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_next(oid: PMEMoid) -> PMEMoid {
    boundary(OID_NULL, || {
        if oid.off == 0 {
            return OID_NULL;
        }
        match pool::by_uuid(oid.pool_uuid_lo) {
            Some(p) => match p.next(oid.off) {
                0 => OID_NULL,
                off => PMEMoid {
                    pool_uuid_lo: p.uuid_lo,
                    off,
                },
            },
            None => OID_NULL,
        }
    })
}

// --- persistence --------------------------------------------------------------------

fn with_media(pop: *mut c_void, f: impl FnOnce(&media::Media)) {
    match pool::by_base(pop as *const u8) {
        Some(p) => f(&p.mem.media),
        None => f(&media::Media::Pmem),
    }
}

#[no_mangle]
pub extern "C" fn pmemobj_persist(pop: *mut c_void, addr: *const c_void, len: usize) {
    boundary((), || {
        // SAFETY: the caller passes a range of the pool.
        with_media(pop, |m| unsafe { m.persist(addr as *const u8, len) })
    })
}

/// The flags of `pmemobj_xpersist`/`pmemobj_xflush`: only PMEMOBJ_F_RELAXED (bit 31);
/// anything else is EINVAL with a message.
fn x_flags_ok(flags: c_uint) -> bool {
    if flags & !(1u32 << 31) != 0 {
        set_err(format_args!("invalid flags {flags:#x}"));
        set_errno(libc::EINVAL);
        return false;
    }
    true
}

#[no_mangle]
pub extern "C" fn pmemobj_xpersist(
    pop: *mut c_void,
    addr: *const c_void,
    len: usize,
    flags: c_uint,
) -> c_int {
    if !x_flags_ok(flags) {
        return -1;
    }
    pmemobj_persist(pop, addr, len);
    0
}

#[no_mangle]
pub extern "C" fn pmemobj_flush(pop: *mut c_void, addr: *const c_void, len: usize) {
    boundary((), || {
        // SAFETY: the caller passes a range of the pool.
        with_media(pop, |m| unsafe { m.flush(addr as *const u8, len) })
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_xflush(
    pop: *mut c_void,
    addr: *const c_void,
    len: usize,
    flags: c_uint,
) -> c_int {
    if !x_flags_ok(flags) {
        return -1;
    }
    pmemobj_flush(pop, addr, len);
    0
}

#[no_mangle]
pub extern "C" fn pmemobj_drain(pop: *mut c_void) {
    boundary((), || with_media(pop, |m| m.drain()))
}

fn copy_op(
    pop: *mut c_void,
    dst: *mut c_void,
    len: usize,
    flags: c_uint,
    pm: impl FnOnce(),
    plain: impl FnOnce(),
) -> *mut c_void {
    boundary(dst, || {
        with_media(pop, |m| match m {
            media::Media::Pmem => pm(),
            other => {
                plain();
                if flags & persist::PMEM_F_MEM_NOFLUSH == 0 {
                    // SAFETY: the caller passes a range of the pool.
                    unsafe { other.flush(dst as *const u8, len) };
                    if flags & persist::PMEM_F_MEM_NODRAIN == 0 {
                        other.drain();
                    }
                }
            }
        });
        dst
    })
}

#[no_mangle]
pub unsafe extern "C" fn pmemobj_memmove(
    pop: *mut c_void,
    dst: *mut c_void,
    src: *const c_void,
    len: usize,
    flags: c_uint,
) -> *mut c_void {
    copy_op(
        pop,
        dst,
        len,
        flags,
        // SAFETY: caller's ranges; the persist primitive handles overlap.
        || unsafe { persist::copy::memmove(dst as *mut u8, src as *const u8, len, flags & 0x3f) },
        // SAFETY: caller's ranges; ptr::copy handles overlap.
        || unsafe { std::ptr::copy(src as *const u8, dst as *mut u8, len) },
    )
}

#[no_mangle]
pub unsafe extern "C" fn pmemobj_memcpy(
    pop: *mut c_void,
    dst: *mut c_void,
    src: *const c_void,
    len: usize,
    flags: c_uint,
) -> *mut c_void {
    // SAFETY: forwarded caller guarantees.
    unsafe { pmemobj_memmove(pop, dst, src, len, flags) }
}

#[no_mangle]
pub unsafe extern "C" fn pmemobj_memset(
    pop: *mut c_void,
    dst: *mut c_void,
    c: c_int,
    len: usize,
    flags: c_uint,
) -> *mut c_void {
    copy_op(
        pop,
        dst,
        len,
        flags,
        // SAFETY: caller's range.
        || unsafe { persist::copy::memset(dst as *mut u8, c as u8, len, flags & 0x3f) },
        // SAFETY: caller's range.
        || unsafe { std::ptr::write_bytes(dst as *mut u8, c as u8, len) },
    )
}

#[no_mangle]
pub unsafe extern "C" fn pmemobj_memcpy_persist(
    pop: *mut c_void,
    dst: *mut c_void,
    src: *const c_void,
    len: usize,
) -> *mut c_void {
    // SAFETY: forwarded caller guarantees.
    unsafe { pmemobj_memmove(pop, dst, src, len, 0) }
}

#[no_mangle]
pub unsafe extern "C" fn pmemobj_memset_persist(
    pop: *mut c_void,
    dst: *mut c_void,
    c: c_int,
    len: usize,
) -> *mut c_void {
    // SAFETY: forwarded caller guarantees.
    unsafe { pmemobj_memset(pop, dst, c, len, 0) }
}

#[no_mangle]
pub extern "C" fn pmemobj_set_user_data(pop: *mut c_void, data: *mut c_void) {
    boundary((), || {
        if let Some(p) = pool::by_base(pop as *const u8) {
            p.user_data.store(data, Ordering::Release);
        }
    })
}

#[no_mangle]
pub extern "C" fn pmemobj_get_user_data(pop: *mut c_void) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        pool::by_base(pop as *const u8)
            .map(|p| p.user_data.load(Ordering::Acquire))
            .unwrap_or(std::ptr::null_mut())
    })
}

/// Volatile allocations of the library use Rust's allocator; the hooks are accepted and
/// not needed.
#[no_mangle]
pub extern "C" fn pmemobj_set_funcs(
    _malloc: Option<unsafe extern "C" fn(usize) -> *mut c_void>,
    _free: Option<unsafe extern "C" fn(*mut c_void)>,
    _realloc: Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>,
    _strdup: Option<unsafe extern "C" fn(*const c_char) -> *mut c_char>,
) {
}

#[no_mangle]
pub extern "C" fn _pobj_debug_notice(_func: *const c_char, _file: *const c_char, _line: c_int) {}
