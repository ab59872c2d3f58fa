import { describe, expect, it } from 'vitest';
import { hostsOfCidr } from '../../server/services/workload-pool.js';

describe('workload pool seeding', () => {
  it('names hosts by their offset and leaves out network and broadcast addresses', () => {
    const hosts = hostsOfCidr('192.168.40.0/24', 'vsphere');
    expect(hosts).toHaveLength(254);
    expect(hosts[0]).toEqual({ vmName: 'WKLD-1', ipAddress: '192.168.40.1', infra: 'vsphere' });
    expect(hosts.find((h) => h.ipAddress === '192.168.40.20')?.vmName).toBe('WKLD-20');
    expect(hosts.at(-1)?.ipAddress).toBe('192.168.40.254');
  });

  it('aligns a CIDR written with host bits to its network', () => {
    const hosts = hostsOfCidr('10.99.0.77/29', 'aws');
    expect(hosts.map((h) => h.ipAddress)).toEqual(['10.99.0.73', '10.99.0.74', '10.99.0.75', '10.99.0.76', '10.99.0.77', '10.99.0.78']);
  });

  it('handles a /16 across octets', () => {
    const hosts = hostsOfCidr('10.1.0.0/16', 'aws');
    expect(hosts).toHaveLength(65534);
    expect(hosts[255].ipAddress).toBe('10.1.1.0');
    expect(new Set(hosts.map((h) => h.ipAddress)).size).toBe(hosts.length);
  });
});
