//! Which inputs a `convert` run takes and where each one's store goes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::cli::ConvertArgs;
use crate::exit::{CommandError, Failure};

/// One conversion: an imzML file and the URL of its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub input: PathBuf,
    pub output: String,
}

/// What the arguments ask for.
#[derive(Debug)]
pub enum Plan {
    /// One input file into the store at OUTPUT.
    Single(Job),
    /// Many inputs into stores below OUTPUT.
    Batch(Vec<Job>),
}

fn usage(message: impl std::fmt::Display) -> CommandError {
    CommandError::new(Failure::Usage, message)
}

/// Resolves inputs, the manifest, the output naming and `--shard`. `listed` holds the `.imzML`
/// objects below each object-store prefix among the inputs (relative path, URL).
pub fn plan(args: &ConvertArgs, listed: &HashMap<String, Vec<(String, String)>>) -> Result<Plan, CommandError> {
    let (output, inputs) = args
        .paths
        .split_last()
        .ok_or_else(|| usage("give the input files and the output"))?;
    let share = args.shard.as_deref().map(parse_share).transpose()?;
    if inputs.is_empty() && args.manifest.is_none() {
        return Err(usage("give at least one input before the output (or --manifest FILE)"));
    }
    if let ([single], None, None) = (inputs, &args.manifest, share) {
        let path = Path::new(single);
        if !path.is_dir() && !is_pattern(single) && !listed.contains_key(single) {
            return Ok(Plan::Single(Job {
                input: path.to_path_buf(),
                output: output.clone(),
            }));
        }
    }
    let mut named: Vec<(String, PathBuf)> = Vec::new();
    let mut inputs_and_manifest: Vec<String> = inputs.to_vec();
    if let Some(manifest) = &args.manifest {
        inputs_and_manifest.extend(manifest_lines(manifest)?);
    }
    for input in &inputs_and_manifest {
        match listed.get(input) {
            Some(objects) => named.extend(
                objects
                    .iter()
                    .map(|(relative, url)| (store_name(Path::new(relative), Some(Path::new(""))), PathBuf::from(url))),
            ),
            None => expand(input, &mut named)?,
        }
    }
    named.sort();
    for pair in named.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(usage(format!(
                "{} and {} would both be stored as {}; convert them in separate runs",
                pair[0].1.display(),
                pair[1].1.display(),
                pair[0].0
            )));
        }
    }
    let base = output.trim_end_matches('/');
    let jobs = named
        .into_iter()
        .enumerate()
        .filter(|(i, _)| share.is_none_or(|(index, count)| i % count == index))
        .map(|(_, (name, input))| Job {
            input,
            output: format!("{base}/{name}"),
        })
        .collect();
    Ok(Plan::Batch(jobs))
}

/// The inputs a manifest lists: one per line; blank lines and `#` comments skipped.
pub fn manifest_lines(manifest: &Path) -> Result<Vec<String>, CommandError> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| CommandError::new(Failure::Io, format!("{}: {e}", manifest.display())))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// `i/n` with `i < n`.
fn parse_share(text: &str) -> Result<(usize, usize), CommandError> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse::<usize>().ok()?, n.trim().parse::<usize>().ok()?)));
    match parsed {
        Some((index, count)) if index < count => Ok((index, count)),
        _ => Err(usage(format!(
            "--shard {text}: expected i/n with 0 <= i < n, for example 0/4"
        ))),
    }
}

fn is_pattern(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

fn is_imzml(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("imzml"))
}

/// The store name of `input` below the output: its path relative to `base`, `.imzarr`
/// instead of `.imzML`.
fn store_name(input: &Path, base: Option<&Path>) -> String {
    let relative = base.and_then(|b| input.strip_prefix(b).ok()).unwrap_or(input);
    let relative = if base.is_some() {
        relative.to_path_buf()
    } else {
        PathBuf::from(relative.file_name().unwrap_or_default())
    };
    let parts: Vec<String> = relative
        .with_extension("imzarr")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    parts.join("/")
}

/// Adds the imzML files `input` names: a file, a directory (recursively) or a glob pattern.
fn expand(input: &str, into: &mut Vec<(String, PathBuf)>) -> Result<(), CommandError> {
    let path = Path::new(input);
    if path.is_dir() {
        let mut found = Vec::new();
        walk(path, &mut found)?;
        if found.is_empty() {
            return Err(CommandError::new(
                Failure::Input,
                format!("{input}: no .imzML files in this directory"),
            ));
        }
        into.extend(found.into_iter().map(|f| (store_name(&f, Some(path)), f)));
    } else if is_pattern(input) {
        let paths = glob::glob(input).map_err(|e| usage(format!("{input}: {e}")))?;
        let before = into.len();
        for entry in paths {
            let file = entry.map_err(|e| CommandError::new(Failure::Io, e))?;
            if is_imzml(&file) {
                into.push((store_name(&file, None), file));
            }
        }
        if into.len() == before {
            return Err(CommandError::new(
                Failure::Input,
                format!("{input}: no .imzML files match"),
            ));
        }
    } else {
        into.push((store_name(path, None), path.to_path_buf()));
    }
    Ok(())
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), CommandError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| CommandError::new(Failure::Io, format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| CommandError::new(Failure::Io, format!("{}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if is_imzml(&path) {
            found.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn plan_of(args: &ConvertArgs) -> Result<Plan, CommandError> {
        plan(args, &HashMap::new())
    }

    #[test]
    fn listed_prefixes_give_one_store_per_object() {
        let listed = HashMap::from([(
            "s3://b/run/".to_string(),
            vec![
                ("a/x.imzML".to_string(), "s3://b/run/a/x.imzML".to_string()),
                ("y.IMZML".to_string(), "s3://b/run/y.IMZML".to_string()),
            ],
        )]);
        let Plan::Batch(jobs) = plan(&args(&["s3://b/run/", "out"]), &listed).unwrap() else {
            panic!("a prefix is a batch");
        };
        assert_eq!(
            jobs,
            vec![
                Job {
                    input: PathBuf::from("s3://b/run/a/x.imzML"),
                    output: "out/a/x.imzarr".into()
                },
                Job {
                    input: PathBuf::from("s3://b/run/y.IMZML"),
                    output: "out/y.imzarr".into()
                },
            ]
        );
    }

    fn args(line: &[&str]) -> ConvertArgs {
        let mut full = vec!["imzarr", "convert"];
        full.extend_from_slice(line);
        match crate::cli::Cli::parse_from(full).command {
            crate::cli::Command::Convert(args) => args,
            _ => unreachable!("convert"),
        }
    }

    #[test]
    fn a_directory_is_searched_and_shared_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        for name in ["x.imzML", "a/y.IMZML", "a/b/z.imzml", "a/notes.txt"] {
            std::fs::write(root.join(name), "").unwrap();
        }
        let root_text = root.to_str().unwrap();
        let Plan::Batch(all) = plan_of(&args(&[root_text, "s3://bucket/out/"])).unwrap() else {
            panic!("a directory is a batch");
        };
        let outputs: Vec<&str> = all.iter().map(|j| j.output.as_str()).collect();
        assert_eq!(
            outputs,
            [
                "s3://bucket/out/a/b/z.imzarr",
                "s3://bucket/out/a/y.imzarr",
                "s3://bucket/out/x.imzarr"
            ]
        );
        let mut shared = Vec::new();
        for i in 0..2 {
            let share = format!("{i}/2");
            let Plan::Batch(jobs) = plan_of(&args(&[root_text, "out", "--shard", &share])).unwrap() else {
                panic!("batch");
            };
            shared.extend(jobs.into_iter().map(|j| j.input));
        }
        shared.sort();
        let mut every: Vec<PathBuf> = all.into_iter().map(|j| j.input).collect();
        every.sort();
        assert_eq!(shared, every, "the shares cover every input once");
        assert!(plan_of(&args(&[root_text, "out", "--shard", "2/2"])).is_err());
    }

    #[test]
    fn one_file_is_a_single_conversion_and_names_must_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (dir.path().join("one"), dir.path().join("two"));
        std::fs::create_dir_all(&one).unwrap();
        std::fs::create_dir_all(&two).unwrap();
        std::fs::write(one.join("s.imzML"), "").unwrap();
        std::fs::write(two.join("s.imzML"), "").unwrap();
        let file = one.join("s.imzML");
        let Plan::Single(job) = plan_of(&args(&[file.to_str().unwrap(), "store.imzarr"])).unwrap() else {
            panic!("single");
        };
        assert_eq!(job.output, "store.imzarr");
        let other = two.join("s.imzML");
        let error = plan_of(&args(&[file.to_str().unwrap(), other.to_str().unwrap(), "out"])).unwrap_err();
        assert!(
            error.message.contains("both be stored as s.imzarr"),
            "{}",
            error.message
        );
        let pattern = format!("{}/*/s.imzML", dir.path().display());
        let error = plan_of(&args(&[&pattern, "out"])).unwrap_err();
        assert!(error.message.contains("both"), "{}", error.message);
        let manifest = dir.path().join("list.txt");
        std::fs::write(&manifest, format!("# inputs\n{}\n\n", file.display())).unwrap();
        let Plan::Batch(jobs) = plan_of(&args(&["out", "--manifest", manifest.to_str().unwrap()])).unwrap() else {
            panic!("a manifest is a batch");
        };
        assert_eq!(
            jobs,
            vec![Job {
                input: file,
                output: "out/s.imzarr".into()
            }]
        );
    }
}
