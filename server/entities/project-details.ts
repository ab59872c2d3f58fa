/** The `details` JSON of a project, exactly as the original stored it (SPEC §4). */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
}

export interface ProjectResources {
  alb_ip: string;
  web_url: string;
  db_vip: string;
  ssh_targets: SshTarget[];
  [extra: string]: unknown;
}

export interface ProjectDetails {
  input: {
    serviceName: string;
    userName: string;
    config: Record<string, unknown>;
    targetInfra: Record<string, unknown>;
  };
  config: Record<string, unknown>;
  infra: Record<string, unknown> & { type: string };
  status: string;
  logs: string[];
  resources: ProjectResources | null;
  error: { message: string } | null;
}
