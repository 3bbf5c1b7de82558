//! The JSON Schemas of `spec/schemas/`, compiled in, and validation of store documents.

use std::sync::OnceLock;

use serde_json::Value;

/// Which schema a `zarr.json` document must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// The root group (its `imzarr` block is checked too).
    Root,
    /// Any other group.
    Group,
    /// Any array.
    Array,
}

const ROOT: &str = include_str!("../../../spec/schemas/root.schema.json");
const ATTRIBUTES: &str = include_str!("../../../spec/schemas/imzarr-attributes.schema.json");
const ARRAY: &str = include_str!("../../../spec/schemas/array.schema.json");
const GROUP: &str = include_str!("../../../spec/schemas/group.schema.json");

struct Validators {
    root: jsonschema::Validator,
    attributes: jsonschema::Validator,
    array: jsonschema::Validator,
    group: jsonschema::Validator,
}

fn validators() -> &'static Validators {
    static VALIDATORS: OnceLock<Validators> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        // The schemas are part of this crate and tested; a failure here is a build defect.
        let compile = |text: &str| {
            let schema: Value = serde_json::from_str(text).expect("embedded schema is JSON");
            jsonschema::validator_for(&schema).expect("embedded schema compiles")
        };
        Validators {
            root: compile(ROOT),
            attributes: compile(ATTRIBUTES),
            array: compile(ARRAY),
            group: compile(GROUP),
        }
    })
}

/// Validates a `zarr.json` document of the given kind; returns every violation found, each as
/// `location: message`.
pub fn validate_node(kind: NodeKind, document: &Value) -> Result<(), Vec<String>> {
    let v = validators();
    let mut problems: Vec<String> = Vec::new();
    let mut check = |validator: &jsonschema::Validator, instance: &Value, prefix: &str| {
        for error in validator.iter_errors(instance) {
            problems.push(format!("{prefix}{}: {error}", error.instance_path));
        }
    };
    match kind {
        NodeKind::Root => {
            check(&v.root, document, "");
            if let Some(block) = document.pointer("/attributes/imzarr") {
                check(&v.attributes, block, "/attributes/imzarr");
            }
        }
        NodeKind::Group => check(&v.group, document, ""),
        NodeKind::Array => check(&v.array, document, ""),
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}
