/**
 * Rollup warnings the console's build hides (client/vite.config.ts, `build.rollupOptions.onwarn`).
 *
 * The playground's React libraries (@graphiql/react, @radix-ui/*, framer-motion, …) begin their
 * modules with `"use client"` / `"use no memo"`: directives for React Server Components and the
 * React Compiler, which mean nothing in a browser bundle. Rollup drops them and warns once per
 * module — about a hundred lines before anything useful. That one class is dropped here, and only
 * for files under node_modules; a directive in our own code, and every other warning, is passed on
 * unchanged.
 */
import type { Rollup } from 'vite';

const DEPENDENCY = /[\\/]node_modules[\\/]/;

/** True for the known, harmless warning: a module-level directive in a dependency. */
export function isDependencyDirectiveWarning(warning: Rollup.RollupLog): boolean {
  return warning.code === 'MODULE_LEVEL_DIRECTIVE' && typeof warning.id === 'string' && DEPENDENCY.test(warning.id);
}

/** `onwarn` for the build: drops dependencies' module-level directive warnings, forwards the rest. */
export const onBuildWarning: Rollup.WarningHandlerWithDefault = (warning, forward) => {
  if (isDependencyDirectiveWarning(warning)) return;
  forward(warning);
};
