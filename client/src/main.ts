import { createApp } from 'vue';
import App from './App.vue';
import { useSession } from './composables/useSession';
import { i18n, rememberedLocale, setLocale } from './i18n';
import { createAppRouter } from './router';
import { applyTheme, rememberedTheme } from './utils/theme';
import './styles/fonts.css';
import './styles/theme.css';

async function bootstrap(): Promise<void> {
  // The remembered colour theme (light / dark) before anything is drawn.
  applyTheme(rememberedTheme());
  // The stored session is picked up at once (so the header knows it), `me` loads meanwhile.
  void useSession().restore();
  await setLocale(rememberedLocale());
  const router = createAppRouter();
  createApp(App).use(i18n).use(router).mount('#app');
}

void bootstrap();
