//! Terms of the source's spectra that a store keeps (scan start times, scan window limits,
//! user parameters; format version 1.2): one value for every spectrum, or a number per
//! spectrum in a small `float64` array.

use std::ops::Range;

use imzarr_format::{StoredTermInfo, paths};

use crate::dataset::{Dataset, member_by_key};
use crate::error::{ReadError, Result};
use crate::types::Image;

/// The values of a kept spectrum term for a run of stored spectra.
#[derive(Debug, Clone, PartialEq)]
pub enum TermColumn {
    /// Every spectrum of the source gave the term with this value (a flag: an empty one).
    Same(String),
    /// The number each spectrum gave, `NaN` where a spectrum did not give the term.
    Numbers(Vec<f64>),
}

impl Dataset {
    /// The terms of the source's spectra that the store keeps (empty for most stores).
    pub fn spectrum_terms(&self) -> &[StoredTermInfo] {
        &self.attributes.spectrum_terms
    }

    /// The values of the kept term `key` ([`StoredTermInfo::key`]) for the stored spectra
    /// `numbers`.
    pub async fn term_values(&self, key: &str, numbers: Range<u64>) -> Result<TermColumn> {
        self.check_run(&numbers)?;
        let info = member_by_key(self.spectrum_terms(), key, |info| &info.key, "spectrum term")?;
        if let Some(value) = &info.value {
            return Ok(TermColumn::Same(value.clone()));
        }
        let path = paths::term_array(&info.key);
        let shape = self.arrays.shape(&path)?;
        let count = self.spectrum_count();
        if shape != [count] {
            return Err(ReadError::Metadata {
                location: self.location.clone(),
                node: path,
                message: format!("shape {shape:?} is not the [{count}] of the stored spectra"),
            });
        }
        Ok(TermColumn::Numbers(self.arrays.read_f64(&path, &[numbers]).await?))
    }

    /// The numbers of the kept term `key` at every pixel: `NaN` where no spectrum was acquired
    /// or the spectrum did not give the term. Refused for a term with one value for every
    /// spectrum (see [`StoredTermInfo::value`]).
    pub async fn term_image(&self, key: &str) -> Result<Image> {
        let numbers = match self.term_values(key, 0..self.spectrum_count()).await? {
            TermColumn::Numbers(numbers) => numbers,
            TermColumn::Same(value) => {
                return Err(ReadError::Usage(format!(
                    "the spectrum term {key:?} has the one value {value:?} for every spectrum; it has no image"
                )));
            }
        };
        self.image_from(|s| numbers[s as usize]).await
    }
}
