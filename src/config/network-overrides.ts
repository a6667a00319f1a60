// vm.restore's `network_overrides`: a restored NIC's backend replaced by a
// new one (another TAP, or a UDP tunnel's new addresses), as Firecracker's
// restore allows, so a snapshot can run beside the VM it was taken from or on
// another host. Only the backend changes: the guest keeps its MAC, MTU and
// queues, and the device's saved state applies as it is.
import { ConfigError } from '../util/errors.js';
import { validateNet } from './rules.js';
import type { NetConfig, NetworkOverride, VmConfig } from './schema.js';

const BACKEND_FIELDS = ['tap', 'ip', 'mask', 'local', 'remote'] as const;

function overridden(nic: NetConfig, override: NetworkOverride): NetConfig {
  const kept: NetConfig = { ...nic };
  for (const key of BACKEND_FIELDS) delete kept[key];
  const backend = Object.fromEntries(BACKEND_FIELDS.filter((key) => override[key] !== undefined).map((key) => [key, override[key]]));
  return { ...kept, ...backend };
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
      throw new ConfigError(`${field}: the snapshot has no NIC "${override.id}" (its NICs: ${ids})`);
    }
    net[at] = overridden(net[at] as NetConfig, override);
    validateNet(net[at] as NetConfig, field);
  });
  return { ...config, net };
}
