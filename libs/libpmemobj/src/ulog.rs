//! Redo and undo logs in PMDK's `ulog` format. An allocator operation that changes more
//! than one 8-byte word writes its entries into its lane's redo log, seals the log with a
//! checksum, applies the entries and then clears the log header; recovery replays any
//! sealed log. Undo logs (transactions, written by PMDK) are rolled back on open.

use crate::layout::*;
use crate::pool::Mem;

/// One 8-byte redo operation: `off` is a pool offset, `op` one of the ULOG_OP_* values.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub off: u64,
    pub op: u64,
    pub val: u64,
}

/// Applies one entry to memory (no flush, no fence). Bitmap words are shared by
/// threads; live operations hold the word's stripe lock (`Pool::commit`), so a plain
/// read-modify-write suffices, and it does not wait for the log's streaming stores the way
/// a locked instruction would.
fn apply(m: &Mem, e: &Entry) {
    match e.op {
        ULOG_OP_AND => m.write(e.off, m.read(e.off) & e.val),
        ULOG_OP_OR => m.write(e.off, m.read(e.off) | e.val),
        _ => m.write(e.off, e.val),
    }
}

/// Flushes the lines of the entries' targets, each line once.
fn flush_targets(m: &Mem, entries: &[Entry]) {
    let mut done = [u64::MAX; 8];
    for (i, e) in entries.iter().enumerate() {
        let line = e.off / 64;
        if done.contains(&line) {
            continue;
        }
        if i < done.len() {
            done[i] = line;
        }
        m.flush(e.off, 8);
    }
}

/// A 16-byte object header the commit writes through the log (a buffer-copy entry), so
/// it needs no fence of its own before the log.
pub struct HeaderCopy {
    pub off: u64,
    pub bytes: [u8; 16],
}

/// Makes `entries` (and the optional header copy) happen atomically with respect to
/// crashes, using the redo log at `log`, owned by the caller (its lane). Everything the
/// caller flushed before is durable before any entry takes effect.
///
/// With `lazy`, the log is cleared with ordinary stores that are flushed but not fenced: the entries
/// are durable when this returns, and replaying them again is harmless until another
/// operation changes the same words. The caller's next fence, or another thread's flush
/// of this log's header before its own fence (see `Pool::commit`), makes the clearing
/// durable first. Returns whether the log was used and awaits that fence. (On
/// persistent memory the log is written with streaming stores, which another thread's
/// flush cannot push out, so there the clearing is fenced at once.)
pub fn redo(
    m: &Mem,
    log: u64,
    cap: u64,
    hdr: Option<&HeaderCopy>,
    entries: &[Entry],
    lazy: bool,
) -> bool {
    if entries.is_empty() {
        return false;
    }
    if entries.len() == 1 {
        // a single aligned 8-byte store is atomic already; the fence first makes the
        // object's header (and earlier flushes) durable before it is published
        if let Some(h) = hdr {
            m.flush(h.off, 16);
        }
        m.drain();
        apply(m, &entries[0]);
        m.flush(entries[0].off, 8);
        m.drain();
        return false;
    }
    let hbytes = if hdr.is_some() { 64 } else { 0 };
    let nbytes = hbytes + entries.len() as u64 * 16;
    assert!(nbytes + 8 <= cap, "redo log too small");
    let gen = m.read(log + 24);
    let mut buf = [0u8; 64 + 640];
    if let Some(h) = hdr {
        let e = &mut buf[64..128];
        e[0..8].copy_from_slice(&(h.off | ULOG_OP_BUF_CPY).to_le_bytes());
        e[16..24].copy_from_slice(&16u64.to_le_bytes());
        e[24..40].copy_from_slice(&h.bytes);
        let c = checksum_seq(&gen.to_le_bytes(), checksum(e, 8, usize::MAX));
        e[8..16].copy_from_slice(&c.to_le_bytes());
    }
    for (i, e) in entries.iter().enumerate() {
        let o = 64 + hbytes as usize + i * 16;
        buf[o..o + 8].copy_from_slice(&(e.off | e.op).to_le_bytes());
        buf[o + 8..o + 16].copy_from_slice(&e.val.to_le_bytes());
    }
    // the stored data ends with a zero offset so stale entries behind it are ignored
    let stored = ((nbytes + 8).div_ceil(64) * 64).min(cap);
    buf[16..24].copy_from_slice(&stored.to_le_bytes()); // capacity
    buf[24..32].copy_from_slice(&gen.to_le_bytes());
    let csum = checksum(&buf[..(64 + nbytes) as usize], 0, usize::MAX);
    buf[0..8].copy_from_slice(&csum.to_le_bytes());
    m.write_lines(log, &buf[..(64 + stored) as usize]);
    m.drain();
    if let Some(h) = hdr {
        m.copy_in(h.off, &h.bytes);
        m.flush(h.off, 16);
    }
    for e in entries {
        apply(m, e);
    }
    flush_targets(m, entries);
    m.drain();
    if !lazy {
        clobber(m, log);
        return false;
    }
    let next = m.read(log + 8);
    for w in 0..8 {
        m.write(log + w * 8, if w == 1 { next } else { 0 });
    }
    m.flush(log, 64);
    true
}

/// Clears a log header (capacity 0: nothing to replay).
fn clobber(m: &Mem, log: u64) {
    let mut h = [0u8; 64];
    h[8..16].copy_from_slice(&m.read(log + 8).to_le_bytes());
    m.write_lines(log, &h);
    m.drain();
}

/// Size of a redo log entry as stored; `None` for an entry that ends the log.
fn entry_size(m: &Mem, at: u64) -> Option<u64> {
    let off = m.read(at);
    if off == 0 {
        return None;
    }
    match off & ULOG_OP_MASK {
        ULOG_OP_SET | ULOG_OP_AND | ULOG_OP_OR => Some(16),
        ULOG_OP_BUF_SET | ULOG_OP_BUF_CPY => Some((24 + m.read(at + 16)).div_ceil(64) * 64),
        _ => None,
    }
}

/// Bytes of well-formed entries at the start of a log's data.
fn valid_bytes(m: &Mem, log: u64, limit: u64) -> u64 {
    let cap = m.read(log + 16).min(limit);
    let mut o = 0;
    while o + 8 <= cap {
        match entry_size(m, log + ULOG_HDR + o) {
            Some(s) if o + s <= cap => o += s,
            _ => break,
        }
    }
    o
}

/// Checks an offset an entry wants to write (inside the pool, past the descriptor).
fn target_ok(m: &Mem, off: u64, len: u64) -> bool {
    off >= P_ROOT_OFFSET as u64 && off.checked_add(len).is_some_and(|e| e <= m.len as u64)
}

/// Replays a sealed redo log (and the logs chained after it), then clears it.
/// Returns whether anything was replayed.
pub fn recover_redo(m: &Mem, log: u64, limit: u64) -> bool {
    let n = valid_bytes(m, log, limit);
    if n == 0 {
        return false;
    }
    let mut hdr = m.bytes(log, (ULOG_HDR + n) as usize);
    if checksum(&hdr, 0, usize::MAX) != u64::from_le_bytes(hdr[0..8].try_into().unwrap()) {
        return false;
    }
    hdr.clear();
    let mut cur = log;
    let mut first = true;
    let mut hops = 0;
    loop {
        let cap = if first { n } else { m.read(cur + 16) };
        let mut o = 0;
        while o + 8 <= cap {
            let at = cur + ULOG_HDR + o;
            let Some(s) = entry_size(m, at) else { break };
            let raw = m.read(at);
            let off = raw & !ULOG_OP_MASK;
            match raw & ULOG_OP_MASK {
                ULOG_OP_BUF_SET | ULOG_OP_BUF_CPY => {
                    let size = m.read(at + 16);
                    if target_ok(m, off, size) {
                        let src = m.bytes(at + 24, size as usize);
                        if raw & ULOG_OP_MASK == ULOG_OP_BUF_SET {
                            m.fill(off, src.first().copied().unwrap_or(0), size);
                        } else {
                            m.copy_in(off, &src);
                        }
                        m.flush(off, size as usize);
                    }
                }
                op => {
                    if target_ok(m, off, 8) && off.is_multiple_of(8) {
                        apply(
                            m,
                            &Entry {
                                off,
                                op,
                                val: m.read(at + 8),
                            },
                        );
                        m.flush(off, 8);
                    }
                }
            }
            o += s;
        }
        first = false;
        let next = m.read(cur + 8);
        hops += 1;
        if next == 0 || hops > 1024 || !target_ok(m, next, ULOG_HDR) {
            break;
        }
        cur = next.div_ceil(64) * 64;
    }
    m.drain();
    clobber(m, log);
    true
}

/// Rolls back an interrupted transaction: applies every snapshot whose checksum (which
/// covers the log's generation number) is intact, then bumps the generation so the
/// snapshots no longer count.
pub fn recover_undo(m: &Mem, log: u64, limit: u64) -> bool {
    let cap = m.read(log + 16).min(limit);
    let gen = m.read(log + 24);
    let mut o = 0;
    let mut any = false;
    while o + 24 <= cap {
        let at = log + ULOG_HDR + o;
        let raw = m.read(at);
        let op = raw & ULOG_OP_MASK;
        if raw == 0 || (op != ULOG_OP_BUF_CPY && op != ULOG_OP_BUF_SET) {
            break;
        }
        let size = m.read(at + 16);
        let esize = (24 + size).div_ceil(64) * 64;
        if o + esize > cap {
            break;
        }
        let e = m.bytes(at, esize as usize);
        let c = checksum(&e, 8, usize::MAX);
        let c = checksum_seq(&gen.to_le_bytes(), c);
        if c != m.read(at + 8) {
            break;
        }
        let off = raw & !ULOG_OP_MASK;
        if target_ok(m, off, size) {
            if op == ULOG_OP_BUF_SET {
                m.fill(off, e[24], size);
            } else {
                m.copy_in(off, &e[24..24 + size as usize]);
            }
            m.flush(off, size as usize);
        }
        any = true;
        o += esize;
    }
    if any {
        m.drain();
        m.write(log + 24, gen.wrapping_add(1));
        m.persist(log + 24, 8);
    }
    any
}
