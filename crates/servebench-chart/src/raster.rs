//! PNG output: the SVG from [`crate::svg`] rasterised with resvg, so both formats show the
//! same drawing.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{self, fontdb};

use crate::{svg, Chart, ChartError};

/// Neither side of a PNG may exceed this many pixels: a guard against allocating gigabytes
/// for a mistyped size.
const MAX_SIDE: f32 = 16384.0;

/// How to rasterise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PngOptions {
    /// Pixels per SVG pixel: 2.0 gives a sharp image on high-density screens.
    pub scale: f32,
    /// Also use the machine's fonts, for glyphs Noto Sans lacks (e.g. CJK in a series name).
    /// The embedded Noto Sans is always loaded first and is the first family the SVG asks
    /// for, so Latin text looks the same with or without them.
    pub system_fonts: bool,
}

impl Default for PngOptions {
    fn default() -> Self {
        PngOptions {
            scale: 1.0,
            system_fonts: true,
        }
    }
}

/// The chart as a PNG of `width × height` pixels, with the machine's fonts as fallback.
pub fn png(chart: &Chart) -> Result<Vec<u8>, ChartError> {
    png_with(chart, &PngOptions::default())
}

/// The chart as a PNG, rasterised as `options` say.
pub fn png_with(chart: &Chart, options: &PngOptions) -> Result<Vec<u8>, ChartError> {
    let scale = options.scale;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(ChartError::Render(format!(
            "scale must be a positive number, not {scale}"
        )));
    }
    let text = svg(chart);
    let opt = usvg::Options {
        font_family: "Noto Sans".to_string(),
        fontdb: fonts(options.system_fonts),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(&text, &opt)
        .map_err(|e| ChartError::Render(format!("parsing the chart's own SVG: {e}")))?;
    let size = tree.size();
    let (w, h) = (
        (size.width() * scale).round(),
        (size.height() * scale).round(),
    );
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(ChartError::Render(format!(
            "{w}×{h} pixels is too large (at most {MAX_SIDE} a side)"
        )));
    }
    let mut pixmap = Pixmap::new(w as u32, h as u32)
        .ok_or_else(|| ChartError::Render(format!("cannot allocate {w}×{h} pixels")))?;
    resvg::render(
        &tree,
        Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| ChartError::Render(format!("encoding PNG: {e}")))
}

/// The font database, built once per process: scanning system fonts takes longer than
/// rendering a chart.
fn fonts(system: bool) -> Arc<fontdb::Database> {
    static EMBEDDED: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    static WITH_SYSTEM: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    let cell = if system { &WITH_SYSTEM } else { &EMBEDDED };
    cell.get_or_init(|| {
        let mut db = fontdb::Database::new();
        // Embedded first: on equal matches fontdb picks the face loaded first, so a system
        // copy of Noto Sans in another version cannot change the output.
        db.load_font_data(notosans::REGULAR_TTF.to_vec());
        db.load_font_data(notosans::BOLD_TTF.to_vec());
        if system {
            db.load_system_fonts();
        }
        db.set_sans_serif_family("Noto Sans");
        Arc::new(db)
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faces(db: &fontdb::Database) -> Vec<(String, u16)> {
        db.faces()
            .map(|f| (f.families[0].0.clone(), f.weight.0))
            .collect()
    }

    #[test]
    fn embedded_fonts_are_noto_sans_regular_and_bold() {
        let embedded = [
            ("Noto Sans".to_string(), 400),
            ("Noto Sans".to_string(), 700),
        ];
        assert_eq!(faces(&fonts(false)), embedded);
        // With system fonts, the embedded faces still come first, so they win ties.
        let all = faces(&fonts(true));
        assert_eq!(all[..2], embedded);
    }
}
