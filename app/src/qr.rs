//! Reading the enrolment QR code (issue 10, item 3) in Rust: the webview hands over a
//! greyscale frame from the camera or a chosen photo ([`crate::platform::camera`]), `rqrr`
//! finds and decodes the codes in it, and [`EnrolInvite::parse`] checks that one is an
//! Avondronde enrolment code. The pixels never leave the phone.

use avondronde_shared::enrolment::{EnrolInvite, InviteError};
use base64::Engine as _;

/// The largest frame accepted (pixels), so a hostile or broken page cannot make the app
/// allocate without bound: 2048 × 2048.
pub const MAX_PIXELS: usize = 2048 * 2048;

/// Why no enrolment code came out of an image (Dutch, for the enrol screen).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// No QR code in the image.
    #[error("Geen QR-code gevonden; houd de code recht en scherp in beeld.")]
    NoCode,
    /// A QR code was found but could not be read.
    #[error("De QR-code is niet te lezen; probeer het opnieuw of typ de code over.")]
    Unreadable,
    /// A QR code, but not Avondronde's (or damaged).
    #[error("{0}")]
    Invite(#[from] InviteError),
    /// The image's size does not match its pixels, or it is too large.
    #[error("Dit beeld is niet te gebruiken; probeer het opnieuw.")]
    BadImage,
}

/// The texts of every QR code found in a greyscale image (`width × height` bytes, row by
/// row).
pub fn decode_luma(width: usize, height: usize, luma: &[u8]) -> Result<Vec<String>, ScanError> {
    let expected = width.checked_mul(height).ok_or(ScanError::BadImage)?;
    if width == 0 || height == 0 || expected > MAX_PIXELS || luma.len() != expected {
        return Err(ScanError::BadImage);
    }
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * width + x]);
    let grids = img.detect_grids();
    if grids.is_empty() {
        return Err(ScanError::NoCode);
    }
    let texts: Vec<String> = grids
        .iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect();
    if texts.is_empty() {
        return Err(ScanError::Unreadable);
    }
    Ok(texts)
}

/// The enrolment invite in a greyscale image: the first code that parses as one. Another
/// kind of QR code is [`InviteError::NotAnInvite`].
pub fn invite_in_luma(width: usize, height: usize, luma: &[u8]) -> Result<EnrolInvite, ScanError> {
    let texts = decode_luma(width, height, luma)?;
    let mut first_error = None;
    for text in &texts {
        match EnrolInvite::parse(text) {
            Ok(invite) => return Ok(invite),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.map_or(ScanError::NoCode, ScanError::Invite))
}

/// A frame as the webview sends it: its size and its greyscale pixels in base64.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Frame {
    /// Width in pixels.
    pub w: usize,
    /// Height in pixels.
    pub h: usize,
    /// `w × h` greyscale bytes, base64.
    pub luma: String,
}

impl Frame {
    /// The invite in this frame.
    pub fn invite(&self) -> Result<EnrolInvite, ScanError> {
        let luma = base64::engine::general_purpose::STANDARD
            .decode(self.luma.as_bytes())
            .map_err(|_| ScanError::BadImage)?;
        invite_in_luma(self.w, self.h, &luma)
    }
}

/// A QR code for `text` as greyscale pixels: `scale` pixels per module and a quiet zone of
/// four modules (for tests and the liveview's test images).
#[cfg(any(test, feature = "liveview"))]
pub fn render_luma(text: &str, scale: usize) -> Option<(usize, usize, Vec<u8>)> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 8) * scale;
    let mut luma = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (mx, my) = (i % modules + 4, i / modules + 4);
            for y in my * scale..(my + 1) * scale {
                for x in mx * scale..(mx + 1) * scale {
                    luma[y * side + x] = 0;
                }
            }
        }
    }
    Some((side, side, luma))
}

#[cfg(test)]
mod tests {
    use avondronde_shared::keychain::Fingerprint;

    use super::*;

    fn invite() -> EnrolInvite {
        EnrolInvite {
            server: "https://avondronde.rotterdam.nl".into(),
            code: "ABCD2345EFGH".into(),
            fingerprint: None,
        }
    }

    /// An invite with a real fingerprint, taken from a key chain's root.
    fn invite_with_fingerprint() -> EnrolInvite {
        let fp: Fingerprint = avondronde_shared::keychain::fingerprint_of_seed(&[7u8; 32]);
        EnrolInvite {
            fingerprint: Some(fp),
            ..invite()
        }
    }

    /// Places `src` (a square image) on a larger grey, noisy canvas, rotated by `deg`
    /// around its centre and scaled by `zoom` (nearest neighbour), as a camera would see it.
    fn camera_view(
        src: &(usize, usize, Vec<u8>),
        deg: f64,
        zoom: f64,
        noise: u8,
    ) -> (usize, usize, Vec<u8>) {
        let (sw, sh, s) = src;
        let side = ((*sw as f64) * zoom * 1.6) as usize;
        let mut out = vec![200u8; side * side];
        let (c, sn) = (deg.to_radians().cos(), deg.to_radians().sin());
        let mid = side as f64 / 2.0;
        let mut seed = 0x2545_f491_u32;
        for y in 0..side {
            for x in 0..side {
                let (dx, dy) = ((x as f64 - mid) / zoom, (y as f64 - mid) / zoom);
                let (u, v) = (
                    c * dx + sn * dy + *sw as f64 / 2.0,
                    -sn * dx + c * dy + *sh as f64 / 2.0,
                );
                let mut px = if u >= 0.0 && v >= 0.0 && (u as usize) < *sw && (v as usize) < *sh {
                    s[v as usize * sw + u as usize]
                } else {
                    200
                };
                // Cheap deterministic noise (xorshift), both ways.
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let n = (seed % (u32::from(noise) * 2 + 1)) as i32 - i32::from(noise);
                px = (i32::from(px) + n).clamp(0, 255) as u8;
                out[y * side + x] = px;
            }
        }
        (side, side, out)
    }

    #[test]
    fn a_generated_enrolment_code_decodes_to_the_same_invite() {
        for inv in [invite(), invite_with_fingerprint()] {
            let (w, h, luma) = render_luma(&inv.encode(), 4).expect("qr");
            assert_eq!(invite_in_luma(w, h, &luma).expect("decoded"), inv);
        }
    }

    #[test]
    fn a_rotated_scaled_noisy_photo_of_the_code_still_decodes() {
        let inv = invite_with_fingerprint();
        let src = render_luma(&inv.encode(), 3).expect("qr");
        let view = camera_view(&src, 17.0, 1.7, 40);
        assert_eq!(
            invite_in_luma(view.0, view.1, &view.2).expect("decoded"),
            inv
        );
        let upside_down = camera_view(&src, 180.0, 1.0, 20);
        assert_eq!(
            invite_in_luma(upside_down.0, upside_down.1, &upside_down.2).expect("decoded"),
            inv
        );
    }

    #[test]
    fn another_qr_code_or_no_code_is_refused_in_dutch() {
        let (w, h, luma) = render_luma("https://example.org/betaal?bedrag=10", 4).expect("qr");
        let err = invite_in_luma(w, h, &luma).expect_err("not an invite");
        assert_eq!(err, ScanError::Invite(InviteError::NotAnInvite));
        assert_eq!(err.to_string(), "Dit is geen aanmeldcode van Avondronde.");
        let (w, h, luma) = render_luma("avondronde:1;;;", 4).expect("qr");
        assert_eq!(
            invite_in_luma(w, h, &luma),
            Err(ScanError::Invite(InviteError::Damaged))
        );
        let blank = vec![255u8; 100 * 100];
        assert_eq!(invite_in_luma(100, 100, &blank), Err(ScanError::NoCode));
    }

    #[test]
    fn a_frame_whose_size_does_not_match_its_pixels_is_refused_without_panicking() {
        assert_eq!(decode_luma(10, 10, &[0; 99]), Err(ScanError::BadImage));
        assert_eq!(decode_luma(0, 0, &[]), Err(ScanError::BadImage));
        assert_eq!(decode_luma(usize::MAX, 2, &[]), Err(ScanError::BadImage));
        assert_eq!(decode_luma(4096, 4096, &[]), Err(ScanError::BadImage));
        let bad = Frame {
            w: 2,
            h: 2,
            luma: "%%%".into(),
        };
        assert_eq!(bad.invite(), Err(ScanError::BadImage));
        let (w, h, luma) = render_luma(&invite().encode(), 4).expect("qr");
        let good = Frame {
            w,
            h,
            luma: base64::engine::general_purpose::STANDARD.encode(&luma),
        };
        assert_eq!(good.invite().expect("decoded"), invite());
    }
}
