//! The spectrum terms a store keeps (spec section 8b): their descriptions for the root
//! attributes, and the arrays of those that have a number per spectrum.

use imzarr_format::{StoredTermInfo, paths};
use imzarr_imzml::{Imzml, SpectrumTermValues, TermValues};

use crate::root_attributes::unit_info;

/// Bytes the kept spectrum terms hold while the conversion runs.
pub(crate) fn held_bytes(imzml: &Imzml) -> u64 {
    imzml
        .spectrum_terms
        .iter()
        .map(|term| match &term.values {
            TermValues::Numbers(numbers) => numbers.capacity() as u64 * 8,
            TermValues::Constant(value) => value.capacity() as u64,
        })
        .sum()
}

/// The description of every kept term, with distinct keys, in the source's order.
pub(crate) fn infos(imzml: &Imzml) -> Vec<StoredTermInfo> {
    let mut keys: Vec<String> = Vec::with_capacity(imzml.spectrum_terms.len());
    imzml
        .spectrum_terms
        .iter()
        .map(|term| {
            let key = StoredTermInfo::key_for(&term.accession, &term.name, &keys);
            keys.push(key.clone());
            info(term, key)
        })
        .collect()
}

fn info(term: &SpectrumTermValues, key: String) -> StoredTermInfo {
    StoredTermInfo {
        key,
        accession: term.accession.clone(),
        name: term.name.clone(),
        element: term.place.element_name().unwrap_or_default().to_string(),
        unit: term.unit.as_ref().map(unit_info),
        value: match &term.values {
            TermValues::Constant(value) => Some(value.clone()),
            TermValues::Numbers(_) => None,
        },
        value_type: term.value_type.clone(),
        decimals: term.decimals,
    }
}

/// The arrays to write: path, and the values of the stored spectra in stored order (`order`
/// maps a stored spectrum to its entry in `imzml.spectra`), as little-endian `float64`.
pub(crate) fn arrays(imzml: &Imzml, order: &[usize]) -> Vec<(String, Vec<u8>)> {
    imzml
        .spectrum_terms
        .iter()
        .zip(infos(imzml))
        .filter_map(|(term, info)| match &term.values {
            TermValues::Numbers(numbers) => {
                let values = order
                    .iter()
                    .map(|&i| numbers.get(imzml.spectra[i].index).copied().unwrap_or(f64::NAN))
                    .flat_map(f64::to_le_bytes)
                    .collect();
                Some((paths::term_array(&info.key), values))
            }
            TermValues::Constant(_) => None,
        })
        .collect()
}
