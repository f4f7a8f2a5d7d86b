import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { setCatalogue, t } from '../src/i18n';
import { uiToml } from './helpers';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every 'ui.…' string literal in ui/src: t('…') calls and the key maps (outcomes, test results). */
function usedKeys(): Map<string, string> {
  const used = new Map<string, string>();
  for (const file of sources(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/['"`](ui\.[A-Za-z0-9_.]+)['"`]/g)) used.set(m[1], file);
  }
  return used;
}

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('catalogue (src-tauri/i18n/ui.toml)', () => {
  const toml = uiToml();

  it('has every key the UI uses, in English and Spanish', () => {
    const used = usedKeys();
    expect(used.size).toBeGreaterThan(50);
    const missing = [...used.keys()].filter((k) => !toml[k]?.en?.trim() || !toml[k]?.es?.trim());
    expect(missing).toEqual([]);
  });

  it('has no key the UI does not use', () => {
    const used = usedKeys();
    expect(Object.keys(toml).filter((k) => !used.has(k))).toEqual([]);
  });

  it('is one table per ui.* key with exactly en and es', () => {
    for (const [k, v] of Object.entries(toml)) {
      expect(k.startsWith('ui.'), k).toBe(true);
      expect(Object.keys(v).sort(), k).toEqual(['en', 'es']);
    }
    const keys = Object.keys(toml);
    const nested = keys.filter((a) => keys.some((b) => b !== a && b.startsWith(`${a}.`)));
    expect(nested).toEqual([]);
  });

  it('uses the same placeholders in both languages', () => {
    for (const [k, v] of Object.entries(toml)) expect(placeholders(v.es), k).toEqual(placeholders(v.en));
  });

  it('speaks call-centre Spanish', () => {
    expect(toml['ui.dial.button'].es).toBe('Llamar');
    expect(toml['ui.call.hangup'].es).toBe('Colgar');
    expect(toml['ui.setup.extension'].es).toContain('extensión');
  });
});

describe('t()', () => {
  it('fills placeholders and shows a missing key as itself', () => {
    setCatalogue({ 'ui.x': 'Calling {number}… {other}' }, 'en');
    expect(t('ui.x', { number: '600' })).toBe('Calling 600… {other}');
    expect(t('ui.nope')).toBe('ui.nope');
    expect(document.documentElement.lang).toBe('en');
  });
});
