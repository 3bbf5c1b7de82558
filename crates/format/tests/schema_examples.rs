//! Every example under `spec/examples/valid` passes its schema and every one under
//! `spec/examples/invalid` fails it. File names say the schema: `root--*`, `array--*`,
//! `group--*`.

use std::path::PathBuf;

use imzarr_format::schema::{NodeKind, validate_node};
use serde_json::Value;

fn examples(kind: &str) -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../spec/examples")
        .join(kind);
    let mut found: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap(),
            )
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn kind_of(name: &str) -> NodeKind {
    match name.split("--").next().unwrap() {
        "root" => NodeKind::Root,
        "array" => NodeKind::Array,
        "group" => NodeKind::Group,
        other => panic!("{name}: unknown schema prefix {other}"),
    }
}

#[test]
fn valid_examples_pass() {
    let valid = examples("valid");
    assert!(valid.len() >= 5);
    for (name, document) in valid {
        if let Err(problems) = validate_node(kind_of(&name), &document) {
            panic!("{name}: {problems:#?}");
        }
    }
}

#[test]
fn invalid_examples_fail() {
    let invalid = examples("invalid");
    assert!(invalid.len() >= 15);
    for (name, document) in invalid {
        assert!(validate_node(kind_of(&name), &document).is_err(), "{name} was accepted");
    }
}
