//! Whether the tracked face is a human one: evidence from the face mesh's face flag gathered
//! over a few frames. The flag alone flickers: on Big Buck Bunny it is under 0.2 on most frames
//! but rises to 0.8 - 0.99 for runs of up to six frames, while on a real face it stays at 1.0.

/// Evidence a new face starts with: undecided.
const PRIOR: f32 = 0.5;
/// How fast the evidence follows the flag: its time constant, in seconds (at 30 fps each frame
/// moves it 40% of the way to the frame's flag).
const TIME_CONSTANT_S: f32 = 0.065;
/// A face becomes human when the evidence reaches this (four frames of a real face at 30 fps:
/// 0.70, 0.82, 0.89, 0.94; the bunny's highest was 0.87)...
const ACCEPT: f32 = 0.92;
/// ...and stays human until it falls under this (a real face turning away or half covered dips
/// for a moment without the avatar dropping it).
const REFUSE: f32 = 0.3;

/// The evidence that one track's face is human.
#[derive(Debug, Clone)]
pub(super) struct HumanEvidence {
    evidence: f32,
    human: bool,
    last_time: Option<f64>,
}

impl Default for HumanEvidence {
    fn default() -> Self {
        HumanEvidence {
            evidence: PRIOR,
            human: false,
            last_time: None,
        }
    }
}

impl HumanEvidence {
    /// Whether the face counts as human now.
    pub(super) fn is_human(&self) -> bool {
        self.human
    }

    /// Takes the mesh's face flag (a probability) on the frame at `time` (seconds); returns
    /// whether the face counts as human now.
    pub(super) fn observe(&mut self, flag: f32, time: f64) -> bool {
        let elapsed = match self.last_time {
            Some(last) if time > last => (time - last) as f32,
            _ => 1.0 / 30.0,
        };
        self.last_time = Some(time);
        let rate = 1.0 - (-elapsed / TIME_CONSTANT_S).exp();
        self.evidence += rate * (flag.clamp(0.0, 1.0) - self.evidence);
        self.human = if self.human {
            self.evidence >= REFUSE
        } else {
            self.evidence >= ACCEPT
        };
        self.human
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(flags: &[f32]) -> Vec<bool> {
        let mut evidence = HumanEvidence::default();
        flags
            .iter()
            .enumerate()
            .map(|(frame, &flag)| evidence.observe(flag, frame as f64 / 30.0))
            .collect()
    }

    #[test]
    fn a_real_face_is_human_within_150_ms_and_stays_so_through_a_dip() {
        let decided = run(&[1.0; 10]);
        let first = decided.iter().position(|&human| human).unwrap();
        assert!(first <= 4, "human only from frame {first}");
        // A moment half covered: the flag drops for three frames.
        let mut flags = vec![1.0; 10];
        flags.extend([0.3, 0.2, 0.4]);
        flags.extend([1.0; 5]);
        assert!(run(&flags)[first..].iter().all(|&human| human));
        // Gone for good: refused within a few frames.
        let mut flags = vec![1.0; 10];
        flags.extend([0.0; 10]);
        let decided = run(&flags);
        assert!(!decided[13..].iter().any(|&human| human), "{decided:?}");
    }

    #[test]
    fn short_runs_of_a_high_flag_on_an_animal_are_not_enough() {
        // The face flag the mesh gave on Big Buck Bunny's frames 0 to 31 (measured, rounded):
        // its two runs of high values.
        let bunny = [
            0.03, 0.06, 0.01, 0.01, 0.01, 0.01, 0.83, 0.86, 0.82, 0.82, 0.89, 0.56, 0.03, 0.04,
            0.07, 0.48, 0.05, 0.11, 0.03, 0.36, 0.78, 0.23, 0.30, 0.36, 0.37, 0.15, 0.97, 0.99,
            0.96, 0.94, 0.78, 0.07,
        ];
        assert!(run(&bunny).iter().all(|&human| !human));
    }

    #[test]
    fn the_rate_is_in_seconds_not_frames() {
        // At 15 fps a real face is accepted in about the same time as at 30.
        let mut evidence = HumanEvidence::default();
        let first = (0..10)
            .position(|frame| evidence.observe(1.0, frame as f64 / 15.0))
            .unwrap();
        assert!(first <= 2, "human only from frame {first} at 15 fps");
    }
}
