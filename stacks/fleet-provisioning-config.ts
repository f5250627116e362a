/**
 * The fleet provisioning part of the stack (`fleetProvisioningEnabled`): installers are users of the device grant's
 * user pool who sign in with an app client allowed the scope `iot/provision`; the claim route is served on the device
 * grant's HTTP API behind a JWT authorizer on that pool. The settings are checked here by `FleetProvisioning`'s own
 * checks, with stand-ins for what only exists once the pool and the API do, and named by the stack settings.
 */
import * as pulumi from "@pulumi/pulumi";
import { type FleetProvisioningArgs, fleetProvisioningProblems } from "../infra/fleet-provisioning-args";
import { standInUrl } from "../infra/stand-ins";
import { USER_DIRECTORY_DEFAULTS, type UserDirectoryArgs, type UserDirectoryClient } from "../infra/user-directory-args";
import type { SharedArgs } from "./common-config";
import { type ConfigSource, readBoolean, type StackProblems, stackNamer } from "./reading";
import { STACK_SETTING_NAMES } from "./settings";

/** The component's name in this program (`fleet-<stack>` names its functions, table and device policy). */
export const FLEET_PROVISIONING_NAME = "fleet";

/** The resource server scope an installer's app client must be allowed: `iot/provision`. */
export const PROVISIONING_SCOPE_NAME = "provision";
const PROVISIONING_SCOPE = `${USER_DIRECTORY_DEFAULTS.resourceServerIdentifier}/${PROVISIONING_SCOPE_NAME}`;

/** What fleet provisioning needs of the user directory: the scope, and the installers' group when one is required. */
export interface DirectoryNeeds {
  scope: { name: string; description: string };
  group?: string;
}

export interface FleetProvisioningStackConfig {
  /** `FleetProvisioning` arguments without the claim route and identity pool (they need the deployed pool and API). */
  args: Omit<FleetProvisioningArgs, "claims" | "identityPool">;
  /** The group the claim route requires, when the stack names one. */
  requiredGroup?: string;
  /** Whether installers may also call `CreateProvisioningClaim` through an identity pool (unbound claims). */
  directPath: boolean;
  /** Keys of the device clients installers sign in with: the JWT authorizer's audiences. */
  installerClientKeys: string[];
}

/** Read before the user directory is checked, so that it gets the scope and the group. */
export function directoryNeeds(source: ConfigSource): DirectoryNeeds {
  const group = source.get("provisioningRequiredGroup");
  return {
    scope: { name: PROVISIONING_SCOPE_NAME, description: "Ask for provisioning claims for devices being installed" },
    ...(group !== undefined && group !== "" && { group }),
  };
}

/** The directory's arguments with what fleet provisioning needs added (the scope once, the group once). */
export function withDirectoryNeeds(
  directory: Omit<UserDirectoryArgs, "callbackUrls">,
  needs: DirectoryNeeds,
): Omit<UserDirectoryArgs, "callbackUrls"> {
  const scopes = directory.scopes ?? USER_DIRECTORY_DEFAULTS.scopes.map((s) => ({ ...s }));
  const hasScope = Array.isArray(scopes) && scopes.some((s) => s?.name === needs.scope.name);
  const groups = directory.groups ?? [];
  const hasGroup = needs.group === undefined || groups.some((g) => g?.name === needs.group);
  return {
    ...directory,
    scopes: hasScope || !Array.isArray(scopes) ? scopes : [...scopes, needs.scope],
    ...(!hasGroup && {
      groups: [
        ...groups,
        { name: needs.group as string, description: "May ask for provisioning claims (fleet provisioning by trusted user)" },
      ],
    }),
  };
}

/**
 * Whether a client is only an installers' app: it lists `iot/provision` and no other IoT scope. The authorizer does
 * not trust its tokens for connecting to IoT (an installer is not a device).
 */
export function isInstallerApp(client: { scopes?: unknown }): boolean {
  const scopes = Array.isArray(client?.scopes) ? (client.scopes as unknown[]) : undefined;
  const iot = `${USER_DIRECTORY_DEFAULTS.resourceServerIdentifier}/`;
  return (
    scopes !== undefined &&
    scopes.includes(PROVISIONING_SCOPE) &&
    !scopes.some((s) => typeof s === "string" && s.startsWith(iot) && s !== PROVISIONING_SCOPE)
  );
}

/** The installer apps: device clients that list `iot/provision` themselves (a client's default scopes never count). */
function installerClients(clients: UserDirectoryClient[]): string[] {
  return clients.filter((c) => Array.isArray(c?.scopes) && c.scopes.includes(PROVISIONING_SCOPE)).map((c) => String(c.key));
}

export function readFleetProvisioning(
  source: ConfigSource,
  problems: StackProblems,
  directory: Omit<UserDirectoryArgs, "callbackUrls">,
  shared: SharedArgs,
): FleetProvisioningStackConfig {
  const namePattern = source.get("provisioningThingNamePattern");
  const group = source.get("provisioningRequiredGroup");
  const requiredGroup = group === undefined || group === "" ? undefined : group;
  const directPath = readBoolean(source, "provisioningDirectPath", problems) ?? false;
  const installerClientKeys = installerClients(directory.clients ?? []);
  if (installerClientKeys.length === 0) {
    problems.add(
      "deviceClients",
      `fleetProvisioningEnabled: no entry of deviceClients lists the scope ${PROVISIONING_SCOPE}; add it to the scopes of the installers' app client`,
    );
  }
  const args: FleetProvisioningStackConfig["args"] = {
    ...shared,
    ...(namePattern !== undefined && { thing: { namePattern } }),
    allowUnboundClaims: directPath,
    deletionProtection: readBoolean(source, "tableDeletionProtection", problems),
  };
  // The component's own checks, with stand-ins for the device grant's API and the pool.
  const checked = fleetProvisioningProblems(
    FLEET_PROVISIONING_NAME,
    {
      ...args,
      claims: {
        attachTo: { apiId: "pending", executionArn: standInUrl("device-grant", ""), endpoint: standInUrl("device-grant", "") },
        jwt: { issuer: standInUrl("user-pool", ""), audiences: installerClientKeys.length > 0 ? installerClientKeys : ["pending"] },
        ...(requiredGroup !== undefined && { requiredGroup }),
      },
      ...(directPath && { identityPool: { userPoolId: "pending", clientIds: ["pending"] } }),
    },
    pulumi.getStack(),
  );
  problems.addFrom(checked.problems, stackNamer(STACK_SETTING_NAMES.fleetProvisioning));
  return { args, ...(requiredGroup !== undefined && { requiredGroup }), directPath, installerClientKeys };
}
