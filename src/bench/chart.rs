//! The `--svg` chart: per program a group of bars, one per tier, each the mean time per
//! iteration with its 95% confidence interval as an error bar, on a logarithmic axis (so equal
//! ratios look equal whatever a program's size).

use super::Results;
use super::stats::Summary;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Bar colours, one per tier in order.
const COLOURS: [RGBColor; 6] = [
    RGBColor(70, 110, 170),
    RGBColor(220, 120, 40),
    RGBColor(80, 160, 90),
    RGBColor(180, 70, 70),
    RGBColor(130, 100, 170),
    RGBColor(120, 120, 120),
];

/// Writes the chart of `results` to `path`.
pub fn write_svg(results: &Results, path: &Path) -> Result<(), String> {
    let tiers = &results.tiers;
    let progs = &results.programs;
    if progs.is_empty() || tiers.is_empty() {
        return Err("nothing to chart".into());
    }
    // (program, tier) → (mean, ci) in milliseconds per iteration.
    let cell = |p: usize, t: &str| -> Option<(f64, f64)> {
        let s: Summary = progs[p].per_iteration(t)?;
        let ci = if s.ci95().is_nan() { 0.0 } else { s.ci95() };
        Some((s.mean * 1e3, ci * 1e3))
    };
    let mut lo = f64::INFINITY;
    let mut hi: f64 = 0.0;
    for p in 0..progs.len() {
        for t in tiers {
            if let Some((m, ci)) = cell(p, t) {
                lo = lo.min((m - ci).max(m / 10.0));
                hi = hi.max(m + ci);
            }
        }
    }
    if !(lo.is_finite() && hi > 0.0) {
        return Err("no samples to chart".into());
    }
    let (lo, hi) = (lo / 2.0, hi * 2.0);
    let group = tiers.len() as f64;
    let width = (160 + progs.len() as u32 * (tiers.len() as u32 * 26 + 34)).max(640);
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::new(path, (width, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "smalt bench: time per iteration (ms, log scale), mean and 95% CI",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..progs.len() as f64, (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(10)
            .light_line_style(WHITE)
            .y_desc("ms per iteration")
            .y_label_formatter(&|v| {
                if *v >= 100.0 {
                    format!("{v:.0}")
                } else if *v >= 1.0 {
                    format!("{v:.1}")
                } else {
                    format!("{v:.3}")
                }
            })
            .draw()?;
        let bar_w = 0.8 / group;
        for (t, tier) in tiers.iter().enumerate() {
            let colour = COLOURS[t % COLOURS.len()];
            let bars: Vec<_> = (0..progs.len())
                .filter_map(|p| {
                    let (m, _) = cell(p, tier)?;
                    let x0 = p as f64 + 0.1 + t as f64 * bar_w;
                    Some(Rectangle::new(
                        [(x0, lo), (x0 + bar_w * 0.92, m)],
                        colour.filled(),
                    ))
                })
                .collect();
            chart
                .draw_series(bars)?
                .label(tier.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
            let errors: Vec<_> = (0..progs.len())
                .filter_map(|p| {
                    let (m, ci) = cell(p, tier)?;
                    let x = p as f64 + 0.1 + (t as f64 + 0.46) * bar_w;
                    Some(ErrorBar::new_vertical(
                        x,
                        (m - ci).max(lo),
                        m,
                        m + ci,
                        BLACK.stroke_width(1),
                        6,
                    ))
                })
                .collect();
            chart.draw_series(errors)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        // The programs' names under their groups.
        for (p, prog) in progs.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(p as f64 + 0.5, lo));
            root.draw(&Text::new(
                prog.name.clone(),
                (x, y + 8),
                ("sans-serif", 13)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| format!("{}: cannot write the chart: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::super::{ProgramResult, Results};
    use super::*;

    #[test]
    fn the_chart_is_an_svg_with_a_bar_per_program_and_tier() {
        let prog = |name: &str, a: f64, b: f64| ProgramResult {
            name: name.into(),
            inner: 2,
            seconds: [
                ("interp".to_string(), vec![a, a * 1.02, a * 0.98]),
                ("jit".to_string(), vec![b, b * 1.05, b * 0.95]),
            ]
            .into_iter()
            .collect(),
            compiled: Default::default(),
        };
        let results = Results {
            smalt: "test".into(),
            tiers: vec!["interp".into(), "jit".into()],
            warmup: 1,
            runs: 3,
            clock: super::super::Clock::Wall,
            programs: vec![
                prog("Sieve", 0.02, 0.005),
                prog("Richards", 0.9, 0.2),
                prog("Towers", 0.002, 0.0021),
            ],
        };
        let path = std::env::temp_dir().join(format!("smalt-chart-{}.svg", std::process::id()));
        write_svg(&results, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for name in ["Sieve", "Richards", "Towers", "interp", "jit"] {
            assert!(svg.contains(name), "{name} is on the chart");
        }
        // the two legend swatches and 3 × 2 bars are filled with the tiers' colours
        let bars =
            svg.matches("fill=\"#466EAA\"").count() + svg.matches("fill=\"#DC7828\"").count();
        assert_eq!(bars, 8, "{svg}");
        let empty = Results {
            programs: vec![],
            ..results
        };
        assert!(write_svg(&empty, &path).is_err());
    }
}
