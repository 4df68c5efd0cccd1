import { z } from 'zod';
import { SimulatedConnectionError, SimulatedConnectionResetError, type SimulatedAnswer } from './simulated-erp.js';

/**
 * The wire of the simulated ERP: what `SimulatedErpConnector` talks to. The in-process
 * `SimulatedErp` is one; `remoteSimulatedErpWire` is the same wire over HTTP to
 * `startSimulatedErpServer` (ERP_CONNECTOR=simulated with ERP_URL), shared by several gateways.
 */
export interface SimulatedErpWire {
  call(method: string, params?: Record<string, unknown>, signal?: AbortSignal): Promise<SimulatedAnswer>;
}

const wireErrorSchema = z.object({ wireError: z.string(), message: z.string().optional() });

export function remoteSimulatedErpWire(url: string): SimulatedErpWire {
  const endpoint = new URL(url);
  return {
    async call(method, params = {}, signal) {
      // fetch's own failures (refused connection, reset socket) carry their `code` in `cause`,
      // which the call policy reads; a 599 is the ERP's simulated wire failure, thrown alike.
      const answer = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ method, params }),
        signal,
      });
      const text = await answer.text();
      if (answer.status === 200) return JSON.parse(text) as SimulatedAnswer;
      const failure = wireErrorSchema.safeParse(safeJson(text));
      if (failure.success && failure.data.wireError === 'ECONNREFUSED') throw new SimulatedConnectionError(method);
      if (failure.success && failure.data.wireError === 'ECONNRESET') throw new SimulatedConnectionResetError(method);
      throw new Error(`simulated ERP at ${endpoint.host} answered ${answer.status} to ${method}: ${text.slice(0, 200)}`);
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
