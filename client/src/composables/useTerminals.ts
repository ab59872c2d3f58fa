/**
 * The terminals open in the console, shared by every page: a Terminal button (on /monitoring,
 * in /history's expanded rows) adds one, the dock (components/terminal/TerminalDock.vue, loaded
 * only once one is open) shows them as tabs. They outlive the page they were opened from and
 * close when the session ends or another account signs in (the server would end them anyway).
 */
import { computed, ref, shallowRef, watch } from 'vue';
import { currentSession } from '../graphql/auth-token';

export interface TerminalTarget {
  projectId: number;
  host: string;
  /** What the tab says besides the address (the VM's name, or the project's). */
  name: string;
}

export interface OpenTerminal extends TerminalTarget {
  /** Tells tabs apart; a new one each time a target is opened. */
  key: string;
}

const terminals = shallowRef<OpenTerminal[]>([]);
const active = ref<string | null>(null);
let opened = 0;

watch(
  () => currentSession.value?.username ?? null,
  (now, before) => {
    if (now === before) return;
    terminals.value = [];
    active.value = null;
  },
);

/** Shows the target's terminal: the one already open for it, or a new one. */
function open(target: TerminalTarget): void {
  const existing = terminals.value.find((t) => t.projectId === target.projectId && t.host === target.host);
  if (existing) {
    active.value = existing.key;
    return;
  }
  const terminal: OpenTerminal = { ...target, key: `terminal-${++opened}` };
  terminals.value = [...terminals.value, terminal];
  active.value = terminal.key;
}

function close(key: string): void {
  const index = terminals.value.findIndex((t) => t.key === key);
  if (index < 0) return;
  terminals.value = terminals.value.filter((t) => t.key !== key);
  if (active.value === key) active.value = terminals.value[Math.min(index, terminals.value.length - 1)]?.key ?? null;
}

export function useTerminals() {
  return {
    terminals,
    active,
    hasTerminals: computed(() => terminals.value.length > 0),
    open,
    close,
    select: (key: string) => {
      active.value = key;
    },
  };
}
