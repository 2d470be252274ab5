//! Boxes and the crop-box rule shared by every element that crops a face.

/// An axis-aligned rectangle: pixels, or fractions of the frame when normalised.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl Rect {
    pub fn from_center(center_x: f32, center_y: f32, width: f32, height: f32) -> Rect {
        Rect {
            x: center_x - width / 2.0,
            y: center_y - height / 2.0,
            width,
            height,
        }
    }

    pub fn center(&self) -> (f32, f32) {
        (self.x + self.width / 2.0, self.y + self.height / 2.0)
    }

    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    /// Intersection over union, 0 for disjoint or empty boxes.
    pub fn iou(&self, other: &Rect) -> f32 {
        let left = self.x.max(other.x);
        let top = self.y.max(other.y);
        let right = (self.x + self.width).min(other.x + other.width);
        let bottom = (self.y + self.height).min(other.y + other.height);
        let inner = (right - left).max(0.0) * (bottom - top).max(0.0);
        let union = self.area() + other.area() - inner;
        if union > 0.0 {
            inner / union
        } else {
            0.0
        }
    }

    /// This pixel rectangle as fractions of a `width` x `height` frame.
    pub fn normalized(&self, width: usize, height: usize) -> Rect {
        let (w, h) = (width as f32, height as f32);
        Rect {
            x: self.x / w,
            y: self.y / h,
            width: self.width / w,
            height: self.height / h,
        }
    }

    /// This normalised rectangle in pixels of a `width` x `height` frame.
    pub fn to_pixels(&self, width: usize, height: usize) -> Rect {
        let (w, h) = (width as f32, height as f32);
        Rect {
            x: self.x * w,
            y: self.y * h,
            width: self.width * w,
            height: self.height * h,
        }
    }
}

/// The square crop the animation and stylization models take around a face (pixels): centred on
/// the face, its side the face's larger side plus `margin` of it on each side. FOMM's training
/// crops (VoxCeleb) show the whole head and some shoulders, which a margin near 0.4 gives for
/// BlazeFace's tight eyebrow-to-chin boxes.
pub fn crop_box(face: &Rect, margin: f32) -> Rect {
    let (center_x, center_y) = face.center();
    let side = face.width.max(face.height) * (1.0 + 2.0 * margin.max(0.0));
    Rect::from_center(center_x, center_y, side, side)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_shifted_and_disjoint_boxes() {
        let a = Rect {
            x: 0.0,
            y: 0.0,
            width: 10.0,
            height: 10.0,
        };
        let half = Rect { x: 5.0, ..a };
        assert!((a.iou(&half) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&Rect { x: 20.0, ..a }), 0.0);
        assert_eq!(Rect::default().iou(&Rect::default()), 0.0);
    }

    #[test]
    fn crop_is_a_square_around_the_face_centre() {
        let face = Rect {
            x: 100.0,
            y: 50.0,
            width: 80.0,
            height: 100.0,
        };
        let crop = crop_box(&face, 0.4);
        assert_eq!(crop.center(), face.center());
        assert!((crop.width - 180.0).abs() < 1e-4 && crop.width == crop.height);
        let normalized = face.normalized(640, 480);
        assert_eq!(normalized.to_pixels(640, 480), face);
        assert!((normalized.x - 100.0 / 640.0).abs() < 1e-7);
    }
}
