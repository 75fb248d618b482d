//! Matching forms about the same child, the way the national referral index (VIR) matches
//! two reports: on a normalised name and the birth date.
//!
//! The server never keeps a name. It keeps a keyed pseudonym per form,
//! `BLAKE3-keyed(match key, normalised name ‖ birth date)`, where the match key is derived
//! from the gemeente's meldpunt identity (see `keys`), so the pseudonym can only be computed
//! while a meldpunt session has the key unlocked, and a copy of the database cannot be
//! tested against a list of names. Forms without a birth date (an estimated age only) get
//! no pseudonym: a name alone is too weak to tell children apart.
//!
//! Only the meldpunt's pages and API read pseudonyms; no other role can see that a match
//! exists.

use avondronde_shared::CareFormId;
use avondronde_shared::care::{Birth, CareFormContent, RecipientKeyId};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::keys::{KeyRing, OpenError};

/// The name as compared: diacritics removed (é → e, ï → i), lower case, hyphens and dots
/// read as spaces, apostrophes dropped, and runs of whitespace collapsed to one space.
pub fn normalise_name(name: &str) -> String {
    let folded: String = name
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .filter(|c| !matches!(c, '\'' | '’' | '`' | '´'))
        .map(|c| if matches!(c, '-' | '.' | '_') { ' ' } else { c })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The match pseudonym of a form, or `None` when it has no birth date or no name.
pub fn pseudonym(match_key: &[u8; 32], content: &CareFormContent) -> Option<[u8; 32]> {
    let Birth::Date(born) = &content.birth else {
        return None;
    };
    let name = normalise_name(&content.child_name);
    if name.is_empty() {
        return None;
    }
    let mut h = blake3::Hasher::new_keyed(match_key);
    h.update(b"v1\0");
    h.update(name.as_bytes());
    h.update(b"\0");
    h.update(born.to_string().as_bytes());
    Some(*h.finalize().as_bytes())
}

/// A form still without a pseudonym, as read from the database.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The form.
    pub id: CareFormId,
    /// The key it was sealed to.
    pub key: RecipientKeyId,
    /// The sealed bytes.
    pub sealed: Vec<u8>,
}

/// Computes pseudonyms for pending forms. The result per form is the pseudonym, or an
/// empty value for "computed, nothing to match on" (no birth date, or a damaged form) so
/// it is not tried again. Forms sealed to a key the ring does not hold are left out, to
/// be tried by a session that has it.
pub fn compute(ring: &KeyRing, pending: &[Pending]) -> Vec<(CareFormId, Vec<u8>)> {
    pending
        .iter()
        .filter_map(|p| match ring.open_form(&p.key, &p.sealed) {
            Ok(content) => Some((
                p.id,
                pseudonym(ring.match_key(), &content).map_or_else(Vec::new, |h| h.to_vec()),
            )),
            Err(OpenError::Damaged) => Some((p.id, Vec::new())),
            Err(OpenError::NoMatchingKey) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use avondronde_shared::care::{ParentsReaction, Reception};
    use jiff::civil::date;
    use rstest::rstest;

    fn form(name: &str, birth: Birth) -> CareFormContent {
        CareFormContent {
            child_name: name.into(),
            birth,
            address: String::new(),
            reception: Reception::Warm,
            siblings_present: true,
            parents_reaction: ParentsReaction::Worried,
            parents_informed: true,
            signals: vec![],
            narrative: String::new(),
        }
    }

    /// The app turns "03-04-2016" and "3-4-2016" into the same date; the name is the hard part.
    fn d(day: i8, month: i8, year: i16) -> Birth {
        Birth::Date(date(year, month, day))
    }

    const KEY: [u8; 32] = [7; 32];

    #[rstest]
    #[case::issue_5_spacing_and_case(
        "Yassin el Amrani",
        d(3, 4, 2016),
        "yassin  El Amrani",
        d(3, 4, 2016),
        true
    )]
    #[case::diacritics("Zoë Öztürk", d(1, 12, 2015), "Zoe Ozturk", d(1, 12, 2015), true)]
    #[case::hyphen_and_apostrophe(
        "Anne-Fleur van 't Hof",
        d(9, 9, 2014),
        "anne fleur van t hof",
        d(9, 9, 2014),
        true
    )]
    #[case::edges_and_tabs(
        " Noah\tde Vries ",
        d(2, 2, 2017),
        "noah de vries",
        d(2, 2, 2017),
        true
    )]
    #[case::issue_5_sibling_same_surname(
        "Yassin el Amrani",
        d(3, 4, 2016),
        "Samira el Amrani",
        d(12, 9, 2014),
        false
    )]
    #[case::twin_same_birth_date(
        "Yassin el Amrani",
        d(3, 4, 2016),
        "Ilias el Amrani",
        d(3, 4, 2016),
        false
    )]
    #[case::same_name_other_birth_date(
        "Daan Jansen",
        d(5, 6, 2015),
        "Daan Jansen",
        d(5, 6, 2016),
        false
    )]
    fn matches_on_normalised_name_and_birth_date(
        #[case] a: &str,
        #[case] a_birth: Birth,
        #[case] b: &str,
        #[case] b_birth: Birth,
        #[case] same: bool,
    ) {
        let pa = pseudonym(&KEY, &form(a, a_birth)).expect("pseudonym");
        let pb = pseudonym(&KEY, &form(b, b_birth)).expect("pseudonym");
        assert_eq!(pa == pb, same);
    }

    #[test]
    fn no_pseudonym_without_a_birth_date_and_another_key_gives_another_pseudonym() {
        assert_eq!(pseudonym(&KEY, &form("Daan", Birth::EstimatedAge(9))), None);
        assert_eq!(pseudonym(&KEY, &form("  ", d(1, 1, 2015))), None);
        let f = form("Daan Jansen", d(5, 6, 2015));
        assert_ne!(pseudonym(&KEY, &f), pseudonym(&[8; 32], &f));
    }

    #[test]
    fn normalisation_examples() {
        assert_eq!(normalise_name("  YASSIN   el-Amrani "), "yassin el amrani");
        assert_eq!(normalise_name("Çelik Şahin"), "celik sahin");
    }
}
