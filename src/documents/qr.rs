//! QR codes as SVG, for the documents.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An SVG image of a QR code holding `data` (error correction M, quiet zone included).
pub fn svg(data: &str) -> anyhow::Result<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}
