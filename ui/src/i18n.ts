// The one catalogue every user-visible string comes from. Keys live in src-tauri/i18n/ui.toml; the map is
// what the Rust `catalogue` command returns for the current language.
let strings: Record<string, string> = {};
let lang: 'en' | 'es' = 'en';

export function setCatalogue(map: Record<string, string>, language?: 'en' | 'es'): void {
  strings = map;
  if (language) lang = language;
  document.documentElement.lang = lang;
}

export function language(): 'en' | 'es' {
  return lang;
}

/** The string for `key` with `{name}` placeholders filled in; a missing key shows the key itself. */
export function t(key: string, vars?: Record<string, string | number>): string {
  const s = strings[key] ?? key;
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** A BCP 47 tag for dates and numbers: the OS locale when it speaks the UI language, else the language. */
export function locale(): string {
  const nav = typeof navigator !== 'undefined' ? navigator.language : '';
  if (nav && nav.toLowerCase().startsWith(lang)) return nav;
  return lang === 'es' ? 'es-ES' : 'en-GB';
}
