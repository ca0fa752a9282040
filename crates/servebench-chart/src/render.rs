//! The SVG itself: layout (margins, ranges, ticks, legend) and string building.

use std::fmt::Write as _;

use crate::ticks::{linear_ticks, log_ticks, Tick};
use crate::{series_color, Axis, Chart, Scale};

const MIN_WIDTH: u32 = 240;
const MIN_HEIGHT: u32 = 160;
/// Noto Sans first: it is the font `png` embeds, so the PNG and a browser with Noto installed
/// agree; the rest are what browsers commonly have.
const FONT_FAMILY: &str =
    "'Noto Sans', 'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif";
/// Average advance of a Noto Sans character in ems, to size margins and the legend without
/// measuring text (the SVG must not depend on which fonts the writer's machine has).
const CHAR_EM: f64 = 0.58;
/// Pixel coordinates are clamped to this, so absurd values beyond a fixed range cannot produce
/// absurd numbers in the file (the plot area is clipped anyway).
const MAX_PX: f64 = 1e6;
const POINT_RADIUS: f64 = 3.0;
const FRONTIER_WIDTH: f64 = 2.5;
/// Series 13 and on reuse the palette's colours, told apart by these frontier dash patterns.
const DASHES: [&str; 4] = ["", "6 3", "2 3", "8 3 2 3"];

/// Where the plot area sits on the canvas and which data ranges its edges show: what a page
/// needs to map data to pixels over the SVG (hover, crosshair), and what tests check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Canvas size in pixels.
    pub width: f64,
    pub height: f64,
    /// Plot area edges in pixels (y grows downwards: `top < bottom`).
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub x_scale: Scale,
    pub y_scale: Scale,
    /// Data values at the left and right edges.
    pub x_range: (f64, f64),
    /// Data values at the bottom and top edges.
    pub y_range: (f64, f64),
}

impl Frame {
    /// The pixel column of `x`; `None` when `x` cannot be drawn on this scale.
    pub fn x_px(&self, x: f64) -> Option<f64> {
        let t = fraction(self.x_scale, self.x_range, x)?;
        Some(self.left + t * (self.right - self.left))
    }

    /// The pixel row of `y`; `None` when `y` cannot be drawn on this scale.
    pub fn y_px(&self, y: f64) -> Option<f64> {
        let t = fraction(self.y_scale, self.y_range, y)?;
        Some(self.bottom - t * (self.bottom - self.top))
    }

    /// The pixel position of a data point; `None` when either coordinate cannot be drawn.
    pub fn px(&self, (x, y): (f64, f64)) -> Option<(f64, f64)> {
        Some((self.x_px(x)?, self.y_px(y)?))
    }

    /// Whether a point lies within both ranges (edges included).
    fn contains(&self, (x, y): (f64, f64)) -> bool {
        let within = |t: Option<f64>| t.is_some_and(|t| (-1e-9..=1.0 + 1e-9).contains(&t));
        within(fraction(self.x_scale, self.x_range, x))
            && within(fraction(self.y_scale, self.y_range, y))
    }
}

/// Whether `v` can be placed on an axis of this scale.
fn drawable(scale: Scale, v: f64) -> bool {
    v.is_finite() && (scale == Scale::Linear || v > 0.0)
}

/// Where `v` falls in `range`, 0 at the low end and 1 at the high end.
fn fraction(scale: Scale, (lo, hi): (f64, f64), v: f64) -> Option<f64> {
    if !drawable(scale, v) {
        return None;
    }
    let t = match scale {
        Scale::Linear => (v - lo) / (hi - lo),
        Scale::Log10 => (v.log10() - lo.log10()) / (hi.log10() - lo.log10()),
    };
    t.is_finite().then_some(t)
}

/// The layout of `chart`: plot area and ranges, as [`svg`] draws it.
pub fn frame(chart: &Chart) -> Frame {
    layout(chart).frame
}

struct Layout {
    frame: Frame,
    x_ticks: Vec<Tick>,
    y_ticks: Vec<Tick>,
    /// Left edge and width of the legend column; `None` without series.
    legend: Option<(f64, f64)>,
    has_data: bool,
}

fn text_width(text: &str, font_size: f64) -> f64 {
    text.chars().count() as f64 * CHAR_EM * font_size
}

fn layout(chart: &Chart) -> Layout {
    let (xs, ys) = (chart.x.scale, chart.y.scale);
    let points: Vec<(f64, f64)> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().chain(&s.frontier))
        .copied()
        .filter(|&(x, y)| drawable(xs, x) && drawable(ys, y))
        .collect();
    let markers = chart
        .x_markers
        .iter()
        .map(|m| m.0)
        .filter(|&x| drawable(xs, x));
    let x_range = resolve_range(&chart.x, points.iter().map(|p| p.0).chain(markers));
    let y_range = resolve_range(&chart.y, points.iter().map(|p| p.1));

    let width = f64::from(chart.width.max(MIN_WIDTH));
    let height = f64::from(chart.height.max(MIN_HEIGHT));
    // The title row is reserved even when the title is empty, so the plot does not move.
    let top = if chart.subtitle.is_some() { 66.0 } else { 46.0 };
    let bottom = height - 52.0;
    let y_ticks = axis_ticks(ys, y_range, ((bottom - top) / 50.0) as usize);
    let label_width = y_ticks
        .iter()
        .map(|t| text_width(&t.label, 11.0))
        .fold(0.0, f64::max);
    let left = (38.0 + label_width).max(56.0);
    let (right, legend) = if chart.series.is_empty() {
        (width - 24.0, None)
    } else {
        let longest = chart
            .series
            .iter()
            .map(|s| text_width(&s.name, 12.0))
            .fold(0.0, f64::max);
        let legend_width = (longest + 30.0).max(100.0).min(width * 0.3);
        let right = width - legend_width - 20.0;
        (right, Some((right + 16.0, legend_width)))
    };
    let x_ticks = axis_ticks(xs, x_range, ((right - left) / 75.0) as usize);
    Layout {
        frame: Frame {
            width,
            height,
            left,
            top,
            right,
            bottom,
            x_scale: xs,
            y_scale: ys,
            x_range,
            y_range,
        },
        x_ticks,
        y_ticks,
        legend,
        has_data: !points.is_empty(),
    }
}

fn axis_ticks(scale: Scale, (lo, hi): (f64, f64), target: usize) -> Vec<Tick> {
    match scale {
        Scale::Linear => linear_ticks(lo, hi, target.max(2)),
        Scale::Log10 => log_ticks(lo, hi, target.max(2)),
    }
}

/// The axis's fixed range when it is usable, otherwise the range of `values` (already
/// drawable on the axis) with 5% padding on each side (in decades on a log axis). Padding
/// never crosses zero from data that are all on one side of it.
fn resolve_range(axis: &Axis, values: impl Iterator<Item = f64>) -> (f64, f64) {
    if let Some((lo, hi)) = axis.range {
        if lo.is_finite() && hi.is_finite() && lo < hi && (axis.scale == Scale::Linear || lo > 0.0)
        {
            return (lo, hi);
        }
    }
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let default = match axis.scale {
        Scale::Linear => (0.0, 1.0),
        Scale::Log10 => (1.0, 10.0),
    };
    if lo > hi {
        return default;
    }
    let padded = match axis.scale {
        Scale::Linear => {
            let span = hi - lo;
            let pad = if span > 0.0 {
                span * 0.05
            } else if lo != 0.0 {
                lo.abs() * 0.1
            } else {
                1.0
            };
            let a = if lo >= 0.0 {
                (lo - pad).max(0.0)
            } else {
                lo - pad
            };
            let b = if hi <= 0.0 {
                (hi + pad).min(0.0)
            } else {
                hi + pad
            };
            (a, b)
        }
        Scale::Log10 => {
            let (l, u) = (lo.log10(), hi.log10());
            let pad = if u > l { (u - l) * 0.05 } else { 0.5 };
            (10f64.powf(l - pad), 10f64.powf(u + pad))
        }
    };
    let usable = |(a, b): (f64, f64)| {
        a.is_finite()
            && b.is_finite()
            && a < b
            && (b - a).is_finite()
            && (axis.scale == Scale::Linear || a > 0.0)
    };
    [padded, (lo, hi)]
        .into_iter()
        .find(|&r| usable(r))
        .unwrap_or(default)
}

/// Text for XML content and attribute values: the five special characters escaped, and
/// characters XML 1.0 does not allow at all (most control characters) dropped.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A pixel coordinate with at most two decimals and no trailing zeros.
fn n(v: f64) -> String {
    let v = if v.is_finite() {
        v.clamp(-MAX_PX, MAX_PX)
    } else {
        0.0
    };
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0" } else { s }.to_string()
}

/// `text` cut to about `width` pixels at `font_size`, with an ellipsis when cut.
fn truncate(text: &str, width: f64, font_size: f64) -> (String, bool) {
    let max_chars = ((width / (CHAR_EM * font_size)) as usize).max(2);
    if text.chars().count() <= max_chars {
        return (text.to_string(), false);
    }
    let mut cut: String = text.chars().take(max_chars - 1).collect();
    cut.push('…');
    (cut, true)
}

/// FNV-1a over everything that is drawn, to give each chart's clip path an id of its own: the
/// dashboard inlines several charts in one page, where ids must be unique.
struct Fingerprint(u64);

impl Fingerprint {
    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
        self.bytes(&[0xff]);
    }
    fn f64(&mut self, v: f64) {
        self.bytes(&v.to_bits().to_le_bytes());
    }
    fn axis(&mut self, a: &Axis) {
        self.str(&a.label);
        self.bytes(&[a.scale as u8]);
        if let Some((lo, hi)) = a.range {
            self.f64(lo);
            self.f64(hi);
        }
    }
}

fn fingerprint(chart: &Chart) -> u64 {
    let mut h = Fingerprint(0xcbf2_9ce4_8422_2325);
    h.str(&chart.title);
    h.str(chart.subtitle.as_deref().unwrap_or(""));
    h.axis(&chart.x);
    h.axis(&chart.y);
    for s in &chart.series {
        h.str(&s.name);
        for &(x, y) in s.points.iter().chain(&s.frontier) {
            h.f64(x);
            h.f64(y);
        }
        h.bytes(&[0xfe]);
    }
    for (x, label) in &chart.x_markers {
        h.f64(*x);
        h.str(label);
    }
    h.bytes(&chart.width.to_le_bytes());
    h.bytes(&chart.height.to_le_bytes());
    h.0
}

fn scale_name(scale: Scale) -> &'static str {
    match scale {
        Scale::Linear => "linear",
        Scale::Log10 => "log10",
    }
}

/// Appends formatted text to a `String` (which cannot fail).
macro_rules! put {
    ($s:expr, $($arg:tt)*) => {{
        let _ = write!($s, $($arg)*);
    }};
}

/// The chart as a standalone SVG document (UTF-8, no XML declaration, so it can also be
/// inlined in HTML). Deterministic: the same chart gives the same bytes.
pub fn svg(chart: &Chart) -> String {
    let l = layout(chart);
    let f = l.frame;
    let id = format!("sbc-{:016x}", fingerprint(chart));
    let (w, h) = (f.width, f.height);
    let mut s = String::with_capacity(8192);

    put!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" role=\"img\" font-family=\"{}\" font-size=\"12\">\n",
        esc(FONT_FAMILY)
    );
    put!(s, "<title>{}</title>\n", esc(&chart.title));
    if let Some(sub) = &chart.subtitle {
        put!(s, "<desc>{}</desc>\n", esc(sub));
    }
    // Dots and lines may overhang the plot area by a marker's radius; beyond that, clipped.
    let pad = POINT_RADIUS + FRONTIER_WIDTH;
    put!(
        s,
        "<defs><clipPath id=\"{id}-plot\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\
         </clipPath></defs>\n",
        n(f.left - pad),
        n(f.top - pad),
        n(f.right - f.left + 2.0 * pad),
        n(f.bottom - f.top + 2.0 * pad)
    );
    put!(
        s,
        "<rect class=\"background\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n"
    );
    if !chart.title.is_empty() {
        put!(
            s,
            "<text class=\"title\" x=\"{}\" y=\"28\" font-size=\"18\" font-weight=\"bold\" \
             fill=\"#222222\">{}</text>\n",
            n(f.left),
            esc(&chart.title)
        );
    }
    if let Some(sub) = &chart.subtitle {
        put!(
            s,
            "<text class=\"subtitle\" x=\"{}\" y=\"50\" font-size=\"13\" fill=\"#555555\">{}</text>\n",
            n(f.left),
            esc(sub)
        );
    }

    grid(&mut s, &l);
    put!(
        s,
        "<rect class=\"plot-area\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" \
         stroke=\"#888888\" stroke-width=\"1\"/>\n",
        n(f.left),
        n(f.top),
        n(f.right - f.left),
        n(f.bottom - f.top)
    );
    axes(&mut s, &l, chart);
    markers(&mut s, &f, chart);

    put!(s, "<g class=\"data\" clip-path=\"url(#{id}-plot)\">\n");
    for (i, series) in chart.series.iter().enumerate() {
        series_group(&mut s, &f, i, series);
    }
    s.push_str("</g>\n");

    if let Some((x0, width)) = l.legend {
        legend(&mut s, &f, x0, width, chart);
    }
    if !l.has_data {
        put!(
            s,
            "<text class=\"no-data\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"16\" \
             fill=\"#777777\">no data</text>\n",
            n((f.left + f.right) / 2.0),
            n((f.top + f.bottom) / 2.0 + 6.0)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn grid(s: &mut String, l: &Layout) {
    let f = &l.frame;
    s.push_str("<g class=\"grid\" stroke-width=\"1\">\n");
    for t in &l.x_ticks {
        if let Some(x) = f.x_px(t.value) {
            let color = if t.major { "#e6e6e6" } else { "#f3f3f3" };
            put!(
                s,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{color}\"/>\n",
                n(f.top),
                n(f.bottom),
                x = n(x)
            );
        }
    }
    for t in &l.y_ticks {
        if let Some(y) = f.y_px(t.value) {
            let color = if t.major { "#e6e6e6" } else { "#f3f3f3" };
            put!(
                s,
                "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{color}\"/>\n",
                n(f.left),
                n(f.right),
                y = n(y)
            );
        }
    }
    s.push_str("</g>\n");
}

fn axes(s: &mut String, l: &Layout, chart: &Chart) {
    let f = &l.frame;
    put!(
        s,
        "<g class=\"axis x-axis\" data-scale=\"{}\" data-min=\"{}\" data-max=\"{}\" \
         font-size=\"11\" fill=\"#333333\">\n",
        scale_name(f.x_scale),
        f.x_range.0,
        f.x_range.1
    );
    for t in l.x_ticks.iter().filter(|t| t.major) {
        if let Some(x) = f.x_px(t.value) {
            put!(
                s,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#888888\"/>\
                 <text class=\"tick\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\" data-value=\"{}\">{}</text>\n",
                n(f.bottom),
                n(f.bottom + 5.0),
                n(f.bottom + 18.0),
                t.value,
                esc(&t.label),
                x = n(x)
            );
        }
    }
    put!(
        s,
        "<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" \
         fill=\"#222222\">{}</text>\n</g>\n",
        n((f.left + f.right) / 2.0),
        n(f.bottom + 42.0),
        esc(&chart.x.label)
    );

    put!(
        s,
        "<g class=\"axis y-axis\" data-scale=\"{}\" data-min=\"{}\" data-max=\"{}\" \
         font-size=\"11\" fill=\"#333333\">\n",
        scale_name(f.y_scale),
        f.y_range.0,
        f.y_range.1
    );
    for t in l.y_ticks.iter().filter(|t| t.major) {
        if let Some(y) = f.y_px(t.value) {
            put!(
                s,
                "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#888888\"/>\
                 <text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\" data-value=\"{}\">{}</text>\n",
                n(f.left - 5.0),
                n(f.left),
                n(f.left - 8.0),
                n(y + 4.0),
                t.value,
                esc(&t.label),
                y = n(y)
            );
        }
    }
    let mid = n((f.top + f.bottom) / 2.0);
    put!(
        s,
        "<text class=\"axis-label\" x=\"22\" y=\"{mid}\" transform=\"rotate(-90 22 {mid})\" \
         text-anchor=\"middle\" font-size=\"13\" fill=\"#222222\">{}</text>\n</g>\n",
        esc(&chart.y.label)
    );
}

fn markers(s: &mut String, f: &Frame, chart: &Chart) {
    if chart.x_markers.is_empty() {
        return;
    }
    s.push_str("<g class=\"markers\" font-size=\"11\" fill=\"#333333\">\n");
    for (value, label) in &chart.x_markers {
        let Some(x) = f.x_px(*value) else { continue };
        if !(f.left - 1e-6..=f.right + 1e-6).contains(&x) {
            continue;
        }
        // Label right of the line, or left of it when it would run past the plot.
        let (tx, anchor) = if x + 4.0 + text_width(label, 11.0) > f.right {
            (x - 4.0, "end")
        } else {
            (x + 4.0, "start")
        };
        put!(
            s,
            "<g class=\"marker\" data-x=\"{value}\"><line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" \
             stroke=\"#555555\" stroke-width=\"1.2\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text></g>\n",
            n(f.top),
            n(f.bottom),
            n(tx),
            n(f.top + 14.0),
            esc(label),
            x = n(x)
        );
    }
    s.push_str("</g>\n");
}

fn dash_attr(index: usize) -> String {
    match DASHES[(index / crate::PALETTE.len()) % DASHES.len()] {
        "" => String::new(),
        d => format!(" stroke-dasharray=\"{d}\""),
    }
}

fn series_group(s: &mut String, f: &Frame, index: usize, series: &crate::Series) {
    let color = series_color(index);
    let dots: Vec<((f64, f64), (f64, f64))> = series
        .points
        .iter()
        .filter(|&&p| f.contains(p))
        .filter_map(|&p| Some((p, f.px(p)?)))
        .collect();
    let outside = series.points.len() - dots.len();
    put!(
        s,
        "<g class=\"series\" data-name=\"{}\" data-index=\"{index}\" data-color=\"{color}\" \
         data-points=\"{}\" data-skipped=\"{outside}\" fill=\"{color}\" fill-opacity=\"0.55\">\n",
        esc(&series.name),
        dots.len()
    );
    for ((x, y), (px, py)) in dots {
        put!(
            s,
            "<circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"{POINT_RADIUS}\" data-x=\"{x}\" data-y=\"{y}\"/>\n",
            n(px),
            n(py)
        );
    }
    let line: Vec<String> = series
        .frontier
        .iter()
        .filter_map(|&p| f.px(p))
        .map(|(x, y)| format!("{},{}", n(x), n(y)))
        .collect();
    if !line.is_empty() {
        put!(
            s,
            "<polyline class=\"frontier\" data-points=\"{}\" points=\"{}\" fill=\"none\" \
             stroke=\"{color}\" stroke-width=\"{FRONTIER_WIDTH}\" stroke-linejoin=\"round\" \
             stroke-linecap=\"round\"{}/>\n",
            line.len(),
            line.join(" "),
            dash_attr(index)
        );
    }
    s.push_str("</g>\n");
}

fn legend(s: &mut String, f: &Frame, x0: f64, width: f64, chart: &Chart) {
    let count = chart.series.len() as f64;
    let line_height = ((f.bottom - f.top) / count).clamp(8.0, 20.0);
    s.push_str("<g class=\"legend\" font-size=\"12\" fill=\"#222222\">\n");
    for (i, series) in chart.series.iter().enumerate() {
        let color = series_color(i);
        let y = f.top + 8.0 + i as f64 * line_height;
        let (name, cut) = truncate(&series.name, width - 30.0, 12.0);
        put!(
            s,
            "<g class=\"legend-item\" data-name=\"{}\">",
            esc(&series.name)
        );
        if cut {
            put!(s, "<title>{}</title>", esc(&series.name));
        }
        if !series.frontier.is_empty() {
            put!(
                s,
                "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{color}\" \
                 stroke-width=\"{FRONTIER_WIDTH}\"{}/>",
                n(x0),
                n(x0 + 18.0),
                dash_attr(i),
                y = n(y)
            );
        }
        put!(
            s,
            "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{color}\"/>\
             <text x=\"{}\" y=\"{}\">{}</text></g>\n",
            n(x0 + 9.0),
            n(y),
            n(x0 + 24.0),
            n(y + 4.0),
            esc(&name)
        );
    }
    s.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_invalid_xml_characters() {
        assert_eq!(
            esc("a&b<c>\"d\"'e'"),
            "a&amp;b&lt;c&gt;&quot;d&quot;&#39;e&#39;"
        );
        assert_eq!(esc("x\u{1}y\u{fffe}z\tw"), "xyz w");
    }

    #[test]
    fn coordinates_have_two_decimals_at_most() {
        assert_eq!(n(100.0), "100");
        assert_eq!(n(12.345), "12.35");
        assert_eq!(n(0.1), "0.1");
        assert_eq!(n(-0.001), "0");
        assert_eq!(n(f64::NAN), "0");
        assert_eq!(n(1e300), "1000000");
    }

    #[test]
    fn fitted_linear_range_pads_without_crossing_zero() {
        let a = Axis::linear("x");
        assert_eq!(resolve_range(&a, [10.0, 110.0].into_iter()), (5.0, 115.0));
        assert_eq!(resolve_range(&a, [1.0, 101.0].into_iter()), (0.0, 106.0));
        assert_eq!(resolve_range(&a, [5.0].into_iter()), (4.5, 5.5));
        assert_eq!(resolve_range(&a, std::iter::empty()), (0.0, 1.0));
    }

    #[test]
    fn fitted_log_range_pads_in_decades() {
        let a = Axis::log10("x");
        let (lo, hi) = resolve_range(&a, [1.0, 1e4].into_iter());
        assert!((lo - 10f64.powf(-0.2)).abs() < 1e-12, "{lo}");
        assert!((hi - 10f64.powf(4.2)).abs() < 1e-9, "{hi}");
    }

    #[test]
    fn unusable_fixed_ranges_fall_back_to_fitting() {
        let values = || [10.0, 110.0].into_iter();
        for range in [(5.0, 5.0), (f64::NAN, 1.0), (3.0, 1.0)] {
            let a = Axis::linear("x").with_range(range.0, range.1);
            assert_eq!(resolve_range(&a, values()), (5.0, 115.0), "{range:?}");
        }
        let a = Axis::log10("x").with_range(0.0, 100.0);
        assert_ne!(resolve_range(&a, values()).0, 0.0);
        let a = Axis::linear("x").with_range(-1.0, 1.0);
        assert_eq!(resolve_range(&a, values()), (-1.0, 1.0));
    }

    #[test]
    fn truncation_keeps_short_names_and_marks_cuts() {
        assert_eq!(truncate("short", 100.0, 12.0), ("short".to_string(), false));
        let (cut, was_cut) = truncate(&"é".repeat(50), 70.0, 12.0);
        assert!(was_cut);
        assert!(cut.ends_with('…'));
        assert_eq!(cut.chars().count(), 10);
    }
}
