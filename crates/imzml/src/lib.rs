//! Streaming, hostile-input-safe reading and writing of imzML, the XML + binary format of mass
//! spectrometry imaging.
//!
//! ```no_run
//! use imzarr_imzml::{parse_file, Ibd};
//!
//! let imzml = parse_file("fixtures/imzml/imzy_simple.imzML")?;
//! let ibd = Ibd::open(&imzml)?; // checks the UUID and that every array lies inside the file
//! for spectrum in &imzml.spectra {
//!     let (mz, intensity) = ibd.read_spectrum(spectrum)?;
//!     println!("({}, {}): {} points, first m/z {}", spectrum.x, spectrum.y, mz.len(), mz.get_f64(0));
//!     # let _ = intensity;
//! }
//! # Ok::<(), imzarr_imzml::ImzmlError>(())
//! ```
//!
//! The parser reads the XML as a stream of events (never a DOM), resolves referenceable
//! parameter groups, matches terms by accession, and keeps the whole header as an element tree
//! ([`XmlNode`]) so that nothing in it is lost. Deviations that real writers make are repaired
//! and listed as [`Quirk`]s; what cannot be repaired is an [`ImzmlError`] naming the file, the
//! spectrum or byte offset, and what was expected.

mod array_builder;
pub mod cv;
mod dtype;
mod error;
mod finish;
mod grid;
mod header_terms;
mod header_xml;
mod ibd;
mod length_unit;
mod limits;
mod model;
pub mod numbers;
mod parser;
mod source_header;
mod spectrum_terms;
pub mod synthetic;
mod term_xml;
mod writer;

pub use dtype::{ArrayBytes, Compression, DataType};
pub use error::{ImzmlError, Result};
pub use grid::Grid;
pub use ibd::{ChecksumOutcome, Ibd, IbdBytes, LocalBytes, SequentialBytes};
pub use limits::{Limits, ParseOptions};
pub use model::{
    ArrayRef, Checksums, DeclaredGrid, Header, Imzml, Mode, OtherArray, PixelSize, Polarity, Quirk, SpectrumEntry,
    SpectrumTerm, SpectrumType, Unit, XmlNode,
};
pub use parser::{locate_ibd, parse_file, parse_file_with, parse_reader};
pub use spectrum_terms::{MAX_NUMBER_TERMS, MAX_VALUE_BYTES, SpectrumTermValues, TermPlace, TermValues};
pub use term_xml::{SpectrumTermKind, format_term_number};
pub use writer::{ImzmlWriter, OtherArrayKind, SpectrumArrays, WriterOptions};

/// Parses `xml` as an imzML document (with a fictitious `.ibd` of 1 GiB) and discards the
/// result: the entry point of the fuzz target and of its regression tests. It must never
/// panic, whatever the bytes.
#[doc(hidden)]
pub fn fuzz_parse(xml: &[u8]) {
    let limits = Limits {
        max_spectra: 100_000,
        max_header_elements: 100_000,
        ..Limits::default()
    };
    let options = ParseOptions {
        limits,
        ..ParseOptions::default()
    };
    let path = std::path::Path::new("fuzz.imzML");
    let _ = parse_reader(xml, path, path.with_extension("ibd"), 1 << 30, &options);
}
