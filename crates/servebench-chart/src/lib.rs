//! Static charts of throughput/interactivity frontiers, as SVG and PNG.
//!
//! `servebench report` writes them next to its tables, and the dashboard's static export
//! inlines the same SVG, so a chart looks the same in a file, a page and a PNG.
//!
//! - [`svg`] builds the SVG by hand: no plotting crate, byte-identical output for the same
//!   input (reports are diffed and committed), and classes/`data-*` attributes that tests and
//!   the dashboard can select on (`g.series[data-name]`, `circle.point`, `polyline.frontier`,
//!   `rect.plot-area`).
//! - [`png`] rasterises that same SVG with `resvg` (pure Rust), with Noto Sans embedded so
//!   text renders on a CI machine that has no fonts at all.
//! - [`write`] picks the format from the file extension.
//!
//! Values that cannot be drawn (non-finite, or ≤ 0 on a log axis) are skipped, never a panic;
//! a chart with nothing to draw still has its axes and says "no data".

mod raster;
mod render;
pub mod ticks;

use std::path::{Path, PathBuf};

pub use raster::{png, png_with, PngOptions};
pub use render::{frame, svg, Frame};

/// The twelve series colours: Tableau 10, then olive and near-black. Series 13 and on reuse
/// them with a dashed frontier, so every series stays distinguishable.
pub const PALETTE: [&str; 12] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#bcbd22", "#333333",
];

/// The colour of the series at `index` in [`Chart::series`], as drawn in the chart and legend
/// (so a page around the chart can match it).
pub fn series_color(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// How an axis maps values to pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    #[default]
    Linear,
    /// Decades evenly spaced; values ≤ 0 cannot be drawn and are skipped.
    Log10,
}

/// One axis: its label, scale and optionally a fixed range.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Axis {
    pub label: String,
    pub scale: Scale,
    /// `(min, max)` to show instead of fitting the data (e.g. to compare charts on one
    /// scale). Ignored, with the range fitted instead, when not finite, when `min >= max`,
    /// or when `min <= 0` on a log axis.
    pub range: Option<(f64, f64)>,
}

impl Axis {
    pub fn linear(label: impl Into<String>) -> Self {
        Axis {
            label: label.into(),
            scale: Scale::Linear,
            range: None,
        }
    }

    pub fn log10(label: impl Into<String>) -> Self {
        Axis {
            label: label.into(),
            scale: Scale::Log10,
            range: None,
        }
    }

    pub fn with_range(mut self, min: f64, max: f64) -> Self {
        self.range = Some((min, max));
        self
    }
}

/// One configuration's measurements.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Legend label, e.g. "h200 vllm fp8 tp8".
    pub name: String,
    /// Every measured point, drawn as a small dot.
    pub points: Vec<(f64, f64)>,
    /// The Pareto frontier, drawn as a line through these points in this order (may be
    /// empty).
    pub frontier: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(
        name: impl Into<String>,
        points: Vec<(f64, f64)>,
        frontier: Vec<(f64, f64)>,
    ) -> Self {
        Series {
            name: name.into(),
            points,
            frontier,
        }
    }
}

/// A scatter of measured points with one frontier line per series.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub subtitle: Option<String>,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    /// Dashed vertical reference lines with a label, e.g. `(50.0, "50 tok/s/user")` for a
    /// target interactivity. A fitted x range always includes them.
    pub x_markers: Vec<(f64, String)>,
    /// Size in pixels (default 960×600); sizes below 240×160 are drawn at 240×160.
    pub width: u32,
    pub height: u32,
}

impl Default for Chart {
    fn default() -> Self {
        Chart {
            title: String::new(),
            subtitle: None,
            x: Axis::default(),
            y: Axis::default(),
            series: Vec::new(),
            x_markers: Vec::new(),
            width: 960,
            height: 600,
        }
    }
}

impl Chart {
    /// A 960×600 chart with no series yet.
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> Self {
        Chart {
            title: title.into(),
            x,
            y,
            ..Chart::default()
        }
    }
}

/// Why a chart could not be rendered or written.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("{}: unsupported chart format: the file name must end in .svg or .png", path.display())]
    UnsupportedFormat { path: PathBuf },
    #[error("rendering the chart as PNG: {0}")]
    Render(String),
    #[error("writing chart {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes `chart` to `path` as SVG or PNG, chosen by the extension (`.svg`/`.png`, any case).
/// The parent directory must exist.
pub fn write(chart: &Chart, path: &Path) -> Result<(), ChartError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("svg") => svg(chart).into_bytes(),
        Some("png") => png(chart)?,
        _ => {
            return Err(ChartError::UnsupportedFormat {
                path: path.to_path_buf(),
            })
        }
    };
    std::fs::write(path, bytes).map_err(|source| ChartError::Io {
        path: path.to_path_buf(),
        source,
    })
}
