/**
 * What a screen reader reads for a form field, computed from the DOM the way browsers do for
 * the cases the console uses: its name (aria-labelledby, aria-label, a <label for>, a wrapping
 * <label>, a fieldset's legend for a group) and its description (aria-describedby).
 */
import { expect } from 'vitest';

const FIELDS = 'input:not([type="hidden"]), select, textarea';

const textOf = (ids: string | null, doc: Document): string[] =>
  (ids ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((id) => {
      const el = doc.getElementById(id);
      expect(el, `aria reference #${id} points at nothing`).not.toBeNull();
      return (el!.textContent ?? '').trim();
    });

/** The field's accessible name, or '' when it has none. */
export function accessibleName(field: Element): string {
  const doc = field.ownerDocument;
  if (field.hasAttribute('aria-labelledby')) return textOf(field.getAttribute('aria-labelledby'), doc).join(' ');
  const aria = field.getAttribute('aria-label')?.trim();
  if (aria) return aria;
  const id = field.getAttribute('id');
  const byFor = id ? doc.querySelector(`label[for="${id}"]`) : null;
  const label = byFor ?? field.closest('label');
  return (label?.textContent ?? '').trim();
}

/** The text of everything the field's aria-describedby names (each id must exist). */
export function describedText(field: Element): string {
  return textOf(field.getAttribute('aria-describedby'), field.ownerDocument).join(' ');
}

/** Every form field under `root` has a name a screen reader can say; returns how many there were. */
export function expectFieldsLabelled(root: Element): number {
  const fields = [...root.querySelectorAll(FIELDS)];
  const unnamed = fields.filter((f) => !accessibleName(f)).map((f) => f.outerHTML.slice(0, 120));
  expect(unnamed).toEqual([]);
  return fields.length;
}

/**
 * The field is marked invalid and its description carries the error: at least one element it
 * points at is shown as an error, and (when given) holds `text`.
 */
export function expectErrorTied(field: Element, text?: string): void {
  expect(field.getAttribute('aria-invalid'), `${field.outerHTML.slice(0, 120)} is not aria-invalid`).toBe('true');
  const ids = (field.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
  expect(ids.length, `${field.outerHTML.slice(0, 120)} has no aria-describedby`).toBeGreaterThan(0);
  const errors = ids.map((id) => field.ownerDocument.getElementById(id)).filter((el) => el && /(^|\s)(field-error|form-error)(\s|$)/.test(el.className) && el.textContent?.trim());
  expect(errors.length, `${field.outerHTML.slice(0, 120)} is not described by its error`).toBeGreaterThan(0);
  if (text !== undefined) expect(describedText(field)).toContain(text);
}
