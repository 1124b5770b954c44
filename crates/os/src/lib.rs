//! The OS primitives layer: the only place that calls `mmap`, `fallocate`, `madvise` and
//! opens the backing files. Every function returns `Err(errno)` on failure and leaves no
//! partial state behind (a failed reservation is unmapped, a failed open closes its fd).

pub mod file;
pub mod lock;
mod remap;
mod sigbus;
pub mod tls;

pub use remap::{atfork, for_each_shared_mapping, map_file_private};
pub use sigbus::install_sigbus_fallback;

use std::ffi::CStr;
use std::os::raw::c_int;
use std::os::unix::ffi::OsStrExt;

pub type SysResult<T> = std::result::Result<T, c_int>;

fn errno() -> c_int {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Runs `f` and restores `errno` afterwards, so a call that succeeds does not leak the
/// errno of internal probing (missing /sys files and the like).
pub fn preserving_errno<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: __errno_location always returns the calling thread's errno slot.
    let slot = unsafe { libc::__errno_location() };
    // SAFETY: slot is this thread's errno, valid for the thread's lifetime.
    let saved = unsafe { *slot };
    let r = f();
    // SAFETY: still this thread's errno slot: f ran on the same thread.
    unsafe { *slot = saved };
    r
}

pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

/// Reserves `len` bytes of address space aligned to `align` (a power of two), inaccessible
/// until mapped again with [`map_anon_rw`] or [`map_file`]. Costs no memory.
pub fn reserve(len: usize, align: usize) -> SysResult<usize> {
    let total = len.checked_add(align).ok_or(libc::ENOMEM)?;
    // SAFETY: a fresh anonymous PROT_NONE mapping touches no existing memory.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            total,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(errno());
    }
    let start = p as usize;
    let aligned = (start + align - 1) & !(align - 1);
    // Trim the slack on both sides so only [aligned, aligned+len) stays reserved.
    if aligned > start {
        unmap(start, aligned - start);
    }
    let end = aligned + len;
    if start + total > end {
        unmap(end, start + total - end);
    }
    Ok(aligned)
}

/// Where the next kind reservation is tried: addresses advance through [32 TiB, 96 TiB)
/// and wrap, so a destroyed kind's range is not handed to the next kind at once and a
/// stale pointer into it finds no kind there (the chunk map reports it).
static NEXT_RESERVATION: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(ROTATE_LO);
const ROTATE_LO: usize = 32 << 40;
const ROTATE_HI: usize = 96 << 40;

/// [`reserve`] at a fresh address: `len` bytes aligned to `align` (a power of two dividing
/// 1 GiB or a multiple of it), at the rotating cursor when that range is free, else
/// wherever the kernel puts it.
///
/// Post: as for [`reserve`]; no existing mapping is touched (MAP_FIXED_NOREPLACE).
pub fn reserve_fresh(len: usize, align: usize) -> SysResult<usize> {
    for _ in 0..16 {
        let cur = NEXT_RESERVATION.load(std::sync::atomic::Ordering::Relaxed);
        let at = cur.next_multiple_of(align);
        let next = match at.checked_add(len) {
            Some(end) if end <= ROTATE_HI => end,
            _ => ROTATE_LO,
        };
        let _ = NEXT_RESERVATION.compare_exchange(
            cur,
            next,
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
        );
        if next == ROTATE_LO {
            continue;
        }
        // Bounded (16 tries); a kernel that takes the address only as a hint makes each
        // try fail, and the kernel's own choice follows.
        if reserve_exact(at, len) {
            return Ok(at);
        }
    }
    reserve(len, align)
}

/// Replaces part of a reservation with private anonymous read-write memory; pages are
/// only backed when first touched.
pub fn map_anon_rw(addr: usize, len: usize) -> SysResult<()> {
    // SAFETY: MAP_FIXED only over address space this library reserved itself.
    let p = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        Err(errno())
    } else {
        Ok(())
    }
}

/// Maps `len` bytes of `fd` from `offset` shared and read-write over part of a reservation.
pub fn map_file(addr: usize, len: usize, fd: c_int, offset: u64) -> SysResult<()> {
    map_fixed_rw(addr, len, fd, offset, libc::MAP_SHARED)
}

/// `mmap(addr, len, PROT_READ|PROT_WRITE, MAP_FIXED|flags, fd, offset)` over address space
/// this library reserved; on failure the range may be unmapped (MAP_FIXED semantics).
pub(crate) fn map_fixed_rw(
    addr: usize,
    len: usize,
    fd: c_int,
    offset: u64,
    flags: c_int,
) -> SysResult<()> {
    // SAFETY: MAP_FIXED only over address space this library reserved itself (the
    // callers' precondition).
    let p = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_FIXED | flags,
            fd,
            offset as libc::off_t,
        )
    };
    if p == libc::MAP_FAILED {
        Err(errno())
    } else {
        Ok(())
    }
}

/// Gives back a reservation after a `MAP_FIXED` mapping over it failed. The kernel may have
/// unmapped the range before the failure (a file system's mmap hook refuses only then), and
/// another thread may have mapped into the hole since: unmapping the range blindly could
/// take that mapping away. The range is taken back where it is wholly free and then
/// released; where anything is mapped in it, it is left as it is (address space only: a
/// reservation costs no memory, and this is a failure path).
pub fn release_after_failed_map(addr: usize, len: usize) {
    if reserve_exact(addr, len) {
        unmap(addr, len);
    }
}

pub fn unmap(addr: usize, len: usize) {
    // SAFETY: only ranges this library mapped are passed here.
    unsafe { libc::munmap(addr as *mut libc::c_void, len) };
}

/// Drops the pages of an anonymous range; it reads as zeros afterwards.
pub fn discard(addr: usize, len: usize) -> bool {
    // SAFETY: the range belongs to a reservation of ours and holds no live allocation.
    unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED) == 0 }
}

/// Lets the kernel reclaim an anonymous range lazily.
pub fn discard_lazy(addr: usize, len: usize) -> bool {
    // SAFETY: the range belongs to a reservation of ours and holds no live allocation.
    unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_FREE) == 0 }
}

/// Takes file-system blocks for `[offset, offset+len)` so later page faults cannot fail.
pub fn reserve_blocks(fd: c_int, offset: u64, len: usize) -> SysResult<()> {
    // SAFETY: plain syscall on a descriptor we own.
    let r = unsafe { libc::fallocate(fd, 0, offset as libc::off_t, len as libc::off_t) };
    if r == 0 {
        return Ok(());
    }
    let e = errno();
    if e == libc::EOPNOTSUPP {
        // File systems without fallocate: posix_fallocate writes the blocks instead.
        // SAFETY: plain libc call on a descriptor we own.
        let r = unsafe { libc::posix_fallocate(fd, offset as libc::off_t, len as libc::off_t) };
        return if r == 0 { Ok(()) } else { Err(r) };
    }
    Err(e)
}

/// Gives the blocks of `[offset, offset+len)` back to the file system; the range reads as
/// zeros afterwards and its pages leave every mapping of the file.
pub fn release_blocks(fd: c_int, offset: u64, len: usize) -> SysResult<()> {
    // SAFETY: plain syscall on a descriptor we own.
    let r = unsafe {
        libc::fallocate(
            fd,
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            offset as libc::off_t,
            len as libc::off_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

pub fn set_file_len(fd: c_int, len: u64) -> SysResult<()> {
    // SAFETY: plain syscall on a descriptor we own.
    if unsafe { libc::ftruncate(fd, len as libc::off_t) } == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

pub fn close(fd: c_int) {
    // SAFETY: only descriptors this library opened are closed here.
    unsafe { libc::close(fd) };
}

/// Opens an unlinked temporary file in `dir`: never visible there, gone when the last
/// descriptor or mapping goes, also after a crash.
pub fn open_unlinked_tmp(dir: &CStr) -> SysResult<c_int> {
    let dir_bytes = dir.to_bytes();
    if dir_bytes.is_empty() {
        return Err(libc::EINVAL);
    }
    check_dir(dir)?;
    let e = match open_tmpfile(dir) {
        Ok(fd) => return Ok(out_of_the_way(fd)),
        Err(e) => e,
    };
    if e != libc::EOPNOTSUPP && e != libc::EISDIR && e != libc::EINVAL {
        return Err(e);
    }
    // No O_TMPFILE on this file system: create a unique name and unlink it at once.
    let mut template = Vec::with_capacity(dir_bytes.len() + 20);
    template.extend_from_slice(dir_bytes);
    template.extend_from_slice(b"/memkind.XXXXXX\0");
    // SAFETY: template is NUL-terminated and writable, as mkostemp requires.
    let fd = unsafe { libc::mkostemp(template.as_mut_ptr() as *mut libc::c_char, libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: template now holds the created file's NUL-terminated path.
    unsafe { libc::unlink(template.as_ptr() as *const libc::c_char) };
    Ok(out_of_the_way(fd))
}

/// Moves a descriptor of ours above the low numbers: programs (and their children, through
/// `pass_fds`, shell redirections, `dup2`) expect 3, 4, ... to be free for their own use,
/// and a kind's file may be opened in the middle of a run (under the interposer, at the
/// first allocation of a file tier). The copy goes to half the soft descriptor limit (at
/// most 512); when that fails the original is kept.
///
/// Post: the returned descriptor refers to the same file, close-on-exec; `fd` is closed
/// if a new one was made.
pub fn out_of_the_way(fd: c_int) -> c_int {
    // SAFETY: rlimit is plain old data; all-zero bytes are a valid value.
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: rl is a writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 || rl.rlim_cur < 64 {
        return fd;
    }
    let floor = (rl.rlim_cur / 2).min(512) as c_int;
    if fd >= floor {
        return fd;
    }
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on our own descriptor has no memory preconditions.
    let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, floor) };
    if high < 0 {
        return fd;
    }
    close(fd);
    high
}

/// `O_TMPFILE` in `dir`: a file that never has a name.
fn open_tmpfile(dir: &CStr) -> SysResult<c_int> {
    // SAFETY: dir is a valid NUL-terminated string.
    let fd = unsafe {
        libc::open(
            dir.as_ptr(),
            libc::O_TMPFILE | libc::O_RDWR | libc::O_EXCL | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    };
    if fd >= 0 {
        Ok(fd)
    } else {
        Err(errno())
    }
}

/// An unlinked file for a forked process's own part of a kind (what it commits after the
/// fork): `O_TMPFILE` in `dir` when it can, else anonymous shared memory (memfd).
/// Allocation-free, as fork handlers must be.
pub fn open_fork_copy(dir: Option<&CStr>) -> SysResult<c_int> {
    if let Some(fd) = dir.and_then(|d| open_tmpfile(d).ok()) {
        return Ok(out_of_the_way(fd));
    }
    // SAFETY: the name is a NUL-terminated literal.
    let fd = unsafe { libc::memfd_create(c"memkind-fork".as_ptr(), libc::MFD_CLOEXEC) };
    if fd >= 0 {
        Ok(out_of_the_way(fd))
    } else {
        Err(errno())
    }
}

/// Makes descriptor `dst` refer to `src`'s file (close-on-exec) and closes `src`.
pub fn move_fd(src: c_int, dst: c_int) -> SysResult<()> {
    // SAFETY: plain syscalls on descriptors we own.
    let r = unsafe { libc::dup3(src, dst, libc::O_CLOEXEC) };
    let e = errno();
    close(src);
    if r < 0 {
        Err(e)
    } else {
        Ok(())
    }
}

/// The path must be an existing directory we may write into.
pub fn check_dir(dir: &CStr) -> SysResult<()> {
    // SAFETY: stat is plain old data; all-zero bytes are a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: dir is NUL-terminated and st is a writable stat buffer.
    if unsafe { libc::stat(dir.as_ptr(), &mut st) } != 0 {
        return Err(errno());
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(libc::ENOTDIR);
    }
    // SAFETY: dir is NUL-terminated.
    if unsafe { libc::access(dir.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
        return Err(errno());
    }
    Ok(())
}

/// Total size in bytes of the file system holding `fd`.
pub fn fs_size(fd: c_int) -> SysResult<u64> {
    // SAFETY: statvfs is plain old data; all-zero bytes are a valid value.
    let mut sv: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: sv is a writable statvfs buffer; a bad fd only yields EBADF.
    if unsafe { libc::fstatvfs(fd, &mut sv) } != 0 {
        return Err(errno());
    }
    Ok((sv.f_blocks as u64).saturating_mul(sv.f_frsize as u64))
}

/// Bytes an unprivileged process may still allocate on the file system holding `fd`.
/// Pre: none. Post: `Err(errno)` of `fstatvfs` (EBADF for a bad descriptor).
pub fn fs_free(fd: c_int) -> SysResult<u64> {
    // SAFETY: statvfs is plain old data; all-zero bytes are a valid value.
    let mut sv: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: sv is a writable statvfs buffer; a bad fd only yields EBADF.
    if unsafe { libc::fstatvfs(fd, &mut sv) } != 0 {
        return Err(errno());
    }
    Ok((sv.f_bavail as u64).saturating_mul(sv.f_frsize as u64))
}

/// Physical memory of the machine in bytes.
pub fn total_ram() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    if pages > 0 {
        pages as u64 * page_size() as u64
    } else {
        0
    }
}

/// Whether a file in `dir` can be mapped with MAP_SYNC, i.e. the directory is on a DAX
/// file system.
pub fn dir_supports_map_sync(dir: &CStr) -> SysResult<bool> {
    let fd = open_unlinked_tmp(dir)?;
    let len = page_size();
    let result = match reserve_blocks(fd, 0, len) {
        Err(e) => Err(e),
        Ok(()) => {
            const MAP_SHARED_VALIDATE: c_int = 0x03;
            const MAP_SYNC: c_int = 0x80000;
            // SAFETY: a fresh mapping chosen by the kernel, unmapped right away.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    MAP_SHARED_VALIDATE | MAP_SYNC,
                    fd,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                Ok(false)
            } else {
                unmap(p as usize, len);
                Ok(true)
            }
        }
    };
    close(fd);
    result
}

/// CPUs online, read once: glibc answers from /sys each time, and every kind creation asks.
pub fn num_cpus() -> usize {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.load(std::sync::atomic::Ordering::Relaxed);
    if n != 0 {
        return n;
    }
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    let n = if n > 0 { n as usize } else { 1 };
    N.store(n, std::sync::atomic::Ordering::Relaxed);
    n
}

/// Writes one line to stderr without allocating (usable inside allocator paths).
pub fn report(parts: &[&[u8]]) {
    let mut buf = [0u8; 256];
    let mut n = 0;
    for p in parts.iter().chain(std::iter::once(&&b"\n"[..])) {
        let take = p.len().min(buf.len() - n);
        buf[n..n + take].copy_from_slice(&p[..take]);
        n += take;
    }
    // SAFETY: buf[..n] is initialised; fd 2 may be closed, in which case write just fails.
    unsafe { libc::write(2, buf.as_ptr() as *const libc::c_void, n) };
}

/// Formats `v` as 0x-prefixed hex into `buf`, returning the used part.
pub fn hex(v: usize, buf: &mut [u8; 18]) -> &[u8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    buf[0] = b'0';
    buf[1] = b'x';
    for i in 0..16 {
        buf[2 + i] = DIGITS[(v >> ((15 - i) * 4)) & 0xf];
    }
    let first = (2..17).find(|&i| buf[i] != b'0').unwrap_or(17);
    buf.copy_within(first..18, 2);
    &buf[..2 + 18 - first]
}

// ---- NUMA and huge pages -------------------------------------------------------------

/// Node bits `mbind` and `move_pages` understand (see `crate::numa::MAX_NODES`).
pub const MAX_NODE_BITS: usize = 1024;

/// Sets the memory policy of `[addr, addr+len)` (`MPOL_BIND`, `MPOL_PREFERRED`,
/// `MPOL_INTERLEAVE`) to the nodes in `mask`; pages already present are left where they are.
pub fn mbind(addr: usize, len: usize, mode: c_int, mask: &[u64]) -> SysResult<()> {
    // The kernel reads maxnode - 1 bits, hence the + 1 (as libnuma passes it).
    let maxnode = (mask.len() * 64 + 1) as libc::c_ulong;
    // SAFETY: the range is part of a reservation of ours; mask holds maxnode - 1 bits.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mbind,
            addr as *mut libc::c_void,
            len as libc::c_ulong,
            mode,
            mask.as_ptr(),
            maxnode,
            0 as libc::c_uint,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// The NUMA node of the CPU the calling thread runs on (0 when the kernel cannot say).
pub fn current_node() -> usize {
    let (mut cpu, mut node): (libc::c_uint, libc::c_uint) = (0, 0);
    // SAFETY: getcpu writes two unsigned ints; the cache argument may be NULL.
    let r = unsafe {
        libc::syscall(
            libc::SYS_getcpu,
            &mut cpu as *mut libc::c_uint,
            &mut node as *mut libc::c_uint,
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    if r == 0 {
        node as usize
    } else {
        0
    }
}

/// For each page address in `pages`, the node holding it, or a negative errno
/// (`-ENOENT` for a page not yet touched, `-EFAULT` for an unmapped one).
pub fn page_nodes(pages: &[*mut libc::c_void], status: &mut [c_int]) -> SysResult<()> {
    debug_assert!(status.len() >= pages.len());
    // SAFETY: move_pages with NULL nodes only queries; both arrays hold pages.len() entries.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_pages,
            0 as libc::pid_t,
            pages.len() as libc::c_ulong,
            pages.as_ptr(),
            std::ptr::null::<c_int>(),
            status.as_mut_ptr(),
            0 as c_int,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// Faults in `[addr, addr+len)` for writing without changing its contents. Fails (EFAULT,
/// ENOMEM, EINVAL) on unmapped or read-only memory instead of raising SIGSEGV; ENOSYS on
/// kernels before 5.14, which lack MADV_POPULATE_WRITE.
pub fn populate_write(addr: usize, len: usize) -> SysResult<()> {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let supported = *SUPPORTED.get_or_init(|| {
        // A zero-length call only validates the advice.
        // SAFETY: a zero-length range touches nothing.
        unsafe {
            libc::madvise(
                page_size() as *mut libc::c_void,
                0,
                libc::MADV_POPULATE_WRITE,
            ) == 0
        }
    });
    if !supported {
        return Err(libc::ENOSYS);
    }
    // SAFETY: MADV_POPULATE_WRITE never changes data and reports bad ranges as errors.
    let r = unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE) };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// Keeps transparent huge pages out of a range (interleaved kinds spread small pages).
pub fn no_transparent_huge_pages(addr: usize, len: usize) {
    // SAFETY: advice only; the range belongs to a reservation of ours.
    unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_NOHUGEPAGE) };
}

/// Replaces part of a reservation with huge pages of `page` bytes (2 MiB or 1 GiB) from the
/// kernel's pool. Without MAP_NORESERVE the kernel reserves the pages now, so a short pool
/// fails here (ENOMEM) rather than with SIGBUS on first touch. On failure the range is
/// reserved again.
pub fn map_huge(addr: usize, len: usize, page: usize) -> SysResult<()> {
    const MAP_HUGE_SHIFT: c_int = 26;
    let log2 = page.trailing_zeros() as c_int;
    // SAFETY: MAP_FIXED only over address space this library reserved itself.
    let p = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE
                | libc::MAP_ANONYMOUS
                | libc::MAP_FIXED
                | libc::MAP_HUGETLB
                | (log2 << MAP_HUGE_SHIFT),
            -1,
            0,
        )
    };
    if p != libc::MAP_FAILED {
        return Ok(());
    }
    let e = errno();
    // A failed MAP_FIXED may have dropped the old mapping: take the range back.
    reserve_again(addr, len);
    Err(e)
}

/// Turns part of a reservation back into inaccessible address space, releasing whatever
/// backed it (e.g. huge pages whose binding failed).
pub fn reserve_again(addr: usize, len: usize) {
    // SAFETY: MAP_FIXED only over address space this library reserved itself.
    unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
            -1,
            0,
        )
    };
}

/// An environment variable, read without allocating (usable before and during start-up).
pub fn getenv(name: &CStr) -> Option<&'static [u8]> {
    // SAFETY: name is NUL-terminated; the returned string lives as long as the environment
    // entry, which the library never changes.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    if p.is_null() {
        None
    } else {
        // SAFETY: getenv returns a NUL-terminated string.
        Some(unsafe { CStr::from_ptr(p) }.to_bytes())
    }
}

/// Sets the calling thread's `errno`.
///
/// Post: `errno` reads `e` in this thread until the next call that sets it.
pub fn set_errno(e: i32) {
    // SAFETY: __errno_location always returns the valid thread-local errno slot.
    unsafe { *libc::__errno_location() = e };
}

/// The calling process's open descriptors, read from `/proc/self/fd` (empty if it cannot
/// be read).
pub fn open_fds() -> Vec<c_int> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Whether descriptor `fd` names a file (possibly unlinked) inside directory `dir`.
pub fn fd_in_dir(fd: c_int, dir: &CStr) -> bool {
    let Ok(target) = std::fs::read_link(format!("/proc/self/fd/{fd}")) else {
        return false;
    };
    let Ok(dir) = std::fs::canonicalize(std::ffi::OsStr::from_bytes(dir.to_bytes())) else {
        return false;
    };
    target.parent() == Some(dir.as_path())
}

/// Bytes the file behind `fd` occupies on its file system (its allocated blocks).
pub fn fd_disk_bytes(fd: c_int) -> SysResult<u64> {
    // SAFETY: stat is plain old data; all-zero bytes are a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is a writable stat buffer; a bad fd only yields EBADF.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(errno());
    }
    Ok(st.st_blocks as u64 * 512)
}

/// Sleeps while `*word == expected`; returns on a wake-up, a signal or a changed value
/// (callers re-check, spurious returns are allowed).
pub fn futex_wait(word: &std::sync::atomic::AtomicU32, expected: u32) {
    // SAFETY: word is a live, aligned u32 for the whole call; a NULL timeout waits without
    // limit; private futexes suffice, the word is never shared between processes.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            std::ptr::null::<libc::timespec>(),
        )
    };
}

/// Wakes one thread sleeping in [`futex_wait`] on `word`.
pub fn futex_wake_one(word: &std::sync::atomic::AtomicU32) {
    // SAFETY: word is a live, aligned u32; FUTEX_WAKE only reads its address.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        )
    };
}

// ---- process services for the LD_PRELOAD interposer (libs/libmemtier) ------------------

/// Writes all of `bytes` to descriptor `fd`, retrying short writes and `EINTR`; stops
/// silently at the first other failure (a closed descriptor, a full disk). Allocation-free.
///
/// Post: a prefix of `bytes` (all of it unless a write failed) went to `fd`, in order.
pub fn write_all(fd: c_int, bytes: &[u8]) {
    let mut off = 0;
    while off < bytes.len() {
        // SAFETY: bytes[off..] is valid for reading for its length.
        let n = unsafe { libc::write(fd, bytes[off..].as_ptr().cast(), bytes.len() - off) };
        if n > 0 {
            off += n as usize;
        } else if n < 0 && errno() == libc::EINTR {
            continue;
        } else {
            return;
        }
    }
}

/// A close-on-exec duplicate of `fd` numbered `min` or above (`fcntl(F_DUPFD_CLOEXEC)`).
///
/// Pre: `min` >= 0. Post: on success a new descriptor of the same open file, which the
/// caller owns; `fd` is unchanged either way.
pub fn dup_cloexec_from(fd: c_int, min: c_int) -> SysResult<c_int> {
    // SAFETY: F_DUPFD_CLOEXEC takes an int and touches no memory; a bad fd gives EBADF.
    let r = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// Registers `f` to run at normal process exit (`atexit`), after the handlers registered
/// later (C's reverse order).
///
/// Post: `Ok` when registered; `Err(ENOMEM)` when the C library had no room.
pub fn at_exit(f: extern "C" fn()) -> SysResult<()> {
    // SAFETY: f is a plain function that lives as long as the process.
    if unsafe { libc::atexit(f) } == 0 {
        Ok(())
    } else {
        Err(libc::ENOMEM)
    }
}

/// Ends the process at once with `status` (`_exit`): no exit handlers, no stdio flush;
/// safe in any state (start-up, inside an allocator).
pub fn exit_now(status: c_int) -> ! {
    // SAFETY: _exit has no preconditions and does not return.
    unsafe { libc::_exit(status) }
}

/// An identifier of the calling thread, distinct from every other live thread's
/// (`pthread_self`); never 0. Allocation-free.
pub fn thread_id() -> usize {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as usize }
}

/// Starts a detached thread running `f(null)` on a stack of at least `stack` bytes,
/// named `name` (at most 15 bytes). Through `pthread_create` itself: `std::thread`'s
/// start-up calls glibc's malloc in the new thread (`pthread_getattr_np`), which gives it
/// a 64 MiB glibc arena, where a library's helper thread should cost only its stack.
///
/// Pre: `f` must not unwind. Post: false when the thread could not be started.
pub fn spawn_detached(
    f: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void,
    stack: usize,
    name: &CStr,
) -> bool {
    // SAFETY: attr is initialised by pthread_attr_init before any other use and destroyed
    // once; pthread_create gets a valid out-pointer, attr and a function that lives as
    // long as the library; the thread's argument is never dereferenced.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_attr_init(&mut attr) != 0 {
            return false;
        }
        libc::pthread_attr_setstacksize(&mut attr, stack.max(libc::PTHREAD_STACK_MIN));
        libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
        let mut t: libc::pthread_t = 0;
        let ok = libc::pthread_create(&mut t, &attr, f, std::ptr::null_mut()) == 0;
        libc::pthread_attr_destroy(&mut attr);
        if ok {
            libc::pthread_setname_np(t, name.as_ptr());
        }
        ok
    }
}

/// A thread-exit callback without `__cxa_thread_atexit_impl` (which `calloc`s a record per
/// thread from glibc's malloc, and so gives every new thread a 64 MiB glibc arena): a
/// `pthread` key whose destructor runs `dtor(value)` when a thread that set a non-null
/// value with [`thread_exit_arm`] exits. None when no key is left.
///
/// Post: the key lives as long as the process; `dtor` must not unwind.
pub fn thread_exit_key(dtor: unsafe extern "C" fn(*mut libc::c_void)) -> Option<u32> {
    let mut key: libc::pthread_key_t = 0;
    // SAFETY: key is a valid out-pointer; dtor is a plain function that lives as long as
    // the library.
    let r = unsafe { libc::pthread_key_create(&mut key, Some(dtor)) };
    (r == 0).then_some(key)
}

/// Makes [`thread_exit_key`]'s destructor run with `marker` (non-zero, never dereferenced)
/// when the calling thread exits. For the first 32 keys of the process this never
/// allocates.
///
/// Pre: `key` came from [`thread_exit_key`]. Post: false when glibc could not store it.
pub fn thread_exit_arm(key: u32, marker: usize) -> bool {
    // SAFETY: key is a live key per the contract; the value is an opaque word handed back
    // to the destructor, never dereferenced.
    unsafe { libc::pthread_setspecific(key, marker as *const libc::c_void) == 0 }
}

/// Reserves exactly `[addr, addr+len)` as inaccessible address space, only if nothing is
/// mapped there (MAP_FIXED_NOREPLACE).
///
/// Post: true when the range is now ours; false leaves every existing mapping untouched.
pub fn reserve_exact(addr: usize, len: usize) -> bool {
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping; a PROT_NONE
    // anonymous range touches no memory.
    let p = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE
                | libc::MAP_ANONYMOUS
                | libc::MAP_NORESERVE
                | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    if p as usize == addr {
        return true;
    }
    if p != libc::MAP_FAILED {
        // A kernel without MAP_FIXED_NOREPLACE took the address as a hint only.
        unmap(p as usize, len);
    }
    false
}

/// Tells the kernel a mapping is accessed at random (MADV_RANDOM): a page fault reads in
/// only the page it needs, not a read-ahead window of zeros around it.
///
/// Post: advice only; the mapping's contents are unchanged whether it is taken or not.
pub fn advise_random(addr: usize, len: usize) {
    // SAFETY: madvise with MADV_RANDOM changes no contents; the range is the caller's.
    unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_RANDOM) };
}
