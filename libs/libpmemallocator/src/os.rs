//! Everything that touches the operating system: checking the pool path and mapping the
//! pool with libpmem's rules (through `persist::map`, which makes the `mmap` calls: `MAP_SYNC`
//! where the file system offers it, Device DAX detection, sparse creation).
//!
//! No other module of this crate makes system calls.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// A mapped pool.
pub struct Mapped {
    /// Start of the mapping (page aligned, at least 2 MiB aligned for files).
    pub addr: *mut u8,
    /// Length mapped; at least the requested pool size.
    pub len: usize,
    /// Whether the kernel accepted `MAP_SYNC` or the path is Device DAX.
    pub is_pmem: bool,
    /// Whether the file did not exist before (it is removed again if setup fails).
    pub created: bool,
    /// Whether the mapped bytes are known to read as zero (a file we just created).
    pub zeroed: bool,
}

/// A setup failure: the errno for C callers and the message.
pub type Failure = (i32, String);

fn io_errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

fn errno_text(e: i32) -> String {
    std::io::Error::from_raw_os_error(e).to_string()
}

/// Checks `path` for the mode asked for, without creating anything.
///
/// Pre: none. Post: `Ok` means a later [`map_pool`] may proceed: in Device DAX mode the path
/// is an existing character device; otherwise it is a regular file or absent with an
/// existing parent directory.
pub fn check_path(path: &Path, devdax: bool) -> Result<(), Failure> {
    if path.as_os_str().is_empty() {
        return Err((libc::EINVAL, "pmem_file is empty".into()));
    }
    match std::fs::metadata(path) {
        Ok(md) if devdax => {
            if md.file_type().is_char_device() {
                Ok(())
            } else {
                Err((
                    libc::EINVAL,
                    format!(
                        "{}: devdax_mode needs a Device DAX character device",
                        path.display()
                    ),
                ))
            }
        }
        Err(e) if devdax => Err((io_errno(&e), format!("{}: {e}", path.display()))),
        Ok(md) if md.file_type().is_file() => Ok(()),
        Ok(_) => Err((
            libc::EINVAL,
            format!(
                "{}: not a regular file (set devdax_mode for a device)",
                path.display()
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            match std::fs::metadata(parent) {
                Ok(md) if md.is_dir() => Ok(()),
                Ok(_) => Err((
                    libc::ENOTDIR,
                    format!("{}: not a directory", parent.display()),
                )),
                Err(e) => Err((io_errno(&e), format!("directory {}: {e}", parent.display()))),
            }
        }
        Err(e) => Err((io_errno(&e), format!("{}: {e}", path.display()))),
    }
}

/// Maps the pool: a file of exactly `size` bytes (created sparse if missing, resized if
/// present), or the whole Device DAX device at `path`, which must hold at least `size`.
///
/// Pre: [`check_path`] accepted `path` for this mode. Post: on `Ok` the caller owns the
/// mapping and gives it back with [`unmap`]; on `Err` nothing stays mapped and a file this
/// call created is removed.
pub fn map_pool(path: &Path, size: u64, devdax: bool) -> Result<Mapped, Failure> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        (
            libc::EINVAL,
            format!("{}: path holds a NUL byte", path.display()),
        )
    })?;
    let existed = std::fs::symlink_metadata(path).is_ok();
    let len = usize::try_from(size)
        .map_err(|_| (libc::EINVAL, format!("pmem_size {size} is too large")))?;
    let (flags, want) = if devdax {
        (0, 0)
    } else {
        (persist::PMEM_FILE_CREATE | persist::PMEM_FILE_SPARSE, len)
    };
    let m = persist::map::map_file(&c, want, flags, 0o666).map_err(|e| {
        let detail = persist::log::errormsg_string();
        let msg = if detail.is_empty() {
            format!("{}: {}", path.display(), errno_text(e.errno))
        } else {
            detail
        };
        (e.errno, msg)
    })?;
    if m.len < len {
        let _ = persist::map::unmap(m.addr, m.len);
        return Err((
            libc::EINVAL,
            format!(
                "{}: device holds {} bytes, less than pmem_size {size}",
                path.display(),
                m.len
            ),
        ));
    }
    Ok(Mapped {
        addr: m.addr,
        len: m.len,
        is_pmem: m.is_pmem,
        created: !existed,
        zeroed: !existed && !devdax,
    })
}

/// Unmaps a pool mapped by [`map_pool`].
///
/// Pre: `addr`/`len` are exactly a [`Mapped`]'s and no reference into it is used afterwards.
/// Post: the range is unmapped (errors are ignored: there is nobody left to tell).
pub fn unmap(addr: *mut u8, len: usize) {
    let _ = persist::map::unmap(addr, len);
}

/// Removes the pool file created by a setup that then failed.
///
/// Pre: none. Post: `path` no longer names a file (best effort).
pub fn remove_created(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Sets the calling thread's `errno`, which the C functions report failures through.
///
/// Pre: none. Post: `errno == e` in this thread.
pub fn set_errno(e: i32) {
    // SAFETY: __errno_location returns this thread's errno slot, valid for the thread's life.
    unsafe { *libc::__errno_location() = e };
}

/// The pool file kept open to reserve its blocks as segments are handed out.
pub struct PoolFile(std::fs::File);

/// Opens the pool file read-write for [`reserve`]; `None` for a device (nothing to reserve).
///
/// Pre: the pool is mapped. Post: `Some` holds an open descriptor until dropped.
pub fn open_pool_file(path: &Path, devdax: bool) -> Option<PoolFile> {
    if devdax {
        return None;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .ok()
        .map(PoolFile)
}

/// Takes file-system blocks for `[offset, offset + len)` of the pool file, so that page
/// faults on that range neither allocate blocks (slow on ext4 and DAX file systems alike)
/// nor fail with SIGBUS when the file system is full. File systems without `fallocate`
/// count as success: their faults allocate as before.
///
/// Pre: the range lies inside the file. Post: `Ok` means the blocks are allocated (or cannot
/// be by this file system); `Err` carries the errno (ENOSPC, EDQUOT, ...).
pub fn reserve(f: &PoolFile, offset: u64, len: u64) -> Result<(), i32> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: plain system call on a descriptor we own; no memory is passed.
    let r = unsafe {
        libc::fallocate(
            f.0.as_raw_fd(),
            libc::FALLOC_FL_KEEP_SIZE,
            offset as libc::off_t,
            len as libc::off_t,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO);
    if e == libc::EOPNOTSUPP || e == libc::ENOSYS {
        Ok(())
    } else {
        Err(e)
    }
}

/// Text for an errno value.
pub fn errno_string(e: i32) -> String {
    errno_text(e)
}

/// Tells the kernel that faults in the pool should not read ahead: threads touch their own
/// segments in small steps, and readahead around each fault would fill (and zero) pages
/// nobody asked for yet.
///
/// Pre: `[addr, addr + len)` is a mapping made by [`map_pool`]. Post: advice given (errors
/// are harmless and ignored).
pub fn advise_random(addr: *mut u8, len: usize) {
    // SAFETY: advice only; the range is our own mapping and no data changes.
    unsafe { libc::madvise(addr.cast(), len, libc::MADV_RANDOM) };
}

/// Makes `[offset, offset + len)` of the pool file read as zeros by giving its blocks back
/// (cheap even for the hundreds of MiB of block maps of a large pool, and no page cache is
/// filled). `false` when the file system cannot punch holes: the caller zeroes by writing.
///
/// Pre: the range lies inside the file and nobody uses its pages yet. Post: on `true` the
/// range reads as zeros through every mapping of the file.
pub fn punch_zero(f: &PoolFile, offset: u64, len: u64) -> bool {
    use std::os::unix::io::AsRawFd;
    // SAFETY: plain system call on a descriptor we own; no memory is passed.
    unsafe {
        libc::fallocate(
            f.0.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            offset as libc::off_t,
            len as libc::off_t,
        ) == 0
    }
}
