/**
 * The sandbox's fleet provisioning settings, read from the stack's own keys (`fleetProvisioningEnabled`,
 * `provisioningRequiredGroup`, `provisioningThingNamePattern`, `provisioningDirectPath`, and the
 * `deviceClients` entries that list `iot/provision`: the installers' apps) and checked by the
 * `FleetProvisioning` component's own checks (`fleetProvisioningProblems`), with stand-ins for the pool and the
 * API, exactly as the stack program checks them. What passes is what the stack would deploy: the same template
 * name (`fleet-<stack>`, the stack named by the stack file `Pulumi.<stack>.yaml`, `sandbox` otherwise), the same
 * template body, device policy name and topic prefix, the same hook and claim configuration.
 *
 * The component's module loads `@pulumi/aws` (half a second), so it is loaded only when fleet provisioning is on.
 * The sandbox has no identity pool: with `provisioningDirectPath` the hook admits unbound claims as the stack's
 * would, but nothing local makes such claims.
 */
import type * as FleetArgs from "../../infra/fleet-provisioning-args";
import { type TemplateSpec, provisioningTemplate } from "../../infra/provisioning-template";
import { renderProblems } from "../../functions/shared/problems";
import { inspectClients } from "../../functions/device-grant/settings";
import { isObject } from "../../functions/shared/checks";
import { standInUrl } from "../../infra/stand-ins";

/** The stack keys read here (the project prefix dropped). */
export const FLEET_SETTING_KEYS = [
  "fleetProvisioningEnabled",
  "provisioningRequiredGroup",
  "provisioningThingNamePattern",
  "provisioningDirectPath",
] as const;

/** The component's name in the stack program (stacks/fleet-provisioning-config.ts), which names the template. */
const COMPONENT_NAME = "fleet";
/** The scope the claim route requires (the component's default, as the stack uses it). */
export const PROVISIONING_SCOPE = "iot/provision";

export interface FleetSandboxSettings {
  stack: string;
  templateName: string;
  /** The template body as an object (its JSON is what IoT stores). */
  templateBody: Record<string, unknown>;
  template: TemplateSpec;
  scope: string;
  requiredGroup?: string;
  allowUnboundClaims: boolean;
  /** The installers' apps the sandbox registers: public `deviceClients` entries that list `iot/provision`. */
  installerClients: { name: string; scopes: string[] }[];
}

function flag(raw: Record<string, unknown>, key: string, problems: string[]): boolean {
  const value = raw[key];
  if (value === undefined || value === false || value === "false") return false;
  if (value === true || value === "true") return true;
  problems.push(`${key} must be true or false; got ${JSON.stringify(value)}`);
  return false;
}

/** The stack a settings source is: `Pulumi.<stack>.yaml` names it. */
export function stackOf(source: string): string {
  return /(?:^|[/\\])Pulumi\.([A-Za-z0-9_.-]+)\.ya?ml$/.exec(source)?.[1] ?? "sandbox";
}

/** The public entries of `deviceClients` that list `iot/provision`, checked as the device grant checks clients. */
function installerClients(raw: unknown, problems: string[]): FleetSandboxSettings["installerClients"] {
  const entries = Array.isArray(raw) ? raw.filter((c): c is Record<string, unknown> => isObject(c)) : [];
  const installers = entries.filter((c) => c.type === "public" && Array.isArray(c.scopes) && c.scopes.includes(PROVISIONING_SCOPE));
  if (installers.length === 0) {
    problems.push(
      `fleetProvisioningEnabled: no public entry of deviceClients lists the scope ${PROVISIONING_SCOPE}; add the installers' app client`,
    );
  }
  return installers.flatMap((entry) => {
    const checked = inspectClients([{ clientId: "sandbox", name: entry.name, type: "public", scopes: entry.scopes }]);
    const label = `deviceClients (${JSON.stringify(entry.key ?? entry.name)})`;
    problems.push(...renderProblems(checked.problems, (path, usual) => (path === "clients[0]" ? label : (usual ?? path))));
    return checked.clients.map((c) => ({ name: c.name, scopes: c.scopes }));
  });
}

/** The fleet provisioning settings when `fleetProvisioningEnabled` is true; problems go to `problems`. */
export function checkFleetSettings(raw: Record<string, unknown>, source: string, problems: string[]): FleetSandboxSettings | undefined {
  if (!flag(raw, "fleetProvisioningEnabled", problems)) return undefined;
  const stack = stackOf(source);
  const pattern = raw.provisioningThingNamePattern;
  const group = raw.provisioningRequiredGroup;
  const requiredGroup = typeof group === "string" && group !== "" ? group : undefined;
  const allowUnboundClaims = flag(raw, "provisioningDirectPath", problems);
  const clients = installerClients(raw.deviceClients, problems);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { fleetProvisioningProblems } = require("../../infra/fleet-provisioning-args") as typeof FleetArgs;
  const { checked, problems: found } = fleetProvisioningProblems(
    COMPONENT_NAME,
    {
      ...(pattern !== undefined && { thing: { namePattern: pattern as string } }),
      allowUnboundClaims,
      claims: {
        attachTo: { apiId: "pending", executionArn: standInUrl("device-grant", ""), endpoint: standInUrl("device-grant", "") },
        jwt: { issuer: standInUrl("user-pool", ""), audiences: ["pending"] },
        ...(requiredGroup !== undefined && { requiredGroup }),
      },
    },
    stack,
  );
  const names: Record<string, string> = {
    "thing.namePattern": "provisioningThingNamePattern",
    "claims.requiredGroup": "provisioningRequiredGroup",
  };
  problems.push(...renderProblems(found, (path, usual) => names[path] ?? usual ?? path));
  return {
    stack,
    templateName: checked.templateName,
    templateBody: provisioningTemplate(checked.template),
    template: checked.template,
    scope: checked.scope,
    ...(checked.requiredGroup !== undefined && { requiredGroup: checked.requiredGroup }),
    allowUnboundClaims: checked.allowUnboundClaims,
    installerClients: clients,
  };
}
