//! The one catalogue of user-visible texts, in English and Spanish.
//!
//! `i18n/app.toml` holds the texts the Rust side shows (tray, notifications, errors) and
//! `i18n/ui.toml` the web UI's; both are compiled in. A key is a dotted path to a table with
//! an `en` and an `es` string; `{name}` in a text is replaced by the value named `name`.

use std::collections::HashMap;

use clickdial_agent::Language;
use serde::Serialize;

/// The catalogue files, compiled into the binary.
const SOURCES: [(&str, &str); 2] = [
    ("app.toml", include_str!("../i18n/app.toml")),
    ("ui.toml", include_str!("../i18n/ui.toml")),
];

/// A language the app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// The language chosen in the settings; `Auto` follows the OS locale.
    pub fn resolve(setting: Language) -> Lang {
        match setting {
            Language::En => Lang::En,
            Language::Es => Lang::Es,
            Language::Auto => Lang::from_locale(sys_locale::get_locale().as_deref()),
        }
    }

    /// Spanish for any `es` locale (`es-ES`, `es_MX.UTF-8`), English otherwise.
    pub fn from_locale(locale: Option<&str>) -> Lang {
        match locale {
            Some(locale) if locale.to_ascii_lowercase().starts_with("es") => Lang::Es,
            _ => Lang::En,
        }
    }
}

/// Why a catalogue file cannot be used (caught by the tests, never at an agent's desk).
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The file is not TOML.
    #[error("{file}: {source}")]
    Parse {
        /// The catalogue file.
        file: &'static str,
        /// The parser's reason.
        source: toml::de::Error,
    },
    /// A table is neither a text (`en` + `es` strings) nor a group of texts.
    #[error("{file}: `{key}` must have exactly the string keys `en` and `es`")]
    Shape {
        /// The catalogue file.
        file: &'static str,
        /// The dotted key.
        key: String,
    },
    /// Two files define the same key.
    #[error("`{key}` is defined twice")]
    Duplicate {
        /// The dotted key.
        key: String,
    },
}

/// Every text in both languages.
#[derive(Debug, Clone)]
pub struct Catalogue {
    texts: HashMap<String, [String; 2]>,
}

impl Catalogue {
    /// The compiled-in catalogue.
    pub fn builtin() -> Catalogue {
        Catalogue::parse(&SOURCES).expect("the compiled-in catalogue is valid (see its tests)")
    }

    /// Reads catalogue files given as `(name, text)`.
    pub fn parse(sources: &[(&'static str, &str)]) -> Result<Catalogue, CatalogueError> {
        let mut texts = HashMap::new();
        for (file, text) in sources {
            let table: toml::Table =
                toml::from_str(text).map_err(|source| CatalogueError::Parse { file, source })?;
            collect(file, "", &table, &mut texts)?;
        }
        Ok(Catalogue { texts })
    }

    /// The text `key` in `lang` with `{name}` placeholders filled from `vars`; a missing key
    /// shows as the key itself so a gap is visible, not fatal.
    pub fn text(&self, lang: Lang, key: &str, vars: &[(&str, &str)]) -> String {
        let Some(pair) = self.texts.get(key) else {
            tracing::warn!(key, "missing catalogue text");
            return key.to_owned();
        };
        fill(&pair[lang as usize], vars)
    }

    /// Every text in `lang`, for the web UI.
    pub fn all(&self, lang: Lang) -> HashMap<String, String> {
        self.texts
            .iter()
            .map(|(key, pair)| (key.clone(), pair[lang as usize].clone()))
            .collect()
    }
}

/// Adds the texts under `table` (at dotted `prefix`) to `texts`.
fn collect(
    file: &'static str,
    prefix: &str,
    table: &toml::Table,
    texts: &mut HashMap<String, [String; 2]>,
) -> Result<(), CatalogueError> {
    // A text's values are strings; a group's are tables (a group may be named `en`).
    let is_text = table.values().any(|v| !v.is_table());
    if is_text {
        let shape = || CatalogueError::Shape {
            file,
            key: prefix.to_owned(),
        };
        let en = table
            .get("en")
            .and_then(toml::Value::as_str)
            .ok_or_else(shape)?;
        let es = table
            .get("es")
            .and_then(toml::Value::as_str)
            .ok_or_else(shape)?;
        if table.len() != 2 || en.trim().is_empty() || es.trim().is_empty() {
            return Err(shape());
        }
        if texts
            .insert(prefix.to_owned(), [en.to_owned(), es.to_owned()])
            .is_some()
        {
            return Err(CatalogueError::Duplicate {
                key: prefix.to_owned(),
            });
        }
        return Ok(());
    }
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(inner) => collect(file, &key, inner, texts)?,
            _ => return Err(CatalogueError::Shape { file, key }),
        }
    }
    Ok(())
}

/// Replaces each `{name}` in `text` with its value; unknown placeholders stay as they are.
fn fill(text: &str, vars: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalogue_is_complete_and_placeholders_match() {
        let catalogue = Catalogue::parse(&SOURCES).unwrap();
        assert!(catalogue.texts.len() > 50);
        let placeholders = |text: &str| {
            let mut names: Vec<String> = text
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
                .collect();
            names.sort();
            names
        };
        for (key, [en, es]) in &catalogue.texts {
            assert_eq!(placeholders(en), placeholders(es), "placeholders of {key}");
        }
    }

    #[test]
    fn texts_fill_placeholders_in_each_language() {
        let catalogue = Catalogue::builtin();
        assert_eq!(
            catalogue.text(Lang::En, "progress.agent_ringing", &[("extension", "10")]),
            "Ringing your phone (10)…"
        );
        assert_eq!(
            catalogue.text(
                Lang::Es,
                "progress.agent_answered",
                &[("number", "932 00 90 00")]
            ),
            "Llamando al 932 00 90 00…"
        );
        assert_eq!(catalogue.text(Lang::Es, "no.such.key", &[]), "no.such.key");
    }

    #[test]
    fn broken_catalogues_are_refused() {
        let err = Catalogue::parse(&[("x.toml", "[a]\nen = \"A\"\n")]).unwrap_err();
        assert!(err.to_string().contains("`a`"), "{err}");
        let err = Catalogue::parse(&[("x.toml", "[a]\nen = \"A\"\nes = \"\"\n")]).unwrap_err();
        assert!(matches!(err, CatalogueError::Shape { .. }), "{err}");
        let twice = "[a]\nen = \"A\"\nes = \"A\"\n";
        let err = Catalogue::parse(&[("x.toml", twice), ("y.toml", twice)]).unwrap_err();
        assert!(matches!(err, CatalogueError::Duplicate { .. }), "{err}");
    }

    #[test]
    fn locales_pick_the_language() {
        assert_eq!(Lang::from_locale(Some("es-ES")), Lang::Es);
        assert_eq!(Lang::from_locale(Some("es_MX.UTF-8")), Lang::Es);
        assert_eq!(Lang::from_locale(Some("en-GB")), Lang::En);
        assert_eq!(Lang::from_locale(Some("ca-ES")), Lang::En);
        assert_eq!(Lang::from_locale(None), Lang::En);
    }

    /// The `.ts` files under `dir`, tests excluded.
    fn sources(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("ui/src exists") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "ts")
                && !path.to_string_lossy().ends_with(".test.ts")
            {
                found.push(path);
            }
        }
    }

    /// The keys of the `t('key')` and `t("key")` calls in `source`.
    fn keys_used(source: &str) -> Vec<&str> {
        let mut keys = Vec::new();
        for (at, _) in source.match_indices("t(") {
            let before = source[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || "_$.".contains(c)) {
                continue;
            }
            let rest = &source[at + 2..];
            let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') else {
                continue;
            };
            if let Some((key, _)) = rest[1..].split_once(quote) {
                keys.push(key);
            }
        }
        keys
    }

    #[test]
    fn key_scanning_skips_other_calls() {
        let source = "t('ui.a'); get('x'); t(\"ui.b\", { n }); obj.t('no'); set('y')";
        assert_eq!(keys_used(source), ["ui.a", "ui.b"]);
    }

    /// Every `t('key')` in the web UI's sources exists in the catalogue.
    #[test]
    fn every_key_the_ui_uses_exists() {
        let catalogue = Catalogue::builtin();
        let mut files = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src"),
            &mut files,
        );
        let mut missing = Vec::new();
        let mut checked = 0;
        for path in files {
            let source = std::fs::read_to_string(&path).unwrap();
            for key in keys_used(&source) {
                checked += 1;
                if !catalogue.texts.contains_key(key) {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(checked > 50, "found only {checked} t('…') calls in ui/src");
        assert!(
            missing.is_empty(),
            "keys missing from the catalogue: {missing:#?}"
        );
    }
}
