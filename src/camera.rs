//! Camera identifiers. Any printable string is a valid camera id; 20-digit
//! GB/T 28181 device ids are recognised (and validated on request) because
//! Chinese public video systems name every device that way.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const MAX_CAMERA_ID_BYTES: usize = 255;

/// Rejects ids that cannot be stored or shown unambiguously.
pub fn validate_camera_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid("camera id is empty"));
    }
    if id.len() > MAX_CAMERA_ID_BYTES {
        return Err(Error::invalid(format!(
            "camera id is {} bytes long; the limit is {MAX_CAMERA_ID_BYTES}",
            id.len()
        )));
    }
    if let Some(c) = id.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(format!("camera id {id:?} contains the control character {c:?}")));
    }
    if id.trim() != id {
        return Err(Error::invalid(format!("camera id {id:?} has leading or trailing whitespace")));
    }
    Ok(())
}

/// True for a well-formed GB/T 28181 device id: 20 decimal digits laid out as
/// centre code (8), industry (2), type (3), network (1), serial (6), whose type
/// code is an assigned one (111 and up; 000-110 are unassigned).
pub fn is_gb28181_id(id: &str) -> bool {
    if id.len() != 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let type_code: u32 = id[10..13].parse().unwrap_or(0);
    type_code >= 111
}

/// The device kind a GB/T 28181 type code names (digits 11-13), when known.
pub fn gb28181_device_type(id: &str) -> Option<&'static str> {
    if !is_gb28181_id(id) {
        return None;
    }
    Some(match &id[10..13] {
        "111" => "DVR",
        "112" => "video server",
        "113" => "encoder",
        "114" => "NVR",
        "118" => "network video recorder (hybrid)",
        "131" => "camera",
        "132" => "network camera (IPC)",
        "133" => "display",
        "134" => "alarm input",
        "135" => "alarm output",
        "136" => "audio input",
        "137" => "audio output",
        "138" => "mobile transmission device",
        "200" => "central signalling server",
        "215" => "business group",
        "216" => "virtual organisation",
        t if t < "200" => "front-end device",
        t if t < "300" => "platform device",
        t if t < "400" => "central terminal",
        t if t < "500" => "user",
        _ => "extension",
    })
}

/// Directory name for a camera's segments. Simple ids are used as they are so
/// an operator can find footage with `ls`; anything else (slashes, unicode,
/// dots at the start) is replaced by a hash prefix. The segment header always
/// holds the exact id, so this mapping never needs to be reversed.
pub fn camera_dir_name(id: &str) -> String {
    let simple = id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        // `first()`: an empty id (refused by validate_camera_id, but this
        // is public and must not panic) gets a hashed name like any other.
        && id.as_bytes().first().is_some_and(|b| b.is_ascii_alphanumeric());
    if simple {
        id.to_string()
    } else {
        let digest = Sha256::digest(id.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("_{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb28181_ids() {
        assert!(is_gb28181_id("34020000001320000001"));
        assert_eq!(gb28181_device_type("34020000001320000001"), Some("network camera (IPC)"));
        assert!(!is_gb28181_id("3402000000132000000"));
        assert!(!is_gb28181_id("3402000000132000000a"));
        assert!(!is_gb28181_id("34020000000000000001"));
    }

    #[test]
    fn dir_names_are_safe() {
        assert_eq!(camera_dir_name("34020000001320000001"), "34020000001320000001");
        assert_eq!(camera_dir_name("cam-1.lobby"), "cam-1.lobby");
        for tricky in ["../etc", "a/b", ".hidden", "门口", "x y"] {
            let d = camera_dir_name(tricky);
            assert!(d.starts_with('_') && d.len() == 33, "{tricky} -> {d}");
        }
        assert_ne!(camera_dir_name("a/b"), camera_dir_name("a/c"));
    }

    #[test]
    fn empty_id_gets_a_hashed_dir_name_instead_of_panicking() {
        let d = camera_dir_name("");
        assert!(d.starts_with('_') && d.len() == 33, "'' -> {d}");
        assert_ne!(d, camera_dir_name("_"));
    }

    #[test]
    fn validation() {
        assert!(validate_camera_id("front door").is_ok());
        assert!(validate_camera_id("").is_err());
        assert!(validate_camera_id("a\nb").is_err());
        assert!(validate_camera_id(" a").is_err());
        assert!(validate_camera_id(&"x".repeat(256)).is_err());
    }
}
