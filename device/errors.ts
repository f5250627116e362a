/**
 * The device client's failures, one class per thing that went wrong, so that a caller (the CLI, a test, a
 * firmware port) can tell "the user said no" from "the code ran out" from "IoT refused the publish" without
 * reading messages. Messages never contain a token, a code or a secret.
 */

export class DeviceClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The device flow ended without tokens: `error` is the RFC 8628 / RFC 6749 error code the server sent. */
export class LoginError extends DeviceClientError {
  constructor(
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

/** The user pressed Deny (RFC 8628 §3.5 `access_denied`). */
export class AccessDeniedError extends LoginError {
  constructor(description?: string) {
    super("access_denied", `The sign-in was refused (access_denied)${description ? `: ${description}` : ""}. Run login again to retry.`);
  }
}

/** The device code ran out before the user approved (`expired_token`, or the client's own deadline). */
export class ExpiredCodeError extends LoginError {
  constructor(description?: string) {
    super(
      "expired_token",
      `The code expired before it was approved (expired_token)${description ? `: ${description}` : ""}. Run login again for a new code.`,
    );
  }
}

/** No usable tokens: never logged in, or the refresh token was refused. */
export class NotLoggedInError extends DeviceClientError {}

/** The token file is unsafe (readable by others) or unreadable. */
export class TokenFileError extends DeviceClientError {}

/** An OAuth endpoint answered something other than a protocol answer (HTML error page, 5xx, no JSON). */
export class ProtocolError extends DeviceClientError {}

export type IotOperation = "connect" | "publish" | "subscribe";

/** IoT (or the sandbox's gateway) refused: CONNACK not authorized, SUBACK 128, PUBACK error, HTTP 401/403. */
export class IotDeniedError extends DeviceClientError {
  constructor(
    readonly operation: IotOperation,
    readonly transport: string,
    readonly detail: string,
  ) {
    super(`IoT refused the ${operation} over ${transport}: ${detail}`);
  }
}

/** The IoT endpoint failed for another reason (unreachable, closed, timed out, unexpected status). */
export class IotConnectionError extends DeviceClientError {}
