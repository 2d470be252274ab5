//! The warp's pose: everything that says how one picture of the portrait looks (the head's
//! transform, its turn in depth, the features' motion, the breath), and the gains a user sets
//! on each channel of it.

use super::features::{FeatureMotion, Turn};
use crate::motion::Similarity;

/// How the warp shows the portrait in one picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarpPose {
    /// Portrait pixels to output pixels: roll, zoom and position.
    pub head: Similarity,
    pub turn: Turn,
    pub motion: FeatureMotion,
    /// How far the chest is raised now, in fractions of the picture's height (the head rises
    /// with it, less).
    pub breath: f32,
}

impl WarpPose {
    /// The portrait as it is: `head` (the identity on its landmarks), nothing else moved.
    pub fn rest(head: Similarity) -> WarpPose {
        WarpPose {
            head,
            turn: Turn::default(),
            motion: FeatureMotion::default(),
            breath: 0.0,
        }
    }

    /// `self` at `weight` 0, `other` at 1.
    pub fn towards(&self, other: &WarpPose, weight: f32) -> WarpPose {
        WarpPose {
            head: self.head.towards(&other.head, weight),
            turn: self.turn.towards(&other.turn, weight),
            motion: self.motion.towards(&other.motion, weight),
            breath: self.breath + (other.breath - self.breath) * weight,
        }
    }
}

/// How strongly each channel of the driver's motion moves the portrait: 1 as measured, 0 not at
/// all, 2 twice as far (each channel still within its limits).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelGains {
    /// Roll, zoom and position of the head.
    pub head: f32,
    /// The head's turn in depth (yaw and pitch).
    pub turn: f32,
    pub gaze: f32,
    pub brows: f32,
    /// The lids closing.
    pub blink: f32,
    /// The mouth opening and widening.
    pub mouth: f32,
    /// The mouth's corners rising and falling.
    pub smile: f32,
    /// The chest's rise and fall.
    pub breathing: f32,
}

impl Default for ChannelGains {
    fn default() -> Self {
        ChannelGains {
            head: 1.0,
            turn: 1.0,
            gaze: 1.0,
            brows: 1.0,
            blink: 1.0,
            mouth: 1.0,
            smile: 1.0,
            breathing: 1.0,
        }
    }
}

/// The largest gain a channel takes.
pub const MAX_GAIN: f32 = 3.0;

impl ChannelGains {
    /// The channels by name (as the element's `NAME-gain` properties and the CLI's `--expression
    /// NAME=VALUE` spell them), each with what it moves.
    pub const CHANNELS: [(&'static str, &'static str); 8] = [
        ("head", "roll, zoom and position of the head"),
        ("turn", "the head turning left/right and nodding, in depth"),
        ("gaze", "the irises looking around inside the eyes"),
        ("brow", "the brows rising and falling"),
        ("blink", "the lids closing"),
        ("mouth", "the mouth opening and widening"),
        (
            "smile",
            "the mouth's corners rising (smile) and falling (frown)",
        ),
        ("breathing", "the chest's slow rise and fall"),
    ];

    /// The gain of the channel `name`, if there is one of that name.
    pub fn get(&self, name: &str) -> Option<f32> {
        let mut gains = *self;
        gains.slot(name).map(|slot| *slot)
    }

    /// Sets the gain of the channel `name`; `false` when there is no channel of that name.
    pub fn set(&mut self, name: &str, gain: f32) -> bool {
        match self.slot(name) {
            Some(slot) => {
                *slot = gain.clamp(0.0, MAX_GAIN);
                true
            }
            None => false,
        }
    }

    fn slot(&mut self, name: &str) -> Option<&mut f32> {
        Some(match name {
            "head" => &mut self.head,
            "turn" => &mut self.turn,
            "gaze" => &mut self.gaze,
            "brow" => &mut self.brows,
            "blink" => &mut self.blink,
            "mouth" => &mut self.mouth,
            "smile" => &mut self.smile,
            "breathing" => &mut self.breathing,
            _ => return None,
        })
    }

    /// The head's motion from `rest` to `head`, scaled by the head's gain (before its limits
    /// bound it, as the turn's gain goes into [`super::HeadLimits::turn`]).
    pub fn scaled_head(&self, rest: &Similarity, head: &Similarity) -> Similarity {
        rest.towards(head, self.head)
    }

    /// `pose` (as the driver's motion gives it) with the features' and the breath's channels
    /// scaled. The head and the turn keep theirs: their gains apply before their limits
    /// ([`ChannelGains::scaled_head`], [`super::HeadLimits::turn`]).
    pub fn applied(&self, pose: &WarpPose) -> WarpPose {
        let motion = &pose.motion;
        WarpPose {
            motion: FeatureMotion {
                right_eye_closure: motion.right_eye_closure * self.blink,
                left_eye_closure: motion.left_eye_closure * self.blink,
                mouth_opening: motion.mouth_opening * self.mouth,
                mouth_widening: motion.mouth_widening * self.mouth,
                mouth_form: motion.mouth_form * self.smile,
                right_brow: motion.right_brow * self.brows,
                left_brow: motion.left_brow * self.brows,
                gaze: [motion.gaze[0] * self.gaze, motion.gaze[1] * self.gaze],
            },
            breath: pose.breath * self.breathing,
            ..*pose
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gain_of_zero_stops_its_channel_and_names_are_checked() {
        let mut gains = ChannelGains::default();
        assert!(gains.set("smile", 0.0));
        assert!(gains.set("gaze", 9.0));
        assert!(!gains.set("ears", 1.0));
        assert_eq!(gains.get("gaze"), Some(MAX_GAIN));
        let rest = Similarity::new([0.0, 0.0], [0.0, 0.0], 1.0, 0.0);
        let pose = WarpPose {
            head: Similarity::new([0.0, 0.0], [10.0, 0.0], 1.2, 0.1),
            turn: Turn {
                yaw: 0.2,
                pitch: 0.0,
            },
            motion: FeatureMotion {
                mouth_form: 1.0,
                gaze: [0.2, 0.0],
                ..FeatureMotion::default()
            },
            breath: 0.01,
        };
        gains.set("turn", 2.0);
        let scaled = gains.applied(&pose);
        assert_eq!(scaled.motion.mouth_form, 0.0);
        assert!((scaled.motion.gaze[0] - 0.6).abs() < 1e-6);
        // The head's and the turn's gains went in before their limits: not again here.
        assert_eq!((scaled.head, scaled.turn), (pose.head, pose.turn));
        assert_eq!(gains.scaled_head(&rest, &pose.head), pose.head);
        gains.set("head", 0.0);
        assert_eq!(gains.scaled_head(&rest, &pose.head), rest);
    }
}
