//! What is known of a shard's index: nothing yet, the whole index (crc32c-checked), the
//! entries a first read fetched on their own (checked by how they chain), or that the shard
//! does not exist; and how fetches of it are parsed, checked and cached.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::ShardIndexes;

/// Marks an absent inner chunk in a shard index.
pub(super) const ABSENT: u64 = u64::MAX;

/// Bytes of one index entry: the offset and the size of an inner chunk.
pub(super) const ENTRY_BYTES: u64 = 16;

/// What is known of the index of one shard.
pub(super) enum KnownIndex {
    /// The shard does not exist.
    Absent,
    /// Every entry, checked against the index's crc32c.
    Whole(Vec<[u64; 2]>),
    /// The entries a first read needed, fetched on their own. The index's crc32c covers the
    /// whole index, so it does not check them; the chunks they point at carry their own.
    Entries(BTreeMap<usize, [u64; 2]>),
}

impl KnownIndex {
    /// The entry of inner chunk `chunk`: `Err` when it is not known, `Ok(None)` when the shard
    /// does not exist.
    pub(super) fn entry(&self, chunk: usize) -> Result<Option<[u64; 2]>, String> {
        match self {
            Self::Absent => Some(None),
            Self::Whole(entries) => entries.get(chunk).copied().map(Some),
            Self::Entries(entries) => entries.get(&chunk).copied().map(Some),
        }
        .ok_or_else(|| format!("no index entry for inner chunk {chunk}"))
    }

    pub(super) fn knows_all(&self, chunks: &[usize]) -> bool {
        match self {
            Self::Absent | Self::Whole(_) => true,
            Self::Entries(entries) => chunks.iter().all(|c| entries.contains_key(c)),
        }
    }
}

/// The index entries `entries`, read on their own from `first` on, if they check out for the
/// needed `chunks`: every chunk is stored whole, in order, right after the index (of
/// `index_bytes`), so each present chunk must begin where the previous present one ends (or
/// where the index ends), and absent ones are marked in both words. A needed chunk's offset is
/// trusted only when a present chunk before it in the window ends there (or it is the first
/// chunk of the shard), and its size only when a present chunk after it begins where it ends.
/// So a flipped byte in any entry used breaks the chain and sends the read to the whole,
/// crc32c-checked index instead of to the wrong bytes.
pub(super) fn chained_entries(
    first: usize,
    entries: &[[u64; 2]],
    chunks: &[usize],
    index_bytes: u64,
) -> Option<BTreeMap<usize, [u64; 2]>> {
    let mut previous_end = (first == 0).then_some(index_bytes);
    // The first and the last present chunk of the window.
    let mut present: Option<(usize, usize)> = None;
    for (i, &[offset, size]) in entries.iter().enumerate() {
        if offset == ABSENT || size == ABSENT {
            if offset != size {
                return None;
            }
            continue;
        }
        if previous_end.is_some_and(|end| offset != end) {
            return None;
        }
        previous_end = Some(offset.checked_add(size)?);
        let chunk = first + i;
        present = Some((present.map_or(chunk, |(earliest, _)| earliest), chunk));
    }
    // The chain holds, so a present chunk's offset is vouched for by any present chunk before
    // it (or by the index's end, from the first chunk of the shard on), and its size by any
    // present chunk after it.
    let vouched =
        |chunk: usize| present.is_some_and(|(earliest, latest)| (first == 0 || earliest < chunk) && chunk < latest);
    let checked = chunks
        .iter()
        .all(|&chunk| entries[chunk - first][0] == ABSENT || vouched(chunk));
    checked.then(|| (first..).zip(entries.iter().copied()).collect())
}

/// Caches what a fetch learnt of the index of `shard`: entries fetched on their own join
/// those fetched before; the whole index (or the shard's absence) replaces them. A read side
/// by side may have cached the whole index meanwhile: entries do not replace it.
pub(super) fn remember(indexes: &mut ShardIndexes, shard: &[u64], known: Arc<KnownIndex>) {
    let Some(cached) = indexes.get_mut(shard) else {
        indexes.insert(shard.to_vec(), known);
        return;
    };
    match (&**cached, &*known) {
        (KnownIndex::Entries(before), KnownIndex::Entries(new)) => {
            let mut joined = before.clone();
            joined.extend(new.iter().map(|(&chunk, &entry)| (chunk, entry)));
            *cached = Arc::new(KnownIndex::Entries(joined));
        }
        (KnownIndex::Entries(_), _) => *cached = known,
        _ => {}
    }
}

/// Parses a shard index: little-endian (offset, size) pairs followed by their crc32c.
pub(super) fn parse_index(bytes: &[u8], expected: u64) -> Result<Vec<[u64; 2]>, String> {
    if bytes.len() as u64 != expected {
        return Err(format!("index of {} bytes, expected {expected}", bytes.len()));
    }
    let (pairs, checksum) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([checksum[0], checksum[1], checksum[2], checksum[3]]);
    if crc32c::crc32c(pairs) != stored {
        return Err("shard index checksum (crc32c) mismatch: the shard is corrupt".into());
    }
    Ok(parse_entries(pairs).collect())
}

/// Little-endian (offset, size) pairs.
pub(super) fn parse_entries(pairs: &[u8]) -> impl Iterator<Item = [u64; 2]> + '_ {
    pairs.chunks_exact(ENTRY_BYTES as usize).map(|p| {
        let word = |b: &[u8]| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        [word(&p[..8]), word(&p[8..])]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries of chunks stored back to back after an index of 100 bytes, sizes 10, 20, ...;
    /// `absent` chunks marked absent.
    fn chain(count: usize, absent: &[usize]) -> Vec<[u64; 2]> {
        let mut offset = 100;
        (0..count)
            .map(|c| {
                if absent.contains(&c) {
                    return [ABSENT, ABSENT];
                }
                let size = 10 * (c as u64 + 1);
                offset += size;
                [offset - size, size]
            })
            .collect()
    }

    #[test]
    fn entries_join_and_give_way_to_a_whole_index() {
        let entries = |chunk: usize| Arc::new(KnownIndex::Entries(BTreeMap::from([(chunk, [100, 10])])));
        let whole = Arc::new(KnownIndex::Whole(chain(4, &[])));
        let mut indexes = ShardIndexes::new();
        remember(&mut indexes, &[0], entries(0));
        assert!(indexes[&vec![0]].knows_all(&[0]) && !indexes[&vec![0]].knows_all(&[1]));
        remember(&mut indexes, &[0], entries(1));
        assert!(
            indexes[&vec![0]].knows_all(&[0, 1]) && !indexes[&vec![0]].knows_all(&[2]),
            "entries fetched later join those fetched before"
        );
        remember(&mut indexes, &[0], whole.clone());
        remember(&mut indexes, &[0], entries(2));
        assert!(indexes[&vec![0]].knows_all(&[0, 1, 2, 3]), "the whole index stays");
        remember(&mut indexes, &[1], Arc::new(KnownIndex::Absent));
        remember(&mut indexes, &[1], entries(0));
        assert!(matches!(*indexes[&vec![1]], KnownIndex::Absent));
    }

    #[test]
    fn entries_read_on_their_own_are_used_only_when_their_neighbours_vouch_for_them() {
        let all = chain(8, &[]);
        // A window from the first chunk: its offset is where the index ends.
        assert!(chained_entries(0, &all[0..3], &[0, 1], 100).is_some());
        // Chunks 3 and 4 with chunks 2 and 5 around them.
        assert!(chained_entries(2, &all[2..6], &[3, 4], 100).is_some());
        // Without a chunk after it, a size cannot be trusted; without one before, an offset.
        assert!(chained_entries(6, &all[6..8], &[7], 100).is_none());
        assert!(chained_entries(3, &all[3..5], &[3], 100).is_none());
        // An entry pointing at the next chunk (a valid chunk of its own), or off by one.
        for (chunk, wrong) in [
            (3, all[4]),
            (3, [all[3][0] + 1, all[3][1]]),
            (3, [all[3][0], all[3][1] - 1]),
        ] {
            let mut entries = all[2..6].to_vec();
            entries[chunk - 2] = wrong;
            assert!(chained_entries(2, &entries, &[3], 100).is_none(), "{wrong:?}");
        }
        // Absent chunks need no neighbours; present ones skip over absent ones; half-absent
        // entries are corrupt.
        let gaps = chain(8, &[3, 5]);
        assert!(chained_entries(2, &gaps[2..7], &[3, 4], 100).is_some());
        let mut half = gaps.clone();
        half[3] = [ABSENT, 0];
        assert!(chained_entries(2, &half[2..7], &[3, 4], 100).is_none());
        // The first chunk's offset must be the index's length.
        assert!(chained_entries(0, &all[0..3], &[0], 96).is_none());
    }
}
