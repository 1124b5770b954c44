//! Every system call of the crate: opening the backing file or device, sizing and reserving
//! its space, mapping it, and reading and writing `errno`. Each function states what it
//! needs from its caller and what it guarantees; the rest of the crate stays free of `libc`.

use std::ffi::CStr;
use std::io;

/// The calling thread's `errno`.
pub fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Sets the calling thread's `errno` to `e`.
pub fn set_errno(e: i32) {
    // SAFETY: __errno_location always returns a valid pointer to this thread's errno.
    unsafe { *libc::__errno_location() = e };
}

/// What a path names.
pub enum PathKind {
    Directory,
    /// A character device (device DAX); `rdev` is its device number.
    CharDevice {
        rdev: u64,
    },
    Other,
}

/// `stat(2)` of `path`. Errors carry the errno.
pub fn path_kind(path: &CStr) -> Result<PathKind, i32> {
    // SAFETY: an all-zero stat is a valid value for the out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: path is NUL-terminated and st is a valid, writable stat buffer.
    if unsafe { libc::stat(path.as_ptr(), &mut st) } != 0 {
        return Err(errno());
    }
    Ok(match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => PathKind::Directory,
        libc::S_IFCHR => PathKind::CharDevice { rdev: st.st_rdev },
        _ => PathKind::Other,
    })
}

/// The size in bytes of the device DAX with number `rdev`, from sysfs.
pub fn devdax_size(rdev: u64) -> Option<u64> {
    let (maj, min) = (libc::major(rdev), libc::minor(rdev));
    let p = format!("/sys/dev/char/{maj}:{min}/size");
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// An open file descriptor, closed on drop.
pub struct Fd(i32);

impl Fd {
    pub fn raw(&self) -> i32 {
        self.0
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: self.0 is an fd this struct owns and nobody else closes.
        unsafe { libc::close(self.0) };
    }
}

/// Opens `path` read-write (a device). Post: the fd is owned by the result.
pub fn open_rw(path: &CStr) -> Result<Fd, i32> {
    // SAFETY: path is NUL-terminated.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        Err(errno())
    } else {
        Ok(Fd(fd))
    }
}

/// Creates a file in directory `dir` that has no name (O_TMPFILE, or a created and at once
/// unlinked file where the file system lacks O_TMPFILE), so it vanishes with the process.
pub fn unnamed_file(dir: &CStr) -> Result<Fd, i32> {
    // SAFETY: dir is NUL-terminated; the mode argument is what O_TMPFILE expects.
    let fd = unsafe {
        libc::open(
            dir.as_ptr(),
            libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    };
    if fd >= 0 {
        return Ok(Fd(fd));
    }
    let e = errno();
    if e != libc::EOPNOTSUPP && e != libc::EISDIR && e != libc::EINVAL {
        return Err(e);
    }
    let mut template = dir.to_bytes().to_vec();
    template.extend_from_slice(b"/vmem.XXXXXX\0");
    // SAFETY: template is a writable NUL-terminated buffer ending in XXXXXX.
    let fd = unsafe { libc::mkostemp(template.as_mut_ptr().cast(), libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: template now holds the NUL-terminated name mkostemp created.
    unsafe { libc::unlink(template.as_ptr().cast()) };
    Ok(Fd(fd))
}

/// Sets the length of the file `fd` to `len` bytes (sparse: no blocks are allocated).
pub fn set_len(fd: &Fd, len: u64) -> Result<(), i32> {
    // SAFETY: plain syscall on an fd we own.
    if unsafe { libc::ftruncate(fd.0, len as libc::off_t) } != 0 {
        return Err(errno());
    }
    Ok(())
}

/// Allocates blocks for `[off, off + len)` of `fd` so later stores there cannot fail for
/// lack of space. Returns the errno on failure (ENOSPC when the file system is full,
/// EOPNOTSUPP when it cannot reserve).
pub fn reserve(fd: i32, off: u64, len: u64) -> Result<(), i32> {
    loop {
        // SAFETY: plain syscall; fd is owned by the cache that calls this.
        let r = unsafe { libc::fallocate(fd, 0, off as libc::off_t, len as libc::off_t) };
        if r == 0 {
            return Ok(());
        }
        let e = errno();
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

/// Maps `len` bytes of `fd` shared and read-write. Post: the result is the start of a
/// mapping of exactly `len` bytes that the caller must `unmap`.
pub fn map_shared(fd: &Fd, len: usize) -> Result<*mut u8, i32> {
    // SAFETY: a fresh mapping at an address the kernel chooses overlaps nothing of ours.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_NORESERVE,
            fd.0,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        Err(errno())
    } else {
        Ok(p.cast())
    }
}

/// Unmaps a mapping made by `map_shared`.
///
/// # Safety
/// `addr`/`len` must be exactly a mapping returned by `map_shared`, with no references into
/// it left.
pub unsafe fn unmap(addr: *mut u8, len: usize) {
    // SAFETY: the caller guarantees the range is our mapping and is no longer used.
    unsafe { libc::munmap(addr.cast(), len) };
}

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

/// The text of an errno value.
pub fn strerror(e: i32) -> String {
    io::Error::from_raw_os_error(e).to_string()
}
