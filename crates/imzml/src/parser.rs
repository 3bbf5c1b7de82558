//! The streaming imzML parser: quick-xml events drive an explicit state, never a DOM.
//!
//! Memory is constant in the number of spectra apart from the returned per-spectrum index
//! (about 100 bytes a spectrum) and the header tree (bounded by [`Limits`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use quick_xml::encoding::DecodingReader;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::array_builder::{ArrayBuilder, ArrayKind};
use crate::dtype::DataType;
use crate::error::{ImzmlError, Result};
use crate::header_terms::HeaderTerms;
use crate::limits::{Limits, ParseOptions};
use crate::model::{ArrayRef, Imzml, OtherArray, Quirk, SpectrumEntry, XmlNode};
use crate::numbers::{parse_coordinate, parse_unsigned};
use crate::spectrum_terms::{Occurrence, TermCollector, TermPlace};
use crate::{cv, finish};

/// Parses an imzML file with default options. The `.ibd` is located beside it (any case of
/// the extension) and checked for existence, but not read.
pub fn parse_file(path: impl AsRef<Path>) -> Result<Imzml> {
    parse_file_with(path, &ParseOptions::default())
}

/// Parses an imzML file with the given options.
pub fn parse_file_with(path: impl AsRef<Path>, options: &ParseOptions) -> Result<Imzml> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| ImzmlError::io(path, e))?;
    let ibd_path = locate_ibd(path)?;
    let ibd_len = std::fs::metadata(&ibd_path)
        .map_err(|e| ImzmlError::io(&ibd_path, e))?
        .len();
    parse_reader(
        BufReader::with_capacity(1 << 16, file),
        path,
        ibd_path,
        ibd_len,
        options,
    )
}

/// Finds the `.ibd` beside an `.imzML`, accepting any case of the extension.
pub fn locate_ibd(imzml_path: &Path) -> Result<PathBuf> {
    for extension in ["ibd", "IBD", "Ibd"] {
        let candidate = imzml_path.with_extension(extension);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let stem = imzml_path.file_stem().unwrap_or_default();
    let directory = imzml_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(entries) = std::fs::read_dir(directory) {
        for entry in entries.flatten() {
            let candidate = entry.path();
            let same_stem = candidate.file_stem() == Some(stem);
            let is_ibd = candidate.extension().is_some_and(|e| e.eq_ignore_ascii_case("ibd"));
            if same_stem && is_ibd {
                return Ok(candidate);
            }
        }
    }
    Err(ImzmlError::Io {
        path: imzml_path.with_extension("ibd"),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the .ibd file that belongs to this imzML was not found beside it",
        ),
    })
}

/// Parses imzML from any buffered reader. `path` is used in messages; `ibd_len` is the size of
/// the `.ibd`, needed to repair offsets that overflowed 32 bits.
///
/// UTF-8 input is read as it is; other encodings that the XML declaration names (ISO-8859-1 is
/// common) or a BOM announces are transcoded on the fly.
pub fn parse_reader<R: BufRead>(
    mut input: R,
    path: &Path,
    ibd_path: PathBuf,
    ibd_len: u64,
    options: &ParseOptions,
) -> Result<Imzml> {
    let head = input.fill_buf().map_err(|e| ImzmlError::io(path, e))?;
    match declared_encoding(head) {
        Declared::Utf8 => parse_events(Reader::from_reader(input), path, ibd_path, ibd_len, options),
        Declared::Other(encoding) => {
            let mut decoding = DecodingReader::new(input);
            if encoding.is_ascii_compatible() {
                // Called before the first read, while the reader still holds its prefix.
                decoding.set_encoding(encoding);
            }
            parse_events(Reader::from_reader(decoding), path, ibd_path, ibd_len, options)
        }
        Declared::Unknown(label) => Err(ImzmlError::Unsupported {
            path: path.to_path_buf(),
            context: "XML declaration".into(),
            feature: format!("character encoding {label:?}"),
        }),
    }
}

enum Declared {
    Utf8,
    Other(&'static encoding_rs::Encoding),
    Unknown(String),
}

/// The encoding that a BOM or the XML declaration at the start of `head` names.
fn declared_encoding(head: &[u8]) -> Declared {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Declared::Utf8;
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Declared::Other(encoding_rs::UTF_16LE);
    }
    let Some(rest) = head.strip_prefix(b"<?xml") else {
        return Declared::Utf8;
    };
    let declaration = match rest.windows(2).position(|w| w == b"?>") {
        Some(end) => &rest[..end],
        None => return Declared::Utf8,
    };
    let Some(at) = declaration.windows(8).position(|w| w == b"encoding") else {
        return Declared::Utf8;
    };
    let after = &declaration[at + 8..];
    let Some(quote_at) = after.iter().position(|&b| b == b'"' || b == b'\'') else {
        return Declared::Utf8;
    };
    let quote = after[quote_at];
    let label_and_rest = &after[quote_at + 1..];
    let label = &label_and_rest[..label_and_rest
        .iter()
        .position(|&b| b == quote)
        .unwrap_or(label_and_rest.len())];
    match encoding_rs::Encoding::for_label(label) {
        Some(encoding) if encoding == encoding_rs::UTF_8 => Declared::Utf8,
        Some(encoding) => Declared::Other(encoding),
        None => Declared::Unknown(String::from_utf8_lossy(label).into_owned()),
    }
}

fn parse_events<R: BufRead>(
    mut xml: Reader<R>,
    path: &Path,
    ibd_path: PathBuf,
    ibd_len: u64,
    options: &ParseOptions,
) -> Result<Imzml> {
    // Whitespace between elements is not content in imzML.
    xml.config_mut().trim_text(true);
    let mut state = Parser::new(path, options.limits);
    let mut buf = Vec::with_capacity(4096);
    loop {
        let event = xml.read_event_into(&mut buf).map_err(|e| ImzmlError::Xml {
            path: path.to_path_buf(),
            offset: xml.error_position(),
            message: e.to_string(),
        })?;
        match event {
            Event::Start(element) => state.start(&element)?,
            Event::Empty(element) => {
                state.start(&element)?;
                state.end()?;
            }
            Event::End(_) => state.end()?,
            Event::Text(text) => {
                let text = text.xml_content(quick_xml::XmlVersion::Implicit1_0);
                state.text(&text)?;
            }
            Event::CData(data) => state.text(data.as_ref())?,
            // A declaration that only names the document type (`<!DOCTYPE mzML>`, or with an
            // external DTD, which is never fetched) is harmless; one with an internal subset
            // can declare entities, and those are refused rather than expanded.
            Event::DocType(declaration) if !declaration.contains('[') => {}
            Event::DocType(_) => {
                return Err(ImzmlError::format(
                    path,
                    "document type declaration",
                    "DTDs with an internal subset are not allowed in imzML (entity expansion is refused)",
                ));
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    state.into_imzml(ibd_path, ibd_len, options)
}

/// Which part of the document an element belongs to, for interpreting its cvParams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Other,
    FileContent,
    ScanSettings,
    ParamGroup,
    Spectrum,
    BinaryDataArray,
    Binary,
}

/// One cvParam or userParam kept for a referenceable group.
#[derive(Debug, Clone)]
struct Param {
    accession: String,
    value: String,
    unit_accession: Option<String>,
    unit_name: Option<String>,
    /// The name of a precision term (see [`Parser::precision_name`]).
    precision_name: Option<String>,
}

struct SpectrumBuilder {
    index: usize,
    default_length: Option<u64>,
    x: Option<i64>,
    y: Option<i64>,
    z: Option<i64>,
    arrays: Vec<(ArrayKind, ArrayRef)>,
    array: Option<ArrayBuilder>,
}

struct Parser<'p> {
    path: &'p Path,
    limits: Limits,
    sections: Vec<Section>,
    tree: Vec<XmlNode>,
    root: Option<XmlNode>,
    header_elements: usize,
    groups: HashMap<String, Rc<[Param]>>,
    group: Option<(String, Vec<Param>)>,
    /// References to groups not defined yet, from the part of the document before the group
    /// list (`fileDescription`): the group's terms apply there once it is defined. With the
    /// context of each reference, for the error if the group never is.
    forward_refs: Vec<(String, Section, String)>,
    header: HeaderTerms,
    scan_settings_seen: usize,
    spectrum: Option<SpectrumBuilder>,
    spectra: Vec<SpectrumEntry>,
    quirks: Vec<Quirk>,
    /// The elements open inside the current `<spectrum>`, as places of terms.
    places: Vec<TermPlace>,
    spectrum_terms: TermCollector,
}

impl<'p> Parser<'p> {
    fn new(path: &'p Path, limits: Limits) -> Self {
        Self {
            path,
            limits,
            sections: Vec::with_capacity(16),
            tree: Vec::with_capacity(16),
            root: None,
            header_elements: 0,
            groups: HashMap::new(),
            group: None,
            forward_refs: Vec::new(),
            header: HeaderTerms::default(),
            scan_settings_seen: 0,
            spectrum: None,
            spectra: Vec::new(),
            quirks: Vec::new(),
            places: Vec::with_capacity(8),
            spectrum_terms: TermCollector::default(),
        }
    }

    fn context(&self) -> String {
        match &self.spectrum {
            Some(s) => format!("spectrum {}", s.index),
            None => self
                .sections
                .last()
                .map(|s| format!("{s:?}"))
                .unwrap_or_else(|| "document".into()),
        }
    }

    fn start(&mut self, element: &BytesStart<'_>) -> Result<()> {
        if self.sections.len() >= self.limits.max_depth {
            return Err(ImzmlError::LimitExceeded {
                path: self.path.to_path_buf(),
                context: self.context(),
                what: "element nesting depth",
                value: self.sections.len() as u64 + 1,
                limit: self.limits.max_depth as u64,
            });
        }
        let local = element.local_name();
        let name = local.as_ref();
        let parent = self.sections.last().copied().unwrap_or(Section::Other);
        let section = match (parent, name) {
            (_, "fileContent") => Section::FileContent,
            (_, "scanSettings") => {
                self.scan_settings_seen += 1;
                Section::ScanSettings
            }
            (_, "referenceableParamGroup") => Section::ParamGroup,
            (Section::Other, "spectrum") => Section::Spectrum,
            (Section::Spectrum, "binaryDataArray") => Section::BinaryDataArray,
            (Section::BinaryDataArray, "binary") => Section::Binary,
            (Section::Spectrum | Section::BinaryDataArray | Section::Binary, _) => parent,
            (other, _) => other,
        };
        self.sections.push(section);

        match (section, name) {
            (Section::Spectrum, "spectrum") => self.start_spectrum(element)?,
            (Section::BinaryDataArray, "binaryDataArray") => self.start_array(element)?,
            (Section::ParamGroup, "referenceableParamGroup") => {
                let id = attribute(element, "id", self.path)?.unwrap_or_default();
                self.group = Some((id, Vec::new()));
            }
            _ => {}
        }
        if name == "cvParam" {
            self.cv_param(element, section)?;
        } else if name == "userParam" && section == Section::Spectrum {
            self.spectrum_user_param(element)?;
        } else if name == "referenceableParamGroupRef" && section != Section::ParamGroup {
            self.group_ref(element, section)?;
        }
        if section == Section::Spectrum {
            self.places.push(TermPlace::of_element(name));
        }
        if section != Section::Spectrum && section != Section::BinaryDataArray && section != Section::Binary {
            self.open_tree_node(element)?;
        }
        Ok(())
    }

    /// Where a term of the element being started is given: the innermost open element of the
    /// spectrum.
    fn term_place(&self) -> TermPlace {
        self.places.last().copied().unwrap_or(TermPlace::Other)
    }

    /// The values of the attributes `keys` of `element`, read in one pass. Every param takes
    /// this path, so duplicate keys are not checked: the last value wins.
    fn attributes<'e, const N: usize>(
        &self,
        element: &'e BytesStart<'_>,
        keys: [&str; N],
    ) -> Result<[Option<Cow<'e, str>>; N]> {
        let mut values = [const { None }; N];
        for attr in element.attributes().with_checks(false) {
            let attr = attr.map_err(|e| self.xml_error(e.to_string()))?;
            let name = attr.key.local_name();
            if let Some(at) = keys.iter().position(|key| *key == name.as_ref()) {
                values[at] = Some(normalized(&attr).map_err(|e| self.xml_error(e.to_string()))?);
            }
        }
        Ok(values)
    }

    fn spectrum_user_param(&mut self, element: &BytesStart<'_>) -> Result<()> {
        let [name, value, unit, unit_name, value_type] =
            self.attributes(element, ["name", "value", "unitAccession", "unitName", "type"])?;
        self.observe_spectrum_term(
            "userParam",
            value_type.as_deref(),
            &value.unwrap_or_default(),
            (unit.as_deref(), unit_name.as_deref()),
            || name.map(Cow::into_owned).unwrap_or_default(),
        );
        Ok(())
    }

    /// Records a term of the spectrum being read: its accession (or `userParam`), a user
    /// parameter's `type`, its value and unit, and its name, asked for when needed.
    fn observe_spectrum_term(
        &mut self,
        accession: &str,
        value_type: Option<&str>,
        value: &str,
        unit: (Option<&str>, Option<&str>),
        name: impl FnOnce() -> String,
    ) {
        let Some(spectrum) = self.spectrum.as_ref().map(|s| s.index) else {
            return;
        };
        let occurrence = Occurrence {
            spectrum,
            accession,
            value,
            unit,
            place: self.term_place(),
            value_type,
        };
        self.spectrum_terms.observe(occurrence, name);
    }

    fn end(&mut self) -> Result<()> {
        let section = self.sections.pop().unwrap_or(Section::Other);
        if section == Section::Spectrum {
            self.places.pop();
        }
        let parent = self.sections.last().copied().unwrap_or(Section::Other);
        match section {
            Section::BinaryDataArray if parent == Section::Spectrum => self.finish_array()?,
            Section::Spectrum if parent != Section::Spectrum => self.finish_spectrum()?,
            Section::Binary | Section::Spectrum | Section::BinaryDataArray => {}
            _ => {
                if section == Section::ParamGroup
                    && parent != Section::ParamGroup
                    && let Some((id, params)) = self.group.take()
                {
                    let params: Rc<[Param]> = params.into();
                    self.apply_forward_refs(&id, &params)?;
                    self.groups.insert(id, params);
                }
                self.close_tree_node();
            }
        }
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<()> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(());
        }
        match self.sections.last() {
            Some(Section::Binary) => Err(ImzmlError::Unsupported {
                path: self.path.to_path_buf(),
                context: self.context(),
                feature: "binary data inside the XML (mzML style); imzML keeps arrays in the .ibd".into(),
            }),
            Some(Section::Spectrum | Section::BinaryDataArray) => Ok(()),
            _ => {
                if trimmed.len() > self.limits.max_text_bytes {
                    return Err(self.text_limit(trimmed.len()));
                }
                if let Some(node) = self.tree.last_mut() {
                    node.text = Some(trimmed.to_string());
                }
                Ok(())
            }
        }
    }

    fn text_limit(&self, len: usize) -> ImzmlError {
        ImzmlError::LimitExceeded {
            path: self.path.to_path_buf(),
            context: self.context(),
            what: "text or attribute length in bytes",
            value: len as u64,
            limit: self.limits.max_text_bytes as u64,
        }
    }

    fn open_tree_node(&mut self, element: &BytesStart<'_>) -> Result<()> {
        self.header_elements += 1;
        if self.header_elements > self.limits.max_header_elements {
            return Err(ImzmlError::LimitExceeded {
                path: self.path.to_path_buf(),
                context: self.context(),
                what: "number of header elements",
                value: self.header_elements as u64,
                limit: self.limits.max_header_elements as u64,
            });
        }
        let mut node = XmlNode {
            name: element.local_name().as_ref().to_string(),
            ..XmlNode::default()
        };
        for attr in element.attributes() {
            let attr = attr.map_err(|e| self.xml_error(e.to_string()))?;
            let value = normalized(&attr).map_err(|e| self.xml_error(e.to_string()))?;
            if value.len() > self.limits.max_text_bytes {
                return Err(self.text_limit(value.len()));
            }
            node.attributes
                .push((attr.key.local_name().as_ref().to_string(), value.into_owned()));
        }
        self.tree.push(node);
        Ok(())
    }

    fn close_tree_node(&mut self) {
        if let Some(node) = self.tree.pop() {
            match self.tree.last_mut() {
                Some(parent) => parent.children.push(node),
                None => self.root = Some(node),
            }
        }
    }

    fn xml_error(&self, message: String) -> ImzmlError {
        ImzmlError::format(self.path, self.context(), message)
    }

    fn cv_param(&mut self, element: &BytesStart<'_>, section: Section) -> Result<()> {
        let [accession, value, unit, unit_name] =
            self.attributes(element, ["accession", "value", "unitAccession", "unitName"])?;
        let accession = accession.ok_or_else(|| self.xml_error("cvParam without accession attribute".into()))?;
        let value = value.unwrap_or_default();
        let accession = accession.trim();
        if section == Section::Spectrum && !cv::SPECTRUM_TERMS_KEPT.contains(&accession) {
            let path = self.path;
            self.observe_spectrum_term(accession, None, &value, (unit.as_deref(), unit_name.as_deref()), || {
                attribute(element, "name", path).ok().flatten().unwrap_or_default()
            });
        }
        let precision_name = self.precision_name(element, accession)?;
        let unit = (unit.as_deref(), unit_name.as_deref());
        self.apply_param(section, accession, &value, unit, precision_name.as_deref())
    }

    /// The `name` of a precision term (read for those only: it is the one name that can settle
    /// what the accession gets wrong, when the byte lengths agree with the name).
    fn precision_name(&self, element: &BytesStart<'_>, accession: &str) -> Result<Option<String>> {
        if DataType::from_accession(accession).is_none() {
            return Ok(None);
        }
        attribute(element, "name", self.path)
    }

    fn group_ref(&mut self, element: &BytesStart<'_>, section: Section) -> Result<()> {
        let id = attribute(element, "ref", self.path)?.unwrap_or_default();
        match self.groups.get(&id).map(Rc::clone) {
            Some(params) => self.apply_group(section, &params),
            // imzML puts fileDescription before the group list, so its references point forward.
            None if matches!(section, Section::FileContent | Section::Other) && self.spectra.is_empty() => {
                let context = self.context();
                self.forward_refs.push((id, section, context));
                Ok(())
            }
            None => Err(ImzmlError::format(
                self.path,
                self.context(),
                format!("referenceableParamGroupRef to {id:?}, which is not defined before it"),
            )),
        }
    }

    fn apply_group(&mut self, section: Section, params: &[Param]) -> Result<()> {
        for param in params {
            let unit = (param.unit_accession.as_deref(), param.unit_name.as_deref());
            let precision_name = param.precision_name.as_deref();
            self.apply_param(section, &param.accession, &param.value, unit, precision_name)?;
        }
        Ok(())
    }

    /// Applies the group `id`, just defined, where it was referenced before its definition.
    fn apply_forward_refs(&mut self, id: &str, params: &[Param]) -> Result<()> {
        let (waiting, rest) = std::mem::take(&mut self.forward_refs)
            .into_iter()
            .partition(|(waiting_for, _, _)| waiting_for == id);
        self.forward_refs = rest;
        for (_, section, _) in waiting {
            self.apply_group(section, params)?;
        }
        Ok(())
    }

    /// Applies one cvParam with its unit (`unitAccession`, `unitName`) and, for a precision
    /// term, its name to the part of the document it belongs to.
    fn apply_param(
        &mut self,
        section: Section,
        accession: &str,
        value: &str,
        unit: (Option<&str>, Option<&str>),
        precision_name: Option<&str>,
    ) -> Result<()> {
        match section {
            Section::ParamGroup => {
                if let Some((_, params)) = &mut self.group {
                    params.push(Param {
                        accession: accession.to_string(),
                        value: value.to_string(),
                        unit_accession: unit.0.map(str::to_string),
                        unit_name: unit.1.map(str::to_string),
                        precision_name: precision_name.map(str::to_string),
                    });
                }
            }
            Section::FileContent => self
                .header
                .apply_file_content(accession, value, self.path, &mut self.quirks)?,
            Section::ScanSettings => {
                let first_block = self.scan_settings_seen <= 1;
                self.header
                    .apply_scan_settings(accession, value, unit, first_block, &mut self.quirks)
            }
            Section::BinaryDataArray => {
                let path = self.path;
                if let Some(spectrum) = self.spectrum.as_mut() {
                    let index = spectrum.index;
                    if let Some(array) = spectrum.array.as_mut() {
                        let context = || format!("spectrum {index}");
                        array.apply(accession, value, unit, precision_name, path, &context)?;
                    }
                }
            }
            Section::Spectrum => self.spectrum_param(accession, value)?,
            Section::Other | Section::Binary => {}
        }
        Ok(())
    }

    fn spectrum_param(&mut self, accession: &str, value: &str) -> Result<()> {
        let target = match accession {
            cv::POSITION_X | cv::POSITION_Y | cv::POSITION_Z => accession,
            cv::CENTROID | cv::PROFILE | cv::POSITIVE_SCAN | cv::NEGATIVE_SCAN => {
                self.header.observe_spectrum_term(accession);
                return Ok(());
            }
            _ => return Ok(()),
        };
        let coordinate = parse_coordinate(value).ok_or_else(|| {
            ImzmlError::format(
                self.path,
                self.context(),
                format!("{target} value {value:?} is not an integer coordinate"),
            )
        })?;
        if let Some(spectrum) = &mut self.spectrum {
            match target {
                cv::POSITION_X => spectrum.x = Some(coordinate),
                cv::POSITION_Y => spectrum.y = Some(coordinate),
                _ => spectrum.z = Some(coordinate),
            }
        }
        Ok(())
    }

    fn start_spectrum(&mut self, element: &BytesStart<'_>) -> Result<()> {
        let index = self.spectra.len();
        if index >= self.limits.max_spectra {
            return Err(ImzmlError::LimitExceeded {
                path: self.path.to_path_buf(),
                context: format!("spectrum {index}"),
                what: "number of spectra",
                value: index as u64 + 1,
                limit: self.limits.max_spectra as u64,
            });
        }
        let default_length = match attribute(element, "defaultArrayLength", self.path)? {
            Some(text) => parse_unsigned(&text).map(|(v, _)| v),
            None => None,
        };
        self.spectrum = Some(SpectrumBuilder {
            index,
            default_length,
            x: None,
            y: None,
            z: None,
            arrays: Vec::with_capacity(2),
            array: None,
        });
        Ok(())
    }

    fn start_array(&mut self, element: &BytesStart<'_>) -> Result<()> {
        let attribute_length = match attribute(element, "arrayLength", self.path)? {
            Some(text) => parse_unsigned(&text).map(|(v, _)| v),
            None => None,
        };
        if let Some(spectrum) = &mut self.spectrum {
            spectrum.array = Some(ArrayBuilder::with_attribute_length(attribute_length));
        }
        Ok(())
    }

    fn finish_array(&mut self) -> Result<()> {
        let Some(spectrum) = &mut self.spectrum else {
            return Ok(());
        };
        let index = spectrum.index;
        let context = || format!("spectrum {index}");
        if let Some(array) = spectrum.array.take() {
            let resolved = array.finish(
                spectrum.default_length,
                &self.limits,
                self.path,
                &context,
                &mut self.quirks,
            )?;
            spectrum.arrays.push(resolved);
        }
        Ok(())
    }

    fn finish_spectrum(&mut self) -> Result<()> {
        let Some(spectrum) = self.spectrum.take() else {
            return Ok(());
        };
        let context = format!("spectrum {}", spectrum.index);
        let missing = |term| ImzmlError::MissingTerm {
            path: self.path.to_path_buf(),
            context: context.clone(),
            term,
        };
        let x = spectrum.x.ok_or_else(|| missing("IMS:1000050 position x"))?;
        let y = spectrum.y.ok_or_else(|| missing("IMS:1000051 position y"))?;
        let mut mz = None;
        let mut intensity = None;
        let mut other_arrays = Vec::new();
        for (kind, array) in spectrum.arrays {
            let slot = match kind {
                ArrayKind::Mz => &mut mz,
                ArrayKind::Intensity => &mut intensity,
                ArrayKind::Other { accession, value, unit } => {
                    other_arrays.push(OtherArray {
                        accession,
                        value,
                        unit,
                        array,
                    });
                    continue;
                }
            };
            if slot.replace(array).is_some() {
                return Err(ImzmlError::format(
                    self.path,
                    &context,
                    "two arrays of the same kind (m/z or intensity)",
                ));
            }
        }
        let mz = mz.ok_or_else(|| missing("MS:1000514 m/z array"))?;
        let intensity = intensity.ok_or_else(|| missing("MS:1000515 intensity array"))?;
        if mz.length != intensity.length {
            return Err(ImzmlError::format(
                self.path,
                &context,
                format!(
                    "m/z array has {} values but intensity array has {}",
                    mz.length, intensity.length
                ),
            ));
        }
        self.spectra.push(SpectrumEntry {
            index: spectrum.index,
            x,
            y,
            z: spectrum.z.unwrap_or(1),
            mz,
            intensity,
            other_arrays,
        });
        Ok(())
    }

    fn into_imzml(self, ibd_path: PathBuf, ibd_len: u64, options: &ParseOptions) -> Result<Imzml> {
        let document = self
            .root
            .ok_or_else(|| ImzmlError::format(self.path, "document", "no root element"))?;
        if document.name != "mzML" && document.name != "indexedmzML" {
            return Err(ImzmlError::format(
                self.path,
                "document",
                format!("root element is <{}>, expected <mzML>", document.name),
            ));
        }
        if let Some((id, _, context)) = self.forward_refs.first() {
            return Err(ImzmlError::format(
                self.path,
                context.as_str(),
                format!("referenceableParamGroupRef to {id:?}, which is never defined"),
            ));
        }
        let (spectrum_terms, spectrum_terms_not_kept) = self.spectrum_terms.finish(self.spectra.len());
        let parsed = finish::Parsed {
            path: self.path,
            header: self.header,
            spectra: self.spectra,
            quirks: self.quirks,
            spectrum_terms,
            spectrum_terms_not_kept,
        };
        finish::finish(parsed, document, ibd_path, ibd_len, options)
    }
}

fn attribute(element: &BytesStart<'_>, key: &str, path: &Path) -> Result<Option<String>> {
    for attr in element.attributes().with_checks(false) {
        let attr = attr.map_err(|e| ImzmlError::format(path, "attribute", e.to_string()))?;
        if attr.key.local_name().as_ref() == key {
            let value = normalized(&attr).map_err(|e| ImzmlError::format(path, "attribute", e.to_string()))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// The value of an attribute as XML defines it: character and entity references replaced,
/// white space normalized (borrowed, without a copy, when there is neither).
fn normalized<'a>(attr: &Attribute<'a>) -> quick_xml::Result<Cow<'a, str>> {
    attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)
}
