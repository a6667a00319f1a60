// The D-Bus interface, derived from the REST actions (src/vmm/actions.ts) and
// Cloud Hypervisor's endpoints tsvmm lacks (src/api/paths.ts): one method per
// action, named as Cloud Hypervisor names it, taking the REST body as a JSON
// string and returning the REST reply body as one. Nothing here is written
// per action, so a new action appears on D-Bus by itself.
import type { TSchema } from '@sinclair/typebox';
import { NOT_SUPPORTED_ACTIONS } from '../api/paths.js';
import { ACTIONS, type ActionName, type ActionSpec } from '../vmm/actions.js';
import { argumentNameOf, DBUS_INTERFACE, methodNameOf } from './names.js';

export interface DbusMethod {
  /** The D-Bus member name, e.g. VmAddDisk. */
  name: string;
  /** The REST action behind it, e.g. vm.add-disk. */
  action: string;
  /** The in-argument's name when the method takes the request body as a JSON string ("s"). */
  input?: string;
  /** Whether the method returns a string ("s"): the reply body as JSON, or "" where there is none. */
  returnsString: boolean;
  /** False for Cloud Hypervisor's methods tsvmm does not have: they answer NotSupported. */
  supported: boolean;
}

/**
 * Cloud Hypervisor's signatures: a method returns a string when its REST
 * action has a reply body, and every vm.add-* returns one (the new device's
 * info, empty where there is none, as Cloud Hypervisor's Optional<String>).
 */
function returnsString(action: string, response: TSchema | undefined): boolean {
  return response !== undefined || action.startsWith('vm.add-');
}

function supportedMethod(action: ActionName): DbusMethod {
  const spec: ActionSpec = ACTIONS[action];
  const input = spec.request ? argumentNameOf(String(spec.request.$id ?? 'body')) : undefined;
  return { name: methodNameOf(action), action, ...(input ? { input } : {}), returnsString: returnsString(action, spec.response), supported: true };
}

/** Every one of them takes a JSON body in Cloud Hypervisor. */
function unsupportedMethod(action: string): DbusMethod {
  return { name: methodNameOf(action), action, input: 'body', returnsString: returnsString(action, undefined), supported: false };
}

export const DBUS_METHODS: readonly DbusMethod[] = [
  ...(Object.keys(ACTIONS) as ActionName[]).map(supportedMethod),
  ...[...NOT_SUPPORTED_ACTIONS].map(unsupportedMethod),
].sort((a, b) => a.name.localeCompare(b.name));

const BY_NAME = new Map(DBUS_METHODS.map((method) => [method.name, method]));

export function dbusMethod(name: string): DbusMethod | undefined {
  return BY_NAME.get(name);
}

export function inSignature(method: DbusMethod): string {
  return method.input ? 's' : '';
}

/** The signal that carries each event record, as the event-monitor file writes it (one JSON object). */
export const EVENT_SIGNAL = 'Event';

const DOCTYPE = '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
  + ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">';

const STANDARD_INTERFACES = `  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg name="xml_data" type="s" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId"><arg name="machine_uuid" type="s" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get"><arg name="interface_name" type="s" direction="in"/><arg name="property_name" type="s" direction="in"/><arg name="value" type="v" direction="out"/></method>
    <method name="GetAll"><arg name="interface_name" type="s" direction="in"/><arg name="props" type="a{sv}" direction="out"/></method>
    <method name="Set"><arg name="interface_name" type="s" direction="in"/><arg name="property_name" type="s" direction="in"/><arg name="value" type="v" direction="in"/></method>
  </interface>`;

function methodXml(method: DbusMethod): string {
  const args = [
    ...(method.input ? [`<arg name="${method.input}" type="s" direction="in"/>`] : []),
    ...(method.returnsString ? ['<arg type="s" direction="out"/>'] : []),
  ];
  return args.length === 0 ? `    <method name="${method.name}"/>` : `    <method name="${method.name}">${args.join('')}</method>`;
}

/** The introspection document of the object tsvmm serves. */
export function introspectionXml(): string {
  return [
    DOCTYPE,
    '<node>',
    `  <interface name="${DBUS_INTERFACE}">`,
    ...DBUS_METHODS.map(methodXml),
    `    <signal name="${EVENT_SIGNAL}"><arg name="event" type="s"/></signal>`,
    '  </interface>',
    STANDARD_INTERFACES,
    '</node>',
    '',
  ].join('\n');
}

/** What a parent of the served path sees: one child node on the way to it (D-Bus tools walk the tree from "/"). */
export function parentIntrospectionXml(servedPath: string, path: string): string | undefined {
  const prefix = path === '/' ? '/' : `${path}/`;
  if (!servedPath.startsWith(prefix) || servedPath === path) return undefined;
  const child = servedPath.slice(prefix.length).split('/')[0] as string;
  return [DOCTYPE, '<node>', `  <node name="${child}"/>`, '</node>', ''].join('\n');
}
