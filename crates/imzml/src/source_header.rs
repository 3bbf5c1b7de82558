//! What a written imzML header carries over from the header of the file its spectra came from:
//! the controlled vocabularies, source files and contacts, samples, software, scan settings,
//! instrument configurations and data processing, each as the source wrote it.
//!
//! The writer describes what it wrote itself: the file content terms that identify the new
//! `.ibd` (UUID, checksums, mode, spectrum representation), the maximum pixel counts (and the
//! pixel size where the source gives none), and the referenceable groups its spectra refer to
//! (the source's array groups describe the source's binary arrays, which a reader could take
//! for the new ones). Its own software and processing step are added, under ids no copied
//! element uses.

use std::collections::HashSet;

use crate::model::XmlNode;
use crate::writer::escape;

/// File content terms the writer gives itself: UUID, MD5, SHA-1, SHA-256, continuous,
/// processed, centroid, profile, MS1 spectrum.
const OWN_FILE_CONTENT_TERMS: [&str; 9] = [
    "IMS:1000080",
    "IMS:1000090",
    "IMS:1000091",
    "IMS:1000092",
    "IMS:1000030",
    "IMS:1000031",
    "MS:1000127",
    "MS:1000128",
    "MS:1000579",
];

/// Scan settings terms the writer gives itself: max count of pixels x and y (of the grid it
/// wrote, which repairs may have changed).
const OWN_SCAN_SETTINGS_TERMS: [&str; 2] = ["IMS:1000042", "IMS:1000043"];

/// Pixel size x: the source's scan settings keep theirs, with their units and digits.
const PIXEL_SIZE_X: &str = "IMS:1000046";

/// The top-level sections a written header copies from the source, whole or in part.
const COPIED_SECTIONS: [&str; 7] = [
    "cvList",
    "fileDescription",
    "sampleList",
    "softwareList",
    "scanSettingsList",
    "instrumentConfigurationList",
    "dataProcessingList",
];

/// A source header, read for the parts a written header carries over.
pub(crate) struct SourceHeader<'a> {
    root: &'a XmlNode,
    /// The referenceable groups the copied elements refer to (an instrument configuration's
    /// common parameters, say), which the written header copies too.
    referenced_groups: Vec<&'a XmlNode>,
    /// Ids of the elements the written header copies.
    taken_ids: HashSet<&'a str>,
}

/// The header of no source: nothing to carry over, every id free.
static NO_SOURCE: XmlNode = XmlNode {
    name: String::new(),
    attributes: Vec::new(),
    children: Vec::new(),
    text: None,
};

impl<'a> SourceHeader<'a> {
    /// The header tree `root` (the `mzML` element, or the `indexedmzML` one around it); when
    /// there is none, a header with nothing to carry over.
    pub(crate) fn new(root: Option<&'a XmlNode>) -> Self {
        let root = root.unwrap_or(&NO_SOURCE);
        let root = match root.name.as_str() {
            "indexedmzML" => root.child("mzML").unwrap_or(root),
            _ => root,
        };
        let mut taken_ids = HashSet::new();
        let mut references = HashSet::new();
        let mut stack: Vec<&XmlNode> = root
            .children
            .iter()
            .filter(|section| COPIED_SECTIONS.contains(&section.name.as_str()))
            .collect();
        while let Some(node) = stack.pop() {
            taken_ids.extend(node.attribute("id"));
            if node.name == "referenceableParamGroupRef" {
                references.extend(node.attribute("ref"));
            }
            if node.name == "fileContent" {
                // Its groups are written inline (see `file_content_terms`).
                stack.extend(node.children.iter().filter(|c| c.name != "referenceableParamGroupRef"));
            } else {
                stack.extend(&node.children);
            }
        }
        let groups = root
            .child("referenceableParamGroupList")
            .map(|list| list.children.as_slice());
        let referenced_groups: Vec<&XmlNode> = groups
            .unwrap_or_default()
            .iter()
            .filter(|group| group.attribute("id").is_some_and(|id| references.contains(id)))
            .collect();
        taken_ids.extend(referenced_groups.iter().filter_map(|group| group.attribute("id")));
        Self {
            root,
            referenced_groups,
            taken_ids,
        }
    }

    /// The source's referenceable groups that the copied elements refer to.
    pub(crate) fn referenced_groups(&self) -> &[&'a XmlNode] {
        &self.referenced_groups
    }

    /// `base`, or `base_2`, `base_3`, ... : the first that no copied element of the source
    /// has as its id.
    pub(crate) fn unique_id(&self, base: &str) -> String {
        let mut id = base.to_string();
        let mut n = 2;
        while self.taken_ids.contains(id.as_str()) {
            id = format!("{base}_{n}");
            n += 1;
        }
        id
    }

    fn section(&self, name: &str) -> Option<&'a XmlNode> {
        self.root.child(name)
    }

    /// The children named `item` of the top-level list `list`.
    fn items(&self, list: &str, item: &str) -> Vec<&'a XmlNode> {
        self.section(list)
            .map(|list| list.children.iter().filter(|c| c.name == item).collect())
            .unwrap_or_default()
    }

    /// The source's `<cv>` elements.
    pub(crate) fn cvs(&self) -> Vec<&'a XmlNode> {
        self.items("cvList", "cv")
    }

    /// The source's file content terms other than those the writer gives itself. The terms of
    /// groups it references come inline: such a group may hold the source's UUID, checksums or
    /// mode, which must not reach the new file.
    pub(crate) fn file_content_terms(&self) -> Vec<&'a XmlNode> {
        let content = self.section("fileDescription").and_then(|d| d.child("fileContent"));
        let terms = content.map(|c| c.children.as_slice()).unwrap_or_default();
        terms
            .iter()
            .flat_map(|term| match term.name.as_str() {
                "referenceableParamGroupRef" => self.group(term.attribute("ref")),
                _ => std::slice::from_ref(term),
            })
            .filter(|t| !is_term_among(t, &OWN_FILE_CONTENT_TERMS))
            .collect()
    }

    /// The terms of the source's group `id` (none when there is no such group).
    fn group(&self, id: Option<&str>) -> &'a [XmlNode] {
        let groups = self.items("referenceableParamGroupList", "referenceableParamGroup");
        groups
            .into_iter()
            .find(|group| id.is_some() && group.attribute("id") == id)
            .map(|group| group.children.as_slice())
            .unwrap_or_default()
    }

    /// The source's file description besides its file content: source files, contacts.
    pub(crate) fn file_description_rest(&self) -> Vec<&'a XmlNode> {
        self.section("fileDescription")
            .map(|d| d.children.iter().filter(|c| c.name != "fileContent").collect())
            .unwrap_or_default()
    }

    /// The source's sample list, whole.
    pub(crate) fn sample_list(&self) -> Option<&'a XmlNode> {
        self.section("sampleList")
    }

    /// The source's `<software>` elements.
    pub(crate) fn softwares(&self) -> Vec<&'a XmlNode> {
        self.items("softwareList", "software")
    }

    /// The source's scan settings: the first without the terms the writer gives itself (and
    /// whether it gives a pixel size), then the others as they are.
    pub(crate) fn scan_settings(&self) -> Option<ScanSettings<'a>> {
        let mut all = self.items("scanSettingsList", "scanSettings").into_iter();
        let mut first = all.next()?.clone();
        first.children.retain(|c| !is_term_among(c, &OWN_SCAN_SETTINGS_TERMS));
        let has_pixel_size = first.children.iter().any(|c| is_term_among(c, &[PIXEL_SIZE_X]));
        Some(ScanSettings {
            first,
            has_pixel_size,
            others: all.collect(),
        })
    }

    /// The source's `<instrumentConfiguration>` elements.
    pub(crate) fn instrument_configurations(&self) -> Vec<&'a XmlNode> {
        self.items("instrumentConfigurationList", "instrumentConfiguration")
    }

    /// The instrument configuration the spectra refer to: the run's default when the source
    /// has it, else its first.
    pub(crate) fn instrument_configuration_id(&self) -> Option<&'a str> {
        let ids: Vec<&str> = self
            .instrument_configurations()
            .into_iter()
            .filter_map(|c| c.attribute("id"))
            .collect();
        let default = self
            .section("run")
            .and_then(|run| run.attribute("defaultInstrumentConfigurationRef"));
        default.filter(|d| ids.contains(d)).or(ids.first().copied())
    }

    /// The source's `<dataProcessing>` elements.
    pub(crate) fn data_processings(&self) -> Vec<&'a XmlNode> {
        self.items("dataProcessingList", "dataProcessing")
    }

    /// The source run's attributes the writer's run keeps: sample, source file, start time.
    pub(crate) fn run_attributes(&self) -> Vec<(&'a str, &'a str)> {
        let Some(run) = self.section("run") else {
            return Vec::new();
        };
        ["sampleRef", "defaultSourceFileRef", "startTimeStamp"]
            .into_iter()
            .filter_map(|key| run.attribute(key).map(|value| (key, value)))
            .collect()
    }
}

/// The scan settings of a source header, as a written header carries them over.
pub(crate) struct ScanSettings<'a> {
    /// The first, whose maximum pixel counts the writer gives.
    pub(crate) first: XmlNode,
    /// Whether the first gives a pixel size.
    pub(crate) has_pixel_size: bool,
    /// The others, as the source wrote them.
    pub(crate) others: Vec<&'a XmlNode>,
}

/// Whether `node` is a `cvParam` whose accession is one of `accessions`.
fn is_term_among(node: &XmlNode, accessions: &[&str]) -> bool {
    node.name == "cvParam" && node.attribute("accession").is_some_and(|a| accessions.contains(&a))
}

/// `node` as XML, indented by `indent` spaces, each element on a line of its own.
pub(crate) fn node_xml(node: &XmlNode, indent: usize) -> String {
    let mut out = String::new();
    write_node(&mut out, node, indent);
    out
}

fn write_node(out: &mut String, node: &XmlNode, indent: usize) {
    let pad = " ".repeat(indent);
    out.push_str(&pad);
    out.push('<');
    out.push_str(&node.name);
    for (key, value) in &node.attributes {
        out.push_str(&format!(" {key}=\"{}\"", escape(value)));
    }
    match (&node.text, node.children.is_empty()) {
        (None, true) => out.push_str("/>\n"),
        (Some(text), true) => out.push_str(&format!(">{}</{}>\n", escape(text), node.name)),
        (text, false) => {
            out.push_str(">\n");
            if let Some(text) = text {
                out.push_str(&format!("{pad}  {}\n", escape(text)));
            }
            for child in &node.children {
                write_node(out, child, indent + 2);
            }
            out.push_str(&format!("{pad}</{}>\n", node.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, attributes: &[(&str, &str)], children: Vec<XmlNode>) -> XmlNode {
        XmlNode {
            name: name.into(),
            attributes: attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            children,
            text: None,
        }
    }

    #[test]
    fn an_indexed_document_is_read_through_its_mzml_element_and_ids_are_made_unique() {
        let software = |id: &str| node("software", &[("id", id)], vec![]);
        let mzml = node(
            "mzML",
            &[],
            vec![
                node("softwareList", &[], vec![software("writer"), software("writer_2")]),
                // Not copied: its ids are free for the writer.
                node(
                    "referenceableParamGroupList",
                    &[],
                    vec![node("referenceableParamGroup", &[("id", "mzArray")], vec![])],
                ),
            ],
        );
        let indexed = node("indexedmzML", &[], vec![mzml]);
        let header = SourceHeader::new(Some(&indexed));
        assert_eq!(header.softwares().len(), 2);
        assert_eq!(header.unique_id("writer"), "writer_3");
        assert_eq!(header.unique_id("mzArray"), "mzArray");
        let none = SourceHeader::new(None);
        assert_eq!(none.unique_id("writer"), "writer");
        assert!(none.scan_settings().is_none() && none.instrument_configuration_id().is_none());
    }

    #[test]
    fn copied_xml_escapes_attributes_and_text() {
        let mut element = node("userParam", &[("name", "a<b & \"c\"")], vec![]);
        assert_eq!(
            node_xml(&element, 2),
            "  <userParam name=\"a&lt;b &amp; &quot;c&quot;\"/>\n"
        );
        element.text = Some("x > y".into());
        assert_eq!(
            node_xml(&element, 0),
            "<userParam name=\"a&lt;b &amp; &quot;c&quot;\">x &gt; y</userParam>\n"
        );
    }
}
