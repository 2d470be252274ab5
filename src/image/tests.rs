use super::*;

/// A BGRx frame whose pixel (x, y) is (r, g, b) = (10x + y, 100 + x, 200 - y), with `pad`
/// junk bytes after each row.
fn bgrx_frame(width: usize, height: usize, pad: usize) -> (Vec<u8>, usize) {
    let stride = width * 4 + pad;
    let mut data = vec![0xEE; stride * height];
    for y in 0..height {
        for x in 0..width {
            let base = y * stride + x * 4;
            data[base..base + 4].copy_from_slice(&[
                (200 - y) as u8,
                (100 + x) as u8,
                (10 * x + y) as u8,
                0,
            ]);
        }
    }
    (data, stride)
}

fn expected(x: usize, y: usize) -> [u8; 3] {
    [(10 * x + y) as u8, (100 + x) as u8, (200 - y) as u8]
}

#[test]
fn views_check_strides_and_sizes() {
    let data = vec![0u8; 30];
    assert!(ImageView::new(&data, 3, 3, 13, PixelFormat::Rgbx).is_err());
    assert_eq!(
        ImageView::new(&data, 2, 2, 7, PixelFormat::Rgbx).unwrap_err(),
        ImageError::StrideTooSmall {
            stride: 7,
            width: 2,
            format: PixelFormat::Rgbx
        }
    );
    // The last row needs no padding after it.
    assert!(ImageView::new(&data, 3, 3, 10, PixelFormat::Rgb).is_ok());
    let error = ImageView::new(&data, 3, 3, 11, PixelFormat::Rgb).unwrap_err();
    assert!(error.to_string().contains("needs 31"), "{error}");
}

#[test]
fn crop_inside_an_odd_stride_frame_is_exact() {
    let (data, stride) = bgrx_frame(7, 5, 3);
    let view = ImageView::new(&data, 7, 5, stride, PixelFormat::Bgrx).unwrap();
    // A 3x3 square whose corner is pixel (2, 1), at scale 1: integer positions, no blending.
    let crop = SquareCrop {
        center_x: 3.5,
        center_y: 2.5,
        side: 3.0,
    };
    let image = crop_square(&view, crop, 3).unwrap();
    for y in 0..3 {
        for x in 0..3 {
            assert_eq!(image.rgb(x, y), expected(x + 2, y + 1), "at ({x}, {y})");
        }
    }
}

#[test]
fn crop_leaving_the_frame_pads_with_black() {
    let (data, stride) = bgrx_frame(4, 3, 4);
    let view = ImageView::new(&data, 4, 3, stride, PixelFormat::Bgrx).unwrap();
    // Covers x in [-2, 2), y in [-1, 3): two columns and one row outside.
    let crop = SquareCrop {
        center_x: 0.0,
        center_y: 1.0,
        side: 4.0,
    };
    let image = crop_square(&view, crop, 4).unwrap();
    for y in 0..4 {
        for x in 0..4 {
            let inside = x >= 2 && y >= 1;
            let want = if inside {
                expected(x - 2, y - 1)
            } else {
                [0, 0, 0]
            };
            assert_eq!(image.rgb(x, y), want, "at ({x}, {y})");
        }
    }
}

#[test]
fn large_shrinks_average_areas_and_pad_outside() {
    // 8x8 RGB frame of 4x4 blocks: 0, 40 / 80, 120 (grey). A letterbox of 8x4 content.
    let mut data = vec![0u8; 8 * 4 * 3];
    for y in 0..4 {
        for x in 0..8 {
            let value = if x < 4 { 40 } else { 120 };
            data[(y * 8 + x) * 3..][..3].fill(value);
        }
    }
    let view = ImageView::new(&data, 8, 4, 24, PixelFormat::Rgb).unwrap();
    let image = crop_square(&view, SquareCrop::letterbox(8, 4), 2).unwrap();
    // The letterbox is 8x8 with the content in rows [2, 6); each output pixel averages a 4x4
    // block that is half padding (0) and half content.
    assert_eq!(image.rgb(0, 0), [20, 20, 20]);
    assert_eq!(image.rgb(1, 0), [60, 60, 60]);
    assert_eq!(image.rgb(0, 1), [20, 20, 20]);
    assert_eq!(image.rgb(1, 1), [60, 60, 60]);
}

#[test]
fn crops_many_frames_wide_keep_the_frame_in_its_place() {
    // A 4x4 white frame in a 64-pixel crop centred on it, shrunk to 16: the frame becomes one
    // pixel in the middle (it spans output pixels 7.5 to 8.5, rounded to whole pixels).
    let data = vec![255u8; 4 * 4 * 3];
    let view = ImageView::new(&data, 4, 4, 12, PixelFormat::Rgb).unwrap();
    let crop = SquareCrop {
        center_x: 2.0,
        center_y: 2.0,
        side: 64.0,
    };
    let image = crop_square(&view, crop, 16).unwrap();
    assert_eq!(image.rgb(8, 8), [255, 255, 255]);
    assert_eq!(image.rgb(7, 8), [0, 0, 0]);
    assert_eq!(image.rgb(8, 9), [0, 0, 0]);
    assert_eq!(image.rgb(0, 0), [0, 0, 0]);
}

#[test]
fn crop_entirely_outside_is_black() {
    let (data, stride) = bgrx_frame(4, 4, 0);
    let view = ImageView::new(&data, 4, 4, stride, PixelFormat::Bgrx).unwrap();
    for side in [2.0, 40.0] {
        let crop = SquareCrop {
            center_x: -100.0,
            center_y: 2.0,
            side,
        };
        let image = crop_square(&view, crop, 2).unwrap();
        assert!(image.data().iter().all(|&v| v == 0));
    }
}

#[test]
fn writing_back_converts_format_and_keeps_row_padding() {
    let image = RgbImage::new(2, 2, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]).unwrap();
    let stride = 2 * 4 + 3;
    let mut data = vec![0xEE; stride * 2];
    let mut frame = ImageViewMut::new(&mut data, 2, 2, stride, PixelFormat::Bgra).unwrap();
    frame.write_rgb(&image).unwrap();
    assert_eq!(RgbImage::from_view(&frame.as_view()), image);
    assert_eq!(&data[..8], &[3, 2, 1, 255, 6, 5, 4, 255]);
    assert_eq!(&data[8..11], &[0xEE; 3], "row padding untouched");
    let mut small = vec![0u8; 3];
    let mut one = ImageViewMut::new(&mut small, 1, 1, 3, PixelFormat::Rgb).unwrap();
    assert!(one.write_rgb(&image).is_err());
}

#[test]
fn resizing_averages_when_shrinking() {
    let image = RgbImage::new(
        2,
        2,
        vec![0, 0, 0, 100, 100, 100, 200, 200, 200, 40, 40, 40],
    )
    .unwrap();
    let small = image.resized(1, 1).unwrap();
    assert_eq!(small.rgb(0, 0), [85, 85, 85]);
    assert_eq!(image.resized(2, 2).unwrap(), image);
}
