//! What an enrolment QR code holds: the server's address, the one-time code and the
//! fingerprint of the meldpunt's root signing key.
//!
//! The admin page encodes an [`EnrolInvite`] into a QR code; the field app decodes the image
//! and parses the text back. Carrying the fingerprint in the code is what lets the phone pin
//! the meldpunt key without trusting the network on first use. The format is one line,
//! `avondronde:1;<server>;<code>;<fingerprint>`, split from the right so that an address may
//! hold any character the others cannot.

use crate::keychain::Fingerprint;

/// The prefix and format version of an enrolment code.
const PREFIX: &str = "avondronde:1;";

/// The contents of an enrolment QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolInvite {
    /// The server's base address, e.g. `https://avondronde.gemeente.nl`.
    pub server: String,
    /// The one-time enrolment code.
    pub code: String,
    /// The meldpunt's root fingerprint, when the gemeente has a key.
    pub fingerprint: Option<Fingerprint>,
}

/// Why a scanned text is not an enrolment code. Shown to the user in Dutch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    /// Some other QR code (a website, a payment request, …).
    #[error("Dit is geen aanmeldcode van Avondronde.")]
    NotAnInvite,
    /// An Avondronde code whose parts are missing or damaged.
    #[error("De aanmeldcode is beschadigd; vraag de beheerder om een nieuwe.")]
    Damaged,
}

impl EnrolInvite {
    /// The text to put in the QR code.
    pub fn encode(&self) -> String {
        let fp = self.fingerprint.map(|f| f.to_string()).unwrap_or_default();
        format!("{PREFIX}{};{};{fp}", self.server.trim(), self.code.trim())
    }

    /// Parses a scanned text.
    pub fn parse(text: &str) -> Result<EnrolInvite, InviteError> {
        let rest = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(InviteError::NotAnInvite)?;
        let mut parts = rest.rsplitn(3, ';');
        let fp = parts.next().ok_or(InviteError::Damaged)?;
        let code = parts.next().ok_or(InviteError::Damaged)?;
        let server = parts.next().ok_or(InviteError::Damaged)?;
        let code_ok = !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric());
        if server.is_empty() || !code_ok {
            return Err(InviteError::Damaged);
        }
        let fingerprint = match fp {
            "" => None,
            fp => Some(fp.parse().map_err(|_| InviteError::Damaged)?),
        };
        Ok(EnrolInvite {
            server: server.to_owned(),
            code: code.to_owned(),
            fingerprint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(server: &str) -> EnrolInvite {
        EnrolInvite {
            server: server.into(),
            code: "K7M2P9QX4T8A".into(),
            fingerprint: Some(Fingerprint::of_key(&[7; 32])),
        }
    }

    #[test]
    fn an_invite_survives_encoding_even_with_semicolons_in_the_address() {
        for server in [
            "https://avondronde.utrecht.nl",
            "https://x.nl/pad;met;puntkomma",
        ] {
            let i = invite(server);
            assert_eq!(EnrolInvite::parse(&i.encode()), Ok(i));
        }
        let without = EnrolInvite {
            fingerprint: None,
            ..invite("https://a.nl")
        };
        assert_eq!(EnrolInvite::parse(&without.encode()), Ok(without));
    }

    #[test]
    fn other_codes_and_damaged_codes_are_refused_with_their_own_message() {
        assert_eq!(
            EnrolInvite::parse("https://example.org"),
            Err(InviteError::NotAnInvite)
        );
        let good = invite("https://a.nl").encode();
        let cut = &good[..good.len() - 5];
        assert_eq!(EnrolInvite::parse(cut), Err(InviteError::Damaged));
        assert_eq!(
            EnrolInvite::parse("avondronde:1;https://a.nl;;"),
            Err(InviteError::Damaged)
        );
        assert_eq!(
            EnrolInvite::parse("avondronde:1;https://a.nl;AB CD;"),
            Err(InviteError::Damaged)
        );
    }
}
