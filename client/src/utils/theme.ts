/**
 * The colour theme preference: `light` (the original look, the default) or `dark`. It is
 * remembered in localStorage and applied as `data-theme` on <html> — client/src/styles/theme.css
 * holds the dark palette — and as the `color-scheme` meta, so that form controls and scrollbars
 * follow. No Vue here: the GraphQL playground page (client/src/playground) reads it too.
 */
import { readStored, writeStored } from './storage';

export const THEMES = ['light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];
export const DEFAULT_THEME: Theme = 'light';
export const THEME_STORAGE_KEY = 'hcmp.theme';

export function isTheme(value: unknown): value is Theme {
  return typeof value === 'string' && (THEMES as readonly string[]).includes(value);
}

/** The remembered theme, or the default. */
export function rememberedTheme(): Theme {
  const stored = readStored(THEME_STORAGE_KEY);
  return isTheme(stored) ? stored : DEFAULT_THEME;
}

/** Shows `theme` on this page (without remembering it). */
export function applyTheme(theme: Theme): void {
  const root = document.documentElement;
  root.dataset.theme = theme;
  root.style.colorScheme = theme;
  document.querySelector('meta[name="color-scheme"]')?.setAttribute('content', theme);
}

/** Shows `theme` and remembers it for every page of the console. */
export function saveTheme(theme: Theme): void {
  writeStored(THEME_STORAGE_KEY, theme);
  applyTheme(theme);
}
