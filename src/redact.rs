//! Pixel kernels that hide regions of a frame: blur, pixelate, solid fill.
//!
//! Frames are packed `height x width x 3` u8 (RGB or BGR: the kernels never
//! look at channel meaning). Every kernel works in place on one region at a
//! time and reads only pixels of that region, so nothing outside a box
//! changes and a region's result does not depend on its surroundings.
//!
//! Strength is tied to the region's size, not to a fixed radius: a 300 px
//! face needs a much wider blur than a 20 px one for its identity to go.
//! The default blur is three box passes (close to a gaussian) with a radius
//! of a quarter of the region's shorter side, which leaves only the coarse
//! light/dark layout of a face; pixelation uses blocks of a sixth of it.

/// A box in pixel coordinates, `[x0, x1) x [y0, y1)`. It may reach outside
/// the frame (a face half out of view); the kernels clip it. Its corners
/// must be in order (`x0 <= x1`, `y0 <= y1`): a swapped box is refused, never
/// read as empty, since an empty box would leave its face in view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub x0: i64,
    pub y0: i64,
    pub x1: i64,
    pub y1: i64,
}

/// Which pixels of a region are hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Rectangle,
    /// The ellipse inscribed in the (unclipped) region: hugs a face better,
    /// so less of the scene around it is lost.
    Ellipse,
}

/// How the hidden pixels are replaced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// Repeated box blur; `strength` scales the radius (1.0 = a quarter of
    /// the region's shorter side, never less than 2 px).
    Blur { strength: f32 },
    /// Blocks of the region's mean colour; `strength` scales the block size
    /// (1.0 = a sixth of the shorter side, never less than 2 px).
    Pixelate { strength: f32 },
    /// One solid colour.
    Fill { color: [u8; 3] },
}

/// Frame geometry does not match the buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct BadFrame {
    pub detail: String,
}

impl std::fmt::Display for BadFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

const CHANNELS: usize = 3;
const BLUR_PASSES: usize = 3;

/// Hides every region of `frame` (in place). Regions are applied in order;
/// overlapping regions are simply processed twice, which only hides more.
pub fn redact(
    frame: &mut [u8],
    width: usize,
    height: usize,
    regions: &[Region],
    shape: Shape,
    method: Method,
) -> Result<(), BadFrame> {
    let expected = width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(CHANNELS))
        .ok_or_else(|| BadFrame { detail: format!("frame {width}x{height} is too large") })?;
    if frame.len() != expected {
        return Err(BadFrame {
            detail: format!(
                "frame buffer holds {} bytes, a {width}x{height}x3 frame needs {expected}",
                frame.len()
            ),
        });
    }
    if let Some((i, r)) = regions.iter().enumerate().find(|(_, r)| r.x1 < r.x0 || r.y1 < r.y0) {
        return Err(BadFrame {
            detail: format!(
                "region {i} ({}, {}, {}, {}) has its corners swapped; give x0 <= x1 and y0 <= y1 \
                 (nothing was hidden)",
                r.x0, r.y0, r.x1, r.y1
            ),
        });
    }
    let mut scratch = Vec::new();
    for region in regions {
        redact_one(frame, width, height, *region, shape, method, &mut scratch);
    }
    Ok(())
}

/// The part of `region` inside the frame, or None when nothing is.
fn clip(region: Region, width: usize, height: usize) -> Option<(usize, usize, usize, usize)> {
    let x0 = region.x0.clamp(0, width as i64) as usize;
    let x1 = region.x1.clamp(0, width as i64) as usize;
    let y0 = region.y0.clamp(0, height as i64) as usize;
    let y1 = region.y1.clamp(0, height as i64) as usize;
    (x1 > x0 && y1 > y0).then_some((x0, y0, x1, y1))
}

/// Whether pixel (x, y) is hidden: inside the region's shape.
fn inside(shape: Shape, region: Region, x: usize, y: usize) -> bool {
    match shape {
        Shape::Rectangle => true,
        Shape::Ellipse => {
            // Centre and semi-axes of the unclipped region, so an ellipse
            // half out of frame keeps its true shape.
            // In f64: i64 sums and differences of far-off corners overflow.
            let (x0, x1, y0, y1) = (region.x0 as f64, region.x1 as f64, region.y0 as f64, region.y1 as f64);
            let cx = (x0 + x1) / 2.0;
            let cy = (y0 + y1) / 2.0;
            let a = ((x1 - x0) / 2.0).max(0.5);
            let b = ((y1 - y0) / 2.0).max(0.5);
            let dx = (x as f64 + 0.5 - cx) / a;
            let dy = (y as f64 + 0.5 - cy) / b;
            dx * dx + dy * dy <= 1.0
        }
    }
}

fn redact_one(
    frame: &mut [u8],
    width: usize,
    height: usize,
    region: Region,
    shape: Shape,
    method: Method,
    scratch: &mut Vec<u8>,
) {
    let Some((x0, y0, x1, y1)) = clip(region, width, height) else {
        return;
    };
    let (w, h) = (x1 - x0, y1 - y0);
    // The strength follows the whole face, not just its visible part (in
    // i128: the corners of a far-off region may be i64::MIN and i64::MAX).
    let span = |a: i64, b: i64| (b as i128 - a as i128).max(1);
    let side = span(region.x0, region.x1).min(span(region.y0, region.y1)) as f32;
    // Past the visible part's size a wider window changes nothing more that
    // matters, and an unbounded one (a huge region, a huge strength) would
    // never finish: cap it there.
    let cap = w.max(h).max(2);

    scratch.clear();
    scratch.reserve(w * h * CHANNELS);
    for y in y0..y1 {
        let row = (y * width + x0) * CHANNELS;
        scratch.extend_from_slice(&frame[row..row + w * CHANNELS]);
    }
    match method {
        Method::Blur { strength } => {
            let radius = ((side / 4.0 * strength).round() as usize).clamp(2, cap);
            box_blur(scratch, w, h, radius);
        }
        Method::Pixelate { strength } => {
            let block = ((side / 6.0 * strength).round() as usize).clamp(2, cap);
            pixelate(scratch, w, h, block);
        }
        Method::Fill { color } => {
            for px in scratch.chunks_exact_mut(CHANNELS) {
                px.copy_from_slice(&color);
            }
        }
    }
    for y in y0..y1 {
        for x in x0..x1 {
            if inside(shape, region, x, y) {
                let src = ((y - y0) * w + (x - x0)) * CHANNELS;
                let dst = (y * width + x) * CHANNELS;
                frame[dst..dst + CHANNELS].copy_from_slice(&scratch[src..src + CHANNELS]);
            }
        }
    }
}

/// Three separable box passes with edge clamping: O(pixels) for any radius.
fn box_blur(buf: &mut [u8], w: usize, h: usize, radius: usize) {
    let mut line = Vec::new();
    for _ in 0..BLUR_PASSES {
        for y in 0..h {
            blur_line(buf, y * w * CHANNELS, CHANNELS, w, radius, &mut line);
        }
        for x in 0..w {
            blur_line(buf, x * CHANNELS, w * CHANNELS, h, radius, &mut line);
        }
    }
}

/// Running-sum box filter over `n` pixels starting at `start`, `stride`
/// bytes apart; samples past either end repeat the end pixel.
fn blur_line(buf: &mut [u8], start: usize, stride: usize, n: usize, radius: usize, line: &mut Vec<u8>) {
    line.clear();
    for i in 0..n {
        let p = start + i * stride;
        line.extend_from_slice(&buf[p..p + CHANNELS]);
    }
    let r = radius as i64;
    let last = n as i64 - 1;
    let at = |i: i64, c: usize| line[(i.clamp(0, last) as usize) * CHANNELS + c] as u32;
    let window = 2 * radius as u32 + 1;
    for c in 0..CHANNELS {
        let mut sum: u32 = (-r..=r).map(|i| at(i, c)).sum();
        for i in 0..n as i64 {
            buf[start + i as usize * stride + c] = ((sum + window / 2) / window) as u8;
            sum += at(i + r + 1, c);
            sum -= at(i - r, c);
        }
    }
}

/// Replaces each `block x block` tile (clipped at the region's edge) by its mean.
fn pixelate(buf: &mut [u8], w: usize, h: usize, block: usize) {
    for ty in (0..h).step_by(block) {
        for tx in (0..w).step_by(block) {
            let (ey, ex) = ((ty + block).min(h), (tx + block).min(w));
            let mut sum = [0u32; CHANNELS];
            for y in ty..ey {
                for x in tx..ex {
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += buf[(y * w + x) * CHANNELS + c] as u32;
                    }
                }
            }
            let count = ((ey - ty) * (ex - tx)) as u32;
            let mean = sum.map(|s| ((s + count / 2) / count) as u8);
            for y in ty..ey {
                for x in tx..ex {
                    let p = (y * w + x) * CHANNELS;
                    buf[p..p + CHANNELS].copy_from_slice(&mean);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of high-frequency texture (a checkerboard with noise).
    fn textured(width: usize, height: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(width * height * 3);
        let mut seed = 0x2545_f491_u32;
        for y in 0..height {
            for x in 0..width {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let base = if (x + y) % 2 == 0 { 200 } else { 40 };
                for c in 0..3 {
                    v.push((base + ((seed >> (c * 8)) % 32) as i32 - 16).clamp(0, 255) as u8);
                }
            }
        }
        v
    }

    /// Sum of absolute differences between horizontal neighbours inside a box.
    fn energy(frame: &[u8], width: usize, x0: usize, y0: usize, x1: usize, y1: usize) -> u64 {
        let mut e = 0u64;
        for y in y0..y1 {
            for x in x0..x1 - 1 {
                for c in 0..3 {
                    let a = frame[(y * width + x) * 3 + c] as i64;
                    let b = frame[(y * width + x + 1) * 3 + c] as i64;
                    e += (a - b).unsigned_abs();
                }
            }
        }
        e
    }

    fn region(x0: i64, y0: i64, x1: i64, y1: i64) -> Region {
        Region { x0, y0, x1, y1 }
    }

    const METHODS: [Method; 3] = [
        Method::Blur { strength: 1.0 },
        Method::Pixelate { strength: 1.0 },
        Method::Fill { color: [0, 0, 0] },
    ];

    #[test]
    fn blur_removes_high_frequency_energy_and_touches_nothing_outside() {
        let (w, h) = (97, 61); // odd sizes
        let original = textured(w, h);
        for method in METHODS {
            for shape in [Shape::Rectangle, Shape::Ellipse] {
                let mut f = original.clone();
                redact(&mut f, w, h, &[region(20, 10, 81, 51)], shape, method).unwrap();
                let before = energy(&original, w, 30, 20, 70, 40);
                let after = energy(&f, w, 30, 20, 70, 40);
                assert!(after * 10 < before, "{method:?} {shape:?}: {after} vs {before}");
                for y in 0..h {
                    for x in 0..w {
                        let outside = !(20..81).contains(&x) || !(10..51).contains(&y);
                        if outside {
                            let p = (y * w + x) * 3;
                            assert_eq!(f[p..p + 3], original[p..p + 3], "({x},{y}) changed");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn ellipse_keeps_the_corners_of_its_box() {
        let (w, h) = (64, 64);
        let original = textured(w, h);
        let mut f = original.clone();
        let fill = Method::Fill { color: [1, 2, 3] };
        redact(&mut f, w, h, &[region(0, 0, 64, 64)], Shape::Ellipse, fill).unwrap();
        assert_eq!(f[0..3], original[0..3], "corner is outside the ellipse");
        let centre = (32 * w + 32) * 3;
        assert_eq!(f[centre..centre + 3], [1, 2, 3]);
    }

    #[test]
    fn regions_reaching_past_every_edge_are_clipped() {
        let (w, h) = (33, 17);
        let original = textured(w, h);
        let boxes = [
            region(-10, -10, 5, 5),
            region(28, 12, 60, 40),
            region(-100, 3, 200, 9),
            region(10, -50, 14, 100),
        ];
        for method in METHODS {
            for shape in [Shape::Rectangle, Shape::Ellipse] {
                let mut f = original.clone();
                redact(&mut f, w, h, &boxes, shape, method).unwrap();
                assert_eq!(f.len(), original.len());
            }
        }
        let mut f = original.clone();
        let fill = Method::Fill { color: [9, 9, 9] };
        redact(&mut f, w, h, &[region(-10, -10, 5, 5)], Shape::Rectangle, fill).unwrap();
        assert_eq!(f[0..3], [9, 9, 9]);
        let p = (4 * w + 4) * 3;
        assert_eq!(f[p..p + 3], [9, 9, 9]);
        let p = (5 * w + 5) * 3;
        assert_eq!(f[p..p + 3], original[p..p + 3]);
    }

    #[test]
    fn swapped_corners_are_refused_and_change_nothing() {
        let (w, h) = (20, 10);
        let original = textured(w, h);
        for bad in [region(9, 9, 2, 2), region(2, 9, 9, 2), region(9, 2, 2, 9)] {
            for method in METHODS {
                let mut f = original.clone();
                let err =
                    redact(&mut f, w, h, &[region(0, 0, 4, 4), bad], Shape::Ellipse, method).unwrap_err();
                assert!(err.detail.contains("region 1") && err.detail.contains("swapped"), "{}", err.detail);
                assert_eq!(f, original, "nothing is hidden when one region is refused");
            }
        }
    }

    #[test]
    fn extreme_regions_and_strengths_neither_overflow_nor_hang() {
        let (w, h) = (40, 30);
        let original = textured(w, h);
        let boxes = [
            region(i64::MIN, i64::MIN, i64::MAX, i64::MAX),
            region(i64::MIN, 5, 20, 25),
            region(10, 10, i64::MAX, i64::MAX),
        ];
        let methods = [
            Method::Blur { strength: f32::MAX },
            Method::Blur { strength: f32::INFINITY },
            Method::Pixelate { strength: f32::MAX },
            Method::Pixelate { strength: f32::NAN },
            Method::Blur { strength: 1.0 },
        ];
        for method in methods {
            for shape in [Shape::Rectangle, Shape::Ellipse] {
                let mut f = original.clone();
                redact(&mut f, w, h, &boxes, shape, method).unwrap();
                if shape == Shape::Rectangle {
                    assert_ne!(f, original, "{method:?}: the whole frame is covered");
                }
            }
        }
    }

    #[test]
    fn empty_and_offscreen_regions_change_nothing() {
        let (w, h) = (20, 10);
        let original = textured(w, h);
        let boxes = [
            region(5, 5, 5, 9),    // zero width
            region(3, 4, 8, 4),    // zero height
            region(25, 0, 40, 10), // right of the frame
            region(0, -9, 20, 0),  // above the frame
        ];
        for method in METHODS {
            for shape in [Shape::Rectangle, Shape::Ellipse] {
                let mut f = original.clone();
                redact(&mut f, w, h, &boxes, shape, method).unwrap();
                assert_eq!(f, original, "{method:?} {shape:?}");
            }
        }
    }

    #[test]
    fn one_pixel_and_thin_regions_work() {
        let (w, h) = (15, 15);
        let original = textured(w, h);
        for method in METHODS {
            let mut f = original.clone();
            let boxes = [region(7, 7, 8, 8), region(0, 3, 15, 4), region(2, 0, 3, 15)];
            redact(&mut f, w, h, &boxes, Shape::Rectangle, method).unwrap();
            let p = (10 * w + 10) * 3;
            assert_eq!(f[p..p + 3], original[p..p + 3]);
        }
    }

    #[test]
    fn a_flat_region_stays_flat() {
        // Blur and pixelate average: a uniform colour must come back exact
        // (no darkening at the edges from zero padding, no rounding drift).
        let (w, h) = (41, 23);
        let mut f = [17u8, 130, 250].repeat(w * h);
        for method in [Method::Blur { strength: 2.0 }, Method::Pixelate { strength: 0.5 }] {
            redact(&mut f, w, h, &[region(-5, 2, 30, 23)], Shape::Rectangle, method).unwrap();
            assert!(f.chunks_exact(3).all(|p| p == [17, 130, 250]), "{method:?}");
        }
    }

    #[test]
    fn wrong_buffer_size_is_refused() {
        let mut f = vec![0u8; 10 * 10 * 3 - 1];
        let err = redact(&mut f, 10, 10, &[], Shape::Rectangle, METHODS[0]).unwrap_err();
        assert!(err.detail.contains("299 bytes"), "{}", err.detail);
    }

    #[test]
    fn pixelate_makes_uniform_blocks() {
        let (w, h) = (60, 60);
        let mut f = textured(w, h);
        // side 60 -> block 10.
        redact(&mut f, w, h, &[region(0, 0, 60, 60)], Shape::Rectangle, Method::Pixelate { strength: 1.0 })
            .unwrap();
        for by in 0..6 {
            for bx in 0..6 {
                let first = ((by * 10) * w + bx * 10) * 3;
                for y in by * 10..by * 10 + 10 {
                    for x in bx * 10..bx * 10 + 10 {
                        let p = (y * w + x) * 3;
                        assert_eq!(f[p..p + 3], f[first..first + 3]);
                    }
                }
            }
        }
    }
}
