/**
 * The demo's tools for speaking the protocols raw (demo.ts): the device flow's requests and polling as RFC 8628 asks,
 * custom-auth credentials, MQTT options and IoT's HTTP publish, and the bound on waiting for each, so that a broken
 * step fails with what it waited for instead of hanging the demo.
 */
import { type IClientOptions } from "mqtt";
import { customAuthHeaders, type CustomAuthCredentials } from "../functions/authorizer/custom-auth";
import { SLOW_DOWN_STEP_SECONDS } from "../functions/shared/oauth";
import { authorizeDevice as requestDeviceCode, type DeviceAuthorization, pollToken as requestTokens } from "../support/device-flow";
import { type Sandbox } from "./sandbox";

/** A bound on waiting for the network, so that a broken step fails instead of hanging the demo. */
export const STEP_TIMEOUT_MS = 15_000;

export class StepFailed extends Error {}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new StepFailed(message);
}

export function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepFailed(`no answer within ${STEP_TIMEOUT_MS / 1000} s: ${what}`)), STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function authorizeDevice(sandbox: Sandbox): Promise<DeviceAuthorization> {
  try {
    return await requestDeviceCode(sandbox.deviceGrantUrl, { clientId: sandbox.clientId }, "openid iot/device");
  } catch (err) {
    throw new StepFailed((err as Error).message);
  }
}

/**
 * Polls the token endpoint as RFC 8628 §3.4-3.5 asks: `interval` seconds between polls, 5 s more after
 * each `slow_down`, until tokens or an error other than `authorization_pending`.
 */
export async function pollToken(
  sandbox: Sandbox,
  authorization: DeviceAuthorization,
  maxPolls = 30,
): Promise<{ status: number; body: Record<string, unknown>; polls: number }> {
  let interval = authorization.interval;
  for (let polls = 1; polls <= maxPolls; polls++) {
    await sleep(interval * 1000);
    const answer = await requestTokens(sandbox.deviceGrantUrl, authorization.device_code, { clientId: sandbox.clientId });
    if (answer.body.error === "authorization_pending") continue;
    if (answer.body.error === "slow_down") {
      interval += SLOW_DOWN_STEP_SECONDS;
      continue;
    }
    return { ...answer, polls };
  }
  throw new StepFailed(`still pending after ${maxPolls} polls`);
}

export function credentials(sandbox: Sandbox, token: string, signature: string | undefined): CustomAuthCredentials {
  return {
    authorizerName: sandbox.authorizerName,
    tokenKeyName: sandbox.tokenKeyName,
    token,
    ...(signature !== undefined && { signature }),
  };
}

export function mqttOptions(clientId: string, username: string): IClientOptions {
  return { clientId, username, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: STEP_TIMEOUT_MS, clean: true };
}

export async function httpPublish(sandbox: Sandbox, topic: string, payload: string, auth: CustomAuthCredentials): Promise<number> {
  const path = topic.split("/").map(encodeURIComponent).join("/");
  const response = await fetch(`${sandbox.gateway.httpUrl}/topics/${path}?qos=1`, {
    method: "POST",
    headers: { "content-type": "application/json", ...customAuthHeaders(auth) },
    body: payload,
  });
  await response.arrayBuffer();
  return response.status;
}
