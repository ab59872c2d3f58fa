/** The design state shared by MainUiView and its form sections (provide / inject). */
import { inject, type InjectionKey } from 'vue';
import type { DesignField, useAwsDesign } from '../../composables/useAwsDesign';

export type DesignContext = ReturnType<typeof useAwsDesign>;

export const DESIGN_CONTEXT: InjectionKey<DesignContext> = Symbol('design');

export function useDesignContext(): DesignContext {
  const context = inject(DESIGN_CONTEXT);
  if (!context) throw new Error('design sections need a provided DESIGN_CONTEXT');
  return context;
}

/** The i18n key of a field's server-reported problem. */
export const FIELD_ERROR_KEYS: Partial<Record<DesignField, string>> = {
  nodeCount: 'mainUi.fieldErrors.nodeCount',
  dbSize: 'mainUi.fieldErrors.dbSize',
  serviceName: 'mainUi.nameErrors.pattern',
};
export const INVALID_FIELD_KEY = 'mainUi.fieldErrors.invalid';
