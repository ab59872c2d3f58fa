/**
 * Watches the processes of Ansible runs on this machine (every process of a run carries
 * HCMP_RUN_DIR and HCMP_PROJECT_ID in its environment; ssh's ControlPersist masters, which write
 * over theirs, carry the run directory in their title): which runs of a project are alive at the
 * same moment, and every command line they had. Samples /proc every `intervalMs`.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface RunProcess {
  pid: number;
  project: number;
  runDir: string;
  argv: string[];
}

/** Every process with HCMP_RUN_DIR in its environment right now. */
export function runProcesses(): RunProcess[] {
  const out: RunProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0').filter(Boolean);
      // ssh's ControlPersist master writes its title over argv and environment: "ssh: <run>/cp/<hash> [mux]".
      const mux = /^ssh: (.+)\/cp\/[0-9a-f]+ \[mux\]$/.exec(argv.join(' '));
      const runDir = env.find((v) => v.startsWith('HCMP_RUN_DIR='))?.slice('HCMP_RUN_DIR='.length) ?? mux?.[1];
      if (!runDir) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      const project = Number(env.find((v) => v.startsWith('HCMP_PROJECT_ID='))?.slice('HCMP_PROJECT_ID='.length) ?? /\/p(\d+)-[^/]*$/.exec(runDir)?.[1]);
      out.push({ pid: Number(entry), project, runDir, argv });
    } catch {
      // gone meanwhile, or not readable
    }
  }
  return out;
}

export interface RunWatch {
  /** For each project: the most distinct run directories seen alive in one sample. */
  maxConcurrentRuns(project: number): number;
  /** The most distinct projects with a running ansible-playbook seen in one sample. */
  maxConcurrentProjects(): number;
  /** Every command line seen. */
  commandLines(): string[];
  samples(): number;
  stop(): void;
}

export function watchRuns(intervalMs = 100): RunWatch {
  const maxRuns = new Map<number, number>();
  let maxProjects = 0;
  const argvs = new Set<string>();
  let samples = 0;
  const sample = () => {
    samples++;
    const byProject = new Map<number, Set<string>>();
    const playbookProjects = new Set<number>();
    for (const p of runProcesses()) {
      argvs.add(p.argv.join(' '));
      const dirs = byProject.get(p.project) ?? new Set<string>();
      dirs.add(p.runDir);
      byProject.set(p.project, dirs);
      if (p.argv.some((a) => a.endsWith('ansible-playbook')) && !p.argv.includes('--list-tasks')) playbookProjects.add(p.project);
    }
    for (const [project, dirs] of byProject) maxRuns.set(project, Math.max(maxRuns.get(project) ?? 0, dirs.size));
    maxProjects = Math.max(maxProjects, playbookProjects.size);
  };
  const timer = setInterval(sample, intervalMs);
  sample();
  return {
    maxConcurrentRuns: (project) => maxRuns.get(project) ?? 0,
    maxConcurrentProjects: () => maxProjects,
    commandLines: () => [...argvs],
    samples: () => samples,
    stop: () => clearInterval(timer),
  };
}
