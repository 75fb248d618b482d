//! Enumerations that travel between app and server as stable snake_case codes.
//!
//! A newer app may send a value this server (or an older app) does not know yet. Such a
//! value is kept verbatim in `Other(code)` instead of failing the whole record, so nothing
//! is lost and it can still be counted and shown; validation then decides whether that is
//! acceptable in a given place.

/// Declares a wire enumeration with known variants, a Dutch label per variant and an
/// `Other(String)` catch-all that preserves unknown codes.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $label:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A code this build does not know (sent by a newer app); kept, never dropped.
            Other(String),
        }

        impl $name {
            /// Every variant this build knows, in display order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The stable wire code.
            pub fn code(&self) -> &str {
                match self {
                    $($name::$variant => $code,)+
                    $name::Other(code) => code,
                }
            }

            /// The Dutch label for the UI.
            pub fn label_nl(&self) -> &str {
                match self {
                    $($name::$variant => $label,)+
                    $name::Other(code) => code,
                }
            }

            /// Whether this build knows the value.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl From<String> for $name {
            fn from(code: String) -> Self {
                match code.as_str() {
                    $($code => $name::$variant,)+
                    _ => $name::Other(code),
                }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                match value {
                    $name::Other(code) => code,
                    known => known.code().to_owned(),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label_nl())
            }
        }
    };
}

pub(crate) use wire_enum;
