/**
 * The console build's warning filter (client/build-warnings.ts, the `onwarn` of
 * client/vite.config.ts): the playground dependencies' "use client" warnings are dropped, every
 * other warning reaches Vite's own handler unchanged.
 */
import { describe, expect, it, vi } from 'vitest';
import { onBuildWarning } from '../../client/build-warnings.js';

const directive = (id: string, directiveText = 'use client') => ({
  code: 'MODULE_LEVEL_DIRECTIVE',
  id,
  message: `Module level directives cause errors when bundled, "${directiveText}" in "${id}" was ignored.`,
});

function handled(warning: Parameters<typeof onBuildWarning>[0]) {
  const forward = vi.fn();
  onBuildWarning(warning, forward);
  return forward;
}

describe('console build warnings', () => {
  it('drops the module-level directive warnings of dependencies under node_modules', () => {
    for (const id of [
      '/work/main/node_modules/@radix-ui/react-dialog/dist/index.mjs',
      '/work/main/node_modules/@graphiql/react/dist/utility/tabs.js',
      'C:\\app\\node_modules\\framer-motion\\dist\\es\\index.mjs',
    ]) {
      expect(handled(directive(id)), id).not.toHaveBeenCalled();
    }
    expect(handled(directive('/work/main/node_modules/@graphiql/react/dist/utility/debounce.js', 'use no memo'))).not.toHaveBeenCalled();
  });

  it('forwards a module-level directive in our own code', () => {
    const warning = directive('/work/main/client/src/playground/main.ts');
    expect(handled(warning)).toHaveBeenCalledWith(warning);
  });

  it('forwards a directive warning that names no module', () => {
    const warning = { code: 'MODULE_LEVEL_DIRECTIVE', message: 'Module level directives cause errors when bundled' };
    expect(handled(warning)).toHaveBeenCalledWith(warning);
  });

  it('forwards every other warning unchanged, dependencies included', () => {
    for (const warning of [
      { code: 'CIRCULAR_DEPENDENCY', id: '/work/main/node_modules/x/index.js', message: 'Circular dependency' },
      { code: 'EVAL', id: '/work/main/node_modules/y/index.js', message: 'Use of eval is strongly discouraged' },
      { code: 'MISSING_EXPORT', id: '/work/main/client/src/main.ts', message: '"x" is not exported' },
      { message: 'a plugin warning without a code' },
    ]) {
      const forward = handled(warning);
      expect(forward).toHaveBeenCalledTimes(1);
      expect(forward.mock.calls[0][0]).toBe(warning);
    }
  });
});
