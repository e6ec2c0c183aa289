import { describe, expect, it } from 'vitest';
import { type InvitationState, invitationState } from './invitations.js';

describe('invitationState', () => {
  const cases: Array<
    [string, { acceptedAt: number | null; revokedAt: number | null; expiresAt: number }, InvitationState]
  > = [
    ['before its expiry', { acceptedAt: null, revokedAt: null, expiresAt: 1_001 }, 'pending'],
    ['at its expiry', { acceptedAt: null, revokedAt: null, expiresAt: 1_000 }, 'expired'],
    ['past its expiry', { acceptedAt: null, revokedAt: null, expiresAt: 10 }, 'expired'],
    ['accepted, then past its expiry', { acceptedAt: 5, revokedAt: null, expiresAt: 10 }, 'accepted'],
    ['revoked, then past its expiry', { acceptedAt: null, revokedAt: 5, expiresAt: 10 }, 'revoked'],
    ['accepted before its expiry', { acceptedAt: 5, revokedAt: null, expiresAt: 2_000 }, 'accepted'],
    ['revoked before its expiry', { acceptedAt: null, revokedAt: 5, expiresAt: 2_000 }, 'revoked'],
  ];
  it.each(cases)('%s', (_name, row, state) => expect(invitationState(row, 1_000)).toBe(state));
});
