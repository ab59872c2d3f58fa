/**
 * GraphiQL gives its Monaco editors the font "Fira Code" alone (a data: URL in its CSS), which
 * has no Hangul: Korean in an operation, a comment or a result then depends on the machine's
 * fonts, and a server without them shows empty boxes. This adds the console's bundled
 * Noto Sans KR (served by us, fetched only when Korean is shown) after it, for every editor.
 */
import { useMonaco } from '@graphiql/react';
import { useEffect } from 'react';

export const EDITOR_FONT_FAMILY = '"Fira Code", "Noto Sans KR", monospace';

export function EditorFont(): null {
  const monaco = useMonaco((state) => state.monaco);
  useEffect(() => {
    if (!monaco) return undefined;
    const apply = (editor: { updateOptions(options: { fontFamily: string }): void }) => editor.updateOptions({ fontFamily: EDITOR_FONT_FAMILY });
    monaco.editor.getEditors().forEach(apply);
    const created = monaco.editor.onDidCreateEditor(apply);
    return () => created.dispose();
  }, [monaco]);
  return null;
}
