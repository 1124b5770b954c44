//! Every system call of the library: opening, locking, sizing and mapping pool files,
//! random bytes for pool UUIDs and the clock. Each function states what it needs and what
//! it guarantees; errors come back as errno values.

use std::ffi::CStr;

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// An open file descriptor, closed on drop.
pub struct Fd(pub i32);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor is owned by this value and closed exactly once.
        unsafe { libc::close(self.0) };
    }
}

/// Opens `path` read-write. `create` adds O_CREAT|O_EXCL with `mode`.
/// Post: a descriptor owned by the returned value, or errno.
pub fn open(path: &CStr, create: bool, mode: u32) -> Result<Fd, i32> {
    let flags = libc::O_RDWR
        | libc::O_CLOEXEC
        | if create {
            libc::O_CREAT | libc::O_EXCL
        } else {
            0
        };
    // SAFETY: `path` is a valid NUL-terminated string for the duration of the call.
    let fd = unsafe { libc::open(path.as_ptr(), flags, mode as libc::c_uint) };
    if fd < 0 {
        Err(errno())
    } else {
        Ok(Fd(fd))
    }
}

/// Opens read-only (for checking).
pub fn open_ro(path: &CStr) -> Result<Fd, i32> {
    // SAFETY: `path` is a valid NUL-terminated string for the duration of the call.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        Err(errno())
    } else {
        Ok(Fd(fd))
    }
}

/// Takes an exclusive (or shared) advisory lock without waiting; EWOULDBLOCK when another
/// open description holds it. The lock lives as long as the descriptor.
pub fn flock(fd: &Fd, exclusive: bool) -> Result<(), i32> {
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    } | libc::LOCK_NB;
    // SAFETY: plain syscall on a descriptor we own.
    if unsafe { libc::flock(fd.0, op) } != 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// File type and size. Post: (is_regular_file, size).
pub fn fstat(fd: &Fd) -> Result<(bool, u64), i32> {
    // SAFETY: an all-zero stat is a valid value for fstat to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer.
    if unsafe { libc::fstat(fd.0, &mut st) } != 0 {
        return Err(errno());
    }
    Ok((
        st.st_mode & libc::S_IFMT == libc::S_IFREG,
        st.st_size as u64,
    ))
}

/// Gives the file `len` bytes of allocated blocks (ENOSPC on a full file system, EFBIG
/// past the file-size limit).
pub fn allocate(fd: &Fd, len: u64) -> Result<(), i32> {
    if len > i64::MAX as u64 {
        return Err(libc::EFBIG);
    }
    // SAFETY: plain syscall on a descriptor we own.
    let r = unsafe { libc::posix_fallocate(fd.0, 0, len as libc::off_t) };
    if r != 0 {
        return Err(r);
    }
    Ok(())
}

/// Shrinks or grows the file (used to undo a failed creation's allocation).
pub fn truncate(fd: &Fd, len: u64) {
    // SAFETY: plain syscall on a descriptor we own; failure is harmless here.
    unsafe { libc::ftruncate(fd.0, len as libc::off_t) };
}

/// Removes a file we created.
pub fn unlink(path: &CStr) {
    // SAFETY: `path` is a valid C string.
    unsafe { libc::unlink(path.as_ptr()) };
}

/// Maps `len` bytes of the file shared, read-write (or read-only). Tries MAP_SYNC first
/// (DAX file systems). Post: (address, mapped with MAP_SYNC).
pub fn map(fd: &Fd, len: usize, writable: bool) -> Result<(*mut u8, bool), i32> {
    let prot = if writable {
        libc::PROT_READ | libc::PROT_WRITE
    } else {
        libc::PROT_READ
    };
    if writable {
        // SAFETY: a fresh mapping chosen by the kernel; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED_VALIDATE | libc::MAP_SYNC,
                fd.0,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            return Ok((p as *mut u8, true));
        }
    }
    // SAFETY: a fresh shared mapping chosen by the kernel; no existing memory is affected.
    let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd.0, 0) };
    if p == libc::MAP_FAILED {
        return Err(errno());
    }
    Ok((p as *mut u8, false))
}

/// Unmaps a mapping made by `map`.
///
/// # Safety
/// Nothing may use the range afterwards.
pub unsafe fn unmap(addr: *mut u8, len: usize) {
    // SAFETY: the caller owns the mapping and promises no further use.
    unsafe { libc::munmap(addr as *mut libc::c_void, len) };
}

/// Writes back the pages holding `[addr, addr+len)` (page-cache backed pools).
pub fn msync(addr: *const u8, len: usize) -> Result<(), i32> {
    let start = addr as usize & !4095;
    let l = len + (addr as usize - start);
    // SAFETY: msync only inspects the page tables of the range and reports bad ranges.
    if unsafe { libc::msync(start as *mut libc::c_void, l, libc::MS_SYNC) } != 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// Fills `buf` with random bytes (getrandom, falling back to time and pid mixing).
pub fn random(buf: &mut [u8]) {
    // SAFETY: the buffer is valid for writes of its length.
    let r = unsafe { libc::getrandom(buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
    if r != buf.len() as isize {
        let mut x = now_secs() ^ ((std::process::id() as u64) << 32) ^ (buf.as_ptr() as u64);
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The value of an environment variable, if set.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Maps the file privately (copy on write): writes never reach the file.
pub fn map_private(fd: &Fd, len: usize) -> Result<*mut u8, i32> {
    // SAFETY: a fresh private mapping chosen by the kernel.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE,
            fd.0,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        Err(errno())
    } else {
        Ok(p as *mut u8)
    }
}

/// Sets the calling thread's errno. Post: `errno == e` for this thread.
pub fn set_errno(e: i32) {
    // SAFETY: __errno_location returns this thread's errno slot, valid for writes.
    unsafe { *libc::__errno_location() = e };
}

/// Length of a C string.
///
/// # Safety
/// `s` must point to a NUL-terminated string.
pub unsafe fn strlen(s: *const libc::c_char) -> usize {
    // SAFETY: forwarded caller guarantee.
    unsafe { libc::strlen(s) }
}
