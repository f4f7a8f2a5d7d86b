//! What a text or a link names: a phone [`Number`] understood through libphonenumber's
//! metadata, or a short code such as an internal extension; and the [`Country`] it is read in.

use std::fmt;
use std::str::FromStr;

use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumberFormat, PhoneNumberType, Region};
use serde::{Deserialize, Serialize};

/// The longest short code (internal extension, service code) accepted, in characters.
pub const MAX_SHORT_LEN: usize = 15;

/// A country (an ISO 3166 region code such as `ES`) that libphonenumber has metadata for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country {
    region: Region,
    calling_code: u16,
}

/// Why a string is not a [`Country`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a country code libphonenumber knows; use two letters such as ES, US or GB")]
pub struct CountryError(pub String);

impl Country {
    /// Looks up a two-letter region code, in either case (`"es"`, `"ES"`).
    pub fn new(code: &str) -> Result<Country, CountryError> {
        let error = || CountryError(code.chars().take(16).collect());
        let region = Region::from_code(&code.to_ascii_uppercase()).map_err(|_| error())?;
        let calling_code = PHONE_NUMBER_UTIL
            .get_country_code_for_region(region)
            .and_then(|c| u16::try_from(c).ok())
            .ok_or_else(error)?;
        Ok(Country {
            region,
            calling_code,
        })
    }

    /// The country calling code, e.g. 34 for Spain.
    pub fn calling_code(&self) -> u16 {
        self.calling_code
    }

    /// The two-letter code, e.g. `"ES"`.
    pub fn code(&self) -> String {
        self.region.as_region_str().as_str().to_owned()
    }

    /// The libphonenumber region, for the modules of this crate.
    pub(crate) fn region(&self) -> Region {
        self.region
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

impl FromStr for Country {
    type Err = CountryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Country::new(s)
    }
}

impl TryFrom<String> for Country {
    type Error = CountryError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Country::new(&value)
    }
}

impl From<Country> for String {
    fn from(value: Country) -> Self {
        value.code()
    }
}

/// What kind of line a number reaches, as libphonenumber's metadata tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    /// A landline.
    FixedLine,
    /// A mobile phone.
    Mobile,
    /// Either; the numbering plan does not tell them apart (e.g. the US).
    FixedLineOrMobile,
    /// Free for the caller (US 800, Spain 900).
    TollFree,
    /// Charged above the normal rate (US 900, Spain 803/806/807, UK 09).
    PremiumRate,
    /// Cost shared between caller and callee (UK 084x, Spain 901/902).
    SharedCost,
    /// A VoIP service number.
    Voip,
    /// A personal number that forwards anywhere (UK 070).
    PersonalNumber,
    /// A pager.
    Pager,
    /// A company's universal access number.
    Uan,
    /// A voicemail access number.
    Voicemail,
    /// Not in any known range of the numbering plan.
    Unknown,
}

impl From<PhoneNumberType> for NumberKind {
    fn from(value: PhoneNumberType) -> Self {
        match value {
            PhoneNumberType::FixedLine => NumberKind::FixedLine,
            PhoneNumberType::Mobile => NumberKind::Mobile,
            PhoneNumberType::FixedLineOrMobile => NumberKind::FixedLineOrMobile,
            PhoneNumberType::TollFree => NumberKind::TollFree,
            PhoneNumberType::PremiumRate => NumberKind::PremiumRate,
            PhoneNumberType::SharedCost => NumberKind::SharedCost,
            PhoneNumberType::VoIP => NumberKind::Voip,
            PhoneNumberType::PersonalNumber => NumberKind::PersonalNumber,
            PhoneNumberType::Pager => NumberKind::Pager,
            PhoneNumberType::UAN => NumberKind::Uan,
            PhoneNumberType::VoiceMail => NumberKind::Voicemail,
            PhoneNumberType::Unknown => NumberKind::Unknown,
        }
    }
}

impl fmt::Display for NumberKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumberKind::FixedLine => "fixed-line",
            NumberKind::Mobile => "mobile",
            NumberKind::FixedLineOrMobile => "fixed-line or mobile",
            NumberKind::TollFree => "toll-free",
            NumberKind::PremiumRate => "premium-rate",
            NumberKind::SharedCost => "shared-cost",
            NumberKind::Voip => "VoIP",
            NumberKind::PersonalNumber => "personal",
            NumberKind::Pager => "pager",
            NumberKind::Uan => "universal access",
            NumberKind::Voicemail => "voicemail",
            NumberKind::Unknown => "unknown-range",
        })
    }
}

/// A phone number with its country code, as libphonenumber parsed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Phone {
    number: rlibphonenumber::PhoneNumber,
}

impl Phone {
    /// Wraps a parsed number; the extension, if any, must be digits only.
    pub(crate) fn from_parsed(mut number: rlibphonenumber::PhoneNumber) -> Phone {
        number.extension = number
            .extension
            .take()
            .map(|ext| PHONE_NUMBER_UTIL.normalize_digits_only(&ext))
            .filter(|ext| !ext.is_empty());
        Phone { number }
    }

    /// Parses a number written with a country code (`+34 93…`) or in `country`'s national format.
    pub(crate) fn parse(text: &str, country: Country) -> Option<Phone> {
        PHONE_NUMBER_UTIL
            .parse(text, Some(country.region()))
            .ok()
            .map(Phone::from_parsed)
    }

    /// The same number with `extension` (digits only) behind it.
    pub(crate) fn with_extension(mut self, extension: String) -> Phone {
        self.number.extension = Some(extension);
        self
    }

    /// The number in E.164 form without extension, e.g. `"+34932009000"`.
    pub fn e164(&self) -> String {
        format!("+{}{}", self.country_code(), self.national_number())
    }

    /// The country calling code, e.g. 34.
    pub fn country_code(&self) -> u16 {
        u16::try_from(self.number.country_code).unwrap_or(0)
    }

    /// The national significant number, digits only, e.g. `"932009000"`.
    pub fn national_number(&self) -> String {
        self.number.get_national_significant_number()
    }

    /// The extension (digits only) given after the number, e.g. `"12"` for "ext. 12".
    pub fn extension(&self) -> Option<&str> {
        self.number.extension.as_deref()
    }

    /// The country the number belongs to, when its ranges tell (none for +800 and the like).
    pub fn country(&self) -> Option<Country> {
        let region = self.number.get_region_code()?;
        Country::new(region.as_region_str().as_str()).ok()
    }

    /// The kind of line, e.g. [`NumberKind::PremiumRate`].
    pub fn kind(&self) -> NumberKind {
        self.number.get_type().into()
    }

    /// Whether the number lies in an assigned range of its country's numbering plan.
    pub fn is_valid(&self) -> bool {
        self.number.is_valid()
    }

    /// The number as it is written for people: `+34 932 00 90 00`.
    pub fn international(&self) -> String {
        let mut bare = self.number.clone();
        bare.extension = None;
        bare.format_as(PhoneNumberFormat::International)
            .into_owned()
    }

    /// The number without extension, formatted for dialing from `home` (national, or with an
    /// international prefix), with all formatting characters left in.
    pub(crate) fn formatted_from(&self, home: Country) -> String {
        let mut bare = self.number.clone();
        bare.extension = None;
        bare.format_out_of_country_calling_number(home.region())
            .into_owned()
    }
}

/// Keeps the ASCII digits of `text`.
pub(crate) fn digits_only(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// A short code: an internal extension or a service number, digits with `*` and `#`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShortCode {
    code: String,
}

impl ShortCode {
    /// Accepts 1 to 15 characters of ASCII digits, `*` and `#`, with at least one digit.
    pub(crate) fn new(code: &str) -> Option<ShortCode> {
        let ok = !code.is_empty()
            && code.len() <= MAX_SHORT_LEN
            && code
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
            && code.bytes().any(|b| b.is_ascii_digit());
        ok.then(|| ShortCode {
            code: code.to_owned(),
        })
    }

    /// The code, e.g. `"2001"` or `"*97"`.
    pub fn as_str(&self) -> &str {
        &self.code
    }
}

/// What an input names: a full phone number, or a short code the dial rules decide about.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    /// A number libphonenumber parsed, with its country code.
    Phone(Phone),
    /// Digits that are no phone number of the home country: an internal extension if the dial
    /// rules say so.
    Short(ShortCode),
}

impl Number {
    /// The number as people at `home` write it: national format for a home number
    /// (`932 00 90 00`), international otherwise (`+44 20 7946 0018`), an extension after
    /// ` ext. `, or the short code as it is.
    pub fn for_people(&self, home: Country) -> String {
        match self {
            Number::Phone(phone) => match phone.extension() {
                Some(ext) => format!("{} ext. {ext}", phone.formatted_from(home)),
                None => phone.formatted_from(home),
            },
            Number::Short(code) => code.as_str().to_owned(),
        }
    }

    /// A stable text for comparing and showing: E.164 plus `;ext=…`, or the short code.
    pub fn key(&self) -> String {
        match self {
            Number::Phone(phone) => match phone.extension() {
                Some(ext) => format!("{};ext={ext}", phone.e164()),
                None => phone.e164(),
            },
            Number::Short(code) => code.as_str().to_owned(),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// The JSON shape of a [`Number`]: `{"e164", "extension", "country", "kind", "valid"}` for a
/// phone number, `{"short": "2001"}` for a short code.
impl Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The fields of a phone number as they are shown to scripts.
        #[derive(Serialize)]
        struct PhoneView {
            e164: String,
            extension: Option<String>,
            country: Option<String>,
            kind: NumberKind,
            valid: bool,
        }
        /// A short code as it is shown to scripts.
        #[derive(Serialize)]
        struct ShortView<'a> {
            short: &'a str,
        }
        match self {
            Number::Phone(phone) => PhoneView {
                e164: phone.e164(),
                extension: phone.extension().map(str::to_owned),
                country: phone.country().map(|c| c.code()),
                kind: phone.kind(),
                valid: phone.is_valid(),
            }
            .serialize(serializer),
            Number::Short(code) => ShortView {
                short: code.as_str(),
            }
            .serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_parse_in_either_case_and_know_their_calling_code() {
        assert_eq!(Country::new("es").unwrap().calling_code(), 34);
        assert_eq!(Country::new("US").unwrap().code(), "US");
        let err = Country::new("XX").unwrap_err();
        assert!(err.to_string().contains("\"XX\""), "{err}");
        assert!(Country::new("").is_err());
        assert!(Country::new("ESP").is_err());
    }

    #[test]
    fn phone_numbers_know_their_kind_and_extension() {
        let es = Country::new("ES").unwrap();
        let phone = Phone::parse("+34 93 200 90 00 ext. 12", es).unwrap();
        assert_eq!(phone.e164(), "+34932009000");
        assert_eq!(phone.extension(), Some("12"));
        assert_eq!(phone.kind(), NumberKind::FixedLine);
        assert_eq!(phone.country(), Some(es));
        let premium = Phone::parse("+1 900 555 0123", es).unwrap();
        assert_eq!(premium.kind(), NumberKind::PremiumRate);
    }

    #[test]
    fn numbers_are_shown_as_people_at_home_write_them() {
        let es = Country::new("ES").unwrap();
        let home = Number::Phone(Phone::parse("+34932009000", es).unwrap());
        assert_eq!(home.for_people(es), "932 00 90 00");
        let abroad = Number::Phone(Phone::parse("+44 20 7946 0018", es).unwrap());
        assert_eq!(abroad.for_people(es), "00 44 20 7946 0018");
        let ext = Number::Phone(Phone::parse("+34 93 200 90 00 ext. 12", es).unwrap());
        assert_eq!(ext.for_people(es), "932 00 90 00 ext. 12");
        assert_eq!(
            Number::Short(ShortCode::new("*97").unwrap()).for_people(es),
            "*97"
        );
    }

    #[test]
    fn italian_leading_zero_is_kept() {
        let it = Phone::parse("+39 06 6982 1234", Country::new("ES").unwrap()).unwrap();
        assert_eq!(it.e164(), "+390669821234");
    }

    #[test]
    fn short_codes_are_digits_star_hash() {
        assert!(ShortCode::new("*97").is_some());
        assert!(ShortCode::new("2001").is_some());
        assert!(ShortCode::new("**").is_none());
        assert!(ShortCode::new("12a").is_none());
        assert!(ShortCode::new(&"1".repeat(16)).is_none());
    }
}
