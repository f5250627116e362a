/**
 * Which identity provider of a sandbox the device signs in at: `sandbox.json` lists every issuer the sandbox's
 * authorizer trusts under `idps` (`enterprise`, the local stand-in of the stack's OpenAM issuer; `cognito`, the
 * device grant's user pool), and `--idp <key>` (or `--issuer <url>`) picks one. The chosen entry gives the
 * device flow's endpoints, the client (with its secret, for the enterprise IdP's confidential client), the
 * scopes and the principal prefix of the MQTT client id; the gateway, the authorizer and the signing key stay
 * the sandbox's. Tokens of an IdP other than the pool go to a token file of their own
 * (`device-token-<key>.json` beside the default one), so that a device can hold both logins.
 */
import path from "node:path";
import { type IotEndpoints } from "./endpoints";
import { type DeviceClientOptions } from "./options";
import { defaultTokenFile } from "./token-file";

/** What picks an entry: its key or principal prefix (`--idp`), or its issuer URL (`--issuer`). */
export interface IdpChoice {
  idp?: string;
  issuer?: string;
}

type Chosen = Partial<Pick<DeviceClientOptions, "deviceAuthorizationEndpoint" | "tokenEndpoint" | "clientId" | "clientSecret" | "scope">> &
  Partial<Pick<DeviceClientOptions, "principalPrefix" | "tokenFile">> &
  IotEndpoints;

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The token file of tokens from IdP `key`: the default one for the pool, `device-token-<key>.json` beside it otherwise. */
export function tokenFileFor(key: string): string | undefined {
  if (key === "cognito" || !/^[A-Za-z0-9_-]{1,64}$/.test(key)) return undefined;
  return path.join(path.dirname(defaultTokenFile()), `device-token-${key}.json`);
}

/**
 * The settings of the chosen entry of a sandbox file's `idps`, or `undefined` with a problem naming the
 * entries there are.
 */
export function chooseIdp(json: Record<string, unknown>, choice: IdpChoice, problems: string[]): Chosen | undefined {
  const idps = typeof json.idps === "object" && json.idps !== null ? (json.idps as Record<string, Record<string, unknown>>) : {};
  const entries = Object.entries(idps).filter(([, e]) => typeof e === "object" && e !== null);
  const wanted = choice.issuer?.replace(/\/+$/, "");
  const found = entries.find(([key, e]) =>
    wanted !== undefined ? str(e.issuer)?.replace(/\/+$/, "") === wanted : key === choice.idp || e.principalPrefix === choice.idp,
  );
  if (found === undefined) {
    const known =
      entries.map(([key, e]) => `${key} (${String(e.issuer)})`).join(", ") || "none: was it written by this version of npm start?";
    problems.push(
      `the sandbox file has no identity provider ${wanted !== undefined ? `with issuer ${wanted}` : JSON.stringify(choice.idp)}; it has ${known}`,
    );
    return undefined;
  }
  const [key, e] = found;
  const tokenFile = tokenFileFor(key);
  return {
    deviceAuthorizationEndpoint: str(e.deviceAuthorizationEndpoint),
    tokenEndpoint: str(e.tokenEndpoint),
    clientId: str(e.clientId),
    clientSecret: str(e.clientSecret),
    scope: str(e.scope),
    principalPrefix: typeof e.principalPrefix === "string" ? e.principalPrefix : undefined,
    ...(tokenFile !== undefined && { tokenFile }),
  };
}
