// `network_overrides` of vm.restore and vm.receive-migration: a NIC's backend
// replaced by a new one (another TAP, or a UDP tunnel's new addresses), as
// Firecracker's restore allows, so a VM can run beside the one it was saved or
// migrated from, or on another host. Only the backend changes: the guest keeps
// its MAC, MTU and queues, and the device's saved state applies as it is.
import { ConfigError } from '../util/errors.js';
import { validateNet } from './rules.js';
import type { NetConfig, NetworkOverride, VmConfig } from './schema.js';

const TAP_FIELDS = ['tap', 'ip', 'mask'] as const;
const TUNNEL_FIELDS = ['local', 'remote'] as const;

/** The override's fields replace the NIC's; a NIC that changes kind (TAP, UDP tunnel) drops the other kind's fields. */
function overridden(nic: NetConfig, override: NetworkOverride): NetConfig {
  const kept: NetConfig = { ...nic };
  const given = [...TAP_FIELDS, ...TUNNEL_FIELDS].filter((key) => override[key] !== undefined);
  if (given.some((key) => (TAP_FIELDS as readonly string[]).includes(key))) for (const key of TUNNEL_FIELDS) delete kept[key];
  if (given.some((key) => (TUNNEL_FIELDS as readonly string[]).includes(key))) for (const key of TAP_FIELDS) delete kept[key];
  return { ...kept, ...Object.fromEntries(given.map((key) => [key, override[key]])) };
}

/** `config` with each override's backend on the NIC of its id; a ConfigError names an unknown or repeated id. */
export function withNetworkOverrides(config: VmConfig, overrides: readonly NetworkOverride[] = []): VmConfig {
  if (overrides.length === 0) return config;
  const seen = new Set<string>();
  const net = [...(config.net ?? [])];
  overrides.forEach((override, i) => {
    const field = `network_overrides[${i}]`;
    if (seen.has(override.id)) throw new ConfigError(`${field}: NIC "${override.id}" is overridden twice`);
    seen.add(override.id);
    const at = net.findIndex((nic) => nic.id === override.id);
    if (at < 0) {
      const ids = net.map((nic) => nic.id).join(', ') || 'none';
      throw new ConfigError(`${field}: the VM has no NIC "${override.id}" (its NICs: ${ids})`);
    }
    net[at] = overridden(net[at] as NetConfig, override);
    validateNet(net[at] as NetConfig, field);
  });
  return { ...config, net };
}
