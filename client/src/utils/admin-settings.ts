/**
 * The admin settings form and the `AdminSettingsInput` it sends. Secrets are write-only: an
 * empty field sends nothing (unchanged), an explicit "clear" sends "", a typed value sends it.
 */
import type { AdminSettingsInput, AdminSettingsQuery } from '../graphql/generated/operations';

export type AdminSettings = AdminSettingsQuery['adminSettings'];

export const SECRET_FIELDS = ['vcenterPassword', 'awsAccessKey', 'awsSecretKey', 'sshPrivateKey'] as const;
export type SecretField = (typeof SECRET_FIELDS)[number];

export interface SecretState {
  value: string;
  clear: boolean;
}

export interface SettingsForm {
  vcenterIp: string;
  esxiIp: string;
  vcenterUser: string;
  awsRegion: string;
  /** The account runners and reachability checks log in to pool hosts as. */
  sshUser: string;
  maintenanceMode: boolean;
  systemNotice: string;
  maxVcpu: number;
  maxMemory: number;
  secrets: Record<SecretField, SecretState>;
}

/** The `*Set` flag that says whether a secret is stored. */
export const SECRET_SET_FLAG: Record<SecretField, 'vcenterPasswordSet' | 'awsAccessKeySet' | 'awsSecretKeySet' | 'sshPrivateKeySet'> = {
  vcenterPassword: 'vcenterPasswordSet',
  awsAccessKey: 'awsAccessKeySet',
  awsSecretKey: 'awsSecretKeySet',
  sshPrivateKey: 'sshPrivateKeySet',
};

/** A form from the stored settings; secrets always start empty (never prefilled). */
export function formFromSettings(s: Pick<AdminSettings, 'vcenterIp' | 'esxiIp' | 'vcenterUser' | 'awsRegion' | 'sshUser' | 'maintenanceMode' | 'systemNotice' | 'maxVcpu' | 'maxMemory'>): SettingsForm {
  return {
    vcenterIp: s.vcenterIp,
    esxiIp: s.esxiIp,
    vcenterUser: s.vcenterUser,
    awsRegion: s.awsRegion,
    sshUser: s.sshUser,
    maintenanceMode: s.maintenanceMode,
    systemNotice: s.systemNotice,
    maxVcpu: s.maxVcpu,
    maxMemory: s.maxMemory,
    secrets: {
      vcenterPassword: { value: '', clear: false },
      awsAccessKey: { value: '', clear: false },
      awsSecretKey: { value: '', clear: false },
      sshPrivateKey: { value: '', clear: false },
    },
  };
}

/** What one secret sends: "" to clear, the typed value, or nothing at all. */
export function secretInput(state: SecretState): string | undefined {
  if (state.clear) return '';
  return state.value !== '' ? state.value : undefined;
}

export function settingsInput(form: SettingsForm): AdminSettingsInput {
  const input: AdminSettingsInput = {
    vcenterIp: form.vcenterIp.trim(),
    esxiIp: form.esxiIp.trim(),
    vcenterUser: form.vcenterUser.trim(),
    awsRegion: form.awsRegion,
    sshUser: form.sshUser.trim(),
    maintenanceMode: form.maintenanceMode,
    systemNotice: form.systemNotice,
    maxVcpu: Number(form.maxVcpu),
    maxMemory: Number(form.maxMemory),
  };
  for (const field of SECRET_FIELDS) {
    const value = secretInput(form.secrets[field]);
    if (value !== undefined) input[field] = value;
  }
  return input;
}
