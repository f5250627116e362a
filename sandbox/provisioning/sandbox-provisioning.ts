/**
 * Fleet provisioning in the sandbox, assembled from the stack's settings (settings.ts) in the order the sandbox
 * starts its services:
 *
 * 1. `prepare`, before anything listens: the local CA (kept in a data directory), the registry with the
 *    template's device policy (`devicePolicyDocument`, as the component creates it), the claim route declared on
 *    the device grant's API, and the installers' app clients the chain registers;
 * 2. `connect`, once the chain runs: the claim binding table in dynalite, the required group in the user pool
 *    (the test user in it: the test user is an installer), the pre-provisioning hook (the real Lambda handler on
 *    that table and the registry), the control plane, and the claim route's JWT authorizer (the pool's issuer,
 *    the installer clients as audiences, the scope `iot/provision`) in front of the real claim handler;
 * 3. `gatewayTls`: what the gateway's MQTT over TLS listener needs (the CA, a server certificate for the host,
 *    the registry's certificate authority, the control plane);
 * 4. `facts`: what `sandbox.json` and the banner tell a device (`ProvisioningFacts`).
 */
import path from "node:path";
import { createHandler as createHookHandler } from "../../functions/pre-provisioning-hook/index";
import { ClaimBindingStore } from "../../functions/shared/claim-binding-store";
import { type LogSink } from "../../functions/shared/logging";
import { devicePolicyDocument, provisioningTemplateArn } from "../../infra/fleet-provisioning-policies";
import { deviceParameters } from "../../infra/provisioning-template";
import { type ChainClient, type DeviceGrantChain } from "../device-grant-chain";
import { type GatewayTlsOptions, type IotGateway } from "../gateway/gateway";
import { type AccountScope, RegistryCertificates } from "./certificates";
import { ClaimRoute } from "./claim-route";
import { LocalControlPlane } from "./control-plane";
import { LocalCa } from "./local-ca";
import { IotRegistry } from "./registry";
import { type FleetSandboxSettings } from "./settings";

/** The claim binding table in dynalite (its layout is the device grant's: one string key `pk`). */
export const BINDING_TABLE_NAME = "fleet-claims-sandbox";
export const REGISTRY_FILE = "iot-registry.json";

/** What a device (and the installer's app) needs, in `sandbox.json` and the banner. */
export interface ProvisioningFacts {
  /** `POST` here with an installer's access token for a claim. */
  claimUrl: string;
  templateName: string;
  /** MQTT over TLS with client certificates. */
  mqttsUrl: string;
  /** The CA certificate a device trusts for `mqttsUrl` (PEM file). */
  caFile: string;
  installerClientId: string;
  scope: string;
  requiredGroup?: string;
  thingNamePattern: string;
  /** Each device's topics are `<topicPrefix>/<thing name>` and below. */
  topicPrefix: string;
}

export interface ProvisioningPlacement {
  settings: FleetSandboxSettings;
  scope: AccountScope;
  /** Where the CA certificate is written for devices (beside sandbox.json). */
  directory: string;
  /** A data directory: the CA's key and the registry are kept there. */
  keepIn?: string;
  log: (source: string, level: string, fields: object) => void;
  /** TEST ONLY: a shorter claim life. */
  claimLifetimeMs?: number;
  claimsPerSecond?: number;
}

function sink(log: ProvisioningPlacement["log"], source: string): LogSink {
  return {
    debug: (fields) => log(source, "debug", fields),
    info: (fields) => log(source, "info", fields),
    warn: (fields) => log(source, "warn", fields),
    error: (fields) => log(source, "error", fields),
  };
}

export class SandboxProvisioning {
  readonly claimRoute = new ClaimRoute();
  private controlPlane?: LocalControlPlane;

  private constructor(
    private readonly placement: ProvisioningPlacement,
    readonly ca: LocalCa,
    readonly registry: IotRegistry,
    readonly caFile: string,
  ) {}

  static async prepare(placement: ProvisioningPlacement): Promise<SandboxProvisioning> {
    const ca = await LocalCa.open(placement.keepIn);
    const { certificateFile } = await ca.writeCertificate(placement.directory);
    const registry = new IotRegistry(placement.keepIn && path.join(placement.keepIn, REGISTRY_FILE));
    const { template } = placement.settings;
    registry.putPolicy(template.devicePolicyName, devicePolicyDocument(placement.scope, template.topicPrefix));
    return new SandboxProvisioning(placement, ca, registry, certificateFile);
  }

  get templateArn(): string {
    return provisioningTemplateArn(this.placement.scope, this.placement.settings.templateName);
  }

  /** The installers' app clients, registered at the pool and the device grant after the device client. */
  installerClients(): ChainClient[] {
    return this.placement.settings.installerClients.map((c) => ({
      appName: c.name,
      displayName: c.name,
      type: "public",
      scopes: c.scopes,
    }));
  }

  /** Wires everything that needs the running chain (its clients after the device client are `installerClients()`). */
  async connect(chain: DeviceGrantChain): Promise<void> {
    const installerClientIds = chain.clients.slice(1).map((c) => c.clientId);
    const { settings, scope, log } = this.placement;
    const tableName = await chain.dynamo.createTable(BINDING_TABLE_NAME, { existingOk: true });
    const bindings = new ClaimBindingStore({ client: chain.dynamo.client, tableName });
    if (settings.requiredGroup !== undefined) await this.joinGroup(chain, settings.requiredGroup);
    const hook = createHookHandler({
      environment: {
        PRE_PROVISIONING_HOOK_CONFIG: JSON.stringify({
          templateArn: this.templateArn,
          tableName,
          region: scope.region,
          parameters: deviceParameters(settings.template),
          thingNameParameter: settings.template.thingNameParameter,
          ownerParameter: settings.template.ownerParameter,
          allowUnboundClaims: settings.allowUnboundClaims,
        }),
      },
      store: () => bindings,
      registry: () => ({ exists: async (name) => this.registry.thing(name) !== undefined }),
      logger: sink(log, "pre-provisioning-hook"),
    });
    this.controlPlane = new LocalControlPlane({
      ca: this.ca,
      registry: this.registry,
      template: { name: settings.templateName, arn: this.templateArn, body: settings.templateBody },
      hook,
      log: (fields) => log("iot-control-plane", "info", fields),
      ...(this.placement.claimLifetimeMs !== undefined && { claimLifetimeMs: this.placement.claimLifetimeMs }),
      ...(this.placement.claimsPerSecond !== undefined && { claimsPerSecond: this.placement.claimsPerSecond }),
    });
    this.claimRoute.configure({
      jwt: { issuer: chain.endpoints.issuer, jwksUri: chain.endpoints.jwksUri, audiences: installerClientIds, scopes: [settings.scope] },
      functionConfig: {
        templateName: settings.templateName,
        tableName,
        region: scope.region,
        thingNamePattern: settings.template.thingNamePattern,
        requiredScope: settings.scope,
        ...(settings.requiredGroup !== undefined && { requiredGroup: settings.requiredGroup }),
      },
      controlPlane: this.controlPlane,
      bindings,
      logger: sink(log, "provisioning-claim"),
    });
  }

  /** The required group exists in the pool (as the stack creates it), with the test user in it. */
  private async joinGroup(chain: DeviceGrantChain, group: string): Promise<void> {
    try {
      await chain.cognito.call("CreateGroup", {
        UserPoolId: chain.poolId,
        GroupName: group,
        Description: "May ask for provisioning claims",
      });
    } catch (err) {
      if (!/GroupExistsException/.test((err as Error).message)) throw err;
    }
    await chain.cognito.call("AdminAddUserToGroup", { UserPoolId: chain.poolId, Username: chain.user.username, GroupName: group });
  }

  /** The gateway's MQTT over TLS listener: the CA, a server certificate for `hosts`, the registry, the control plane. */
  async gatewayTls(port: number, hosts: string[]): Promise<GatewayTlsOptions> {
    if (this.controlPlane === undefined) throw new Error("connect() the provisioning before the gateway starts");
    const server = await this.ca.serverCertificate(hosts);
    return {
      port,
      caPem: this.ca.certificatePem,
      certificatePem: server.certificatePem,
      privateKeyPem: server.privateKeyPem,
      certificates: new RegistryCertificates(this.registry, this.placement.scope),
      provisioning: this.controlPlane,
    };
  }

  /** What a device needs, once the chain and the gateway run. */
  facts(chain: DeviceGrantChain, gateway: IotGateway): ProvisioningFacts {
    const { settings } = this.placement;
    return {
      claimUrl: `${chain.url}/provisioning/claims`,
      templateName: settings.templateName,
      mqttsUrl: gateway.mqttsUrl as string,
      caFile: this.caFile,
      installerClientId: chain.clients[1].clientId,
      scope: settings.scope,
      ...(settings.requiredGroup !== undefined && { requiredGroup: settings.requiredGroup }),
      thingNamePattern: settings.template.thingNamePattern,
      topicPrefix: settings.template.topicPrefix,
    };
  }
}
