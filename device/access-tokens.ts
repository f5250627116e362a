/**
 * The client's tokens between logins: the stored ones, checked to belong to this client and service, and
 * a current access token on demand, refreshed (refresh_token grant at the same token endpoint) when it
 * expires within a minute and written back before it is used. Concurrent callers share one refresh, as a
 * refresh token may be single-use.
 */
import { DeviceClientError, NotLoggedInError, ProtocolError } from "./errors";
import { networkReason } from "./http";
import { clientProblem, describeAnswer, type OAuthAnswer, postForm, readTokenResponse, type TokenResponse } from "./oauth-request";
import { type ClientContext } from "./options";
import { jwtExpiry, readTokenFile, type StoredTokens, writeTokenFile } from "./token-file";

/** `token()` refreshes an access token that expires within this many seconds. */
export const REFRESH_MARGIN_SECONDS = 60;

export interface TokenOptions {
  minValiditySeconds?: number;
  forceRefresh?: boolean;
}

/** A token response as the file keeps it, with what a refresh response left out carried over from `previous`. */
export function toStoredTokens(
  context: Pick<ClientContext, "options" | "tokenEndpoint" | "now">,
  tokens: TokenResponse,
  previous: StoredTokens | undefined,
): StoredTokens {
  const obtainedAt = context.now();
  const expiresAt = tokens.expires_in !== undefined ? obtainedAt + tokens.expires_in * 1000 : jwtExpiry(tokens.access_token);
  // A refresh response may leave the refresh token out (RFC 6749 §6): the old one stays valid then.
  const refreshToken = tokens.refresh_token ?? previous?.refreshToken;
  const scope = tokens.scope ?? previous?.scope;
  return {
    version: 1,
    clientId: context.options.clientId,
    tokenEndpoint: context.tokenEndpoint,
    accessToken: tokens.access_token,
    tokenType: tokens.token_type,
    ...(refreshToken !== undefined && { refreshToken }),
    ...(scope !== undefined && { scope }),
    ...(expiresAt !== undefined && { expiresAt }),
    obtainedAt,
  };
}

export class AccessTokens {
  private refreshing: Promise<StoredTokens> | undefined;

  constructor(private readonly context: ClientContext) {}

  /** The stored tokens for this client and service, or `NotLoggedInError`. */
  async stored(): Promise<StoredTokens> {
    const { options, tokenFile, tokenEndpoint } = this.context;
    const stored = await readTokenFile(tokenFile);
    if (!stored) throw new NotLoggedInError(`Not logged in: no token file at ${tokenFile}. Run login first.`);
    if (stored.clientId !== options.clientId || stored.tokenEndpoint !== tokenEndpoint) {
      throw new NotLoggedInError(
        `The token file ${tokenFile} holds tokens of client ${stored.clientId} at ${stored.tokenEndpoint}, not of ${options.clientId} at ` +
          `${tokenEndpoint}: run login, or choose another token file.`,
      );
    }
    return stored;
  }

  /** The stored access token while valid for more than `minValiditySeconds`, else a refreshed (and stored) one. */
  async current(options: TokenOptions = {}): Promise<string> {
    const stored = await this.stored();
    const margin = (options.minValiditySeconds ?? REFRESH_MARGIN_SECONDS) * 1000;
    if (!options.forceRefresh && (stored.expiresAt === undefined || stored.expiresAt - this.context.now() > margin))
      return stored.accessToken;
    if (!this.refreshing) {
      this.refreshing = this.refresh(stored).finally(() => {
        this.refreshing = undefined;
      });
    }
    return (await this.refreshing).accessToken;
  }

  private async refresh(stored: StoredTokens): Promise<StoredTokens> {
    const { context } = this;
    const expired = stored.expiresAt !== undefined && stored.expiresAt <= context.now();
    if (stored.refreshToken === undefined) {
      throw new NotLoggedInError(
        `The access token ${expired ? "has expired" : "expires soon"} and there is no refresh token: run login again.`,
      );
    }
    let answer: OAuthAnswer;
    try {
      answer = await postForm(context, context.tokenEndpoint, { grant_type: "refresh_token", refresh_token: stored.refreshToken });
    } catch (err) {
      throw new DeviceClientError(
        `Could not refresh the access token: the token endpoint ${context.tokenEndpoint} is unreachable (${networkReason(err)})`,
      );
    }
    if (answer.status !== 200) {
      if (answer.body?.error === "invalid_grant") {
        throw new NotLoggedInError(`The refresh token was refused (${describeAnswer(answer)}): run login again.`);
      }
      throw (
        clientProblem(context.options, answer, context.tokenEndpoint) ??
        new ProtocolError(`Refreshing the access token failed: ${describeAnswer(answer)}`)
      );
    }
    const next = toStoredTokens(context, readTokenResponse(answer, "refresh"), stored);
    await writeTokenFile(context.tokenFile, next);
    return next;
  }
}
