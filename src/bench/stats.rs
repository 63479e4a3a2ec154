//! The statistics of `smalt bench`: the mean of a tier's samples with its 95% confidence
//! interval (Student's t), the ratio of two means with its interval, and the geometric mean of
//! ratios.
//!
//! Intervals of ratios are taken on the logarithm (where a ratio is a difference), by the delta
//! method: the relative standard errors of the two means add in quadrature, and the degrees of
//! freedom come from the Welch–Satterthwaite formula. The half-width is shown as `±` around the
//! ratio, as hyperfine does.

/// The two-sided 95% quantile of Student's t distribution with `df` degrees of freedom.
pub fn t95(df: f64) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if df.is_nan() || df < 1.0 {
        return f64::NAN;
    }
    if df <= 30.0 {
        // Between table entries, interpolate (fractional df come from Welch's formula).
        let lo = df.floor() as usize;
        let hi = df.ceil() as usize;
        let f = df - df.floor();
        return TABLE[lo - 1] * (1.0 - f) + TABLE[hi - 1] * f;
    }
    // Beyond 30, t is close to linear in 1/df: 2.042 at 30, 1.960 at infinity.
    1.960 + (2.042 - 1.960) * 30.0 / df
}

/// Summary of one tier's samples of one program.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one sample).
    pub sd: f64,
}

impl Summary {
    /// The summary of `xs` (which must not be empty).
    pub fn of(xs: &[f64]) -> Summary {
        let n = xs.len();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Summary { n, mean, sd }
    }

    /// Standard error of the mean.
    pub fn se(&self) -> f64 {
        self.sd / (self.n as f64).sqrt()
    }

    /// Half-width of the 95% confidence interval of the mean (NaN for one sample).
    pub fn ci95(&self) -> f64 {
        t95((self.n as f64) - 1.0) * self.se()
    }

    /// Relative standard error (of the mean).
    fn rse(&self) -> f64 {
        self.se() / self.mean
    }
}

/// A ratio with the half-width of its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ratio {
    /// The ratio.
    pub value: f64,
    /// Half-width of its 95% interval (NaN when it cannot be told).
    pub ci: f64,
    /// Standard error of its logarithm.
    se_log: f64,
    /// Degrees of freedom of that error.
    df: f64,
}

impl Ratio {
    /// `a.mean / b.mean`: how many times faster `b` ran than `a` when they are times.
    pub fn of(a: &Summary, b: &Summary) -> Ratio {
        let value = a.mean / b.mean;
        let (va, vb) = (a.rse().powi(2), b.rse().powi(2));
        let se_log = (va + vb).sqrt();
        let df = welch_df(&[(va, a.n as f64 - 1.0), (vb, b.n as f64 - 1.0)]);
        Ratio::new(value, se_log, df)
    }

    fn new(value: f64, se_log: f64, df: f64) -> Ratio {
        Ratio {
            value,
            ci: value * t95(df) * se_log,
            se_log,
            df,
        }
    }

    /// Whether the interval contains 1 (the difference is within the noise).
    pub fn within_noise(&self) -> bool {
        // An interval that cannot be told (NaN) does not show a difference either.
        self.ci.is_nan() || self.ci >= (self.value - 1.0).abs()
    }

    /// The geometric mean of ratios, with its interval.
    pub fn geomean(ratios: &[Ratio]) -> Option<Ratio> {
        if ratios.is_empty() {
            return None;
        }
        let k = ratios.len() as f64;
        let value = (ratios.iter().map(|r| r.value.ln()).sum::<f64>() / k).exp();
        let parts: Vec<(f64, f64)> = ratios.iter().map(|r| (r.se_log.powi(2), r.df)).collect();
        let se_log = parts.iter().map(|(v, _)| v).sum::<f64>().sqrt() / k;
        Some(Ratio::new(value, se_log, welch_df(&parts)))
    }
}

/// Welch–Satterthwaite degrees of freedom of a sum of variances `(v, df)`.
fn welch_df(parts: &[(f64, f64)]) -> f64 {
    let num = parts.iter().map(|(v, _)| v).sum::<f64>().powi(2);
    let den: f64 = parts
        .iter()
        .filter(|(v, df)| *df > 0.0 && *v > 0.0)
        .map(|(v, df)| v * v / df)
        .sum();
    if den > 0.0 {
        num / den
    } else if parts.iter().all(|(_, df)| *df >= 1.0) {
        // No spread at all: the interval is zero whatever t is.
        parts.iter().map(|(_, df)| df).sum()
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        assert_eq!(t95(1.0), 12.706);
        assert_eq!(t95(9.0), 2.262);
        assert!(close(t95(9.5), (2.262 + 2.228) / 2.0, 1e-9));
        assert!(close(t95(60.0), 2.000, 0.002));
        assert!(close(t95(120.0), 1.980, 0.002));
        assert!(close(t95(1e9), 1.960, 1e-6));
        assert!(t95(0.0).is_nan());
    }

    #[test]
    fn a_mean_has_its_t_interval() {
        let s = Summary::of(&[10.0, 12.0, 11.0, 13.0, 9.0]);
        assert_eq!(s.mean, 11.0);
        assert!(close(s.sd, 1.5811, 1e-4));
        // t(4) = 2.776; se = 1.5811 / sqrt 5 = 0.7071
        assert!(close(s.ci95(), 2.776 * (2.5f64 / 5.0).sqrt(), 1e-3));
        assert!(Summary::of(&[3.0]).ci95().is_nan());
    }

    #[test]
    fn ratios_carry_both_errors() {
        let slow = Summary::of(&[4.0, 4.1, 3.9, 4.0]);
        let fast = Summary::of(&[1.0, 1.02, 0.98, 1.0]);
        let r = Ratio::of(&slow, &fast);
        assert!(close(r.value, 4.0, 1e-9));
        assert!(r.ci > 0.0 && r.ci < 0.2, "{r:?}");
        assert!(!r.within_noise());
        let same = Ratio::of(&slow, &Summary::of(&[4.05, 3.95, 4.1, 3.9]));
        assert!(same.within_noise(), "{same:?}");
    }

    #[test]
    fn the_geomean_of_ratios() {
        let a = Summary::of(&[2.0, 2.0, 2.0]);
        let b = Summary::of(&[1.0, 1.0, 1.0]);
        let c = Summary::of(&[8.0, 8.0, 8.0]);
        let g = Ratio::geomean(&[Ratio::of(&a, &b), Ratio::of(&c, &b)]).unwrap();
        assert!(close(g.value, 4.0, 1e-9));
        assert_eq!(g.ci, 0.0);
        assert!(Ratio::geomean(&[]).is_none());
    }
}
