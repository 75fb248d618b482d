//! The meldpunt key chain: why a phone may trust the key it seals a care form to.
//!
//! A care form is sealed on the phone to the meldpunt's age recipient, which the phone
//! learns from the configuration it pulls. Without more, whoever can write the server's
//! database or change the traffic could hand out their own recipient and read every form
//! sealed after that. So each gemeente's meldpunt also holds an **Ed25519 signing key**
//! (wrapped under the same passphrase as its age identity; the server never holds it in the
//! clear) and publishes a chain of [`KeyLink`]s:
//!
//! - link 0 names the first signing key, the first recipient and a validity period, and is
//!   signed by that same signing key (the *root*);
//! - each rotation appends a link naming the new signing key and recipient, signed by the
//!   **previous** link's signing key, so only a holder of the previous passphrase can extend
//!   the chain.
//!
//! The phone pins the root's [`Fingerprint`] at enrolment (from the QR code, or from the
//! enrolment answer after a person compared the [`Fingerprint::words`]). It seals only to
//! the recipient of the last link of a chain that [`verify`]s against that pin at the time
//! of sealing. Pure functions only; the server signs with [`sign_link`], the phone verifies.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::GemeenteId;
use crate::care::RecipientKeyId;
use crate::sync::MeldpuntKey;

/// Domain separation for everything signed or hashed here.
const CONTEXT: &str = "avondronde 2026 meldpunt key chain v1";

/// One link of a gemeente's key chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLink {
    /// Position in the chain, 0 for the root.
    pub seq: u32,
    /// The gemeente whose meldpunt this is (a chain cannot be moved to another gemeente).
    pub gemeente: GemeenteId,
    /// This period's Ed25519 public key, base64url without padding.
    pub signing_key: String,
    /// Id of this period's age recipient (recorded on each envelope).
    pub recipient_id: RecipientKeyId,
    /// This period's age X25519 recipient (`age1…`).
    pub recipient: String,
    /// From when a phone may seal to the recipient.
    pub valid_from: Timestamp,
    /// Until when a phone may seal to the recipient (when it is the last link).
    pub valid_until: Timestamp,
    /// Signature over [`KeyLink::signed_bytes`] by the previous link's signing key (the
    /// link's own for the root), base64url without padding.
    pub signature: String,
}

/// The chain as pulled by the phone, root first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyChain {
    /// The links, root first.
    pub links: Vec<KeyLink>,
}

/// The BLAKE3 fingerprint of a root signing key: what a phone pins.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl std::fmt::Display for Fingerprint {
    /// base64url without padding (43 characters), as in the QR code.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = TrustError;
    fn from_str(s: &str) -> Result<Self, TrustError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim())
            .map_err(|_| TrustError::Malformed)?;
        Ok(Fingerprint(
            bytes.try_into().map_err(|_| TrustError::Malformed)?,
        ))
    }
}

/// How many words [`Fingerprint::words`] shows: 64 bits for a person to compare.
pub const FINGERPRINT_WORDS: usize = 8;

impl Fingerprint {
    /// The fingerprint of an Ed25519 public key (32 bytes).
    pub fn of_key(public: &[u8; 32]) -> Fingerprint {
        let mut h = blake3::Hasher::new_derive_key(CONTEXT);
        h.update(b"fingerprint");
        h.update(public);
        Fingerprint(*h.finalize().as_bytes())
    }

    /// The fingerprint of a base64url public key as it appears in a [`KeyLink`].
    pub fn of_encoded(public: &str) -> Result<Fingerprint, TrustError> {
        Ok(Fingerprint::of_key(&decode_public(public)?.to_bytes()))
    }

    /// The first bytes as Dutch words, for a person to compare by eye or over the phone.
    pub fn words(&self) -> Vec<&'static str> {
        self.0[..FINGERPRINT_WORDS]
            .iter()
            .map(|b| WORDS[usize::from(*b)])
            .collect()
    }

    /// [`Fingerprint::words`] joined with spaces.
    pub fn words_line(&self) -> String {
        self.words().join(" ")
    }
}

/// Why a chain is not trusted. The phone shows [`UNTRUSTED_MESSAGE`] for every one of them;
/// the variant goes, without content, into the error report to the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The chain has no links.
    #[error("de sleutelketen is leeg")]
    Empty,
    /// The root is not the key the phone pinned.
    #[error("de sleutelketen begint bij een onbekende ondertekenaar")]
    UnknownSigner,
    /// A link's signature does not verify with the previous signing key.
    #[error("schakel {0} van de sleutelketen is niet correct ondertekend")]
    BadSignature(u32),
    /// Links are missing, repeated or out of order.
    #[error("de sleutelketen is onderbroken bij schakel {0}")]
    Broken(u32),
    /// A link names another gemeente.
    #[error("de sleutelketen hoort bij een andere gemeente")]
    WrongGemeente,
    /// The current recipient's validity has ended.
    #[error("de sleutel van het meldpunt is verlopen")]
    Expired,
    /// The current recipient's validity has not started.
    #[error("de sleutel van het meldpunt is nog niet geldig")]
    NotYetValid,
    /// A key, signature or fingerprint cannot be read.
    #[error("de sleutelketen is onleesbaar")]
    Malformed,
}

impl TrustError {
    /// A stable code for the error report (no content).
    pub fn code(&self) -> &'static str {
        match self {
            TrustError::Empty => "chain_empty",
            TrustError::UnknownSigner => "unknown_signer",
            TrustError::BadSignature(_) => "bad_signature",
            TrustError::Broken(_) => "chain_broken",
            TrustError::WrongGemeente => "wrong_gemeente",
            TrustError::Expired => "expired",
            TrustError::NotYetValid => "not_yet_valid",
            TrustError::Malformed => "malformed",
        }
    }
}

/// What the phone shows when a chain does not verify (issue 10).
pub const UNTRUSTED_MESSAGE: &str =
    "De sleutel van het meldpunt is niet te vertrouwen; neem contact op met de beheerder";

impl KeyLink {
    /// The exact bytes the signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        format!(
            "{CONTEXT}\nseq={}\ngemeente={}\nsigning_key={}\nrecipient_id={}\nrecipient={}\nvalid_from={}\nvalid_until={}\n",
            self.seq,
            self.gemeente,
            self.signing_key,
            self.recipient_id.0,
            self.recipient,
            self.valid_from.as_millisecond(),
            self.valid_until.as_millisecond(),
        )
        .into_bytes()
    }

    /// The recipient this link names.
    pub fn meldpunt_key(&self) -> MeldpuntKey {
        MeldpuntKey {
            id: self.recipient_id.clone(),
            recipient: self.recipient.clone(),
        }
    }
}

/// What a new link says, before it is signed.
#[derive(Debug, Clone)]
pub struct NewLink {
    /// Position (0 for the root; previous + 1 for a rotation).
    pub seq: u32,
    /// The gemeente.
    pub gemeente: GemeenteId,
    /// The new period's Ed25519 secret seed (its public half goes into the link).
    pub signing_seed: [u8; 32],
    /// Recipient id.
    pub recipient_id: RecipientKeyId,
    /// age recipient.
    pub recipient: String,
    /// Validity start.
    pub valid_from: Timestamp,
    /// Validity end.
    pub valid_until: Timestamp,
}

/// The base64url public half of an Ed25519 seed.
pub fn public_of(seed: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(SigningKey::from_bytes(seed).verifying_key().to_bytes())
}

/// The fingerprint of the signing key made from `seed`.
pub fn fingerprint_of_seed(seed: &[u8; 32]) -> Fingerprint {
    Fingerprint::of_key(&SigningKey::from_bytes(seed).verifying_key().to_bytes())
}

/// Signs `new` with `signer_seed`: the link's own seed for a root, the previous link's seed
/// for a rotation.
pub fn sign_link(new: &NewLink, signer_seed: &[u8; 32]) -> KeyLink {
    let mut link = KeyLink {
        seq: new.seq,
        gemeente: new.gemeente,
        signing_key: public_of(&new.signing_seed),
        recipient_id: new.recipient_id.clone(),
        recipient: new.recipient.clone(),
        valid_from: new.valid_from,
        valid_until: new.valid_until,
        signature: String::new(),
    };
    let signature = SigningKey::from_bytes(signer_seed).sign(&link.signed_bytes());
    link.signature = URL_SAFE_NO_PAD.encode(signature.to_bytes());
    link
}

fn decode_public(s: &str) -> Result<VerifyingKey, TrustError> {
    let bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| TrustError::Malformed)?
        .try_into()
        .map_err(|_| TrustError::Malformed)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| TrustError::Malformed)
}

fn check_signature(link: &KeyLink, signer: &VerifyingKey) -> Result<(), TrustError> {
    let bytes: [u8; 64] = URL_SAFE_NO_PAD
        .decode(&link.signature)
        .map_err(|_| TrustError::BadSignature(link.seq))?
        .try_into()
        .map_err(|_| TrustError::BadSignature(link.seq))?;
    signer
        .verify_strict(&link.signed_bytes(), &Signature::from_bytes(&bytes))
        .map_err(|_| TrustError::BadSignature(link.seq))
}

/// Verifies `chain` for `gemeente` against the pinned root fingerprint at `now`, and
/// returns the recipient the phone may seal to: the last link's.
pub fn verify(
    chain: &KeyChain,
    pin: &Fingerprint,
    gemeente: GemeenteId,
    now: Timestamp,
) -> Result<MeldpuntKey, TrustError> {
    let root = chain.links.first().ok_or(TrustError::Empty)?;
    let root_key = decode_public(&root.signing_key)?;
    if Fingerprint::of_key(&root_key.to_bytes()) != *pin {
        return Err(TrustError::UnknownSigner);
    }
    let mut signer = root_key;
    for (i, link) in chain.links.iter().enumerate() {
        if usize::try_from(link.seq).ok() != Some(i) {
            return Err(TrustError::Broken(u32::try_from(i).unwrap_or(u32::MAX)));
        }
        if link.gemeente != gemeente {
            return Err(TrustError::WrongGemeente);
        }
        check_signature(link, &signer)?;
        signer = decode_public(&link.signing_key)?;
    }
    let last = chain.links.last().ok_or(TrustError::Empty)?;
    if now < last.valid_from {
        return Err(TrustError::NotYetValid);
    }
    if now >= last.valid_until {
        return Err(TrustError::Expired);
    }
    Ok(last.meldpunt_key())
}

/// 256 short, distinct Dutch nouns: one per byte of a fingerprint.
#[rustfmt::skip]
const WORDS: [&str; 256] = [
    "aap", "adem", "akker", "anker", "appel", "arend", "auto", "avond",
    "baai", "balk", "band", "bank", "baron", "beek", "beer", "berg",
    "bever", "bijl", "bloem", "boek", "boom", "boon", "boot", "bord",
    "bos", "boter", "brug", "bril", "brood", "bui", "bus", "cactus",
    "circus", "citroen", "dak", "dal", "deeg", "deken", "dijk", "dimmer",
    "dok", "dolfijn", "doos", "dorp", "draak", "draad", "duif", "duin",
    "dwerg", "eend", "eik", "eiland", "emmer", "engel", "erwt", "ezel",
    "fabriek", "fakkel", "fiets", "fles", "fluit", "fort", "fontein", "gans",
    "garnaal", "geit", "gids", "gitaar", "glas", "goud", "gras", "grot",
    "haai", "haan", "hagel", "hamer", "hand", "haven", "havik", "hek",
    "heks", "held", "hert", "hoed", "hond", "honing", "hoorn", "huis",
    "hut", "ijs", "inkt", "jas", "jurk", "kaars", "kaas", "kabel",
    "kajak", "kameel", "kanaal", "kano", "kasteel", "kat", "kers", "ketel",
    "kever", "kikker", "kip", "klok", "knoop", "koe", "koffer", "komeet",
    "konijn", "koning", "kraai", "kreeft", "krekel", "kroon", "kruik", "kuil",
    "kust", "laars", "lamp", "lans", "leeuw", "lepel", "lier", "lint",
    "locomotief", "loods", "luik", "maan", "mand", "mantel", "markt", "mast",
    "meer", "meeuw", "mier", "molen", "mossel", "muis", "munt", "muur",
    "nest", "neus", "noot", "oester", "olifant", "oven", "paard", "panter",
    "papier", "park", "pauw", "peer", "peper", "piano", "pijl", "pijp",
    "pinguin", "plank", "plein", "pluim", "pomp", "post", "raaf", "radijs",
    "raket", "regen", "reiger", "ring", "rivier", "robijn", "roos", "rots",
    "schaap", "schelp", "schip", "schoen", "sjaal", "sleutel", "slak", "slang",
    "sluis", "smid", "sneeuw", "snoek", "spar", "spin", "spons", "stad",
    "ster", "stier", "stoel", "storm", "strand", "stroom", "suiker", "tafel",
    "tak", "tand", "tent", "tijger", "toren", "trein", "trommel", "tuin",
    "tulp", "uil", "vaas", "valk", "veer", "veld", "venster", "vijver",
    "vink", "vis", "vlag", "vlinder", "vlot", "vogel", "vos", "vuur",
    "wafel", "wagen", "walvis", "wand", "wei", "wesp", "wiel", "wind",
    "wolf", "wolk", "worm", "zaag", "zadel", "zee", "zeil", "zeef",
    "zon", "zwaan", "zwaard", "zalm", "zebra", "zolder", "wortel", "kreek",
    "heuvel", "tomaat", "banaan", "druif", "kompas", "lantaarn", "mammoet", "parel",
];

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).expect("time")
    }

    fn link(seq: u32, g: GemeenteId, seed: u8, from: i64, until: i64) -> NewLink {
        NewLink {
            seq,
            gemeente: g,
            signing_seed: [seed; 32],
            recipient_id: RecipientKeyId(format!("k{seq}")),
            recipient: format!("age1recipient{seq}"),
            valid_from: at(from),
            valid_until: at(until),
        }
    }

    /// A root (seed 1) and a rotation (seed 2) signed by the root.
    fn rotated(g: GemeenteId) -> KeyChain {
        let root = sign_link(&link(0, g, 1, 0, 365 * DAY_MS), &[1; 32]);
        let next = sign_link(&link(1, g, 2, 10 * DAY_MS, 375 * DAY_MS), &[1; 32]);
        KeyChain {
            links: vec![root, next],
        }
    }

    #[test]
    fn a_valid_rotation_yields_the_newest_recipient() {
        let g = GemeenteId::new();
        let pin = fingerprint_of_seed(&[1; 32]);
        let key = verify(&rotated(g), &pin, g, at(20 * DAY_MS)).expect("trusted");
        assert_eq!(key.recipient, "age1recipient1");
        assert_eq!(key.id.0, "k1");
    }

    #[test]
    fn a_forged_recipient_in_a_signed_link_is_refused() {
        let g = GemeenteId::new();
        let pin = fingerprint_of_seed(&[1; 32]);
        let mut chain = rotated(g);
        chain.links[1].recipient = "age1attacker".into();
        assert_eq!(
            verify(&chain, &pin, g, at(20 * DAY_MS)),
            Err(TrustError::BadSignature(1))
        );
        // A rotation signed by a key of the attacker's own, not by the previous one.
        let mut chain = rotated(g);
        chain.links[1] = sign_link(&link(1, g, 9, 0, 375 * DAY_MS), &[9; 32]);
        assert_eq!(
            verify(&chain, &pin, g, at(20 * DAY_MS)),
            Err(TrustError::BadSignature(1))
        );
        // Dropping the signature does not help either.
        let mut chain = rotated(g);
        chain.links[0].signature.clear();
        assert_eq!(
            verify(&chain, &pin, g, at(20 * DAY_MS)),
            Err(TrustError::BadSignature(0))
        );
    }

    #[test]
    fn a_whole_new_chain_from_an_unknown_signer_is_refused() {
        let g = GemeenteId::new();
        let pin = fingerprint_of_seed(&[1; 32]);
        // Self-consistent, correctly signed, but rooted in another key: what a database
        // writer or a man in the middle can make.
        let chain = KeyChain {
            links: vec![sign_link(&link(0, g, 7, 0, 365 * DAY_MS), &[7; 32])],
        };
        assert_eq!(
            verify(&chain, &pin, g, at(DAY_MS)),
            Err(TrustError::UnknownSigner)
        );
    }

    #[test]
    fn an_expired_or_not_yet_valid_key_is_refused() {
        let g = GemeenteId::new();
        let pin = fingerprint_of_seed(&[1; 32]);
        assert_eq!(
            verify(&rotated(g), &pin, g, at(375 * DAY_MS)),
            Err(TrustError::Expired)
        );
        assert_eq!(
            verify(&rotated(g), &pin, g, at(5 * DAY_MS)),
            Err(TrustError::NotYetValid)
        );
    }

    #[test]
    fn links_cannot_be_dropped_reordered_or_moved_to_another_gemeente() {
        let g = GemeenteId::new();
        let pin = fingerprint_of_seed(&[1; 32]);
        let mut chain = rotated(g);
        chain.links.swap(0, 1);
        assert!(verify(&chain, &pin, g, at(20 * DAY_MS)).is_err());
        let chain = rotated(g);
        assert_eq!(
            verify(&chain, &pin, GemeenteId::new(), at(20 * DAY_MS)),
            Err(TrustError::WrongGemeente)
        );
        assert_eq!(
            verify(&KeyChain::default(), &pin, g, at(0)),
            Err(TrustError::Empty)
        );
    }

    #[test]
    fn fingerprints_round_trip_as_text_and_show_eight_distinct_words() {
        let fp = fingerprint_of_seed(&[1; 32]);
        assert_eq!(fp.to_string().parse::<Fingerprint>(), Ok(fp));
        assert_eq!(fp.words().len(), FINGERPRINT_WORDS);
        assert_ne!(fp.words_line(), fingerprint_of_seed(&[2; 32]).words_line());
        assert!("geen-vingerafdruk".parse::<Fingerprint>().is_err());
        let mut all: Vec<&str> = WORDS.to_vec();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 256, "every byte has its own word");
    }
}
