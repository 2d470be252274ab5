//! The One Euro filter (Casiez, Roussel and Vogel, CHI 2012): a low-pass filter whose cutoff
//! rises with speed, so a still face stays still and a moving face does not lag.

/// Parameters of [`OneEuroFilter`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneEuroParams {
    /// Cutoff (Hz) when the value does not move: lower means steadier and more lag.
    pub min_cutoff: f32,
    /// How fast the cutoff grows with speed (per unit of the value per second).
    pub beta: f32,
    /// Cutoff (Hz) of the speed estimate.
    pub derivative_cutoff: f32,
}

impl Default for OneEuroParams {
    fn default() -> Self {
        OneEuroParams {
            min_cutoff: 0.5,
            beta: 0.05,
            derivative_cutoff: 1.0,
        }
    }
}

fn smoothing_factor(cutoff: f32, elapsed: f32) -> f32 {
    let tau = 1.0 / (2.0 * std::f32::consts::PI * cutoff);
    1.0 / (1.0 + tau / elapsed)
}

/// Filters one scalar signal sampled at (possibly irregular) times.
#[derive(Debug, Clone)]
pub struct OneEuroFilter {
    params: OneEuroParams,
    last: Option<(f64, f32, f32)>, // time, filtered value, filtered speed
}

impl OneEuroFilter {
    pub fn new(params: OneEuroParams) -> Self {
        OneEuroFilter { params, last: None }
    }

    pub fn set_params(&mut self, params: OneEuroParams) {
        self.params = params;
    }

    /// Forgets the past: the next value passes unfiltered.
    pub fn reset(&mut self) {
        self.last = None;
    }

    /// The filtered value for a sample taken at `time` seconds.
    pub fn filter(&mut self, value: f32, time: f64) -> f32 {
        let Some((last_time, last_value, last_speed)) = self.last else {
            self.last = Some((time, value, 0.0));
            return value;
        };
        // Equal or backwards timestamps (a repeated buffer) would divide by zero: take one frame
        // at 30 fps, the common case, rather than dropping the sample.
        let elapsed = if time > last_time {
            (time - last_time) as f32
        } else {
            1.0 / 30.0
        };
        let speed = (value - last_value) / elapsed;
        let alpha_speed = smoothing_factor(self.params.derivative_cutoff, elapsed);
        let speed = last_speed + alpha_speed * (speed - last_speed);
        let cutoff = self.params.min_cutoff + self.params.beta * speed.abs();
        let alpha = smoothing_factor(cutoff, elapsed);
        let filtered = last_value + alpha * (value - last_value);
        self.last = Some((time.max(last_time), filtered, speed));
        filtered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_passes_unchanged() {
        let mut filter = OneEuroFilter::new(OneEuroParams::default());
        for frame in 0..50 {
            assert_eq!(filter.filter(42.0, frame as f64 / 30.0), 42.0);
        }
    }

    #[test]
    fn noise_on_a_still_value_shrinks() {
        let mut filter = OneEuroFilter::new(OneEuroParams::default());
        // Alternating +-2 around 100: a detector's jitter at its worst.
        let outputs: Vec<f32> = (0..300)
            .map(|frame| {
                let noise = if frame % 2 == 0 { 2.0 } else { -2.0 };
                filter.filter(100.0 + noise, frame as f64 / 30.0)
            })
            .collect();
        let tail = &outputs[100..];
        let spread = tail.iter().fold(0.0f32, |m, v| m.max((v - 100.0).abs()));
        assert!(spread < 0.3, "still jitters by {spread}");
    }

    #[test]
    fn a_fast_move_is_followed_without_long_lag() {
        let mut filter = OneEuroFilter::new(OneEuroParams::default());
        // A head moving at 300 px/s for one second.
        let mut last = 0.0;
        for frame in 0..=30 {
            let t = frame as f64 / 30.0;
            last = filter.filter(300.0 * t as f32, t);
        }
        assert!(last > 270.0, "lags by {} px", 300.0 - last);
    }

    #[test]
    fn repeated_timestamps_do_not_break_the_filter() {
        let mut filter = OneEuroFilter::new(OneEuroParams::default());
        filter.filter(1.0, 0.5);
        let value = filter.filter(2.0, 0.5);
        assert!(value.is_finite() && value > 1.0 && value < 2.0);
    }
}
