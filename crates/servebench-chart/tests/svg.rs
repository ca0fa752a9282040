//! The SVG as a document: what is drawn, where, and that it is valid, escaped and stable.

use resvg::usvg::roxmltree::{Document, Node};
use servebench_chart::{frame, series_color, svg, write, Axis, Chart, ChartError, Series, PALETTE};

fn parse(text: &str) -> Document<'_> {
    Document::parse(text).unwrap_or_else(|e| panic!("invalid XML: {e}\n{text}"))
}

fn with_class<'a, 'i>(doc: &'a Document<'i>, tag: &str, class: &str) -> Vec<Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| {
            n.tag_name().name() == tag
                && n.attribute("class")
                    .is_some_and(|c| c.split(' ').any(|c| c == class))
        })
        .collect()
}

fn num(node: &Node, attr: &str) -> f64 {
    node.attribute(attr)
        .unwrap_or_else(|| panic!("no {attr} on {node:?}"))
        .parse()
        .unwrap()
}

/// (left, top, right, bottom) of the plot area as the SVG draws it.
fn plot_area(doc: &Document) -> (f64, f64, f64, f64) {
    let rects = with_class(doc, "rect", "plot-area");
    assert_eq!(rects.len(), 1);
    let r = rects[0];
    let (x, y) = (num(&r, "x"), num(&r, "y"));
    (x, y, x + num(&r, "width"), y + num(&r, "height"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.01
}

fn sample() -> Chart {
    let mut chart = Chart::new(
        "Throughput vs interactivity",
        Axis::linear("interactivity (tok/s/user)"),
        Axis::linear("throughput (tok/s/GPU)"),
    );
    chart.subtitle = Some("llama 70B, 1k/1k".into());
    chart.series = vec![
        Series::new(
            "h200 vllm fp8 tp8",
            vec![
                (10.0, 900.0),
                (20.0, 700.0),
                (f64::NAN, 500.0),
                (30.0, f64::INFINITY),
                (40.0, 300.0),
            ],
            vec![(10.0, 900.0), (20.0, 700.0), (40.0, 300.0)],
        ),
        Series::new(
            "b200 sglang fp4 tp4",
            vec![(15.0, 1200.0), (35.0, 600.0)],
            vec![],
        ),
    ];
    chart.x_markers = vec![(50.0, "target 50 tok/s/user".into())];
    chart
}

#[test]
fn one_circle_per_finite_point_and_one_frontier_per_non_empty_frontier() {
    let text = svg(&sample());
    let doc = parse(&text);
    let series = with_class(&doc, "g", "series");
    assert_eq!(series.len(), 2);
    let circles = |g: &Node| {
        g.children()
            .filter(|n| n.tag_name().name() == "circle")
            .count()
    };
    let frontiers = |g: &Node| {
        g.children()
            .filter(|n| n.tag_name().name() == "polyline")
            .count()
    };
    assert_eq!(series[0].attribute("data-name"), Some("h200 vllm fp8 tp8"));
    assert_eq!(circles(&series[0]), 3);
    assert_eq!(series[0].attribute("data-points"), Some("3"));
    assert_eq!(series[0].attribute("data-skipped"), Some("2"));
    assert_eq!(frontiers(&series[0]), 1);
    assert_eq!(circles(&series[1]), 2);
    assert_eq!(frontiers(&series[1]), 0);
    assert_eq!(with_class(&doc, "circle", "point").len(), 5);
    let line = with_class(&doc, "polyline", "frontier");
    assert_eq!(line.len(), 1);
    assert_eq!(line[0].attribute("data-points"), Some("3"));
    assert_eq!(line[0].attribute("points").unwrap().split(' ').count(), 3);
    assert!(with_class(&doc, "text", "no-data").is_empty());
}

#[test]
fn points_at_range_ends_sit_on_the_plot_edges() {
    let mut chart = Chart::new(
        "edges",
        Axis::linear("x").with_range(0.0, 100.0),
        Axis::linear("y").with_range(0.0, 50.0),
    );
    chart.series = vec![Series::new(
        "s",
        vec![(0.0, 0.0), (100.0, 50.0), (50.0, 25.0), (25.0, 40.0)],
        vec![(0.0, 0.0), (100.0, 50.0)],
    )];
    let text = svg(&chart);
    let doc = parse(&text);
    let (left, top, right, bottom) = plot_area(&doc);
    assert!(
        right - left > 500.0 && bottom - top > 400.0,
        "960×600 leaves a large plot"
    );
    let dots: Vec<(f64, f64)> = with_class(&doc, "circle", "point")
        .iter()
        .map(|c| (num(c, "cx"), num(c, "cy")))
        .collect();
    let expect = [
        (left, bottom),
        (right, top),
        ((left + right) / 2.0, (top + bottom) / 2.0),
        (left + (right - left) * 0.25, bottom - (bottom - top) * 0.8),
    ];
    for (got, want) in dots.iter().zip(expect) {
        assert!(
            close(got.0, want.0) && close(got.1, want.1),
            "{got:?} != {want:?}"
        );
    }
    let line = with_class(&doc, "polyline", "frontier")[0]
        .attribute("points")
        .unwrap()
        .to_string();
    let fmt = |v: f64| format!("{}", (v * 100.0).round() / 100.0);
    assert_eq!(
        line,
        format!("{},{} {},{}", fmt(left), fmt(bottom), fmt(right), fmt(top))
    );
    // The public frame agrees with the drawing.
    let f = frame(&chart);
    assert_eq!((f.x_range, f.y_range), ((0.0, 100.0), (0.0, 50.0)));
    assert!(close(f.x_px(100.0).unwrap(), right) && close(f.y_px(0.0).unwrap(), bottom));
}

#[test]
fn points_outside_a_fixed_range_are_not_drawn() {
    let mut chart = Chart::new(
        "clip",
        Axis::linear("x").with_range(0.0, 10.0),
        Axis::linear("y"),
    );
    chart.series = vec![Series::new(
        "s",
        vec![(5.0, 1.0), (11.0, 1.0), (-1.0, 2.0)],
        vec![],
    )];
    let text = svg(&chart);
    let doc = parse(&text);
    assert_eq!(with_class(&doc, "circle", "point").len(), 1);
    assert_eq!(
        with_class(&doc, "g", "series")[0].attribute("data-skipped"),
        Some("2")
    );
}

#[test]
fn log_axis_spaces_decades_evenly_and_skips_non_positive_values() {
    let mut chart = Chart::new(
        "log",
        Axis::log10("x").with_range(1.0, 1000.0),
        Axis::linear("y"),
    );
    let points = vec![
        (1.0, 1.0),
        (10.0, 1.0),
        (0.0, 1.0),
        (100.0, 1.0),
        (-5.0, 1.0),
        (1000.0, 1.0),
    ];
    chart.series = vec![Series::new("s", points.clone(), points)];
    let text = svg(&chart);
    let doc = parse(&text);
    let (left, _, right, _) = plot_area(&doc);
    let xs: Vec<f64> = with_class(&doc, "circle", "point")
        .iter()
        .map(|c| num(c, "cx"))
        .collect();
    assert_eq!(xs.len(), 4);
    for (i, x) in xs.iter().enumerate() {
        let want = left + (right - left) * i as f64 / 3.0;
        assert!(close(*x, want), "decade {i}: {x} != {want}");
    }
    assert_eq!(
        with_class(&doc, "polyline", "frontier")[0].attribute("data-points"),
        Some("4")
    );
    let labels: Vec<&str> = with_class(&doc, "text", "tick")
        .iter()
        .filter(|t| t.parent().unwrap().attribute("class") == Some("axis x-axis"))
        .map(|t| t.text().unwrap())
        .collect();
    assert_eq!(labels, ["1", "10", "100", "1000"]);

    // A fitted log range comes from the positive values alone.
    chart.x.range = None;
    let f = frame(&chart);
    assert!(f.x_range.0 > 0.5 && f.x_range.0 < 1.0, "{:?}", f.x_range);
    assert!(
        f.x_range.1 > 1000.0 && f.x_range.1 < 2000.0,
        "{:?}",
        f.x_range
    );
    assert_eq!(with_class(&parse(&svg(&chart)), "circle", "point").len(), 4);
}

#[test]
fn y_ticks_are_nice_numbers_placed_on_their_values() {
    let mut chart = Chart::new(
        "t",
        Axis::linear("x"),
        Axis::linear("y").with_range(0.0, 100.0),
    );
    chart.series = vec![Series::new("s", vec![(1.0, 1.0)], vec![])];
    let text = svg(&chart);
    let doc = parse(&text);
    let (_, top, _, bottom) = plot_area(&doc);
    let ticks: Vec<(f64, String)> = with_class(&doc, "text", "tick")
        .iter()
        .filter(|t| t.parent().unwrap().attribute("class") == Some("axis y-axis"))
        .map(|t| (num(t, "data-value"), t.text().unwrap().to_string()))
        .collect();
    let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
    assert_eq!(
        labels,
        ["0", "10", "20", "30", "40", "50", "60", "70", "80", "90", "100"]
    );
    // Labels sit 4 px below their tick (baseline offset for 11 px text).
    let y_of = |value: f64| {
        let t = with_class(&doc, "text", "tick")
            .into_iter()
            .find(|t| {
                t.parent().unwrap().attribute("class") == Some("axis y-axis")
                    && num(t, "data-value") == value
            })
            .unwrap();
        num(&t, "y") - 4.0
    };
    assert!(close(y_of(0.0), bottom) && close(y_of(100.0), top));
}

#[test]
fn text_is_escaped_and_round_trips() {
    let mut chart = sample();
    chart.title = "A<B> & \"C\"".into();
    chart.series[0].name = "h200 & <vllm> 'fp8'".into();
    chart.x.label = "tok/s & more\u{1}".into();
    chart.x_markers = vec![(25.0, "<50> & up".into())];
    let text = svg(&chart);
    assert!(!text.contains("<vllm>") && !text.contains("<B>") && !text.contains("<50>"));
    assert!(text.contains("h200 &amp; &lt;vllm&gt; &#39;fp8&#39;"));
    let doc = parse(&text);
    let title = doc
        .descendants()
        .find(|n| n.tag_name().name() == "title")
        .unwrap();
    assert_eq!(title.text(), Some("A<B> & \"C\""));
    assert_eq!(
        with_class(&doc, "g", "series")[0].attribute("data-name"),
        Some("h200 & <vllm> 'fp8'")
    );
    assert_eq!(
        with_class(&doc, "text", "axis-label")[0].text(),
        Some("tok/s & more")
    );
    let marker = with_class(&doc, "g", "marker")[0];
    assert_eq!(marker.last_child().unwrap().text(), Some("<50> & up"));
}

#[test]
fn output_is_deterministic_and_ids_differ_between_charts() {
    let chart = sample();
    let a = svg(&chart);
    assert_eq!(a, svg(&chart));
    assert_eq!(a, svg(&chart.clone()));
    let mut other = sample();
    other.series[1].points[0].1 += 1.0;
    let b = svg(&other);
    let clip_id = |s: &str| {
        let doc = parse(s);
        let id = doc
            .descendants()
            .find(|n| n.tag_name().name() == "clipPath")
            .unwrap()
            .attribute("id")
            .unwrap()
            .to_string();
        id
    };
    assert_ne!(clip_id(&a), clip_id(&b));
    assert!(a.contains(&format!("url(#{})", clip_id(&a))));
}

#[test]
fn empty_charts_still_have_axes_and_say_no_data() {
    let all_invalid = |scale_log: bool| {
        let axis = if scale_log {
            Axis::log10("x")
        } else {
            Axis::linear("x")
        };
        let mut chart = Chart::new("empty", axis, Axis::linear("y"));
        chart.series = vec![Series::new(
            "s",
            vec![(f64::NAN, 1.0), (0.0, f64::NEG_INFINITY)],
            vec![(-1.0, f64::NAN)],
        )];
        chart
    };
    for chart in [
        Chart::new("none", Axis::linear("x"), Axis::log10("y")),
        all_invalid(false),
        all_invalid(true),
    ] {
        let text = svg(&chart);
        let doc = parse(&text);
        assert_eq!(with_class(&doc, "text", "no-data").len(), 1, "{text}");
        assert!(with_class(&doc, "circle", "point").is_empty());
        assert!(with_class(&doc, "polyline", "frontier").is_empty());
        for axis in ["axis x-axis", "axis y-axis"] {
            let ticks = with_class(&doc, "text", "tick")
                .into_iter()
                .filter(|t| t.parent().unwrap().attribute("class") == Some(axis))
                .count();
            assert!(ticks >= 2, "{axis} has {ticks} ticks");
        }
    }
}

#[test]
fn fitted_x_range_includes_markers() {
    let text = svg(&sample());
    let doc = parse(&text);
    let x_axis = with_class(&doc, "g", "x-axis")[0];
    assert!(num(&x_axis, "data-max") >= 50.0);
    let marker = with_class(&doc, "g", "marker");
    assert_eq!(marker.len(), 1);
    assert_eq!(marker[0].attribute("data-x"), Some("50"));
    let line = marker[0].first_child().unwrap();
    assert_eq!(line.attribute("stroke-dasharray"), Some("6 4"));
    let (left, _, right, _) = plot_area(&doc);
    let x = num(&line, "x1");
    assert!(x > left && x <= right);
}

#[test]
fn legend_lists_every_series_in_its_own_colour() {
    let mut chart = Chart::new("many", Axis::linear("x"), Axis::linear("y"));
    chart.series = (0..13)
        .map(|i| {
            Series::new(
                format!("config {i}"),
                vec![(i as f64, 1.0)],
                vec![(i as f64, 1.0)],
            )
        })
        .collect();
    let text = svg(&chart);
    let doc = parse(&text);
    let items = with_class(&doc, "g", "legend-item");
    assert_eq!(items.len(), 13);
    let mut distinct: Vec<&str> = PALETTE.to_vec();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 12);
    for (i, (item, group)) in items
        .iter()
        .zip(with_class(&doc, "g", "series"))
        .enumerate()
    {
        assert_eq!(
            item.attribute("data-name"),
            Some(format!("config {i}").as_str())
        );
        let swatch = item
            .children()
            .find(|n| n.tag_name().name() == "circle")
            .unwrap();
        assert_eq!(swatch.attribute("fill"), Some(series_color(i)));
        assert_eq!(group.attribute("fill"), Some(series_color(i)));
        let dashed = with_class(&doc, "polyline", "frontier")[i]
            .attribute("stroke-dasharray")
            .is_some();
        assert_eq!(dashed, i >= 12, "series {i}");
    }
}

#[test]
fn absurd_values_and_sizes_do_not_panic() {
    for (x, y) in [
        (Axis::linear("x"), Axis::linear("y")),
        (Axis::log10("x"), Axis::log10("y")),
    ] {
        let mut chart = Chart::new("absurd", x, y);
        chart.width = 0;
        chart.height = 0;
        chart.series = vec![
            Series::new(
                "huge",
                vec![(f64::MAX, -f64::MAX), (-f64::MAX, f64::MAX)],
                vec![(f64::MAX, 1.0)],
            ),
            Series::new("tiny", vec![(1e-300, 1e-300), (5e-324, 1.0)], vec![]),
            Series::new("", vec![], vec![]),
        ];
        chart.x_markers = vec![(f64::NAN, "nan".into()), (-1.0, "negative".into())];
        let text = svg(&chart);
        parse(&text);
        assert!(text.starts_with("<svg") && text.contains("width=\"240\""));
    }
}

#[test]
fn write_picks_the_format_from_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let chart = sample();
    let svg_path = dir.path().join("chart.svg");
    write(&chart, &svg_path).unwrap();
    assert_eq!(std::fs::read_to_string(&svg_path).unwrap(), svg(&chart));
    let png_path = dir.path().join("chart.PNG");
    write(&chart, &png_path).unwrap();
    assert_eq!(
        &std::fs::read(&png_path).unwrap()[..8],
        b"\x89PNG\r\n\x1a\n"
    );

    let bad = dir.path().join("chart.jpg");
    let err = write(&chart, &bad).unwrap_err();
    assert!(matches!(err, ChartError::UnsupportedFormat { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("chart.jpg") && msg.contains(".svg or .png"),
        "{msg}"
    );
    assert!(!bad.exists());

    let missing = dir.path().join("no-such-dir").join("chart.svg");
    let msg = write(&chart, &missing).unwrap_err().to_string();
    assert!(msg.contains("no-such-dir"), "{msg}");
}
