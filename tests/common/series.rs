//! Measures of series the library's and the element tests share. Only std, so that the element
//! tests' commons include it too (`#[path]`: the two test crates share no module otherwise).

/// Pearson's correlation of two series of one length.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let covariance: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let spread = |v: &[f64], m: f64| v.iter().map(|x| (x - m).powi(2)).sum::<f64>().sqrt();
    covariance / (spread(a, ma) * spread(b, mb)).max(1e-12)
}
