//! The on-media format of a PMDK 1.12 object pool: offsets and sizes of the pool header,
//! the pool descriptor, the lanes and the heap (zones, chunk headers, runs, allocation
//! headers), the Fletcher-64 checksum PMDK uses, and the table of run allocation classes
//! PMDK builds by default (a run is only usable by PMDK when its unit size, flags and chunk
//! count match one of those classes, so new runs are always made from this table).

/// Size of the pool header (`struct pool_hdr`), checksummed over its first 2 KiB.
pub const POOL_HDR_SIZE: usize = 4096;
pub const HDR_CSUM_END: usize = 2048;
pub const HDR_CHECKSUM_OFF: usize = 4088;
pub const SIGNATURE: &[u8; 8] = b"PMEMOBJ\0";
pub const FORMAT_MAJOR: u32 = 6;
/// Feature words as PMDK 1.12 (Debian build) writes them: bad-block checking,
/// 2 KiB header checksum and the shutdown-state feature.
pub const FEAT_COMPAT: u32 = 0x1;
pub const FEAT_INCOMPAT: u32 = 0x6;
pub const FEAT_RO_COMPAT: u32 = 0;
pub const FEAT_COMPAT_KNOWN: u32 = 0x1;
pub const FEAT_INCOMPAT_KNOWN: u32 = 0x7;
/// `struct arch_flags` of x86-64 little endian with the alignment descriptor of its
/// C types, byte for byte.
pub const ARCH_FLAGS: [u8; 16] = [
    0x10, 0x73, 0x77, 0x37, 0xf7, 0x07, 0, 0, 2, 1, 0, 0, 0, 0, 62, 0,
];

/// Header field offsets.
pub const H_MAJOR: usize = 8;
pub const H_FEATURES: usize = 12;
pub const H_POOLSET_UUID: usize = 24;
pub const H_UUID: usize = 40;
pub const H_PREV_PART: usize = 56;
pub const H_CRTIME: usize = 120;
pub const H_ARCH: usize = 128;

/// The persistent pool descriptor (2 KiB, checksummed) after the header.
pub const DESC_OFF: usize = 4096;
pub const DESC_SIZE: usize = 2048;
pub const MAX_LAYOUT: usize = 1024;
pub const D_LANES_OFFSET: usize = DESC_OFF + MAX_LAYOUT;
pub const D_NLANES: usize = D_LANES_OFFSET + 8;
pub const D_HEAP_OFFSET: usize = D_NLANES + 8;
pub const D_CHECKSUM: usize = DESC_OFF + DESC_SIZE - 8;
/// Fields after the descriptor, not checksummed.
pub const P_ROOT_OFFSET: usize = 6144;
pub const P_RUN_ID: usize = 6152;
pub const P_ROOT_SIZE: usize = 6160;
pub const P_CONVERSION: usize = 6168;
pub const P_HEAP_SIZE: usize = 6176;

/// Lanes: 1024 of 3 KiB each, right after the 8 KiB `struct pmemobjpool`.
pub const LANES_OFFSET: u64 = 8192;
pub const NLANES: u64 = 1024;
pub const LANE_SIZE: u64 = 3072;
/// Redo and undo logs inside a lane: (offset in lane, data capacity).
pub const LANE_INTERNAL: (u64, u64) = (0, 192);
pub const LANE_EXTERNAL: (u64, u64) = (256, 640);
pub const LANE_UNDO: (u64, u64) = (960, 2048);
pub const ULOG_HDR: u64 = 64;

/// Heap geometry.
pub const HEAP_HDR_SIZE: u64 = 1024;
pub const HEAP_SIGNATURE: &[u8; 16] = b"MEMORY_HEAP_HDR\0";
pub const CHUNKSIZE: u64 = 256 * 1024;
pub const MAX_CHUNK: u64 = 65535 - 7;
pub const ZONE_HDR_SIZE: u64 = 64;
pub const ZONE_MAGIC: u32 = 0xC3F0_A2D2;
/// Zone header plus chunk headers: where a zone's chunks begin.
pub const ZONE_META: u64 = ZONE_HDR_SIZE + 8 * MAX_CHUNK;
pub const ZONE_MAX_SIZE: u64 = ZONE_META + MAX_CHUNK * CHUNKSIZE;
pub const ZONE_MIN_SIZE: u64 = ZONE_META + CHUNKSIZE;

pub const CHUNK_TYPE_FOOTER: u16 = 1;
pub const CHUNK_TYPE_FREE: u16 = 2;
pub const CHUNK_TYPE_USED: u16 = 3;
pub const CHUNK_TYPE_RUN: u16 = 4;
pub const CHUNK_TYPE_RUN_DATA: u16 = 5;
pub const CHUNK_FLAG_COMPACT_HEADER: u16 = 0x1;
pub const CHUNK_FLAG_HEADER_NONE: u16 = 0x2;
pub const CHUNK_FLAG_ALIGNED: u16 = 0x4;
pub const CHUNK_FLAG_FLEX_BITMAP: u16 = 0x8;
pub const CHUNK_FLAGS_ALL: u16 = 0xf;
pub const RUN_FLAGS: u16 = CHUNK_FLAG_COMPACT_HEADER | CHUNK_FLAG_FLEX_BITMAP;

/// Compact allocation header: size (low 48 bits) and flags (high 16), then the type number.
pub const ALLOC_HDR: u64 = 16;
pub const ALLOC_HDR_FLAGS_SHIFT: u32 = 48;
/// Header flag marking objects iteration must not show (the root object).
pub const HDR_FLAG_INTERNAL: u64 = 1 << 15;
pub const RUN_HDR: u64 = 16;

/// Redo log operations in the top 3 bits of an entry's offset.
pub const ULOG_OP_SET: u64 = 0;
pub const ULOG_OP_AND: u64 = 1 << 61;
pub const ULOG_OP_OR: u64 = 2 << 61;
pub const ULOG_OP_BUF_SET: u64 = 5 << 61;
pub const ULOG_OP_BUF_CPY: u64 = 6 << 61;
pub const ULOG_OP_MASK: u64 = 7 << 61;

pub const MIN_POOL: usize = 8 << 20;
pub const MAX_ALLOC_SIZE: usize = 0x3_FFDF_FFC0;

/// Where the heap starts: the lanes rounded up to a page.
pub const HEAP_OFFSET: u64 = (LANES_OFFSET + NLANES * LANE_SIZE + 4095) & !4095;

/// Fletcher-64 over 32-bit little-endian words; the 8-byte checksum field at `csum_off`
/// and everything from `skip_from` on count as zero.
pub fn checksum(data: &[u8], csum_off: usize, skip_from: usize) -> u64 {
    let mut lo: u32 = 0;
    let mut hi: u32 = 0;
    let mut i = 0;
    while i + 4 <= data.len() {
        let w = if i == csum_off || i == csum_off + 4 || i >= skip_from {
            0
        } else {
            u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]])
        };
        lo = lo.wrapping_add(w);
        hi = hi.wrapping_add(lo);
        i += 4;
    }
    ((hi as u64) << 32) | lo as u64
}

/// Continues a Fletcher-64 sum over more words.
pub fn checksum_seq(data: &[u8], csum: u64) -> u64 {
    let mut lo = csum as u32;
    let mut hi = (csum >> 32) as u32;
    for w in data.chunks_exact(4) {
        lo = lo.wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        hi = hi.wrapping_add(lo);
    }
    ((hi as u64) << 32) | lo as u64
}

/// Number of zones a heap of `size` bytes holds.
pub fn max_zone(size: u64) -> u32 {
    let mut n = 0;
    let mut s = size.saturating_sub(HEAP_HDR_SIZE);
    while s >= ZONE_MIN_SIZE {
        n += 1;
        s -= s.min(ZONE_MAX_SIZE);
    }
    n
}

/// Chunks in zone `zid` of `nzones` (the last one is partial; its size drops one heap
/// header as PMDK computes it).
pub fn zone_chunks(zid: u32, nzones: u32, heap_size: u64) -> u32 {
    if zid + 1 < nzones {
        return MAX_CHUNK as u32;
    }
    let raw = heap_size - zid as u64 * ZONE_MAX_SIZE;
    ((raw - ZONE_META - HEAP_HDR_SIZE) / CHUNKSIZE) as u32
}

/// A chunk header as its 8-byte value.
pub fn chunk_hdr(ty: u16, flags: u16, size_idx: u32) -> u64 {
    ty as u64 | (flags as u64) << 16 | (size_idx as u64) << 32
}

pub fn hdr_type(v: u64) -> u16 {
    v as u16
}
pub fn hdr_flags(v: u64) -> u16 {
    (v >> 16) as u16
}
pub fn hdr_size_idx(v: u64) -> u32 {
    (v >> 32) as u32
}

/// Bitmap geometry of a flexible-bitmap run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunBitmap {
    pub nbits: u32,
    pub nvalues: u32,
    /// Bytes reserved for the bitmap; data starts right after it.
    pub size: u64,
}

const RUN_CONTENT_SIZE: u64 = CHUNKSIZE - RUN_HDR;
const RUN_DEFAULT_SIZE: u64 = CHUNKSIZE - RUN_HDR - 8 * 38;

pub fn run_content_size(size_idx: u32) -> u64 {
    RUN_CONTENT_SIZE + (size_idx as u64 - 1) * CHUNKSIZE
}

/// The bitmap of a run of `size_idx` chunks and `unit` byte blocks. Runs without the
/// flexible-bitmap flag (older pools) keep a fixed 304-byte bitmap.
pub fn run_bitmap(size_idx: u32, flags: u16, unit: u64) -> RunBitmap {
    let content = run_content_size(size_idx);
    if flags & CHUNK_FLAG_FLEX_BITMAP != 0 {
        let nbits = content / unit;
        let nvalues = nbits.div_ceil(64);
        let nvalues = (nvalues + 2).div_ceil(8) * 8 - 2;
        let size = nvalues * 8;
        let nbits = (content - size) / unit - u64::from(flags & CHUNK_FLAG_ALIGNED != 0);
        let unused = nvalues * 64 - nbits;
        RunBitmap {
            nbits: nbits as u32,
            nvalues: (nvalues - unused / 64) as u32,
            size,
        }
    } else {
        let size = 8 * 38;
        let nbits = ((RUN_DEFAULT_SIZE + (size_idx as u64 - 1) * CHUNKSIZE) / unit).min(38 * 64)
            - u64::from(flags & CHUNK_FLAG_ALIGNED != 0);
        let unused = 38 * 64 - nbits;
        RunBitmap {
            nbits: nbits as u32,
            nvalues: (38 - unused / 64) as u32,
            size,
        }
    }
}

/// One run allocation class.
#[derive(Clone, Copy, Debug)]
pub struct Class {
    pub unit: u64,
    pub size_idx: u32,
    pub bitmap: RunBitmap,
}

/// The run classes PMDK 1.12 creates by default, smallest unit first.
pub fn default_classes() -> Vec<Class> {
    let mut cl: Vec<Class> = Vec::new();
    let mk = |unit: u64, size_idx: u32| Class {
        unit,
        size_idx,
        bitmap: run_bitmap(size_idx, RUN_FLAGS, unit),
    };
    cl.push(mk(128, 1));
    let cats: [(u64, f32); 9] = [
        (128, 0.05),
        (1024, 0.05),
        (2048, 0.05),
        (4096, 0.05),
        (8192, 0.05),
        (16384, 0.05),
        (32768, 0.05),
        (131072, 0.05),
        (393216, 0.05),
    ];
    for c in 1..cats.len() {
        let mut n = cats[c - 1].0 + 64;
        loop {
            find_or_create(&mut cl, n, &mk);
            let stepf = n as f32 * cats[c].1;
            let mut stepi = stepf as u64;
            if stepf - stepi as f32 >= f32::EPSILON {
                stepi += 1;
            }
            n += (stepi + 63) & !63;
            if n > cats[c].0 {
                break;
            }
        }
    }
    cl.sort_by_key(|c| c.unit);
    cl
}

fn find_or_create(cl: &mut Vec<Class>, mut n: u64, mk: &dyn Fn(u64, u32) -> Class) {
    let mut req_bytes = n * 200;
    let mut req_idx: u32 = 1;
    if req_bytes > RUN_DEFAULT_SIZE {
        req_bytes -= RUN_DEFAULT_SIZE;
        req_idx += req_bytes.div_ceil(CHUNKSIZE) as u32;
        req_idx = req_idx.min(16);
    }
    for c in cl.iter().rev() {
        if c.size_idx < req_idx {
            continue;
        }
        if n.is_multiple_of(c.unit) && n / c.unit <= 8 {
            return;
        }
    }
    let mut first = true;
    loop {
        if !first {
            n += 64;
        }
        first = false;
        let b = run_bitmap(req_idx, RUN_FLAGS, n);
        let runsize = run_content_size(req_idx) - b.size;
        if runsize % n <= 1024 {
            break;
        }
    }
    for c in cl.iter() {
        if (n / c.unit <= 8 && n.is_multiple_of(c.unit)) || c.unit == n {
            return;
        }
    }
    cl.push(mk(n, req_idx));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_include_the_ones_pmdk_makes() {
        let cl = default_classes();
        // (unit, chunks) of runs PMDK 1.12 made in a pool it created
        for (unit, size_idx) in [
            (128u64, 1u32),
            (320, 1),
            (832, 1),
            (51776, 16),
            (135296, 16),
        ] {
            assert!(
                cl.iter().any(|c| c.unit == unit && c.size_idx == size_idx),
                "no class of {unit} x {size_idx}"
            );
        }
        // the last bitmap word must have spare bits (else the run init marks 64 blocks used)
        for c in &cl {
            assert!(c.bitmap.nbits > 0);
            assert!(c.bitmap.nvalues as u64 * 64 >= c.bitmap.nbits as u64);
        }
    }

    #[test]
    fn fletcher_matches_a_known_sum() {
        let d = [1u8, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(checksum_seq(&d, 0), (4u64 << 32) | 3);
        assert_eq!(checksum(&d, 0, d.len()), 0);
    }
}
