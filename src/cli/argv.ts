// Command-line words into options, the way Cloud Hypervisor's parser (clap)
// reads them: `--name value` or `--name=value`, options that take several
// values after one flag (`--disk path=A path=B`), flags, an optional value
// (`--rtc`), and counted short flags (`-vv`).
import { ConfigError } from '../util/errors.js';

export type Arity =
  | 'flag' // no value; given at most once
  | 'one' // exactly one value; given at most once
  | 'many' // one or more values, and the flag may repeat
  | 'optional' // zero or one value
  | 'count'; // no value; counted

export interface OptionSpec {
  arity: Arity;
  short?: string;
}

/** Each option given, with its values in order ('' for a flag or an absent optional value). */
export type ParsedArgv = Map<string, string[]>;

function looksLikeFlag(word: string): boolean {
  return word.startsWith('-') && word.length > 1;
}

function add(parsed: ParsedArgv, name: string, spec: OptionSpec, values: string[]): void {
  const previous = parsed.get(name);
  if (previous && (spec.arity === 'flag' || spec.arity === 'one' || spec.arity === 'optional')) {
    throw new ConfigError(`--${name} was given more than once`);
  }
  parsed.set(name, [...(previous ?? []), ...values]);
}

function byShort(specs: Record<string, OptionSpec>, letter: string): string {
  const entry = Object.entries(specs).find(([, spec]) => spec.short === letter);
  if (!entry) throw new ConfigError(`unknown option -${letter} (see --help)`);
  return entry[0];
}

export function parseArgv(argv: readonly string[], specs: Record<string, OptionSpec>): ParsedArgv {
  const parsed: ParsedArgv = new Map();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (!word.startsWith('--')) {
      if (!looksLikeFlag(word)) throw new ConfigError(`unexpected argument "${word}" (see --help)`);
      for (const letter of word.slice(1)) {
        const name = byShort(specs, letter);
        const spec = specs[name] as OptionSpec;
        if (spec.arity !== 'flag' && spec.arity !== 'count') throw new ConfigError(`-${letter} takes a value; use --${name}`);
        add(parsed, name, spec, ['']);
      }
      continue;
    }
    const eq = word.indexOf('=');
    const name = word.slice(2, eq < 0 ? undefined : eq);
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec) throw new ConfigError(`unknown option --${name} (see --help)`);
    const inline = eq < 0 ? undefined : word.slice(eq + 1);
    if (spec.arity === 'flag' || spec.arity === 'count') {
      if (inline !== undefined) throw new ConfigError(`--${name} takes no value`);
      add(parsed, name, spec, ['']);
      continue;
    }
    const values = inline !== undefined ? [inline] : [];
    if (inline === undefined && spec.arity === 'one') {
      if (i + 1 >= argv.length) throw new ConfigError(`--${name} needs a value`);
      values.push(argv[++i] as string);
    }
    const more = spec.arity === 'many' || (spec.arity === 'optional' && inline === undefined);
    while (more && i + 1 < argv.length && !looksLikeFlag(argv[i + 1] as string)) {
      values.push(argv[++i] as string);
      if (spec.arity === 'optional') break;
    }
    if (spec.arity === 'many' && values.length === 0) throw new ConfigError(`--${name} needs a value`);
    add(parsed, name, spec, spec.arity === 'optional' && values.length === 0 ? [''] : values);
  }
  return parsed;
}
