import { describe, expect, it } from 'vitest';
import { createErpOutageGate } from '../../src/orders/erp-outage-gate.js';

function gateAt(start = 1_000) {
  let clock = start;
  const events: string[] = [];
  const gate = createErpOutageGate({
    pauseMs: 100,
    maxPauseMs: 350,
    now: () => clock,
    onChange: (event) => events.push(event.state === 'open' ? `open ${event.pauseMs}` : `closed ${event.openMs}`),
  });
  return { gate, events, advance: (ms: number) => (clock += ms), at: () => clock };
}

describe('the ERP outage gate of the order pipeline', () => {
  it('lets everything through until the ERP is found unavailable, then nothing until the pause is over', () => {
    const { gate, advance, at } = gateAt();
    expect(gate.allowance()).toBe(Number.POSITIVE_INFINITY);
    expect(gate.holdingOff()).toBe(false);
    gate.unavailable();
    expect(gate.state()).toBe('open');
    expect(gate.holdingOff()).toBe(true);
    expect(gate.allowance()).toBe(0);
    expect(gate.reopensAt()?.getTime()).toBe(at() + 100);
    advance(99);
    expect(gate.allowance()).toBe(0);
    advance(1);
    expect(gate.allowance()).toBe(1);
  });

  it('sends one probe at a time and doubles the pause, up to its cap, each time the probe finds the ERP down', () => {
    const { gate, advance, at } = gateAt();
    gate.unavailable();
    const pauses: number[] = [];
    for (let round = 0; round < 4; round++) {
      advance(gate.reopensAt()!.getTime() - at());
      expect(gate.allowance()).toBe(1);
      const ticket = gate.probeStarted();
      expect(gate.allowance()).toBe(0);
      gate.unavailable(ticket);
      gate.probeEnded(ticket);
      expect(gate.state()).toBe('open');
      pauses.push(gate.reopensAt()!.getTime() - at());
    }
    expect(pauses).toEqual([200, 350, 350, 350]);
  });

  it('does not lengthen the pause for orders that were already sent when it opened', () => {
    const { gate, at } = gateAt();
    gate.unavailable();
    const reopens = gate.reopensAt()!.getTime();
    gate.unavailable();
    gate.unavailable();
    expect(gate.reopensAt()!.getTime()).toBe(reopens);
    expect(reopens - at()).toBe(100);
  });

  it('closes when the probe is answered, in any way but ERP_UNAVAILABLE, and tells when it opened and closed', () => {
    const { gate, events, advance } = gateAt();
    gate.unavailable();
    advance(100);
    const ticket = gate.probeStarted();
    advance(20);
    // The probe ended without the gate opening again (sent, or refused for a reason of its own).
    gate.probeEnded(ticket);
    expect(gate.state()).toBe('closed');
    expect(gate.allowance()).toBe(Number.POSITIVE_INFINITY);
    expect(gate.reopensAt()).toBeNull();
    expect(events).toEqual(['open 100', 'closed 120']);
    // Found down again: the pause starts from its first length.
    gate.unavailable();
    expect(events.at(-1)).toBe('open 100');
  });

  it('is closed only by its probe: a failure that is not the probe\u2019s neither closes it nor lengthens the pause', () => {
    const { gate, advance, at } = gateAt();
    gate.unavailable();
    advance(100);
    const ticket = gate.probeStarted();
    // A request sent before the outage fails late, while the probe is out.
    gate.unavailable();
    expect(gate.state()).toBe('open');
    expect(gate.reopensAt()!.getTime()).toBe(at());
    // A stale ticket (an earlier probe) changes nothing.
    gate.probeEnded(ticket + 1);
    expect(gate.state()).toBe('open');
    gate.probeEnded(ticket);
    expect(gate.state()).toBe('closed');
  });
});
