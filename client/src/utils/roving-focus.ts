/**
 * Keyboard moves within a row of items that take one stop in the Tab order (a roving tabindex,
 * as the WAI-ARIA authoring practices use for tabs, toolbars and similar composites).
 */

/** Which keys move forward and back: Left/Right for a horizontal row, Up/Down for a vertical one, both for `both`. */
export type RovingOrientation = 'horizontal' | 'vertical' | 'both';

const NEXT: Record<RovingOrientation, string[]> = { horizontal: ['ArrowRight'], vertical: ['ArrowDown'], both: ['ArrowRight', 'ArrowDown'] };
const PREVIOUS: Record<RovingOrientation, string[]> = { horizontal: ['ArrowLeft'], vertical: ['ArrowUp'], both: ['ArrowLeft', 'ArrowUp'] };

/**
 * The index `key` moves to from `index` among `count` items (wrapping at both ends; Home and End
 * go to the first and the last), or null when the key is not one of the moves.
 */
export function rovingIndex(key: string, index: number, count: number, orientation: RovingOrientation = 'horizontal'): number | null {
  if (count <= 0) return null;
  if (key === 'Home') return 0;
  if (key === 'End') return count - 1;
  if (NEXT[orientation].includes(key)) return (index + 1) % count;
  if (PREVIOUS[orientation].includes(key)) return (index - 1 + count) % count;
  return null;
}

/**
 * Keydown on a tab of a `role="tablist"`: Left/Right (Home, End) select the tab they reach and
 * move the focus to it — automatic activation, the same in every tab list of the console.
 */
export function onTabKeydown(event: KeyboardEvent, select: (index: number) => void): void {
  const tab = event.currentTarget;
  if (!(tab instanceof HTMLElement)) return;
  const tabs = Array.from(tab.closest('[role="tablist"]')?.querySelectorAll<HTMLElement>('[role="tab"]') ?? []);
  const next = rovingIndex(event.key, tabs.indexOf(tab), tabs.length);
  if (next === null || tabs.indexOf(tab) < 0) return;
  event.preventDefault();
  select(next);
  tabs[next].focus();
}
