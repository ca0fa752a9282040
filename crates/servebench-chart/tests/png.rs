//! The PNG as pixels: size, content, colours where data is drawn, and text from the embedded
//! font (these tests pass `system_fonts: false`, as on a machine with no fonts).

use resvg::tiny_skia::Pixmap;
use servebench_chart::{frame, png, png_with, series_color, Axis, Chart, PngOptions, Series};

fn decode(bytes: &[u8]) -> Pixmap {
    Pixmap::decode_png(bytes).expect("a valid PNG")
}

fn embedded_only() -> PngOptions {
    PngOptions {
        system_fonts: false,
        ..PngOptions::default()
    }
}

fn rgb(p: &Pixmap, x: u32, y: u32) -> [u8; 3] {
    let c = p.pixel(x, y).unwrap().demultiply();
    [c.red(), c.green(), c.blue()]
}

fn hex(color: &str) -> [u8; 3] {
    let v = u32::from_str_radix(color.trim_start_matches('#'), 16).unwrap();
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 3)
}

fn dark_pixels(p: &Pixmap, ys: std::ops::Range<u32>) -> usize {
    ys.flat_map(|y| (0..p.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| rgb(p, x, y).iter().all(|&c| c < 100))
        .count()
}

/// Two series whose frontiers are horizontal through their middle vertex, so the pixel there
/// is covered by the (opaque) line whatever the antialiasing.
fn chart(title: &str) -> Chart {
    let mut chart = Chart::new(
        title,
        Axis::linear("interactivity (tok/s/user)").with_range(0.0, 100.0),
        Axis::linear("throughput (tok/s/GPU)").with_range(0.0, 50.0),
    );
    chart.series = vec![
        Series::new(
            "h200 vllm fp8 tp8",
            vec![(20.0, 25.0), (50.0, 25.0), (80.0, 25.0), (30.0, 10.0)],
            vec![(20.0, 25.0), (50.0, 25.0), (80.0, 25.0)],
        ),
        Series::new(
            "b200 sglang fp4 tp4",
            vec![(50.0, 40.0)],
            vec![(30.0, 40.0), (50.0, 40.0), (70.0, 40.0)],
        ),
    ];
    chart.x_markers = vec![(60.0, "target 60 tok/s/user".into())];
    chart
}

#[test]
fn png_has_the_chart_size_and_is_not_blank() {
    let image = decode(&png(&chart("size")).unwrap());
    assert_eq!((image.width(), image.height()), (960, 600));
    let white = image
        .pixels()
        .iter()
        .filter(|p| (p.red(), p.green(), p.blue(), p.alpha()) == (255, 255, 255, 255))
        .count();
    let total = (960 * 600) as usize;
    assert!(
        white < total * 99 / 100,
        "{white} of {total} pixels are white"
    );
    assert!(white > total / 2, "background is white");
    assert!(
        image.pixels().iter().all(|p| p.alpha() == 255),
        "opaque background"
    );
}

#[test]
fn frontier_points_have_their_series_colour() {
    let chart = chart("colours");
    let image = decode(&png_with(&chart, &embedded_only()).unwrap());
    let f = frame(&chart);
    for (i, point) in [(0, (50.0, 25.0)), (1, (50.0, 40.0))] {
        let (x, y) = f.px(point).unwrap();
        let got = rgb(&image, x as u32, y as u32);
        assert!(
            near(got, hex(series_color(i))),
            "series {i} at ({x}, {y}): {got:?} != {}",
            series_color(i)
        );
    }
    // Away from data and grid lines the plot is background.
    let (x, y) = f.px((93.3, 7.3)).unwrap();
    assert_eq!(rgb(&image, x as u32, y as u32), [255, 255, 255]);
}

#[test]
fn text_renders_with_the_embedded_font_alone() {
    let titled = decode(
        &png_with(
            &chart("Throughput per GPU vs interactivity"),
            &embedded_only(),
        )
        .unwrap(),
    );
    let untitled = decode(&png_with(&chart(""), &embedded_only()).unwrap());
    let title_band = 8..36;
    assert!(
        dark_pixels(&titled, title_band.clone()) > 200,
        "the title is drawn"
    );
    assert_eq!(dark_pixels(&untitled, title_band.clone()), 0);
    // The title changes nothing else: the layout reserves its row either way.
    let rows = |p: &Pixmap, ys: std::ops::Range<u32>| {
        let w = p.width() as usize;
        p.pixels()[ys.start as usize * w..ys.end as usize * w].to_vec()
    };
    assert!(rows(&titled, 40..600) == rows(&untitled, 40..600));
    // Tick labels under the x axis are drawn too.
    let bottom = frame(&chart("")).bottom as u32;
    assert!(dark_pixels(&untitled, bottom + 8..bottom + 24) > 50);
}

#[test]
fn scale_multiplies_the_pixel_size() {
    let options = PngOptions {
        scale: 2.0,
        ..embedded_only()
    };
    let image = decode(&png_with(&chart("2x"), &options).unwrap());
    assert_eq!((image.width(), image.height()), (1920, 1200));
}

#[test]
fn bad_scales_and_huge_sizes_are_errors() {
    for scale in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let options = PngOptions {
            scale,
            ..embedded_only()
        };
        assert!(png_with(&chart("bad"), &options).is_err(), "scale {scale}");
    }
    let mut huge = chart("huge");
    huge.width = 100_000;
    let err = png(&huge).unwrap_err().to_string();
    assert!(err.contains("too large"), "{err}");
}
