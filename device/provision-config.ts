/**
 * Where `npm run device -- provision` finds what it needs, like the other commands (config.ts): flags, then
 * `DEVICE_*` environment variables, then a file, the sandbox's `sandbox.json` (its `provisioning` part) or the
 * JSON of `pulumi stack output --json` (`claimEndpoint`, `provisioningTemplateName`, `dataEndpoint`, and the
 * installer app's id in `deviceClientIds`, key `installer` unless `--installer-client` says otherwise).
 *
 * On AWS the device connects to the data endpoint on port 8883 with its certificate (IoT's mutual TLS port),
 * trusting Amazon's CA, which Node trusts already; the sandbox gives its own CA file.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError } from "./config";
import { configDirectory } from "./thing-files";

/** Flag → `DEVICE_*` variable, for the provisioning settings. */
export const PROVISION_ENVIRONMENT: Record<string, string> = {
  "installer-token": "DEVICE_INSTALLER_TOKEN",
  "installer-client-id": "DEVICE_INSTALLER_CLIENT_ID",
  "installer-client": "DEVICE_INSTALLER_CLIENT",
  "installer-token-file": "DEVICE_INSTALLER_TOKEN_FILE",
  "claim-url": "DEVICE_CLAIM_URL",
  "template-name": "DEVICE_TEMPLATE_NAME",
  "mqtts-url": "DEVICE_MQTTS_URL",
  "ca-file": "DEVICE_CA_FILE",
  "thing-dir": "DEVICE_THING_DIR",
};

export interface ProvisionSettings {
  claimUrl: string;
  templateName: string;
  mqttsUrl: string;
  caFile?: string;
  /** The installer's access token, when given; otherwise the installer signs in with `installerClientId`. */
  installerToken?: string;
  installerClientId?: string;
  installerTokenFile: string;
  thingDir?: string;
}

type Layer = Partial<Omit<ProvisionSettings, "installerTokenFile">> & { installerTokenFile?: string };

function readJson(file: string, cwd: string, what: string, problems: string[]): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(readFileSync(path.resolve(cwd, file), "utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch (err) {
    problems.push(`cannot read ${what} ${file}: ${(err as Error).message}`);
    return {};
  }
  problems.push(`${what} ${file} is not a JSON object`);
  return {};
}

const str = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/** `mqtts://<data endpoint>:8883` for an AWS data endpoint host. */
export function mqttsUrlOf(host: string): string {
  return host.includes("://") ? host : `mqtts://${host.includes(":") ? host : `${host}:8883`}`;
}

function sandboxLayer(file: string, cwd: string, problems: string[]): Layer {
  const json = readJson(file, cwd, "the sandbox file", problems);
  const p = (typeof json.provisioning === "object" && json.provisioning !== null ? json.provisioning : {}) as Record<string, unknown>;
  if (Object.keys(json).length > 0 && json.provisioning === undefined) {
    problems.push(
      `the sandbox file ${file} has no fleet provisioning: start the sandbox with fleetProvisioningEnabled (the dev stack has it)`,
    );
  }
  return {
    claimUrl: str(p.claimUrl),
    templateName: str(p.templateName),
    mqttsUrl: str(p.mqttsUrl),
    caFile: str(p.caFile) && path.resolve(path.dirname(path.resolve(cwd, file)), p.caFile as string),
    installerClientId: str(p.installerClientId),
  };
}

function stackLayer(file: string, cwd: string, installerKey: string, problems: string[]): Layer {
  const json = readJson(file, cwd, "the stack output", problems);
  const ids = (typeof json.deviceClientIds === "object" && json.deviceClientIds !== null ? json.deviceClientIds : {}) as Record<
    string,
    unknown
  >;
  const dataEndpoint = str(json.dataEndpoint);
  return {
    claimUrl: str(json.claimEndpoint),
    templateName: str(json.provisioningTemplateName),
    ...(dataEndpoint && { mqttsUrl: mqttsUrlOf(dataEndpoint) }),
    installerClientId: str(ids[installerKey]),
  };
}

/** The provisioning settings, flags > environment > file; every missing one reported at once, with how to set it. */
export function resolveProvisionSettings(values: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv, cwd: string): ProvisionSettings {
  const problems: string[] = [];
  const pick = (flag: string) => values[flag] ?? str(env[PROVISION_ENVIRONMENT[flag]]);
  const iotEndpoint = values["iot-endpoint"] ?? str(env.DEVICE_IOT_ENDPOINT);
  const given: Layer = {
    claimUrl: pick("claim-url"),
    templateName: pick("template-name"),
    mqttsUrl: pick("mqtts-url") ?? (iotEndpoint && mqttsUrlOf(iotEndpoint)),
    caFile: pick("ca-file") && path.resolve(cwd, pick("ca-file") as string),
    installerToken: pick("installer-token"),
    installerClientId: pick("installer-client-id"),
    installerTokenFile: pick("installer-token-file") && path.resolve(cwd, pick("installer-token-file") as string),
    thingDir: pick("thing-dir") && path.resolve(cwd, pick("thing-dir") as string),
  };
  const sandbox = values.sandbox ?? str(env.DEVICE_SANDBOX);
  const stack = values["stack-output"] ?? str(env.DEVICE_STACK_OUTPUT);
  const file: Layer =
    stack !== undefined
      ? stackLayer(stack, cwd, pick("installer-client") ?? "installer", problems)
      : sandbox !== undefined
        ? sandboxLayer(sandbox, cwd, problems)
        : {};
  const merged = Object.fromEntries(
    [...new Set([...Object.keys(file), ...Object.keys(given)])].map((k) => [k, given[k as keyof Layer] ?? file[k as keyof Layer]]),
  ) as Layer;
  if (merged.claimUrl === undefined)
    problems.push("missing the claim route's URL (--claim-url, DEVICE_CLAIM_URL, or the stack's claimEndpoint)");
  if (merged.templateName === undefined) problems.push("missing the provisioning template's name (--template-name, DEVICE_TEMPLATE_NAME)");
  if (merged.mqttsUrl === undefined)
    problems.push("missing IoT's MQTT over TLS endpoint (--iot-endpoint HOST, --mqtts-url, or the stack's dataEndpoint)");
  if (merged.installerToken === undefined && merged.installerClientId === undefined) {
    problems.push("missing the installer's access token (--installer-token) or the installer app's client id (--installer-client-id)");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const defined = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined));
  return {
    ...(defined as unknown as ProvisionSettings),
    installerTokenFile: merged.installerTokenFile ?? path.join(configDirectory(env), "installer-token.json"),
  };
}
