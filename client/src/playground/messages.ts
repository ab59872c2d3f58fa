/**
 * The playground's texts, from the console's message files (section `playground`): Korean is
 * bundled, English is fetched when the console's language is English. `{name}` interpolates,
 * as in vue-i18n.
 */
import ko from '../i18n/ko';
import type { MessageSchema } from '../i18n/ko';

type PlaygroundMessages = MessageSchema['playground'];
let messages: PlaygroundMessages = ko.playground;

export async function loadMessages(locale: 'ko' | 'en'): Promise<void> {
  messages = locale === 'en' ? (await import('../i18n/en')).default.playground : ko.playground;
}

/** `playground.<name>` with `{param}`s filled in. */
export function t(key: `playground.${keyof PlaygroundMessages}`, params: Record<string, string> = {}): string {
  const text = messages[key.slice('playground.'.length) as keyof PlaygroundMessages];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => params[name] ?? whole);
}
