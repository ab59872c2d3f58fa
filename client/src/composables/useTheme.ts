/**
 * The console's colour theme (light / dark), shared by every component: the preferences menu
 * switches it, the choice is remembered (utils/theme.ts) and followed across tabs.
 */
import { readonly, ref } from 'vue';
import { applyTheme, isTheme, rememberedTheme, saveTheme, THEME_STORAGE_KEY, THEMES, type Theme } from '../utils/theme';

const theme = ref<Theme>(rememberedTheme());

function setTheme(next: Theme): void {
  theme.value = next;
  saveTheme(next);
}

if (typeof window !== 'undefined') {
  // Another tab changed the preference: follow it.
  window.addEventListener('storage', (event) => {
    if (event.key !== THEME_STORAGE_KEY) return;
    const next = isTheme(event.newValue) ? event.newValue : rememberedTheme();
    theme.value = next;
    applyTheme(next);
  });
}

export function useTheme() {
  return { theme: readonly(theme), themes: THEMES, setTheme };
}
