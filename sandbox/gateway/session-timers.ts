/**
 * The lifetime IoT Core gives an authorized connection: it calls the authorizer again after
 * `refreshAfterInSeconds` (same token; the new policy replaces the old, a refusal disconnects) and
 * disconnects after `disconnectAfterInSeconds`, counted from the first answer (a refresh may shorten it).
 */
import { type Accepted } from "./authorizer-response";
import { clearTimers, type Connection, forceDisconnect } from "./connection";
import { type CustomAuthorizer } from "./custom-authorizer";
import { type GatewayLog } from "./log";
import { REASON } from "./iot-mqtt-rules";
import { type Permissions } from "./permissions";

export interface SessionTimersOptions {
  authorizer: CustomAuthorizer;
  permissions: Permissions;
  log: GatewayLog;
  /** Multiplies the authorizer's timers into real time: 1 except in tests (see `IotGatewayOptions.timeScale`). */
  timeScale: number;
}

export class SessionTimers {
  constructor(private readonly options: SessionTimersOptions) {}

  /** (Re)arms the connection's timers from an accepted answer. */
  schedule(conn: Connection, decision: Accepted): void {
    const scale = this.options.timeScale;
    clearTimers(conn);
    const now = Date.now();
    const disconnectAt = Math.min(conn.disconnectAt ?? Infinity, now + decision.disconnectAfter * 1000 * scale);
    conn.disconnectAt = disconnectAt;
    conn.disconnectTimer = setTimeout(
      () => {
        this.options.log.disconnected({
          transport: conn.transport,
          connectionId: conn.id,
          clientId: conn.clientId,
          principalId: conn.session?.principalId,
        });
        forceDisconnect(conn, REASON.maximumConnectTime);
      },
      Math.max(0, disconnectAt - now),
    );
    conn.disconnectTimer.unref();
    const refreshAt = now + decision.refreshAfter * 1000 * scale;
    if (refreshAt < disconnectAt) {
      conn.refreshTimer = setTimeout(() => void this.refresh(conn), refreshAt - now);
      conn.refreshTimer.unref();
    }
  }

  private async refresh(conn: Connection): Promise<void> {
    if (conn.closed || conn.event === undefined) return;
    const decision = await this.options.authorizer.invoke(conn.event);
    if (conn.closed) return;
    const base = { transport: conn.transport, stage: "refresh" as const, connectionId: conn.id, clientId: conn.clientId };
    if (!decision.ok) {
      this.options.log.refused({ ...base, reason: decision.reason, principalId: decision.principalId });
      forceDisconnect(conn, REASON.notAuthorized);
      return;
    }
    if (!this.options.permissions.mayConnect(decision.session, conn.clientId, conn.connect?.attributes ?? [])) {
      this.options.log.refused({ ...base, reason: "policy-denied", principalId: decision.session.principalId });
      forceDisconnect(conn, REASON.notAuthorized);
      return;
    }
    conn.session = decision.session;
    this.schedule(conn, decision);
  }
}
