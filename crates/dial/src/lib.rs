//! Phone numbers for click-to-dial: from any text or link to the exact digits Asterisk dials.
//!
//! The path of a number:
//!
//! 1. [`read_input`]: a `tel:`/`callto:`/`sip:` link ([`parse_uri`]) or free text
//!    ([`extract`]) becomes ranked [`Candidates`]; [`Candidates::best`] says when there is no
//!    number or several equally good ones.
//! 2. [`DialRules::render`]: the chosen [`Number`] becomes a [`Dial`] whose [`Destination`]
//!    holds only digits, `*`, `#` and a leading `+`, so it is safe in an AMI `Exten:` header.
//! 3. [`Policy::check`]: deny/allow patterns, number kinds, international calls and length.
//!
//! [`prepare`] runs all three.
//!
//! Number knowledge comes from rlibphonenumber, a Rust port of Google's libphonenumber
//! chosen over the `phonenumber` crate after trying both: only it has the text matcher
//! (finding numbers inside free text), it reads "+44 (0)20 …" and Arabic-Indic or fullwidth
//! digits correctly where `phonenumber` did not, it tells number types apart (premium rate,
//! toll free, mobile) for the policy, and its metadata is newer.
//!
//! ```
//! use clickdial_dial::{Country, DialPrefix, DialRules, Policy, prepare};
//!
//! let rules = DialRules {
//!     outside_prefix: DialPrefix::new("0").unwrap(),
//!     ..DialRules::new(Country::new("ES").unwrap())
//! };
//! let dial = prepare("Tel.: +44 (0)20 7946 0018", &rules, &Policy::default()).unwrap();
//! assert_eq!(dial.destination.as_str(), "000442079460018");
//! ```

mod destination;
mod extract;
mod input;
mod number;
mod pattern;
mod policy;
mod rules;
mod uri;

pub use destination::{Destination, DestinationError, MAX_DESTINATION_LEN};
pub use extract::{Candidate, Candidates, ExtractError, MAX_TEXT_LEN, extract};
pub use input::{DialError, prepare, read_input, warm_up};
pub use number::{Country, CountryError, MAX_SHORT_LEN, Number, NumberKind, Phone, ShortCode};
pub use pattern::{Pattern, PatternError};
pub use policy::{DEFAULT_MAX_LEN, Policy, Refusal};
pub use rules::{
    DEFAULT_INTERNAL_MAX_LEN, Dial, DialPrefix, DialRules, NumberPrefix, PrefixError, RenderError,
    RewriteRule,
};
pub use uri::{MAX_URI_LEN, UriError, is_phone_link, parse_uri};
