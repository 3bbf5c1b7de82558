//! The header of a written imzML file: everything before its first `<spectrum>`, with what the
//! writer declares itself and what it carries over from a source header.

use crate::dtype::{Compression, DataType};
use crate::model::{Mode, Polarity, SpectrumType, XmlNode};
use crate::numbers::format_uuid;
use crate::source_header::{ScanSettings, SourceHeader, node_xml};
use crate::writer::{WriterOptions, cv, cv_with_unit, escape};

/// The ids of what the writer declares itself, none of them an id of a copied element of the
/// source header.
#[derive(Debug, Clone)]
pub(crate) struct Ids {
    pub(crate) mz_group: String,
    pub(crate) intensity_group: String,
    pub(crate) other_groups: Vec<String>,
    pub(crate) spectrum_group: String,
    pub(crate) software: String,
    pub(crate) processing: String,
    /// The instrument configuration the spectra refer to: the source's, or one the writer
    /// declares when it has none.
    pub(crate) instrument: String,
    pub(crate) instrument_is_own: bool,
    pub(crate) run: String,
}

impl Ids {
    pub(crate) fn new(options: &WriterOptions) -> Self {
        let source = SourceHeader::new(options.source_header.as_ref());
        let unique = |base: &str| source.unique_id(base);
        let source_instrument = source.instrument_configuration_id();
        Self {
            mz_group: unique("mzArray"),
            intensity_group: unique("intensityArray"),
            other_groups: (0..options.other_arrays.len())
                .map(|k| unique(&format!("otherArray{k}")))
                .collect(),
            spectrum_group: unique("spectrum1"),
            software: unique("writer"),
            processing: unique("export"),
            instrument: source_instrument.map_or_else(|| unique("IC1"), str::to_string),
            instrument_is_own: source_instrument.is_none(),
            run: unique("run1"),
        }
    }
}

pub(crate) fn header_xml(
    options: &WriterOptions,
    ids: &Ids,
    uuid: &[u8; 16],
    sha1: &str,
    max: [u64; 3],
    spectra: usize,
) -> String {
    let source = SourceHeader::new(options.source_header.as_ref());
    let (mode_accession, mode_name) = match options.mode {
        Mode::Continuous => ("IMS:1000030", "continuous"),
        Mode::Processed => ("IMS:1000031", "processed"),
    };
    let (type_accession, type_name) = match options.spectrum_type {
        SpectrumType::Centroid => ("MS:1000127", "centroid spectrum"),
        SpectrumType::Profile => ("MS:1000128", "profile spectrum"),
    };
    let (compression_accession, compression_name) = match options.compression {
        Compression::None => ("MS:1000576", "no compression"),
        Compression::Zlib => ("MS:1000574", "zlib compression"),
    };
    let polarity = match options.polarity {
        Some(Polarity::Positive) => cv("MS", "MS:1000130", "positive scan", ""),
        Some(Polarity::Negative) => cv("MS", "MS:1000129", "negative scan", ""),
        None => String::new(),
    };
    let ms1 = cv("MS", "MS:1000579", "MS1 spectrum", "");
    let type_cv = cv("MS", type_accession, type_name, "");
    let array_group = |id: &str, kind_term: String, dtype: DataType| {
        format!(
            "    <referenceableParamGroup id=\"{}\">\n      {}\n      {}\n      {}\n      {}\n    </referenceableParamGroup>\n",
            escape(id),
            kind_term,
            cv(
                if dtype.accession().starts_with("IMS") {
                    "IMS"
                } else {
                    "MS"
                },
                dtype.accession(),
                dtype.cv_name(),
                ""
            ),
            cv("MS", compression_accession, compression_name, ""),
            cv("IMS", "IMS:1000101", "external data", "true"),
        )
    };
    let other_groups: String = options
        .other_arrays
        .iter()
        .zip(&ids.other_groups)
        .map(|(kind, id)| {
            let name = crate::cv::other_array_name(&kind.accession).unwrap_or("binary data array");
            let term = cv_with_unit("MS", &kind.accession, name, &kind.value, kind.unit.as_ref());
            array_group(id, term, kind.dtype)
        })
        .collect();
    let copied =
        |nodes: Vec<&XmlNode>, indent: usize| -> String { nodes.into_iter().map(|n| node_xml(n, indent)).collect() };

    let (cv_count, cvs) = cv_list_xml(&source);
    let referenced_groups = source.referenced_groups().to_vec();

    let file_content_more = copied(source.file_content_terms(), 6);
    let file_description_more = copied(source.file_description_rest(), 4);
    let sample_list = source.sample_list().map_or_else(String::new, |list| node_xml(list, 2));

    let source_softwares = source.softwares();
    let software_count = source_softwares.len() + 1;
    let softwares = copied(source_softwares, 4);

    let (scan_settings_count, scan_settings) = scan_settings_xml(&source, max, options.pixel_size_um);

    let source_instruments = source.instrument_configurations();
    let (instrument_count, instruments) = if ids.instrument_is_own {
        (
            1,
            format!("    <instrumentConfiguration id=\"{}\"/>\n", escape(&ids.instrument)),
        )
    } else {
        (source_instruments.len(), copied(source_instruments, 4))
    };

    let source_processings = source.data_processings();
    let processing_count = source_processings.len() + 1;
    let processings = copied(source_processings, 4);
    let run_attributes: String = source
        .run_attributes()
        .into_iter()
        .map(|(key, value)| format!(" {key}=\"{}\"", escape(value)))
        .collect();

    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<mzML xmlns="http://psi.hupo.org/ms/mzml" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1">
  <cvList count="{cv_count}">
{cvs}  </cvList>
  <fileDescription>
    <fileContent>
      {ms1}
      {type_cv}
      {mode_cv}
      {uuid_cv}
      {sha1_cv}
{file_content_more}    </fileContent>
{file_description_more}  </fileDescription>
  <referenceableParamGroupList count="{groups}">
{mz_group}{int_group}{other_groups}    <referenceableParamGroup id="{spectrum_group}">
      {ms1}
      {type_cv}
      {polarity}
    </referenceableParamGroup>
{copied_groups}  </referenceableParamGroupList>
{sample_list}  <softwareList count="{software_count}">
{softwares}    <software id="{software_id}" version="{version}">
      {software_cv}
    </software>
  </softwareList>
  <scanSettingsList count="{scan_settings_count}">
{scan_settings}  </scanSettingsList>
  <instrumentConfigurationList count="{instrument_count}">
{instruments}  </instrumentConfigurationList>
  <dataProcessingList count="{processing_count}">
{processings}    <dataProcessing id="{processing_id}">
      <processingMethod order="1" softwareRef="{software_id}">
        {conversion_cv}
      </processingMethod>
    </dataProcessing>
  </dataProcessingList>
  <run id="{run_id}" defaultInstrumentConfigurationRef="{instrument_id}"{run_attributes}>
    <spectrumList count="{spectra}" defaultDataProcessingRef="{processing_id}">
"#,
        mode_cv = cv("IMS", mode_accession, mode_name, ""),
        uuid_cv = cv(
            "IMS",
            "IMS:1000080",
            "universally unique identifier",
            &format!("{{{}}}", format_uuid(uuid).to_uppercase())
        ),
        sha1_cv = cv("IMS", "IMS:1000091", "ibd SHA-1", &sha1.to_uppercase()),
        groups = 3 + options.other_arrays.len() + referenced_groups.len(),
        copied_groups = copied(referenced_groups, 4),
        mz_group = array_group(&ids.mz_group, cv("MS", "MS:1000514", "m/z array", ""), options.mz_dtype),
        int_group = array_group(
            &ids.intensity_group,
            cv("MS", "MS:1000515", "intensity array", ""),
            options.intensity_dtype
        ),
        spectrum_group = escape(&ids.spectrum_group),
        software_id = escape(&ids.software),
        processing_id = escape(&ids.processing),
        instrument_id = escape(&ids.instrument),
        run_id = escape(&ids.run),
        version = env!("CARGO_PKG_VERSION"),
        software_cv = cv("MS", "MS:1000799", "custom unreleased software tool", &options.software),
        conversion_cv = cv("MS", "MS:1000530", "file format conversion", "Output to imzML"),
    )
}

/// The `<cv>` elements: the source's, then those of the vocabularies the writer uses that the
/// source does not declare; and their count.
fn cv_list_xml(source: &SourceHeader) -> (usize, String) {
    let own = [
        (
            "MS",
            r#"<cv id="MS" fullName="Proteomics Standards Initiative Mass Spectrometry Ontology" version="4.1.0" URI="http://purl.obolibrary.org/obo/ms.obo"/>"#,
        ),
        (
            "UO",
            r#"<cv id="UO" fullName="Unit Ontology" version="2020-03-10" URI="http://purl.obolibrary.org/obo/uo.obo"/>"#,
        ),
        (
            "IMS",
            r#"<cv id="IMS" fullName="Mass Spectrometry Imaging Ontology" version="1.1.0" URI="https://raw.githubusercontent.com/imzML/imzML/master/imagingMS.obo"/>"#,
        ),
    ];
    let theirs = source.cvs();
    let missing: Vec<&str> = own
        .iter()
        .filter(|(id, _)| !theirs.iter().any(|cv| cv.attribute("id") == Some(id)))
        .map(|(_, xml)| *xml)
        .collect();
    let count = theirs.len() + missing.len();
    let mut xml: String = theirs.into_iter().map(|cv| node_xml(cv, 4)).collect();
    xml.extend(missing.iter().map(|cv| format!("    {cv}\n")));
    (count, xml)
}

/// The `<scanSettings>` elements: the source's, the first with the maximum pixel counts of the
/// grid written (and the pixel size where it gives none), or the writer's own; and their count.
fn scan_settings_xml(source: &SourceHeader, max: [u64; 3], pixel_size_um: Option<f64>) -> (usize, String) {
    let counts = [
        cv_node("IMS:1000042", "max count of pixels x", max[0].to_string()),
        cv_node("IMS:1000043", "max count of pixels y", max[1].to_string()),
    ];
    let pixel_size = pixel_size_um.map(|size| {
        [
            cv_node("IMS:1000046", "pixel size (x)", size.to_string()),
            cv_node("IMS:1000047", "pixel size y", size.to_string()),
        ]
    });
    let (mut first, has_pixel_size, others) = match source.scan_settings() {
        Some(ScanSettings {
            first,
            has_pixel_size,
            others,
        }) => (first, has_pixel_size, others),
        None => {
            let own = XmlNode {
                name: "scanSettings".into(),
                attributes: vec![("id".into(), source.unique_id("scansettings1"))],
                ..XmlNode::default()
            };
            (own, false, Vec::new())
        }
    };
    first.children.extend(counts);
    if !has_pixel_size {
        first.children.extend(pixel_size.into_iter().flatten());
    }
    let mut xml = node_xml(&first, 4);
    xml.extend(others.iter().map(|settings| node_xml(settings, 4)));
    (1 + others.len(), xml)
}

/// An `IMS` cvParam.
fn cv_node(accession: &str, name: &str, value: String) -> XmlNode {
    XmlNode {
        name: "cvParam".into(),
        attributes: vec![
            ("cvRef".into(), "IMS".into()),
            ("accession".into(), accession.into()),
            ("name".into(), name.into()),
            ("value".into(), value),
        ],
        ..XmlNode::default()
    }
}
