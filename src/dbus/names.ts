// The D-Bus names tsvmm serves under, checked by the D-Bus specification's
// rules before anything connects: a bad name is a usage error, not a
// refusal from the bus daemon after start-up.
import { ConfigError } from '../util/errors.js';

/** Cloud Hypervisor's interface name; its methods are the REST actions (src/dbus/methods.ts). */
export const DBUS_INTERFACE = 'org.cloudhypervisor.DBusApi1';

const NAME_ELEMENT = /^[A-Za-z_-][A-Za-z0-9_-]*$/;
const PATH_ELEMENT = /^[A-Za-z0-9_]+$/;
const MAX_NAME_LENGTH = 255;

/** A well-known bus name: two or more dot-separated elements of [A-Za-z0-9_-], none starting with a digit. */
export function checkServiceName(name: string): string {
  const problem = name.length === 0 ? 'is empty'
    : name.length > MAX_NAME_LENGTH ? `is longer than ${MAX_NAME_LENGTH} characters`
      : name.startsWith(':') ? 'is a unique connection name (":1.42"); give a well-known name such as org.example.Vmm'
        : name.split('.').length < 2 ? 'needs at least two elements separated by "."'
          : name.split('.').some((element) => !NAME_ELEMENT.test(element))
            ? 'has an empty element, or one with a character outside [A-Za-z0-9_-] or starting with a digit'
            : undefined;
  if (problem) throw new ConfigError(`--dbus-service-name: "${name}" ${problem}`);
  return name;
}

/** An object path: "/" or "/a/b_c" (elements of [A-Za-z0-9_], no empty element, no trailing "/"). */
export function checkObjectPath(path: string): string {
  const valid = path === '/' || (path.startsWith('/') && path.slice(1).split('/').every((element) => PATH_ELEMENT.test(element)));
  if (!valid) {
    throw new ConfigError(`--dbus-object-path: "${path}" is not an object path (e.g. /org/example/Vmm: "/"-separated elements of [A-Za-z0-9_], no trailing "/")`);
  }
  return path;
}

/** The D-Bus method of a REST action, as Cloud Hypervisor names it: vm.add-disk is VmAddDisk, vmm.ping is VmmPing. */
export function methodNameOf(action: string): string {
  return action.split(/[.-]/).map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('');
}

/** A schema id such as DiskConfig as an argument name such as disk_config (Cloud Hypervisor's spelling). */
export function argumentNameOf(schemaId: string): string {
  return schemaId.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}
