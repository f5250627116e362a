/**
 * cognito-local in this process, for the sandbox. The implementation is the device-grant tests' harness,
 * re-exported rather than copied so there is one way to run cognito-local here.
 *
 * TODO: move `tests/device-grant/support/cognito.ts` (and the `nodeRequire` it uses) under `sandbox/`, with
 * the tests importing it from there, and give `startCognito` `host`/`port` options: today it always binds
 * 127.0.0.1 on a free port, so the sandbox's user directory cannot have a fixed port.
 */
export { startCognito, type AppClient, type CognitoEndpoints, type CognitoLocal, type CognitoUser } from "../tests/device-grant/support/cognito";
