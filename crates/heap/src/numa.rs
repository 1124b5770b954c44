//! NUMA topology from `/sys/devices/system/node`, and which nodes each family of static
//! kinds uses.
//!
//! Read once, when the first kind that needs it starts (never inside the allocator hooks):
//! the nodes, which of them have CPUs, their memory (`MemTotal`), the distance table, huge
//! page pools and, where the kernel exposes HMAT data (`nodeN/access0/initiators/`), each
//! node's read bandwidth and latency and the initiator nodes those figures hold for.
//! memkind's overrides `MEMKIND_HBW_NODES`, `MEMKIND_DAX_KMEM_NODES` (node lists in
//! `numa_parse_nodestring` syntax) and `MEMKIND_HBW_THRESHOLD` (MB/s, default 204800)
//! replace the detection of high-bandwidth and memory-only (DAX KMEM, CXL) nodes.

use std::ffi::CStr;

use once_cell::sync::OnceCell;

use crate::env;
use crate::error::{Error, Result};
use crate::sys;

pub const MAX_NODES: usize = sys::MAX_NODE_BITS;
const WORDS: usize = MAX_NODES / 64;
const NODE_DIR: &str = "/sys/devices/system/node";
/// memkind's default bandwidth threshold for high-bandwidth memory, in MB/s.
const HBW_THRESHOLD_DEFAULT: u64 = 204_800;

/// A set of node ids, in the layout `mbind` reads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NodeMask([u64; WORDS]);

impl std::fmt::Debug for NodeMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Default for NodeMask {
    fn default() -> Self {
        NodeMask([0; WORDS])
    }
}

impl NodeMask {
    pub fn set(&mut self, n: usize) {
        if n < MAX_NODES {
            self.0[n / 64] |= 1 << (n % 64);
        }
    }

    pub fn contains(&self, n: usize) -> bool {
        n < MAX_NODES && self.0[n / 64] & (1 << (n % 64)) != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..MAX_NODES).filter(|&n| self.contains(n))
    }

    pub fn words(&self) -> &[u64] {
        &self.0
    }

    fn of(nodes: impl IntoIterator<Item = usize>) -> Self {
        let mut m = NodeMask::default();
        for n in nodes {
            m.set(n);
        }
        m
    }
}

#[derive(Default)]
struct Node {
    has_cpu: bool,
    mem_total: u64,
    hugepages_2m: u64,
    /// Read bandwidth (MB/s) and latency (ns) from the node's best initiators (HMAT).
    bandwidth: Option<u64>,
    latency: Option<u64>,
    initiators: NodeMask,
}

pub struct Topology {
    /// Indexed by node id; ids missing from /sys stay `None`.
    nodes: Vec<Option<Node>>,
    /// distance[a][b], u32::MAX where unknown.
    distance: Vec<Vec<u32>>,
    online: NodeMask,
}

fn read(path: &str) -> Option<String> {
    sys::file::read_small(path)
}

fn read_u64(path: &str) -> Option<u64> {
    read(path)?.trim().parse().ok()
}

/// "0-3,8,10-11" as the kernel prints node and CPU lists.
fn parse_list(s: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                out.extend(a..=b.min(MAX_NODES * 64));
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

impl Topology {
    fn read() -> Topology {
        let online = read(&format!("{NODE_DIR}/online"))
            .and_then(|s| parse_list(&s))
            .map(|v| v.into_iter().filter(|&n| n < MAX_NODES).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| vec![0]);
        let max = online.iter().copied().max().unwrap_or(0);
        let mut nodes: Vec<Option<Node>> = (0..=max).map(|_| None).collect();
        let mut distance = vec![vec![u32::MAX; max + 1]; max + 1];
        for &n in &online {
            let dir = format!("{NODE_DIR}/node{n}");
            let mut node = Node {
                has_cpu: read(&format!("{dir}/cpulist"))
                    .and_then(|s| parse_list(&s))
                    .is_some_and(|v| !v.is_empty()),
                ..Node::default()
            };
            node.mem_total = read(&format!("{dir}/meminfo"))
                .and_then(|m| {
                    let line = m.lines().find(|l| l.contains("MemTotal:"))?;
                    line.split_whitespace().rev().nth(1)?.parse::<u64>().ok()
                })
                .map_or(0, |kb| kb * 1024);
            node.hugepages_2m =
                read_u64(&format!("{dir}/hugepages/hugepages-2048kB/nr_hugepages")).unwrap_or(0);
            let hmat = format!("{dir}/access0/initiators");
            node.bandwidth = read_u64(&format!("{hmat}/read_bandwidth")).filter(|&b| b > 0);
            node.latency = read_u64(&format!("{hmat}/read_latency")).filter(|&l| l > 0);
            for name in sys::file::dir_names(&hmat) {
                if let Some(i) = name.to_str().and_then(|s| s.strip_prefix("node")) {
                    if let Ok(i) = i.parse::<usize>() {
                        node.initiators.set(i);
                    }
                }
            }
            // The distance file lists distances to the online nodes in id order.
            if let Some(row) = read(&format!("{dir}/distance")) {
                for (to, d) in online.iter().zip(row.split_whitespace()) {
                    distance[n][*to] = d.parse().unwrap_or(u32::MAX);
                }
            }
            nodes[n] = Some(node);
        }
        // No NUMA information (a kernel without NUMA, a container hiding /sys): one node
        // with all the memory and CPUs.
        if nodes.iter().flatten().all(|n| n.mem_total == 0) {
            if let Some(Some(first)) = nodes.first_mut() {
                first.mem_total = sys::total_ram();
                first.has_cpu = true;
            } else if let Some(slot) = nodes.first_mut() {
                *slot = Some(Node {
                    has_cpu: true,
                    mem_total: sys::total_ram(),
                    ..Node::default()
                });
            }
        }
        Topology {
            nodes,
            distance,
            online: NodeMask::of(online),
        }
    }

    fn node(&self, n: usize) -> Option<&Node> {
        self.nodes.get(n).and_then(|o| o.as_ref())
    }

    fn ids(&self) -> impl Iterator<Item = (usize, &Node)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i, n)))
    }

    /// Nodes with memory.
    pub fn memory_nodes(&self) -> NodeMask {
        NodeMask::of(self.ids().filter(|(_, n)| n.mem_total > 0).map(|(i, _)| i))
    }

    /// Nodes with CPUs and memory ("regular" memory in memkind's terms).
    pub fn cpu_nodes(&self) -> NodeMask {
        NodeMask::of(
            self.ids()
                .filter(|(_, n)| n.has_cpu && n.mem_total > 0)
                .map(|(i, _)| i),
        )
    }

    /// Nodes with CPUs, memory or not: the initiators a thread can run on.
    fn initiator_nodes(&self) -> Vec<usize> {
        let v: Vec<usize> = self
            .ids()
            .filter(|(_, n)| n.has_cpu)
            .map(|(i, _)| i)
            .collect();
        if v.is_empty() {
            vec![self.online.iter().next().unwrap_or(0)]
        } else {
            v
        }
    }

    pub fn distance(&self, a: usize, b: usize) -> u32 {
        if a == b {
            return self
                .distance
                .get(a)
                .and_then(|r| r.get(b))
                .copied()
                .unwrap_or(10);
        }
        self.distance
            .get(a)
            .and_then(|r| r.get(b))
            .copied()
            .unwrap_or(u32::MAX)
    }

    /// Sum of `MemTotal` over `mask`, as memkind reports capacities.
    pub fn capacity(&self, mask: &NodeMask) -> u64 {
        mask.iter()
            .filter_map(|n| self.node(n))
            .map(|n| n.mem_total)
            .sum()
    }

    /// 2 MiB huge pages configured on the nodes of `mask` (every node when None).
    pub fn hugepages_2m(&self, mask: Option<&NodeMask>) -> u64 {
        self.ids()
            .filter(|(i, _)| mask.map_or(true, |m| m.contains(*i)))
            .map(|(_, n)| n.hugepages_2m)
            .sum()
    }

    /// The nodes of `set` closest to initiator `from` (all of them on a tie).
    fn closest(&self, from: usize, set: &NodeMask) -> NodeMask {
        let best = set.iter().map(|t| self.distance(from, t)).min();
        NodeMask::of(set.iter().filter(|&t| Some(self.distance(from, t)) == best))
    }

    /// Memory nodes in the local domain of initiator `from`: its own node, the nodes whose
    /// HMAT figures name it as an initiator, and memory-only nodes without HMAT data whose
    /// nearest CPU node it is.
    fn local_domain(&self, from: usize) -> NodeMask {
        let cpus = self.cpu_nodes();
        NodeMask::of(
            self.ids()
                .filter(|(_, n)| n.mem_total > 0)
                .filter_map(|(t, n)| {
                    let local = t == from
                        || n.initiators.contains(from)
                        || (!n.has_cpu
                            && n.initiators.is_empty()
                            && self.closest(t, &cpus).contains(from));
                    local.then_some(t)
                }),
        )
    }
}

pub fn topology() -> &'static Topology {
    static TOPOLOGY: OnceCell<Topology> = OnceCell::new();
    TOPOLOGY.get_or_init(Topology::read)
}

/// `numa_parse_nodestring` syntax: "all", or a comma-separated list of N and N-M, optionally
/// prefixed by "!" (all but these) or "+" (relative to the allowed nodes, which here are all
/// nodes). Nodes must be online; an empty string is an empty set, as memkind accepts it.
pub fn parse_nodes(v: &[u8], topo: &Topology) -> Option<NodeMask> {
    let s = std::str::from_utf8(v).ok()?.trim_start();
    if s.is_empty() {
        return Some(NodeMask::default());
    }
    let (invert, s) = match s.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let s = s.strip_prefix('+').unwrap_or(s);
    let mut mask = NodeMask::default();
    if s == "all" {
        mask = topo.memory_nodes();
    } else {
        for part in s.split(',') {
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?),
                None => {
                    let a = part.parse::<usize>().ok()?;
                    (a, a)
                }
            };
            if a > b || b >= MAX_NODES {
                return None;
            }
            for n in a..=b {
                if !topo.online.contains(n) {
                    return None;
                }
                mask.set(n);
            }
        }
    }
    if invert {
        mask = NodeMask::of(topo.online.iter().filter(|&n| !mask.contains(n)));
    }
    Some(mask)
}

/// Nodes named by a node-list variable; `Err(Environ)` when it cannot be parsed.
/// Where a selection is made: the topology, the environment and the calling thread's node
/// (fixed values in the tests, so multi-node machines can be modelled).
struct Ctx<'a> {
    topo: &'a Topology,
    getenv: &'a dyn Fn(&CStr) -> Option<&'static [u8]>,
    node: usize,
}

fn nodes_from_env(name: &CStr, ctx: &Ctx) -> Option<Result<NodeMask>> {
    let topo = ctx.topo;
    let v = (ctx.getenv)(name)?;
    Some(parse_nodes(v, topo).ok_or_else(|| {
        env::log(&[name.to_bytes(), b": invalid node list"]);
        Error::Environ
    }))
}

/// Which memory a static kind uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Family {
    /// All nodes with memory (DEFAULT, INTERLEAVE, HUGETLB).
    All,
    /// Nodes with CPUs (REGULAR).
    Regular,
    /// High-bandwidth nodes: the closest to the initiator, or all of them.
    Hbw {
        all: bool,
    },
    /// Memory-only nodes (DAX KMEM, CXL): the closest, or all of them.
    DaxKmem {
        all: bool,
    },
    HighestCapacity,
    HighestCapacityLocal,
    LowestLatencyLocal,
    HighestBandwidthLocal,
}

/// Nodes of a family, per initiator node (nodes with CPUs).
pub struct Selection {
    /// (initiator node, nodes) pairs.
    per_initiator: Vec<(usize, NodeMask)>,
    /// Union over initiators.
    pub all: NodeMask,
}

impl Selection {
    fn same_for_all(topo: &Topology, mask: NodeMask) -> Selection {
        Selection {
            per_initiator: topo
                .initiator_nodes()
                .into_iter()
                .map(|i| (i, mask))
                .collect(),
            all: mask,
        }
    }

    /// Keeps only the first node of each initiator's set (for PREFERRED policies).
    pub fn first_only(&mut self) {
        for (_, m) in &mut self.per_initiator {
            let first = m.iter().next();
            *m = NodeMask::of(first);
        }
    }

    /// The nodes for a thread on node `from` (the first initiator's for an unknown node).
    pub fn for_node(&self, from: usize) -> NodeMask {
        self.per_initiator
            .iter()
            .find(|(i, _)| *i == from)
            .or(self.per_initiator.first())
            .map(|(_, m)| *m)
            .unwrap_or_default()
    }
}

fn hbw_threshold(ctx: &Ctx) -> Result<u64> {
    match (ctx.getenv)(c"MEMKIND_HBW_THRESHOLD") {
        None | Some(b"") => Ok(HBW_THRESHOLD_DEFAULT),
        Some(v) => env::parse_u64(v)
            .filter(|&t| t <= u32::MAX as u64)
            .ok_or_else(|| {
                env::log(&[b"MEMKIND_HBW_THRESHOLD: invalid value"]);
                Error::Environ
            }),
    }
}

/// High-bandwidth nodes for each initiator: `MEMKIND_HBW_NODES`, else the nodes whose HMAT
/// read bandwidth from that initiator reaches the threshold.
fn hbw_nodes(ctx: &Ctx) -> Result<Vec<(usize, NodeMask)>> {
    let topo = ctx.topo;
    if let Some(r) = nodes_from_env(c"MEMKIND_HBW_NODES", ctx) {
        let m = r?;
        return Ok(topo.initiator_nodes().into_iter().map(|i| (i, m)).collect());
    }
    let threshold = hbw_threshold(ctx)?;
    Ok(topo
        .initiator_nodes()
        .into_iter()
        .map(|i| {
            let m = NodeMask::of(topo.ids().filter_map(|(t, n)| {
                (n.mem_total > 0 && n.initiators.contains(i) && n.bandwidth? >= threshold)
                    .then_some(t)
            }));
            (i, m)
        })
        .collect())
}

/// Memory-only nodes: `MEMKIND_DAX_KMEM_NODES`, else nodes with memory and no CPU that are
/// not high-bandwidth memory.
fn dax_nodes(ctx: &Ctx) -> Result<NodeMask> {
    let topo = ctx.topo;
    if let Some(r) = nodes_from_env(c"MEMKIND_DAX_KMEM_NODES", ctx) {
        return r;
    }
    let threshold = hbw_threshold(ctx).unwrap_or(HBW_THRESHOLD_DEFAULT);
    Ok(NodeMask::of(topo.ids().filter_map(|(t, n)| {
        let hbw = n.bandwidth.is_some_and(|b| b >= threshold);
        (n.mem_total > 0 && !n.has_cpu && !hbw).then_some(t)
    })))
}

/// The nodes of `domain` that win on `key` (smallest first), ties broken by `tie`.
fn best_by(
    topo: &Topology,
    domain: &NodeMask,
    key: impl Fn(&Node) -> Option<u64>,
    tie: impl Fn(&Node) -> u64,
) -> NodeMask {
    let scored: Vec<(usize, u64, u64)> = domain
        .iter()
        .filter_map(|t| topo.node(t).and_then(|n| Some((t, key(n)?, tie(n)))))
        .collect();
    let Some(&(_, k, _)) = scored.iter().min_by_key(|(_, k, _)| *k) else {
        return NodeMask::default();
    };
    let tied = scored.iter().filter(|(_, kk, _)| *kk == k);
    let best_tie = tied.clone().map(|(_, _, t)| *t).min().unwrap_or(0);
    let pick = tied
        .clone()
        .find(|(_, _, t)| *t == best_tie)
        .map(|(n, _, _)| *n);
    NodeMask::of(pick)
}

/// The nodes a family uses, per initiator. `Err` carries memkind's code when the machine
/// has no such memory (an override naming no nodes still counts as present, as in memkind).
pub fn select(family: Family) -> Result<Selection> {
    select_in(
        &Ctx {
            topo: topology(),
            getenv: &|name| sys::getenv(name),
            node: sys::current_node(),
        },
        family,
    )
}

fn select_in(ctx: &Ctx, family: Family) -> Result<Selection> {
    let topo = ctx.topo;
    let sel = match family {
        Family::All => Selection::same_for_all(topo, topo.memory_nodes()),
        Family::Regular => Selection::same_for_all(topo, topo.cpu_nodes()),
        Family::Hbw { all } => {
            let env_given = (ctx.getenv)(c"MEMKIND_HBW_NODES").is_some();
            let per = hbw_nodes(ctx)?;
            let union = NodeMask::of(per.iter().flat_map(|(_, m)| m.iter()));
            let here = per.iter().find(|(i, _)| *i == ctx.node).or(per.first());
            if !env_given && here.map_or(true, |(_, m)| m.is_empty()) {
                env::log(&[b"no high-bandwidth memory nodes for this CPU's node"]);
                return Err(Error::MemtypeNotAvailable);
            }
            if all {
                Selection::same_for_all(topo, union)
            } else {
                Selection {
                    per_initiator: per.iter().map(|(i, m)| (*i, topo.closest(*i, m))).collect(),
                    all: union,
                }
            }
        }
        Family::DaxKmem { all } => {
            let env_given = (ctx.getenv)(c"MEMKIND_DAX_KMEM_NODES").is_some();
            let set = dax_nodes(ctx)?;
            if set.is_empty() && !env_given {
                env::log(&[b"no memory-only (DAX KMEM) NUMA nodes"]);
                return Err(Error::Unavailable);
            }
            if all {
                Selection::same_for_all(topo, set)
            } else {
                Selection {
                    per_initiator: topo
                        .initiator_nodes()
                        .into_iter()
                        .map(|i| (i, topo.closest(i, &set)))
                        .collect(),
                    all: set,
                }
            }
        }
        Family::HighestCapacity => {
            let mem = topo.memory_nodes();
            let max = mem
                .iter()
                .filter_map(|n| topo.node(n))
                .map(|n| n.mem_total)
                .max();
            let m = NodeMask::of(
                mem.iter()
                    .filter(|&n| topo.node(n).map(|n| n.mem_total) == max),
            );
            Selection::same_for_all(topo, m)
        }
        Family::HighestCapacityLocal
        | Family::LowestLatencyLocal
        | Family::HighestBandwidthLocal => {
            let per: Vec<(usize, NodeMask)> = topo
                .initiator_nodes()
                .into_iter()
                .map(|i| {
                    let d = topo.local_domain(i);
                    let m = match family {
                        // Ties go to the node with the worse latency, as memkind documents.
                        Family::HighestCapacityLocal => best_by(
                            topo,
                            &d,
                            |n| Some(u64::MAX - n.mem_total),
                            |n| u64::MAX - n.latency.unwrap_or(0),
                        ),
                        // Ties go to the smaller node.
                        Family::LowestLatencyLocal => {
                            best_by(topo, &d, |n| n.latency, |n| n.mem_total)
                        }
                        _ => best_by(
                            topo,
                            &d,
                            |n| n.bandwidth.map(|b| u64::MAX - b),
                            |n| n.mem_total,
                        ),
                    };
                    (i, m)
                })
                .collect();
            let here = per.iter().find(|(i, _)| *i == ctx.node).or(per.first());
            if here.map_or(true, |(_, m)| m.is_empty()) {
                env::log(&[b"no node with HMAT performance data in this CPU's local domain"]);
                return Err(Error::MemtypeNotAvailable);
            }
            let all = NodeMask::of(per.iter().flat_map(|(_, m)| m.iter()));
            Selection {
                per_initiator: per,
                all,
            }
        }
    };
    Ok(sel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_lists() {
        let topo = topology();
        let first = topo.online.iter().next().unwrap();
        let s = first.to_string();
        assert!(parse_nodes(s.as_bytes(), topo).unwrap().contains(first));
        assert!(parse_nodes(b"", topo).unwrap().is_empty());
        assert_eq!(parse_nodes(b"all", topo).unwrap(), topo.memory_nodes());
        assert!(parse_nodes(format!("!{s}").as_bytes(), topo)
            .unwrap()
            .iter()
            .all(|n| n != first));
        for bad in [
            &b"abc"[..],
            b"0-",
            b",",
            b"all,0",
            b"0-0-0",
            b"0 ",
            b"1023",
            b"3-1",
        ] {
            assert!(parse_nodes(bad, topo).is_none(), "{:?}", bad);
        }
        assert_eq!(parse_list("0-2,5"), Some(vec![0, 1, 2, 5]));
    }

    const GIB: u64 = 1 << 30;

    /// Two CPU nodes of 64 GiB; node 2: 16 GiB memory-only, HMAT says 400 GB/s and 50 ns
    /// from node 0 (high-bandwidth memory); node 3: 128 GiB memory-only without HMAT data,
    /// nearest to node 1 (DAX KMEM / CXL).
    fn four_nodes() -> Topology {
        let node = |has_cpu, gib, bw, lat, init: &[usize]| {
            Some(Node {
                has_cpu,
                mem_total: gib * GIB,
                bandwidth: bw,
                latency: lat,
                initiators: NodeMask::of(init.iter().copied()),
                ..Node::default()
            })
        };
        Topology {
            nodes: vec![
                node(true, 64, None, None, &[]),
                node(true, 64, None, None, &[]),
                node(false, 16, Some(400_000), Some(50), &[0]),
                node(false, 128, None, None, &[]),
            ],
            distance: vec![
                vec![10, 21, 11, 31],
                vec![21, 10, 31, 17],
                vec![11, 31, 10, 41],
                vec![31, 17, 41, 10],
            ],
            online: NodeMask::of(0..4),
        }
    }

    fn no_env(_: &CStr) -> Option<&'static [u8]> {
        None
    }

    fn pick(
        topo: &Topology,
        node: usize,
        env: &dyn Fn(&CStr) -> Option<&'static [u8]>,
        family: Family,
    ) -> Result<Selection> {
        select_in(
            &Ctx {
                topo,
                getenv: env,
                node,
            },
            family,
        )
    }

    fn set(nodes: &[usize]) -> NodeMask {
        NodeMask::of(nodes.iter().copied())
    }

    #[test]
    fn families_on_a_modelled_machine() {
        let t = four_nodes();
        let hbw = pick(&t, 0, &no_env, Family::Hbw { all: false }).unwrap();
        assert_eq!(hbw.for_node(0), set(&[2]));
        // HMAT names only node 0 as node 2's initiator: nothing for threads on node 1.
        assert!(hbw.for_node(1).is_empty());
        assert_eq!(
            pick(&t, 1, &no_env, Family::Hbw { all: false }).err(),
            Some(Error::MemtypeNotAvailable)
        );
        assert_eq!(
            pick(&t, 1, &no_env, Family::Hbw { all: true }).err(),
            Some(Error::MemtypeNotAvailable)
        );
        let dax = pick(&t, 0, &no_env, Family::DaxKmem { all: false }).unwrap();
        assert_eq!(dax.for_node(0), set(&[3]));
        assert_eq!(dax.all, set(&[3]));
        assert_eq!(
            pick(&t, 0, &no_env, Family::HighestCapacity).unwrap().all,
            set(&[3])
        );
        let local = pick(&t, 0, &no_env, Family::HighestCapacityLocal).unwrap();
        assert_eq!(local.for_node(0), set(&[0]));
        assert_eq!(local.for_node(1), set(&[3]));
        let lat = pick(&t, 0, &no_env, Family::LowestLatencyLocal).unwrap();
        assert_eq!(lat.for_node(0), set(&[2]));
        assert_eq!(
            pick(&t, 1, &no_env, Family::LowestLatencyLocal).err(),
            Some(Error::MemtypeNotAvailable)
        );
        let bw = pick(&t, 0, &no_env, Family::HighestBandwidthLocal).unwrap();
        assert_eq!(bw.for_node(0), set(&[2]));
        assert_eq!(
            pick(&t, 0, &no_env, Family::Regular).unwrap().all,
            set(&[0, 1])
        );
        assert_eq!(
            pick(&t, 0, &no_env, Family::All).unwrap().all,
            set(&[0, 1, 2, 3])
        );
        assert_eq!(t.capacity(&set(&[0, 2])), 80 * GIB);
    }

    #[test]
    fn overrides_on_a_modelled_machine() {
        let t = four_nodes();
        // Named HBW nodes: each thread gets the closest of them.
        let env = |n: &CStr| (n == c"MEMKIND_HBW_NODES").then_some(&b"2-3"[..]);
        let hbw = pick(&t, 0, &env, Family::Hbw { all: false }).unwrap();
        assert_eq!(hbw.for_node(0), set(&[2]));
        assert_eq!(hbw.for_node(1), set(&[3]));
        assert_eq!(
            pick(&t, 1, &env, Family::Hbw { all: true }).unwrap().all,
            set(&[2, 3])
        );
        // A threshold above every bandwidth: no HBW; below: node 2 stays the only one.
        let high = |n: &CStr| (n == c"MEMKIND_HBW_THRESHOLD").then_some(&b"500000"[..]);
        assert_eq!(
            pick(&t, 0, &high, Family::Hbw { all: false }).err(),
            Some(Error::MemtypeNotAvailable)
        );
        // Node 2 is no longer high-bandwidth, so it counts as memory-only (DAX KMEM).
        assert_eq!(
            pick(&t, 0, &high, Family::DaxKmem { all: true })
                .unwrap()
                .all,
            set(&[2, 3])
        );
        let bad = |n: &CStr| (n == c"MEMKIND_HBW_THRESHOLD").then_some(&b"12abc"[..]);
        assert_eq!(
            pick(&t, 0, &bad, Family::Hbw { all: false }).err(),
            Some(Error::Environ)
        );
        let unknown = |n: &CStr| (n == c"MEMKIND_DAX_KMEM_NODES").then_some(&b"4"[..]);
        assert_eq!(
            pick(&t, 0, &unknown, Family::DaxKmem { all: false }).err(),
            Some(Error::Environ)
        );
        let dax = |n: &CStr| (n == c"MEMKIND_DAX_KMEM_NODES").then_some(&b"!0-1"[..]);
        let d = pick(&t, 1, &dax, Family::DaxKmem { all: false }).unwrap();
        assert_eq!(d.for_node(0), set(&[2]));
        assert_eq!(d.for_node(1), set(&[3]));
        // An empty list is accepted: the kind exists but has no nodes.
        let empty = |n: &CStr| (n == c"MEMKIND_HBW_NODES").then_some(&b""[..]);
        assert!(pick(&t, 0, &empty, Family::Hbw { all: false })
            .unwrap()
            .all
            .is_empty());
    }

    #[test]
    fn topology_is_consistent() {
        let topo = topology();
        assert!(!topo.memory_nodes().is_empty());
        let all = select(Family::All).unwrap();
        assert_eq!(all.all, topo.memory_nodes());
        assert!(topo.capacity(&all.all) > 0);
        let hc = select(Family::HighestCapacity).unwrap();
        assert!(hc.all.count() >= 1);
        let local = select(Family::HighestCapacityLocal).unwrap();
        assert_eq!(local.for_node(sys::current_node()).count(), 1);
    }
}
