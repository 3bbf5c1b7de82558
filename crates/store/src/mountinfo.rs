//! The file system that holds a path, from `/proc/self/mountinfo` (Linux).

use std::path::Path;

/// File systems of local disks, as `/proc/self/mountinfo` names them: the ones direct writes
/// are made for.
const DISK_FILE_SYSTEMS: [&str; 6] = ["ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs"];

/// Whether `root` is on the file system of a local disk.
pub(crate) fn on_local_disk(root: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .ok()
        .zip(std::fs::canonicalize(root).ok())
        .and_then(|(mountinfo, root)| file_system_of(&mountinfo, &root))
        .is_some_and(|kind| DISK_FILE_SYSTEMS.contains(&kind.as_str()))
}

/// The type of the file system that holds `path` (canonical), from the text of
/// `/proc/self/mountinfo`: that of the deepest mount point above it, the last mounted where
/// several share one.
fn file_system_of(mountinfo: &str, path: &Path) -> Option<String> {
    let mut found: Option<(usize, &str)> = None;
    for line in mountinfo.lines() {
        // ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE SOURCE OPTIONS
        let Some((mount, kind)) = line.split_once(" - ").and_then(|(fields, rest)| {
            let mount_point = unescape_mount_point(fields.split(' ').nth(4)?);
            Some((mount_point, rest.split(' ').next()?))
        }) else {
            continue;
        };
        let depth = Path::new(&mount).components().count();
        if path.starts_with(&mount) && found.is_none_or(|(deepest, _)| depth >= deepest) {
            found = Some((depth, kind));
        }
    }
    found.map(|(_, kind)| kind.to_string())
}

/// A mount point as mountinfo writes it, with space, tab, newline and backslash as octal
/// escapes (`\040`).
fn unescape_mount_point(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 4)
            .and_then(|digits| u8::from_str_radix(digits, 8).ok());
        match code {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_system_of_a_path_is_that_of_its_deepest_mount() {
        let mountinfo = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 27 254:1 / /data rw shared:5 - xfs /dev/vdb rw
31 30 0:40 / /data/nfs rw master:2 - nfs4 server:/export rw,vers=4.2
32 27 254:2 / /mnt/my\\040disk rw - btrfs /dev/vdc rw
33 27 0:41 / /stack rw - tmpfs tmpfs rw
34 33 254:3 / /stack rw - ext4 /dev/vdd rw
a line that is not one
";
        let of = |path: &str| file_system_of(mountinfo, Path::new(path));
        assert_eq!(of("/home/user").as_deref(), Some("ext4"));
        assert_eq!(of("/data").as_deref(), Some("xfs"));
        assert_eq!(of("/data/run/x.imzarr").as_deref(), Some("xfs"));
        assert_eq!(of("/data/nfs/x.imzarr").as_deref(), Some("nfs4"));
        assert_eq!(
            of("/data/nfsother").as_deref(),
            Some("xfs"),
            "a mount point is a path, not a prefix"
        );
        assert_eq!(of("/mnt/my disk/x").as_deref(), Some("btrfs"));
        assert_eq!(of("/mnt/my").as_deref(), Some("ext4"));
        assert_eq!(
            of("/stack/x").as_deref(),
            Some("ext4"),
            "the last of two mounts on one point"
        );
        assert_eq!(file_system_of("", Path::new("/x")), None);
    }
}
