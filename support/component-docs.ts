/**
 * docs/components.md's tables as data, and the code's side of them: the type shown for an argument, the defaults
 * the code keeps in its `*_DEFAULTS` constants (each key placed at the argument path it fills), and the parser of
 * the page's `## <Component>` sections with their `### Arguments` and `### Outputs` tables. The test that keeps the
 * page equal to the code (tests/docs/components.test.ts) and the skeleton generator (scripts/component-tables.ts)
 * share it.
 */
import { DEFAULT_AUTHORIZER_SETTINGS } from "../functions/authorizer/config";
import { DEFAULT_DEVICE_GRANT_SETTINGS } from "../functions/device-grant/settings";
import { DEVICE_GRANT_DEFAULTS } from "../infra/device-grant-args";
import { FLEET_PROVISIONING_DEFAULTS } from "../infra/fleet-provisioning-args";
import { IOT_TOKEN_AUTHORIZER_DEFAULTS } from "../infra/iot-token-authorizer-args";
import { OPERATIONS_ALARMS_DEFAULTS } from "../infra/operations-alarms-args";
import { USER_DIRECTORY_DEFAULTS } from "../infra/user-directory-args";
import type { SurfaceProperty } from "./api-surface";

/**
 * Where each key of a defaults constant lands among the arguments: a path (`signing.enabled`), or `null` for a key
 * that is not an argument (a fixed value the code keeps beside the defaults). A key not listed lands at its own name,
 * and a nested object's keys at `<key>.<inner key>`.
 */
interface DefaultsSource {
  constant: string;
  values: Readonly<Record<string, unknown>>;
  at?: Record<string, string | null>;
  /** Prefix of every path (`settings.` for the device grant's settings). */
  under?: string;
}

export const DEFAULTS_SOURCES: Record<string, DefaultsSource[]> = {
  IotTokenAuthorizer: [
    {
      constant: "IOT_TOKEN_AUTHORIZER_DEFAULTS",
      values: IOT_TOKEN_AUTHORIZER_DEFAULTS,
      at: {
        signingEnabled: "signing.enabled",
        rsaBits: "signing.rsaBits",
        signingKeyName: "signing.keyName",
        memorySize: "lambda.memorySize",
        timeoutSeconds: "lambda.timeoutSeconds",
        architecture: "lambda.architecture",
        allowAuthorizerOverride: "domainConfiguration.allowAuthorizerOverride",
      },
    },
    { constant: "DEFAULT_AUTHORIZER_SETTINGS", values: DEFAULT_AUTHORIZER_SETTINGS },
  ],
  DeviceGrant: [
    {
      constant: "DEVICE_GRANT_DEFAULTS",
      values: DEVICE_GRANT_DEFAULTS,
      at: {
        memorySize: "lambda.memorySize",
        timeoutSeconds: "lambda.timeoutSeconds",
        architecture: "lambda.architecture",
        throttlingBurstLimit: "throttling.burstLimit",
        throttlingRateLimit: "throttling.rateLimit",
      },
    },
    { constant: "DEFAULT_DEVICE_GRANT_SETTINGS", values: DEFAULT_DEVICE_GRANT_SETTINGS, under: "settings." },
  ],
  UserDirectory: [{ constant: "USER_DIRECTORY_DEFAULTS", values: USER_DIRECTORY_DEFAULTS }],
  OperationsAlarms: [{ constant: "OPERATIONS_ALARMS_DEFAULTS", values: OPERATIONS_ALARMS_DEFAULTS }],
  FleetProvisioning: [
    {
      constant: "FLEET_PROVISIONING_DEFAULTS",
      values: FLEET_PROVISIONING_DEFAULTS,
      at: {
        scope: "claims.scope",
        thingNameParameter: "thing.nameParameter",
        thingNamePattern: "thing.namePattern",
        ownerParameter: null,
        ownerAttribute: "thing.ownerAttribute",
        throttlingBurstLimit: "claims.throttling.burstLimit",
        throttlingRateLimit: "claims.throttling.rateLimit",
      },
    },
  ],
};

/** A default as the tables show it, inside backticks: a string as it is, anything else as JSON. */
export function formatDefault(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The code's defaults of one component, by argument path, and the keys that land on no argument (each one a
 * mistake: a renamed argument, or a new default not placed).
 */
export function codeDefaults(component: string, argPaths: string[]): { defaults: Map<string, string>; unplaced: string[] } {
  const defaults = new Map<string, string>();
  const unplaced: string[] = [];
  for (const source of DEFAULTS_SOURCES[component] ?? []) {
    const place = (key: string, value: unknown) => {
      const mapped = source.at?.[key];
      if (mapped === null) return;
      const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
      if (mapped === undefined && isObject) {
        for (const [inner, v] of Object.entries(value)) place(`${key}.${inner}`, v);
        return;
      }
      const path = `${source.under ?? ""}${mapped ?? key}`;
      if (argPaths.includes(path)) defaults.set(path, formatDefault(value));
      else unplaced.push(`${source.constant}.${key} (looked for argument ${path})`);
    };
    for (const [key, value] of Object.entries(source.values)) place(key, value);
  }
  return { defaults, unplaced };
}

/** The type an argument's row shows: as declared, comments dropped; an inline object type is `object` (or `object[]`). */
export function tableType(property: SurfaceProperty): string {
  const type = property.type
    .replace(/\/\*\*[\s\S]*?\*\//g, "")
    .replace(/\s+/g, " ")
    .trim();
  if (type.startsWith("{")) return type.endsWith("[]") ? "object[]" : "object";
  return type;
}

export interface TableRow {
  /** The first cell without its backticks: the argument path or output name. */
  name: string;
  /** Every cell after the first, trimmed, `\|` read as `|`. */
  cells: string[];
}

export interface ComponentSection {
  args: TableRow[];
  outputs: TableRow[];
  /** Whether the section has a "What it creates" part. */
  creates: boolean;
}

/** Splits a table row on its unescaped `|`. */
function cellsOf(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, "|"));
}

/** The rows of the first table under `### <heading>` in `section`, header and separator left out. */
function tableUnder(section: string, heading: string): TableRow[] {
  const start = section.indexOf(`\n### ${heading}`);
  if (start < 0) return [];
  const rest = section.slice(start + 1);
  const end = rest.indexOf("\n#", 1);
  const lines = (end < 0 ? rest : rest.slice(0, end)).split("\n").filter((l) => l.trim().startsWith("|"));
  return lines.slice(2).map((line) => {
    const [first, ...cells] = cellsOf(line);
    return { name: first.replace(/`/g, ""), cells };
  });
}

/** Every `## <Name>` section of the page, by name, with its two tables. */
export function parseComponentsDoc(markdown: string): Map<string, ComponentSection> {
  const sections = new Map<string, ComponentSection>();
  const parts = markdown.split(/\n(?=## )/);
  for (const part of parts) {
    const name = /^## `?(\w+)`?\s*$/m.exec(part.split("\n")[0])?.[1];
    if (!name || !part.startsWith("## ")) continue;
    sections.set(name, {
      args: tableUnder(part, "Arguments"),
      outputs: tableUnder(part, "Outputs"),
      creates: /\n### What it creates/.test(part),
    });
  }
  return sections;
}
