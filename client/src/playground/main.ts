/**
 * The GraphQL playground at /playground: GraphiQL 5 with its Monaco editors, bundled by Vite and
 * served by our own server, like everything else (no CDN, no web font, no worker from
 * elsewhere; the fonts GraphiQL uses are data: URLs inside its CSS). Its own Vite entry, so
 * none of this is part of the console's first load.
 *
 * It reads the console's session, language and theme from localStorage, sends the token with
 * every request and subscription (fetcher.ts), and accepts `?query=` (and `?variables=`) to
 * open with an operation.
 */
import './monaco-workers';
import 'graphiql/style.css';
import '../styles/fonts.css';
import './playground.css';
import { GraphiQL } from 'graphiql';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { applyTheme, rememberedTheme, THEME_STORAGE_KEY } from '../utils/theme';
import { SESSION_KEY, storedLocale, storedSession } from './console-state';
import { EditorFont } from './editor-font';
import { createPlaygroundFetcher } from './fetcher';
import { loadMessages, t } from './messages';

function byTestId<T extends HTMLElement>(id: string): T {
  return document.querySelector<T>(`[data-testid="${id}"]`)!;
}

/** The bar above GraphiQL: who the requests are sent as, and the way back to the console. */
function renderBar(): void {
  const session = storedSession();
  byTestId('playground-title').textContent = t('playground.title');
  byTestId('playground-session').textContent = session ? t('playground.signedInAs', { name: session.username }) : t('playground.signedOut');
  const signIn = byTestId('playground-sign-in');
  signIn.textContent = t('playground.signIn');
  signIn.hidden = session !== null;
  byTestId('playground-back').textContent = t('playground.backToConsole');
  byTestId('playground-console-link').title = t('playground.backToConsole');
}

function defaultQuery(): string {
  const comment = [t('playground.intro'), t('playground.introToken'), t('playground.introRun')].map((line) => `# ${line}`).join('\n');
  return `${comment}\n\nquery Me {\n  me {\n    username\n    role\n  }\n}\n`;
}

async function start(): Promise<void> {
  const theme = rememberedTheme();
  applyTheme(theme);
  const locale = storedLocale();
  document.documentElement.lang = locale;
  await loadMessages(locale);
  document.title = `${t('playground.title')} | H-CMP`;
  renderBar();
  window.addEventListener('storage', (event) => {
    if (event.key === SESSION_KEY) renderBar();
    if (event.key === THEME_STORAGE_KEY) window.location.reload();
  });

  const params = new URLSearchParams(window.location.search);
  createRoot(byTestId('playground')).render(
    createElement(
      GraphiQL,
      {
        fetcher: createPlaygroundFetcher(),
        // One theme for the whole portal: the console's preference, not GraphiQL's own switch.
        forcedTheme: theme,
        defaultQuery: defaultQuery(),
        initialQuery: params.get('query') ?? undefined,
        initialVariables: params.get('variables') ?? undefined,
        // The token is added by the fetcher; headers typed here are not kept in localStorage.
        shouldPersistHeaders: false,
      },
      createElement(EditorFont),
    ),
  );
}

void start();
