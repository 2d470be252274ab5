//! Portraits as people have them: a phone JPEG stored sideways with an EXIF orientation is used
//! upright, and a crop that cannot frame anything is an error naming the value.

mod common;

use std::path::PathBuf;

use animecam::image::read_image;
use animecam::portrait::{FaceSearch, Portrait, PortraitCrop};
use common::media;
use opencv::core::{Mat, Vector};
use opencv::prelude::*;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("animecam-portrait-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// An EXIF APP1 segment holding only the orientation tag (big-endian TIFF).
fn exif_orientation(orientation: u8) -> Vec<u8> {
    let mut body = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    body.extend_from_slice(&[0, 1]); // one entry
    body.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0]);
    body.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    segment.extend(body);
    segment
}

#[test]
fn an_exif_rotated_jpeg_is_used_upright() {
    let upright = read_image(&media("astronaut.png")).unwrap();
    // As a phone stores a picture taken held sideways: the pixels turned a quarter
    // counter-clockwise, and orientation 6 ("turn clockwise to show").
    let bgr = opencv::imgcodecs::imread(
        media("astronaut.png").to_str().unwrap(),
        opencv::imgcodecs::IMREAD_COLOR,
    )
    .unwrap();
    let mut sideways = Mat::default();
    opencv::core::rotate(
        &bgr,
        &mut sideways,
        opencv::core::ROTATE_90_COUNTERCLOCKWISE,
    )
    .unwrap();
    let mut jpeg = Vector::<u8>::new();
    let quality = Vector::from_slice(&[opencv::imgcodecs::IMWRITE_JPEG_QUALITY, 95]);
    opencv::imgcodecs::imencode(".jpg", &sideways, &mut jpeg, &quality).unwrap();
    let jpeg = jpeg.to_vec();
    let mut file = jpeg[..2].to_vec();
    file.extend(exif_orientation(6));
    file.extend_from_slice(&jpeg[2..]);
    let path = temp("phone photo.jpg");
    std::fs::write(&path, file).unwrap();

    let read = read_image(&path).unwrap();
    assert_eq!(
        (read.width(), read.height()),
        (upright.width(), upright.height())
    );
    let difference = read
        .data()
        .iter()
        .zip(upright.data())
        .map(|(a, b)| a.abs_diff(*b) as f64)
        .sum::<f64>()
        / read.data().len() as f64;
    assert!(
        difference < 6.0,
        "not upright: mean difference {difference:.1}"
    );

    let portrait = Portrait::load(&path, None, 0.4).unwrap();
    let FaceSearch::Found(face) = &portrait.face else {
        panic!("no face found in the upright photo: {:?}", portrait.face);
    };
    // The astronaut's face is in the upper middle of the upright photo.
    let (x, y) = face.face.center();
    assert!(
        (150.0..350.0).contains(&x) && (50.0..250.0).contains(&y),
        "{x}, {y}"
    );
}

#[test]
fn crops_that_frame_nothing_are_errors_naming_the_value() {
    let path = media("sylvie_green_normal.png");
    let image = read_image(&path).unwrap();
    for crop in [
        "NaN,0,100",
        "0,0,inf",
        "0,0,0",
        "5000,5000,100",
        "-300,10,100",
    ] {
        let error = crop
            .parse::<PortraitCrop>()
            .and_then(|crop| Portrait::load(&path, Some(crop), 0.4))
            .unwrap_err()
            .to_string();
        assert!(error.contains(crop), "{crop}: {error}");
    }
    let outside = Portrait::load(&path, Some("5000,5000,100".parse().unwrap()), 0.4)
        .unwrap_err()
        .to_string();
    assert!(
        outside.contains(&format!("{}x{}", image.width(), image.height())),
        "{outside}"
    );
    assert!(Portrait::load(&path, Some("10,10,100".parse().unwrap()), 0.4).is_ok());
}

/// A 20000 x 20000 PNG of about 400 kB (tests/data/huge_png.py).
fn huge_png(path: &std::path::Path) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/huge_png.py");
    let status = std::process::Command::new("python3")
        .arg(script)
        .arg(path)
        .status()
        .expect("python3 runs");
    assert!(status.success());
}

#[test]
fn a_huge_portrait_is_refused_from_its_header_with_its_size_and_the_limit() {
    let png = temp("huge.png");
    huge_png(&png);
    assert!(std::fs::metadata(&png).unwrap().len() < 2_000_000);
    let started = std::time::Instant::now();
    let error = Portrait::load(&png, None, 0.0).map(|_| ()).unwrap_err();
    // Decoding it took 33 s and 2.5 GB; the header is read in no time.
    assert!(
        started.elapsed().as_secs_f32() < 1.0,
        "{:?}",
        started.elapsed()
    );
    let text = error.to_string();
    assert!(text.contains("20000 x 20000"), "{text}");
    assert!(
        text.contains(&animecam::portrait::MAX_PORTRAIT_PIXELS.to_string()),
        "{text}"
    );
    assert!(text.contains("scale it down"), "{text}");

    // A JPEG's size is read from its start of frame, past the segments before it.
    let mut jpeg = vec![0xFF, 0xD8];
    jpeg.extend(exif_orientation(1));
    jpeg.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
    jpeg.extend_from_slice(&20_000u16.to_be_bytes());
    jpeg.extend_from_slice(&30_000u16.to_be_bytes());
    jpeg.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
    let big_jpeg = temp("huge.jpg");
    std::fs::write(&big_jpeg, jpeg).unwrap();
    let text = Portrait::load(&big_jpeg, None, 0.0)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(text.contains("30000 x 20000"), "{text}");
    // Stray bytes between segments, which libjpeg skips as it decodes: the size is still found.
    let mut stray = std::fs::read(&big_jpeg).unwrap();
    stray.splice(2..2, [0x00, 0x13, 0x37]);
    let stray_jpeg = temp("huge-stray.jpg");
    std::fs::write(&stray_jpeg, stray).unwrap();
    let text = Portrait::load(&stray_jpeg, None, 0.0)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(text.contains("30000 x 20000"), "{text}");

    // A format whose size no header here declares is refused before OpenCV decodes it (it
    // decodes a huge BMP as readily): a 20000 x 20000 BMP's header, nothing behind it.
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&[0u8; 12]);
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&20_000i32.to_le_bytes());
    bmp.extend_from_slice(&20_000i32.to_le_bytes());
    bmp.extend_from_slice(&[1, 0, 24, 0]);
    bmp.extend_from_slice(&[0u8; 24]);
    let big_bmp = temp("huge.bmp");
    std::fs::write(&big_bmp, bmp).unwrap();
    let text = Portrait::load(&big_bmp, None, 0.0)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(text.contains("expected a PNG or JPEG"), "{text}");

    // A FIFO with no writer: refused at once, not waited on (opening it would block for ever).
    let fifo = temp("portrait.fifo");
    let _ = std::fs::remove_file(&fifo);
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let started = std::time::Instant::now();
    assert!(Portrait::load(&fifo, None, 0.0).is_err());
    assert!(started.elapsed().as_secs_f32() < 1.0);
    std::fs::remove_file(&fifo).unwrap();

    // Real files: the declared size is the decoded one, and they load.
    for name in ["grace_hopper.jpg", "sylvie_green_normal.png"] {
        let path = media(name);
        let image = read_image(&path).unwrap();
        assert_eq!(
            animecam::image::declared_size(&path).unwrap(),
            Some((image.width(), image.height())),
            "{name}"
        );
    }
}
