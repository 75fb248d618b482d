//! The camera and a chosen photo, for reading the enrolment QR code (issue 10, item 3).
//!
//! One piece of JavaScript through [`dioxus::document::eval`] serves every platform: the
//! webview's `getUserMedia` (the desktop window, the Android and iOS webviews, a browser)
//! shows the camera in a `<video>` element and grabs frames to a canvas; a file input is the
//! fallback (a photo of the code, or a phone without camera permission). Only a greyscale
//! copy of each frame, at most [`MAX_SIDE`] pixels on its longest side, crosses to Rust,
//! where [`crate::qr`] decodes it. The camera permission is declared in `Dioxus.toml` for
//! the phones. These functions must run inside a Dioxus component scope.

use dioxus::document;
use serde::Deserialize;

use crate::qr::Frame;

/// The longest side of a frame handed to Rust.
pub const MAX_SIDE: u32 = 800;
/// The `id` of the `<video>` element that shows the camera.
pub const VIDEO_ID: &str = "qr-video";
/// The `id` of the file input for a photo of the code.
pub const FILE_ID: &str = "qr-file";

/// Why the camera gave nothing (Dutch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CameraError {
    /// The user or the OS refused the camera.
    #[error("Geen toestemming voor de camera; kies een foto van de QR-code of typ de code over.")]
    Denied,
    /// No camera, or it failed.
    #[error("Geen camera beschikbaar; kies een foto van de QR-code of typ de code over.")]
    Unavailable,
    /// A chosen file was not an image.
    #[error("Dit bestand is geen bruikbare foto.")]
    NotAnImage,
}

#[derive(Deserialize)]
struct Message {
    w: Option<usize>,
    h: Option<usize>,
    luma: Option<String>,
    error: Option<String>,
}

impl Message {
    fn into_frame(self) -> Result<Frame, CameraError> {
        match (self.w, self.h, self.luma, self.error.as_deref()) {
            (Some(w), Some(h), Some(luma), None) => Ok(Frame { w, h, luma }),
            (_, _, _, Some("denied")) => Err(CameraError::Denied),
            (_, _, _, Some("image")) => Err(CameraError::NotAnImage),
            _ => Err(CameraError::Unavailable),
        }
    }
}

/// The JavaScript that turns a drawable (video or image) into a greyscale frame message.
fn grab_js() -> String {
    format!(
        r#"const grab = (src, sw, sh) => {{
  const k = Math.min(1, {MAX_SIDE} / Math.max(sw, sh));
  const w = Math.max(1, Math.round(sw * k)), h = Math.max(1, Math.round(sh * k));
  const canvas = document.createElement("canvas"); canvas.width = w; canvas.height = h;
  const g = canvas.getContext("2d", {{ willReadFrequently: true }});
  g.drawImage(src, 0, 0, w, h);
  const rgba = g.getImageData(0, 0, w, h).data;
  const luma = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) luma[i] = (rgba[4*i] * 77 + rgba[4*i+1] * 150 + rgba[4*i+2] * 29) >> 8;
  let bin = ""; for (let i = 0; i < luma.length; i += 8192) bin += String.fromCharCode.apply(null, luma.subarray(i, i + 8192));
  return {{ w, h, luma: btoa(bin) }};
}};"#
    )
}

/// Starts the camera in the `<video id="qr-video">` element and calls `on_frame` with a
/// frame about three times a second until it returns `true` (a code was read) or the
/// component goes away; then the camera is switched off.
pub async fn scan_camera(mut on_frame: impl FnMut(Frame) -> bool) -> Result<(), CameraError> {
    let js = format!(
        r#"{grab}
let stream;
try {{
  stream = await navigator.mediaDevices.getUserMedia({{ video: {{ facingMode: "environment" }}, audio: false }});
}} catch (e) {{
  dioxus.send({{ error: e && e.name === "NotAllowedError" ? "denied" : "unavailable" }});
  return;
}}
const video = document.getElementById("{VIDEO_ID}") || document.createElement("video");
video.muted = true; video.playsInline = true; video.srcObject = stream;
try {{ await video.play(); }} catch (e) {{}}
window.__avondrondeStopScan = false;
while (!window.__avondrondeStopScan && document.contains(video)) {{
  if (video.readyState >= 2 && video.videoWidth > 0) dioxus.send(grab(video, video.videoWidth, video.videoHeight));
  await new Promise((r) => setTimeout(r, 300));
}}
stream.getTracks().forEach((t) => t.stop());
dioxus.send({{ error: "stopped" }});"#,
        grab = grab_js()
    );
    let mut eval = document::eval(&js);
    while let Ok(msg) = eval.recv::<Message>().await {
        if msg.error.as_deref() == Some("stopped") {
            // The person stopped scanning (the video element went away).
            break;
        }
        if on_frame(msg.into_frame()?) {
            // Not `dioxus.recv()` in the script: in liveview it busy-waits and would block
            // the page; a flag the loop reads stops the camera instead.
            let _ = document::eval("window.__avondrondeStopScan = true;");
            break;
        }
    }
    Ok(())
}

/// Calls `on_frame` with the picture chosen in the `<input type="file" id="qr-file">`
/// each time one is chosen, until the component that spawned it goes away.
pub async fn watch_photo(mut on_frame: impl FnMut(Result<Frame, CameraError>)) {
    let js = format!(
        r#"{grab}
document.addEventListener("change", async (e) => {{
  const input = e.target;
  if (!input || input.id !== "{FILE_ID}" || !input.files || !input.files[0]) return;
  try {{
    const bmp = await createImageBitmap(input.files[0]);
    dioxus.send(grab(bmp, bmp.width, bmp.height));
  }} catch (err) {{
    dioxus.send({{ error: "image" }});
  }}
  input.value = "";
}});
await new Promise(() => {{}});"#,
        grab = grab_js()
    );
    let mut eval = document::eval(&js);
    while let Ok(msg) = eval.recv::<Message>().await {
        on_frame(msg.into_frame());
    }
}
