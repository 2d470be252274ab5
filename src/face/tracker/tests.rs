use super::*;

#[test]
fn similarity_recovers_shift_and_scale_despite_an_outlier() {
    let before: Vec<Point2f> = (0..12)
        .map(|i| Point2f::new((i % 4) as f32 * 10.0, (i / 4) as f32 * 10.0))
        .collect();
    let mut after: Vec<Point2f> = before
        .iter()
        .map(|p| Point2f::new(p.x * 1.1 + 5.0, p.y * 1.1 - 3.0))
        .collect();
    after[3] = Point2f::new(500.0, 500.0);
    let (dx, dy, scale) = similarity(&before, &after);
    assert!((scale - 1.1).abs() < 1e-3, "{scale}");
    // Median displacement of a scaled grid: the shift plus the scale's effect at the median point.
    assert!((dx - (5.0 + 0.1 * 15.0)).abs() < 1.0, "{dx}");
    assert!((dy - (-3.0 + 0.1 * 10.0)).abs() < 1.0, "{dy}");
}

#[test]
fn scene_cuts_are_new_pictures_not_brighter_ones() {
    let pattern: Vec<f32> = (0..768).map(|i| ((i * 37) % 200) as f32).collect();
    let brighter: Vec<f32> = pattern.iter().map(|v| v + 45.0).collect();
    let other: Vec<f32> = (0..768).map(|i| ((i * 91 + 50) % 255) as f32).collect();
    assert!(!is_scene_cut(&pattern, &pattern));
    assert!(
        !is_scene_cut(&pattern, &brighter),
        "an exposure change is no cut"
    );
    assert!(is_scene_cut(&pattern, &other));
    let plain = vec![128.0; 768];
    assert!(!is_scene_cut(&pattern, &plain), "a covered lens is no cut");
    assert!(!is_scene_cut(&plain, &other));
}

#[test]
fn state_names_round_trip() {
    for state in [
        TrackState::Detected,
        TrackState::Tracked,
        TrackState::Held,
        TrackState::Lost,
    ] {
        assert_eq!(TrackState::from_name(state.name()), Some(state));
    }
    assert!(!TrackState::Lost.has_face() && TrackState::Held.has_face());
}
