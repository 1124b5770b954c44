//! Files and their mappings for libpmem's `pmem_map_file` (`persist::map`), and small reads
//! of sysfs for the heap (NUMA topology, huge-page pools). As in the rest of the layer a
//! failure is `Err(errno)` (or `None` for the reads) and leaves nothing half done.

use crate::SysResult;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::raw::c_int;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The errno values callers of this layer report or compare with, so they need not name
/// libc themselves.
pub mod errno {
    pub use libc::{EEXIST, EFBIG, EINVAL, EIO, ENOMEM, ENOSYS, EOPNOTSUPP};
}

/// Where [`map_shared`] places a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Exactly at this address, over part of a reservation of the caller's
    /// ([`crate::reserve`]).
    Fixed(usize),
    /// Near this address if the kernel agrees (`PMEM_MMAP_HINT`), else where it likes.
    Hint(usize),
}

/// Maps `len` bytes of `fd` from offset 0, shared and read-write. With `sync` the mapping
/// is made with `MAP_SYNC` (and `MAP_SHARED_VALIDATE`), which only DAX file systems accept:
/// the others refuse with `EOPNOTSUPP` (`EINVAL` on older kernels).
///
/// Pre: for `Place::Fixed(a)`, `[a, a + len)` lies in address space the caller reserved and
/// holds nothing in use (the mapping replaces it); `fd` is open for reading and writing.
/// Post: `Ok(start)` of the new mapping (`a` for `Fixed`); on `Err(errno)` nothing new is
/// mapped.
pub fn map_shared(place: Place, len: usize, fd: c_int, sync: bool) -> SysResult<usize> {
    const MAP_SHARED_VALIDATE: c_int = 0x03;
    const MAP_SYNC: c_int = 0x80000;
    let mut flags = if sync {
        MAP_SHARED_VALIDATE | MAP_SYNC
    } else {
        libc::MAP_SHARED
    };
    let addr = match place {
        Place::Fixed(a) => {
            flags |= libc::MAP_FIXED;
            a
        }
        Place::Hint(a) => a,
    };
    // SAFETY: with MAP_FIXED the range lies in the caller's own reservation (precondition);
    // a hint is only a hint, the kernel never replaces a mapping for it.
    let p = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            fd,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        Err(crate::errno())
    } else {
        Ok(p as usize)
    }
}

/// Whether `fd` can be mapped with `MAP_SYNC` (a DAX file system), learnt from a one-page
/// mapping the kernel places itself. A refused `MAP_FIXED` attempt cannot be used as the
/// probe: the file system's refusal comes after the kernel has unmapped the range it was to
/// replace, and another thread may map into that hole before the retry (whose `MAP_FIXED`
/// would then replace that thread's mapping).
///
/// Pre: `fd` is open for reading and writing. Post: nothing stays mapped.
pub fn takes_map_sync(fd: c_int) -> bool {
    let page = crate::page_size();
    match map_shared(Place::Hint(0), page, fd, true) {
        Ok(p) => {
            crate::unmap(p, page);
            true
        }
        Err(_) => false,
    }
}

/// Unmaps `[addr, addr + len)` and, unlike [`crate::unmap`], reports the kernel's refusal
/// (`EINVAL` for an unaligned address or a zero length).
///
/// Pre: nothing in the range is used afterwards: the caller's promise, as with `munmap`
/// itself (`pmem_unmap` passes on its C caller's).
/// Post: `Ok`: no page of the range is mapped any more (parts that were not mapped count).
pub fn unmap_checked(addr: usize, len: usize) -> SysResult<()> {
    // SAFETY: munmap validates its arguments; that the range is no longer used is the
    // caller's precondition.
    if unsafe { libc::munmap(addr as *mut libc::c_void, len) } == 0 {
        Ok(())
    } else {
        Err(crate::errno())
    }
}

/// Writes the dirty pages of `[addr, addr + len)` back to their file and waits for it
/// (`msync(MS_SYNC)`).
///
/// Pre: `addr` is page aligned.
/// Post: `Ok`: the range's data is on the file's storage; `Err(ENOMEM)` when part of the
/// range is not mapped, `Err(EINVAL)` for an unaligned `addr`.
pub fn sync_to_file(addr: usize, len: usize) -> SysResult<()> {
    // SAFETY: msync only reads the page tables of the range and reports unmapped pages.
    if unsafe { libc::msync(addr as *mut libc::c_void, len, libc::MS_SYNC) } == 0 {
        Ok(())
    } else {
        Err(crate::errno())
    }
}

/// The major and minor numbers of a device id (`st_rdev`).
pub fn device_numbers(rdev: u64) -> (u32, u32) {
    (libc::major(rdev), libc::minor(rdev))
}

/// Opens a new file without a name in directory `dir`, read-write, mode 0600: `O_TMPFILE`
/// where the file system has it (with `excl` also `O_EXCL`: it can never be linked into the
/// directory), else a file named `.pmem.<pid>.<n>.tmp` that is unlinked at once.
///
/// Post: `Ok`: `dir` shows no new entry; the file goes with its last descriptor or mapping.
pub fn open_unnamed(dir: &Path, excl: bool) -> io::Result<File> {
    let mut custom = libc::O_TMPFILE;
    if excl {
        custom |= libc::O_EXCL;
    }
    match OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(custom)
        .open(dir)
    {
        Ok(f) => Ok(f),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP) | Some(libc::EISDIR)
            ) =>
        {
            for n in 0..100u32 {
                let name = dir.join(format!(".pmem.{}.{n}.tmp", std::process::id()));
                match OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&name)
                {
                    Ok(f) => {
                        std::fs::remove_file(&name)?;
                        return Ok(f);
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(io::Error::from_raw_os_error(libc::EEXIST))
        }
        Err(e) => Err(e),
    }
}

/// The text of a small file such as a sysfs or procfs attribute, read whole.
///
/// Post: `None` when it cannot be read (missing, not permitted, not UTF-8); `errno` may
/// then be changed (see [`crate::preserving_errno`]).
pub fn read_small(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The names of the entries of directory `dir` (sysfs listings), in the order the kernel
/// gives them.
///
/// Post: empty when the directory cannot be read; entries that fail to read are left out.
pub fn dir_names(dir: impl AsRef<Path>) -> Vec<OsString> {
    match std::fs::read_dir(dir) {
        Ok(d) => d.flatten().map(|e| e.file_name()).collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::io::AsRawFd;

    #[test]
    fn shared_mapping_reaches_the_file_and_unmap_reports_errors() {
        let dir = std::env::temp_dir();
        let file = open_unnamed(&dir, true).unwrap();
        let page = crate::page_size();
        file.set_len(page as u64).unwrap();
        let at = crate::reserve(page, page).unwrap();
        // Only a DAX file system takes MAP_SYNC; the probe leaves nothing mapped either way.
        let sync = takes_map_sync(file.as_raw_fd());
        assert_eq!(
            map_shared(Place::Fixed(at), page, file.as_raw_fd(), sync),
            Ok(at)
        );
        // SAFETY: the page at `at` is the mapping just made.
        unsafe { (at as *mut u8).add(7).write(9) };
        assert_eq!(sync_to_file(at, page), Ok(()));
        let mut b = [0u8; 8];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut b, 0).unwrap();
        assert_eq!(b[7], 9);
        assert_eq!(unmap_checked(at + 1, page), Err(errno::EINVAL));
        assert_eq!(unmap_checked(at, page), Ok(()));
        // (msync of the range now unmapped is not checked: the test threads running
        // alongside may map something there at once.)
    }

    #[test]
    fn small_reads() {
        assert!(read_small("/proc/self/stat").is_some_and(|s| !s.is_empty()));
        assert_eq!(read_small("/nonexistent/file"), None);
        assert!(dir_names("/proc/self").iter().any(|n| n == "maps"));
        assert!(dir_names("/nonexistent").is_empty());
        assert_eq!(device_numbers(libc::makedev(259, 3)), (259, 3));
    }
}
