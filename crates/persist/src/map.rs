//! `pmem_map_file` and what depends on knowing our mappings: `pmem_is_pmem`, `pmem_unmap`,
//! `pmem_msync`, `pmem_deep_drain` and `pmem_has_auto_flush`.
//!
//! A mapping counts as pmem when it comes from a Device DAX character device or when the
//! kernel accepted `MAP_SYNC` for it (a DAX file system). Every mapping made here is recorded
//! in an address-range table, so `pmem_is_pmem` is a table lookup and `pmem_unmap` can
//! forget exactly the part that was unmapped.

use super::log::{log, set_error};
use super::{
    PMEM_FILE_ALL_FLAGS, PMEM_FILE_CREATE, PMEM_FILE_EXCL, PMEM_FILE_SPARSE, PMEM_FILE_TMPFILE,
};
use once_cell::sync::Lazy;
use os::file::errno::{EFBIG, EINVAL, EIO, ENOMEM};
use os::file::Place;
use std::collections::BTreeMap;
use std::ffi::{CStr, OsStr};
use std::fs::OpenOptions;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What backs a recorded range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backing {
    /// Device DAX; `region` names `/sys/bus/nd/devices/region<N>` when known.
    DevDax { region: Option<u32> },
    /// File on a DAX file system, mapped with `MAP_SYNC`.
    FsDax,
    /// Ordinary page-cache file: needs `msync`.
    PageCache,
}

impl Backing {
    fn is_pmem(self) -> bool {
        !matches!(self, Backing::PageCache)
    }
}

/// start -> (end, backing); ranges never overlap.
static RANGES: Lazy<Mutex<BTreeMap<usize, (usize, Backing)>>> =
    Lazy::new(|| Mutex::new(BTreeMap::new()));

fn ranges() -> std::sync::MutexGuard<'static, BTreeMap<usize, (usize, Backing)>> {
    RANGES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes `[start, end)` from the table, keeping the parts of entries outside it.
fn forget(table: &mut BTreeMap<usize, (usize, Backing)>, start: usize, end: usize) {
    let hit: Vec<(usize, usize, Backing)> = table
        .range(..end)
        .rev()
        .take_while(|(_, &(e, _))| e > start)
        .map(|(&s, &(e, b))| (s, e, b))
        .collect();
    for (s, e, b) in hit {
        table.remove(&s);
        if s < start {
            table.insert(s, (start, b));
        }
        if e > end {
            table.insert(end, (e, b));
        }
    }
}

fn remember(start: usize, len: usize, backing: Backing) {
    let mut t = ranges();
    forget(&mut t, start, start + len);
    t.insert(start, (start + len, backing));
}

/// The pieces of `[start, end)` covered by the table, in address order.
fn covered(start: usize, end: usize) -> Vec<(usize, usize, Backing)> {
    let t = ranges();
    let mut out: Vec<(usize, usize, Backing)> = t
        .range(..end)
        .rev()
        .take_while(|(_, &(e, _))| e > start)
        .map(|(&s, &(e, b))| (s.max(start), e.min(end), b))
        .collect();
    out.reverse();
    out
}

/// An error for C: errno plus the text `pmem_errormsg()` will show.
#[derive(Debug)]
pub struct MapError {
    pub errno: i32,
}

fn fail(errno: i32, args: std::fmt::Arguments<'_>) -> MapError {
    set_error(args);
    MapError { errno }
}

fn io_errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(EIO)
}

fn strerror(errno: i32) -> String {
    io::Error::from_raw_os_error(errno).to_string()
}

/// A successful `pmem_map_file`.
pub struct Mapping {
    pub addr: *mut u8,
    pub len: usize,
    pub is_pmem: bool,
}

/// Device DAX facts read from sysfs.
struct DevDax {
    size: usize,
    align: usize,
    region: Option<u32>,
}

fn read_trimmed(p: &Path) -> Option<String> {
    os::file::read_small(p).map(|s| s.trim().to_owned())
}

/// `Some` when `rdev` is a Device DAX character device.
fn devdax_info(rdev: u64) -> Option<DevDax> {
    let (major, minor) = os::file::device_numbers(rdev);
    let base = PathBuf::from(format!("/sys/dev/char/{major}:{minor}"));
    let subsystem = std::fs::read_link(base.join("subsystem")).ok()?;
    if subsystem.file_name() != Some(OsStr::new("dax")) {
        return None;
    }
    let size = read_trimmed(&base.join("size"))?.parse().ok()?;
    let align = read_trimmed(&base.join("align"))
        .or_else(|| read_trimmed(&base.join("device/align")))
        .and_then(|s| s.parse().ok())
        .unwrap_or(2 << 20);
    let region = std::fs::canonicalize(base.join("device"))
        .ok()
        .and_then(|p| {
            p.iter()
                .find_map(|c| c.to_str()?.strip_prefix("region")?.parse::<u32>().ok())
        });
    Some(DevDax {
        size,
        align,
        region,
    })
}

/// `PMEM_MMAP_HINT`, accepted in C's `strtoull(…, 0)` forms (hex with 0x, octal with 0).
fn mmap_hint() -> Option<usize> {
    let v = std::env::var("PMEM_MMAP_HINT").ok()?;
    let v = v.trim();
    let parsed = if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        usize::from_str_radix(h, 16)
    } else if v.len() > 1 && v.starts_with('0') {
        usize::from_str_radix(&v[1..], 8)
    } else {
        v.parse()
    };
    parsed.ok()
}

/// Maps `len` bytes of `fd` shared and writable, aligned to `align` so the kernel can use
/// large pages. Tries `MAP_SYNC` first when `try_sync`; returns whether it was accepted.
fn map_fd(fd: i32, len: usize, align: usize, try_sync: bool) -> Result<(*mut u8, bool), i32> {
    // Where to put it: the user's hint, or an aligned hole reserved for it.
    let (place, reserved) = match mmap_hint() {
        Some(h) => (Place::Hint(h), None),
        None => {
            let span = len
                .checked_next_multiple_of(os::page_size())
                .ok_or(ENOMEM)?;
            let at = os::reserve(span, align)?;
            (Place::Fixed(at), Some((at, span)))
        }
    };
    // Asked before the one mapping over the reservation: a refused MAP_FIXED may already
    // have unmapped it (see `os::file::takes_map_sync`).
    let sync = try_sync && os::file::takes_map_sync(fd);
    match os::file::map_shared(place, len, fd, sync) {
        Ok(p) => Ok((p as *mut u8, sync)),
        Err(e) => {
            if let Some((at, span)) = reserved {
                os::release_after_failed_map(at, span);
            }
            Err(e)
        }
    }
}

fn map_devdax(path: &Path, len: usize, flags: i32, dax: DevDax) -> Result<Mapping, MapError> {
    if flags & !(PMEM_FILE_CREATE | PMEM_FILE_SPARSE) != 0 {
        return Err(fail(
            EINVAL,
            format_args!(
                "pmem_map_file: flags {flags:#x} not allowed for Device DAX {}",
                path.display()
            ),
        ));
    }
    if len != 0 && len != dax.size {
        return Err(fail(
            EINVAL,
            format_args!(
                "pmem_map_file: len {len} must be 0 or the size {} of Device DAX {}",
                dax.size,
                path.display()
            ),
        ));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| {
            fail(
                io_errno(&e),
                format_args!("pmem_map_file: open {}: {e}", path.display()),
            )
        })?;
    let align = dax.align.max(os::page_size()).next_power_of_two();
    let (addr, _) = map_fd(file.as_raw_fd(), dax.size, align, false).map_err(|e| {
        fail(
            e,
            format_args!(
                "pmem_map_file: mmap {} bytes of {}: {}",
                dax.size,
                path.display(),
                strerror(e)
            ),
        )
    })?;
    remember(
        addr as usize,
        dax.size,
        Backing::DevDax { region: dax.region },
    );
    Ok(Mapping {
        addr,
        len: dax.size,
        is_pmem: is_pmem(addr, dax.size),
    })
}

/// `pmem_map_file`.
pub fn map_file(path: &CStr, len: usize, flags: i32, mode: u32) -> Result<Mapping, MapError> {
    if flags & !PMEM_FILE_ALL_FLAGS != 0 {
        return Err(fail(
            EINVAL,
            format_args!(
                "pmem_map_file: unknown flags {:#x}",
                flags & !PMEM_FILE_ALL_FLAGS
            ),
        ));
    }
    let path = Path::new(OsStr::from_bytes(path.to_bytes()));
    let create = flags & PMEM_FILE_CREATE != 0;

    let existing = std::fs::metadata(path).ok();
    if let Some(md) = &existing {
        if md.file_type().is_char_device() {
            return match devdax_info(md.rdev()) {
                Some(dax) => map_devdax(path, len, flags, dax),
                None => Err(fail(
                    EINVAL,
                    format_args!(
                        "pmem_map_file: {} is a character device but not Device DAX",
                        path.display()
                    ),
                )),
            };
        }
    }

    if create {
        if len == 0 {
            return Err(fail(
                EINVAL,
                format_args!("pmem_map_file: PMEM_FILE_CREATE needs a non-zero len"),
            ));
        }
        if len > i64::MAX as usize {
            return Err(fail(
                EINVAL,
                format_args!("pmem_map_file: len {len} is larger than a file can be"),
            ));
        }
    } else if len != 0 {
        return Err(fail(
            EINVAL,
            format_args!("pmem_map_file: len must be 0 without PMEM_FILE_CREATE (got {len})"),
        ));
    }

    let tmpfile = create && flags & PMEM_FILE_TMPFILE != 0;
    let excl = create && flags & PMEM_FILE_EXCL != 0;
    // A file we create is removed again if mapping it fails.
    let mut created: Option<&Path> = None;
    let file = if tmpfile {
        os::file::open_unnamed(path, excl).map_err(|e| {
            fail(
                io_errno(&e),
                format_args!("pmem_map_file: temporary file in {}: {e}", path.display()),
            )
        })?
    } else {
        let mut o = OpenOptions::new();
        o.read(true).write(true).mode(mode);
        if excl {
            o.create_new(true);
        } else if create {
            o.create(true);
        }
        let f = o.open(path).map_err(|e| {
            fail(
                io_errno(&e),
                format_args!("pmem_map_file: open {}: {e}", path.display()),
            )
        })?;
        if create && existing.is_none() {
            created = Some(path);
        }
        f
    };
    let cleanup = |created: Option<&Path>| {
        if let Some(p) = created {
            let _ = std::fs::remove_file(p);
        }
    };

    let map_len = if create {
        let sized = file.set_len(len as u64).map_err(|e| {
            fail(
                io_errno(&e),
                format_args!("pmem_map_file: ftruncate {} to {len}: {e}", path.display()),
            )
        });
        if let Err(e) = sized {
            cleanup(created);
            return Err(e);
        }
        if flags & PMEM_FILE_SPARSE == 0 {
            if let Err(r) = os::reserve_blocks(file.as_raw_fd(), 0, len) {
                cleanup(created);
                return Err(fail(
                    r,
                    format_args!(
                        "pmem_map_file: posix_fallocate {} bytes: {}",
                        len,
                        strerror(r)
                    ),
                ));
            }
        }
        len
    } else {
        let size = file
            .metadata()
            .map_err(|e| fail(io_errno(&e), format_args!("pmem_map_file: fstat: {e}")))?
            .len();
        if size == 0 {
            return Err(fail(
                EINVAL,
                format_args!("pmem_map_file: {} is empty, nothing to map", path.display()),
            ));
        }
        match usize::try_from(size) {
            Ok(s) => s,
            Err(_) => {
                return Err(fail(
                    EFBIG,
                    format_args!("pmem_map_file: {} is too large to map", path.display()),
                ))
            }
        }
    };

    let align = if map_len >= 1 << 30 { 1 << 30 } else { 2 << 20 };
    let (addr, sync) = match map_fd(file.as_raw_fd(), map_len, align, true) {
        Ok(v) => v,
        Err(e) => {
            cleanup(created);
            return Err(fail(
                e,
                format_args!(
                    "pmem_map_file: mmap {map_len} bytes of {}: {}",
                    path.display(),
                    strerror(e)
                ),
            ));
        }
    };
    remember(
        addr as usize,
        map_len,
        if sync {
            Backing::FsDax
        } else {
            Backing::PageCache
        },
    );
    // libpmem reports what `pmem_is_pmem` says of the new range, so PMEM_IS_PMEM_FORCE
    // applies here too (programs such as fio refuse to run when this says 0).
    let is_pmem = is_pmem(addr, map_len);
    log(
        2,
        format_args!(
            "mapped {} at {addr:p} len {map_len} map_sync {} is_pmem {}",
            path.display(),
            sync as i32,
            is_pmem as i32
        ),
    );
    Ok(Mapping {
        addr,
        len: map_len,
        is_pmem,
    })
}

/// `pmem_unmap`: returns errno on failure.
pub fn unmap(addr: *mut u8, len: usize) -> Result<(), i32> {
    // That nothing in the range is used any more is pmem_unmap's caller's promise.
    if let Err(e) = os::file::unmap_checked(addr as usize, len) {
        set_error(format_args!(
            "pmem_unmap: munmap {addr:p} len {len}: {}",
            strerror(e)
        ));
        return Err(e);
    }
    let page = os::page_size();
    let end = (addr as usize).saturating_add(len).saturating_add(page - 1) & !(page - 1);
    forget(&mut ranges(), addr as usize, end);
    log(2, format_args!("unmapped {addr:p} len {len}"));
    Ok(())
}

/// `PMEM_IS_PMEM_FORCE`, read as C's `atoi` reads it (as libpmem does): 0 (which includes
/// an empty or non-numeric value) forces "never", 1 "always", anything else is ignored.
static FORCE: Lazy<Option<bool>> = Lazy::new(|| {
    let v = std::env::var_os("PMEM_IS_PMEM_FORCE")?;
    match super::atoi(v.as_bytes()) {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
});

/// `pmem_is_pmem`: every byte of a non-empty range lies in a pmem mapping made here.
pub fn is_pmem(addr: *const u8, len: usize) -> bool {
    if len == 0 {
        return false;
    }
    if let Some(f) = *FORCE {
        return f;
    }
    let start = addr as usize;
    let Some(end) = start.checked_add(len) else {
        return false;
    };
    let mut next = start;
    for (s, e, b) in covered(start, end) {
        if s != next || !b.is_pmem() {
            return false;
        }
        next = e;
    }
    next == end
}

/// `pmem_msync`: `msync(MS_SYNC)` over the pages holding the range.
pub fn msync(addr: *const u8, len: usize) -> Result<(), i32> {
    let page = os::page_size();
    let start = addr as usize & !(page - 1);
    let len = len + (addr as usize - start);
    if let Err(e) = os::file::sync_to_file(start, len) {
        set_error(format_args!(
            "pmem_msync: msync {addr:p} len {len}: {}",
            strerror(e)
        ));
        return Err(e);
    }
    Ok(())
}

/// `pmem_deep_drain` after the flush: page-cache parts are written back with `msync`, and
/// Device DAX regions with a `deep_flush` control get it triggered. Memory we did not map
/// has nothing further to do.
pub fn deep_drain(addr: *const u8, len: usize) -> Result<(), i32> {
    let start = addr as usize;
    let end = start.saturating_add(len);
    for (s, e, b) in covered(start, end) {
        match b {
            Backing::PageCache | Backing::FsDax => msync(s as *const u8, e - s)?,
            Backing::DevDax { region: Some(r) } => {
                let p = format!("/sys/bus/nd/devices/region{r}/deep_flush");
                if Path::new(&p).exists() {
                    std::fs::write(&p, "1").map_err(|err| {
                        set_error(format_args!("pmem_deep_drain: write {p}: {err}"));
                        io_errno(&err)
                    })?;
                }
            }
            Backing::DevDax { region: None } => {}
        }
    }
    Ok(())
}

/// 1 when every NVDIMM region says its persistence domain includes the CPU caches, 0 when
/// any does not or there are none, -1 when sysfs cannot be read.
pub fn auto_flush() -> i32 {
    let dir = match std::fs::read_dir("/sys/bus/nd/devices") {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return 0,
        Err(_) => return -1,
    };
    let mut regions = 0;
    for ent in dir.flatten() {
        let name = ent.file_name();
        if !name.as_bytes().starts_with(b"region") {
            continue;
        }
        regions += 1;
        match std::fs::read_to_string(ent.path().join("persistence_domain")) {
            Ok(s) if s.trim() == "cpu_cache" => {}
            Ok(_) => return 0,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return 0,
            Err(_) => return -1,
        }
    }
    (regions > 0) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forget_splits_ranges() {
        let mut t = BTreeMap::new();
        t.insert(100, (200, Backing::FsDax));
        t.insert(300, (400, Backing::PageCache));
        forget(&mut t, 150, 350);
        let v: Vec<_> = t.into_iter().collect();
        assert_eq!(
            v,
            vec![
                (100, (150, Backing::FsDax)),
                (350, (400, Backing::PageCache))
            ]
        );
    }

    #[test]
    fn tmpfs_file_is_not_pmem_and_data_survives_remap() {
        let dir = std::env::temp_dir().join(format!("pmem-map-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("f");
        let c = std::ffi::CString::new(f.as_os_str().as_bytes()).unwrap();
        let m = map_file(&c, 10000, PMEM_FILE_CREATE, 0o600).unwrap();
        assert_eq!(m.len, 10000);
        assert_eq!(m.addr as usize % (2 << 20), 0);
        // SAFETY: the mapping is 10000 bytes long.
        unsafe { m.addr.add(9999).write(42) };
        if std::env::var_os("PMEM_IS_PMEM_FORCE").is_none() {
            assert_eq!(is_pmem(m.addr, 10000), m.is_pmem);
        }
        msync(m.addr, 10000).unwrap();
        unmap(m.addr, m.len).unwrap();
        assert!(covered(m.addr as usize, m.addr as usize + m.len).is_empty());
        let m = map_file(&c, 0, 0, 0).unwrap();
        // SAFETY: the new mapping covers the file's 10000 bytes, so byte 9999 is mapped.
        assert_eq!(unsafe { m.addr.add(9999).read() }, 42);
        unmap(m.addr, m.len).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mappings_made_at_once_by_many_threads_keep_their_data() {
        // Every map_file reserves a hole and maps the file over it; a refused MAP_SYNC
        // attempt used to leave the hole open for another thread's reservation, which the
        // retry then mapped over (and that thread's trim unmapped again).
        let dir = std::env::temp_dir().join(format!("pmem-race-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let f = dir.join(format!("f{t}"));
                    let c = std::ffi::CString::new(f.as_os_str().as_bytes()).unwrap();
                    for i in 0..150usize {
                        let len = (1 + (i + t as usize) % 5) << 20;
                        let m =
                            map_file(&c, len, PMEM_FILE_CREATE | PMEM_FILE_SPARSE, 0o600).unwrap();
                        let v = t.wrapping_mul(31).wrapping_add(i as u8);
                        for off in (0..len).step_by(256 << 10) {
                            // SAFETY: off < len, the mapping's length.
                            unsafe { m.addr.add(off).write(v) };
                        }
                        for off in (0..len).step_by(256 << 10) {
                            // SAFETY: as above.
                            assert_eq!(unsafe { m.addr.add(off).read() }, v);
                        }
                        unmap(m.addr, m.len).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
