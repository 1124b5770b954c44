//! Primitives for taking a file-backed heap private across `fork`: the handlers'
//! registration, a copy-on-write mapping of a file range and a walk over the process's
//! shared mappings. The last two run in `atfork` handlers, so neither allocates nor takes
//! a lock.

use std::os::raw::c_int;

use super::{errno, SysResult};

/// Registers fork handlers (`pthread_atfork`): `prepare` runs in the forking thread before
/// the fork, `parent` and `child` after it in each process.
///
/// Pre: the functions live as long as the process (plain functions of a library that is
/// never unloaded). Post: `Err(errno)` (ENOMEM) when the registration failed.
pub fn atfork(
    prepare: extern "C" fn(),
    parent: extern "C" fn(),
    child: extern "C" fn(),
) -> SysResult<()> {
    // SAFETY: the handlers are plain functions, valid for the life of the process.
    match unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) } {
        0 => Ok(()),
        e => Err(e),
    }
}

/// Maps `fd[offset..offset+len)` copy-on-write over `[addr, addr+len)`.
///
/// Pre: the range is page aligned, lies in address space this library reserved, and the
/// file is at least `offset + len` long (shorter would make reads fault).
/// Post: reads see the file's current contents until the process writes a page; written
/// pages become the process's own and never reach the file. No swap is reserved for the
/// whole range (a kind's chunk may be far larger than RAM; only written pages cost
/// memory, as with anonymous memory under overcommit). On failure the range may be
/// unmapped (MAP_FIXED semantics), which the caller reports.
pub fn map_file_private(addr: usize, len: usize, fd: c_int, offset: u64) -> SysResult<()> {
    super::map_fixed_rw(
        addr,
        len,
        fd,
        offset,
        libc::MAP_PRIVATE | libc::MAP_NORESERVE,
    )
}

/// Calls `f(start, end)` for every shared mapping of the process that overlaps
/// `[lo, hi)`, clipped to it, in address order.
///
/// Pre: none; reads `/proc/self/maps` through a stack buffer (no allocation), so it is
/// usable in an `atfork` child handler.
/// Post: `Err(errno)` when the file cannot be opened or read; `f` may then have seen a
/// prefix of the mappings.
pub fn for_each_shared_mapping(
    lo: usize,
    hi: usize,
    mut f: impl FnMut(usize, usize),
) -> SysResult<()> {
    // SAFETY: the path is a NUL-terminated literal.
    let fd = unsafe {
        libc::open(
            c"/proc/self/maps".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(errno());
    }
    let mut visit = |line: &[u8]| {
        if let Some((start, end, true)) = parse_line(line) {
            if start < hi && end > lo {
                f(start.max(lo), end.min(hi));
            }
        }
    };
    let mut buf = [0u8; 4096];
    let mut have = 0usize;
    let result = loop {
        // SAFETY: the destination is the unused tail of `buf`.
        let n = unsafe {
            libc::read(
                fd,
                buf[have..].as_mut_ptr() as *mut libc::c_void,
                buf.len() - have,
            )
        };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            break Err(e);
        }
        let eof = n == 0;
        have += n as usize;
        let mut used = 0;
        while let Some(nl) = buf[used..have].iter().position(|&b| b == b'\n') {
            visit(&buf[used..used + nl]);
            used += nl + 1;
        }
        if eof {
            break Ok(());
        }
        if used == 0 && have == buf.len() {
            // A line longer than the buffer (a very long path): its address fields are
            // at the front, so parse them and skip the rest of the line.
            visit(&buf[..have]);
            have = 0;
            if skip_line(fd).is_err() {
                break Err(errno());
            }
            continue;
        }
        buf.copy_within(used..have, 0);
        have -= used;
    };
    super::close(fd);
    result
}

/// Reads up to and including the next newline.
fn skip_line(fd: c_int) -> Result<(), ()> {
    let mut b = [0u8; 1];
    loop {
        // SAFETY: reads one byte into a local.
        let n = unsafe { libc::read(fd, b.as_mut_ptr() as *mut libc::c_void, 1) };
        if n < 0 {
            return Err(());
        }
        if n == 0 || b[0] == b'\n' {
            return Ok(());
        }
    }
}

/// `start-end perms ...` -> (start, end, shared).
fn parse_line(line: &[u8]) -> Option<(usize, usize, bool)> {
    let mut it = line.split(|&b| b == b' ');
    let range = it.next()?;
    let perms = it.next()?;
    let dash = range.iter().position(|&b| b == b'-')?;
    let start = hex(&range[..dash])?;
    let end = hex(&range[dash + 1..])?;
    Some((start, end, perms.get(3) == Some(&b's')))
}

fn hex(s: &[u8]) -> Option<usize> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0usize, |v, &c| {
        let d = (c as char).to_digit(16)? as usize;
        v.checked_mul(16)?.checked_add(d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_lines() {
        assert_eq!(
            parse_line(b"7f00a000-7f00c000 rw-s 00001000 08:01 1234 /tmp/x (deleted)"),
            Some((0x7f00a000, 0x7f00c000, true))
        );
        assert_eq!(
            parse_line(b"55d0-55e0 r-xp 00000000 00:00 0"),
            Some((0x55d0, 0x55e0, false))
        );
        assert_eq!(parse_line(b"garbage"), None);
    }

    #[test]
    fn finds_a_shared_mapping_and_not_a_private_one() {
        let page = crate::page_size();
        // SAFETY: fresh anonymous mappings owned by this test.
        let shared = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                3 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        } as usize;
        // SAFETY: a fresh private anonymous mapping, unmapped below by this test alone.
        let private = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        } as usize;
        let mut seen = Vec::new();
        for_each_shared_mapping(shared + page, shared + 3 * page, |a, b| seen.push((a, b)))
            .unwrap();
        assert_eq!(seen, vec![(shared + page, shared + 3 * page)]);
        seen.clear();
        for_each_shared_mapping(private, private + page, |a, b| seen.push((a, b))).unwrap();
        assert!(seen.is_empty());
        crate::unmap(shared, 3 * page);
        crate::unmap(private, page);
    }
}
